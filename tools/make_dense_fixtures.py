#!/usr/bin/env python3
"""Builds the dense-model reference fixtures in tests/data/dense/.

Four tiny random models (two Llama, two Qwen2) are created with transformers in
float32 from fixed seeds. For each one this writes

  <name>/hf/                 config.json + model.safetensors (+ generation_config.json)
  <name>/model-f32.gguf      all tensors F32
  <name>/model-f16.gguf      2-D weights F16, 1-D tensors F32
  <name>/model-q8_0.gguf     2-D weights Q8_0, 1-D tensors F32
  <name>/logits-{f32,f16,q8_0}.bin

and one manifest.json describing all of it. The GGUF files follow the naming
and layout of llama.cpp's HF converter (key names, tensor names, q/k row
permutation for the llama architecture, rope_freqs for llama3 rope scaling),
written with the `gguf` python package. The logits are computed by the
transformers float32 model whose weights are read back from each GGUF file
(dequantized, q/k rows un-permuted), so each logits file is the reference for
exactly what the matching GGUF file holds.

If /opt/deepc-llama/bin/python (tools/setup_llama_cpp.sh) or --llama-python
PATH has llama-cpp-python, each f32 GGUF is also run through llama.cpp and the
largest difference to the transformers logits is printed (not stored). This
checks key names and the permutation against an independent implementation.

Usage: /opt/deepc-tools/bin/python tools/make_dense_fixtures.py [--out DIR]
           [--llama-python PATH | --no-llama]
"""

import argparse
import json
import math
import os
import sys
import shutil
import subprocess
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from placeholder_vocab import add_placeholder_vocab  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "dense")
DEFAULT_LLAMA_PY = "/opt/deepc-llama/bin/python"

# Shared sizes: head_dim 16 everywhere; 160 = 5 * 32 keeps every 2-D weight's
# row length a multiple of the Q8_0 block (32).
BASE = dict(hidden=64, layers=3, heads=4, intermediate=160, vocab=320,
            max_pos=256)

MODELS = [
    dict(name="llama_gqa", arch="llama", kv_heads=2, tied=False,
         theta=10000.0, eps=1e-5,
         rope_scaling={"rope_type": "llama3", "factor": 8.0,
                       "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 32},
         seed=1001),
    dict(name="llama_mha_tied", arch="llama", kv_heads=4, tied=True,
         theta=500000.0, eps=1e-5, rope_scaling=None, seed=1002),
    dict(name="qwen2_gqa", arch="qwen2", kv_heads=1, tied=False,
         theta=1000000.0, eps=1e-6, rope_scaling=None, seed=1003),
    # max_pos = factor * original on purpose: recent transformers derive the
    # YaRN factor from max_position_embeddings / original_max_position_embeddings
    # when the latter is present, llama.cpp uses rope.scaling.factor. With
    # 128 = 4 * 32 both readings give the same rotation (see manifest notes).
    dict(name="qwen2_yarn_tied", arch="qwen2", kv_heads=2, tied=True,
         theta=10000.0, eps=1e-6, max_pos=128,
         rope_scaling={"rope_type": "yarn", "type": "yarn", "factor": 4.0,
                       "original_max_position_embeddings": 32},
         seed=1004),
]

SEQ_LENS = (7, 80)


# --------------------------------------------------------------------------
# model construction

def make_hf_model(spec):
    import torch
    import transformers

    p = dict(BASE)
    p.update({k: v for k, v in spec.items() if k in BASE})
    common = dict(
        vocab_size=p["vocab"], hidden_size=p["hidden"],
        intermediate_size=p["intermediate"], num_hidden_layers=p["layers"],
        num_attention_heads=p["heads"], num_key_value_heads=spec["kv_heads"],
        max_position_embeddings=p["max_pos"], rms_norm_eps=spec["eps"],
        # a copy: transformers adds keys to the dict it is given
        rope_theta=spec["theta"],
        rope_scaling=(dict(spec["rope_scaling"]) if spec["rope_scaling"]
                      else None),
        tie_word_embeddings=spec["tied"], hidden_act="silu",
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
    )
    if spec["arch"] == "llama":
        cfg = transformers.LlamaConfig(attention_bias=False, mlp_bias=False,
                                       head_dim=p["hidden"] // p["heads"],
                                       **common)
        cls = transformers.LlamaForCausalLM
    else:
        cfg = transformers.Qwen2Config(use_sliding_window=False, **common)
        cls = transformers.Qwen2ForCausalLM
    cfg.torch_dtype = "float32"
    torch.manual_seed(spec["seed"])
    model = cls(cfg)
    model.to(torch.float32)
    model.eval()
    randomize(model, spec["seed"])
    return model, p


def randomize(model, seed):
    """Non-trivial weights: linears ~ N(0, (0.9/sqrt(fan_in))^2) so activations
    stay O(1), embeddings N(0, 0.5^2), norm gains 1 + N(0, 0.2^2), biases
    N(0, 0.1^2). Drawn from numpy with a fixed seed so the values do not depend
    on torch's initialisers."""
    import torch

    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, t in sorted(model.named_parameters()):
            shape = tuple(t.shape)
            if name.endswith("embed_tokens.weight"):
                v = rng.normal(0.0, 0.5, shape)
            elif t.dim() == 2:
                v = rng.normal(0.0, 0.9 / math.sqrt(shape[1]), shape)
            elif name.endswith("norm.weight"):
                v = 1.0 + rng.normal(0.0, 0.2, shape)
            elif name.endswith(".bias"):
                v = rng.normal(0.0, 0.1, shape)
            else:
                raise RuntimeError("unexpected parameter " + name)
            t.copy_(torch.from_numpy(v.astype(np.float32)))


# --------------------------------------------------------------------------
# HF <-> GGUF tensor mapping

def pair_order(n_heads, head_dim):
    """Row order that turns a rotate-half (NeoX) q/k weight into the
    interleaved-pair layout the llama architecture rotates: within each head,
    output row 2*i + j takes input row j*head_dim/2 + i (i < head_dim/2,
    j in {0,1})."""
    half = head_dim // 2
    idx = np.empty(n_heads * head_dim, dtype=np.int64)
    for h in range(n_heads):
        for i in range(half):
            for j in range(2):
                idx[h * head_dim + 2 * i + j] = h * head_dim + j * half + i
    return idx


def hf_to_gguf_tensors(model, spec, p):
    """Returns [(gguf_name, float32 ndarray in HF row-major shape)], plus the
    map gguf_name -> (hf_name, inverse row order or None)."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32)
          for k, v in model.state_dict().items()}
    head_dim = p["hidden"] // p["heads"]
    out = []
    back = {}

    def put(gname, hname, rows=None):
        w = sd[hname]
        inv = None
        if rows is not None:
            w = w[rows]
            inv = np.argsort(rows)
        out.append((gname, np.ascontiguousarray(w)))
        back[gname] = (hname, inv)

    put("token_embd.weight", "model.embed_tokens.weight")
    for b in range(p["layers"]):
        pre = "model.layers.%d." % b
        blk = "blk.%d." % b
        put(blk + "attn_norm.weight", pre + "input_layernorm.weight")
        for g, h, nh in (("attn_q", "q_proj", p["heads"]),
                         ("attn_k", "k_proj", spec["kv_heads"]),
                         ("attn_v", "v_proj", None)):
            rows = None
            if spec["arch"] == "llama" and nh is not None:
                rows = pair_order(nh, head_dim)
            put(blk + g + ".weight", pre + "self_attn." + h + ".weight", rows)
            if spec["arch"] == "qwen2":
                put(blk + g + ".bias", pre + "self_attn." + h + ".bias")
        put(blk + "attn_output.weight", pre + "self_attn.o_proj.weight")
        put(blk + "ffn_norm.weight", pre + "post_attention_layernorm.weight")
        put(blk + "ffn_gate.weight", pre + "mlp.gate_proj.weight")
        put(blk + "ffn_up.weight", pre + "mlp.up_proj.weight")
        put(blk + "ffn_down.weight", pre + "mlp.down_proj.weight")
    put("output_norm.weight", "model.norm.weight")
    if not spec["tied"]:
        put("output.weight", "lm_head.weight")
    return out, back


def llama3_rope_factors(spec, head_dim):
    """Per-frequency divisors of llama3 rope scaling (what llama.cpp's
    rope_freqs tensor holds): 1 for short wavelengths, `factor` for long ones,
    a smooth blend in between."""
    rs = spec["rope_scaling"]
    factor = rs["factor"]
    lo_f, hi_f = rs["low_freq_factor"], rs["high_freq_factor"]
    old_ctx = rs["original_max_position_embeddings"]
    lo_wl, hi_wl = old_ctx / lo_f, old_ctx / hi_f
    exps = np.arange(0, head_dim, 2, dtype=np.float32) / np.float32(head_dim)
    freqs = 1.0 / (np.float32(spec["theta"]) ** exps)
    res = []
    for f in freqs.astype(np.float64):
        wl = 2.0 * math.pi / f
        if wl < hi_wl:
            res.append(1.0)
        elif wl > lo_wl:
            res.append(factor)
        else:
            s = (old_ctx / wl - lo_f) / (hi_f - lo_f)
            res.append(1.0 / ((1.0 - s) / factor + s))
    return np.array(res, dtype=np.float32)


# --------------------------------------------------------------------------
# GGUF writing

def write_gguf(path, spec, p, tensors, wtype, hf_config):
    import gguf

    arch = spec["arch"]
    head_dim = p["hidden"] // p["heads"]
    w = gguf.GGUFWriter(path, arch)
    w.add_name(spec["name"])
    w.add_block_count(p["layers"])
    w.add_context_length(p["max_pos"])
    w.add_embedding_length(p["hidden"])
    w.add_feed_forward_length(p["intermediate"])
    w.add_head_count(p["heads"])
    w.add_head_count_kv(spec["kv_heads"])
    rs = spec["rope_scaling"]
    if rs is not None and rs["rope_type"] == "yarn":
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(rs["factor"])
        w.add_rope_scaling_orig_ctx_len(rs["original_max_position_embeddings"])
    w.add_rope_freq_base(spec["theta"])
    w.add_layer_norm_rms_eps(spec["eps"])
    if "head_dim" in hf_config:
        # the converter writes these only when config.json carries head_dim
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    ftype = {"f32": gguf.LlamaFileType.ALL_F32,
             "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[wtype]
    w.add_file_type(ftype)
    if arch == "llama":
        w.add_vocab_size(p["vocab"])
        w.add_rope_dimension_count(head_dim)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    if arch == "llama" and rs is not None and rs["rope_type"] == "llama3":
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(spec, head_dim))
    for name, t in tensors:
        if t.ndim == 2 and wtype == "f16":
            w.add_tensor(name, t.astype(np.float16))
        elif t.ndim == 2 and wtype == "q8_0":
            q = gguf.quants.quantize(t, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, t.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def field_value(field):
    """Scalar or string value of a GGUFReader field."""
    import gguf

    v = field.parts[field.data[0]]
    if field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(v).decode("utf-8")
    return v.tolist()[0]


def read_back(path, expect_kv, expect_types):
    """Loads a GGUF file with gguf.GGUFReader, checks the given keys and tensor
    types, returns {name: float32 ndarray in HF row-major shape}."""
    import gguf

    r = gguf.GGUFReader(path)
    for k, v in expect_kv.items():
        if k not in r.fields:
            raise RuntimeError("%s: key %s missing" % (path, k))
        got = field_value(r.fields[k])
        ok = (abs(got - v) <= 1e-6 * abs(v)) if isinstance(v, float) else got == v
        if not ok:
            raise RuntimeError("%s: key %s = %r, want %r" % (path, k, got, v))
    out = {}
    for t in r.tensors:
        want = expect_types[t.name]
        if t.tensor_type != want:
            raise RuntimeError("%s: %s has type %s, want %s" % (
                path, t.name, t.tensor_type.name, want.name))
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        if t.tensor_type in (gguf.GGMLQuantizationType.F32,
                             gguf.GGMLQuantizationType.F16):
            a = np.array(t.data, dtype=np.float32).reshape(shape)
        else:
            a = gguf.quants.dequantize(np.array(t.data), t.tensor_type)
            a = a.astype(np.float32).reshape(shape)
        out[t.name] = a
    if set(out) != set(expect_types):
        raise RuntimeError("%s: tensor set differs: %s" % (
            path, sorted(set(out) ^ set(expect_types))))
    return out


# --------------------------------------------------------------------------
# reference logits

def logits_for(model, seqs):
    import torch

    rows = []
    with torch.no_grad():
        for s in seqs:
            ids = torch.tensor([s], dtype=torch.long)
            lg = model(input_ids=ids, use_cache=False).logits[0]
            rows.append(lg.to(torch.float32).cpu().numpy())
    return rows


def load_weights(model, gguf_tensors, back):
    """Puts the tensors read from a GGUF file into the HF model (un-permuting
    q/k rows). Tied models share one tensor for input and output."""
    import torch

    sd = model.state_dict()
    new = {}
    for gname, (hname, inv) in back.items():
        a = gguf_tensors[gname]
        if inv is not None:
            a = a[inv]
        if tuple(a.shape) != tuple(sd[hname].shape):
            raise RuntimeError("shape mismatch for " + gname)
        new[hname] = torch.from_numpy(np.ascontiguousarray(a))
    missing = set(sd) - set(new)
    for k in missing:
        if k == "lm_head.weight" and model.config.tie_word_embeddings:
            continue
        raise RuntimeError("no GGUF tensor for " + k)
    model.load_state_dict(new, strict=False)
    if model.config.tie_word_embeddings:
        model.tie_weights()
        assert model.lm_head.weight.data_ptr() == \
            model.model.embed_tokens.weight.data_ptr()


def hf_rope_info(model):
    """What transformers actually rotates with: inv_freq per pair and the
    cos/sin scale (YaRN's attention factor)."""
    re = model.model.rotary_emb
    return {
        "inv_freq": [float(x) for x in re.inv_freq.tolist()],
        "attention_scaling": float(getattr(re, "attention_scaling", 1.0)),
        "rope_type": getattr(re, "rope_type", "default"),
    }


# --------------------------------------------------------------------------
# llama.cpp cross-check (optional)

LLAMA_WORKER = r'''
import json, sys
import numpy as np
import llama_cpp
job = json.load(open(sys.argv[1]))
llm = llama_cpp.Llama(model_path=job["gguf"], n_ctx=job["n_ctx"],
                      n_batch=job["n_ctx"], n_ubatch=job["n_ctx"],
                      n_threads=2, logits_all=True, verbose=False,
                      type_k=0, type_v=0)  # F32 KV cache (default is F16)
rows = []
for s in job["seqs"]:
    llm.reset()
    llm.eval(s)
    rows.append(np.array(llm.scores[:len(s)], dtype=np.float32))
np.concatenate(rows).astype("<f4").tofile(job["out"])
print(llama_cpp.__version__)
'''


def add_dummy_vocab(src, dst, n_vocab):
    """Copy of a fixture GGUF with a placeholder SentencePiece-style vocab, only
    because llama.cpp refuses to load a model without tokenizer keys. Token ids
    are fed directly, so the vocab content does not matter."""
    import gguf

    r = gguf.GGUFReader(src)
    arch = field_value(r.fields["general.architecture"])
    w = gguf.GGUFWriter(dst, arch)
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            raise RuntimeError("unexpected array key " + k)
        w.add_key_value(k, field_value(f), vt)
    add_placeholder_vocab(w, n_vocab)
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        data = np.array(t.data)
        if t.tensor_type in (gguf.GGMLQuantizationType.F32,
                             gguf.GGMLQuantizationType.F16):
            w.add_tensor(t.name, data.reshape(shape))
        else:
            w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_cpp_logits(python, gguf_path, seqs, n_vocab):
    with tempfile.TemporaryDirectory() as td:
        model = os.path.join(td, "m.gguf")
        add_dummy_vocab(gguf_path, model, n_vocab)
        job = os.path.join(td, "job.json")
        out = os.path.join(td, "out.bin")
        with open(job, "w") as f:
            json.dump({"gguf": model, "seqs": seqs, "out": out,
                       "n_ctx": 128}, f)
        script = os.path.join(td, "worker.py")
        with open(script, "w") as f:
            f.write(LLAMA_WORKER)
        res = subprocess.run([python, script, job], capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise RuntimeError("llama.cpp worker failed:\n" + res.stderr[-4000:])
        a = np.fromfile(out, dtype="<f4").reshape(-1, n_vocab)
        return a, res.stdout.strip()


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--llama-python", default=DEFAULT_LLAMA_PY,
                    help="interpreter with llama_cpp for the cross-check "
                         "(default %(default)s, skipped if missing)")
    ap.add_argument("--no-llama", action="store_true",
                    help="skip the llama.cpp cross-check")
    args = ap.parse_args()
    if args.no_llama or not os.path.exists(args.llama_python or ""):
        args.llama_python = None

    import torch
    import transformers
    import gguf

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    Q = gguf.GGMLQuantizationType
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    manifest = {
        "description": "Tiny random dense models with GGUF files laid out as "
                       "llama.cpp's HF converter does, and float32 transformers "
                       "logits for each file's exact weights.",
        "generator": "tools/make_dense_fixtures.py",
        "versions": {"torch": torch.__version__,
                     "transformers": transformers.__version__,
                     "numpy": np.__version__},
        "weight_types": {
            "f32": "every tensor F32",
            "f16": "every 2-D weight (incl. token_embd and output) F16; "
                   "1-D tensors (norms, biases, rope_freqs) F32",
            "q8_0": "every 2-D weight (incl. token_embd and output) Q8_0 "
                    "(gguf.quants.quantize); 1-D tensors F32",
        },
        "logits_format": "float32 little-endian; the model's sequences in order, "
                         "each [len x n_vocab] row-major, logits at every "
                         "position from one causal forward pass",
        "notes": [
            "llama q/k weights (and ffn etc. unchanged) are stored with rows "
            "permuted to interleaved rotary pairs, as the converter does: "
            "within a head, stored row 2i+j = HF row j*head_dim/2+i.",
            "llama_gqa: rope_freqs.weight (F32, head_dim/2) holds the llama3 "
            "per-frequency divisors computed from rope_scaling including its "
            "original_max_position_embeddings (32). No rope.scaling.* keys are "
            "written for llama3, matching the converter. Note: the upstream "
            "converter reads original_max_position_embeddings from the top level "
            "of config.json (default 8192) rather than from rope_scaling; real "
            "Llama-3.1 configs use 8192 so it does not matter there, but it "
            "would for this fixture, so the factors here follow transformers.",
            "qwen2_yarn_tied: keys rope.scaling.type=yarn, .factor=4, "
            ".original_context_length=32 as the Qwen2 converter writes; no yarn "
            "ext/attn/beta keys (the config has none; beta_fast=32, beta_slow=1 "
            "and attention factor 0.1*ln(factor)+1 are the defaults on both "
            "sides). transformers' Qwen2 applies YaRN at every position (not "
            "only past the original context): inv_freq blends extrapolated and "
            "factor-interpolated frequencies over the beta ramp, and cos/sin are "
            "multiplied by the attention factor; config.hf_rope lists the exact "
            "inv_freq and scale it used. max_position_embeddings is 128 = "
            "factor*original on purpose: some transformers 4.x releases derived "
            "the YaRN factor as max_position_embeddings/original when the "
            "latter is present (5.x uses rope_scaling.factor), so both readings "
            "agree here.",
            "hf/config.json is written by transformers 5.x: rope_theta and the "
            "rope scaling dict sit together under \"rope_parameters\"; configs "
            "from transformers 4.x put rope_theta and rope_scaling at the top "
            "level. config below gives the plain values.",
            "Keys follow the converter per architecture: llama files carry "
            "vocab_size, rope.dimension_count and (because config.json has "
            "head_dim) attention.key_length/value_length; qwen2 files carry none "
            "of these (rotary dim = head_dim = n_embd/n_head, n_vocab = rows of "
            "token_embd). Tied models have no output.weight.",
            "No tokenizer keys are written; token ids are used directly.",
            "Tolerances: these logits come from float32 math on each file's "
            "exact weights. llama.cpp on the f32 files matches them to ~1e-6 "
            "of max |logit| with an F32 KV cache (~1e-3 with its default F16 "
            "cache). Its F16/Q8_0 kernels also round the activations (to F16 / "
            "Q8_0 blocks), which adds an error about as large as the weight "
            "rounding itself: observed max |diff| ~0.06% of max |logit| on f16 "
            "and ~2% on q8_0, and argmax can flip where the top two are close.",
        ],
        "models": [],
    }

    llama_report = []
    for spec in MODELS:
        name = spec["name"]
        mdir = os.path.join(out_dir, name)
        if os.path.isdir(mdir):
            shutil.rmtree(mdir)
        os.makedirs(mdir)
        model, p = make_hf_model(spec)
        hf_dir = os.path.join(mdir, "hf")
        model.save_pretrained(hf_dir, safe_serialization=True)
        with open(os.path.join(hf_dir, "config.json")) as f:
            hf_config = json.load(f)

        rng = np.random.default_rng(spec["seed"] + 7)
        seqs = [rng.integers(0, p["vocab"], size=n).tolist() for n in SEQ_LENS]

        tensors, back = hf_to_gguf_tensors(model, spec, p)
        head_dim = p["hidden"] // p["heads"]
        arch = spec["arch"]
        expect_kv = {
            "general.architecture": arch,
            arch + ".block_count": p["layers"],
            arch + ".context_length": p["max_pos"],
            arch + ".embedding_length": p["hidden"],
            arch + ".feed_forward_length": p["intermediate"],
            arch + ".attention.head_count": p["heads"],
            arch + ".attention.head_count_kv": spec["kv_heads"],
            arch + ".attention.layer_norm_rms_epsilon": spec["eps"],
            arch + ".rope.freq_base": spec["theta"],
        }
        if arch == "llama":
            expect_kv[arch + ".rope.dimension_count"] = head_dim
            expect_kv[arch + ".vocab_size"] = p["vocab"]
        rs = spec["rope_scaling"]
        if rs is not None and rs["rope_type"] == "yarn":
            expect_kv[arch + ".rope.scaling.type"] = "yarn"
            expect_kv[arch + ".rope.scaling.factor"] = rs["factor"]
            expect_kv[arch + ".rope.scaling.original_context_length"] = \
                rs["original_max_position_embeddings"]

        files = {"hf": name + "/hf"}
        logit_files = {}
        ref_model, _ = make_hf_model(spec)  # same config; weights replaced below
        f32_rows = None
        for wtype in ("f32", "f16", "q8_0"):
            fname = "model-%s.gguf" % wtype
            path = os.path.join(mdir, fname)
            write_gguf(path, spec, p, tensors, wtype, hf_config)
            types = {}
            for gname, t in tensors:
                if t.ndim == 2 and wtype != "f32":
                    types[gname] = Q.F16 if wtype == "f16" else Q.Q8_0
                else:
                    types[gname] = Q.F32
            if arch == "llama" and rs is not None:
                types["rope_freqs.weight"] = Q.F32
            got = read_back(path, expect_kv, types)
            if wtype == "f32":
                for gname, t in tensors:
                    if not np.array_equal(got[gname], t):
                        raise RuntimeError("f32 round trip differs: " + gname)
            load_weights(ref_model, got, back)
            rows = logits_for(ref_model, seqs)
            if wtype == "f32":
                f32_rows = rows
                direct = logits_for(model, seqs)
                for a, b in zip(rows, direct):
                    if not np.array_equal(a, b):
                        raise RuntimeError("f32 GGUF model differs from HF model")
            lname = "logits-%s.bin" % wtype
            np.concatenate(rows).astype("<f4").tofile(os.path.join(mdir, lname))
            files[wtype] = name + "/" + fname
            logit_files[wtype] = name + "/" + lname
            if wtype != "f32":
                d = max(float(np.abs(a - b).max()) for a, b in zip(rows, f32_rows))
                print("%s: %s logits vs f32: max |diff| %.3g" % (name, wtype, d))

        # the HF directory must reproduce the f32 reference when loaded fresh
        cls = type(model)
        reloaded = cls.from_pretrained(hf_dir, torch_dtype=torch.float32)
        reloaded.eval()
        for a, b in zip(logits_for(reloaded, seqs), f32_rows):
            if not np.array_equal(a, b):
                raise RuntimeError(name + ": reloaded HF dir differs")

        spread = [float(r.std(axis=1).mean()) for r in f32_rows]
        argmax_distinct = len(set(np.concatenate(f32_rows).argmax(axis=1).tolist()))
        print("%s: logit std per row ~%s, %d distinct argmax over %d rows" % (
            name, ["%.2f" % s for s in spread], argmax_distinct, sum(SEQ_LENS)))

        entry = {
            "name": name,
            "arch": arch,
            "config": {
                "n_embd": p["hidden"], "n_layer": p["layers"],
                "n_head": p["heads"], "n_head_kv": spec["kv_heads"],
                "head_dim": head_dim, "n_ff": p["intermediate"],
                "n_vocab": p["vocab"], "n_ctx_train": p["max_pos"],
                "rms_norm_eps": spec["eps"], "rope_theta": spec["theta"],
                "rope_scaling": rs, "tied_embeddings": spec["tied"],
                "qkv_bias": arch == "qwen2", "seed": spec["seed"],
                "hf_rope": hf_rope_info(model),
            },
            "files": files,
            "sequences": seqs,
            "logits": logit_files,
            "n_vocab": p["vocab"],
        }
        if arch == "llama" and rs is not None:
            entry["config"]["rope_freqs"] = llama3_rope_factors(spec, head_dim).tolist()
        manifest["models"].append(entry)

        if args.llama_python:
            for wtype in ("f32", "f16", "q8_0"):
                ll, ver = llama_cpp_logits(args.llama_python,
                                           os.path.join(mdir, files[wtype].split("/")[-1]),
                                           seqs, p["vocab"])
                ref = np.fromfile(os.path.join(mdir, logit_files[wtype].split("/")[-1]),
                                  dtype="<f4").reshape(-1, p["vocab"])
                d = float(np.abs(ll - ref).max())
                rel = d / float(np.abs(ref).max())
                same_argmax = float((ll.argmax(1) == ref.argmax(1)).mean())
                print("%s: llama.cpp %s on %s GGUF vs its reference: max |diff| "
                      "%.3g (%.2g of max |logit|), argmax agreement %.3f" % (
                          name, ver, wtype, d, rel, same_argmax))
                llama_report.append({"name": name, "wtype": wtype,
                                     "max_abs_diff": d, "rel": rel,
                                     "argmax_agreement": same_argmax})
                if wtype == "q8_0":
                    # llama.cpp quantizes activations to Q8_0 as deepc does:
                    # its logits are the tight reference for the Q8_0 file.
                    lname = "logits-q8_0-llamacpp.bin"
                    ll.astype("<f4").tofile(os.path.join(mdir, lname))
                    entry["logits_llamacpp"] = {"q8_0": name + "/" + lname}

    # llama.cpp rounds activations to F16 / Q8_0 for those weight types, so
    # only the f32 file is expected to match closely.
    for r in llama_report:
        lim = {"f32": 1e-5, "f16": 1e-2, "q8_0": 5e-2}[r["wtype"]]
        if r["rel"] > lim:
            print("WARNING: llama.cpp disagrees on %s %s" % (r["name"], r["wtype"]))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print("wrote", os.path.join(out_dir, "manifest.json"))


if __name__ == "__main__":
    main()
