"""The shape of a policy pack: what each file may hold, checked when a pack is loaded.

Each model is one *kind* of rule; its fields are the numbers, lists and clause references
that the pack's YAML supplies. Unknown keys are refused so that a typo cannot silently
drop a rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from skillsubsidy.policy.claims import FIELD_NAMES
from skillsubsidy.policy.conditions import ConditionError, compile_condition, fields_of
from skillsubsidy.policy.vocabulary import CLAIMANTS, COURSES, KINDS, ROUTES

Level = Annotated[int, Field(ge=1, le=5)]
Money = Annotated[Decimal, Field(ge=0)]
Ratio = Annotated[Decimal, Field(ge=0, le=10)]


# what a condition may read: the claim's fields and the facts the certificate rule derives
CONDITION_FIELDS = frozenset(FIELD_NAMES) | {"category", "shortage"}


def _check_condition(value: str | None) -> str | None:
    if value is not None:
        try:
            compile_condition(value)
        except ConditionError as exc:
            raise ValueError(str(exc)) from exc
        unknown = fields_of(value) - CONDITION_FIELDS
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))} in {value!r}")
    return value


# a condition in the pack language, checked when the pack loads (grammar and field names)
Condition = Annotated[str, Field(min_length=1), AfterValidator(_check_condition)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- pack.yaml -------------------------------------------------------------------------


class Selection(Strict):
    by_date: bool
    from_: dt.date | None = Field(default=None, alias="from")
    until: dt.date | None = None
    reference: str

    @model_validator(mode="after")
    def _window(self) -> Selection:
        if self.by_date and self.from_ is None:
            raise ValueError("from: a pack chosen by date needs 'from'")
        if self.from_ and self.until and self.until < self.from_:
            raise ValueError("until: is before 'from'")
        return self


class PackInfo(Strict):
    id: str
    title: str
    document: str
    source: str
    jurisdiction: Literal["wenzhou", "jinhua", "county"]
    selection: Selection
    kinds: list[Literal[KINDS]]  # type: ignore[valid-type]
    kinds_reference: str


# --- conditions.yaml -------------------------------------------------------------------


class Widened(Strict):
    when: Condition
    sex: Literal["male", "female"]
    maximum: int


class AgeRule(Strict):
    reference: str
    minimum: int
    maximum: dict[Literal["male", "female"], int] | None
    widened: list[Widened] = []
    beyond_maximum_if: Condition | None = None


class DeadlineRule(Strict):
    reference: str
    months_after_issue: int = Field(gt=0)


class FilingScope(Strict):
    kind: Literal[KINDS]  # type: ignore[valid-type]
    route: Literal[ROUTES] | None = None  # type: ignore[valid-type]


class FilingRule(Strict):
    reference: str
    required_for: list[FilingScope]
    exempt_if: Condition | None = None
    late_warning_days: int | None = None


class Cited(Strict):
    reference: str


class AnnualLimit(Strict):
    count: int = Field(gt=0)
    reference: str


class LedgerRules(Strict):
    annual_limit: AnnualLimit | None = None
    duplicate_occupation_level: Cited | None = None
    entrepreneurship_repeat: Cited | None = None
    graduating_year_once: Cited | None = None


class Conditions(Strict):
    age: AgeRule
    deadline: DeadlineRule | None
    filing: FilingRule | None
    ledger: LedgerRules


# --- funds.yaml ------------------------------------------------------------------------

FundSource = Literal["district", "training.filed_district", "employer.ui_district"]


class FundWhen(Strict):
    kind: list[Literal[KINDS]] | None = None  # type: ignore[valid-type]
    claimant: list[Literal[CLAIMANTS]] | None = None  # type: ignore[valid-type]
    route: list[Literal[ROUTES]] | None = None  # type: ignore[valid-type]
    condition: Condition | None = None


class FundRoute(Strict):
    when: FundWhen
    source: FundSource | None = None
    code: str | None = None
    label: str
    reference: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FundRoute:
        if (self.source is None) == (self.code is None):
            raise ValueError(
                "source: give exactly one of 'source' (a claim field) or 'code' (a fund)"
            )
        return self


class Funds(Strict):
    reference: str
    merge: dict[str, str]
    routes: list[FundRoute]

    @model_validator(mode="after")
    def _catch_all_last(self) -> Funds:
        last = self.routes[-1].when if self.routes else None
        if last is None or last.model_dump(exclude_none=True):
            raise ValueError(
                "routes: the last route must have an empty 'when' (it catches every claim)"
            )
        return self


# --- kinds -----------------------------------------------------------------------------


class Standards(Strict):
    reference: str
    unit: str
    vocational: dict[str, dict[Level, Money]]
    special_ability: dict[Level, Money]


class Categories(Strict):
    reference: str
    default: str
    lists: dict[str, list[str]]


class Shortage(Strict):
    reference: str
    factor: Ratio
    source: Literal["list", "claim"]
    list: dict[str, tuple[Level, Level]]


class Residency(Strict):
    reference: str
    label: str
    any_of: list[Condition]
    excluded: Condition | None = None
    excluded_reference: str | None = None


class Route(Strict):
    ratio: Ratio
    reference: str
    label: str


class IndividualClaim(Strict):
    routes: dict[Literal[ROUTES], Route]  # type: ignore[valid-type]


class HoursRule(Strict):
    reference: str
    minimum: dict[Level, int]
    extra_per_hour: Money
    cap_multiple: Ratio
    hours_note: str


class OrganisationClaim(Strict):
    ratio: Ratio
    reference: str
    label: str
    requires: Condition | None = None
    refused_if: Condition | None = None
    refused_reference: str | None = None
    scope_any_of: list[Condition] | None = None
    hours: HoursRule | None = None


class CertificateRule(Strict):
    rule: Literal["certificate"]
    reference: str
    standards: Standards
    categories: Categories
    shortage: Shortage
    residency: Residency
    skill_upgrade_exclusion: Cited | None = None
    claimants: dict[str, IndividualClaim | OrganisationClaim]

    @model_validator(mode="after")
    def _consistent(self) -> CertificateRule:
        for cat in [self.categories.default, *self.categories.lists]:
            if cat not in self.standards.vocational:
                raise ValueError(f"categories.lists.{cat}: has no standards.vocational table")
        for name in self.claimants:
            if name not in CLAIMANTS:
                raise ValueError(f"claimants.{name}: unknown claimant")
        return self


class ProjectType(Strict):
    reference: str
    label: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    per_hour: Money | None = None
    cap: Money | None = None
    flat: Money | None = None
    renewal: Money | None = None


class Uplift(Strict):
    reference: str
    factor: Ratio
    if_: Condition = Field(alias="if")
    training_began_by: dt.date


class ProjectClaimantRate(Strict):
    reference: str
    label: str
    per_hour: Money
    cap: Money
    minimum_hours: int | None = None
    uplift: Uplift | None = None
    special_operation_renewal: Money | None = None


class ProjectRule(Strict):
    rule: Literal["project"]
    reference: str
    trainee_residency: bool = False
    trainee_residency_reference: str | None = None
    types: dict[Literal["training_pass", "special_operation"], ProjectType]
    by_claimant: dict[Literal[CLAIMANTS], ProjectClaimantRate] = {}  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _rated(self) -> ProjectRule:
        for name, t in self.types.items():
            for c in t.claimants:
                if c not in self.by_claimant and t.per_hour is None and t.flat is None:
                    raise ValueError(f"types.{name}.claimants: {c} has no rate")
        return self


class PreJobEmployer(Strict):
    reference: str
    label: str
    new_hire_months: int


class PreJobInstitution(Strict):
    reference: str
    label: str
    requires: Condition


class PreJobRule(Strict):
    rule: Literal["pre_job"]
    reference: str
    amount: Money
    minimum_hours: Decimal
    claimants: dict[str, PreJobEmployer | PreJobInstitution]


class EmployeeApprentice(Strict):
    reference: str
    kind: Literal["fee_share", "ceiling", "flat"]
    full_below: Money | None = None
    share: Ratio | None = None
    floor: Money | None = None
    cap: Money | None = None
    without_vocational_cert: Ratio | None = None
    uplift: Uplift | None = None
    amount: Money | None = None

    @model_validator(mode="after")
    def _complete(self) -> EmployeeApprentice:
        needed = {
            "fee_share": ("full_below", "share", "floor", "cap", "without_vocational_cert"),
            "ceiling": ("cap",),
            "flat": ("amount",),
        }[self.kind]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{missing[0]}: kind {self.kind} needs {', '.join(missing)}")
        return self


class StudentApprentice(Strict):
    reference: str
    kind: Literal["allowance", "ceiling"]
    cap: Money
    requires: Condition | None = None


class ApprenticeshipRule(Strict):
    rule: Literal["apprenticeship"]
    reference: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    employee: EmployeeApprentice
    student: StudentApprentice | None


class MasterApprenticeRule(Strict):
    rule: Literal["master_apprentice"]
    reference: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    uses: Literal["certificate"]


class EntrepreneurshipRule(Strict):
    rule: Literal["entrepreneurship"]
    reference: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    courses: dict[Literal[COURSES], Money]  # type: ignore[valid-type]
    not_started_ratio: Ratio


class EnterpriseTrainingRule(Strict):
    rule: Literal["enterprise_training"]
    reference: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    amount: Money
    minimum_days: Decimal
    minimum_hours: Decimal


class OrderTrainingRule(Strict):
    rule: Literal["order_training"]
    reference: str
    claimants: list[Literal[CLAIMANTS]]  # type: ignore[valid-type]
    minimum_employment_rate: Ratio
    first_days: int
    first_rate: Money
    later_rate: Money
    cap: Money


class NewSkillAmounts(Strict):
    reference: str
    vocational: dict[Level, Money]
    special_operation: Money


class FirstOnly(Strict):
    reference: str
    levels: list[Level]


class DatedClaimant(Strict):
    reference: str
    value: Literal[CLAIMANTS]  # type: ignore[valid-type]


class NewSkillCertRule(Strict):
    rule: Literal["new_skill_cert"]
    reference: str
    skill_upgrade_reference: str
    amounts: NewSkillAmounts
    first_certificate_only: FirstOnly
    claimant: DatedClaimant


KIND_RULES: dict[str, type[BaseModel]] = {
    "certificate": CertificateRule,
    "project": ProjectRule,
    "pre_job": PreJobRule,
    "apprenticeship": ApprenticeshipRule,
    "master_apprentice": MasterApprenticeRule,
    "entrepreneurship": EntrepreneurshipRule,
    "enterprise_training": EnterpriseTrainingRule,
    "order_training": OrderTrainingRule,
    "new_skill_cert": NewSkillCertRule,
}
