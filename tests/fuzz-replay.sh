#!/bin/sh
# make check: every libFuzzer harness (built with tests/fuzz/replay.c as its main, by the
# ordinary compiler) over its committed corpus, tests/fuzz/<name>/: the seeds and every
# input that once crashed.  A crash, sanitizer report or leak fails the test.
set -e
src=${NNRUN_SRCDIR:-.}
n=0
for bin in tests/fuzz/replay_*; do
    [ -x "$bin" ] || continue
    name=${bin##*/replay_}
    "$bin" "$src/tests/fuzz/$name"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no fuzz replay programs were built" >&2; exit 1; }
