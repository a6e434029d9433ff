"""The notice and payment exports, read back: openpyxl for the workbooks, pypdf for the PDF."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from skillsubsidy.services.exports import (
    NoticeExport,
    NoticeLineExport,
    PaymentExport,
    PaymentLineExport,
    notice_pdf,
    notice_xlsx,
    payment_list_xlsx,
)

NOTICE_HEADER = ["序号", "单位名称或人员", "补贴类别", "人数", "补贴标准", "金额（元）"]
PAYMENT_HEADER = ["序号", "申请编号", "收款人", "账户类型", "账号", "金额（元）"]
TITLE = "鹿城区职业技能培训补贴公示（2024年05月06日）"


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def notice(lines: int | None = None) -> NoticeExport:
    if lines is None:
        body = [
            NoticeLineExport(
                "张*三", "职业技能等级证书补贴", 1, "高级工 1950 元/人", Decimal("1950.00")
            ),
            NoticeLineExport("李*", "岗前培训补贴", 1, "800 元/人", Decimal("800")),
            NoticeLineExport(
                "温州某某电气有限公司", "以工代训补贴", 2, "380 元/人", Decimal("760.00")
            ),
        ]
    else:
        body = [
            NoticeLineExport(f"王*{n}", "岗前培训补贴", 1, "800 元/人", Decimal("800.00"))
            for n in range(lines)
        ]
    return NoticeExport(
        title=TITLE,
        district_name="鹿城区",
        published_on=dt.date(2024, 5, 6),
        last_day=dt.date(2024, 5, 11),
        lines=body,
    )


def payment() -> PaymentExport:
    return PaymentExport(
        batch_id=7,
        fund_name="温州市区",
        paid_on=dt.date(2024, 6, 3),
        lines=[
            PaymentLineExport(
                "WZ-2024-000123", "张三", "个人银行卡", "6222021200001234567", Decimal("1950.00")
            ),
            PaymentLineExport("WZ-2024-000124", "李四", "社会保障卡", "0012345", Decimal("800.00")),
            PaymentLineExport(
                "WZ-2024-000125",
                '=HYPERLINK("http://example.invalid")',
                "单位对公账户",
                "33050162622700000001",
                Decimal("760.00"),
            ),
        ],
    )


def test_notice_xlsx_layout_and_exact_amounts() -> None:
    ws = load_workbook(io.BytesIO(notice_xlsx(notice())))["公示名单"]
    assert ws["A1"].value == TITLE
    assert ws["A2"].value == "地区：鹿城区　　公示期：2024年05月06日 至 2024年05月11日"
    assert [c.value for c in ws[3]] == NOTICE_HEADER
    assert all(c.font.b for c in ws[3])
    assert ws.freeze_panes == "A4"

    assert [ws.cell(row=4, column=c).value for c in range(1, 6)] == [
        1,
        "张*三",
        "职业技能等级证书补贴",
        1,
        "高级工 1950 元/人",
    ]
    assert cents(ws["F4"].value) == Decimal("1950.00")
    assert cents(ws["F5"].value) == Decimal("800.00")
    assert ws["B6"].value == "温州某某电气有限公司"
    for row in range(4, 8):
        cell = ws.cell(row=row, column=6)
        assert isinstance(cell.value, int | float)  # a number, not text
        assert cell.number_format == "#,##0.00"

    assert ws["A7"].value == "合计"
    assert ws["D7"].value == 4
    assert cents(ws["F7"].value) == Decimal("3510.00")
    assert ws.max_row == 7
    # the widest column is the payee's; none is left at the default width
    assert ws.column_dimensions["B"].width >= len("温州某某电气有限公司") * 2
    assert all(ws.column_dimensions[c].width >= 6 for c in "ABCDEF")


def test_notice_xlsx_holds_no_id_number() -> None:
    ws = load_workbook(io.BytesIO(notice_xlsx(notice())))["公示名单"]
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert not any(len(t) >= 15 and t.isdigit() for t in texts)


def test_payment_list_keeps_account_numbers_as_text() -> None:
    ws = load_workbook(io.BytesIO(payment_list_xlsx(payment())))["拨付清单"]
    assert [c.value for c in ws[3]] == PAYMENT_HEADER
    assert ws.freeze_panes == "A4"
    assert ws["E4"].value == "6222021200001234567"
    assert ws["E5"].value == "0012345"
    assert ws["E6"].value == "33050162622700000001"
    for row in range(4, 7):
        assert ws.cell(row=row, column=5).data_type == "s"
        assert ws.cell(row=row, column=5).number_format == "@"
    assert ws["B4"].value == "WZ-2024-000123"
    # a payee text that looks like a formula stays text
    assert ws["C6"].value == '=HYPERLINK("http://example.invalid")'
    assert ws["C6"].data_type == "s"

    assert cents(ws["F4"].value) == Decimal("1950.00")
    assert ws["F4"].number_format == "#,##0.00"
    assert ws["A7"].value == "合计"
    assert cents(ws["F7"].value) == Decimal("3510.00")
    assert ws["F7"].number_format == "#,##0.00"


def test_payment_list_of_an_unpaid_batch() -> None:
    batch = PaymentExport(batch_id=8, fund_name="温州市区", paid_on=None, lines=[])
    ws = load_workbook(io.BytesIO(payment_list_xlsx(batch)))["拨付清单"]
    assert "未拨付" in ws["A2"].value
    assert ws["A4"].value == "合计"
    assert cents(ws["F4"].value) == Decimal("0.00")


def test_fractions_of_a_cent_are_refused() -> None:
    bad = NoticeExport(
        TITLE,
        "鹿城区",
        dt.date(2024, 5, 6),
        dt.date(2024, 5, 11),
        [NoticeLineExport("张*三", "岗前培训补贴", 1, "800 元/人", Decimal("800.005"))],
    )
    with pytest.raises(ValueError, match="fractions of a cent"):
        notice_xlsx(bad)
    with pytest.raises(ValueError, match="fractions of a cent"):
        notice_pdf(bad)


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_notice_pdf_one_page() -> None:
    pdf = notice_pdf(notice())
    assert pdf.startswith(b"%PDF")
    pages, text = pdf_text(pdf)
    assert pages == 1
    assert TITLE in text
    assert "公示期" in text
    assert "张*三" in text
    assert "1,950.00" in text
    assert "3,510.00" in text
    assert "合计" in text
    assert "第 1 页" not in text  # no page number on a one-page notice


def test_notice_pdf_runs_over_pages_with_numbers() -> None:
    pdf = notice_pdf(notice(200))
    assert pdf.startswith(b"%PDF")
    pages, text = pdf_text(pdf)
    assert pages > 1
    assert f"第 1 页 共 {pages} 页" in text
    assert f"第 {pages} 页 共 {pages} 页" in text
    assert "王*199" in text
    assert "160,000.00" in text  # 200 × 800.00
    # the header is repeated on every page
    assert text.count("单位名称或人员") == pages
