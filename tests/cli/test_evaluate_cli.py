"""`skillsubsidy evaluate` on good and bad input: formats, per-record errors, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from tests.conftest import make_id

GOOD: dict[str, Any] = {
    "id": "g1",
    "jurisdiction": "wenzhou",
    "kind": "certificate",
    "claimant": "individual",
    "district": "330302",
    "applied_on": "2023-09-01",
    "person": {"id_number": make_id(), "hukou_local": True},
    "certificate": {
        "type": "vocational",
        "occupation": "电工",
        "level": 4,
        "issued_on": "2023-06-10",
    },
    "training": {"filed_district": "330302", "filed_on": "2023-04-10", "enrolled_on": "2023-04-20"},
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "skillsubsidy", "evaluate", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    return path


def variant(claim_id: str, **changes: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(GOOD))
    record["id"] = claim_id
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = record
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return record


def decisions(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in map(json.loads, proc.stdout.splitlines())}


def test_bad_records_are_reported_per_record_and_do_not_stop_the_batch(tmp_path: Path) -> None:
    bad_id = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    records = [
        variant("ok"),
        variant("bad-id", person__id_number=bad_id),
        variant("no-date", applied_on=None),
        variant("bad-kind", kind="holiday"),
        variant(
            "neg-fee",
            kind="apprenticeship",
            claimant="employer",
            apprentice__type="employee",
            apprentice__fee="-5",
        ),
        variant("bad-level", certificate__level=7),
        variant("bad-date", applied_on="2023-02-30"),
        variant("bad-bool", person__hukou_local="maybe"),
        variant("short-id", person__id_number="33030219900517"),
        variant("ok2", person__id_number=make_id(seq=203)),
    ]
    proc = run(str(write_jsonl(tmp_path / "c.jsonl", records)))
    assert proc.returncode == 1
    got = decisions(proc)
    assert list(got) == [r["id"] for r in records]  # one line per record, input order
    assert got["ok"]["eligible"] is True and got["ok2"]["amount"] == "1950.00"
    expected = {
        "bad-id": ("person.id_number", "check character wrong"),
        "no-date": ("applied_on", "required"),
        "bad-kind": ("kind", "unknown value 'holiday'"),
        "neg-fee": ("apprentice.fee", "must not be negative"),
        "bad-level": ("certificate.level", "not a level 1..5"),
        "bad-date": ("applied_on", "not a date"),
        "bad-bool": ("person.hukou_local", "not a boolean"),
        "short-id": ("person.id_number", "18 characters"),
    }
    for claim_id, (field, message) in expected.items():
        assert got[claim_id]["error"]["field"] == field
        assert message in got[claim_id]["error"]["message"]
        assert "amount" not in got[claim_id]
    assert "8 of 10 records invalid" in proc.stderr


def test_broken_json_line_is_a_record_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{not json\n[1, 2]\n", "utf-8")
    proc = run(str(path))
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert lines[0]["eligible"] is True
    assert lines[1]["error"]["field"] == "(record)" and "line 2" in lines[1]["error"]["message"]
    assert "not a JSON object" in lines[2]["error"]["message"]


def test_duplicate_ids_in_a_batch(tmp_path: Path) -> None:
    proc = run(str(write_jsonl(tmp_path / "c.jsonl", [variant("x"), variant("x")])))
    assert proc.returncode == 1
    first, second = map(json.loads, proc.stdout.splitlines())
    assert first["eligible"] is True
    assert second["error"] == {"field": "id", "message": "duplicate id in this batch"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        ('{"id": "\u7535"}'.encode("gbk"), "not UTF-8"),
    ],
    ids=["empty", "blank", "gbk"],
)
def test_unreadable_files_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(content)
    proc = run(str(path))
    assert proc.returncode == 2
    assert message in proc.stderr and str(path) in proc.stderr
    assert proc.stdout == ""


def test_missing_file_unknown_format_and_unknown_option_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "nope.jsonl")).returncode == 2
    other = tmp_path / "c.txt"
    other.write_text("x", "utf-8")
    assert "unknown format" in run(str(other)).stderr
    assert run(str(other), "--frobnicate").returncode == 2


def test_csv_with_bom_booleans_in_chinese_and_empty_cells(tmp_path: Path) -> None:
    header = (
        "id,jurisdiction,kind,claimant,district,applied_on,person.id_number,person.hukou_local,"
        "certificate.type,certificate.occupation,certificate.level,certificate.issued_on,"
        "training.filed_on,training.enrolled_on,training.filed_district,route\n"
    )
    row = f"c1,wenzhou,certificate,individual,330302,2023-09-01,{make_id()},是,vocational,电工,4,2023-06-10,2023-04-10,2023-04-20,330302,\n"
    row2 = f"c2,wenzhou,certificate,individual,330302,2023-09-01,{make_id(seq=205)},否,vocational,电工,4,2023-06-10,2023-04-10,2023-04-20,330302,\n"
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + row + row2).encode("utf-8"))
    proc = run(str(path))
    assert proc.returncode == 0, proc.stderr
    got = decisions(proc)
    assert got["c1"]["amount"] == "1950.00"  # empty route cell = absent = via institution
    assert got["c2"]["reasons"] == ["residency_not_met"]


def test_xlsx_date_cells_and_an_id_turned_into_a_number(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "id",
            "jurisdiction",
            "kind",
            "claimant",
            "district",
            "applied_on",
            "person.id_number",
            "person.hukou_local",
            "certificate.type",
            "certificate.occupation",
            "certificate.level",
            "certificate.issued_on",
            "training.filed_on",
            "training.filed_district",
        ]
    )
    common = ["wenzhou", "certificate", "individual", "330302", dt.date(2023, 9, 1)]
    tail = [True, "vocational", "电工", 4, dt.datetime(2023, 6, 10), dt.date(2023, 4, 10), "330302"]
    sheet.append(["x1", *common, make_id(), *tail])
    sheet.append(["x2", *common, 330302199005172000, *tail])
    path = tmp_path / "c.xlsx"
    book.save(path)
    proc = run(str(path))
    assert proc.returncode == 1
    got = decisions(proc)
    assert got["x1"]["amount"] == "1950.00"
    assert got["x2"]["error"]["field"] == "person.id_number"
    assert "Excel" in got["x2"]["error"]["message"]


def test_output_file_and_history(tmp_path: Path) -> None:
    person = make_id(seq=207)
    earlier = [
        variant(
            f"h{i}",
            person__id_number=person,
            applied_on=f"2023-0{i + 5}-01",
            certificate__occupation=occ,
        )
        for i, occ in enumerate(["焊工", "钳工", "车工"])
    ]
    claims = [variant("now", person__id_number=person)]
    out = tmp_path / "decisions.jsonl"
    proc = run(
        str(write_jsonl(tmp_path / "c.jsonl", claims)),
        "--history",
        str(write_jsonl(tmp_path / "h.jsonl", earlier)),
        "--output",
        str(out),
    )
    assert proc.returncode == 0 and proc.stdout == ""
    (decision,) = map(json.loads, out.read_text("utf-8").splitlines())
    assert decision["reasons"] == ["annual_limit_reached"]
    assert not list(tmp_path.glob("*.partial"))


def test_history_record_that_cannot_be_counted_stops_the_run(tmp_path: Path) -> None:
    proc = run(
        str(write_jsonl(tmp_path / "c.jsonl", [variant("a")])),
        "--history",
        str(write_jsonl(tmp_path / "h.jsonl", [variant("h", person__id_number="123")])),
    )
    assert proc.returncode == 2
    assert "history" in proc.stderr and "person.id_number" in proc.stderr


def test_kind_specific_facts_absent_are_reasons_not_record_errors(tmp_path: Path) -> None:
    """Only what the contract requires is a record error; a missing fee, course or hours
    leaves a decision (refused, or worth 0) rather than an error."""
    records = [
        variant("no-course", kind="entrepreneurship", claimant="training_institution"),
        variant("no-type", kind="apprenticeship", claimant="employer", certificate=None),
        variant(
            "student-no-allowance",
            kind="apprenticeship",
            claimant="employer",
            apprentice__type="student",
            apprentice__labour_contract=False,
        ),
        variant(
            "project-no-hours",
            kind="project",
            claimant="individual",
            certificate__type="training_pass",
        ),
    ]
    proc = run(str(write_jsonl(tmp_path / "c.jsonl", records)))
    got = decisions(proc)
    assert proc.returncode == 0, proc.stdout
    assert got["no-course"]["reasons"] == ["not_offered"]
    assert got["no-type"]["reasons"] == ["not_offered"]
    assert got["student-no-allowance"]["reasons"] == ["no_labour_contract"]
    assert got["project-no-hours"]["reasons"] == ["not_offered"]  # 2023: institutions claim it
