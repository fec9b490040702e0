"""Small inline SVG bar charts of per-minute counts (no script, no style: CSP-safe)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 120, 24  # px
NO_DATA = Markup('<span class="muted">no data</span>')


def sparkline(values: object, label: str = "per minute") -> Markup:
    """One bar per value, oldest first, scaled to the largest; "no data" for anything that is
    not a non-empty list of counts (say, an API without `per_minute` yet)."""
    if not isinstance(values, list) or not values or len(values) > 10_000:
        return NO_DATA
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return NO_DATA
    top = max(values)
    step = WIDTH / len(values)
    bars = []
    for n, value in enumerate(values):
        if value:
            height = max(1.0, HEIGHT * value / top)
            bars.append(
                f'<rect x="{n * step:.2f}" y="{HEIGHT - height:.2f}" '
                f'width="{max(step - 0.5, 0.5):.2f}" height="{height:.2f}"/>'
            )
    summary = escape(f"{sum(values)} in {len(values)} min, at most {top} {label}")
    # Safe: every value interpolated is a number formatted here, or escaped just above.
    return Markup(  # noqa: S704
        f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{summary}"><title>{summary}</title>'
        f'<line x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}"/>'
        f"{''.join(bars)}</svg>"
    )
