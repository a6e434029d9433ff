"""Files the bureau publishes or hands to the bank.

- ``notice_xlsx`` / ``notice_pdf``: the public notice list (公示名单) of reviewed claims. What
  it lists follows 000 二(二) and 003 二(二): "享受各项补贴的单位名称或人员名单（包括享受各项
  补贴的单位名称、补贴人数、补贴标准及具体金额等）", for a notice period of at least five
  days. Personal data on it is masked before it gets here (a name as 张*三): the 2017 rule on
  subsidy disclosure forbids publishing full ID numbers, addresses, phone or bank numbers,
  so a notice line has no field for any of them.
- ``payment_list_xlsx``: the payment list (拨付清单) of a payment batch for the bank
  (000 二(四), 003 二(四)). It is not public: it carries full payee names and account
  numbers, which are written as text so that leading zeros and long digit strings survive.

Amounts are written exactly (Decimal, whole cents); a total row closes each list. Text cells
are always text: a payee named "=..." is never turned into a spreadsheet formula.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

CENT = Decimal("0.01")
AMOUNT_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"

NOTICE_HEADER = ("序号", "单位名称或人员", "补贴类别", "人数", "补贴标准", "金额（元）")
PAYMENT_HEADER = ("序号", "申请编号", "收款人", "账户类型", "账号", "金额（元）")

# reportlab's built-in CID font for simplified Chinese: the reader supplies the glyphs, so no
# font file is shipped or embedded
PDF_FONT = "STSong-Light"


@dataclass(frozen=True)
class NoticeLineExport:
    """One line of a public notice; ``payee`` is already masked (张*三) or a unit's name."""

    payee: str
    kind_name: str
    count: int
    standard: str
    amount: Decimal


@dataclass(frozen=True)
class NoticeExport:
    title: str
    district_name: str
    published_on: dt.date
    last_day: dt.date
    lines: list[NoticeLineExport]


@dataclass(frozen=True)
class PaymentLineExport:
    claim_reference: str
    payee_name: str
    account_kind_name: str
    account_number: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentExport:
    batch_id: int
    fund_name: str
    paid_on: dt.date | None
    lines: list[PaymentLineExport]


# ---------------------------------------------------------------- shared helpers


def _cents(amount: Decimal) -> Decimal:
    """The amount with exactly two decimals; an amount with fractions of a cent is refused,
    since rounding it here would publish or pay a sum nobody decided."""
    exact = amount.quantize(CENT)
    if exact != amount:
        raise ValueError(f"amount {amount} has fractions of a cent")
    return exact


def _day(day: dt.date) -> str:
    return f"{day:%Y年%m月%d日}"


def _period(notice: NoticeExport) -> str:
    return (
        f"地区：{notice.district_name}　　"
        f"公示期：{_day(notice.published_on)} 至 {_day(notice.last_day)}"
    )


def _notice_totals(notice: NoticeExport) -> tuple[int, Decimal]:
    count = sum(line.count for line in notice.lines)
    amount = sum((_cents(line.amount) for line in notice.lines), Decimal("0.00"))
    return count, amount


# ---------------------------------------------------------------- Excel

_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center")


def _text(ws: Worksheet, row: int, column: int, value: str) -> Cell:
    """A text cell that stays text: openpyxl would read a leading "=" as a formula."""
    cell = ws.cell(row=row, column=column, value=value)
    cell.data_type = "s"
    cell.number_format = TEXT_FORMAT
    return cell


def _amount(ws: Worksheet, row: int, column: int, value: Decimal) -> Cell:
    cell = ws.cell(row=row, column=column, value=_cents(value))
    cell.number_format = AMOUNT_FORMAT
    return cell


def _display_width(value: object) -> int:
    """Columns a value takes on screen: a CJK (wide) character counts as two."""
    text = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _sheet(
    title: str, heading: str, subheading: str, header: Sequence[str]
) -> tuple[Workbook, Worksheet]:
    """A workbook whose one sheet has a title row, a line under it and the column header
    (row 3, frozen and repeated on printed pages)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its one sheet
    ws.title = title
    width = len(header)
    _text(ws, 1, 1, heading).font = _TITLE_FONT
    ws.cell(row=1, column=1).alignment = _CENTER
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    _text(ws, 2, 1, subheading)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for column, name in enumerate(header, start=1):
        cell = _text(ws, 3, column, name)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = _CENTER
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    return wb, ws


def _finish(wb: Workbook, ws: Worksheet, last_row: int) -> bytes:
    """Grid lines on the header, body and total, column widths from the widest cell."""
    columns = ws.max_column
    widths = [0] * columns
    for row in ws.iter_rows(min_row=3, max_row=last_row, max_col=columns):
        for cell in row:
            cell.border = _BOX
            if cell.value is not None:
                widths[cell.column - 1] = max(widths[cell.column - 1], _display_width(cell.value))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 6), 60)
    ws.print_area = f"A1:{get_column_letter(columns)}{last_row}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def notice_xlsx(notice: NoticeExport) -> bytes:
    """The public notice list as an .xlsx workbook."""
    wb, ws = _sheet("公示名单", notice.title, _period(notice), NOTICE_HEADER)
    row = 3
    for number, line in enumerate(notice.lines, start=1):
        row += 1
        ws.cell(row=row, column=1, value=number).alignment = _CENTER
        _text(ws, row, 2, line.payee)
        _text(ws, row, 3, line.kind_name)
        ws.cell(row=row, column=4, value=line.count)
        _text(ws, row, 5, line.standard)
        _amount(ws, row, 6, line.amount)
    row += 1
    count, amount = _notice_totals(notice)
    _text(ws, row, 1, "合计").font = _BOLD
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
    ws.cell(row=row, column=1).alignment = _CENTER
    ws.cell(row=row, column=4, value=count).font = _BOLD
    _amount(ws, row, 6, amount).font = _BOLD
    return _finish(wb, ws, row)


def payment_list_xlsx(batch: PaymentExport) -> bytes:
    """The payment list of a batch for the bank, as an .xlsx workbook."""
    paid = _day(batch.paid_on) if batch.paid_on is not None else "未拨付"
    wb, ws = _sheet(
        "拨付清单",
        f"{batch.fund_name}职业技能培训补贴拨付清单（批次 {batch.batch_id}）",
        f"拨付日期：{paid}　　笔数：{len(batch.lines)}",
        PAYMENT_HEADER,
    )
    row = 3
    total = Decimal("0.00")
    for number, line in enumerate(batch.lines, start=1):
        row += 1
        ws.cell(row=row, column=1, value=number).alignment = _CENTER
        _text(ws, row, 2, line.claim_reference)
        _text(ws, row, 3, line.payee_name)
        _text(ws, row, 4, line.account_kind_name)
        _text(ws, row, 5, line.account_number)
        _amount(ws, row, 6, line.amount)
        total += _cents(line.amount)
    row += 1
    _text(ws, row, 1, "合计").font = _BOLD
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
    ws.cell(row=row, column=1).alignment = _CENTER
    _amount(ws, row, 6, total).font = _BOLD
    return _finish(wb, ws, row)


# ---------------------------------------------------------------- PDF

_PDF_MARGIN = 20 * mm
# 序号, 单位名称或人员, 补贴类别, 人数, 补贴标准, 金额（元）: 170 mm, A4's width less the margins
_PDF_COLUMNS = [12 * mm, 46 * mm, 40 * mm, 12 * mm, 32 * mm, 28 * mm]


def _font() -> str:
    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    return PDF_FONT


def _styles(font: str) -> dict[str, Any]:
    base = {"fontName": font, "wordWrap": "CJK"}
    return {
        "title": ParagraphStyle("title", fontSize=16, leading=22, alignment=TA_CENTER, **base),
        "line": ParagraphStyle("line", fontSize=10.5, leading=15, **base),
        "cell": ParagraphStyle("cell", fontSize=9.5, leading=12, **base),
    }


def _notice_story(notice: NoticeExport, font: str) -> list[Any]:
    style = _styles(font)

    def para(text: str, name: str = "cell") -> Any:
        return Paragraph(escape(text), style[name])

    rows: list[list[Any]] = [list(NOTICE_HEADER)]
    for number, line in enumerate(notice.lines, start=1):
        rows.append(
            [
                str(number),
                para(line.payee),
                para(line.kind_name),
                str(line.count),
                para(line.standard),
                f"{_cents(line.amount):,.2f}",
            ]
        )
    count, amount = _notice_totals(notice)
    rows.append(["合计", "", "", str(count), "", f"{amount:,.2f}"])
    table = Table(rows, colWidths=_PDF_COLUMNS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
                ("ALIGN", (0, 0), (-1, 0), "CENTER"),
                ("ALIGN", (0, 1), (0, -1), "CENTER"),
                ("ALIGN", (3, 1), (3, -1), "RIGHT"),
                ("ALIGN", (5, 1), (5, -1), "RIGHT"),
                ("SPAN", (0, -1), (2, -1)),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F0F0F0")),
            ]
        )
    )
    return [
        Paragraph(escape(notice.title), style["title"]),
        Spacer(1, 3 * mm),
        Paragraph(escape(_period(notice)), style["line"]),
        Spacer(1, 3 * mm),
        table,
    ]


def _build(notice: NoticeExport, on_page: Callable[[Any, Any], None]) -> tuple[bytes, int]:
    font = _font()
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_PDF_MARGIN,
        rightMargin=_PDF_MARGIN,
        topMargin=_PDF_MARGIN,
        bottomMargin=_PDF_MARGIN,
        title=notice.title,
        author=notice.district_name,
    )
    doc.build(_notice_story(notice, font), onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue(), int(doc.page)


def notice_pdf(notice: NoticeExport) -> bytes:
    """The public notice list as an A4 portrait PDF; "第 n 页 共 N 页" at the foot of each
    page when it runs to more than one."""
    pdf, pages = _build(notice, lambda canvas, doc: None)
    if pages <= 1:
        return pdf

    # the page count is known after a first layout: the second one writes it on every page
    def number(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(PDF_FONT, 9)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"第 {doc.page} 页 共 {pages} 页")
        canvas.restoreState()

    pdf, _ = _build(notice, number)
    return pdf
