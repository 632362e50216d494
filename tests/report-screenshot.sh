#!/usr/bin/env bash
# Renders mlp_bn's, makemore_transformer's and a 3-class CSV spec's report.html (with its
# confusion matrix), and the compare page of two runs, in headless Chromium and checks what
# they show: the page paints (a PNG of some size), and every <svg> plot is laid out inside
# the page (a copy of the page with a script that measures each plot's box, read back with
# --dump-dom: width and height > 0, left ≥ 0 and right ≤ the 1200-pixel window).  Without
# Chromium (Debian package: chromium): exit 77, skipped, or 1 under CI=true (CI sets it),
# where every part must run.
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: report screenshot test: CI=true and chromium is not installed"
        exit 1
    fi
    echo "SKIP: report screenshot test: chromium is not installed (apt-get install chromium)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chrome=("$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$tmp/profile" --window-size=1200,6000)

# shoot NAME MIN_PNG_BYTES FIGURE_IDS PAGE: the figures' ids are in PAGE, its screenshot is
# not blank, every plot is inside the page
shoot() {
    local name=$1 min=$2 figs=$3 page=$4 dir
    dir=$(dirname "$page")
    local svgs size verdict
    svgs=$(grep -o '<svg' "$page" | wc -l)
    [ "$svgs" -gt 0 ] || { echo "FAIL: $name: $page has no <svg> plot"; exit 1; }
    for fig in $figs; do
        grep -q "id=\"$fig" "$page" || { echo "FAIL: $name: $page has no $fig"; exit 1; }
    done
    timeout 120 "${chrome[@]}" --screenshot="$dir/shot.png" "file://$page" \
        >/dev/null 2>&1 || true
    size=$(stat -c %s "$dir/shot.png" 2>/dev/null || echo 0)
    # a blank 1200×6000 page compresses to a few kB; the plots make it far more
    if [ "$size" -lt "$min" ]; then
        echo "FAIL: $name: report screenshot is missing or blank ($size bytes)"
        exit 1
    fi
    # every plot inside the page: the measuring script writes its verdict into the DOM
    sed 's|</body>|<script>(function () {\
  var bad = [], all = document.querySelectorAll("svg"), w = window.innerWidth;\
  for (var i = 0; i < all.length; i++) {\
    var r = all[i].getBoundingClientRect();\
    if (!(r.width > 0 \&\& r.height > 0 \&\& r.left >= 0 \&\& r.right <= w + 0.5))\
      bad.push((all[i].id \|\| all[i].parentNode.id \|\| "svg " + i) + " at " +\
               Math.round(r.left) + ".." + Math.round(r.right));\
  }\
  var p = document.createElement("pre"); p.id = "svgcheck";\
  p.textContent = "svgcheck " + all.length + " plots, " + bad.length + " outside: " + bad.join("; ");\
  document.body.appendChild(p);\
})();</script></body>|' "$page" >"$dir/measure.html"
    verdict=$(timeout 120 "${chrome[@]}" --dump-dom "file://$dir/measure.html" 2>/dev/null |
        grep -o 'svgcheck [0-9]* plots, [0-9]* outside:[^<]*' || true)
    case "$verdict" in
    "svgcheck $svgs plots, 0 outside: ") ;;
    "") echo "FAIL: $name: the plots could not be measured in chromium (no verdict in the DOM)"; exit 1 ;;
    *) echo "FAIL: $name: $page: $verdict ($svgs <svg> in the file)"; exit 1 ;;
    esac
    mkdir -p tests/artifacts && cp "$dir/shot.png" "tests/artifacts/report-$name.png"
    echo "report screenshot $name: $svgs inline svg plots all inside the page, $size-byte PNG in tests/artifacts/"
}

# check NAME MIN_PNG_BYTES FIGURE_IDS -- NNRUN_ARGS...: runs nnrun into $tmp/NAME, then
# shoots its report.html
check() {
    local name=$1 min=$2 figs=$3 dir=$tmp/$1
    shift 4
    ./nnrun "$@" --out "$dir" --quiet
    shoot "$name" "$min" "$figs" "$dir/report.html"
}

check mlp_bn 100000 "fig-loss fig-lr fig-act- fig-grad- fig-updates fig-saturation fig-embedding" -- \
    specs/mlp_bn.yaml --set train.steps=3000 --set eval.every=1000
# a sequence model: loss per position, attention maps per head, the residual stream
check makemore_transformer 60000 "fig-loss fig-positions fig-attention fig-stream" -- \
    specs/makemore_transformer.yaml --set train.steps=200 --set eval.every=100 \
    --set 'report.plots=[loss, positions, attention, stream]'
# a 3-class CSV spec: the accuracy curve, and a decision boundary with one region per class,
# each where the model predicts that class (every grid cell's pixel against stats.json's
# argmax grid); the boundary's <svg> alone on a page with no margin, so its pixels are the PNG's
check blobs3 20000 "fig-loss fig-accuracy fig-boundary fig-confusion" -- tests/specs/good/blobs3.yaml
/usr/bin/python3 - "$tmp/blobs3/report.html" "$tmp/blobs3/boundary.html" <<'PY'
import sys
s = open(sys.argv[1]).read()
i = s.index("<svg", s.index('id="fig-boundary'))
j = s.index("</svg>", i) + 6
open(sys.argv[2], "w").write('<!DOCTYPE html><html><body style="margin:0">' + s[i:j] + "</body></html>")
PY
timeout 120 "${chrome[@]}" --window-size=600,520 --screenshot="$tmp/b3.png" \
    "file://$tmp/blobs3/boundary.html" >/dev/null 2>&1 || true
if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then # Debian: python3-pil
    [ "${CI:-}" = true ] && { echo "FAIL: CI=true and python3-pil is not installed"; exit 1; }
    echo "SKIP: the boundary's pixels: python3-pil is not installed"
else
    /usr/bin/python3 tests/report-boundary-pixels.py "$tmp/blobs3/stats.json" \
        "$tmp/blobs3/boundary.html" "$tmp/b3.png" ||
        { echo "FAIL: the 3-class decision boundary does not show the model's classes"; exit 1; }
fi
# the compare page of blobs3 and a shorter run at another learning rate: both runs' loss and
# accuracy curves on one plot each
./nnrun tests/specs/good/blobs3.yaml --set train.lr=0.03 --set train.steps=200 \
    --out "$tmp/blobs3b" --quiet
mkdir -p "$tmp/cmp"
./nnrun compare "$tmp/blobs3" "$tmp/blobs3b" --out "$tmp/cmp/compare.html" >/dev/null
shoot compare 20000 "fig-compare-loss fig-compare-accuracy spec-diff" "$tmp/cmp/compare.html"
echo "report screenshot: 4 passed, 0 failed (the 3-class boundary's pixels match the model's classes)"
