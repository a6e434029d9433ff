"""The class roster (学员花名册) as the Excel file institutions already keep.

A roster is imported whole or not at all: every row is checked first, and one wrong row —
a bad ID, a missing name, a person listed twice or already on the roster — means nothing is
imported and the report names each row, column and problem.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from skillsubsidy.domain import identity
from skillsubsidy.services import classes, registry
from skillsubsidy.services.errors import ServiceError
from skillsubsidy.store.models import Enrolment, Person

COLUMNS = ("姓名", "公民身份号码", "联系电话", "社会保障卡号")
REQUIRED = ("姓名", "公民身份号码")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000


@dataclass(frozen=True)
class RowProblem:
    row: int  # as Excel numbers it (1 = the header)
    column: str
    problem: str


class RosterRejected(ServiceError):
    """The roster was not imported; ``problems`` says why, row by row."""

    def __init__(self, problems: list[RowProblem]):
        super().__init__(f"花名册未导入：{len(problems)} 处问题")
        self.problems = problems


def template() -> bytes:
    """An empty roster with the expected header, for download."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "学员花名册"
    sheet.append(COLUMNS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (12, 22, 16, 20), strict=True):
        sheet.column_dimensions[letter].width = width
        # IDs and card numbers are text: Excel must not turn them into numbers
        sheet.column_dimensions[letter].number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class RosterRow:
    row: int
    name: str
    id_number: str
    phone: str | None
    card: str | None


def read(data: bytes) -> list[RosterRow]:
    """The rows of a roster file, or ``RosterRejected`` naming every problem."""
    if len(data) > MAX_BYTES:
        raise RosterRejected(
            [RowProblem(0, "文件", f"文件过大（超过 {MAX_BYTES // 1024 // 1024} MB）")]
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise RosterRejected([RowProblem(0, "文件", "不是有效的 Excel（.xlsx）文件")]) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterRejected(
            [RowProblem(1, c, "缺少此列（请使用下载的花名册模板）") for c in missing]
        )
    at = {name: header.index(name) for name in COLUMNS if name in header}
    problems: list[RowProblem] = []
    found: list[RosterRow] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            problems.append(RowProblem(number, "文件", f"超过 {MAX_ROWS} 行"))
            break
        cells: list[object] = list(values)
        if not any(v not in (None, "") for v in cells):
            continue  # blank lines are allowed

        def cell(name: str, cells: list[object] = cells) -> object:
            i = at.get(name)
            return cells[i] if i is not None and i < len(cells) else None

        name = str(cell("姓名") or "").strip()
        if not name:
            problems.append(RowProblem(number, "姓名", "不能为空"))
        raw_id = cell("公民身份号码")
        id_number = ""
        if isinstance(raw_id, int | float):
            problems.append(
                RowProblem(
                    number, "公民身份号码", "被 Excel 存成了数字，末位已丢失；请设为文本后重填"
                )
            )
        else:
            try:
                id_number = identity.citizen_id(str(raw_id or ""), "公民身份号码")
            except identity.IdentityError as exc:
                problems.append(RowProblem(number, "公民身份号码", exc.message))
        if id_number:
            if id_number in seen:
                problems.append(
                    RowProblem(number, "公民身份号码", f"与第 {seen[id_number]} 行重复")
                )
            else:
                seen[id_number] = number
        phone = _text(cell("联系电话"))
        card = _text(cell("社会保障卡号"))
        found.append(RosterRow(number, name, id_number, phone, card))
    if problems:
        raise RosterRejected(problems)
    if not found:
        raise RosterRejected([RowProblem(2, "文件", "花名册中没有学员")])
    return found


def import_roster(
    session: Session, actor: str, class_id: int, data: bytes, on: dt.date
) -> list[Enrolment]:
    """Enrol every trainee of the file, or nobody (see the module docstring)."""
    cls = classes.get_class(session, class_id, lock=True)
    rows = read(data)
    problems: list[RowProblem] = []
    on_roster = set(
        session.scalars(
            select(Person.id_number).join(Enrolment).where(Enrolment.class_id == cls.id)
        )
    )
    for row in rows:
        if row.id_number in on_roster:
            problems.append(RowProblem(row.row, "公民身份号码", "已在本班花名册中"))
        known = session.scalar(select(Person).where(Person.id_number == row.id_number))
        if known is not None and known.name != row.name:
            problems.append(RowProblem(row.row, "姓名", "与该身份号码登记的姓名不一致"))
        if known is not None and row.card and row.card != known.social_security_card:
            # a roster never changes a registered trainee's payout account
            problems.append(
                RowProblem(
                    row.row,
                    "社会保障卡号",
                    "与该学员登记的卡号不一致：已登记学员的账户须由本人申请变更，经人社部门审核",
                )
            )
    if problems:
        raise RosterRejected(problems)
    enrolled = []
    for row in rows:
        person = registry.register_person(
            session, row.id_number, row.name, row.phone, social_security_card=row.card, actor=actor
        )
        enrolled.append(classes.enrol(session, actor, cls.id, person, on))
    return enrolled


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None
