#!/usr/bin/env python3
"""Builds the DeepSeek (MLA + MoE) reference fixtures in tests/data/deepseek/.

Four tiny random models are created with transformers in float32 from fixed
seeds (see MODELS): a DeepSeek-V2-Lite style one with greedy softmax routing,
the same with V2 group-limited routing, and a DeepSeek-V3 style one (q-LoRA,
sigmoid routing with a correction bias, groups, renormalised weights, an MTP
layer in the checkpoint). Every weight is rounded to bf16 before anything is
computed (the router bias stays fp32), so the bf16 safetensors and the F32
GGUF files hold exactly the same numbers. Per model this writes

  <name>/hf/               config.json + model.safetensors (BF16, bias F32)
  <name>/hf-fp8/           v3 only: Linear weights F8_E4M3 + weight_scale_inv
                           (128x128 blocks, as DeepSeek's FP8 checkpoints)
  <name>/hf-fp8-b16/       v3 only: the same with 16x16 blocks
  <name>/model-f32.gguf    deepseek2 GGUF, MLA layout (attn_k_b / attn_v_b)
  <name>/model-f32-legacy.gguf  unsplit attn_kv_b (pre-MLA converter layout)
  <name>/model-q8_0.gguf   MLA layout, Q8_0 where rows allow it
  <name>/logits-*.bin, decode-*.bin, experts-*.json, hidden-*.bin

and manifest.json, whose format is described in docs/DEEPSEEK_FIXTURES.md.
Each reference comes from the transformers float32 model loaded with exactly
the weights the matching file holds (bf16-rounded, fp8-dequantised with the
block scales, or read back from the GGUF and dequantised).

If /opt/deepc-llama/bin/python (tools/setup_llama_cpp.sh) has llama-cpp-python,
every GGUF is also run through llama.cpp and the differences are printed and
stored in the manifest under "llama_cpp".

Usage: /opt/deepc-tools/bin/python tools/make_deepseek_fixtures.py [--out DIR]
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
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "deepseek")
DEFAULT_LLAMA_PY = "/opt/deepc-llama/bin/python"

# Shapes shared by all models. Head dims keep V2/V3's proportions at 1/8 size.
BASE = dict(vocab=256, hidden=64, layers=3, heads=4, kv_lora_rank=32,
            qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
            intermediate=96, moe_intermediate=32, first_k_dense=1,
            max_pos=128, eps=1e-6, factor=4.0, orig_ctx=32,
            beta_fast=32, beta_slow=1)

MODELS = [
    dict(name="v2_greedy", family="v2", seed=2001, q_lora_rank=None,
         n_routed=8, n_shared=2, top_k=2, topk_method="greedy",
         n_group=1, topk_group=1, scoring="softmax", norm_topk=False,
         scale=1.0, mscale=0.707, mscale_all_dim=0.707, theta=10000.0,
         mtp=0,
         files=("hf", "gguf_f32", "gguf_f32_legacy", "gguf_q8_0")),
    dict(name="v2_group", family="v2", seed=2002, q_lora_rank=None,
         n_routed=8, n_shared=2, top_k=3, topk_method="group_limited_greedy",
         n_group=4, topk_group=2, scoring="softmax", norm_topk=False,
         scale=1.0, mscale=0.707, mscale_all_dim=0.707, theta=10000.0,
         mtp=0,
         # no committed GGUF (size budget; GGUF cannot say which group rule
         # applies): one is made in a temporary directory for llama.cpp only
         files=("hf",), check_only=("gguf_f32",)),
    # V2-Lite's 16 heads: two of the attention's 8-head blocks, so that a
    # decode step's items split by head block at short contexts (and a prompt
    # pass's items hold 8 heads each) run against the reference
    dict(name="v2_heads16", family="v2", seed=2004, q_lora_rank=None, heads=16,
         n_routed=8, n_shared=2, top_k=2, topk_method="greedy",
         n_group=1, topk_group=1, scoring="softmax", norm_topk=False,
         scale=1.0, mscale=0.707, mscale_all_dim=0.707, theta=10000.0,
         mtp=0,
         files=("hf",)),
    # rope_theta 20 (not 10000) so that with 4 rotary frequencies the YaRN
    # ramp has fractional values (0, 1/3, 2/3, 1): at theta 10000 every
    # frequency is either fully kept or fully divided by the factor.
    dict(name="v3", family="v3", seed=2003, q_lora_rank=48,
         n_routed=16, n_shared=1, top_k=4, topk_method="noaux_tc",
         n_group=4, topk_group=2, scoring="sigmoid", norm_topk=True,
         scale=2.5, mscale=1.0, mscale_all_dim=1.0, theta=20.0,
         mtp=1,
         files=("hf", "hf_fp8", "hf_fp8_b16", "gguf_f32", "gguf_q8_0")),
]

SEQ_LENS = (7, 70)
DECODE_SEQ = 1          # index into the model's sequences
PROMPT_LEN = 4
HIDDEN_SEQ = 0
MIN_MARGIN = 1e-4       # smallest routing score gap accepted in the fixtures

FILE_DIRS = {"hf": "hf", "hf_fp8": "hf-fp8", "hf_fp8_b16": "hf-fp8-b16",
             "gguf_f32": "model-f32.gguf",
             "gguf_f32_legacy": "model-f32-legacy.gguf",
             "gguf_q8_0": "model-q8_0.gguf"}
# which set of weights each file holds
WEIGHT_SET = {"hf": "ref", "gguf_f32": "ref", "gguf_f32_legacy": "ref",
              "hf_fp8": "fp8", "hf_fp8_b16": "fp8_b16", "gguf_q8_0": "q8_0"}
FP8_BLOCK = {"fp8": 128, "fp8_b16": 16}


def params(spec):
    p = dict(BASE)
    p.update(spec)
    p["qk_head_dim"] = p["qk_nope_head_dim"] + p["qk_rope_head_dim"]
    return p


# --------------------------------------------------------------------------
# transformers model

def rope_parameters(p):
    return {"rope_type": "yarn", "rope_theta": p["theta"],
            "factor": p["factor"],
            "original_max_position_embeddings": p["orig_ctx"],
            "mscale": p["mscale"], "mscale_all_dim": p["mscale_all_dim"],
            "beta_fast": p["beta_fast"], "beta_slow": p["beta_slow"]}


def make_hf_model(p):
    import torch
    import transformers

    common = dict(
        vocab_size=p["vocab"], hidden_size=p["hidden"],
        intermediate_size=p["intermediate"],
        moe_intermediate_size=p["moe_intermediate"],
        num_hidden_layers=p["layers"], num_attention_heads=p["heads"],
        num_key_value_heads=p["heads"], q_lora_rank=p["q_lora_rank"],
        kv_lora_rank=p["kv_lora_rank"],
        qk_nope_head_dim=p["qk_nope_head_dim"],
        qk_rope_head_dim=p["qk_rope_head_dim"], v_head_dim=p["v_head_dim"],
        first_k_dense_replace=p["first_k_dense"],
        n_routed_experts=p["n_routed"], n_shared_experts=p["n_shared"],
        num_experts_per_tok=p["top_k"], n_group=p["n_group"],
        topk_group=p["topk_group"], norm_topk_prob=p["norm_topk"],
        routed_scaling_factor=p["scale"],
        max_position_embeddings=p["max_pos"], rms_norm_eps=p["eps"],
        rope_parameters=rope_parameters(p), tie_word_embeddings=False,
        hidden_act="silu", attention_bias=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None,
        # not read by transformers, but present in DeepSeek's config.json
        # files and read by llama.cpp's converter (expert_gating_func)
        scoring_func=p["scoring"],
    )
    if p["family"] == "v2":
        cfg = transformers.DeepseekV2Config(topk_method=p["topk_method"],
                                            **common)
        cls = transformers.DeepseekV2ForCausalLM
    else:
        cfg = transformers.DeepseekV3Config(
            topk_method=p["topk_method"],
            num_nextn_predict_layers=p["mtp"], **common)
        cls = transformers.DeepseekV3ForCausalLM
    model = cls(cfg)
    model.to(torch.float32)
    model.eval()
    return model


# --------------------------------------------------------------------------
# weights in checkpoint naming (per-expert tensors, as DeepSeek ships them)

def ckpt_shapes(p):
    """[(name, shape)] of the main model in checkpoint naming, plus the MTP
    layer (index num_hidden_layers) when p["mtp"]."""
    D, H = p["hidden"], p["heads"]
    dqk, dv = p["qk_head_dim"], p["v_head_dim"]
    rkv, dr = p["kv_lora_rank"], p["qk_rope_head_dim"]
    out = [("model.embed_tokens.weight", (p["vocab"], D)),
           ("model.norm.weight", (D,)),
           ("lm_head.weight", (p["vocab"], D))]

    def block(L, moe):
        pre = "model.layers.%d." % L
        r = [(pre + "input_layernorm.weight", (D,)),
             (pre + "post_attention_layernorm.weight", (D,))]
        a = pre + "self_attn."
        if p["q_lora_rank"] is None:
            r.append((a + "q_proj.weight", (H * dqk, D)))
        else:
            rq = p["q_lora_rank"]
            r += [(a + "q_a_proj.weight", (rq, D)),
                  (a + "q_a_layernorm.weight", (rq,)),
                  (a + "q_b_proj.weight", (H * dqk, rq))]
        r += [(a + "kv_a_proj_with_mqa.weight", (rkv + dr, D)),
              (a + "kv_a_layernorm.weight", (rkv,)),
              (a + "kv_b_proj.weight", (H * (p["qk_nope_head_dim"] + dv), rkv)),
              (a + "o_proj.weight", (D, H * dv))]
        m = pre + "mlp."
        if not moe:
            F = p["intermediate"]
            r += [(m + "gate_proj.weight", (F, D)), (m + "up_proj.weight", (F, D)),
                  (m + "down_proj.weight", (D, F))]
        else:
            Fe, E = p["moe_intermediate"], p["n_routed"]
            r.append((m + "gate.weight", (E, D)))
            if p["family"] == "v3":
                r.append((m + "gate.e_score_correction_bias", (E,)))
            for j in range(E):
                e = m + "experts.%d." % j
                r += [(e + "gate_proj.weight", (Fe, D)),
                      (e + "up_proj.weight", (Fe, D)),
                      (e + "down_proj.weight", (D, Fe))]
            Fs = Fe * p["n_shared"]
            r += [(m + "shared_experts.gate_proj.weight", (Fs, D)),
                  (m + "shared_experts.up_proj.weight", (Fs, D)),
                  (m + "shared_experts.down_proj.weight", (D, Fs))]
        return r

    for L in range(p["layers"]):
        out += block(L, L >= p["first_k_dense"])
    if p["mtp"]:
        L = p["layers"]
        pre = "model.layers.%d." % L
        out += [(pre + "embed_tokens.weight", (p["vocab"], D)),
                (pre + "enorm.weight", (D,)), (pre + "hnorm.weight", (D,)),
                (pre + "eh_proj.weight", (D, 2 * D)),
                (pre + "shared_head.norm.weight", (D,)),
                (pre + "shared_head.head.weight", (p["vocab"], D))]
        out += block(L, True)
    return out


def bf16_round(a):
    """float32 -> nearest bf16 (ties to even), returned as float32."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def random_ckpt(p, seed):
    """Checkpoint-named float32 weights drawn from numpy with a fixed seed.
    Linears ~ N(0, (0.9/sqrt(fan_in))^2) so activations stay O(1); the router
    gate N(0, (1.5/sqrt(D))^2) so its logits are spread (~N(0, 2.25)) and the
    choice of experts changes from token to token; embeddings N(0, 0.5^2);
    norm gains 1 + N(0, 0.2^2); the V3 correction bias N(0, 0.3^2), which is
    of the order of the sigmoid score gaps and so changes choices. All but
    the bias are rounded to bf16."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in ckpt_shapes(p):
        if name.endswith("embed_tokens.weight"):
            v = rng.normal(0.0, 0.5, shape)
        elif name.endswith("e_score_correction_bias"):
            v = rng.normal(0.0, 0.1, shape)
        elif name.endswith("mlp.gate.weight"):
            v = rng.normal(0.0, 2.0 / math.sqrt(shape[1]), shape)
        elif len(shape) == 2:
            v = rng.normal(0.0, 0.9 / math.sqrt(shape[1]), shape)
        elif "norm" in name:
            v = 1.0 + rng.normal(0.0, 0.2, shape)
        else:
            raise RuntimeError("unexpected tensor " + name)
        v = v.astype(np.float32)
        if not name.endswith("e_score_correction_bias"):
            v = bf16_round(v)
        out[name] = v
    return out


def main_layer_names(p, ckpt):
    """Checkpoint names without the MTP layer."""
    mtp_pre = "model.layers.%d." % p["layers"]
    return [k for k in ckpt if not k.startswith(mtp_pre)]


def load_ckpt(model, p, ckpt):
    """Puts checkpoint-named weights into the transformers model, whose
    experts are fused: experts.gate_up_proj [E, 2*Fe, D] = per expert
    concat(gate_proj, up_proj) along rows, experts.down_proj [E, D, Fe]."""
    import torch

    sd = model.state_dict()
    new = {}
    used = set()
    for k in sd:
        if ".mlp.experts.gate_up_proj" in k or ".mlp.experts.down_proj" in k:
            pre = k.split("experts.")[0] + "experts."
            rows = []
            for j in range(p["n_routed"]):
                if k.endswith("gate_up_proj"):
                    g = pre + "%d.gate_proj.weight" % j
                    u = pre + "%d.up_proj.weight" % j
                    rows.append(np.concatenate([ckpt[g], ckpt[u]], axis=0))
                    used.update((g, u))
                else:
                    d = pre + "%d.down_proj.weight" % j
                    rows.append(ckpt[d])
                    used.add(d)
            a = np.stack(rows)
        else:
            a = ckpt[k]
            used.add(k)
        if tuple(a.shape) != tuple(sd[k].shape):
            raise RuntimeError("shape mismatch for %s: %s vs %s" % (
                k, a.shape, tuple(sd[k].shape)))
        new[k] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    extra = set(main_layer_names(p, ckpt)) - used
    if extra:
        raise RuntimeError("checkpoint tensors not used: %s" % sorted(extra))
    model.load_state_dict(new, strict=True)


# --------------------------------------------------------------------------
# FP8 (e4m3fn) with block scales, as DeepSeek-V3's checkpoints

def is_fp8_linear(name):
    """Every Linear of attention and of the FFNs (dense MLP, experts, shared
    experts), in the main layers and in the MTP layer's block. Embeddings,
    lm_head, norms, the router gate, the MTP eh_proj and shared_head stay
    BF16, the router bias F32."""
    if not name.endswith(".weight"):
        return False
    keys = ("q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa",
            "kv_b_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    last = name.split(".")[-2]
    return last in keys


def fp8_quantize(w, block):
    """w [M, K] float32 -> (fp8 as torch float8_e4m3fn, scale_inv float32
    [ceil(M/b), ceil(K/b)], dequantised float32). Per block: s = amax/448,
    q = e4m3(w / s) (round to nearest even), w' = float(q) * s in fp32."""
    import torch

    M, K = w.shape
    nb_m, nb_k = -(-M // block), -(-K // block)
    s = np.zeros((nb_m, nb_k), dtype=np.float32)
    for i in range(nb_m):
        for j in range(nb_k):
            blk = w[i * block:(i + 1) * block, j * block:(j + 1) * block]
            amax = float(np.abs(blk).max())
            s[i, j] = np.float32(amax / 448.0) if amax > 0 else np.float32(1.0)
    s_full = np.repeat(np.repeat(s, block, axis=0), block, axis=1)[:M, :K]
    scaled = np.clip(w / s_full, -448.0, 448.0).astype(np.float32)
    q = torch.from_numpy(scaled).to(torch.float8_e4m3fn)
    deq = (q.to(torch.float32).numpy() * s_full).astype(np.float32)
    return q, s, deq


def write_fp8_dir(out_dir, ckpt, config_json, block):
    """Returns the dequantised checkpoint (what the reference runs on)."""
    import torch
    from safetensors.torch import save_file

    os.makedirs(out_dir)
    tensors = {}
    deq = {}
    for name in sorted(ckpt):
        w = ckpt[name]
        if is_fp8_linear(name):
            q, s, d = fp8_quantize(w, block)
            tensors[name] = q
            tensors[name + "_scale_inv"] = torch.from_numpy(s)
            deq[name] = d
        else:
            tensors[name] = to_storage(name, w)
            deq[name] = w
    save_file(tensors, os.path.join(out_dir, "model.safetensors"),
              metadata={"format": "pt"})
    cfg = dict(config_json)
    cfg["quantization_config"] = {"activation_scheme": "dynamic",
                                  "fmt": "e4m3", "quant_method": "fp8",
                                  "weight_block_size": [block, block]}
    write_json(os.path.join(out_dir, "config.json"), cfg)
    n = check_fp8_file(os.path.join(out_dir, "model.safetensors"), deq, block)
    if n != sum(1 for k in ckpt if is_fp8_linear(k)):
        raise RuntimeError("fp8 tensor count mismatch")
    return deq


def e4m3_table():
    """float value of each F8_E4M3 (fn) byte, from the format definition:
    sign, 4-bit exponent (bias 7), 3-bit mantissa, exponent 0 subnormal,
    0x7F/0xFF NaN, no infinities."""
    t = np.zeros(256, dtype=np.float64)
    for b in range(256):
        s = -1.0 if b & 0x80 else 1.0
        e, m = (b >> 3) & 0xF, b & 7
        if e == 15 and m == 7:
            t[b] = np.nan
        elif e == 0:
            t[b] = s * (m / 8.0) * 2.0 ** -6
        else:
            t[b] = s * (1.0 + m / 8.0) * 2.0 ** (e - 7)
    return t


def check_fp8_file(path, deq, block):
    """Reads the safetensors file as plain bytes (no torch) and checks that
    table-decoded fp8 times the floor-indexed block scale gives exactly the
    dequantised weights the fp8 reference runs on."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    hdr = json.loads(raw[8:8 + n])
    base = 8 + n
    tab = e4m3_table()
    n_fp8 = 0
    for name, info in hdr.items():
        if name == "__metadata__" or info["dtype"] != "F8_E4M3":
            continue
        M, K = info["shape"]
        b0, b1 = info["data_offsets"]
        q = np.frombuffer(raw[base + b0:base + b1], dtype=np.uint8).reshape(M, K)
        si = hdr[name + "_scale_inv"]
        if si["dtype"] != "F32" or si["shape"] != [-(-M // block), -(-K // block)]:
            raise RuntimeError("%s: bad scale %s" % (name, si))
        c0, c1 = si["data_offsets"]
        sc = np.frombuffer(raw[base + c0:base + c1], dtype="<f4").reshape(si["shape"])
        rows = np.arange(M) // block
        cols = np.arange(K) // block
        w = tab[q].astype(np.float32) * sc[rows[:, None], cols[None, :]]
        if not np.array_equal(w, deq[name]):
            raise RuntimeError(name + ": fp8 file does not decode to the reference")
        n_fp8 += 1
    return n_fp8


def to_storage(name, a):
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    if name.endswith("e_score_correction_bias"):
        return t
    b = t.to(torch.bfloat16)
    if not torch.equal(b.to(torch.float32), t):
        raise RuntimeError(name + " is not bf16-exact")
    return b


def write_json(path, obj, indent=2):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, sort_keys=True)
        f.write("\n")


# --------------------------------------------------------------------------
# GGUF (llama.cpp deepseek2 layout)

def gguf_tensors(p, ckpt, layout):
    """[(gguf_name, float32 array in numpy (row-major) shape)] following the
    converter: experts stacked [E, rows, cols] (expert slowest), kv_b split
    per head into k_b [H, r_kv, d_n] (transposed) and v_b [H, d_v, r_kv] for
    the MLA layout, or kept whole as attn_kv_b for the legacy layout. The
    router bias becomes exp_probs_b.bias. MTP tensors are not written."""
    H, dn, dv = p["heads"], p["qk_nope_head_dim"], p["v_head_dim"]
    out = [("token_embd.weight", ckpt["model.embed_tokens.weight"])]
    for L in range(p["layers"]):
        pre = "model.layers.%d." % L
        b = "blk.%d." % L
        a = pre + "self_attn."
        out.append((b + "attn_norm.weight", ckpt[pre + "input_layernorm.weight"]))
        if p["q_lora_rank"] is None:
            out.append((b + "attn_q.weight", ckpt[a + "q_proj.weight"]))
        else:
            out += [(b + "attn_q_a.weight", ckpt[a + "q_a_proj.weight"]),
                    (b + "attn_q_a_norm.weight", ckpt[a + "q_a_layernorm.weight"]),
                    (b + "attn_q_b.weight", ckpt[a + "q_b_proj.weight"])]
        out += [(b + "attn_kv_a_mqa.weight", ckpt[a + "kv_a_proj_with_mqa.weight"]),
                (b + "attn_kv_a_norm.weight", ckpt[a + "kv_a_layernorm.weight"])]
        kvb = ckpt[a + "kv_b_proj.weight"]
        if layout == "mla":
            v = kvb.reshape(H, dn + dv, kvb.shape[1])
            out += [(b + "attn_k_b.weight",
                     np.ascontiguousarray(v[:, :dn, :].transpose(0, 2, 1))),
                    (b + "attn_v_b.weight", np.ascontiguousarray(v[:, dn:, :]))]
        else:
            out.append((b + "attn_kv_b.weight", kvb))
        out.append((b + "attn_output.weight", ckpt[a + "o_proj.weight"]))
        out.append((b + "ffn_norm.weight", ckpt[pre + "post_attention_layernorm.weight"]))
        m = pre + "mlp."
        if L < p["first_k_dense"]:
            for g, h in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"),
                         ("ffn_down", "down_proj")):
                out.append((b + g + ".weight", ckpt[m + h + ".weight"]))
        else:
            out.append((b + "ffn_gate_inp.weight", ckpt[m + "gate.weight"]))
            if p["family"] == "v3":
                out.append((b + "exp_probs_b.bias",
                            ckpt[m + "gate.e_score_correction_bias"]))
            for g, h in (("ffn_gate_exps", "gate_proj"), ("ffn_up_exps", "up_proj"),
                         ("ffn_down_exps", "down_proj")):
                out.append((b + g + ".weight", np.stack(
                    [ckpt[m + "experts.%d.%s.weight" % (j, h)]
                     for j in range(p["n_routed"])])))
            for g, h in (("ffn_gate_shexp", "gate_proj"), ("ffn_up_shexp", "up_proj"),
                         ("ffn_down_shexp", "down_proj")):
                out.append((b + g + ".weight", ckpt[m + "shared_experts." + h + ".weight"]))
    out.append(("output_norm.weight", ckpt["model.norm.weight"]))
    out.append(("output.weight", ckpt["lm_head.weight"]))
    return out


def q8_0_allowed(name, a):
    """What the converter's --outtype q8_0 quantizes: 2-D and 3-D weights
    except the router (ffn_gate_inp, always F32) and norms; a tensor whose
    row length is not a multiple of 32 cannot be Q8_0 (the converter then
    falls back to F16; these fixtures keep such tensors F32)."""
    if a.ndim < 2 or not name.endswith(".weight") or "norm" in name:
        return False
    if name.endswith("ffn_gate_inp.weight"):
        return False
    return a.shape[-1] % 32 == 0


def gguf_kv(p, layout, wtype):
    """Metadata keys (without the deepseek2. prefix for arch keys) as the
    current converter writes them. Returns [(key, value, kind)]."""
    import gguf

    mla = layout == "mla"
    dn, dr, dv = p["qk_nope_head_dim"], p["qk_rope_head_dim"], p["v_head_dim"]
    rkv = p["kv_lora_rank"]
    kv = [
        ("block_count", p["layers"], "u32"),
        ("context_length", p["max_pos"], "u32"),
        ("embedding_length", p["hidden"], "u32"),
        ("feed_forward_length", p["intermediate"], "u32"),
        ("attention.head_count", p["heads"], "u32"),
        ("attention.head_count_kv", 1 if mla else p["heads"], "u32"),
        ("rope.scaling.type", "yarn", "str"),
        ("rope.scaling.factor", p["factor"], "f32"),
        ("rope.scaling.original_context_length", p["orig_ctx"], "u32"),
        ("rope.scaling.yarn_beta_fast", float(p["beta_fast"]), "f32"),
        ("rope.scaling.yarn_beta_slow", float(p["beta_slow"]), "f32"),
        ("rope.freq_base", p["theta"], "f32"),
        ("attention.layer_norm_rms_epsilon", p["eps"], "f32"),
        ("expert_count", p["n_routed"], "u32"),
        ("expert_used_count", p["top_k"], "u32"),
        ("expert_group_count", p["n_group"], "u32"),
        ("expert_group_used_count", p["topk_group"], "u32"),
        ("expert_gating_func", int(gguf.ExpertGatingFuncType.SIGMOID
                                   if p["scoring"] == "sigmoid"
                                   else gguf.ExpertGatingFuncType.SOFTMAX), "u32"),
        ("leading_dense_block_count", p["first_k_dense"], "u32"),
        ("vocab_size", p["vocab"], "u32"),
    ]
    if p["q_lora_rank"] is not None:
        kv.append(("attention.q_lora_rank", p["q_lora_rank"], "u32"))
    kv.append(("attention.kv_lora_rank", rkv, "u32"))
    if mla:
        kv += [("attention.key_length", rkv + dr, "u32"),
               ("attention.value_length", rkv, "u32"),
               ("attention.key_length_mla", dn + dr, "u32"),
               ("attention.value_length_mla", dv, "u32")]
    else:
        kv += [("attention.key_length", dn + dr, "u32"),
               ("attention.value_length", dv, "u32")]
    kv += [("expert_feed_forward_length", p["moe_intermediate"], "u32"),
           ("expert_shared_count", p["n_shared"], "u32"),
           ("expert_weights_scale", p["scale"], "f32")]
    if p["norm_topk"]:
        kv.append(("expert_weights_norm", True, "bool"))
    kv += [("rope.dimension_count", dr, "u32"),
           # written as 0.1 * mscale_all_dim (llama.cpp divides by 0.1)
           ("rope.scaling.yarn_log_multiplier", 0.1 * p["mscale_all_dim"], "f32")]
    return kv


def write_gguf(path, p, tensors, layout, wtype):
    import gguf

    Q = gguf.GGMLQuantizationType
    w = gguf.GGUFWriter(path, "deepseek2")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(p["name"])
    vt = {"u32": gguf.GGUFValueType.UINT32, "f32": gguf.GGUFValueType.FLOAT32,
          "str": gguf.GGUFValueType.STRING, "bool": gguf.GGUFValueType.BOOL}
    for k, v, kind in gguf_kv(p, layout, wtype):
        w.add_key_value("deepseek2." + k, v, vt[kind])
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if wtype == "f32"
                    else gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    types = {}
    for name, a in tensors:
        a = np.ascontiguousarray(a, dtype=np.float32)
        if wtype == "q8_0" and q8_0_allowed(name, a):
            w.add_tensor(name, gguf.quants.quantize(a, Q.Q8_0), raw_dtype=Q.Q8_0)
            types[name] = Q.Q8_0
        else:
            w.add_tensor(name, a)
            types[name] = Q.F32
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return types


def field_value(field):
    import gguf

    v = field.parts[field.data[0]]
    if field.types[0] == gguf.GGUFValueType.STRING:
        return bytes(v).decode("utf-8")
    return v.tolist()[0]


def read_gguf(path, p, layout, wtype, types):
    """Reads a GGUF back with gguf.GGUFReader, checks every key and tensor
    type, returns {gguf_name: float32 array} (dequantised)."""
    import gguf

    r = gguf.GGUFReader(path)
    want = {"deepseek2." + k: v for k, v, _ in gguf_kv(p, layout, wtype)}
    want["general.architecture"] = "deepseek2"
    for k, v in want.items():
        if k not in r.fields:
            raise RuntimeError("%s: key %s missing" % (path, k))
        got = field_value(r.fields[k])
        ok = (abs(got - v) <= 1e-6 * abs(v)) if isinstance(v, float) else got == v
        if not ok:
            raise RuntimeError("%s: key %s = %r, want %r" % (path, k, got, v))
    out = {}
    for t in r.tensors:
        if t.tensor_type != types[t.name]:
            raise RuntimeError("%s: %s type %s" % (path, t.name, t.tensor_type.name))
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            a = np.array(t.data, dtype=np.float32).reshape(shape)
        else:
            a = gguf.quants.dequantize(np.array(t.data), t.tensor_type)
            a = a.astype(np.float32).reshape(shape)
        out[t.name] = a
    if set(out) != set(types):
        raise RuntimeError("%s: tensor set differs" % path)
    return out


def ckpt_from_gguf(p, g, base_ckpt):
    """Inverse of gguf_tensors: checkpoint-named weights (MTP tensors, which
    GGUF files do not carry, are taken from base_ckpt)."""
    H, dn, dv = p["heads"], p["qk_nope_head_dim"], p["v_head_dim"]
    ck = {}
    inv = {}
    for L in range(p["layers"]):
        pre = "model.layers.%d." % L
        b = "blk.%d." % L
        a = pre + "self_attn."
        inv[b + "attn_norm.weight"] = pre + "input_layernorm.weight"
        inv[b + "attn_q.weight"] = a + "q_proj.weight"
        inv[b + "attn_q_a.weight"] = a + "q_a_proj.weight"
        inv[b + "attn_q_a_norm.weight"] = a + "q_a_layernorm.weight"
        inv[b + "attn_q_b.weight"] = a + "q_b_proj.weight"
        inv[b + "attn_kv_a_mqa.weight"] = a + "kv_a_proj_with_mqa.weight"
        inv[b + "attn_kv_a_norm.weight"] = a + "kv_a_layernorm.weight"
        inv[b + "attn_kv_b.weight"] = a + "kv_b_proj.weight"
        inv[b + "attn_output.weight"] = a + "o_proj.weight"
        inv[b + "ffn_norm.weight"] = pre + "post_attention_layernorm.weight"
        for g_, h in (("ffn_gate", "gate_proj"), ("ffn_up", "up_proj"),
                      ("ffn_down", "down_proj")):
            inv[b + g_ + ".weight"] = pre + "mlp." + h + ".weight"
            inv[b + g_ + "_shexp.weight"] = pre + "mlp.shared_experts." + h + ".weight"
        inv[b + "ffn_gate_inp.weight"] = pre + "mlp.gate.weight"
        inv[b + "exp_probs_b.bias"] = pre + "mlp.gate.e_score_correction_bias"
    inv["token_embd.weight"] = "model.embed_tokens.weight"
    inv["output_norm.weight"] = "model.norm.weight"
    inv["output.weight"] = "lm_head.weight"
    for name, a in g.items():
        if name in inv:
            ck[inv[name]] = a
            continue
        L = int(name.split(".")[1])
        pre = "model.layers.%d." % L
        if name.endswith("_exps.weight"):
            h = {"ffn_gate_exps": "gate_proj", "ffn_up_exps": "up_proj",
                 "ffn_down_exps": "down_proj"}[name.split(".")[2]]
            for j in range(p["n_routed"]):
                ck[pre + "mlp.experts.%d.%s.weight" % (j, h)] = a[j]
        elif name.endswith("attn_k_b.weight"):
            kb = a  # [H, r_kv, d_n]
            vb = g["blk.%d.attn_v_b.weight" % L]  # [H, d_v, r_kv]
            kv = np.concatenate([kb.transpose(0, 2, 1), vb], axis=1)
            ck[pre + "self_attn.kv_b_proj.weight"] = kv.reshape(H * (dn + dv), -1)
        elif name.endswith("attn_v_b.weight"):
            pass
        else:
            raise RuntimeError("unmapped GGUF tensor " + name)
    for k in base_ckpt:
        if k not in ck:
            ck[k] = base_ckpt[k]
    return ck


# --------------------------------------------------------------------------
# running the reference

class GateRecorder:
    """Forward hooks on each MoE layer's router: records its input rows
    (the post-attention-normed hidden states) and its top-k ids / weights."""

    def __init__(self, model, p):
        self.handles = []
        self.rows = {}
        for L, layer in enumerate(model.model.layers):
            if L < p["first_k_dense"]:
                continue
            self.rows[L] = []
            self.handles.append(layer.mlp.gate.register_forward_hook(
                self._hook(L)))

    def _hook(self, L):
        def f(mod, inp, out):
            x = inp[0].reshape(-1, inp[0].shape[-1]).detach().numpy().copy()
            w = out[1].detach().numpy().astype(np.float32).copy()
            ids = out[2].detach().numpy().astype(np.int64).copy()
            self.rows[L].append((x, ids, w))
        return f

    def take(self):
        out = {}
        for L, parts in self.rows.items():
            out[L] = (np.concatenate([x for x, _, _ in parts]),
                      np.concatenate([i for _, i, _ in parts]),
                      np.concatenate([w for _, _, w in parts]))
            self.rows[L] = []
        return out

    def close(self):
        for h in self.handles:
            h.remove()


def run_onepass(model, p, seq, want_hidden=False):
    import torch

    rec = GateRecorder(model, p)
    hid = []
    hooks = []
    if want_hidden:
        hooks.append(model.model.embed_tokens.register_forward_hook(
            lambda m, i, o: hid.append(o[0].detach().numpy().copy())))
        for layer in model.model.layers:
            hooks.append(layer.register_forward_hook(
                lambda m, i, o: hid.append(
                    (o[0] if isinstance(o, tuple) else o)[0].detach().numpy().copy())))
        hooks.append(model.model.norm.register_forward_hook(
            lambda m, i, o: hid.append(o[0].detach().numpy().copy())))
    with torch.no_grad():
        lg = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0]
    for h in hooks:
        h.remove()
    gates = rec.take()
    rec.close()
    hidden = np.stack(hid).astype(np.float32) if want_hidden else None
    return lg.numpy().astype(np.float32), gates, hidden


def run_decode(model, p, seq, prompt_len):
    """Prompt in one pass with use_cache=True, then one token at a time."""
    import torch

    rec = GateRecorder(model, p)
    rows = []
    with torch.no_grad():
        out = model(input_ids=torch.tensor([seq[:prompt_len]]), use_cache=True)
        rows.append(out.logits[0].numpy())
        past = out.past_key_values
        for t in range(prompt_len, len(seq)):
            out = model(input_ids=torch.tensor([[seq[t]]]),
                        past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0].numpy())
    gates = rec.take()
    rec.close()
    return np.concatenate(rows).astype(np.float32), gates


# --------------------------------------------------------------------------
# independent router (the rules of spec section 3.3, in float64)

def route(p, x, wg, bias):
    """x [T, D], wg [E, D], bias [E] or None -> (sets of ids, weights by id,
    margin, group_margin, choice without bias, choice without groups).
    margin: gap between the k-th chosen selection score and the best
    eligible unchosen one; group_margin: gap between the last kept group's
    score and the best dropped group's (None without groups)."""
    z = x.astype(np.float64) @ wg.astype(np.float64).T
    E, k = p["n_routed"], p["top_k"]
    G, TG = p["n_group"], p["topk_group"]
    res = []
    for t in range(z.shape[0]):
        if p["scoring"] == "softmax":
            e = np.exp(z[t] - z[t].max())
            s = e / e.sum()
            u = s.copy()
        else:
            s = 1.0 / (1.0 + np.exp(-z[t]))
            u = s + bias.astype(np.float64)

        def pick(sel, use_groups):
            gm = None
            sel = sel.copy()
            if use_groups and G > 1:
                gv = sel.reshape(G, E // G)
                if p["topk_method"] == "group_limited_greedy":
                    gs = gv.max(axis=1)
                else:
                    gs = np.sort(gv, axis=1)[:, -2:].sum(axis=1)
                order = np.argsort(-gs, kind="stable")
                keep = order[:TG]
                gm = float(gs[order[TG - 1]] - gs[order[TG]])
                mask = np.full(G, True)
                mask[keep] = False
                sel.reshape(G, E // G)[mask] = -np.inf
            order = np.argsort(-sel, kind="stable")
            ids = order[:k]
            m = float(sel[order[k - 1]] - sel[order[k]]) if \
                np.isfinite(sel[order[k]]) else float("inf")
            return ids, m, gm

        ids, margin, gmargin = pick(u, True)
        w = s[ids]
        if p["norm_topk"]:
            w = w / w.sum()
        w = w * p["scale"]
        nobias = pick(s, True)[0] if p["scoring"] == "sigmoid" else ids
        nogroup = pick(u, False)[0]
        res.append(dict(ids=set(ids.tolist()),
                        w={int(i): float(v) for i, v in zip(ids, w)},
                        margin=margin, gmargin=gmargin,
                        nobias=set(nobias.tolist()),
                        nogroup=set(nogroup.tolist())))
    return res


def check_routing(p, ckpt, gates, what):
    """Compares transformers' choices with the independent router; returns
    per layer the router results."""
    out = {}
    for L, (x, ids, w) in gates.items():
        pre = "model.layers.%d.mlp.gate." % L
        bias = ckpt.get(pre + "e_score_correction_bias")
        r = route(p, x, ckpt[pre + "weight"], bias)
        for t, rt in enumerate(r):
            if set(ids[t].tolist()) != rt["ids"]:
                raise RuntimeError("%s layer %d token %d: transformers chose %s, "
                                   "spec rules %s" % (what, L, t, ids[t].tolist(),
                                                      sorted(rt["ids"])))
            for i, v in zip(ids[t].tolist(), w[t].tolist()):
                if abs(v - rt["w"][i]) > 1e-5 * max(1.0, abs(v)):
                    raise RuntimeError("%s layer %d token %d: weight %g vs %g" % (
                        what, L, t, v, rt["w"][i]))
        out[L] = r
    return out


# --------------------------------------------------------------------------
# llama.cpp cross-check

LLAMA_WORKER = r'''
import json, sys
import numpy as np
import llama_cpp
job = json.load(open(sys.argv[1]))
llm = llama_cpp.Llama(model_path=job["gguf"], n_ctx=job["n_ctx"],
                      n_batch=job["n_ctx"], n_ubatch=job["n_ctx"],
                      n_threads=2, logits_all=True, verbose=False,
                      type_k=0, type_v=0)  # F32 KV cache
rows = []
for s in job["seqs"]:
    llm.reset()
    llm.eval(s)
    rows.append(np.array(llm.scores[:len(s)], dtype=np.float32))
if job.get("decode"):
    s = job["decode"]
    n = job["prompt_len"]
    llm.reset()
    llm.eval(s[:n])
    for t in range(n, len(s)):
        llm.eval([s[t]])
    rows.append(np.array(llm.scores[:len(s)], dtype=np.float32))
np.concatenate(rows).astype("<f4").tofile(job["out"])
print(llama_cpp.__version__)
'''


def copy_with_placeholder_vocab(src, dst, n_vocab):
    """Copy of a GGUF with a placeholder SentencePiece-style vocab: llama.cpp
    will not load a model without tokenizer keys. Token ids are fed
    directly, so the vocab content does not matter (it needs <0x0A>)."""
    import gguf

    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, field_value(r.fields["general.architecture"]))
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        w.add_key_value(k, field_value(f), f.types[0])
    if "deepseek2.attention.q_lora_rank" not in r.fields:
        # This llama.cpp decides "no q-LoRA" by the layer count (27 or 26,
        # i.e. V2-Lite) while loading hparams and otherwise requires the key;
        # with the key present and 0 it uses attn_q. Only in the copy for
        # llama.cpp: the fixture files follow the converter (no key).
        w.add_uint32("deepseek2.attention.q_lora_rank", 0)
    add_placeholder_vocab(w, n_vocab)
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        data = np.array(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            w.add_tensor(t.name, data.reshape(shape))
        else:
            w.add_tensor(t.name, data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_cpp_logits(python, gguf_path, seqs, n_vocab, decode=None):
    with tempfile.TemporaryDirectory() as td:
        model = os.path.join(td, "m.gguf")
        copy_with_placeholder_vocab(gguf_path, model, n_vocab)
        job = os.path.join(td, "job.json")
        out = os.path.join(td, "out.bin")
        with open(job, "w") as f:
            json.dump({"gguf": model, "seqs": seqs, "out": out, "n_ctx": 128,
                       "decode": decode, "prompt_len": PROMPT_LEN}, f)
        script = os.path.join(td, "worker.py")
        with open(script, "w") as f:
            f.write(LLAMA_WORKER)
        res = subprocess.run([python, script, job], capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise RuntimeError("llama.cpp worker failed:\n" + res.stderr[-4000:])
        a = np.fromfile(out, dtype="<f4").reshape(-1, n_vocab)
        return a, res.stdout.strip()


def patched_group_rule(model):
    """Makes transformers' V2 group-limited router score groups by the sum of
    their two largest scores (llama.cpp's rule for any expert_group_count > 1)
    instead of V2's max. Returns an undo function."""
    import torch

    undo = []
    for layer in model.model.layers:
        g = getattr(layer.mlp, "gate", None)
        if g is None:
            continue

        def fwd(hidden_states, g=g):
            hs = hidden_states.view(-1, g.hidden_dim)
            logits = torch.nn.functional.linear(hs.float(), g.weight.float())
            scores = logits.softmax(dim=-1, dtype=torch.float32)
            gsz = g.num_experts // g.num_group
            gs = scores.view(-1, g.num_group, gsz).topk(2, dim=-1)[0].sum(-1)
            gi = torch.topk(gs, k=g.topk_group, dim=-1, sorted=False)[1]
            gm = torch.zeros_like(gs).scatter_(1, gi, 1)
            sm = gm.unsqueeze(-1).expand(-1, g.num_group, gsz).reshape(-1, g.num_experts)
            sc = scores.masked_fill(~sm.bool(), 0.0)
            w, i = torch.topk(sc, k=g.top_k, dim=-1, sorted=False)
            return logits, w * g.routed_scaling_factor, i
        g.forward = fwd
        undo.append(g)

    def restore():
        for g in undo:
            del g.forward
    return restore


# --------------------------------------------------------------------------

def save_f32(path, a):
    np.ascontiguousarray(a, dtype="<f4").tofile(path)


def experts_json(p, seqs, gates_per_seq, routes_per_seq):
    """Per sequence, per MoE layer, per token: ids (transformers' top-k
    order), weights (same order), selection margin."""
    doc = {"top_k": p["top_k"], "n_routed_experts": p["n_routed"],
           "moe_layers": list(range(p["first_k_dense"], p["layers"])),
           "sequences": []}
    for s, gates, routes in zip(seqs, gates_per_seq, routes_per_seq):
        ent = {"len": len(s), "layers": {}}
        for L, (x, ids, w) in gates.items():
            r = routes[L]
            ent["layers"][str(L)] = {
                "ids": ids.tolist(),
                "weights": [[float(v) for v in row] for row in w],
                "margin": [float(np.float32(rt["margin"])) for rt in r],
            }
            if p["n_group"] > 1:
                ent["layers"][str(L)]["group_margin"] = [
                    float(np.float32(rt["gmargin"])) for rt in r]
        doc["sequences"].append(ent)
    return doc


def routing_stats(p, routes_per_seq):
    E = p["n_routed"]
    st = {"expert_counts": {}, "min_margin": None, "min_group_margin": None,
          "tokens": 0, "changed_by_groups": 0, "changed_by_bias": 0}
    mins, gmins = [], []
    for routes in routes_per_seq:
        for L, r in routes.items():
            c = st["expert_counts"].setdefault(str(L), [0] * E)
            for rt in r:
                for i in rt["ids"]:
                    c[i] += 1
                st["tokens"] += 1
                st["changed_by_groups"] += int(rt["nogroup"] != rt["ids"])
                st["changed_by_bias"] += int(rt["nobias"] != rt["ids"])
                mins.append(rt["margin"])
                if rt["gmargin"] is not None:
                    gmins.append(rt["gmargin"])
    st["min_margin"] = float(min(mins))
    if gmins:
        st["min_group_margin"] = float(min(gmins))
    return st


def model_config_entry(p, model):
    re_ = model.model.rotary_emb
    m = 0.1 * p["mscale_all_dim"] * math.log(p["factor"]) + 1.0
    return {
        "hf_class": type(model).__name__,
        "model_type": model.config.model_type,
        "n_vocab": p["vocab"], "n_embd": p["hidden"], "n_layer": p["layers"],
        "n_head": p["heads"], "q_lora_rank": p["q_lora_rank"],
        "kv_lora_rank": p["kv_lora_rank"],
        "qk_nope_head_dim": p["qk_nope_head_dim"],
        "qk_rope_head_dim": p["qk_rope_head_dim"],
        "v_head_dim": p["v_head_dim"], "n_ff": p["intermediate"],
        "n_ff_exp": p["moe_intermediate"],
        "first_k_dense_replace": p["first_k_dense"],
        "n_routed_experts": p["n_routed"], "n_shared_experts": p["n_shared"],
        "num_experts_per_tok": p["top_k"], "topk_method": p["topk_method"],
        "scoring_func": p["scoring"], "n_group": p["n_group"],
        "topk_group": p["topk_group"], "norm_topk_prob": p["norm_topk"],
        "routed_scaling_factor": p["scale"],
        "e_score_correction_bias": p["family"] == "v3",
        "rms_norm_eps": p["eps"], "rope_theta": p["theta"],
        "max_position_embeddings": p["max_pos"],
        "rope_scaling": {"type": "yarn", "factor": p["factor"],
                         "original_max_position_embeddings": p["orig_ctx"],
                         "beta_fast": p["beta_fast"], "beta_slow": p["beta_slow"],
                         "mscale": p["mscale"],
                         "mscale_all_dim": p["mscale_all_dim"]},
        "rope_pairing": "interleaved",
        "num_nextn_predict_layers": p["mtp"],
        "tied_embeddings": False,
        "seed": p["seed"],
        "derived": {
            "yarn_m": m,
            "softmax_scale": float(model.model.layers[0].self_attn.scaling),
            "softmax_scale_formula": "qk_head_dim^-0.5 * yarn_m^2, yarn_m = "
                                     "0.1*mscale_all_dim*ln(factor)+1",
            "rope_inv_freq": [float(x) for x in re_.inv_freq.tolist()],
            "rope_cos_sin_scale": float(re_.attention_scaling),
            "gguf_yarn_log_multiplier": float(np.float32(0.1 * p["mscale_all_dim"])),
        },
    }


def build_model(spec, out_dir, args, manifest, llama_report):
    import torch

    p = params(spec)
    name = p["name"]
    mdir = os.path.join(out_dir, name)
    if os.path.isdir(mdir):
        shutil.rmtree(mdir)
    os.makedirs(mdir)
    model = make_hf_model(p)

    # Weights and sequences: the first attempt whose routing uses every
    # expert of every MoE layer and has no near-tie is kept (deterministic).
    for attempt in range(20):
        ckpt = random_ckpt(p, p["seed"] + 1000 * attempt)
        rng = np.random.default_rng(p["seed"] + 7 + 1000 * attempt)
        seqs = [rng.integers(0, p["vocab"], size=n).tolist() for n in SEQ_LENS]
        load_ckpt(model, p, ckpt)
        routes = []
        for s in seqs:
            _, gates, _ = run_onepass(model, p, s)
            routes.append(check_routing(p, ckpt, gates, name))
        st = routing_stats(p, routes)
        all_used = all(min(c) > 0 for c in st["expert_counts"].values())
        ok_margin = st["min_margin"] >= MIN_MARGIN and (
            st["min_group_margin"] is None or st["min_group_margin"] >= MIN_MARGIN)
        if all_used and ok_margin:
            break
        print("%s: attempt %d rejected (expert counts %s, min margin %.3g)"
              % (name, attempt, st["expert_counts"], st["min_margin"]))
    else:
        raise RuntimeError(name + ": no acceptable weights")

    # hf/: config.json as transformers writes it, weights BF16 (bias F32)
    from safetensors import safe_open
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as td:
        model.save_pretrained(td)
        with open(os.path.join(td, "config.json")) as f:
            config_json = json.load(f)
        with safe_open(os.path.join(td, "model.safetensors"), "pt") as f:
            hf_names = set(f.keys())
    if hf_names != set(main_layer_names(p, ckpt)):
        raise RuntimeError("checkpoint names differ from transformers': %s" %
                           sorted(hf_names ^ set(main_layer_names(p, ckpt))))
    config_json["dtype"] = "bfloat16"
    hf_dir = os.path.join(mdir, "hf")
    os.makedirs(hf_dir)
    write_json(os.path.join(hf_dir, "config.json"), config_json)
    save_file({k: to_storage(k, ckpt[k]) for k in sorted(ckpt)},
              os.path.join(hf_dir, "model.safetensors"), metadata={"format": "pt"})

    weight_sets = {"ref": ckpt}
    files = {"hf": name + "/hf"}
    gguf_types = {}
    tmp_dir = tempfile.mkdtemp(prefix="dsfx-")
    paths = {}
    for key in tuple(p["files"]) + tuple(p.get("check_only", ())):
        committed = key in p["files"]
        if key in ("hf_fp8", "hf_fp8_b16"):
            ws = WEIGHT_SET[key]
            weight_sets[ws] = write_fp8_dir(os.path.join(mdir, FILE_DIRS[key]),
                                            ckpt, config_json, FP8_BLOCK[ws])
            files[key] = name + "/" + FILE_DIRS[key]
        elif key.startswith("gguf_"):
            layout = "legacy" if key.endswith("legacy") else "mla"
            wtype = "q8_0" if key.endswith("q8_0") else "f32"
            path = os.path.join(mdir if committed else tmp_dir, FILE_DIRS[key])
            paths[key] = path
            tens = gguf_tensors(p, ckpt, layout)
            types = write_gguf(path, p, tens, layout, wtype)
            if committed:
                gguf_types[key] = {k: v.name for k, v in sorted(types.items())}
            back = read_gguf(path, p, layout, wtype, types)
            ck = ckpt_from_gguf(p, back, ckpt)
            if wtype == "f32":
                for k in main_layer_names(p, ckpt):
                    if not np.array_equal(ck[k], ckpt[k]):
                        raise RuntimeError("%s: %s differs after round trip" % (key, k))
            else:
                weight_sets["q8_0"] = ck
            if committed:
                files[key] = name + "/" + FILE_DIRS[key]

    entry = {"name": name, "arch": "deepseek2",
             "config": model_config_entry(p, model), "files": files,
             "sequences": seqs, "n_vocab": p["vocab"],
             "logits": {}, "decode": {"prompt_len": PROMPT_LEN,
                                      "sequence_index": DECODE_SEQ, "logits": {}},
             "experts": {}, "hidden": {"sequence_index": HIDDEN_SEQ,
                                       "n_rows": p["layers"] + 2, "files": {}},
             "checks": {}}
    if gguf_types:
        entry["gguf_tensor_types"] = {k: {n: t for n, t in v.items() if t != "F32"}
                                      for k, v in gguf_types.items()}

    refs = {}
    for ws in ("ref", "fp8", "fp8_b16", "q8_0"):
        if ws not in weight_sets:
            continue
        load_ckpt(model, p, weight_sets[ws])
        lgs, gates_l, routes_l = [], [], []
        hidden = None
        for i, s in enumerate(seqs):
            lg, gates, hid = run_onepass(model, p, s, want_hidden=(i == HIDDEN_SEQ))
            lgs.append(lg)
            gates_l.append(gates)
            routes_l.append(check_routing(p, weight_sets[ws], gates, name + "/" + ws))
            if hid is not None:
                hidden = hid
        dec, dgates = run_decode(model, p, seqs[DECODE_SEQ], PROMPT_LEN)
        one = lgs[DECODE_SEQ]
        ddiff = float(np.abs(dec - one).max())
        same_route = all(np.array_equal(np.sort(dgates[L][1], 1),
                                        np.sort(gates_l[DECODE_SEQ][L][1], 1))
                         for L in dgates)
        if not same_route or ddiff > 1e-4 * float(np.abs(one).max()):
            raise RuntimeError("%s/%s: decode differs from one pass (%g, routes "
                               "equal %s)" % (name, ws, ddiff, same_route))
        save_f32(os.path.join(mdir, "logits-%s.bin" % ws), np.concatenate(lgs))
        save_f32(os.path.join(mdir, "decode-%s.bin" % ws), dec)
        save_f32(os.path.join(mdir, "hidden-%s.bin" % ws), hidden)
        write_json(os.path.join(mdir, "experts-%s.json" % ws),
                   experts_json(p, seqs, gates_l, routes_l), indent=None)
        st = routing_stats(p, routes_l)
        refs[ws] = (np.concatenate(lgs), routes_l)
        entry["checks"][ws] = {
            "decode_vs_onepass_max_abs_diff": ddiff,
            "decode_routes_equal_onepass": same_route,
            "max_abs_logit": float(np.abs(np.concatenate(lgs)).max()),
            "routing": st,
        }
        print("%s/%s: decode vs one-pass max |diff| %.3g; expert counts %s; "
              "min margin %.3g; changed by groups %d, by bias %d of %d" % (
                  name, ws, ddiff, st["expert_counts"], st["min_margin"],
                  st["changed_by_groups"], st["changed_by_bias"], st["tokens"]))
    for key in files:
        ws = WEIGHT_SET[key]
        entry["logits"][key] = "%s/logits-%s.bin" % (name, ws)
        entry["decode"]["logits"][key] = "%s/decode-%s.bin" % (name, ws)
        entry["experts"][key] = "%s/experts-%s.json" % (name, ws)
        entry["hidden"]["files"][key] = "%s/hidden-%s.bin" % (name, ws)
    for ws in refs:
        if ws != "ref":
            d = float(np.abs(refs[ws][0] - refs["ref"][0]).max())
            entry["checks"][ws]["logits_vs_ref_max_abs_diff"] = d
            flips = sum(int(a["ids"] != b["ids"])
                        for ra, rb in zip(refs[ws][1], refs["ref"][1])
                        for L in ra for a, b in zip(ra[L], rb[L]))
            entry["checks"][ws]["routing_differs_from_ref_tokens"] = flips

    # the hf/ directory, loaded fresh by transformers, must give the same
    # logits bit for bit (its MTP layer is reported as unexpected and skipped)
    import logging as _logging
    _logging.getLogger("transformers.modeling_utils").setLevel(_logging.ERROR)
    cls = type(model)
    reloaded = cls.from_pretrained(hf_dir, dtype=torch.float32)
    reloaded.eval()
    for i, s in enumerate(seqs):
        lg, _, _ = run_onepass(reloaded, p, s)
        start = sum(len(x) for x in seqs[:i])
        if not np.array_equal(lg, refs["ref"][0][start:start + len(s)]):
            raise RuntimeError(name + ": reloaded hf/ differs")
    entry["checks"]["ref"]["hf_dir_reload_bit_exact"] = True

    if args.llama_python:
        lrep = {}
        for key in paths:
            ws = WEIGHT_SET[key]
            ll, ver = llama_cpp_logits(args.llama_python, paths[key],
                                       seqs, p["vocab"], decode=seqs[DECODE_SEQ])
            n1 = sum(len(s) for s in seqs)
            ref = refs[ws][0]
            one, dec = ll[:n1], ll[n1:]
            d = float(np.abs(one - ref).max())
            dd = float(np.abs(dec - ref[len(seqs[0]):]).max()) if DECODE_SEQ == 1 else None
            rel = d / float(np.abs(ref).max())
            agree = float((one.argmax(1) == ref.argmax(1)).mean())
            rowd = np.abs(one - ref).max(axis=1)
            rep = {"llama_cpp_python": ver, "max_abs_diff": d, "rel": rel,
                   "row_max_abs_diff_median": float(np.median(rowd)),
                   "rows_with_diff_over_0.1": int((rowd > 0.1).sum()),
                   "decode_max_abs_diff": dd, "argmax_agreement": agree}
            msg = ("%s: llama.cpp on %s vs reference: max |diff| %.3g (%.2g of "
                   "max |logit|), decode %.3g, argmax agreement %.3f" % (
                       name, key, d, rel, dd, agree))
            if p["topk_method"] == "group_limited_greedy":
                # llama.cpp scores groups by top-2 sum for any model with
                # groups; compare with transformers using that rule too
                load_ckpt(model, p, weight_sets[ws])
                restore = patched_group_rule(model)
                alt = np.concatenate([run_onepass(model, p, s)[0] for s in seqs])
                restore()
                da = float(np.abs(one - alt).max())
                rep["max_abs_diff_vs_top2sum_group_rule"] = da
                msg += "; vs transformers with top-2-sum group rule %.3g" % da
            if key not in files:
                rep["file_not_committed"] = True
            print(msg)
            lrep[key] = rep
            if key == "gguf_q8_0":
                lname = "logits-q8_0-llamacpp.bin"
                save_f32(os.path.join(mdir, lname), one)
                entry["logits_llamacpp"] = {"gguf_q8_0": name + "/" + lname}
        entry["llama_cpp"] = lrep
        llama_report.append((name, lrep))
    shutil.rmtree(tmp_dir)
    manifest["models"].append(entry)


NOTES = [
    "All weights except the V3 router bias are bf16-exact; hf/ stores them as "
    "BF16 and the F32 GGUF files hold the same values, so these files share "
    "the 'ref' reference outputs.",
    "Reference outputs come from transformers (float32, eager attention) "
    "with the exact weights of each file: ref = bf16 values, fp8/fp8_b16 = "
    "fp8 values times their block scale (one fp32 multiply), q8_0 = the GGUF "
    "read back and dequantised (gguf.quants.dequantize).",
    "Formats: logits-*.bin float32 LE, sequences in order, each [len x "
    "n_vocab], from one causal forward pass; decode-*.bin float32 LE [len x "
    "n_vocab] for sequences[decode.sequence_index]: rows 0..prompt_len-1 from "
    "one pass over the prompt with the cache on, then one row per token fed "
    "alone with the cache; hidden-*.bin float32 LE [n_rows x len x n_embd] for "
    "sequences[hidden.sequence_index]: row 0 = token embeddings, row 1+l = "
    "output of decoder layer l (residual stream), last row = after the final "
    "RMSNorm.",
    "experts-*.json: sequences[i].layers[\"<layer>\"] has ids [len x top_k] "
    "and weights [len x top_k] (the final per-expert weights, already "
    "normalised and scaled; same order as ids, which is transformers' "
    "topk(sorted=False) order: compare as sets of (id, weight) pairs), and "
    "margin [len]: the gap in selection score (softmax probability for "
    "softmax routing, sigmoid + bias for noaux_tc) between the last chosen "
    "expert and the best unchosen eligible one; group_margin likewise for the "
    "group choice. Tokens whose margin is below the comparison tolerance may "
    "legitimately choose differently.",
    "Every expert choice was re-derived with an independent float64 "
    "implementation of spec section 3.3 from the router's input and must "
    "match transformers exactly (ids) and to 1e-5 (weights).",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--llama-python", default=DEFAULT_LLAMA_PY)
    ap.add_argument("--no-llama", action="store_true")
    args = ap.parse_args()
    if args.no_llama or not os.path.exists(args.llama_python or ""):
        args.llama_python = None

    import torch
    import transformers

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    manifest = {
        "description": "Tiny random DeepSeek-V2/V3 style models (MLA + MoE) with "
                       "HF safetensors (BF16, FP8 block-scaled) and deepseek2 "
                       "GGUF files, and float32 transformers references for "
                       "each file's exact weights. See docs/DEEPSEEK_FIXTURES.md.",
        "generator": "tools/make_deepseek_fixtures.py",
        "versions": {"torch": torch.__version__.split("+")[0],
                     "transformers": transformers.__version__,
                     "numpy": np.__version__},
        "notes": NOTES,
        "models": [],
    }
    llama_report = []
    for spec in MODELS:
        build_model(spec, args.out, args, manifest, llama_report)
    write_json(os.path.join(args.out, "manifest.json"), manifest, indent=1)
    print("wrote", os.path.join(args.out, "manifest.json"))


if __name__ == "__main__":
    main()
