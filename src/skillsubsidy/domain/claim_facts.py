"""Which facts of a claim the applicant declares, and which only the records may give.

The facts that decide money come from the records: the certificate from the certificate
record, the training from the filed class and its roster, the employer from the registry,
the date of application from the server's clock. An applicant may declare only what no
record holds — residency and insurance answers, the apprentice's contract, a hire date —
and the caseworker sees those as declared by the applicant (告知承诺).
"""

from __future__ import annotations

from typing import Any

from skillsubsidy.policy.claims import FIELD_NAMES


def _inner(group: str) -> tuple[str, ...]:
    """The contract's fields inside ``group`` (CONTRACT.md)."""
    return tuple(n.partition(".")[2] for n in FIELD_NAMES if n.startswith(f"{group}."))


# what a claim is about, fixed once it is made (a correction cannot move or re-aim it)
FIXED = ("jurisdiction", "kind", "claimant", "district", "applied_on", "person.id_number")
# top-level facts the applicant may give
DECLARED_TOP = (
    "jurisdiction",
    "kind",
    "claimant",
    "route",
    "district",
    "claimant_city_level",
    "business_started_within_6_months",
)
# facts inside the nested objects the applicant may give; every other one is the records'
DECLARED_NESTED: dict[str, tuple[str, ...]] = {
    # every answer about the trainee (residency, insurance, pension…): the contract's person.*
    "person": _inner("person"),
    # a lie here only loses the applicant money (the 技能提升补贴 already received)
    "certificate": ("skill_upgrade_subsidy_received",),
    "employer": ("hired_on", "key_manufacturing", "trade_friction"),
    "apprentice": _inner("apprentice"),  # no record holds the apprenticeship contract
}
# what the bureau finds and sets when it corrects a claim (re-decision), never the applicant:
# whether an occupation is in shortage, for the packs that publish no list
BUREAU_FINDINGS: dict[str, tuple[str, ...]] = {"certificate": ("in_shortage_list",)}
# the kinds whose claim rests on a certificate record, and on a filed class with its roster
NEEDS_CERTIFICATE = frozenset({"certificate", "project", "master_apprentice", "new_skill_cert"})
NEEDS_CLASS = frozenset(
    {"project", "pre_job", "entrepreneurship", "enterprise_training", "order_training"}
    | {"master_apprentice"}
)
SELF_ROUTES = ("self_study", "competition")  # certificate claims with no class behind them


def needs_class(kind: str, route: object) -> bool:
    """A certificate claim through an institution (the default route) rests on its class."""
    if kind == "certificate":
        return route in (None, "institution")
    return kind in NEEDS_CLASS


def undeclarable(facts: dict[str, Any], bureau: bool = False) -> str | None:
    """The first fact an applicant (or, ``bureau``, a caseworker correcting the claim) may
    not give (dotted), or None."""
    for key, value in facts.items():
        if key == "id":
            continue
        allowed = DECLARED_NESTED.get(key, ()) + (BUREAU_FINDINGS.get(key, ()) if bureau else ())
        if key in DECLARED_NESTED or allowed:
            if not isinstance(value, dict):
                return key
            for inner in value:
                if inner not in allowed:
                    return f"{key}.{inner}"
        elif key not in DECLARED_TOP:
            return key
    return None


def declared(facts: dict[str, Any]) -> dict[str, Any]:
    """What the applicant declared, dotted, as the caseworker is shown it (告知承诺)."""
    shown: dict[str, Any] = {}
    for key in ("route", "claimant_city_level", "business_started_within_6_months"):
        if key in facts:
            shown[key] = facts[key]
    for group, inner in DECLARED_NESTED.items():
        values = facts.get(group)
        if isinstance(values, dict):
            for name in inner:
                if name in values and name != "id_number":
                    shown[f"{group}.{name}"] = values[name]
    return shown
