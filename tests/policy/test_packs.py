"""The packs load, hold what POLICY.md fixes, and a malformed pack is refused with file, key
and reason (`skillsubsidy packs check`)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from skillsubsidy.policy.loader import PACKS_DIR, PackError, load_catalogue


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    target = tmp_path / "packs"
    shutil.copytree(PACKS_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


def test_shipped_packs_load_with_their_windows() -> None:
    cat = load_catalogue()
    assert set(cat.pack_ids) == {
        "wenzhou-2022",
        "wenzhou-2023",
        "wenzhou-2023-draft",
        "jinhua-2020",
        "county-2023",
    }
    w23 = cat.info("wenzhou-2023").selection
    assert (w23.from_, w23.until) == (dt.date(2023, 4, 1), None)
    assert cat.info("wenzhou-2022").selection.until == dt.date(2023, 3, 31)
    assert not cat.info("wenzhou-2023-draft").selection.by_date


def test_a_dated_value_splits_the_pack_into_periods() -> None:
    county = [p for p in load_catalogue().periods if p.id == "county-2023"]
    assert [(p.starts, p.ends) for p in county] == [
        (None, dt.date(2024, 1, 1)),
        (dt.date(2024, 1, 1), None),
    ]
    assert [p.kinds["new_skill_cert"].claimant.value for p in county] == [
        "evaluation_institution",
        "individual",
    ]


def test_every_amount_is_decimal_and_cited() -> None:
    cert = next(p for p in load_catalogue().periods if p.id == "wenzhou-2023").kinds["certificate"]
    assert cert.standards.vocational["A"][1] == Decimal("3800")
    assert cert.shortage.factor == Decimal("1.3")
    assert cert.standards.reference == "003 一(一)1; 003 附件1"


def test_a_new_catalogue_is_a_data_change(packs: Path) -> None:
    """A later standard, dated, applies to later certificates only."""
    from tests.conftest import make_id

    from skillsubsidy.policy.engine import Engine, evaluate

    edit(
        packs / "wenzhou-2023" / "certificate.yaml",
        "B: {5: 1000, 4: 1500, 3: 2000, 2: 2500, 1: 3500}",
        "B: {dated: {2023-04-01: {5: 1000, 4: 1500, 3: 2000, 2: 2500, 1: 3500},"
        " 2024-01-01: {5: 1100, 4: 1600, 3: 2100, 2: 2600, 1: 3600}}}",
    )
    engine = Engine(load_catalogue(packs))
    base = {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "district": "330302",
        "person": {"id_number": make_id(), "hukou_local": True},
        "training": {"filed_on": "2023-04-01", "filed_district": "330302"},
    }
    old = {
        **base,
        "id": "old",
        "applied_on": "2023-12-01",
        "certificate": {
            "type": "vocational",
            "occupation": "电工",
            "level": 4,
            "issued_on": "2023-11-01",
        },
    }
    new = {
        **base,
        "id": "new",
        "applied_on": "2024-03-01",
        "person": {"id_number": make_id(seq=211), "hukou_local": True},
        "certificate": {
            "type": "vocational",
            "occupation": "电工",
            "level": 4,
            "issued_on": "2024-02-01",
        },
    }
    got = {d["id"]: d["amount"] for d in evaluate([old, new], engine=engine)}
    assert got == {"old": "1950.00", "new": "2080.00"}  # 1500 → 1600, ×1.3


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "reason"),
    [
        (
            "wenzhou-2023/certificate.yaml",
            'factor: "1.3"',
            'factor: "lots"',
            "shortage.factor",
            "decimal",
        ),
        (
            "wenzhou-2023/certificate.yaml",
            "C: {5: 900,",
            "Z: {5: 900,",
            "categories.lists.C",
            "no standards",
        ),
        (
            "wenzhou-2023/conditions.yaml",
            "minimum: 16",
            "minimun: 16",
            "age.minimun",
            "Extra inputs",
        ),
        (
            "wenzhou-2023/funds.yaml",
            "source: training.filed_district",
            "source: somewhere",
            "routes.1.source",
            "Input should be",
        ),
        (
            "jinhua-2020/certificate.yaml",
            "person.social_insurance_months >= 6",
            "person.social_insurance_months >=",
            "residency.any_of",
            "cannot read",
        ),
        ("county-2023/pack.yaml", "from: 2023-01-01", "from: 2023-13-01", "(file)", ""),
        (
            "wenzhou-2023/certificate.yaml",
            "    - person.hukou_local\n",
            "    - person.hukou_locale\n",
            "residency.any_of",
            "unknown field(s) person.hukou_locale",
        ),
        (
            "wenzhou-2022/pack.yaml",
            "master_apprentice, ",
            "",
            "master_apprentice.yaml",
            "not a kind",
        ),
    ],
    ids=[
        "not-a-number",
        "unknown-category",
        "typo-key",
        "bad-fund-source",
        "bad-condition",
        "bad-date",
        "typo-field",
        "orphan-file",
    ],
)
def test_malformed_pack_is_refused_naming_file_key_reason(
    packs: Path, file: str, old: str, new: str, key: str, reason: str
) -> None:
    edit(packs / file, old, new)
    with pytest.raises(PackError) as caught:
        load_catalogue(packs)
    problems = caught.value.problems
    assert any(Path(f).parts[-2:] == tuple(file.split("/")) or key in f for f, _, _ in problems), (
        problems
    )
    assert any(key in k or key in f for f, k, _ in problems), problems
    assert any(reason in r for _, _, r in problems), problems


def test_packs_check_command(packs: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "skillsubsidy", "packs", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0 and "ok  wenzhou-2023" in ok.stdout
    edit(packs / "wenzhou-2023" / "project.yaml", 'per_hour: "20"', 'per_hour: "-20"')
    bad = subprocess.run(
        [sys.executable, "-m", "skillsubsidy", "packs", "check", str(packs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "wenzhou-2023/project.yaml: types.training_pass.per_hour" in bad.stderr
