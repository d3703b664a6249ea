"""Small hand-built SVG charts for the HTML report (no plotting library, no network).

Why hand-built: the report must open offline as one file, and the charts are simple (bars,
lines, a heatmap, a waterfall). Writing the SVG directly keeps the dependency list short and
the output deterministic and small. Every chart is an ``<svg class="chart">`` with a
``data-chart`` name, a ``<title>`` for accessibility and ``<title>`` tooltips on its marks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]
#: Sequential blues for service levels (low rank light, high rank dark).
BLUES = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
         "#08306b"]
FONT = 'font-family="system-ui, sans-serif"'
#: The widest a chart grows to fit its labels (px); wider content is strided or scrolled.
MAX_WIDTH = 1100


def text_px(text: object, size: float = 11) -> float:
    """Estimated width in pixels of ``text`` in the charts' sans-serif at ``size`` px.

    Layout (margins, label strides, legend spacing) is decided in Python, so the width of a
    label must be known before a browser draws it: Latin letters and digits take about 0.62
    of the font size (capitals 0.72), wide (CJK) characters a full em. Slightly generous on
    purpose: an overestimate leaves space, an underestimate clips or overlaps.
    """
    w = 0.0
    for ch in str(text):
        if ord(ch) >= 0x2E80:
            w += 1.0
        elif ch.isupper() or ch in "mw@%":
            w += 0.86
        elif ch in " .,:;'|!il()[]-":
            w += 0.4
        else:
            w += 0.72
    return w * size


def fmt(v: float) -> str:
    """Compact number: 1.2M, 35k, 12.5, 0.42."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    if a < 5e-4:
        return "0"
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi)):
        hi = lo + max(1.0, 1e-6 * abs(lo))  # one value (or round-off apart): v += step must move v
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    start = math.floor(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    if out[-1] < hi:
        out.append(out[-1] + step)
    return out


def shade(fraction: float) -> str:
    """A blue for a value in [0, 1]."""
    f = min(max(fraction, 0.0), 1.0)
    return BLUES[min(len(BLUES) - 1, int(round(f * (len(BLUES) - 1))))]


class _Frame:
    """Plot area and linear scales of one chart."""

    def __init__(self, width, height, x_range, y_range, left=64, right=16, top=34, bottom=46):
        self.w, self.h = width, height
        self.l, self.r, self.t, self.b = left, right, top, bottom
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.l + (v - self.x0) / span * (self.w - self.l - self.r)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.h - self.b - (v - self.y0) / span * (self.h - self.t - self.b)


def fit_title(title: str, width: int) -> int:
    """``width``, widened so that the chart's title (13 px, bold) is not clipped."""
    return int(max(width, text_px(title, 13) * 1.08 + 16))


def _open(name: str, title: str, w: int, h: int) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" {FONT} font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="8" y="18" font-size="13" font-weight="600">{escape(title)}</text>',
    ]


def _y_axis(f: _Frame, ys: list[float], label: str = "") -> list[str]:
    out = []
    for v in ys:
        y = f.y(v)
        out.append(f'<line x1="{f.l}" x2="{f.w - f.r}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{f.l - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                   f"{fmt(v)}</text>")
    if label:
        out.append(f'<text x="12" y="{(f.t + f.h - f.b) / 2:.0f}" fill="#555" text-anchor="middle" '
                   f'transform="rotate(-90 12 {(f.t + f.h - f.b) / 2:.0f})">{escape(label)}</text>')
    return out


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for name, colour in items:
        out.append(f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14:.0f}" y="{y:.0f}">{escape(name)}</text>')
        x += 24 + text_px(name)
    return out


def bar_chart(name: str, title: str, categories: Sequence[str], bars: dict[str, Sequence[float]],
              lines: dict[str, Sequence[float]] | None = None, y_label: str = "",
              width: int = 600, height: int = 300) -> str:
    """Grouped bars per category, with optional line series (e.g. the budget) on top."""
    lines = lines or {}
    vals = [v for s in [*bars.values(), *lines.values()] for v in s if v is not None
            and math.isfinite(v)]
    ys = ticks(min(0.0, *vals) if vals else 0.0, max(vals) if vals else 1.0)
    label_w = max((text_px(c) for c in categories), default=0.0) + 8
    # widen (up to MAX_WIDTH) until every category label fits its slot; past that, label
    # every k-th category only (labels never collide)
    width = max(width, min(MAX_WIDTH, math.ceil(64 + 16 + label_w * len(categories)) + 1))
    width = fit_title(title, width)
    f = _Frame(width, height, (0, max(1, len(categories))), (ys[0], ys[-1]))
    out = _open(name, title, width, height) + _y_axis(f, ys, y_label)
    slot = (f.w - f.l - f.r) / max(1, len(categories))
    bw = slot * 0.7 / max(1, len(bars))
    every = max(1, math.ceil(label_w / slot))
    for i, cat in enumerate(categories):
        for j, (series, values) in enumerate(bars.items()):
            v = values[i]
            if v is None or not math.isfinite(v):
                continue
            x = f.l + i * slot + slot * 0.15 + j * bw
            y0, y1 = sorted((f.y(0), f.y(v)))
            out.append(f'<rect class="mark" x="{x:.1f}" y="{y0:.1f}" width="{bw:.1f}" '
                       f'height="{max(0.5, y1 - y0):.1f}" fill="{PALETTE[j % 10]}">'
                       f"<title>{escape(cat)} {escape(series)}: {fmt(v)}</title></rect>")
        if i % every == 0:
            out.append(f'<text x="{f.l + (i + 0.5) * slot:.1f}" y="{f.h - f.b + 14}" '
                       f'text-anchor="middle">{escape(str(cat))}</text>')
    for j, values in enumerate(lines.values()):
        colour = PALETTE[(len(bars) + j) % 10]
        pts = [(f.l + (i + 0.5) * slot, f.y(v)) for i, v in enumerate(values)
               if v is not None and math.isfinite(v)]
        if pts:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2" '
                       'stroke-dasharray="6 3"/>')
            out += [f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                    for x, y in pts]
    legend = [(s, PALETTE[j % 10]) for j, s in enumerate(bars)]
    legend += [(s, PALETTE[(len(bars) + j) % 10]) for j, s in enumerate(lines)]
    out += _legend(legend, f.l, f.h - 8)
    return "\n".join(out + ["</svg>"])


def waterfall(name: str, title: str, steps: Sequence[tuple[str, float]], total_label: str,
              width: int = 600, height: int = 300) -> str:
    """A bridge: each step adds (green) or subtracts (red); the last bar is the total."""
    level, spans = 0.0, []
    for label, v in steps:
        spans.append((label, level, level + v, v))
        level += v
    spans.append((total_label, 0.0, level, level))
    vals = [b for s in spans for b in s[1:3]]
    ys = ticks(min(0.0, *vals), max(vals))
    widest = max(max(text_px(w) for w in str(label).split(" ")) for label, *_ in spans)
    width = fit_title(title, int(max(width, min(MAX_WIDTH, 80 + (widest + 10) * len(spans)))))
    f = _Frame(width, height, (0, len(spans)), (ys[0], ys[-1]), bottom=52)
    out = _open(name, title, width, height) + _y_axis(f, ys)
    slot = (f.w - f.l - f.r) / len(spans)
    for i, (label, a, b, v) in enumerate(spans):
        last = i == len(spans) - 1
        colour = "#1f4e79" if last else ("#2ca02c" if v >= 0 else "#d62728")
        y0, y1 = sorted((f.y(a), f.y(b)))
        x = f.l + i * slot + slot * 0.15
        out.append(f'<rect class="mark" x="{x:.1f}" y="{y0:.1f}" width="{slot * 0.7:.1f}" '
                   f'height="{max(0.5, y1 - y0):.1f}" fill="{colour}"><title>{escape(label)}: '
                   f"{fmt(v)}</title></rect>")
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{y0 - 4:.1f}" text-anchor="middle">'
                   f"{fmt(v)}</text>")
        out.append(_wrapped(label, x + slot * 0.35, f.h - f.b + 14, slot - 4))
    return "\n".join(out + ["</svg>"])


def _wrapped(label: str, x: float, y: float, room: float) -> str:
    """A centred label, broken at spaces into lines that fit ``room`` px (one per word)."""
    words = str(label).split(" ")
    lines, line = [], ""
    for w in words:
        if line and text_px(f"{line} {w}") > room:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 12}">{escape(t)}</tspan>'
                    for i, t in enumerate(lines))
    return f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{spans}</text>'


def clip(text: str, room: float, size: float = 11) -> str:
    """``text`` cut (with "…") to fit ``room`` px; whole when it fits."""
    text = str(text)
    if text_px(text, size) <= room:
        return text
    while text and text_px(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def hbar_chart(name: str, title: str, labels: Sequence[str], values: Sequence[float | None],
               value_label: str = "", notes: Sequence[str] = (), width: int = 640) -> str:
    """One horizontal bar per label (scenario comparisons): the labels sit left of their
    bars, one per row, so long names never collide; ``notes[i]`` (e.g. "infeasible") is
    written where a bar without a value would be."""
    left = math.ceil(22 + min(320, max((text_px(x) for x in labels), default=30.0)))
    row = 22
    height = 44 + row * len(labels) + 36
    width = fit_title(title, max(width, left + 260))
    finite = [v for v in values if v is not None and math.isfinite(v)]
    xs = ticks(min(0.0, *finite) if finite else 0.0, max(finite) if finite else 1.0, 5)
    span = (xs[-1] - xs[0]) or 1.0

    def x_of(v: float) -> float:
        return left + (v - xs[0]) / span * (width - left - 24)

    out = _open(name, title, width, height)
    bottom = 40 + row * len(labels)
    for v in xs:
        out.append(f'<line x1="{x_of(v):.1f}" x2="{x_of(v):.1f}" y1="34" y2="{bottom}" '
                   'stroke="#e5e5e5"/>')
        out.append(f'<text x="{x_of(v):.1f}" y="{bottom + 14}" text-anchor="middle" '
                   f'fill="#555">{fmt(v)}</text>')
    if value_label:
        out.append(f'<text x="{(left + width) / 2:.0f}" y="{bottom + 28}" text-anchor="middle" '
                   f'fill="#555">{escape(value_label)}</text>')
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = 40 + i * row
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">'
                   f"{escape(clip(label, left - 16))}</text>")  # the bar's tooltip names it whole
        if v is None or not math.isfinite(v):
            note = notes[i] if i < len(notes) else "no value"
            out.append(f'<text x="{x_of(0) + 4:.1f}" y="{y + 14}" fill="#b00">{escape(note)}</text>')
            continue
        x0, x1 = sorted((x_of(0), x_of(v)))
        out.append(f'<rect class="mark" x="{x0:.1f}" y="{y + 3}" width="{max(0.5, x1 - x0):.1f}" '
                   f'height="{row - 6}" fill="{PALETTE[0]}"><title>{escape(str(label))}: '
                   f"{fmt(v)}</title></rect>")
    return "\n".join(out + ["</svg>"])


def heatmap(name: str, title: str, rows: Sequence[str], cols: Sequence[str],
            cells: dict[tuple[str, str], tuple[str, float]],
            legend: Sequence[tuple[str, float]] = ()) -> str:
    """Rows × columns of labelled cells; ``cells[(r, c)] = (label, fraction in [0, 1])``;
    ``legend`` lists (label, fraction) swatches shown under the title."""
    longest = max((text_px(str(r)[:40]) for r in rows), default=30.0)
    longest_col = min(text_px("M" * 14), max((text_px(str(c)[:14]) for c in cols), default=30.0))
    cw = int(min(120, max(64, 10 + max((text_px(lb, 10) for lb, _ in cells.values()),
                                       default=0.0))))
    ch = 22
    top = 44 + (18 if legend else 0) + int(0.55 * longest_col)
    left = int(16 + longest)
    legend_w = sum(30 + text_px(label) for label, _ in legend) + 8
    width = fit_title(title, int(max(left + cw * len(cols) + 8 + 0.9 * longest_col, 320, legend_w)))
    height = top + ch * len(rows) + 10
    out = _open(name, title, width, height)
    x = 8
    for label, frac in legend:
        out.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{shade(frac)}" '
                   'stroke="#999" stroke-width="0.5"/>')
        out.append(f'<text x="{x + 16}" y="38">{escape(label)}</text>')
        x += 30 + text_px(label)
    for j, c in enumerate(cols):
        x = left + j * cw + cw / 2
        out.append(f'<text x="{x:.0f}" y="{top - 6}" text-anchor="start" '
                   f'transform="rotate(-30 {x:.0f} {top - 6})">{escape(str(c))[:14]}</text>')
    for i, r in enumerate(rows):
        y = top + i * ch
        out.append(f'<text x="{left - 6}" y="{y + ch / 2 + 4:.0f}" text-anchor="end">'
                   f"{escape(str(r))[:40]}</text>")
        for j, c in enumerate(cols):
            if (r, c) not in cells:
                continue
            label, frac = cells[(r, c)]
            fill = shade(frac)
            ink = "#fff" if frac > 0.55 else "#111"
            x = left + j * cw
            out.append(f'<rect class="mark" x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" '
                       f'fill="{fill}"><title>{escape(str(r))} × {escape(str(c))}: '
                       f"{escape(label)}</title></rect>")
            out.append(f'<text x="{x + cw / 2 - 1:.0f}" y="{y + ch / 2 + 3:.0f}" fill="{ink}" '
                       f'text-anchor="middle" font-size="10">{escape(clip(label, cw - 6, 10))}</text>')
    return "\n".join(out + ["</svg>"])


Series = Sequence[tuple[str, Sequence[float], Sequence[float]]]


def line_chart(name: str, title: str, series: Series,
               points: Sequence[tuple[str, float, float]] = (), x_label: str = "",
               y_label: str = "", width: int = 420, height: int = 260,
               x_format=fmt, dots: bool = True, y_min: float | None = None,
               legend: Sequence[tuple[str, str]] | None = None) -> str:
    """Lines (name, xs, ys) and marked points (name, x, y[, colour]; drawn as diamonds in
    the given colour, else that of the line with the same name, else black). The y axis
    starts at 0 (or below, for negative values) unless ``y_min`` is given. ``legend``
    (name, colour) replaces the legend built from the series and the coloured points (a
    scatter of many coloured points names its colours, not every point)."""
    xs = [x for _, sx, _ in series for x in sx] + [p[1] for p in points]
    yv = [y for _, _, sy in series for y in sy] + [p[2] for p in points]
    xs = [v for v in xs if math.isfinite(v)] or [0.0, 1.0]
    yv = [v for v in yv if math.isfinite(v)] or [0.0, 1.0]
    xt = ticks(min(xs), max(xs), 4)
    yt = ticks(min(0.0, min(yv)) if y_min is None else y_min, max(yv), 4)
    names = [s for s, _, _ in series] + [p[0] for p in points if len(p) > 3]
    width = fit_title(title, int(max(width, 72 + sum(24 + text_px(n) for n in names))))
    f = _Frame(width, height, (xt[0], xt[-1]), (yt[0], yt[-1]), left=56, bottom=56)
    out = _open(name, title, width, height) + _y_axis(f, yt, y_label)
    for v in xt:
        out.append(f'<text x="{f.x(v):.1f}" y="{f.h - f.b + 19}" text-anchor="middle" '
                   f'fill="#555">{x_format(v)}</text>')  # below the y axis's "0"
    if x_label:
        out.append(f'<text x="{(f.l + f.w - f.r) / 2:.0f}" y="{f.h - f.b + 33}" '
                   f'text-anchor="middle" fill="#555">{escape(x_label)}</text>')
    colour_of = {}
    for j, (sname, sx, sy) in enumerate(series):
        colour = colour_of[sname] = PALETTE[j % 10]
        d = " ".join(f"{f.x(x):.1f},{f.y(y):.1f}" for x, y in zip(sx, sy, strict=True)
                     if math.isfinite(x) and math.isfinite(y))
        out.append(f'<polyline class="mark" points="{d}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{f.x(x):.1f}" cy="{f.y(y):.1f}" r="2.5" fill="{colour}"/>'
                for x, y in zip(sx, sy, strict=True)
                if dots and math.isfinite(x) and math.isfinite(y)]
    for pname, x, y, *given in points:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        colour = given[0] if given else colour_of.get(pname, "#000")
        cx, cy = f.x(x), f.y(y)
        out.append(f'<path class="mark chosen" d="M{cx:.1f},{cy - 7:.1f} L{cx + 7:.1f},{cy:.1f} '
                   f'L{cx:.1f},{cy + 7:.1f} L{cx - 7:.1f},{cy:.1f} Z" fill="{colour}" '
                   f'stroke="#000" stroke-width="1.2"><title>{escape(pname)}: {fmt(y)} at '
                   f"{x_format(x)}</title></path>")
    if legend is None:
        legend = [(s, PALETTE[j % 10]) for j, (s, _, _) in enumerate(series)]
        legend += list(dict.fromkeys((p[0], p[3]) for p in points if len(p) > 3))
    out += _legend(legend, f.l, f.h - 4)
    return "\n".join(out + ["</svg>"])
