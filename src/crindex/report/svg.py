"""Charts as inline SVG text: no JavaScript, no network, nothing to install to view them.

Each function returns one ``<svg class="chart">`` element sized in CSS pixels. Values that are
``None`` are not drawn (a gap in a line, no bar), never drawn as zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from html import escape

from crindex.report.palette import THRESHOLD

#: Series colours, first = the main colour of single-series charts.
PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777",
           "#65a30d")
#: Colour of bars that a check flagged.
FLAG = "#dc2626"
AXIS = "#6b7280"
GRID = "#e5e7eb"
FONT = 'font-family="system-ui, sans-serif"'

Fmt = Callable[[float], str]


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def nice_axis(value: float, ticks: int = 4) -> tuple[float, int]:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) and the number of steps.

    The axis runs from 0 to ``step * steps >= value`` with at most ``ticks + 1`` steps.
    """
    if value <= 0 or math.isnan(value):
        return 0.25, 4
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-12)
    return step, max(1, math.ceil(value / step - 1e-9))


def _frame(width: int, height: int, title: str) -> list[str]:
    return [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}">',
            f'<title>{escape(title)}</title>']


def _y_axis(parts: list[str], left: int, top: int, plot_w: int, plot_h: int, values: list[float],
            fmt: Fmt) -> float:
    """Draw the grid and the y labels; return the value at the top of the plot."""
    step, steps = nice_axis(max(values, default=0.0))
    top_value = step * steps
    for i in range(steps + 1):
        y = top + plot_h - plot_h * i / steps
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{AXIS}" {FONT}>{escape(fmt(step * i))}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
                 f'y2="{top + plot_h}" stroke="{AXIS}"/>')
    return top_value


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              fmt: Fmt = _num, colors: Sequence[str] | None = None, width: int = 530,
              height: int = 240) -> str:
    """Vertical bars, one per label, with the value written above each bar."""
    left, right, top, bottom = 56, 12, 16, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    drawn = [v for v in values if v is not None and not math.isnan(v)]
    parts = _frame(width, height, title)
    top_value = _y_axis(parts, left, top, plot_w, plot_h, drawn, fmt)
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    small = n > 12
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * i + (slot - bar_w) / 2
        cx = left + slot * (i + 0.5)
        if value is not None and not math.isnan(value):
            h = plot_h * max(value, 0.0) / top_value
            color = colors[i] if colors else PALETTE[0]
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                         f'<title>{escape(label)}: {escape(fmt(value))}</title></rect>')
            if not small:
                parts.append(f'<text x="{cx:.1f}" y="{top + plot_h - h - 4:.1f}" '
                             f'text-anchor="middle" font-size="11" fill="#111827" {FONT}>'
                             f'{escape(fmt(value))}</text>')
        if not small or i % 2 == 0:
            parts.append(_label(label, cx, top + plot_h + 16, slot * (2 if small else 1)))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               title: str, fmt: Fmt = _num, width: int = 530, height: int = 260,
               colors: Sequence[str] | None = None,
               thresholds: Sequence[tuple[str, float]] = (),
               y_max: float | None = None) -> str:
    """One line per series over the same x labels (dates), with a legend below.

    ``colors`` gives each series its colour (else :data:`PALETTE` in turn). From the second
    series on, lines are dashed and drawn over the first, so two series with equal values
    (a score and its adjusted score when no adjustment is in force) both stay visible.
    ``thresholds`` are ``(label, value)`` horizontal lines (a tier's lower bound), labelled at
    the right end. ``y_max`` fixes the top of the axis (100 for scores). Dates are written as
    dates (``2025-12-31``, never a time of day).
    """
    left, right, top = 56, 16, 16
    legend_rows = math.ceil(len(series) / 4)
    bottom = 36 + 18 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    x_labels = [as_date(x) for x in x_labels]
    drawn = [v for _, vs in series for v in vs if v is not None and not math.isnan(v)]
    drawn += [v for _, v in thresholds]
    if y_max is not None:
        drawn.append(y_max)
    parts = _frame(width, height, title)
    top_value = _y_axis(parts, left, top, plot_w, plot_h, drawn, fmt)
    n = len(x_labels)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * (i + 0.5) / n if n else 0)
        return x, top + plot_h - plot_h * max(v, 0.0) / top_value

    for name, value in thresholds:
        _, y = xy(0, value)
        parts.append(f'<line class="threshold" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" '
                     f'y2="{y:.1f}" stroke="{THRESHOLD}" stroke-dasharray="2 3">'
                     f'<title>{escape(name)}</title></line>')
        parts.append(f'<text class="threshold" x="{left + plot_w - 2}" y="{y - 3:.1f}" '
                     f'text-anchor="end" font-size="10" fill="{THRESHOLD}" {FONT}>'
                     f'{escape(name)}</text>')
    # as many labels as fit side by side, counted back from the latest (the one people look for)
    widest = max((_width(label) for label in x_labels), default=0.0)
    step = max(1, math.ceil((widest + 10) / (plot_w / n))) if n else 1
    for i, label in enumerate(x_labels):
        if (n - 1 - i) % step:
            continue
        x, _ = xy(i, 0.0)
        half = _width(label) / 2 + 2
        x = min(max(x, half), width - half)  # the first and last labels stay inside
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11" fill="#374151" {FONT}>{escape(label)}</text>')
    for k, (name, values) in enumerate(series):
        color = colors[k] if colors else PALETTE[k % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if k else ""
        run: list[str] = []
        for i, v in enumerate(values):
            if v is None or math.isnan(v):
                _polyline(parts, run, color, dash)
                run = []
                continue
            x, y = xy(i, v)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" '
                         f'r="{3.5 if not k else 2.5}" fill="{color}"><title>{escape(name)} '
                         f'{escape(x_labels[i])}: {escape(fmt(v))}</title></circle>')
        _polyline(parts, run, color, dash)
        lx = left + (k % 4) * (plot_w / 4)
        ly = top + plot_h + 34 + 18 * (k // 4)
        parts.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="12" fill="{color}"/>'
                     + _label(name, lx + 16, ly + 1, plot_w / 4 - 20, anchor="start"))
    parts.append("</svg>")
    return "".join(parts)


def as_date(label: object) -> str:
    """A date for an axis: ``2025-12-31T00:00:00.000001`` and ``2025-12-31 00:00`` -> the day."""
    text = str(label)
    found = re.match(r"(\d{4}-\d{2}-\d{2})[T ]", text)
    return found.group(1) if found else text


def _label(label: str, x: float, y: float, room: float, anchor: str = "middle") -> str:
    """An axis or legend label in ``room`` pixels, its whole text in its tooltip.

    On two lines when it is too long for one; cut with an ellipsis only past two lines.
    """
    lines = _wrap(label, room)
    shown = lines[:2]
    if len(lines) > 2:
        shown[1] = _fit(shown[1] + "…", room)
        if not shown[1].endswith("…"):
            shown[1] += "…"
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 12}">{escape(line)}</tspan>'
                    for i, line in enumerate(shown))
    return (f'<text class="label" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
            f'font-size="11" fill="#374151" {FONT}><title>{escape(label)}</title>{spans}</text>')


def _wrap(label: str, room: float) -> list[str]:
    """``label`` in lines of at most ``room`` pixels (at spaces, else anywhere for CJK)."""
    if _width(label) <= room:
        return [label]
    lines: list[str] = []
    line = ""
    tokens = re.findall(r"\S+\s*", label) if " " in label else list(label)
    for token in tokens:
        if line and _width(line + token.rstrip()) > room:
            lines.append(line.rstrip())
            line = ""
        while _width(token.rstrip()) > room and len(token) > 1:  # a word longer than a line
            cut = max(1, len(_fit(token, room)) - 1)
            lines.append(token[:cut])
            token = token[cut:]
        line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _width(label: str) -> float:
    """About how many pixels ``label`` takes at 11 px type (see :func:`_fit`)."""
    return sum(13.0 if ord(ch) >= 0x2E80 else 6.5 for ch in label)


def _fit(label: str, room: float) -> str:
    """``label`` cut with an ellipsis to about ``room`` pixels.

    A Latin character takes ~6.5 px at 11 px type, a CJK one about twice that.
    """
    budget = max(3.0, room / 6.5)
    used, out = 0.0, list[str]()
    for ch in label:
        used += 2.0 if ord(ch) >= 0x2E80 else 1.0
        if used > budget:
            return "".join(out[:-1]) + "\u2026"
        out.append(ch)
    return label


def _polyline(parts: list[str], points: list[str], color: str, dash: str = "") -> None:
    if len(points) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(points)}" fill="none" '
                     f'stroke="{color}" stroke-width="{2 if dash else 3}"{dash}/>')
