"""Small SVG charts rendered on the server: no chart library, no script, readable without
JavaScript and allowed by the console's CSP. Every label is escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#0b5cab", "#e8833a", "#2f9e44", "#b00020", "#7048e8", "#868e96")


def stacked_bars(labels: list[str], series: dict[str, list[float]], title: str,
                 width: int = 720, height: int = 220) -> Markup:
    """Columns per label, one colour per series, with a legend and hover titles."""
    left, bottom, top = 36, 28, 24
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    step = (width - left) / max(len(labels), 1)
    parts = [_axis(left, top, width, height - bottom, peak)]
    for i, label in enumerate(labels):
        y = height - bottom
        for colour, (name, values) in zip(PALETTE, series.items(), strict=False):
            value = values[i]
            if not value:
                continue
            h = value / peak * (height - bottom - top)
            y -= h
            parts.append(f'<rect x="{left + i * step + 1:.1f}" y="{y:.1f}" '
                         f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{escape(label)} · {escape(name)}: {value:g}</title></rect>")
        if len(labels) <= 12 or i % max(1, len(labels) // 6) == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{height - 10}" '
                         f'font-size="10">{escape(label)}</text>')
    legend = "".join(f'<rect x="{left + n * 110}" y="4" width="10" height="10" fill="{c}"/>'
                     f'<text x="{left + n * 110 + 14}" y="13" font-size="11">{escape(name)}'
                     f"</text>" for n, (c, name) in enumerate(zip(PALETTE, series,
                                                                   strict=False)))
    return _svg(width, height, title, legend + "".join(parts))


def horizontal_bars(items: list[tuple[str, float]], title: str, width: int = 420,
                    unit: str = "") -> Markup:
    row, label_width = 22, 170
    height = max(len(items), 1) * row + 8
    peak = max((v for _, v in items), default=0) or 1
    parts = []
    for n, ((label, value), colour) in enumerate(zip(items, _cycle(len(items)), strict=True)):
        y = 4 + n * row
        w = value / peak * (width - label_width - 60)
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(f'<text x="0" y="{y + 14}" font-size="12"><title>{escape(label)}</title>'
                     f"{escape(short)}</text>"
                     f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="14" '
                     f'fill="{colour}"/><text x="{label_width + w + 4:.1f}" y="{y + 14}" '
                     f'font-size="12">{value:g}{escape(unit)}</text>')
    return _svg(width, height, title, "".join(parts))


def line(labels: list[str], values: list[float | None], title: str, unit: str = "ms",
         width: int = 720, height: int = 180) -> Markup:
    left, bottom, top = 36, 28, 12
    known = [v for v in values if v is not None]
    peak = max(known, default=0) or 1
    step = (width - left) / max(len(values) - 1, 1)
    points = [(left + i * step, height - bottom - v / peak * (height - bottom - top), v, i)
              for i, v in enumerate(values) if v is not None]
    path = " ".join(f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}"
                    for n, (x, y, _, _) in enumerate(points))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}"><title>'
                   f"{escape(labels[i])}: {v:.0f} {escape(unit)}</title></circle>"
                   for x, y, v, i in points)
    body = (_axis(left, top, width, height - bottom, peak)
            + (f'<path d="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>'
               if points else "") + dots)
    return _svg(width, height, title, body)


def _axis(left: int, top: int, width: int, base: float, peak: float) -> str:
    return (f'<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#9aa5b1"/>'
            f'<text x="0" y="{top + 8}" font-size="10">{peak:g}</text>'
            f'<text x="0" y="{base}" font-size="10">0</text>')


def _svg(width: int, height: int, title: str, body: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
                  f'height="{height}" viewBox="0 0 {width} {height}" class="chart">'
                  f"<title>{escape(title)}</title>{body}</svg>")


def _cycle(count: int) -> list[str]:
    return [PALETTE[n % len(PALETTE)] for n in range(count)]
