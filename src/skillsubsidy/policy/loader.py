"""Load the policy packs from their folders, resolve dated values, and validate them.

A pack folder holds ``pack.yaml``, ``conditions.yaml``, ``funds.yaml`` and one file per kind
it offers. Any mapping of the form ``{dated: {DATE: VALUE, …}, …}`` is a value that changes
over time; loading splits the pack into *periods* at every such date, so the rules only ever
see plain values (the engine picks the period by the claim's key date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from skillsubsidy.policy.schema import (
    KIND_RULES,
    CertificateRule,
    Conditions,
    Funds,
    PackInfo,
)

PACKS_DIR = Path(__file__).parent / "packs"


class PackError(ValueError):
    """A malformed pack: names the file, the key and the reason."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{f}: {k}: {r}" for f, k, r in problems))


@dataclass(frozen=True)
class PackPeriod:
    """One pack with every dated value resolved for key dates in [starts, ends)."""

    id: str
    info: PackInfo
    conditions: Conditions
    funds: Funds
    kinds: dict[str, Any]  # kind -> its rule model (schema.KIND_RULES)
    starts: dt.date | None  # None: from the pack's beginning
    ends: dt.date | None  # None: open-ended


@dataclass(frozen=True)
class Catalogue:
    periods: tuple[PackPeriod, ...]
    occupation_aliases: dict[str, str]

    @cached_property
    def occupations(self) -> tuple[str, ...]:
        """Every occupation some pack lists (categories, shortage lists), sorted: claims
        carry an occupation's position here as a code, so lists are read by position."""
        names: set[str] = set()
        for period in self.periods:
            for rule in period.kinds.values():
                if isinstance(rule, CertificateRule):
                    names.update(o for occs in rule.categories.lists.values() for o in occs)
                    names.update(rule.shortage.list)
        return tuple(sorted(names))

    def period_for(self, jurisdiction: str, key_date: dt.date) -> PackPeriod | None:
        """The pack period a claim of ``jurisdiction`` with this key date is decided under
        when it names no pack (POLICY.md §2), as the engine chooses it."""
        for p in self.periods:
            sel = p.info.selection
            if not sel.by_date or p.info.jurisdiction != jurisdiction:
                continue
            if (p.starts and key_date < p.starts) or (p.ends and key_date >= p.ends):
                continue
            if (sel.from_ and key_date < sel.from_) or (sel.until and key_date > sel.until):
                continue
            return p
        return None

    @property
    def pack_ids(self) -> list[str]:
        return list(dict.fromkeys(p.id for p in self.periods))

    def info(self, pack_id: str) -> PackInfo:
        return next(p.info for p in self.periods if p.id == pack_id)


def _read_yaml(path: Path, problems: list[tuple[str, str, str]]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: e.g. month 13
        problems.append((str(path), "(file)", str(exc).replace("\n", " ")))
        return None


def _change_dates(node: Any) -> set[dt.date]:
    if isinstance(node, dict):
        if "dated" in node and isinstance(node["dated"], dict):
            return {d for d in node["dated"] if isinstance(d, dt.date)}
        return set().union(*(_change_dates(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_change_dates(v) for v in node)) if node else set()
    return set()


def _resolve(node: Any, on: dt.date | None) -> Any:
    """The value of every ``dated`` block in force on ``on`` (None: the earliest).

    ``{dated: {…}}`` alone becomes the value itself; beside other keys (``reference``…)
    the value goes under ``value``.
    """
    if isinstance(node, dict):
        if "dated" in node and isinstance(node["dated"], dict):
            dates = sorted(node["dated"])
            chosen = dates[0] if on is None else max(d for d in dates if d <= on)
            value = _resolve(node["dated"][chosen], on)
            rest = {k: _resolve(v, on) for k, v in node.items() if k != "dated"}
            return {**rest, "value": value} if rest else value
        return {k: _resolve(v, on) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, on) for v in node]
    return node


def _validate(
    model: type[BaseModel], data: Any, path: Path, problems: list[tuple[str, str, str]]
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            reason = err["msg"].removeprefix("Value error, ")
            if not key and ": " in reason:  # whole-file checks name their key first
                key, reason = reason.split(": ", 1)
            problems.append((str(path), key or "(top)", reason))
        return None


def load_pack(folder: Path) -> list[PackPeriod]:
    problems: list[tuple[str, str, str]] = []
    raw: dict[str, Any] = {}
    for name in ("pack", "conditions", "funds"):
        path = folder / f"{name}.yaml"
        if not path.exists():
            problems.append((str(path), "(file)", "missing"))
        else:
            raw[name] = _read_yaml(path, problems)
    kinds = raw.get("pack", {}).get("kinds", []) if isinstance(raw.get("pack"), dict) else []
    for kind in kinds:
        path = folder / f"{kind}.yaml"
        if kind not in KIND_RULES:
            problems.append((str(folder / "pack.yaml"), "kinds", f"unknown kind {kind!r}"))
        elif not path.exists():
            problems.append((str(path), "(file)", f"missing: pack.yaml offers {kind}"))
        else:
            raw[kind] = _read_yaml(path, problems)
    for extra in sorted(folder.glob("*.yaml")):
        if extra.stem not in raw and extra.stem not in ("pack", "conditions", "funds"):
            problems.append((str(extra), "(file)", "not a kind listed in pack.yaml 'kinds'"))
    if problems:
        raise PackError(problems)

    dates = sorted(_change_dates(raw))
    # the earliest value of a dated block also covers every key date before it
    starts: list[dt.date | None] = [None, *dates[1:]]
    periods: list[PackPeriod] = []
    for i, start in enumerate(starts):
        data = _resolve(raw, start)
        info = _validate(PackInfo, data["pack"], folder / "pack.yaml", problems)
        conditions = _validate(Conditions, data["conditions"], folder / "conditions.yaml", problems)
        funds = _validate(Funds, data["funds"], folder / "funds.yaml", problems)
        rules = {
            k: _validate(KIND_RULES[k], data[k], folder / f"{k}.yaml", problems) for k in kinds
        }
        for k, rule in rules.items():
            if rule is not None and getattr(rule, "rule", k) != k:
                problems.append((str(folder / f"{k}.yaml"), "rule", f"must be {k!r}"))
        if problems:
            raise PackError(sorted(set(problems)))
        if info.id != folder.name:
            raise PackError([(str(folder / "pack.yaml"), "id", "must equal the folder name")])
        ends = starts[i + 1] if i + 1 < len(starts) else None
        periods.append(PackPeriod(info.id, info, conditions, funds, rules, start, ends))
    return periods


def load_catalogue(packs_dir: Path = PACKS_DIR) -> Catalogue:
    problems: list[tuple[str, str, str]] = []
    periods: list[PackPeriod] = []
    for folder in sorted(p for p in packs_dir.iterdir() if p.is_dir()):
        try:
            periods.extend(load_pack(folder))
        except PackError as exc:
            problems.extend(exc.problems)
    aliases: dict[str, str] = {}
    occ_file = packs_dir / "occupations.yaml"
    if occ_file.exists():
        data = _read_yaml(occ_file, problems) or {}
        aliases = data.get("aliases") or {}
        if not isinstance(aliases, dict):
            problems.append((str(occ_file), "aliases", "must be a mapping"))
            aliases = {}
    if problems:
        raise PackError(problems)
    return Catalogue(tuple(periods), {str(k): str(v) for k, v in aliases.items()})


@cache
def catalogue_version(packs_dir: Path = PACKS_DIR) -> str:
    """A short fingerprint of every pack file: decisions record the exact data they used."""
    digest = hashlib.sha256()
    for path in sorted(packs_dir.rglob("*.yaml")):
        digest.update(path.relative_to(packs_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@cache
def default_catalogue() -> Catalogue:
    return load_catalogue()
