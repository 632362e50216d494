#!/usr/bin/env bash
# Same behaviour before and after a refactor: a short run of every spec in specs/ (plus a
# stop/resume and a --dump-step run) whose outputs must stay byte-identical, timing aside.
#   tests/same-behaviour.sh record DIR [NNRUN]   write the reference outputs to DIR
#   tests/same-behaviour.sh compare DIR [NNRUN]  rerun and compare with DIR; exit 1 on a diff
# Compared per run: metrics.csv and metrics.jsonl without elapsed_s and steps_per_s,
# summary.json without wall_seconds and steps_per_second, samples.txt, stats.json,
# model.safetensors, training.safetensors (its tensor bytes, and its header without the
# byte counts of the metrics files, which hold timing) and dump.safetensors where written.
# A spec with a matrix runs cells 0 and 1 through `nnrun sweep --cell`.  NNRUN
# defaults to ./nnrun.  Run both from the same source tree (after `make`: some specs load
# the example plugins it builds): the spec hash and the spec stored in model.safetensors
# name the data files by path, so a reference recorded in one checkout is compared there,
# with NNRUN the new binary.  NNRUN_SAME_THREADS (default 2) is the runs' --threads:
# tests/threads-same.sh records at 1 and compares at 2.  Needs jq.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: same-behaviour.sh record|compare DIR [NNRUN]}
dir=${2:?usage: same-behaviour.sh record|compare DIR [NNRUN]}
bin=$(realpath "${3:-./nnrun}")
threads=${NNRUN_SAME_THREADS:-2}
command -v jq >/dev/null || { echo "same-behaviour.sh: needs jq" >&2; exit 1; }
case $mode in record | compare) ;; *) echo "same-behaviour.sh: record or compare" >&2; exit 1 ;; esac
tmp=$(mktemp -d /tmp/nnrun-same-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=$dir
[ "$mode" = compare ] && out=$tmp/now
mkdir -p "$out"

# $1: run directory; writes the comparable files to $2 (timing stripped)
normalise() {
    local run=$1 to=$2 f
    mkdir -p "$to"
    if [ -f "$run/metrics.csv" ]; then # drop the timing columns by header name
        awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i != "elapsed_s" && $i != "steps_per_s") keep[++n] = i }
            { line = ""; for (j = 1; j <= n; j++) line = line (j > 1 ? OFS : "") $keep[j]; print line }' \
            "$run/metrics.csv" >"$to/metrics.csv"
    fi
    [ -f "$run/metrics.jsonl" ] && jq -c 'del(.elapsed_s, .steps_per_s)' "$run/metrics.jsonl" >"$to/metrics.jsonl"
    [ -f "$run/summary.json" ] && jq -S 'del(.wall_seconds, .steps_per_second, .threads)' "$run/summary.json" >"$to/summary.json"
    for f in samples.txt stats.json model.safetensors dump.safetensors DONE; do
        [ -f "$run/$f" ] && cp "$run/$f" "$to/$f"
    done
    f=$run/training.safetensors
    if [ -f "$f" ]; then # safetensors: u64 header length, JSON header, tensor bytes
        local n
        n=$(od -An -tu8 -N8 "$f" | tr -d ' ')
        tail -c +9 "$f" | head -c "$n" |
            jq -S 'del(.__metadata__.metrics_csv_bytes, .__metadata__.metrics_jsonl_bytes)' \
                >"$to/training.header.json"
        tail -c +$((9 + n)) "$f" >"$to/training.tensors"
    fi
}

runs=0
# $1: label; the rest: nnrun arguments (the run directory is $tmp/run-LABEL)
run() {
    local label=$1
    shift
    runs=$((runs + 1))
    rm -rf "$tmp/run-$label"
    "$bin" "$@" --threads "$threads" --quiet --out "$tmp/run-$label" >"$tmp/stdout" 2>"$tmp/stderr"
    echo $? >"$tmp/rc"
    normalise "$tmp/run-$label" "$out/$label"
    cp "$tmp/rc" "$out/$label/exit_code"
}

for spec in specs/*.yaml; do
    name=$(basename "$spec" .yaml)
    if grep -q '^matrix:' "$spec"; then # a sweep: two of its cells, each in its own directory
        for cell in 0 1; do
            runs=$((runs + 1))
            rm -rf "$tmp/sweep"
            "$bin" sweep "$spec" --cell "$cell" --threads "$threads" --quiet --out "$tmp/sweep" >/dev/null 2>&1
            echo $? >"$tmp/rc"
            normalise "$(ls -d "$tmp"/sweep/*/)" "$out/$name-cell$cell"
            cp "$tmp/rc" "$out/$name-cell$cell/exit_code"
        done
        continue
    fi
    sets=()
    # the neural-net specs: 200 steps with an evaluation after 100 (counting models train
    # in one pass and take no step count)
    "$bin" check --resolved "$spec" | grep -q '^  - ngram:' ||
        sets+=(--set train.steps=200 --set eval.every=100)
    run "$name" "$spec" "${sets[@]}"
done
# the checkpoint path: stop at 120 and resume to 200 must give the uninterrupted run
run resume "specs/mlp_bn.yaml" --set train.steps=200 --set eval.every=100 --stop-after 120
"$bin" specs/mlp_bn.yaml --set train.steps=200 --set eval.every=100 --threads "$threads" --quiet \
    --resume "$tmp/run-resume" >"$tmp/stdout" 2>"$tmp/stderr"
normalise "$tmp/run-resume" "$out/resume"
run dump specs/mlp_bn.yaml --set train.steps=20 --dump-step 7

if [ "$mode" = record ]; then
    echo "same-behaviour: recorded $runs runs in $dir"
    exit 0
fi
if diff -r "$dir" "$out" >"$tmp/diff"; then
    echo "same-behaviour: $runs runs, every output identical to $dir"
    exit 0
fi
head -n 40 "$tmp/diff"
echo "same-behaviour: files that differ:"
diff -rq "$dir" "$out" | sed "s|$out/||; s|$dir/||" | awk '{print "  " $0}'
echo "same-behaviour: $runs runs, DIFFERENCES from $dir (above)"
exit 1
