#!/usr/bin/env python3
"""Checks a screenshot of a 3-class report's decision boundary against the model's
predictions (run by tests/report-screenshot.sh; /usr/bin/python3 with PIL).

Usage: report-boundary-pixels.py STATS_JSON BOUNDARY_HTML SCREENSHOT_PNG
BOUNDARY_HTML is a page holding only the boundary figure's <svg> at the page's top left
(body margin 0), so SVG pixels are screenshot pixels.  For every grid cell of stats.json's
boundary (the argmax class the model predicts there, from its eval-mode forward pass) the
pixel at the cell's centre must have that class's region colour, except where a training
point or the legend covers it.  Prints the counts; exits 1 when fewer than 95% match or
fewer than three classes show."""
import json, re, sys
from PIL import Image

PALETTE = [0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd]


def light(rgb):  # html_maps.c light(): 62% of the way to white
    return tuple(c + (255 - c) * 62 // 100 for c in ((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255))


stats, page, png = sys.argv[1:4]
b = json.load(open(stats))["boundary"]
html = open(page).read()
m = re.search(r'<clipPath id="clip-fig-boundary"><rect x="([\d.]+)" y="([\d.]+)" '
              r'width="([\d.]+)" height="([\d.]+)"', html)
px0, py0, pw, ph = map(float, m.groups())
grid, n = b["grid"], b["steps"]
(x0lo, x0hi), (x1lo, x1hi) = b["x0"], b["x1"]
dx, dy = (x0hi - x0lo) / (n - 1), (x1hi - x1lo) / (n - 1)
lo_x, hi_x, lo_y, hi_y = x0lo - dx / 2, x0hi + dx / 2, x1lo - dy / 2, x1hi + dy / 2


def to_px(x, y):
    return (px0 + (x - lo_x) / (hi_x - lo_x) * pw, py0 + ph - (y - lo_y) / (hi_y - lo_y) * ph)


pts = [to_px(p[0], p[1]) for p in b["points"]]
legend = re.search(r'<g><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" '
                   r'fill="#fff"', html[html.index("clip-fig-boundary"):])
lx, ly, lw, lh = map(float, legend.groups())
img = Image.open(png).convert("RGB")
want = {k: light(PALETTE[k]) for k in range(b.get("classes", 0))}
checked = right = 0
seen = set()
for j in range(n):
    for i in range(n):
        cx, cy = to_px(x0lo + i * dx, x1lo + j * dy)
        if any((cx - qx) ** 2 + (cy - qy) ** 2 < 11 ** 2 for qx, qy in pts):
            continue
        if lx - 2 <= cx <= lx + lw + 2 and ly - 2 <= cy <= ly + lh + 2:
            continue
        k = grid[j][i]
        got = img.getpixel((int(cx), int(cy)))
        checked += 1
        if max(abs(a - c) for a, c in zip(got, want[k])) <= 6:
            right += 1
            seen.add(k)
print(f"boundary pixels: {right} of {checked} grid cells show the predicted class's colour, "
      f"classes seen {sorted(seen)}")
sys.exit(0 if checked > 1000 and right >= 0.95 * checked and len(seen) == 3 else 1)
