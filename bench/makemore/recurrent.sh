#!/usr/bin/env bash
# bench/makemore/recurrent.sh — makemore.py's RNN and GRU: nnrun's training step against
# PyTorch's (the plain nn.Module cells of tests/parity/makemore.py in a Python loop over the
# 16 positions + torch.optim.AdamW, batch 32), one thread each, interleaved: every round
# runs nnrun and PyTorch for each model in turn (fresh processes), and the table shows the
# medians over rounds of each process's median µs per step.  PyTorch in the fastest set-up
# of BENCHMARKING.md (OpenBLAS-openmp, glibc malloc keeping freed memory).
#
#   bench/makemore/recurrent.sh [ROUNDS] [OUT.md]      (defaults: 5, bench/results-recurrent.md)
set -eu -o pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5} OUT=${2:-bench/results-recurrent.md}
OBLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4000000000
    OMP_NUM_THREADS=1 LD_LIBRARY_PATH=$OBLAS /usr/bin/python3 bench/makemore/torch_step.py)
[ -x ./nnrun ] || { echo "recurrent.sh: build ./nnrun first" >&2; exit 1; }
RAW=$(mktemp) && trap 'rm -f "$RAW"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
    for m in rnn gru; do
        nn=$(./nnrun bench "specs/makemore_$m.yaml" --threads 1 |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["us_per_step_median"])')
        pt=$("${torch_env[@]}" "$m" --steps 300 |
            python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["us_per_step_median"])')
        printf '%s\t%s\t%s\t%s\n' "$m" "$r" "$nn" "$pt" | tee -a "$RAW" >&2
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$RAW" "$ROUNDS" "$load_before" "$load_after" "$(./nnrun bench specs/makemore_rnn.yaml --threads 1 --set train.steps=10 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["isa"])')" >"$OUT" <<'PY'
import statistics, sys
raw, rounds, lb, la, isa = sys.argv[1:6]
rows = {}
for line in open(raw):
    m, r, nn, pt = line.split("\t")
    rows.setdefault(m, []).append((float(nn), float(pt)))
print("# makemore.py's RNN and GRU: nnrun against PyTorch, one thread\n")
print("`bench/makemore/recurrent.sh`: batch 32, 16 positions, AdamW; nnrun `nnrun bench`"
      f" (ISA {isa}), PyTorch `bench/makemore/torch_step.py` (nn.Module cells in a Python loop"
      " + torch.optim.AdamW, OpenBLAS-openmp, one thread), interleaved, fresh processes,"
      f" {rounds} rounds; µs per step, medians over rounds of each process's median.\n")
print(f"Load average (1, 5, 15 min) before: {lb}; after: {la} (2 cores, shared).\n")
print("| model | nnrun µs/step | PyTorch µs/step | speed-up | target | per round (nnrun / PyTorch) |")
print("|---|---|---|---|---|---|")
target = {"rnn": 6, "gru": 5}
for m in ("rnn", "gru"):
    nn = statistics.median(a for a, _ in rows[m]); pt = statistics.median(b for _, b in rows[m])
    per = ", ".join(f"{a:.0f} / {b:.0f}" for a, b in rows[m])
    print(f"| {m} | {nn:.0f} | {pt:.0f} | {pt / nn:.1f}× | ≥ {target[m]}× | {per} |")
PY
cat "$OUT"
