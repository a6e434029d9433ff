"""Statuses of the process and the legal transitions between them (000 二–三, 003 二–三, 004 六).

Each workflow is a status enum plus a table of the moves the law and the office allow; a
service moves an entity only through ``move`` (which refuses anything else) and records the
move as an event (who, when, why).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

_Table = Mapping[Any, frozenset[Any]]  # status → the statuses it may move to


class ClassStatus(StrEnum):
    """培训班: 先备案、后开班 (000 三(一), 003 三(一))."""

    DRAFT = "draft"
    FILED = "filed"  # 备案 submitted to the bureau
    APPROVED = "approved"  # 备案同意
    RUNNING = "running"
    FINISHED = "finished"
    REFUSED = "refused"  # filing refused (too late, incomplete)


class ClaimStatus(StrEnum):
    """补贴申请: 材料受理 → 初审 → 复核 → 公示 → 拨付 (003 二(一)–(四))."""

    SUBMITTED = "submitted"
    RETURNED = "returned"  # 初审 found the papers incomplete: back to the applicant
    CHECKED = "checked"  # 初审 passed (completeness)
    REVIEWED = "reviewed"  # 复核 passed
    IN_NOTICE = "in_notice"  # 公示
    RE_REVIEW = "re_review"  # an objection during the notice: 复核 again (003 二(三))
    APPROVED = "approved"  # 公示期满无异议, or the objection dismissed
    PAID = "paid"  # 拨付
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"  # 异议成立，取消其补贴资格
    RECOVERED = "recovered"  # paid wrongly, money claimed back (追回)


class NoticeStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ObjectionStatus(StrEnum):
    LODGED = "lodged"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class PaymentBatchStatus(StrEnum):
    DRAFT = "draft"
    PAID = "paid"


class RecoveryStatus(StrEnum):
    ORDERED = "ordered"  # the decision to claw back
    RECOVERED = "recovered"  # the money is back in the fund


class PayoutChangeStatus(StrEnum):
    """A change of payout account: asked for by its holder, decided by a caseworker."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"


_CLASS: _Table = {
    ClassStatus.DRAFT: frozenset({ClassStatus.FILED}),
    ClassStatus.FILED: frozenset({ClassStatus.APPROVED, ClassStatus.REFUSED}),
    ClassStatus.APPROVED: frozenset({ClassStatus.RUNNING}),
    ClassStatus.RUNNING: frozenset({ClassStatus.FINISHED}),
    ClassStatus.FINISHED: frozenset(),
    ClassStatus.REFUSED: frozenset(),
}

C = ClaimStatus
_CLAIM: _Table = {
    C.SUBMITTED: frozenset({C.CHECKED, C.RETURNED, C.REJECTED, C.WITHDRAWN}),
    C.RETURNED: frozenset({C.SUBMITTED, C.WITHDRAWN}),
    C.CHECKED: frozenset({C.REVIEWED, C.REJECTED, C.WITHDRAWN}),
    C.REVIEWED: frozenset({C.IN_NOTICE, C.REJECTED, C.WITHDRAWN}),
    C.IN_NOTICE: frozenset({C.APPROVED, C.RE_REVIEW}),
    C.RE_REVIEW: frozenset({C.IN_NOTICE, C.APPROVED, C.CANCELLED}),
    C.APPROVED: frozenset({C.PAID}),
    C.PAID: frozenset({C.RECOVERED}),
    C.REJECTED: frozenset(),
    C.WITHDRAWN: frozenset(),
    C.CANCELLED: frozenset(),
    C.RECOVERED: frozenset(),
}

# claims that hold their place in the trainee's ledger (3 a year, same occupation once…):
# every claim still on its way or granted
LEDGER_STATUSES: frozenset[ClaimStatus] = frozenset(
    {C.SUBMITTED, C.RETURNED, C.CHECKED, C.REVIEWED, C.IN_NOTICE, C.RE_REVIEW, C.APPROVED, C.PAID}
)

_NOTICE: _Table = {
    NoticeStatus.OPEN: frozenset({NoticeStatus.CLOSED}),
    NoticeStatus.CLOSED: frozenset(),
}
_OBJECTION: _Table = {
    ObjectionStatus.LODGED: frozenset({ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED}),
    ObjectionStatus.UPHELD: frozenset(),
    ObjectionStatus.DISMISSED: frozenset(),
}
_BATCH: _Table = {
    PaymentBatchStatus.DRAFT: frozenset({PaymentBatchStatus.PAID}),
    PaymentBatchStatus.PAID: frozenset(),
}
_RECOVERY: _Table = {
    RecoveryStatus.ORDERED: frozenset({RecoveryStatus.RECOVERED}),
    RecoveryStatus.RECOVERED: frozenset(),
}
_PAYOUT_CHANGE: _Table = {
    PayoutChangeStatus.REQUESTED: frozenset(
        {PayoutChangeStatus.APPROVED, PayoutChangeStatus.REFUSED}
    ),
    PayoutChangeStatus.APPROVED: frozenset(),
    PayoutChangeStatus.REFUSED: frozenset(),
}

TRANSITIONS: Mapping[type[StrEnum], _Table] = {
    ClassStatus: _CLASS,
    ClaimStatus: _CLAIM,
    NoticeStatus: _NOTICE,
    ObjectionStatus: _OBJECTION,
    PaymentBatchStatus: _BATCH,
    RecoveryStatus: _RECOVERY,
    PayoutChangeStatus: _PAYOUT_CHANGE,
}


class IllegalTransition(ValueError):
    """A move the workflow does not allow from the entity's current status."""

    def __init__(self, what: str, current: StrEnum, wanted: StrEnum):
        allowed = ", ".join(sorted(TRANSITIONS[type(current)][current])) or "none (final)"
        super().__init__(
            f"{what}: cannot go from '{current}' to '{wanted}' (allowed from '{current}': {allowed})"
        )
        self.current, self.wanted = current, wanted


def allowed(current: StrEnum) -> frozenset[StrEnum]:
    return TRANSITIONS[type(current)][current]


def check_move(what: str, current: StrEnum, wanted: StrEnum) -> None:
    if wanted not in allowed(current):
        raise IllegalTransition(what, current, wanted)
