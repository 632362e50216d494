#!/usr/bin/env bash
# --threads 1 and --threads 2 compute the same bits on every spec in specs/: a short run
# of each (tests/same-behaviour.sh's runs: 200 steps with an evaluation, two cells of each
# matrix, a stop and resume, a --dump-step) recorded at one thread and compared at two —
# metrics, summary, samples, stats, model and checkpoint bytes.  The thread count may
# change only how fast a run is (the splits of kernels/split.c, threads.c and the gemms
# are over disjoint outputs, each computed whole on one path).
#   tests/threads-same.sh [NNRUN]      NNRUN defaults to ./nnrun; needs jq
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${1:-./nnrun}
command -v jq >/dev/null || { echo "threads-same: needs jq (apt-get install jq)"; exit 77; }
ref=$(mktemp -d /tmp/nnrun-threads-XXXXXX)
trap 'rm -rf "$ref"' EXIT
NNRUN_SAME_THREADS=1 tests/same-behaviour.sh record "$ref/one" "$bin" >/dev/null || exit 1
NNRUN_SAME_THREADS=2 tests/same-behaviour.sh compare "$ref/one" "$bin" ||
    { echo "threads-same: --threads 2 differs from --threads 1 (above)"; exit 1; }
echo "threads-same: --threads 1 and --threads 2 give the same bits on every spec"
