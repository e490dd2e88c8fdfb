#!/usr/bin/env python3
"""Writes the kernel test fixtures in tests/data/kern/ from the python `gguf`
package (gguf.quants), an implementation independent of deepc's C code.

  <TYPE>.bin / <TYPE>.f32    random raw blocks of TYPE (random bytes, with
                             finite random f16 scale fields: normals,
                             subnormals, zero, both signs) and the floats
                             gguf.quants.dequantize makes of them.
                             TYPE in Q4_0 Q4_1 Q8_0 Q4_K Q5_K Q6_K F16 BF16.
  quant_in.f32               input floats for the quantizer check: random
                             blocks of varied scale plus edge blocks (zeros,
                             constant, exact .5 ties after scaling).
  quant_<TYPE>.bin           gguf.quants.quantize(quant_in, TYPE) for
                             Q8_0 Q4_0 Q4_1 F16 BF16.

tests/test_kern.c checks deepc's to_float and kern_quantize_row_ref against
these bit for bit.  Run with the tools venv:
    /opt/deepc-tools/bin/python tools/gen_kern_fixtures.py [outdir]
The output is deterministic (fixed seed); the files are committed (~60 KB).
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES, quants

RNG = np.random.default_rng(20240611)


def rand_f16_bits(n, max_exp=24):
    """Finite f16 bit patterns: random sign, exponent field 0..max_exp
    (0 = subnormal or zero), random mantissa; a few exact zeros."""
    sign = RNG.integers(0, 2, n, dtype=np.uint16) << 15
    exp = RNG.integers(0, max_exp + 1, n, dtype=np.uint16) << 10
    man = RNG.integers(0, 1024, n, dtype=np.uint16)
    bits = sign | exp | man
    bits[RNG.random(n) < 0.03] = 0
    return bits


# byte offsets of the f16 fields in each block (spec/MODEL.md 11)
F16_FIELDS = {
    T.Q4_0: [0],
    T.Q4_1: [0, 2],
    T.Q8_0: [0],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
}


def raw_blocks(qtype, n_blocks):
    _, type_size = GGML_QUANT_SIZES[qtype]
    b = RNG.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        # K-quant d/dmin: keep exponents moderate so d*sc*q stays well inside f32
        h = rand_f16_bits(n_blocks, 20 if qtype in (T.Q4_K, T.Q5_K, T.Q6_K) else 24)
        b[:, off:off + 2] = h.view(np.uint8).reshape(n_blocks, 2)
    return b.reshape(-1)


def quant_input():
    blocks = []
    for i in range(28):  # random blocks, scales from 1e-4 to 1e3
        scale = 10.0 ** RNG.uniform(-4, 3)
        blocks.append((RNG.standard_normal(32) * scale).astype(np.float32))
    blocks.append(np.zeros(32, np.float32))
    blocks.append(np.full(32, 0.75, np.float32))
    # amax 127 -> Q8_0 d = 1: x * (1/d) hits exact .5 ties (roundf rounds away)
    t = np.array([127.0, -0.5, 0.5, 1.5, -1.5, 2.5, -2.5, 3.5] + [k + 0.5 for k in range(-12, 12)],
                 np.float32)
    blocks.append(t)
    # Q4_0: max -8 -> d = 1, values on the trunc(x + 8.5) boundaries
    blocks.append(np.array([-8.0] + [(k % 16) - 8.5 for k in range(31)], np.float32))
    return np.concatenate(blocks)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests",
                                                             "data", "kern")
    os.makedirs(out, exist_ok=True)
    total = 0

    def write(name, arr):
        nonlocal total
        data = np.ascontiguousarray(arr).tobytes()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        total += len(data)

    for qtype, n_blocks in [(T.Q4_0, 48), (T.Q4_1, 48), (T.Q8_0, 48), (T.Q4_K, 6), (T.Q5_K, 6),
                            (T.Q6_K, 6)]:
        raw = raw_blocks(qtype, n_blocks)
        y = quants.dequantize(raw, qtype).astype(np.float32).reshape(-1)
        write(qtype.name + ".bin", raw)
        write(qtype.name + ".f32", y.astype("<f4"))

    h = rand_f16_bits(512)  # F16: every finite class, both signs
    write("F16.bin", h.astype("<u2"))
    write("F16.f32", quants.dequantize(h.view(np.uint8), T.F16).astype("<f4").reshape(-1))

    bf = RNG.integers(0, 65536, 512, dtype=np.uint32).astype(np.uint16)
    bf[(bf & 0x7f80) == 0x7f80] &= 0xbfff  # no inf/nan: clear the top exponent bit
    write("BF16.bin", bf.astype("<u2"))
    write("BF16.f32", quants.dequantize(bf.view(np.uint8), T.BF16).astype("<f4").reshape(-1))

    x = quant_input()
    write("quant_in.f32", x.astype("<f4"))
    for qtype in (T.Q8_0, T.Q4_0, T.Q4_1, T.F16, T.BF16):
        q = quants.quantize(x.reshape(1, -1), qtype)
        write("quant_" + qtype.name + ".bin", q.view(np.uint8).reshape(-1))

    print(f"wrote {total} bytes to {os.path.abspath(out)}")


if __name__ == "__main__":
    main()
