"""Read claim files (JSON Lines, CSV, XLSX) into a frame of text columns.

Every reader yields the same thing: one row per record, text columns named by dotted field
names, ``_idx`` (input order), and for records that could not be read at all
``_pre_error_field``/``_pre_error_message``. Typing and checking is ``claims.validate``'s job.
A file that cannot be read as a whole raises ``InputFileError``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from skillsubsidy.policy.claims import FIELD_NAMES

_KNOWN = set(FIELD_NAMES)
_BOM = b"\xef\xbb\xbf"


class InputFileError(ValueError):
    """The file as a whole cannot be read (missing, empty, not UTF-8, malformed)."""


def read_claim_batches(path: Path, rows: int = 250_000) -> Iterator[pl.DataFrame]:
    """``read_claims`` in consecutive batches of about ``rows`` records (CSV is read lazily,
    so a large file is never held whole); ``_idx`` counts across batches."""
    if path.suffix.lower() != ".csv":
        yield from read_claims(path).iter_slices(rows)
        return
    _check_not_empty(path)
    scan = pl.scan_csv(path, infer_schema=False, has_header=True)
    try:
        names = scan.collect_schema().names()
    except (pl.exceptions.PolarsError, ValueError, OSError) as exc:
        raise _csv_error(path, exc) from exc
    _check_header(names, str(path))
    scan = scan.select([c for c in names if c in _KNOWN]).with_row_index("_idx")
    produced = 0
    try:
        for batch in scan.collect_batches(chunk_size=rows):
            produced += batch.height
            yield batch.rechunk()  # one contiguous chunk per column: much faster to work on
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise _csv_error(path, exc) from exc
    if produced == 0:
        raise InputFileError(f"{path}: no records in the file")


def _check_not_empty(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not head.removeprefix(_BOM).strip():
        raise InputFileError(f"{path}: the file is empty: no claims to evaluate")


def _csv_error(path: Path, exc: Exception) -> InputFileError:
    if "utf-8" in str(exc).lower():
        try:
            _utf8(path.read_bytes().removeprefix(_BOM), str(path))
        except InputFileError as named:
            return named
    return InputFileError(f"{path}: not a readable CSV file: {exc}")


def _check_header(names: list[str], name: str) -> None:
    duplicated = {c for c in names if c.endswith("_duplicated_0")}
    if duplicated:
        raise InputFileError(f"{name}: repeated column(s) in the header: {sorted(duplicated)}")


def read_claims(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".json", ".csv", ".xlsx"):
        raise InputFileError(f"{path}: unknown format '{suffix}' (use .jsonl, .csv or .xlsx)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise InputFileError(f"{path}: the file is empty: no claims to evaluate")
    if suffix == ".xlsx":
        return read_xlsx(data, str(path))
    data = data.removeprefix(_BOM)
    frame = read_csv(data, str(path)) if suffix == ".csv" else read_jsonl(_utf8(data, str(path)))
    if frame.height == 0:
        raise InputFileError(f"{path}: no records in the file")
    return frame


def _utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); "
            "save the file as UTF-8"
        ) from exc


def _text(value: Any) -> str | None:
    """A cell or JSON value as text; blank is absent (CSV cells arrive so from Polars)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _flatten(record: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


PROBLEM = "__problem__"  # key of a record that could not be read: (field, message)


def records_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Frame of text columns from claim dicts (nested as in the contract, or dotted keys)."""
    columns: dict[str, list[str | None]] = {n: [] for n in FIELD_NAMES}
    pre_field: list[str | None] = []
    pre_msg: list[str | None] = []
    n = 0
    for record in records:
        for col in columns.values():
            col.append(None)
        problem: tuple[str, str] | None = record.get(PROBLEM)
        for name, value in _flatten(record):
            if name not in _KNOWN:
                continue  # fields may be added to the contract: ignore the unknown
            if isinstance(value, list):
                problem = problem or (name, "must be a single value, not a list")
                continue
            columns[name][n] = _text(value)
        pre_field.append(problem[0] if problem else None)
        pre_msg.append(problem[1] if problem else None)
        n += 1
    return pl.DataFrame(
        {
            "_idx": pl.Series(range(n), dtype=pl.UInt32),
            **{k: pl.Series(v, dtype=pl.String) for k, v in columns.items()},
            "_pre_error_field": pl.Series(pre_field, dtype=pl.String),
            "_pre_error_message": pl.Series(pre_msg, dtype=pl.String),
        }
    )


def read_jsonl(text: str) -> pl.DataFrame:
    def records() -> Iterable[Mapping[str, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield {PROBLEM: ("(record)", f"line {number} is not valid JSON: {exc}")}
                continue
            if not isinstance(value, dict):
                yield {PROBLEM: ("(record)", f"line {number} is not a JSON object")}
                continue
            yield value

    return records_frame(records())


def read_csv(data: bytes, name: str) -> pl.DataFrame:
    """``data``: the file without its BOM; Polars checks that it is UTF-8."""
    try:
        # every column as text; an empty cell is null (an absent field)
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, has_header=True)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        if "utf-8" in str(exc).lower():
            _utf8(data, name)  # raises, naming the line of the first bad byte
        raise InputFileError(f"{name}: not a readable CSV file: {exc}") from exc
    _check_header(frame.columns, name)
    keep = [c for c in frame.columns if c in _KNOWN]
    return frame.select(keep).with_row_index("_idx")


def read_xlsx(data: bytes, name: str) -> pl.DataFrame:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputFileError(f"{name}: not a readable .xlsx workbook: {exc}") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise InputFileError(f"{name}: the first sheet is empty")
    names = [str(h).strip() if h is not None else "" for h in header]

    def records() -> Iterable[Mapping[str, Any]]:
        for row in rows:
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            record: dict[str, Any] = {k: v for k, v in zip(names, row, strict=False) if k}
            id_cell = record.get("person.id_number")
            if isinstance(id_cell, int | float) and not isinstance(id_cell, bool):
                # Excel keeps 15 significant digits: the ID's last digits are already lost
                record[PROBLEM] = (
                    "person.id_number",
                    "stored as a number in Excel, its last digits are lost; "
                    "format the column as text",
                )
            yield record

    frame = records_frame(records())
    book.close()
    return frame
