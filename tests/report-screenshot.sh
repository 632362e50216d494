#!/usr/bin/env bash
# Renders mlp_bn's report.html (and a 3-class CSV spec's) in headless Chromium and checks what it shows: the page
# paints (a PNG of some size), and every <svg> plot is laid out inside the page (a copy of
# the page with a script that measures each plot's box, read back with --dump-dom: width and
# height > 0, left ≥ 0 and right ≤ the 1200-pixel window).  Without Chromium (Debian package:
# chromium): exit 77, skipped, or 1 under CI=true (CI sets it), where every part must run.
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
./nnrun specs/mlp_bn.yaml --set train.steps=3000 --set eval.every=1000 --out "$tmp/run" --quiet
svgs=$(grep -o '<svg' "$tmp/run/report.html" | wc -l)
[ "$svgs" -gt 0 ] || { echo "FAIL: report.html has no <svg> plot"; exit 1; }
for fig in fig-loss fig-lr fig-act- fig-grad- fig-updates fig-saturation fig-embedding; do
    grep -q "id=\"$fig" "$tmp/run/report.html" || { echo "FAIL: report.html has no $fig"; exit 1; }
done
chrome=("$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --user-data-dir="$tmp/profile" --window-size=1200,6000)
timeout 120 "${chrome[@]}" --screenshot="$tmp/shot.png" "file://$tmp/run/report.html" \
    >/dev/null 2>&1 || true
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
# a blank 1200×6000 page compresses to a few kB; the plots make it hundreds
if [ "$size" -lt 100000 ]; then
    echo "FAIL: report screenshot is missing or blank ($size bytes)"
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
})();</script></body>|' "$tmp/run/report.html" >"$tmp/run/measure.html"
verdict=$(timeout 120 "${chrome[@]}" --dump-dom "file://$tmp/run/measure.html" 2>/dev/null |
    grep -o 'svgcheck [0-9]* plots, [0-9]* outside:[^<]*' || true)
case "$verdict" in
"svgcheck $svgs plots, 0 outside: ") ;;
"") echo "FAIL: the plots could not be measured in chromium (no verdict in the DOM)"; exit 1 ;;
*) echo "FAIL: report.html: $verdict ($svgs <svg> in the file)"; exit 1 ;;
esac
mkdir -p tests/artifacts && cp "$tmp/shot.png" tests/artifacts/report-mlp_bn.png
# a 3-class CSV spec: the decision boundary shows one region per class, each where the
# model predicts that class (every grid cell's pixel against stats.json's argmax grid);
# the boundary's <svg> alone on a page with no margin, so its pixels are the PNG's
./nnrun tests/specs/good/blobs3.yaml --out "$tmp/b3" --quiet
for fig in fig-loss fig-accuracy fig-boundary; do
    grep -q "id=\"$fig" "$tmp/b3/report.html" || { echo "FAIL: blobs3 report.html has no $fig"; exit 1; }
done
/usr/bin/python3 - "$tmp/b3/report.html" "$tmp/b3/boundary.html" <<'PY'
import sys
s = open(sys.argv[1]).read()
i = s.index("<svg", s.index('id="fig-boundary'))
j = s.index("</svg>", i) + 6
open(sys.argv[2], "w").write('<!DOCTYPE html><html><body style="margin:0">' + s[i:j] + "</body></html>")
PY
timeout 120 "${chrome[@]}" --window-size=600,520 --screenshot="$tmp/b3.png" \
    "file://$tmp/b3/boundary.html" >/dev/null 2>&1 || true
timeout 120 "${chrome[@]}" --screenshot="$tmp/b3full.png" "file://$tmp/b3/report.html" \
    >/dev/null 2>&1 || true
if ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then # Debian: python3-pil
    [ "${CI:-}" = true ] && { echo "FAIL: CI=true and python3-pil is not installed"; exit 1; }
    echo "SKIP: the boundary's pixels: python3-pil is not installed"
else
    /usr/bin/python3 tests/report-boundary-pixels.py "$tmp/b3/stats.json" "$tmp/b3/boundary.html" \
        "$tmp/b3.png" || { echo "FAIL: the 3-class decision boundary does not show the model's classes"; exit 1; }
fi
cp "$tmp/b3full.png" tests/artifacts/report-blobs3.png
echo "report screenshot: 2 passed, 0 failed ($svgs inline svg plots all inside the page, $size-byte PNG in tests/artifacts/; the 3-class boundary's pixels match the model's classes)"
