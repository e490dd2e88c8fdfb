#!/usr/bin/env python3
"""Copies a GGUF with another GGUF's tokenizer, so a random-weight bench model
with a placeholder vocabulary (tools/make_dense_bench_model.py) can be served
by `deepc serve` (which needs a real tokenizer and chat template) for load
tests such as bench/serve_load.py.

Every tensor and every metadata key of MODEL is kept except the tokenizer.*
keys, which come from TOKENIZER (its vocabulary must not be larger than
MODEL's embedding rows).  The text the result generates is noise; only its
speed means anything.

Usage: /opt/deepc-tools/bin/python tools/graft_tokenizer.py MODEL TOKENIZER OUT
  e.g. tools/graft_tokenizer.py /tmp/deepc-bench/qwen2-1.5b-q4_0.gguf \\
           .deps/models/SmolLM2-135M-Instruct.Q4_1.gguf /tmp/deepc-bench/qwen2-1.5b-q4_0-smoltok.gguf
"""
import sys

import gguf


def copy_field(w, f):
    """Adds reader field f to writer w with its own value type."""
    t = f.types[0]
    v = f.contents()
    if t == gguf.GGUFValueType.ARRAY:
        w.add_key_value(f.name, v, t, sub_type=f.types[-1] if len(f.types) > 1 else None)
    else:
        w.add_key_value(f.name, v, t)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    src, tok, out = sys.argv[1:]
    r = gguf.GGUFReader(src)
    rt = gguf.GGUFReader(tok)
    arch = r.fields["general.architecture"].contents()
    n_tok = len(rt.fields["tokenizer.ggml.tokens"].data)
    emb = next(t for t in r.tensors if t.name == "token_embd.weight")
    if n_tok > int(emb.shape[1]):
        print("tokenizer has %d tokens, the model only %d rows" % (n_tok, int(emb.shape[1])))
        return 1
    w = gguf.GGUFWriter(out, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name.startswith("tokenizer.") or name == "general.architecture":
            continue
        copy_field(w, f)
    for name, f in rt.fields.items():
        if name.startswith("tokenizer."):
            copy_field(w, f)
    for t in r.tensors:
        w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
