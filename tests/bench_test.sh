#!/usr/bin/env bash
# `deepc bench` options: the memory-bandwidth probe (--membw), the bandwidth
# share of decode (--membw-gbs), --ctx-depth, JSON output and exit code 2 on
# usage errors.  No timing is asserted: only that the numbers exist, are
# positive and agree with each other (GB/s = bytes/token x tokens/s / 1e9,
# share = GB/s / bandwidth), recomputed here in Python.
# Prints PASS:/FAIL: lines; run from the repository root: bash tests/bench_test.sh build/deepc
set -u
cd "$(dirname "$0")/.."
deepc=${1:-build/deepc}
dense=tests/data/dense/qwen2_gqa/model-q8_0.gguf
ds=tests/data/deepseek/v2_greedy/model-q8_0.gguf
pass() { echo "PASS: bench/$1"; }
fail() { echo "FAIL: bench/$1: $2"; }
[ -x "$deepc" ] || { fail binary "$deepc not built"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# check NAME PYTHON-EXPR: the last stdout line parsed as JSON is `j`; the expression must hold.
check() {
    if python3 -c "import json,math,sys; j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); sys.exit(0 if ($2) else 1)" "$out" 2>/dev/null; then
        pass "$1"
    else
        fail "$1" "$(tail -c 600 "$out")"
    fi
}

# 1. Bandwidth alone, one thread (small buffer: the test stays short and light).
"$deepc" bench --membw -t 1 --membw-mib 64 --json >"$out" 2>&1
check membw_json "j['membw_gbs'] > 0 and j['membw_median_gbs'] > 0 and j['membw_gbs'] >= j['membw_median_gbs'] and j['threads'] == 1 and j['buffer_bytes'] == 64 << 20 and j['passes'] >= 1 and j['reader'] in ('ref', 'avx2', 'avx512', 'avx512pf') and 1 <= j['readers'] <= 4"
"$deepc" bench --membw -t 2 --membw-mib 16 >"$out" 2>&1
if grep -qE '^read bandwidth: [0-9.]+ GB/s best, .* 16 MiB, 2 threads \((ref|avx2|avx512|avx512pf) loop, fastest of [1234]\)$' "$out"; then pass membw_text; else fail membw_text "$(cat "$out")"; fi

# 2. A model with a given bandwidth: achieved GB/s and its share follow from the other fields.
"$deepc" bench "$dense" -p 8 -n 4 --reps 1 -t 1 --membw-gbs 12.5 --json >"$out" 2>&1
check model_share "j['decode_tps'] > 0 and j['prompt_tps'] > 0 and j['weight_bytes_per_token'] > 0 and j['membw_gbs'] == 12.5 and j['membw_source'] == 'given' and math.isclose(j['decode_gbs'], j['weight_bytes_per_token'] * j['decode_tps'] / 1e9, rel_tol=1e-9) and math.isclose(j['decode_bw_pct'], 100 * j['decode_gbs'] / 12.5, rel_tol=1e-9)"
# without a bandwidth there is no share
"$deepc" bench "$dense" -p 4 -n 2 --reps 1 -t 1 --json >"$out" 2>&1
check model_no_share "'decode_bw_pct' not in j and 'membw_gbs' not in j and j['decode_gbs'] > 0"

# 3. --membw with a model measures first, with the same threads.
"$deepc" bench "$dense" -p 4 -n 2 --reps 1 -t 1 --membw --membw-mib 16 --json >"$out" 2>&1
check model_membw "j['membw_source'] == 'measured' and j['membw_gbs'] > 0 and math.isclose(j['decode_bw_pct'], 100 * j['decode_gbs'] / j['membw_gbs'], rel_tol=1e-9)"

# 4. Decode at a filled cache (latent-attention model): the fill is timed once, decode runs after it.
"$deepc" bench "$ds" -p 0 -n 3 --reps 2 -t 1 --ctx-depth 40 --json >"$out" 2>&1
check ctx_depth "j['ctx_depth'] == 40 and j['ctx_fill_s'] > 0 and j['decode_tps'] > 0 and j['prompt_tps'] == 0 and len(j['decode_tps_reps']) == 2 and max(j['decode_tps_reps']) == j['decode_tps']"
"$deepc" bench "$ds" -p 0 -n 3 --reps 1 -t 1 --ctx-depth 40 >"$out" 2>&1
if grep -qE '^cache +40 positions filled in ' "$out" && grep -qE '^decode +3 tokens at depth 40: ' "$out"; then
    pass ctx_depth_text; else fail ctx_depth_text "$(cat "$out")"; fi

# 5. --repack: the weights are packed (on a CPU whose kernels have a packed form) and the JSON says how many
# bytes; without it nothing is.  (That packed outputs are right is checked against PyTorch in test_dense and
# test_deepseek, and bit for bit against the kernels' vec_dot in test_kern.)
"$deepc" bench "$dense" -p 4 -n 2 --reps 1 -t 1 --repack --json >"$out" 2>&1
check repack_json "j['load_s'] >= 0 and (j['packed_bytes'] > 0 or j['kernels'] != 'avx512') and j['decode_tps'] > 0"
"$deepc" bench "$dense" -p 4 -n 2 --reps 1 -t 1 --json >"$out" 2>&1
check no_repack_json "j['packed_bytes'] == 0"

# 6. --products: every matrix of the file times one token, back to back.  Which matrices and how many bytes is
# recomputed here from the GGUF header (a reader of its own below, not deepc's): every 2-D tensor but the
# embedding table, plus the embedding table itself when the file has no output.weight (a tied head), in all and
# per type; for a MoE file also the bytes of all tensors of 2 or more dimensions (the experts are 3-D) and those
# of attn_kv_b.
gguf_matrices() {
    python3 - "$1" <<'PY'
import struct, sys
BLK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210),
       30: (1, 2)}
NAME = {0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 8: 'Q8_0', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 30: 'BF16'}
f = open(sys.argv[1], 'rb')
def rd(fmt):
    return struct.unpack('<' + fmt, f.read(struct.calcsize('<' + fmt)))[0]
def rstr():
    return f.read(rd('Q')).decode()
SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
def skip(t):
    if t == 8: rstr()
    elif t == 9:
        at, n = rd('I'), rd('Q')
        for _ in range(n): skip(at)
    else: rd(SCALAR[t])
assert f.read(4) == b'GGUF'
rd('I'); nt, nkv = rd('Q'), rd('Q')
for _ in range(nkv):
    rstr(); skip(rd('I'))
mats, nbytes, names = 0, 0, {}
for _ in range(nt):
    name = rstr(); nd = rd('I'); dims = [rd('Q') for _ in range(nd)]; ty = rd('I'); rd('Q')
    be, bb = BLK[ty]
    size = dims[0] // be * bb
    for d in dims[1:]: size *= d
    names[name] = (nd, size, ty)
tied = 'output.weight' not in names
all_bytes = kvb = 0
for name, (nd, size, ty) in names.items():
    if name == 'token_embd.weight' and not tied: continue
    if nd == 2: mats += 1; nbytes += size
    if nd >= 2: all_bytes += size
    if 'attn_kv_b' in name: kvb += size
per_type = {}
for name, (nd, size, ty) in names.items():
    if nd == 2 and (name != 'token_embd.weight' or tied):
        n, b = per_type.get(NAME[ty], (0, 0)); per_type[NAME[ty]] = (n + 1, b + size)
print(mats, nbytes, all_bytes, kvb, ','.join(f'{k}:{n}:{b}' for k, (n, b) in sorted(per_type.items())))
PY
}
read -r want_mats want_bytes _ _ want_types < <(gguf_matrices "$dense")
for t in 1 2; do
    "$deepc" bench "$dense" -p 0 -n 2 --reps 3 -t $t --products --membw-gbs 10 --json >"$out" 2>&1
    check products_t$t "j['products']['n_mats'] == $want_mats and j['products']['bytes'] == $want_bytes and j['products']['passes'] == 3 and 0 < j['products']['best_s'] <= j['products']['median_s'] and math.isclose(j['products']['gbs'], j['products']['bytes'] / j['products']['best_s'] / 1e9, rel_tol=1e-9) and math.isclose(j['products']['bw_pct'], 10 * j['products']['gbs'], rel_tol=1e-9) and sum(t['bytes'] for t in j['products']['types']) == $want_bytes and sum(t['n_mats'] for t in j['products']['types']) == $want_mats and sorted(f\"{t['type']}:{t['n_mats']}:{int(t['bytes'])}\" for t in j['products']['types']) == '$want_types'.split(',') and all(0 < t['s'] <= j['products']['best_s'] for t in j['products']['types'])"
done
# the real SmolLM2 file: two weight types, and its head is the embedding table (tied)
real=.deps/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$real" ]; then
    read -r want_mats want_bytes _ _ want_types < <(gguf_matrices "$real")
    "$deepc" bench "$real" -p 0 -n 1 --reps 1 -t 2 --products --json >"$out" 2>&1
    check products_real "j['products']['n_mats'] == $want_mats and j['products']['bytes'] == $want_bytes and sorted(f\"{t['type']}:{t['n_mats']}:{int(t['bytes'])}\" for t in j['products']['types']) == '$want_types'.split(',')"
else
    fail products_real "$real missing (tools/setup.sh fetches it)"
fi
read -r want_mats want_bytes _ _ _ < <(gguf_matrices "$dense")
# the packed weights give the same count and bytes; a MoE model times all its experts (more than a token reads)
"$deepc" bench "$dense" -p 0 -n 1 --reps 1 -t 2 --repack --products --json >"$out" 2>&1
check products_repack "j['products']['n_mats'] == $want_mats and j['products']['bytes'] == $want_bytes"
# (all of them: every expert, and of attn_kv_b the value half and not the key half multiplied transposed)
read -r _ _ all_bytes kvb_bytes _ < <(gguf_matrices "$ds")
"$deepc" bench "$ds" -p 0 -n 1 --reps 2 -t 2 --products --json >"$out" 2>&1
check products_moe "$all_bytes - $kvb_bytes <= j['products']['bytes'] <= $all_bytes and j['products']['bytes'] > j['weight_bytes_per_token'] and sum(t['bytes'] for t in j['products']['types']) == j['products']['bytes'] and sum(t['n_mats'] for t in j['products']['types']) == j['products']['n_mats']"
"$deepc" bench "$dense" -p 0 -n 1 --reps 2 -t 1 --products >"$out" 2>&1
if grep -qE '^products [0-9]+ matrices x 1 token, back to back: [0-9.]+ MB, best [0-9.]+ ms' "$out"; then
    pass products_text; else fail products_text "$(cat "$out")"; fi

# 7. Usage errors: exit code 2, nothing on stdout.
bad=0
while IFS= read -r args; do
    # shellcheck disable=SC2086
    "$deepc" bench $args >"$out" 2>/dev/null
    rc=$?
    if [ "$rc" -ne 2 ] || [ -s "$out" ]; then
        echo "  deepc bench $args: exit code $rc (want 2), stdout $(wc -c <"$out") bytes"
        bad=1
    fi
done <<ARGS

--json
-t 1
--membw -t 0
--membw -t x
--membw -t 2x
--membw -t
--membw --membw-mib 0
--membw --membw-mib -5
--membw --bogus
--membw --membw-gbs 10 $dense
$dense --membw-gbs 0
$dense --membw-gbs abc
$dense --repack 1
$dense --membw-gbs nan
$dense -p -1
$dense -n 1e3
$dense --ctx-depth -4
$dense --reps 0
$dense --reps 101
$dense $dense
ARGS
if [ "$bad" -eq 0 ]; then pass usage_errors; else fail usage_errors "see above"; fi
# A model that does not load is a run-time failure (1), not a usage error.
"$deepc" bench /nonexistent.gguf -p 1 -n 1 >"$out" 2>&1
rc=$?
if [ "$rc" -eq 1 ]; then pass missing_model; else fail missing_model "exit code $rc"; fi
