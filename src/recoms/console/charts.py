"""Charts for the console, drawn on the server as inline SVG: no chart library, no script, no CDN."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777")
WIDTH, HEIGHT = 640, 210
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 24, 28
Format = Callable[[float], str]


def count(value: float) -> str:
    return f"{value:,.0f}"


def percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def money(value: float) -> str:
    return f"{value:,.2f}"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


def _y(value: float, top: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return TOP + plot - (value / top) * plot if top else TOP + plot


def _frame(title: str, kind: str, top: float, fmt: Format) -> list[str]:
    parts = [f'<svg class="chart" data-chart="{escape(kind)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{LEFT}" y="14" class="chart-title">{escape(title)}</text>']
    for share in (0.0, 0.5, 1.0):
        y = _y(top * share, top)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(fmt(top * share))}'
                     "</text>")
    return parts


def _nice(top: float) -> float:
    return top * 1.1 if top > 0 else 1.0


def line_chart(title: str, kind: str, labels: Sequence[str], series: Sequence[Series], fmt: Format = count) -> Markup:
    """One line per series over the labels (days); a point per value, with its value as a tooltip."""
    top = _nice(max((v for s in series for v in s.values if v is not None), default=0.0))
    parts = _frame(title, kind, top, fmt)
    n = len(labels)
    step = (WIDTH - LEFT - RIGHT) / max(n - 1, 1)
    for at in sorted({0, n // 2, n - 1}) if n else ():
        x = LEFT + at * step
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="tick" text-anchor="middle">'
                     f"{escape(labels[at])}</text>")
    for s in series:
        points = [(LEFT + i * step, _y(v, top), v, labels[i]) for i, v in enumerate(s.values) if v is not None]
        if points:
            path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _v, _l) in enumerate(points))
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            parts.append(f'<path d="{path}" fill="none" stroke="{s.color}" stroke-width="2"{dash} class="series" '
                         f'data-series="{escape(s.name)}"/>')
        for x, y, v, label in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{s.color}" class="point">'
                         f'<title>{escape(s.name)} {escape(label)}: {escape(fmt(v))}</title></circle>')
    parts.append("</svg>")
    legend = "".join(f'<span class="legend"><i style="background:{s.color}"></i>{escape(s.name)}</span>'
                     for s in series)
    # Every text in it went through escape() above.
    return Markup(f'<figure class="chart-box">{"".join(parts)}<figcaption>{legend}</figcaption></figure>')  # noqa: S704


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None
    high: float | None
    color: str


def interval_chart(title: str, kind: str, bars: Sequence[Bar], fmt: Format = percent) -> Markup:
    """Variants side by side: a bar for each estimate, a whisker for its 95 % interval."""
    top = _nice(max((b.high if b.high is not None else (b.value or 0.0)) for b in bars) if bars else 0.0)
    parts = _frame(title, kind, top, fmt)
    slot = (WIDTH - LEFT - RIGHT) / max(len(bars), 1)
    width = min(60.0, slot * 0.5)
    for i, b in enumerate(bars):
        x = LEFT + slot * i + (slot - width) / 2
        mid = x + width / 2
        parts.append(f'<text x="{mid:.1f}" y="{HEIGHT - 8}" class="tick" text-anchor="middle">{escape(b.label)}</text>')
        if b.value is None:
            parts.append(f'<text x="{mid:.1f}" y="{HEIGHT / 2:.1f}" class="tick" text-anchor="middle">no data</text>')
            continue
        y = _y(b.value, top)
        base = _y(0.0, top)
        interval = f"{fmt(b.low)} – {fmt(b.high)}" if b.low is not None and b.high is not None else "no interval"
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{max(base - y, 0.5):.1f}" '
                     f'fill="{b.color}" class="bar" data-variant="{escape(b.label)}"><title>{escape(b.label)}: '
                     f'{escape(fmt(b.value))} (95 % interval {escape(interval)})</title></rect>')
        if b.low is not None and b.high is not None:
            lo, hi = _y(b.low, top), _y(b.high, top)
            parts.append(f'<path d="M{mid:.1f},{lo:.1f} L{mid:.1f},{hi:.1f} M{mid - 8:.1f},{lo:.1f} '
                         f'L{mid + 8:.1f},{lo:.1f} M{mid - 8:.1f},{hi:.1f} L{mid + 8:.1f},{hi:.1f}" '
                         'stroke="#111827" stroke-width="1.5" class="whisker"/>')
    parts.append("</svg>")
    return Markup(f'<figure class="chart-box">{"".join(parts)}</figure>')  # noqa: S704 - texts escaped above
