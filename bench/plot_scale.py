"""Draw docs/scale.svg: wall time and peak memory against binaries, log-log, from measured runs.

Usage: python bench/plot_scale.py [bench/scale_points.json] [docs/scale.svg]

The JSON holds one object per measured run: ``{"label", "binaries", "seconds", "peak_mb",
"series"}`` (``series`` names the code version, e.g. "before" / "after"). Hand-written SVG:
no plotting library needed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
W, H, PAD = 360, 260, 52
COLOURS = {"before": "#c0392b", "after": "#2471a3", "client memory": "#1e8449",
           "seventh round": "#7d3c98", "eighteenth round": "#d68910",
           "twenty-fifth round": "#c2185b"}


def _panel(points: list[dict], key: str, title: str, unit: str, x0: float) -> list[str]:
    xs = [p["binaries"] for p in points]
    ys = [p[key] for p in points]
    lx = (math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs))))
    ly = (math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys))))

    def px(v: float) -> float:
        return x0 + PAD + (math.log10(v) - lx[0]) / (lx[1] - lx[0]) * (W - 1.5 * PAD)

    def py(v: float) -> float:
        return H - PAD + 10 - (math.log10(v) - ly[0]) / (ly[1] - ly[0]) * (H - 1.6 * PAD)

    out = [f'<text x="{x0 + W / 2:.0f}" y="18" text-anchor="middle" font-weight="bold">{title}</text>',
           f'<line x1="{px(10 ** lx[0]):.1f}" y1="{py(10 ** ly[0]):.1f}" x2="{px(10 ** lx[1]):.1f}" '
           f'y2="{py(10 ** ly[0]):.1f}" stroke="#333"/>',
           f'<line x1="{px(10 ** lx[0]):.1f}" y1="{py(10 ** ly[0]):.1f}" x2="{px(10 ** lx[0]):.1f}" '
           f'y2="{py(10 ** ly[1]):.1f}" stroke="#333"/>']
    for e in range(lx[0], lx[1] + 1):
        x = px(10 ** e)
        out.append(f'<text x="{x:.1f}" y="{py(10 ** ly[0]) + 16:.1f}" text-anchor="middle" '
                   f'font-size="11">1e{e}</text>')
    for e in range(ly[0], ly[1] + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{px(10 ** lx[0]):.1f}" y1="{y:.1f}" x2="{px(10 ** lx[1]):.1f}" '
                   f'y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{px(10 ** lx[0]) - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="11">{10 ** e:g}</text>')
    out.append(f'<text x="{x0 + W / 2:.0f}" y="{H + 8}" text-anchor="middle" font-size="11">'
               f'binaries</text>')
    out.append(f'<text x="{x0 + 12}" y="{H / 2:.0f}" font-size="11" '
               f'transform="rotate(-90 {x0 + 12} {H / 2:.0f})" text-anchor="middle">{unit}</text>')
    for series in sorted({p["series"] for p in points}):
        pts = sorted((p for p in points if p["series"] == series), key=lambda p: p["binaries"])
        colour = COLOURS.get(series, "#555")
        path = " ".join(f"{px(p['binaries']):.1f},{py(p[key]):.1f}" for p in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in pts:
            out.append(f'<circle cx="{px(p["binaries"]):.1f}" cy="{py(p[key]):.1f}" r="3.5" '
                       f'fill="{colour}"><title>{p["label"]}: {p[key]:g} {unit}</title></circle>')
    return out


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "scale_points.json"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "scale.svg"
    points = json.loads(src.read_text())
    for p in points:
        p["peak_gb"] = p["peak_mb"] / 1024
    body = _panel(points, "seconds", "wall time", "seconds", 0)
    body += _panel(points, "peak_gb", "peak memory", "GB", W + 20)
    legend = [f'<text x="{PAD + 10}" y="{40 + 16 * k}" font-size="12" fill="{COLOURS.get(s, "#555")}">'
              f'● {s}</text>' for k, s in enumerate(sorted({p["series"] for p in points}))]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W + 20}" height="{H + 20}" '
           f'font-family="sans-serif" font-size="13">\n<rect width="100%" height="100%" fill="white"/>\n'
           + "\n".join(body + legend) + "\n</svg>\n")
    dst.write_text(svg, encoding="utf-8")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
