"""Small server-rendered SVG bar charts (no JavaScript, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    css: str  # a class in console.css (fill colour)


def bar_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, width: int = 480, height: int = 150
) -> Markup:
    """Grouped bars, one group per label (oldest first). Values are numbers; labels are escaped."""
    n = len(labels)
    top = max([v for s in series for v in s.values] + [1.0])
    pad_l, pad_b, pad_t = 36, 18, 10
    plot_w, plot_h = width - pad_l - 4, height - pad_b - pad_t
    group = plot_w / max(n, 1)
    bar = max(1.0, (group - 4) / max(len(series), 1))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 4}" y2="{pad_t + plot_h}"/>',
        f'<text class="tick" x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end">{_num(top)}</text>',
        f'<text class="tick" x="{pad_l - 4}" y="{pad_t + plot_h}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = pad_l + i * group + 2
        for j, s in enumerate(series):
            v = float(s.values[i]) if i < len(s.values) else 0.0
            h = plot_h * v / top
            parts.append(
                f'<rect class="{escape(s.css)}" x="{x0 + j * bar:.1f}" y="{pad_t + plot_h - h:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}: {escape(s.label)} {_num(v)}</title></rect>"
            )
        if n <= 12 or i % max(1, n // 10) == 0:
            parts.append(
                f'<text class="tick" x="{x0 + group / 2:.1f}" y="{height - 4}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend"><span class="swatch {escape(s.css)}"></span>{escape(s.label)}</span>'
        for s in series
    )
    # every interpolated text above went through escape(); numbers are formatted floats
    return Markup(  # noqa: S704
        f'<figure class="chartbox"><figcaption>{escape(title)} {legend}</figcaption>{"".join(parts)}</figure>'
    )


def _num(v: float) -> str:
    return f"{v:.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"
