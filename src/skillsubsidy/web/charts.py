"""Server-side SVG charts for the pages: bars, a line and a stacked bar of claim statuses.

Each function returns one self-contained ``<svg>`` string (valid XML, no script, no external
resource). Every text that comes from the caller is escaped here, so a template may embed the
result with ``|safe``. Amounts are :class:`~decimal.Decimal`; floats are used only for pixels.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

__all__ = ["NO_DATA", "OKABE_ITO", "bar_chart", "line_chart", "nice_ticks", "stacked_status_bar"]

NO_DATA = "暂无数据"
FONT_FAMILY = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"
# Okabe & Ito (2008), safe for the common kinds of colour blindness; black last, used least.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
ACCENT = "#0072B2"  # Okabe–Ito blue: bars, line and dots
INK = "#222222"
MUTED = "#555555"
GRID = "#DDDDDD"

TITLE_SIZE = 15
LABEL_SIZE = 12
SMALL_SIZE = 11
MIN_VALUE_SIZE = 8
MAX_BAR_WIDTH = 72.0
MIN_WIDTH = 200
MIN_HEIGHT = 160
STATUS_BAR_HEIGHT = 28

_INTERVALS = 5  # at most this many tick intervals on the value axis
_CENT = Decimal("0.01")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_ELLIPSIS = "…"


# --- text -----------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Text safe inside an element or a double-quoted attribute (XML-invalid characters dropped)."""
    return html.escape(_XML_INVALID.sub("", text), quote=True)


def _char_width(char: str, size: float) -> float:
    """Estimated advance of one character: CJK (and ambiguous, e.g. …) full width, others 0.6."""
    return size if unicodedata.east_asian_width(char) in "WFA" else size * 0.6


def _text_width(text: str, size: float) -> float:
    return sum(_char_width(char, size) for char in text)


def _shorten(text: str, max_width: float, size: float) -> str:
    """``text`` if it fits in ``max_width`` pixels, else its longest fitting start plus …."""
    if _text_width(text, size) <= max_width:
        return text
    budget = max_width - _char_width(_ELLIPSIS, size)
    kept, used = "", 0.0
    for char in text:
        used += _char_width(char, size)
        if used > budget:
            break
        kept += char
    return (kept or text[:1]) + _ELLIPSIS


def _money(value: Decimal) -> str:
    """``1950`` → ``1,950.00`` (half up to the cent)."""
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}"


def _tick_text(value: Decimal) -> str:
    """``1E+3`` → ``1,000``; ``0.20`` → ``0.2``."""
    return f"{value.normalize():,f}"


def _num(x: float) -> str:
    """A pixel coordinate with at most two decimals."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _unit_suffix(unit: str) -> str:
    return f" {unit}" if unit else ""


# --- checks and ids -------------------------------------------------------------------------


def _check_size(width: int, height: int) -> None:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"chart too small: {width}×{height} (at least {MIN_WIDTH}×{MIN_HEIGHT})")


def _check_amount(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"amounts must be Decimal, not {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"amounts must be finite and not negative: {value}")
    return value


def _check_count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"counts must be int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"counts must not be negative: {value}")
    return value


def _chart_id(chart_id: str | None, kind: str, *data: object) -> str:
    """The caller's id (checked), or one derived from the inputs: same chart, same id."""
    if chart_id is not None:
        if not _CHART_ID.fullmatch(chart_id):
            raise ValueError(f"chart_id must be a plain identifier: {chart_id!r}")
        return chart_id
    digest = hashlib.blake2s(repr((kind, *data)).encode("utf-8"), digest_size=4).hexdigest()
    return f"chart-{digest}"


# --- scale ----------------------------------------------------------------------------------


def nice_ticks(maximum: Decimal) -> list[Decimal]:
    """Round ticks from 0 up to at least ``maximum``, with a step of 1, 2 or 5 × 10^k.

    The step is the smallest such number that needs at most five intervals, so there are
    three to five intervals (four to six ticks counting 0): 4550 → 0, 1000, …, 5000.
    A maximum of 0 gives 0, 1, …, 5.
    """
    if not maximum.is_finite():
        raise ValueError(f"maximum must be finite: {maximum}")
    if maximum <= 0:
        return [Decimal(i) for i in range(_INTERVALS + 1)]
    raw = maximum / _INTERVALS
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    count = int((maximum / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * i for i in range(count + 1)]


def _ratio(value: Decimal, top: Decimal) -> float:
    """``value / top`` for pixels; ``top`` is the last tick, never 0."""
    return float(value / top)


@dataclass(frozen=True)
class _Frame:
    """The plot area inside the SVG, in pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def y(self, ratio: float) -> float:
        return self.bottom - ratio * self.height


def _frame(width: int, height: int, ticks: Sequence[Decimal], unit: str) -> _Frame:
    labels = [_tick_text(tick) for tick in ticks]
    if unit:
        labels.append(f"（{unit}）")
    left = max(40.0, max(_text_width(label, SMALL_SIZE) for label in labels) + 14)
    return _Frame(left=left, top=56.0, right=width - 16.0, bottom=height - 34.0)


# --- SVG pieces -----------------------------------------------------------------------------


def _open(ident: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" class="chart-svg"'
        f' role="img" aria-labelledby="{ident}-title" aria-describedby="{ident}-desc"'
        f' font-family="{FONT_FAMILY}">',
        f'<title id="{ident}-title">{_esc(title)}</title>',
        f'<desc id="{ident}-desc">{_esc(desc)}</desc>',
        _text(
            _shorten(title, width - 32, TITLE_SIZE),
            width / 2,
            24,
            size=TITLE_SIZE,
            css="chart-title",
            bold=True,
        ),
    ]


def _text(
    text: str,
    x: float,
    y: float,
    *,
    size: float = SMALL_SIZE,
    css: str,
    anchor: str = "middle",
    fill: str = INK,
    bold: bool = False,
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text class="{css}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"'
        f' font-size="{_num(size)}" fill="{fill}"{weight}>{_esc(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, *, css: str, stroke: str) -> str:
    return (
        f'<line class="{css}" x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"'
        f' stroke="{stroke}" stroke-width="1"/>'
    )


def _value_axis(frame: _Frame, ticks: Sequence[Decimal], unit: str) -> list[str]:
    """Grid lines with tick labels, the unit above them, and the axis lines."""
    parts = ['<g class="chart-axis">']
    for tick in ticks:
        y = frame.y(_ratio(tick, ticks[-1]))
        parts.append(_line(frame.left, y, frame.right, y, css="chart-grid", stroke=GRID))
        parts.append(
            _text(
                _tick_text(tick), frame.left - 6, y + 4, css="chart-tick", anchor="end", fill=MUTED
            )
        )
    if unit:
        parts.append(
            _text(f"（{unit}）", frame.left - 6, frame.top - 14, css="chart-unit", anchor="end")
        )
    parts.append(
        _line(frame.left, frame.top, frame.left, frame.bottom, css="chart-axis-line", stroke=MUTED)
    )
    parts.append(
        _line(
            frame.left, frame.bottom, frame.right, frame.bottom, css="chart-axis-line", stroke=MUTED
        )
    )
    parts.append("</g>")
    return parts


def _no_data(ident: str, title: str, width: int, height: int) -> str:
    parts = _open(ident, width, height, title, NO_DATA)
    parts.append(
        _text(
            NO_DATA, width / 2, height / 2 + 6, size=LABEL_SIZE + 2, css="chart-empty", fill=MUTED
        )
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _summary(items: Sequence[tuple[str, Decimal]], unit: str) -> str:
    return "；".join(f"{label}：{_money(value)}{_unit_suffix(unit)}" for label, value in items)


def _value_size(text: str, room: float) -> float:
    """The font size at which ``text`` fits in ``room`` pixels, between 8 and 11."""
    natural = _text_width(text, SMALL_SIZE)
    if natural <= room:
        return SMALL_SIZE
    return max(MIN_VALUE_SIZE, SMALL_SIZE * room / natural)


# --- charts ---------------------------------------------------------------------------------


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, Decimal]],
    unit: str = "元",
    width: int = 640,
    height: int = 320,
    *,
    chart_id: str | None = None,
) -> str:
    """Vertical bars, the label under each bar and its amount (``1,950.00``) above it.

    A label wider than its bar is shortened with …; the full label and amount are in the bar's
    ``<title>`` (tooltip). No bars → an SVG saying 暂无数据.
    """
    _check_size(width, height)
    items = [(label, _check_amount(value)) for label, value in bars]
    ident = _chart_id(chart_id, "bar", title, items, unit, width, height)
    if not items:
        return _no_data(ident, title, width, height)
    ticks = nice_ticks(max(value for _, value in items))
    frame = _frame(width, height, ticks, unit)
    slot = frame.width / len(items)
    bar_width = min(slot * 0.7, MAX_BAR_WIDTH)
    parts = _open(ident, width, height, title, _summary(items, unit))
    parts.extend(_value_axis(frame, ticks, unit))
    parts.append('<g class="chart-bars">')
    for index, (label, value) in enumerate(items):
        centre = frame.left + slot * (index + 0.5)
        parts.append(_bar(frame, centre, bar_width, label, value, ticks[-1], unit, slot))
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _bar(
    frame: _Frame,
    centre: float,
    bar_width: float,
    label: str,
    value: Decimal,
    top: Decimal,
    unit: str,
    slot: float,
) -> str:
    """One bar: tooltip, rectangle, amount above and (shortened) label below."""
    y = frame.y(_ratio(value, top))
    amount = _money(value)
    return "".join(
        [
            '<g class="chart-bar-group">',
            f"<title>{_esc(f'{label}：{amount}{_unit_suffix(unit)}')}</title>",
            f'<rect class="chart-bar" x="{_num(centre - bar_width / 2)}" y="{_num(y)}"'
            f' width="{_num(bar_width)}" height="{_num(frame.bottom - y)}" fill="{ACCENT}"/>',
            _text(amount, centre, y - 5, size=_value_size(amount, slot - 2), css="chart-value"),
            _text(
                _shorten(label, bar_width, LABEL_SIZE),
                centre,
                frame.bottom + 18,
                size=LABEL_SIZE,
                css="chart-label",
            ),
            "</g>",
        ]
    )


def line_chart(
    title: str,
    points: Sequence[tuple[str, Decimal]],
    unit: str = "元",
    width: int = 640,
    height: int = 320,
    *,
    chart_id: str | None = None,
) -> str:
    """A line through one dot per point (e.g. per month ``2024-01``), on the bar chart's axis.

    Amounts are printed above the dots when all of them fit, and are always in each dot's
    ``<title>``. When the labels under the axis do not fit, only every n-th one is shown.
    """
    _check_size(width, height)
    items = [(label, _check_amount(value)) for label, value in points]
    ident = _chart_id(chart_id, "line", title, items, unit, width, height)
    if not items:
        return _no_data(ident, title, width, height)
    ticks = nice_ticks(max(value for _, value in items))
    frame = _frame(width, height, ticks, unit)
    slot = frame.width / len(items)
    xy = [
        (frame.left + slot * (index + 0.5), frame.y(_ratio(value, ticks[-1])))
        for index, (_, value) in enumerate(items)
    ]
    parts = _open(ident, width, height, title, _summary(items, unit))
    parts.extend(_value_axis(frame, ticks, unit))
    if len(xy) > 1:
        coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)
        parts.append(
            f'<polyline class="chart-line" points="{coords}" fill="none"'
            f' stroke="{ACCENT}" stroke-width="2" stroke-linejoin="round"/>'
        )
    parts.extend(_dots(items, xy, unit, slot))
    parts.extend(_axis_labels([label for label, _ in items], [x for x, _ in xy], frame, slot))
    parts.append("</svg>")
    return "\n".join(parts)


def _dots(
    items: Sequence[tuple[str, Decimal]],
    xy: Sequence[tuple[float, float]],
    unit: str,
    slot: float,
) -> list[str]:
    amounts = [_money(value) for _, value in items]
    show = max(_text_width(amount, SMALL_SIZE) for amount in amounts) <= slot - 2
    parts = ['<g class="chart-points">']
    for (label, _), amount, (x, y) in zip(items, amounts, xy, strict=True):
        parts.append('<g class="chart-point-group">')
        parts.append(f"<title>{_esc(f'{label}：{amount}{_unit_suffix(unit)}')}</title>")
        parts.append(
            f'<circle class="chart-point" cx="{_num(x)}" cy="{_num(y)}" r="3.5"'
            f' fill="{ACCENT}" stroke="#FFFFFF" stroke-width="1"/>'
        )
        if show:
            parts.append(_text(amount, x, y - 8, css="chart-value"))
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _axis_labels(
    labels: Sequence[str], xs: Sequence[float], frame: _Frame, slot: float
) -> list[str]:
    """Labels under the axis, every ``stride``-th one so that they do not overlap."""
    widest = max(_text_width(label, LABEL_SIZE) for label in labels)
    stride = max(1, math.ceil((widest + 4) / slot))
    room = slot * stride - 4
    parts = ['<g class="chart-labels">']
    for index in range(0, len(labels), stride):
        text = _shorten(labels[index], room, LABEL_SIZE)
        parts.append(_text(text, xs[index], frame.bottom + 18, size=LABEL_SIZE, css="chart-label"))
    parts.append("</g>")
    return parts


def stacked_status_bar(
    title: str,
    counts: Mapping[str, int],
    names: Mapping[str, str],
    *,
    width: int = 640,
    chart_id: str | None = None,
) -> str:
    """One horizontal bar split by claim status, with a legend of Chinese name and count.

    Colours follow the order of ``counts`` (Okabe–Ito, repeating after eight), so a status keeps
    its colour while its count is 0; such a status is in the legend but has no segment. A status
    missing from ``names`` is shown by its code. No claims at all → an SVG saying 暂无数据.
    """
    _check_size(width, MIN_HEIGHT)
    entries = [
        (names.get(code, code), _check_count(count), OKABE_ITO[index % len(OKABE_ITO)])
        for index, (code, count) in enumerate(counts.items())
    ]
    ident = _chart_id(chart_id, "status", title, entries, width)
    total = sum(count for _, count, _ in entries)
    if total == 0:
        return _no_data(ident, title, width, MIN_HEIGHT)
    legend, legend_height = _legend(entries, width)
    height = int(44 + STATUS_BAR_HEIGHT + 18 + legend_height + 8)
    desc = "；".join(f"{name}：{count} 件" for name, count, _ in entries) + f"；合计 {total} 件"
    parts = _open(ident, width, height, title, desc)
    parts.append(_text(f"合计 {total} 件", width - 16, 38, css="chart-total", anchor="end"))
    parts.extend(_segments(entries, total, left=16.0, right=width - 16.0, top=44.0))
    parts.extend(legend)
    parts.append("</svg>")
    return "\n".join(parts)


def _segments(
    entries: Sequence[tuple[str, int, str]], total: int, *, left: float, right: float, top: float
) -> list[str]:
    """The bar's segments; edges come from running totals, so they meet exactly at ``right``."""
    parts = ['<g class="chart-segments">']
    running = 0
    for name, count, colour in entries:
        if count == 0:
            continue
        x0 = left + (right - left) * running / total
        running += count
        x1 = left + (right - left) * running / total
        share = f"{100 * count / total:.1f}%"
        parts.append(
            f'<g class="chart-segment-group"><title>{_esc(f"{name}：{count} 件（{share}）")}</title>'
            f'<rect class="chart-segment" x="{_num(x0)}" y="{_num(top)}" width="{_num(x1 - x0)}"'
            f' height="{STATUS_BAR_HEIGHT}" fill="{colour}" stroke="#FFFFFF" stroke-width="1"/></g>'
        )
    parts.append("</g>")
    return parts


def _legend(entries: Sequence[tuple[str, int, str]], width: int) -> tuple[list[str], float]:
    """Swatch and ``名称 count`` per status, flowing into rows; returns the parts and height."""
    row_height = 22.0
    top = 44.0 + STATUS_BAR_HEIGHT + 18
    x, y = 16.0, top
    parts = ['<g class="chart-legend">']
    for name, count, colour in entries:
        text = _shorten(f"{name} {count}", width - 32 - 20, LABEL_SIZE)
        item_width = 20 + _text_width(text, LABEL_SIZE) + 18
        if x > 16 and x + item_width > width - 16:
            x, y = 16.0, y + row_height
        parts.append(
            f'<g class="chart-legend-item"><rect class="chart-swatch" x="{_num(x)}"'
            f' y="{_num(y)}" width="14" height="14" fill="{colour}" stroke="{MUTED}"'
            f' stroke-width="0.5"/>'
            + _text(text, x + 20, y + 12, size=LABEL_SIZE, css="chart-legend-text", anchor="start")
            + "</g>"
        )
        x += item_width
    parts.append("</g>")
    return parts, y - top + row_height
