"""Citizen IDs and unified social credit codes, checked one at a time (records, forms).

The batch engine checks IDs column-wise (policy/claims.py); this is the same rule for a single
value. The region code is not checked against the birth year (POLICY.md §3.1).
"""

from __future__ import annotations

import datetime as dt
import re

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_11_2

_ID = re.compile(r"^\d{17}[\dX]$")


class IdentityError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def citizen_id(value: str, field: str = "id_number") -> str:
    """The ID, normalised (upper-case X), or ``IdentityError`` naming what is wrong."""
    number = value.strip().upper()
    if len(number) != 18:
        raise IdentityError(field, f"must be 18 characters (got {len(number)})")
    if not _ID.match(number):
        raise IdentityError(field, "must be 17 digits and a check character (0-9 or X)")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(field, f"birth date {number[6:14]} does not exist") from None
    if not mod_11_2.is_valid(number):
        raise IdentityError(field, "check character wrong")
    return number


def birth_date(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """``M`` or ``F``: the 17th digit odd = male (GB 11643-1999)."""
    return "M" if int(number[16]) % 2 else "F"


def credit_code(value: str, field: str = "credit_code") -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015), normalised."""
    try:
        return str(uscc.validate(value))
    except ValidationError as exc:
        raise IdentityError(field, f"not a valid unified social credit code: {exc}") from None


def masked_name(name: str) -> str:
    """张*三 for public lists: first and last character kept (张* for two characters)."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def masked_id(number: str) -> str:
    """First 6 and last 4 characters: a full ID is never published."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
