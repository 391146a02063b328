"""Charts as inline SVG built on the server: no script, no CDN (agency networks block them)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f6f8b", "#e07a1f", "#5b8c2a", "#9b3d8f", "#c0392b", "#6c6c6c", "#2a9d8f")
BAR_H, GAP, LABEL_W, WIDTH = 18, 6, 150, 560


def bar_chart(pairs: Sequence[tuple[str, float]], title: str) -> Markup:
    """Horizontal bars, one per label, with the value written at the end."""
    top = max((v for _, v in pairs), default=0) or 1
    height = max(1, len(pairs)) * (BAR_H + GAP) + 10
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    span = WIDTH - LABEL_W - 50
    for i, (label, value) in enumerate(pairs):
        y = i * (BAR_H + GAP) + 5
        w = max(1.0, span * value / top)
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{LABEL_W + w + 4:.1f}" y="{y + 13}">{value:g}</text>'
        )
    if not pairs:
        parts.append('<text x="10" y="15">No data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    title: str,
    y_max: float | None = None,
) -> Markup:
    """One line per series over shared x labels (weeks), with a legend; gaps stay gaps."""
    width, height, left, bottom, top_pad = 640, 260, 40, 40, 10
    peak = y_max or max((v for vs in series.values() for v in vs if v is not None), default=1)
    peak = peak or 1
    plot_w, plot_h = width - left - 150, height - bottom - top_pad
    step = plot_w / max(1, len(labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top_pad + plot_h * (1 - v / peak)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
        f'y2="{top_pad + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end">{peak:g}</text>',
        f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        if len(labels) <= 8 or i % 2 == 0:
            x, _ = xy(i, 0)
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = [xy(i, v) for i, v in enumerate(values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
            parts += [
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points
            ]
        ly = top_pad + 14 + n * 18
        parts.append(
            f'<rect x="{width - 140}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{width - 122}" y="{ly}">{escape(name)}</text>'
        )
    if not labels:
        parts.append('<text x="60" y="40">No data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_bar_chart(
    rows: Sequence[tuple[str, tuple[float | None, str], tuple[float | None, str]]],
    title: str,
    names: tuple[str, str],
    chart_id: str = "",
) -> Markup:
    """Two bars per group (e.g. respondents' share beside the community's), each with its
    written value; a missing value draws no bar, only its text ("fewer than 5")."""
    pair_h, bar_h, legend_h = 2 * BAR_H + GAP * 2, BAR_H, 24
    height = legend_h + max(1, len(rows)) * pair_h + 10
    top = max((v for _, *bars in rows for v, _ in bars if v is not None), default=0) or 1
    span = WIDTH - LABEL_W - 90
    ident = f' id="{escape(chart_id)}"' if chart_id else ""
    parts = [
        f'<svg class="chart representation"{ident} role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for n, name in enumerate(names):
        x = LABEL_W + n * 200
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{PALETTE[n]}"/>'
            f'<text x="{x + 18}" y="15">{escape(name)}</text>'
        )
    for i, (label, *bars) in enumerate(rows):
        y = legend_h + i * pair_h
        short = label if len(label) <= 24 else label[:23] + "…"  # long place names
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + bar_h + 2}" text-anchor="end">{escape(short)}</text>'
        )
        for n, (value, text) in enumerate(bars):
            by = y + n * bar_h
            w = max(1.0, span * value / top) if value else 0.0
            if w:
                parts.append(
                    f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" '
                    f'fill="{PALETTE[n]}"/>'
                )
            parts.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{by + 12}">{escape(text)}</text>')
    if not rows:
        parts.append(f'<text x="10" y="{legend_h + 15}">No data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
