"""Charts as server-rendered SVG: no script, no third-party library, readable without colour (titles)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 720, 180, 24


def stacked_bars(days: Sequence[dt.date], counts: dict[dt.date, Counter[str]], keys: Sequence[str],
                 label: str) -> Markup:
    """One bar a day, stacked by key; each segment has a <title> with its numbers."""
    peak = max([sum(counts[d].values()) for d in days] + [1])
    step = (WIDTH - PAD) / max(len(days), 1)
    bar = max(step - 2, 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT + PAD}" aria-label="{escape(label)}">',
             f'<text x="0" y="12" class="axis">{peak}</text>',
             f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}" class="axis-line"/>']
    for i, day in enumerate(days):
        x = PAD + i * step
        y = float(HEIGHT)
        for n, key in enumerate(keys):
            value = counts[day][key]
            if not value:
                continue
            h = value / peak * (HEIGHT - 16)
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" class="s{n}">'
                         f'<title>{escape(day.isoformat())} {escape(key)}: {value}</title></rect>')
        if i % 7 == 0 or i == len(days) - 1:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT + 16}" class="axis">{day.strftime("%d/%m")}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(keys: Sequence[str]) -> Markup:
    items = "".join(f'<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" class="s{n}"/>'
                    f"</svg> {escape(k)}</li>" for n, k in enumerate(keys))
    return Markup(f'<ul class="legend">{items}</ul>')
