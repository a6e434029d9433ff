"""The roster as Excel: imported whole or not at all, with each problem by row and column."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from stdnum.cn import uscc

from skillsubsidy.services import classes, registry, rosters
from skillsubsidy.store.db import Database
from skillsubsidy.store.models import Enrolment, Person
from tests.conftest import make_id

START = dt.date(2030, 3, 4)


def _class(db: Database) -> int:
    def make(s: Any) -> int:
        prefix = "52330302MA2H7E4R8"
        org = registry.register_organisation(
            s, "training_institution", "育才学校", prefix + uscc.calc_check_digit(prefix), "330302"
        )
        return classes.create_class(
            s,
            "institution",
            organisation_id=org.id,
            district_code="330302",
            subsidy_kind="certificate",
            title="电工班",
            hours=Decimal(40),
            starts_on=START,
            ends_on=START + dt.timedelta(days=9),
            venue="学院路",
            occupation="电工",
            level=4,
        ).id

    return db.run(make)


def _xlsx(rows: list[list[Any]], header: tuple[str, ...] = rosters.COLUMNS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(db: Database, class_id: int, data: bytes) -> int:
    return db.run(
        lambda s: len(rosters.import_roster(s, "institution", class_id, data, dt.date(2030, 3, 1)))
    )


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            int(s.scalar(select(func.count()).select_from(Enrolment)) or 0),
            int(s.scalar(select(func.count()).select_from(Person)) or 0),
        )


def test_the_template_reads_back_with_its_header() -> None:
    sheet = load_workbook(io.BytesIO(rosters.template())).worksheets[0]
    assert [c.value for c in sheet[1]] == list(rosters.COLUMNS)


def test_a_good_roster_is_imported(database: Database) -> None:
    class_id = _class(database)
    rows = [
        ["张三", make_id(seq=11), "13900000001", "SSC1"],
        ["李四", make_id(seq=13).lower(), None, None],
        [None, None, None, None],
    ]
    assert _import(database, class_id, _xlsx(rows)) == 2
    assert _counts(database) == (2, 2)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            lambda: _xlsx([["张三", make_id(seq=21)]], header=("名字", "身份证")),
            [(1, "姓名", "缺少此列"), (1, "公民身份号码", "缺少此列")],
        ),
        (
            lambda: _xlsx([["张三", "330302199005172011"], ["", make_id(seq=23)]]),
            [(2, "公民身份号码", "check character wrong"), (3, "姓名", "不能为空")],
        ),
        (
            lambda: _xlsx([["张三", make_id(seq=25)], ["张三", make_id(seq=25)]]),
            [(3, "公民身份号码", "与第 2 行重复")],
        ),
        (
            lambda: _xlsx([["张三", 330302199005172011]]),
            [(2, "公民身份号码", "被 Excel 存成了数字")],
        ),
        (lambda: os.urandom(10 * 1024 * 1024), [(0, "文件", "文件过大")]),
        (lambda: b"PK\x03\x04 not really a workbook", [(0, "文件", "不是有效的 Excel")]),
    ],
    ids=[
        "wrong columns",
        "bad id and missing name",
        "duplicate person",
        "id as number",
        "10 MB of junk",
        "not a workbook",
    ],
)
def test_a_bad_roster_is_refused_whole(
    database: Database, content: Any, expected: list[tuple[int, str, str]]
) -> None:
    class_id = _class(database)
    before = _counts(database)
    with pytest.raises(rosters.RosterRejected) as refused:
        _import(database, class_id, content())
    got = [(p.row, p.column, p.problem) for p in refused.value.problems]
    assert len(got) == len(expected)
    for (row, column, problem), (want_row, want_column, want_text) in zip(
        got, expected, strict=True
    ):
        assert (row, column) == (want_row, want_column) and want_text in problem
    assert _counts(database) == before  # nothing imported, nobody registered


def test_someone_already_on_the_roster_refuses_the_file(database: Database) -> None:
    class_id = _class(database)
    _import(database, class_id, _xlsx([["张三", make_id(seq=31)]]))
    with pytest.raises(rosters.RosterRejected) as refused:
        _import(database, class_id, _xlsx([["王五", make_id(seq=33)], ["张三", make_id(seq=31)]]))
    assert [(p.row, p.problem) for p in refused.value.problems] == [(3, "已在本班花名册中")]
    assert _counts(database) == (1, 1)
