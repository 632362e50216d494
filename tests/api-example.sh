#!/usr/bin/env bash
# The C API's example program (examples/api/train.c, docs/api.md) compiled and run twice:
# against the library in the build tree, and against the library `make install` puts under
# DESTDIR, found by `pkg-config --cflags --libs nnrun`.  Run by `make check` (from the build
# directory: NNRUN_SRCDIR is the source tree; NNRUN_CC/CFLAGS/LDFLAGS the build's, so a
# sanitizer build links its runtime).
set -euo pipefail
src=${NNRUN_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=$(pwd)
cc=${NNRUN_CC:-cc}
read -r -a cflags <<<"${NNRUN_CFLAGS:-}"
read -r -a ldflags <<<"${NNRUN_LDFLAGS:-}"
tmp=$(mktemp -d /tmp/nnrun-api-example-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sets=(train.steps=300 eval.every=100 'data.filter=^q[a-z]+$')

check_output() { # $1: the output file
    grep -q '^libnnrun ' "$1" &&
        grep -q '^eval at step 200: train [0-9.]* dev [0-9.]*$' "$1" &&
        grep -q '^trained 300 steps; final dev loss [0-9.]*$' "$1" &&
        grep -q '^metrics: 303 rows; step 0 loss 3\.[0-9]*$' "$1" &&
        grep -q '^layers.4.out \[32, 200\]: mean |x| 0\.[0-9]*$' "$1" &&
        [ "$(grep -c '^sample: ' "$1")" = 5 ] &&
        grep -q "^as expected: error: no tensor named 'layers.2.wieght' (did you mean 'layers.2.weight'?)" "$1" &&
        [ -s "$tmp/model.safetensors" ] || { echo "api-example: unexpected output:"; cat "$1"; return 1; }
}

# 1. the build tree's library
"$cc" "${cflags[@]}" -I"$src/include" "$src/examples/api/train.c" "${ldflags[@]}" \
    -L"$build/.libs" -lnnrun -lm -o "$tmp/train-intree"
(cd "$tmp" && LD_LIBRARY_PATH="$build/.libs" ./train-intree "$src/specs/mlp_bn.yaml" "${sets[@]}") \
    >"$tmp/out1"
check_output "$tmp/out1"
rm -f "$tmp/model.safetensors"

# 2. the installed library, through pkg-config
make -s -C "$build" install DESTDIR="$tmp/root" >/dev/null
pc=$(find "$tmp/root" -name nnrun.pc | head -n 1)
lib=$(find "$tmp/root" -name 'libnnrun.so.*' | head -n 1)
[ -n "$pc" ] && [ -n "$lib" ] || { echo "api-example: make install put no nnrun.pc or libnnrun.so.N"; exit 1; }
[ -f "$(dirname "$pc")/../../include/nnrun/nnrun.h" ] || [ -n "$(find "$tmp/root" -path '*/include/nnrun/nnrun.h')" ] ||
    { echo "api-example: make install put no nnrun/nnrun.h"; exit 1; }
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$tmp/root" pkg-config --cflags --libs nnrun)
echo "pkg-config --cflags --libs nnrun: $flags"
# shellcheck disable=SC2086  # the flags are words
"$cc" "${cflags[@]}" "$src/examples/api/train.c" "${ldflags[@]}" $flags -lm -o "$tmp/train-installed"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
echo "installed: ${lib#"$tmp/root"} (soname $soname)"
[[ $soname == libnnrun.so.[0-9]* ]] || { echo "api-example: no versioned soname"; exit 1; }
(cd "$tmp" && LD_LIBRARY_PATH=$(dirname "$lib") ./train-installed "$src/specs/mlp_bn.yaml" "${sets[@]}") \
    >"$tmp/out2"
check_output "$tmp/out2"
cmp <(grep -v '^libnnrun' "$tmp/out1") <(grep -v '^libnnrun' "$tmp/out2")
echo "api-example: in-tree and installed library: the same output"
