#!/usr/bin/env bash
# valgrind over a short run of every spec in specs/ (and the other subcommands on one):
# each with its exact expected exit code, zero memory errors and zero definite or indirect
# leaks, or exit 1.  The kernel path is nnrun's own choice (the best this CPU has: avx2 or
# scalar; there is no AVX-512 path, which valgrind 3.19 could not run).  Runs are cut short, since valgrind runs AVX2 code a few
# hundred times slower: text data to the names starting with q (about 90), 12 steps of
# batch 16 with an evaluation after 6.
# Usage: tests/valgrind.sh [NNRUN_BINARY] (default ./nnrun, run from the source tree)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-./nnrun}")
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
unset NNRUN_ISA
tmp=$(mktemp -d /tmp/nnrun-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect)
failed=0 n=0

# $1: label; $2: nnrun's expected exit code; the rest: nnrun arguments.  99 is valgrind's
# verdict (an error or a leak), which no nnrun exit code collides with.
check() {
    local label=$1 want=$2
    shift 2
    n=$((n + 1))
    local t0=$SECONDS
    "${vg[@]}" --log-file="$tmp/vg.log" "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? secs=$((SECONDS - t0))
    if [ "$rc" -eq 99 ] || [ -s "$tmp/vg.log" ] || [ "$rc" -ne "$want" ]; then
        echo "=== valgrind: $label: FAILED (exit $rc, want $want; ${secs} s)"
        cat "$tmp/vg.log" "$tmp/err"
        failed=$((failed + 1))
    else
        echo "valgrind: $label: clean (exit $rc, ${secs} s)"
    fi
}

for spec in specs/*.yaml; do
    name=$(basename "$spec" .yaml)
    # the transformer and makemore's MLP take minutes a step under memcheck: their code
    # paths run under ASan in make check (test_blocks, test_kernels_seq) instead
    case $name in makemore_transformer | makemore_mlp) continue ;; esac
    sets=() run=("$spec")
    resolved=$("$bin" check --resolved "$spec" 2>/dev/null) ||
        { resolved=$("$bin" sweep "$spec" --list 2>/dev/null) && run=(sweep "$spec" --cell 0); }
    [ -n "$resolved" ] || { echo "=== valgrind: $name: FAILED (the spec does not load)"; failed=$((failed + 1)); continue; }
    # a matrix (sweep --list) takes its data from an include: filter it like a source
    if grep -q 'compat: torch' <<<"$resolved" && grep -q '^    train: [0-9]*$' <<<"$resolved"; then
        # makemore's split counts words: the 575 three-letter names still hold every letter
        sets+=(--set "data.filter=^[a-z]{3}\$" --set data.split.train=500 --set data.split.test=75)
    elif grep -q '^  source:' <<<"$resolved" || [ "${run[0]}" = sweep ]; then
        sets+=(--set "data.filter=^q[a-z]+\$")
    fi
    grep -q '^  - ngram:' <<<"$resolved" ||
        sets+=(--set train.steps=12 --set train.batch=16 --set eval.every=6)
    check "$name" 0 "${run[@]}" "${sets[@]}" --threads 2 --quiet --out "$tmp/run-$name"
done
check "check --resolved" 0 check --resolved specs/mlp_bn.yaml
check "graph --plan" 0 graph --plan specs/mlp_bn.yaml --set "data.filter=^q[a-z]+\$"
check "graph --dot --values" 0 graph --dot --values specs/mlp_bn.yaml --set "data.filter=^q[a-z]+\$"
check "bench" 0 bench specs/mlp.yaml --steps 5 --set train.batch=16 --set "data.filter=^q[a-z]+\$"
check "report" 0 report "$tmp/run-mlp_bn"
check "compare" 0 compare "$tmp/run-mlp_bn" "$tmp/run-mlp" "$tmp/run-micrograd_moons" \
    --out "$tmp/compare.html"
check "non-finite stop" 1 specs/mlp.yaml --set train.steps=50 --set train.lr=1e6 --quiet \
    --set "data.filter=^q[a-z]+\$" --out "$tmp/run-nan"
check "max-memory refusal" 2 specs/large.yaml --max-memory 1M --set "data.filter=^q[a-z]+\$"
check "bad spec" 2 check tests/specs/bad/lienar.yaml
echo "valgrind: $n runs, $failed failed"
[ "$failed" -eq 0 ]
