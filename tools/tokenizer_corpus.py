#!/usr/bin/env python3
"""Writes tests/data/tokenizer/corpus.jsonl: the tokenizer test strings.

Seeded and deterministic (same output on every run with the same Python):
templates with random fills for Chinese news prose, English, code, emoji,
mixed scripts, whitespace, digits, special-token look-alikes, Unicode edge
cases (normalization, White_Space, categories), long boundary-free runs, and
byte strings that are not valid UTF-8.

Each line is {"cat": CATEGORY, "text": STR} or, for byte strings that are
not valid UTF-8, {"cat": "invalid_utf8", "hex": HEX}.

usage: tools/tokenizer_corpus.py [-o tests/data/tokenizer/corpus.jsonl]
"""
import argparse
import json
import os
import random

SEED = 20250131

# --------------------------------------------------------------------------
# Chinese news-style prose (written for this corpus)
# --------------------------------------------------------------------------
ZH_ORGS = ["国家统计局", "中国人民银行", "上海证券交易所", "深圳市发展和改革委员会", "工业和信息化部",
           "海关总署", "国家能源局", "北京市教育委员会", "世界卫生组织", "国际货币基金组织"]
ZH_COMPANIES = ["Apple", "NVIDIA", "OpenAI", "DeepSeek", "华为", "比亚迪", "Tesla", "Microsoft",
                "阿里巴巴", "腾讯", "Samsung", "小米", "宁德时代", "Alphabet", "Meta"]
ZH_PRODUCTS = ["DeepSeek-V3", "DeepSeek-R1", "GPT-4o", "iPhone 16 Pro", "Model Y", "Mate 70",
               "RTX 5090", "Qwen2.5-72B", "Llama-3.1-8B", "H100", "麒麟9000S", "骁龙8 Gen 3"]
ZH_PEOPLE = ["张伟", "王芳", "李娜", "刘洋", "陈静", "Elon Musk", "Tim Cook", "Jensen Huang",
             "梁文锋", "Sam Altman", "欧阳明", "司马光"]
ZH_REGIONS = ["全国", "广东省", "长三角地区", "粤港澳大湾区", "北京市", "成都市", "西部地区", "东南亚",
              "欧盟", "美国"]
ZH_METRICS = ["规模以上工业增加值", "社会消费品零售总额", "固定资产投资", "出口总额", "新能源汽车销量",
              "居民人均可支配收入", "研发投入", "集成电路产量", "城镇新增就业人数", "快递业务量"]
ZH_TEMPLATES = [
    "{date}，{org}发布的数据显示，{year}年前三季度{region}{metric}同比增长{pct}，增速比上半年加快{pp}个百分点。",
    "据{org}消息，截至{date}，{region}累计完成{metric}{num}亿元，占全年目标的{pct}。",
    "{company}于{date}正式发布{product}，售价{price}元起，较上一代产品下降约{pct}。",
    "记者{person}报道：{region}{metric}在{month}达到{num}万，环比{updown}{pct}，创下近{n2}年新高。",
    "“我们对{year}年的前景保持乐观。”{company}首席执行官{person}在接受采访时表示，公司计划投入{num}亿美元用于{field}。",
    "{org}指出，{metric}连续{n2}个月保持正增长，其中{month}同比增长{pct}，环比{updown}{pct2}。",
    "在{date}举行的发布会上，{company}展示了基于{product}的{field}方案，推理速度提升{mult}倍，成本降低{pct}。",
    "{year}年{month}{day}日，{region}迎来入汛以来最强降雨，{hour}时至{hour2}时最大降雨量达{mm}毫米。",
    "根据《{law}》第{n2}条规定，{org}将于{date}起对{metric}实施新的统计口径。",
    "分析人士认为，{company}的市值在{date}突破{num}亿美元，{product}的出货量是主要推动因素（约占{pct}）。",
    "第{n2}届中国国际进口博览会于{date}在上海开幕，意向成交额达{num}亿美元，比上届增长{pct}。",
    "{person}说：“{field}不是一朝一夕的事情，我们还有很长的路要走。”",
    "本报讯（记者 {person}）{region}今年以来共引进外资项目{num}个，实际使用外资{price}万美元。",
    "{org}公告：{date}的一年期贷款市场报价利率（LPR）为{rate}%，五年期以上LPR为{rate2}%。",
    "从结构上看，高技术制造业增加值增长{pct}，占规模以上工业增加值的比重为{pct2}；{metric}增长{pct3}。",
    "{company}（股票代码：{code}）{date}收盘报{price}元，涨幅{pct}，成交额{num}亿元。",
    "{product}在MMLU、GSM8K和HumanEval上的得分分别为{score}、{score2}和{score3}，超过了{product2}。",
    "今年{month}，{region}空气质量优良天数比例为{pct}，PM2.5平均浓度为{n2}微克/立方米，同比下降{pct2}。",
    "截至{date}{hour}时，{event}累计报名人数超过{num}万人，其中{region}考生占{pct}。",
    "{person}（{person2}）在论文中写道，{field}的关键在于数据质量，而非单纯扩大参数规模。",
]
ZH_FIELDS = ["人工智能", "大模型推理", "自动驾驶", "芯片设计", "储能电池", "量子计算", "生物医药",
             "智慧城市", "低空经济", "数据中心"]
ZH_LAWS = ["中华人民共和国统计法", "数据安全法", "个人信息保护法", "网络安全法", "民法典"]
ZH_EVENTS = ["2025年全国硕士研究生招生考试", "北京马拉松", "全国大学英语四六级考试", "国家公务员考试"]
ZH_FIXED = [
    "春节假期期间，全国铁路、公路、水路、民航累计发送旅客约22.6亿人次，日均超过2.8亿人次。",
    "央行宣布下调金融机构存款准备金率0.5个百分点，预计将释放长期流动性约1万亿元。",
    "这项研究发表在《自然》（Nature）杂志上，研究团队来自清华大学、北京大学和中国科学院。",
    "“双十一”购物节期间，某电商平台成交额同比增长12.3%，其中直播带货贡献了近三成。",
    "他笑着说：“这台机器已经运行了十年，从来没出过大问题。”随后又补充道，“当然，保养很重要。”",
    "深圳地铁14号线全长50.3公里，设站18座，最高运行时速120公里，全程约需52分钟。",
    "据不完全统计，截至2024年底，我国5G基站总数达到425.1万个，占移动基站总数的33.6%。",
    "《红楼梦》是中国古典小说的巅峰之作，前八十回一般认为由曹雪芹所著，后四十回的作者仍有争议。",
    "今天天气晴，最高气温28℃，最低气温19℃，东南风3～4级，相对湿度65%。",
    "会议强调，要坚持稳中求进工作总基调，完整、准确、全面贯彻新发展理念，加快构建新发展格局。",
    "新华社北京1月20日电 国家统计局20日发布数据，初步核算，全年国内生产总值1349084亿元，比上年增长5.0%。",
    "我们在GitHub上开源了全部代码（MIT许可证），欢迎提交Issue和Pull Request。",
    "丽江古城始建于宋末元初，1997年12月被列入《世界遗产名录》，面积约3.8平方公里。",
    "龘、靐、齉、爨这些生僻字，很多输入法都打不出来；“㐀”“䶵”属于扩展A区，“𠀀”“𪚥”属于扩展B区。",
    "第一季度，全国居民人均消费支出7,299元，增长5.4%；扣除价格因素，实际增长5.5%。",
    "据悉，该项目总投资约人民币三十五亿元，预计二〇二六年六月竣工投产，年产值可达百亿元以上。",
]


def zh_date(r):
    return f"{r.randint(1990, 2030)}年{r.randint(1, 12)}月{r.randint(1, 28)}日"


def pct(r):
    v = r.choice([f"{r.uniform(-20, 60):.1f}%", f"{r.uniform(0, 100):.2f}%", f"{r.randint(1, 99)}%",
                  f"百分之{r.choice('一二三四五六七八九十')}", f"{r.uniform(0, 10):.1f}％"])
    return v


def zh_sentence(r):
    t = r.choice(ZH_TEMPLATES)
    fills = dict(
        date=zh_date(r), org=r.choice(ZH_ORGS), year=r.randint(2015, 2030), region=r.choice(ZH_REGIONS),
        metric=r.choice(ZH_METRICS), pct=pct(r), pct2=pct(r), pct3=pct(r), pp=f"{r.uniform(0, 3):.1f}",
        num=r.choice([str(r.randint(1, 99999)), f"{r.uniform(1, 9999):.2f}", f"{r.randint(1, 999):,}",
                      f"{r.randint(1000, 9999999):,}"]),
        company=r.choice(ZH_COMPANIES), product=r.choice(ZH_PRODUCTS), product2=r.choice(ZH_PRODUCTS),
        price=r.choice([str(r.randint(99, 29999)), f"{r.uniform(1, 500):.2f}"]),
        person=r.choice(ZH_PEOPLE), person2=r.choice(ZH_PEOPLE), month=f"{r.randint(1, 12)}月",
        day=r.randint(1, 31), updown=r.choice(["增长", "下降", "上升", "回落"]), n2=r.randint(2, 30),
        field=r.choice(ZH_FIELDS), mult=r.choice(["2", "3.5", "十", "1.8"]), hour=r.randint(0, 23),
        hour2=r.randint(0, 23), mm=f"{r.uniform(10, 400):.1f}", law=r.choice(ZH_LAWS),
        rate=f"{r.uniform(2, 5):.2f}", rate2=f"{r.uniform(3, 6):.2f}",
        code=r.choice(["600519", "000001.SZ", "300750", "688981", "09988.HK", "NVDA"]),
        score=f"{r.uniform(40, 95):.1f}", score2=f"{r.uniform(40, 95):.1f}", score3=f"{r.uniform(40, 95):.1f}",
        event=r.choice(ZH_EVENTS))
    return t.format(**fills)


def gen_chinese(r, n):
    out = list(ZH_FIXED)
    while len(out) < n:
        k = r.choice([1, 1, 2, 3])
        sep = r.choice(["", "", "\n", "\n\n", " "])
        out.append(sep.join(zh_sentence(r) for _ in range(k)))
    return out


# --------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------
EN_SUBJ = ["The committee", "Our team", "A spokesperson for NASA", "Dr. O'Neil", "The U.S. Treasury",
           "Researchers at MIT", "My neighbour's cat", "The new GPU", "Everyone", "The model"]
EN_VERB = ["announced", "didn't confirm", "reported", "won't discuss", "has published", "estimated",
           "can't explain", "is testing", "they'll review", "we've measured"]
EN_OBJ = ["a 3.2% rise in Q4 revenue", "the results on Jan. 5th", "$1,250,000 in funding",
          "the state-of-the-art benchmark", "an 8-hour outage", "its long-term plan (2025-2030)",
          "the e-mail from j.doe@example.com", "the URL https://example.org/a/b?c=1&d=2",
          "co-operation with the EU's partners", "a 10x speed-up over the baseline"]
EN_FIXED = [
    "Hello world", "Hello, World!", "hello world", "HELLO WORLD", " Hello", "  Hello", "Hello ",
    "I'm sure they'll say it's fine, don't you think? We've seen it.", "IT'S DON'T I'M WE'LL YOU'RE THEY'VE HE'D",
    "it’s a curly apostrophe", "rock 'n' roll", "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D",
    "The quick brown fox jumps over the lazy dog.", "Mr. and Mrs. Smith went to Washington, D.C., on 4 July 1976.",
    "e.g., i.e., etc., vs., a.m., p.m.", "state-of-the-art, well-known, twenty-one", "naïve café résumé coöperate façade",
    "What is 2+2?", "What is 2+2? 4.", "x = 3.14159265358979", "It costs $19.99 (plus 7.5% tax).",
    "Time: 12:30:45, date: 2024-02-29T23:59:59Z", "Call +1 (555) 123-4567 or +86 138 0013 8000.",
]


def gen_english(r, n):
    out = list(EN_FIXED)
    while len(out) < n:
        k = r.randint(1, 4)
        parts = []
        for _ in range(k):
            s = f"{r.choice(EN_SUBJ)} {r.choice(EN_VERB)} {r.choice(EN_OBJ)}"
            s += r.choice([".", "!", "?", "...", ";", " —", ","])
            parts.append(s)
        out.append(r.choice([" ", "  ", "\n", " ", "\n\n"]).join(parts))
    return out


# --------------------------------------------------------------------------
# Code
# --------------------------------------------------------------------------
CODE_SNIPPETS = [
    "#include <stdio.h>\n\nint main(void) {\n    printf(\"hello, world\\n\");\n    return 0;\n}\n",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "for (size_t i = 0; i < n; i++) {\n\tsum += x[i] * y[i];\n}",
    "const add = (a, b) => a + b;\nconsole.log(`sum=${add(1, 2)}`);",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' ORDER BY id DESC LIMIT 10;",
    "<div class=\"container\"><p>Hello &amp; welcome</p><!-- comment --></div>",
    "{\"model\":\"deepseek-chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}",
    "if [ -f \"$HOME/.bashrc\" ]; then\n  . \"$HOME/.bashrc\"\nfi\nexport PATH=/usr/local/bin:$PATH",
    "x += 1; y -= 2; z *= 3; w /= 4; a <<= 1; b >>= 2; c &&= d; e ||= f;",
    "    // indented comment\n        return std::make_unique<Foo>(std::move(bar));",
    "class Foo(Bar):\n    \"\"\"Docstring.\"\"\"\n\n    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)\n",
    "matrix = [[1, 2, 3],\n          [4, 5, 6],\n          [7, 8, 9]]\r\n",
    "a==b!=c<=d>=e->f::g...h??i?.j",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))\n#ifdef __cplusplus\nextern \"C\" {\n#endif",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)\nprint(x.shape)  # (3, 4)",
    "$ git commit -m \"fix: handle \\r\\n line endings\" && git push origin main",
    "    \t  mixed   \t indentation\t\t\n",
]
IDENTS = ["foo", "bar_baz", "getValue", "HTTPServer", "x1", "_private", "__init__", "kMaxSize", "snake_case_name",
          "camelCaseName", "i", "j", "tmp", "buf", "ctx"]


def gen_code(r, n):
    out = list(CODE_SNIPPETS)
    while len(out) < n:
        lines = []
        for _ in range(r.randint(1, 8)):
            ind = r.choice(["", "    ", "        ", "\t", "\t\t", "  "])
            a, b = r.choice(IDENTS), r.choice(IDENTS)
            line = r.choice([
                f"{a} = {b}({r.randint(0, 999)}, \"{r.choice(IDENTS)}\");",
                f"if ({a} != nullptr && {b}->{r.choice(IDENTS)} > {r.randint(0, 99)}) {{",
                f"return {a}[{b}] + {r.uniform(0, 10):.3f}f;",
                f"# TODO({r.choice(IDENTS)}): fix {a}",
                f"def {a}({b}: int = {r.randint(0, 9)}) -> list[str]:",
                f"{a}.{b}({{\"key\": [{r.randint(0, 9)}, {r.randint(10, 99)}]}})",
                "}", "};", "end", "",
            ])
            lines.append(ind + line)
        out.append(r.choice(["\n", "\r\n", "\n"]).join(lines))
    return out


# --------------------------------------------------------------------------
# Emoji
# --------------------------------------------------------------------------
EMOJI = ["😀", "😂", "🥲", "❤️", "❤", "👍", "👍🏻", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇨🇳", "🇺🇸",
         "🇯🇵", "1️⃣", "#️⃣", "🧑‍🤝‍🧑", "🤷‍♀️", "🙇🏻‍♂️", "✨", "🔥", "🚀", "☕", "⌚", "©️", "™", "🀄", "🦄",
         "🐉", "🫠", "🫶🏾", "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]


def gen_emoji(r, n):
    out = ["emoji 😀👍🏽", "👨‍👩‍👧‍👦", "I ❤️ NY", "🇨🇳🇺🇸🇯🇵", "🏳️‍🌈 pride", "good job 👍🏻👍🏼👍🏽👍🏾👍🏿"]
    while len(out) < n:
        k = r.randint(1, 8)
        parts = []
        for _ in range(k):
            parts.append(r.choice(EMOJI) * r.choice([1, 1, 1, 2, 3]))
            parts.append(r.choice(["", " ", "", "!", " ok ", "好", "\n", "，"]))
        out.append("".join(parts))
    return out


# --------------------------------------------------------------------------
# Mixed scripts
# --------------------------------------------------------------------------
SCRIPTS = [
    "日本語のテキストとカタカナ、ひらがなを含む文です。",
    "東京都は2024年に約1400万人の人口を抱えている。",
    "ｶﾀｶﾅ半角とカタカナ全角、ー長音符。",
    "한국어 텍스트입니다. 서울특별시는 대한민국의 수도이다.",
    "안녕하세요! 반갑습니다 :)",
    "مرحبا بالعالم، هذا نص عربي مع أرقام ١٢٣٤٥ و 6789.",
    "नमस्ते दुनिया, यह हिंदी पाठ है। संख्या १२३४।",
    "Россия и Украина, Москва — столица. Ёжик в тумане.",
    "Ελληνικά: Καλημέρα κόσμε, ΑΒΓΔ αβγδ.",
    "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "עברית: שלום עולם",
    "Tiếng Việt có nhiều dấu: Hà Nội, Thành phố Hồ Chí Minh.",
    "Ẓ̌ẓ̌ ǅ ǈ Ǉ ǉ ß ẞ ŉ",
    "ქართული ენა, Հայերեն, አማርኛ",
]


def gen_mixed(r, n):
    out = list(SCRIPTS)
    pool = SCRIPTS + ZH_FIXED[:5] + EN_FIXED[:10]
    while len(out) < n:
        k = r.randint(2, 5)
        out.append(r.choice([" ", "", "\n", " | "]).join(r.choice(pool) for _ in range(k)))
    return out


# --------------------------------------------------------------------------
# Whitespace, digits, Unicode edge cases
# --------------------------------------------------------------------------
WS = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\r\n\r\n", "\u00a0", "\u3000", "\u2028",
      "\u2029", "\u0085", "\u200b", "\ufeff", "\u2009", "\u202f", "\u205f", "\u1680", "\u000b", "\u000c",
      "\u180e", "\u200d"]
WORDS = ["end", "word", "x", "hello", "你好", "ok", "123", "!", "(", "Ünïcödé", "é", "'s", "-"]


def gen_whitespace(r, n):
    out = ["        end", "tab\t\t\tsep", "\n\n\n\n\n", " ", "  ", "\t", "\n", "\r\n", "a\r\nb\r\n\r\nc", "x \n y",
           "trailing   ", "   leading", " \n \n ", "Ḁ\u00a0nbsp\u3000ideographic space", "a\u0085b", "a\u2028b",
           "a \u0085 b", "a\u00a0\u00a0b", " " * 100 + "x", "\t" * 40, "\n" * 33, "\r\n" * 20, " \t" * 30]
    while len(out) < n:
        k = r.randint(1, 12)
        parts = []
        for _ in range(k):
            if r.random() < 0.3:
                parts.append(r.choice(WS) * r.randint(1, 20))
            else:
                parts.append(r.choice(WS))
            parts.append(r.choice(WORDS))
        out.append("".join(parts))
    return out


DIGIT_SETS = ["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "²³¹⁴⁵", "½¼¾", "ⅠⅡⅢⅻ",
              "①②③④⑤"]


def gen_digits(r, n):
    out = ["1234567", "12345678901234567890", "3.14159", "1,000,000", "2024-01-31", "0.000001", "1e-10", "42",
           "007", "x2y3z4", "１２３４５", "٤", "²", "v1.2.3-rc.4", "192.168.0.1", "+86-10-12345678", "10%", "1/3"]
    while len(out) < n:
        k = r.randint(1, 6)
        parts = []
        for _ in range(k):
            ds = r.choice(DIGIT_SETS[:1] * 6 + DIGIT_SETS)
            parts.append("".join(r.choice(ds) for _ in range(r.randint(1, 25))))
            parts.append(r.choice(["", " ", ".", ",", "-", "年", "%", "x", " apples ", ":", "\n"]))
        out.append("".join(parts))
    return out


UNICODE_EDGE = [
    "e\u0301", "cafe\u0301", "\u00e9", "Å vs \u212b vs A\u030a", "\u2126 ohm", "\ufb01 ligature fi",
    "\u1112\u1161\u11ab\u1100\u1173\u11af", "\uf900 compat ideograph", "\u0041\u0308\u0301", "n\u0303o",
    "\u0915\u094d\u0937", "ﾊﾟ", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ", "ſ long s 'ſ", "K kelvin \u212a", "ǅ titlecase",
    "\u0000nul", "a\u0000b", "\u0001\u0002\u0003\u001f\u007f", "\u00ad soft hyphen", "\u200e\u200f rtl marks",
    "\U0001d400\U0001d41a math bold", "\U00020000\U0002a6d6 ext-b", "\u9fa5\u9fa6\u9fff\u4e00", "\u3400\u4db5",
    "\U0001f600\ufe0f", "\ue000 private use", "\ufffd replacement", "\uffff noncharacter", "\U0010fffd",
    "ⓐⓑⓒ", "😀" * 50, "a" * 300, "_" * 500, "=" * 200, "ab" * 150, "9" * 200, "aGVsbG8gd29ybGQ=" * 30,
    "ĠĠ Ċ ĉ č", "Ā ā Ă", "\u0120\u0121", "<0x0A>", "\\n\\t\\r", "\u2581\u2581word", "ＡＢＣ１２３",
]


def gen_unicode(r, n):
    out = list(UNICODE_EDGE)
    while len(out) < n:
        k = r.randint(1, 10)
        s = []
        for _ in range(k):
            kind = r.random()
            if kind < 0.5:
                cp = r.choice([r.randint(0x20, 0x7e), r.randint(0xa0, 0x2ff), r.randint(0x300, 0x36f),
                               r.randint(0x370, 0x52f), r.randint(0x2000, 0x206f), r.randint(0x3000, 0x30ff),
                               r.randint(0x4e00, 0x9fff), r.randint(0xac00, 0xd7a3), r.randint(0xff00, 0xffef),
                               r.randint(0x1f300, 0x1f64f), r.randint(0x1100, 0x11ff)])
                if 0xd800 <= cp <= 0xdfff:
                    cp = 0x41
                s.append(chr(cp))
            else:
                s.append(r.choice(WORDS + WS))
        out.append("".join(s))
    return out


def gen_long(r, n):
    """Long inputs: several KB, long words (heap BPE path), minified JSON, base64."""
    out = []
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    thai = "ภาษาไทยไม่มีช่องว่างระหว่างคำเมื่อเขียนประโยคยาวๆจึงกลายเป็นคำเดียว"
    latin = "abcdefghijklmnopqrstuvwxyzéèêëñüöäçåøœßàâîïôûùÿ"
    while len(out) < n:
        kind = len(out) % 8
        if kind >= 5:  # long words with real merges (the heap BPE path)
            if kind == 5:
                out.append("".join(r.choice(latin[:26]) for _ in range(r.randint(100, 1500))))
            elif kind == 6:
                out.append("".join(r.choice([thai, thai[5:30], thai[::2]]) for _ in range(r.randint(3, 30))))
            else:
                out.append(" " + "".join(r.choice(latin) for _ in range(r.randint(60, 800))))
            continue
        if kind == 0:
            out.append("".join(r.choice(b64) for _ in range(r.randint(200, 3000))))
        elif kind == 1:
            out.append(json.dumps([{"id": i, "v": r.random(), "s": r.choice(IDENTS)} for i in range(60)],
                                  separators=(",", ":")))
        elif kind == 2:
            out.append("".join(zh_sentence(r) for _ in range(20)))
        elif kind == 3:
            out.append(r.choice(["-", "_", "=", "*", "#", "~", "a", "é", "中"]) * r.randint(100, 3000))
        else:
            out.append("\n".join(gen_code(r, len(CODE_SNIPPETS) + 30)[-30:]))
    return out


# --------------------------------------------------------------------------
# Special tokens and look-alikes
# --------------------------------------------------------------------------
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>",
            "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>", "<|begin_of_text|>", "<|end_of_text|>",
            "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<tool_call>", "</tool_call>", "<|EOT|>",
            "<｜place▁holder▁no▁17｜>", "<|reserved_special_token_5|>", "<｜tool▁calls▁begin｜>", "<｜tool▁sep｜>",
            "<|fim_prefix|>", "<|vision_pad|>", "<repo_name>", "<file_sep>", "<jupyter_code>", "<｜fim▁hole｜>"]
LOOKALIKES = ["<|im_sta", "im_start|>", "<｜end▁of", "▁sentence｜>", "<thin", "think>", "</think", "<|User|>",
              "<|end_of_sentence|>", "<<|im_start|>>", "<|im_start|><|im_start|>", "<|begin_of_text",
              "<｜User|>", "< think >", "<THINK>", "<|EOT|", "<|eot_id", "<|reserved_special_token_999|>",
              "<｜tool_calls_begin｜>", "<｜place▁holder▁no▁800｜>"]


def gen_special(r, n):
    out = [
        "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜><think>\n",
        "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hi!<｜Assistant｜>",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
        "<think>\nreasoning\n</think>\n\nanswer", "<｜User｜>hi<｜Assistant｜>", "abc<|im_end|>def",
        " <|im_end|> ", "\n<think>\n", "<|endoftext|><|endoftext|>", "<｜end▁of▁sentence｜>" * 3,
    ]
    while len(out) < n:
        k = r.randint(1, 6)
        parts = []
        for _ in range(k):
            parts.append(r.choice(SPECIALS + LOOKALIKES + SPECIALS))
            parts.append(r.choice(["", " ", "\n", "hello", "你好", "  ", "\n\n", "1", "答案是 42。", "😀"]))
        out.append("".join(parts))
    return out


# --------------------------------------------------------------------------
# Invalid UTF-8
# --------------------------------------------------------------------------
BAD_BYTES = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf",
             b"\xf4\x90\x80\x80", b"\xf5", b"\xff", b"\xfe", b"\xe2\x82", b"\xe4\xb8", b"\xf0\x9f\x98",
             b"\xf0\x9f", b"\xc3", b"\xf8\x88\x80\x80\x80", b"\xe0\xa0", b"\xc2\x41", b"\xe2\x28\xa1"]


def gen_invalid(r, n):
    out = [b"\xff\xfe", b"abc\x80def", b"\xe4\xbd\xa0\xe5\xa5", b"\xf0\x9f\x98\x80\xf0\x9f", b"\xc3\x28",
           b"\xed\xa0\x80\xed\xb0\x80", b"<|im_end|>\x80", b"\x80<\xef\xbd\x9cUser\xef\xbd\x9c>", b"\xe2\x82"]
    while len(out) < n:
        parts = []
        for _ in range(r.randint(1, 8)):
            x = r.random()
            if x < 0.4:
                parts.append(r.choice(BAD_BYTES))
            elif x < 0.6:
                parts.append(bytes(r.randint(0, 255) for _ in range(r.randint(1, 6))))
            else:
                parts.append(r.choice(WORDS + ["中文", "😀", " ", "\n", "é"]).encode())
        b = b"".join(parts)
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            out.append(b)
    return out


CATEGORIES = [  # (name, generator, count)
    ("chinese", gen_chinese, 450), ("english", gen_english, 250), ("code", gen_code, 200),
    ("emoji", gen_emoji, 120), ("mixed", gen_mixed, 150), ("whitespace", gen_whitespace, 200),
    ("digits", gen_digits, 150), ("unicode", gen_unicode, 200), ("special", gen_special, 250),
    ("long", gen_long, 48), ("invalid_utf8", gen_invalid, 120),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("-o", "--out", default=os.path.join(root, "tests/data/tokenizer/corpus.jsonl"))
    a = ap.parse_args()
    r = random.Random(SEED)
    rows = []
    for name, gen, count in CATEGORIES:
        items = gen(r, count)[:count]
        for it in items:
            if isinstance(it, bytes):
                rows.append({"cat": name, "hex": it.hex()})
            else:
                rows.append({"cat": name, "text": it})
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} strings to {a.out}")


if __name__ == "__main__":
    main()
