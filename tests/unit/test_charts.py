"""The server-side SVG charts: valid XML, counts, labels, scale, empty data and escaping."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from skillsubsidy.web.charts import (
    NO_DATA,
    OKABE_ITO,
    bar_chart,
    line_chart,
    nice_ticks,
    stacked_status_bar,
)

NS = "{http://www.w3.org/2000/svg}"
D = Decimal


def parse(svg: str) -> ET.Element:
    """Parsing proves the output is well-formed XML."""
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def by_class(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{NS}{tag}") if el.get("class") == css]


def texts(root: ET.Element, css: str) -> list[str]:
    return [el.text or "" for el in by_class(root, "text", css)]


def check_frame(root: ET.Element, title: str) -> None:
    """Root attributes every chart must have, and its screen-reader title."""
    assert root.get("role") == "img"
    assert root.get("viewBox", "").startswith("0 0 ")
    labelled = root.get("aria-labelledby", "")
    title_el = root.find(f"{NS}title")
    assert title_el is not None
    assert title_el.get("id") == labelled
    assert title_el.text == title
    font = root.get("font-family", "")
    for family in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "sans-serif"):
        assert family in font


DISTRICTS = [("鹿城区", D("1950")), ("龙湾区", D("4550")), ("瓯海区", D("0.5"))]


def test_bar_chart_bars_values_and_labels() -> None:
    root = parse(bar_chart("按区县补贴支出", DISTRICTS))
    check_frame(root, "按区县补贴支出")
    assert len(by_class(root, "rect", "chart-bar")) == 3
    assert texts(root, "chart-value") == ["1,950.00", "4,550.00", "0.50"]
    assert texts(root, "chart-label") == ["鹿城区", "龙湾区", "瓯海区"]
    assert texts(root, "chart-title") == ["按区县补贴支出"]
    assert texts(root, "chart-unit") == ["（元）"]


def test_viewbox_follows_size() -> None:
    root = parse(bar_chart("t", DISTRICTS, width=800, height=400))
    assert root.get("viewBox") == "0 0 800 400"


def test_nice_ticks_for_4550() -> None:
    assert nice_ticks(D("4550")) == [D(n) for n in (0, 1000, 2000, 3000, 4000, 5000)]
    root = parse(bar_chart("t", DISTRICTS))
    assert texts(root, "chart-tick") == ["0", "1,000", "2,000", "3,000", "4,000", "5,000"]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        ("100", ["0", "20", "40", "60", "80", "100"]),
        ("110", ["0", "50", "100", "150"]),
        ("1", ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
        ("0.37", ["0", "0.1", "0.2", "0.3", "0.4"]),
        ("999999", ["0", "200000", "400000", "600000", "800000", "1000000"]),
    ],
)
def test_nice_ticks_are_round_and_cover_the_maximum(maximum: str, ticks: list[str]) -> None:
    result = nice_ticks(D(maximum))
    assert result == [D(t) for t in ticks]
    assert 4 <= len(result) <= 6
    assert result[-1] >= D(maximum)
    step = result[1]
    assert step.normalize().as_tuple().digits[0] in (1, 2, 5)


def test_bar_heights_are_proportional() -> None:
    root = parse(bar_chart("t", [("a", D("100")), ("b", D("200")), ("c", D("0"))]))
    heights = [float(el.get("height", "nan")) for el in by_class(root, "rect", "chart-bar")]
    assert abs(heights[1] - 2 * heights[0]) <= 1
    assert heights[2] == 0
    # the bars stand on the same base line
    bottoms = [
        float(el.get("y", "nan")) + float(el.get("height", "nan"))
        for el in by_class(root, "rect", "chart-bar")
    ]
    assert max(bottoms) - min(bottoms) < 0.02


def test_bar_chart_empty() -> None:
    root = parse(bar_chart("按工种补贴支出", []))
    check_frame(root, "按工种补贴支出")
    assert texts(root, "chart-empty") == [NO_DATA]
    assert by_class(root, "rect", "chart-bar") == []


def test_bar_chart_all_zero() -> None:
    root = parse(bar_chart("t", [("a", D("0")), ("b", D("0.00"))]))
    assert texts(root, "chart-value") == ["0.00", "0.00"]
    assert [el.get("height") for el in by_class(root, "rect", "chart-bar")] == ["0", "0"]
    assert texts(root, "chart-tick") == ["0", "1", "2", "3", "4", "5"]


def test_long_label_is_shortened_and_kept_in_tooltip() -> None:
    label = "经济技术开发区（滨海园区）"
    bars = [(label, D("10"))] + [(f"区{i}", D("5")) for i in range(9)]
    root = parse(bar_chart("t", bars))
    shown = texts(root, "chart-label")[0]
    assert shown.endswith("…")
    assert label.startswith(shown[:-1])
    assert len(shown) < len(label)
    group = next(el for el in root.iter(f"{NS}g") if el.get("class") == "chart-bar-group")
    tooltip = group.find(f"{NS}title")
    assert tooltip is not None
    assert tooltip.text == f"{label}：10.00 元"


def test_amounts_round_half_up_to_the_cent() -> None:
    root = parse(bar_chart("t", [("a", D("1234567.005")), ("b", D("0.004"))]))
    assert texts(root, "chart-value") == ["1,234,567.01", "0.00"]


def test_amounts_must_be_decimal_and_not_negative() -> None:
    with pytest.raises(TypeError):
        bar_chart("t", [("a", 1.5)])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        bar_chart("t", [("a", D("-1"))])
    with pytest.raises(ValueError):
        line_chart("t", [("a", D("NaN"))])


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", 'a&b"c', "x'y>z"])
def test_labels_are_escaped(evil: str) -> None:
    charts = [
        bar_chart(evil, [(evil, D("1"))], unit=evil),
        bar_chart(evil, []),
        line_chart(evil, [(evil, D("1")), ("b", D("2"))], unit=evil),
        stacked_status_bar(evil, {evil: 1, "paid": 2}, {"paid": evil}),
    ]
    for svg in charts:
        assert "<script" not in svg
        assert 'a&b"c' not in svg
        assert "alert(1)</script>" not in svg
        root = parse(svg)
        assert not list(root.iter("script")) and not list(root.iter(f"{NS}script"))
        assert root.find(f"{NS}title") is not None
        assert root.findtext(f"{NS}title") == evil  # round-trips as text, not markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bar_chart("<script>alert(1)</script>", [])
    assert "a&amp;b&quot;c" in bar_chart("t", [('a&b"c', D("1"))])


def test_control_characters_are_dropped() -> None:
    root = parse(bar_chart("a\x00b\x1fc", [("x\x08", D("1"))]))
    assert root.findtext(f"{NS}title") == "abc"


def test_chart_id_is_checked_and_used() -> None:
    root = parse(bar_chart("t", DISTRICTS, chart_id="district-spending"))
    assert root.get("aria-labelledby") == "district-spending-title"
    with pytest.raises(ValueError):
        bar_chart("t", DISTRICTS, chart_id='x" onload="alert(1)')
    # the default id is stable for the same chart and differs between charts
    assert bar_chart("t", DISTRICTS) == bar_chart("t", DISTRICTS)
    assert parse(bar_chart("t", DISTRICTS)).get("aria-labelledby") != parse(
        bar_chart("u", DISTRICTS)
    ).get("aria-labelledby")


MONTHS = [(f"2024-{m:02d}", D(v)) for m, v in enumerate(["1950", "0", "4550", "3000"], start=1)]


def test_line_chart_points_and_axis() -> None:
    root = parse(line_chart("按月补贴支出", MONTHS))
    check_frame(root, "按月补贴支出")
    assert len(by_class(root, "circle", "chart-point")) == 4
    lines = by_class(root, "polyline", "chart-line")
    assert len(lines) == 1
    assert len(lines[0].get("points", "").split()) == 4
    assert texts(root, "chart-value") == ["1,950.00", "0.00", "4,550.00", "3,000.00"]
    assert texts(root, "chart-label") == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert texts(root, "chart-tick") == ["0", "1,000", "2,000", "3,000", "4,000", "5,000"]
    tooltips = [
        g.findtext(f"{NS}title")
        for g in root.iter(f"{NS}g")
        if g.get("class") == "chart-point-group"
    ]
    assert tooltips[0] == "2024-01：1,950.00 元"


def test_line_chart_heights_are_proportional() -> None:
    root = parse(line_chart("t", [("a", D("100")), ("b", D("200")), ("c", D("0"))]))
    ys = [float(el.get("cy", "nan")) for el in by_class(root, "circle", "chart-point")]
    base = ys[2]
    assert abs((base - ys[1]) - 2 * (base - ys[0])) <= 1


def test_line_chart_many_months_thins_labels_and_values() -> None:
    months = [(f"{2022 + m // 12}-{m % 12 + 1:02d}", D(1000 + m)) for m in range(36)]
    root = parse(line_chart("t", months))
    assert len(by_class(root, "circle", "chart-point")) == 36
    labels = texts(root, "chart-label")
    assert 1 < len(labels) < 36
    assert labels[0] == "2022-01"
    assert all(not label.endswith("…") for label in labels)
    assert texts(root, "chart-value") == []  # too crowded: amounts only in the tooltips


def test_line_chart_empty_zero_and_single() -> None:
    assert texts(parse(line_chart("t", [])), "chart-empty") == [NO_DATA]
    zero = parse(line_chart("t", [("a", D("0")), ("b", D("0"))]))
    ys = {el.get("cy") for el in by_class(zero, "circle", "chart-point")}
    assert len(ys) == 1
    single = parse(line_chart("t", [("2024-01", D("5"))]))
    assert len(by_class(single, "circle", "chart-point")) == 1
    assert by_class(single, "polyline", "chart-line") == []


STATUS_NAMES = {
    "submitted": "已受理",
    "approved": "待拨付",
    "paid": "已拨付",
    "rejected": "不予补贴",
}


def test_stacked_status_bar_segments_legend_and_colours() -> None:
    counts = {"paid": 6, "submitted": 3, "rejected": 0, "approved": 1}
    root = parse(stacked_status_bar("申请状态分布", counts, STATUS_NAMES))
    check_frame(root, "申请状态分布")
    segments = by_class(root, "rect", "chart-segment")
    assert len(segments) == 3  # no segment for a count of 0
    assert [s.get("fill") for s in segments] == [OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[3]]
    widths = [float(s.get("width", "nan")) for s in segments]
    assert abs(widths[0] - 2 * widths[1]) <= 1
    assert abs(widths[1] - 3 * widths[2]) <= 1
    x0 = float(segments[0].get("x", "nan"))
    last = segments[-1]
    assert abs(float(last.get("x", "nan")) + widths[-1] - x0 - sum(widths)) < 0.05
    assert texts(root, "chart-legend-text") == ["已拨付 6", "已受理 3", "不予补贴 0", "待拨付 1"]
    swatches = [s.get("fill") for s in by_class(root, "rect", "chart-swatch")]
    assert swatches == list(OKABE_ITO[:4])
    assert texts(root, "chart-total") == ["合计 10 件"]


def test_stacked_status_bar_unknown_code_and_many_statuses() -> None:
    counts = {f"s{i}": 1 for i in range(10)}
    root = parse(stacked_status_bar("t", counts, {}))
    assert texts(root, "chart-legend-text")[0] == "s0 1"
    fills = [s.get("fill") for s in by_class(root, "rect", "chart-segment")]
    assert fills[8] == OKABE_ITO[0]  # the palette repeats after eight
    assert all(a != b for a, b in itertools.pairwise(fills))
    # the legend wraps into rows inside the picture
    width, height = (float(v) for v in root.get("viewBox", "").split()[2:])
    for swatch in by_class(root, "rect", "chart-swatch"):
        assert float(swatch.get("x", "nan")) + 14 <= width
        assert float(swatch.get("y", "nan")) + 14 <= height
    rows = {swatch.get("y") for swatch in by_class(root, "rect", "chart-swatch")}
    assert len(rows) > 1


def test_stacked_status_bar_empty_and_all_zero() -> None:
    for counts in ({}, {"paid": 0, "submitted": 0}):
        root = parse(stacked_status_bar("申请状态分布", counts, STATUS_NAMES))
        assert texts(root, "chart-empty") == [NO_DATA]
        assert by_class(root, "rect", "chart-segment") == []


def test_stacked_status_bar_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        stacked_status_bar("t", {"paid": -1}, STATUS_NAMES)
    with pytest.raises(TypeError):
        stacked_status_bar("t", {"paid": True}, STATUS_NAMES)
