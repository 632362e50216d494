#!/bin/sh
# make check: under CI=true (CI sets it) a test part that cannot run is a failure, not a
# skip.  Runs the report screenshot and the Slurm test where neither chromium nor Slurm can
# be found (a PATH with only the few tools they call before looking): without CI they
# skip (exit 77), with CI=true they fail (exit 1).
src=${NNRUN_SRCDIR:-.}
bash=$(command -v bash) || { echo "ci-strict.sh: no bash" >&2; exit 1; }
bin=$(mktemp -d /tmp/nnrun-ci-XXXXXX)
trap 'rm -rf "$bin"' EXIT
for tool in dirname realpath id; do
    ln -s "$(command -v "$tool")" "$bin/$tool" || exit 1
done
: >"$bin/nnrun" && chmod +x "$bin/nnrun" # slurm.sh checks that its binary exists first
failed=0
expect() { # $1: wanted exit code, $2: CI value, the rest: the script and its arguments
    want=$1 ci=$2
    shift 2
    PATH=$bin CI=$ci "$bash" "$@" >"$bin/log" 2>&1
    rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: CI='$ci' $*: exit $rc, want $want"
        cat "$bin/log"
        failed=1
    else
        echo "ok: CI='$ci' ${1##*/}: exit $rc"
    fi
}
expect 77 "" "$src/tests/report-screenshot.sh"
expect 1 true "$src/tests/report-screenshot.sh"
expect 77 "" "$src/tests/integration/slurm.sh" "$bin/nnrun"
expect 1 true "$src/tests/integration/slurm.sh" "$bin/nnrun"
exit $failed
