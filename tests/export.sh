#!/usr/bin/env bash
# `nnrun export --pytorch` over every spec (tests/python/export_all.py): exported logits
# equal nnrun's to 1e-5·max(1, |x|), refusals with a message.  Needs /usr/bin/python3 with
# torch and numpy (Debian's python3-torch); exit 77 (skipped; a failure under CI=true)
# without them.  Usage: tests/export.sh [BUILD_DIR]
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src}" && pwd)
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch, numpy' 2>/dev/null; then
    echo "export: needs /usr/bin/python3 with torch and numpy (apt-get install python3-torch)"
    exit 77
fi
[ -f "$build/.libs/libnnrun.so.1" ] && [ -x "$build/nnrun" ] || { echo "export: build first"; exit 1; }
NNRUN_LIB=$build/.libs/libnnrun.so.1 NNRUN_BIN=$build/nnrun NNRUN_SRCDIR=$src \
    NNRUN_PLUGIN_PATH=$build/examples/plugins PYTHONPATH=$src/python \
    "$py" "$src/tests/python/export_all.py"
