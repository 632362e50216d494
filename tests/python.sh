#!/usr/bin/env bash
# The Python package (python/nnrun, ctypes over libnnrun): its unit tests with Debian's
# python3 against the build tree's library (training through Python = the command line,
# bit for bit; errors; tensors; run directories), then `pip install ./python` into a fresh
# virtual environment (Debian's numpy and pandas through --system-site-packages) and an
# import there.  tests/run-all runs it after the release build; exit 77 (skipped; a failure
# under CI=true) when python3, numpy, pandas or venv are missing.
# Usage: tests/python.sh [BUILD_DIR]   (default: the source tree)
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src}" && pwd)
py=/usr/bin/python3
lib=$build/.libs/libnnrun.so.1
if ! [ -x "$py" ] || ! "$py" -c 'import numpy, pandas, venv, ensurepip' 2>/dev/null; then
    echo "python: needs /usr/bin/python3 with numpy, pandas and venv (apt-get install" \
        "python3-numpy python3-pandas python3-venv)"
    exit 77
fi
[ -f "$lib" ] && [ -x "$build/nnrun" ] || { echo "python: build first (no $lib)"; exit 1; }
export NNRUN_LIB=$lib NNRUN_BIN=$build/nnrun NNRUN_SRCDIR=$src
PYTHONPATH=$src/python "$py" -m unittest discover -s "$src/tests/python" -p 'test_*.py' -v || exit 1
tmp=$(mktemp -d /tmp/nnrun-pip-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/python" "$tmp/src" # pip writes build files beside the sources
"$py" -m venv --system-site-packages "$tmp/venv" &&
    "$tmp/venv/bin/pip" install -q --no-build-isolation --no-deps "$tmp/src" &&
    (cd "$tmp" && "$tmp/venv/bin/python" -c '
import nnrun, os
assert nnrun.__file__.startswith(os.environ["VIRTUAL_ENV"] if "VIRTUAL_ENV" in os.environ else "'"$tmp"'/venv"), nnrun.__file__
print("pip install ./python: nnrun", nnrun.__version__, "over libnnrun", nnrun.version())') ||
    { echo "python: pip install ./python failed"; exit 1; }
