#!/usr/bin/env bash
# PyTorch parity (tests/parity/parity.py) when Debian's python3-torch is there; says so and
# exits 77 (skipped) when it is not, or 1 under CI=true (CI sets it; the CI installs it).  Run from the source tree after
# a build: the nnrun binary is ./nnrun.
set -euo pipefail
cd "$(dirname "$0")/.."
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch, yaml, numpy' 2>/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "=== parity: FAILED (CI=true: python3-torch, python3-yaml or python3-numpy is not installed) ==="
        exit 1
    fi
    echo "=== parity: SKIPPED (python3-torch, python3-yaml or python3-numpy is not installed) ==="
    exit 77
fi
work=$(mktemp -d /tmp/nnrun-parity-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "=== parity: nnrun against PyTorch ==="
"$py" tests/parity/parity.py ./nnrun "$work"
echo "=== parity: passed ==="
