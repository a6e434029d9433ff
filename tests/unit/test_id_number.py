"""Citizen ID validation against python-stdnum's check-digit computation."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from skillsubsidy.policy.claims import birth_date, is_male, validate
from skillsubsidy.policy.readers import records_frame


def errors(ids: list[str]) -> list[str | None]:
    """The error message of a claim that is valid but for its ID."""
    claims = [
        {
            "id": str(n),
            "jurisdiction": "wenzhou",
            "kind": "pre_job",
            "claimant": "employer",
            "district": "330302",
            "applied_on": "2023-01-01",
            "person": {"id_number": i},
        }
        for n, i in enumerate(ids)
    ]
    out = validate(records_frame(claims), {})
    assert set(out["_error_field"].drop_nulls()) <= {"person.id_number"}
    return out["_error_message"].to_list()


bodies = st.builds(
    lambda region, born, seq: f"{region:06d}{born:%Y%m%d}{seq:03d}",
    st.integers(110000, 829999),
    st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)),
    st.integers(0, 999),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(bodies, st.sampled_from("0123456789X")), min_size=1, max_size=60))
def test_check_character_agrees_with_stdnum(ids: list[tuple[str, str]]) -> None:
    got = errors([body + check for body, check in ids])
    for (body, check), error in zip(ids, got, strict=True):
        expected_ok = ric.calc_check_digit(body + "?") == check  # stdnum drops the last char
        assert (error is None) == expected_ok, (body + check, error)


def test_region_code_is_not_checked_against_birth_year() -> None:
    # 330302 (鹿城区) was created in 1981: a person born in 1960 may still carry it
    body = "33030219600101237"
    assert errors([body + ric.calc_check_digit(body + "?")]) == [None]


def test_messages_name_the_problem() -> None:
    assert errors(["3303021990051720", "33030219900517203A", "330302199002302034"]) == [
        "must be 18 characters (got 16)",
        "must be 17 digits and a check character (0-9 or X)",
        "birth date 19900230 does not exist",
    ]


def test_birth_date_and_sex_from_the_id() -> None:
    frame = pl.DataFrame({"n": ["330302199005172036", "33030219900517204X"]})
    out = frame.select(birth_date(pl.col("n")).alias("b"), is_male(pl.col("n")).alias("m"))
    assert out["b"].to_list() == [dt.date(1990, 5, 17)] * 2
    assert out["m"].to_list() == [True, False]  # 17th digit 3 odd = male, 4 even = female
