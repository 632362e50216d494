#!/usr/bin/env bash
# valgrind over a short run of every spec in specs/ (and the other subcommands on one):
# zero memory errors and zero definite or indirect leaks, or exit 1.  NNRUN_ISA=avx2:
# valgrind 3.19 cannot run AVX-512.  Runs are cut short, since valgrind runs AVX2 code a few
# hundred times slower: text data to the names starting with q (about 90), 12 steps of
# batch 16 with an evaluation after 6.
# Usage: tests/valgrind.sh [NNRUN_BINARY] (default ./nnrun, run from the source tree)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-./nnrun}")
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
export NNRUN_ISA=avx2
tmp=$(mktemp -d /tmp/nnrun-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect)
failed=0 n=0

# $1: label; the rest: nnrun arguments.  nnrun's own exit code may be 0 or 1 (a short run
# can stop on purpose); 99 is valgrind's verdict.
check() {
    local label=$1
    shift
    n=$((n + 1))
    local t0=$SECONDS
    "${vg[@]}" --log-file="$tmp/vg.log" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? secs=$((SECONDS - t0))
    if [ "$rc" -eq 99 ] || [ -s "$tmp/vg.log" ] || [ "$rc" -gt 2 ]; then
        echo "=== valgrind: $label: FAILED (exit $rc, ${secs} s)"
        cat "$tmp/vg.log" "$tmp/err"
        failed=$((failed + 1))
    else
        echo "valgrind: $label: clean (exit $rc, ${secs} s)"
    fi
}

for spec in specs/*.yaml; do
    name=$(basename "$spec" .yaml)
    sets=()
    "$bin" check --resolved "$spec" | grep -q '^  source:' && sets+=(--set "data.filter=^q[a-z]+\$")
    "$bin" check --resolved "$spec" | grep -q '^  - ngram:' ||
        sets+=(--set train.steps=12 --set train.batch=16 --set eval.every=6)
    check "$name" "$spec" "${sets[@]}" --threads 2 --quiet --out "$tmp/run-$name"
done
check "check --resolved" check --resolved specs/mlp_bn.yaml
check "graph --plan" graph --plan specs/mlp_bn.yaml --set "data.filter=^q[a-z]+\$"
check "graph --dot --values" graph --dot --values specs/mlp_bn.yaml --set "data.filter=^q[a-z]+\$"
check "bench" bench specs/mlp.yaml --steps 5 --set train.batch=16 --set "data.filter=^q[a-z]+\$"
check "report" report "$tmp/run-mlp_bn"
check "non-finite stop" specs/mlp.yaml --set train.steps=50 --set train.lr=1e6 --quiet \
    --set "data.filter=^q[a-z]+\$" --out "$tmp/run-nan"
check "max-memory refusal" specs/large.yaml --max-memory 1M --set "data.filter=^q[a-z]+\$"
check "bad spec" check tests/specs/bad/lienar.yaml
echo "valgrind: $n runs, $failed failed"
[ "$failed" -eq 0 ]
