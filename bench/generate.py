r"""Generate a large synthetic claim batch for benchmarking the skillsubsidy rules engine.

The output is a CSV claim file in the evaluation-contract format (shared/spec/CONTRACT.md: one
header row of dotted column names, an empty cell means the field is absent, booleans are
``true``/``false``, dates ``YYYY-MM-DD``) and, on request, a history file of earlier claims of
the same people. The mix imitates a real intake so that every code path of the engine is timed,
not just the common one (shared/spec/POLICY.md):

* 80 % Wenzhou (mostly individual certificate claims via an institution, some by employers,
  schools and designated institutions, self-study and competition routes before 2023-04-01,
  smaller shares of the other kinds), 12 % Jinhua, 8 % the county;
* key dates over 2021-06..2025-06, so every pack and the pre-policy gap are hit, applications
  0-400 days later, training classes filed before they start (sometimes late or not at all);
* valid 18-character citizen IDs with birth dates 1955-2008, so some trainees fall outside the
  age bounds, and realistic residence / insurance / pension flags;
* a quarter of the claims belong to people with 2-5 claims close together in time, some
  repeating an occupation and level, so the per-person ledger checks do real work;
* about 0.5 % deliberately invalid records (bad ID check character, missing applied_on,
  unknown kind, negative training.hours), so the error path is timed too.

Every column is built vectorised with numpy and assembled in polars; one million claims take a
few seconds. The output depends only on the arguments (same seed, same files).

Usage:
    python bench/generate.py --claims 1000000 --seed 7 --out /tmp/claims.csv \
        [--history-out /tmp/history.csv --history 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

COLUMNS = (
    "id", "jurisdiction", "kind", "claimant", "route", "district", "claimant_city_level",
    "applied_on",
    "person.id_number", "person.hukou_local", "person.residence_permit_local",
    "person.ui_insured_local", "person.unemployment_registered_local", "person.works_locally",
    "person.unemployed_graduate", "person.public_servant", "person.receives_pension",
    "person.receives_resident_pension", "person.domestic_service_worker",
    "person.graduating_year_student", "person.key_group", "person.skill_upgrade_subsidy_eligible",
    "person.holds_prior_certificate", "person.social_insurance_months",
    "certificate.type", "certificate.occupation", "certificate.level", "certificate.issued_on",
    "certificate.number", "certificate.renewal", "certificate.in_shortage_list",
    "certificate.skill_upgrade_subsidy_received",
    "training.hours", "training.days", "training.enrolled_on", "training.starts_on",
    "training.filed_on", "training.filed_district", "training.course", "training.local_specialty",
    "training.employment_rate",
    "employer.ui_district", "employer.hired_on", "employer.key_manufacturing",
    "employer.trade_friction", "employer.public_institution",
    "apprentice.type", "apprentice.fee", "apprentice.allowance_paid", "apprentice.vocational_cert",
    "apprentice.labour_contract", "apprentice.social_insurance",
    "business_started_within_6_months",
)  # fmt: skip

NONE = -1  # code of an absent categorical value (an empty cell)
PICK_TABLE = 2**16  # resolution of weighted draws
INVALID_SHARE = 0.005
MULTI_CLAIM_SHARE = 0.25  # share of claims whose person has 2-5 claims


def day(iso: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


FIRST_DAY = day("2021-06-01")
LAST_DAY = day("2025-06-30")
WENZHOU_2023 = day("2023-04-01")  # wenzhou-2023 replaces wenzhou-2022 (key date)
COUNTY_INDIVIDUALS = day("2024-01-01")  # county new_skill_cert: claimed by the individual
AGE_REFERENCE_DAY = day("2023-07-01")  # for age-dependent flags such as pensions


# --- vocabularies -------------------------------------------------------------------------------


class Jurisdiction(IntEnum):
    wenzhou = 0
    jinhua = 1
    county = 2


class Kind(IntEnum):
    certificate = 0
    project = 1
    pre_job = 2
    apprenticeship = 3
    master_apprentice = 4
    entrepreneurship = 5
    enterprise_training = 6
    order_training = 7
    new_skill_cert = 8


class Claimant(IntEnum):
    individual = 0
    employer = 1
    school = 2
    designated_institution = 3
    training_institution = 4
    master_studio = 5
    evaluation_institution = 6
    department = 7


class Route(IntEnum):
    institution = 0
    self_study = 1
    competition = 2


class CertType(IntEnum):
    vocational = 0
    special_ability = 1
    training_pass = 2
    special_operation = 3


class Course(IntEnum):
    SYB = 0
    IYB = 1
    online = 2
    internet_plus = 3
    x8 = 4  # written "8x"


COURSE_LABELS = ("SYB", "IYB", "online", "internet_plus", "8x")
CERT_NUMBER_PREFIX = ("S", "Z", "P", "T")  # by CertType

JURISDICTION_SHARE = {Jurisdiction.wenzhou: 0.80, Jurisdiction.jinhua: 0.12,
                      Jurisdiction.county: 0.08}  # fmt: skip
# earliest key date drawn; the county pack starts 2023-01-01, a few earlier claims get no_policy
FIRST_KEY_DATE = np.array([FIRST_DAY, FIRST_DAY, day("2022-10-01")])  # by Jurisdiction

DISTRICTS = ("330300", "330302", "330303", "330304", "330305", "WZ-BAY", "WZ-OEDZ",
             "330700", "330702", "330703", "JH-EDZ", "130100")  # fmt: skip
DISTRICT_SHARE = {
    Jurisdiction.wenzhou: {"330300": 0.22, "330302": 0.26, "330303": 0.15, "330304": 0.18,
                           "330305": 0.04, "WZ-BAY": 0.09, "WZ-OEDZ": 0.06},
    Jurisdiction.jinhua: {"330700": 0.30, "330702": 0.30, "330703": 0.25, "JH-EDZ": 0.15},
    Jurisdiction.county: {"130100": 1.0},
}  # fmt: skip

# ID region codes: where a person's hukou is local to the jurisdiction, and where migrants come from
LOCAL_REGIONS = {
    Jurisdiction.wenzhou: {330302: 0.4, 330303: 0.2, 330304: 0.3, 330305: 0.1},
    Jurisdiction.jinhua: {330702: 0.55, 330703: 0.45},
    Jurisdiction.county: {130100: 1.0},
}
MIGRANT_REGIONS = {330381: 0.12, 330382: 0.10, 330326: 0.08, 330782: 0.06, 341221: 0.12,
                   522121: 0.10, 510722: 0.10, 430521: 0.08, 362329: 0.08, 412723: 0.06,
                   330103: 0.05, 500228: 0.05}  # fmt: skip
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def words(text: str) -> list[str]:
    """The whitespace-separated words of a text block."""
    return text.split()


# occupations: POLICY.md §5 categories A-C, some unlisted ones (category D) and two aliases
CATEGORY_A = words(
    """
    车工 铣工 焊工 铸造工 锻造工 钳工 磨工 冲压工 金属热处理工 锅炉操作工 机床装调维修工
    模具工 起重装卸机械操作工 电切削工 金属轧制工 多工序数控机床操作调整工 电气设备安装工
    变压器互感器制造工 制冷工 仪器仪表制造工 小型家用电器制造工 电子专用设备装调工
    印刷操作员 非织造布制造工
    """
)
CATEGORY_B = words(
    """
    高低压电器及成套设备装配工 电池制造工 缝纫工 圆珠笔制造工 锁具修理工 制鞋工 鞋类设计师
    服装制版师 中央空调系统运行操作员 电工 汽车维修工 电梯安装维修工 制冷空调系统安装维修工
    家用电子产品维修工 工业机器人系统操作员 工业机器人系统运维员 制图员 设备点检员
    眼镜架制作工 眼镜验光员 眼镜定配工 印前处理和制作员 印后制作员 塑料挤出工 塑料编织工
    橡胶半成品制造工 饲料加工工 茶叶加工工 工艺品雕刻工
    """
)
CATEGORY_C = words(
    """
    计算机及外部设备装配调试员 物联网安装调试员 网络与信息安全管理员 包装设计师 木工 砌筑工
    中式烹调师 西式烹调师 中式面点师 西式面点师 养老护理员 家政服务员 婴幼儿发展引导员
    互联网营销师 物流服务师 快递员 快件处理员 美容师 美发师 插花花艺师 评茶员
    """
)
UNLISTED = words(
    """
    茶艺师 人工智能训练师 保育师 育婴员 健康管理师 电子商务师 企业人力资源管理师
    劳动关系协调员 农艺工 公共营养师 保健按摩师 调饮师 无人机驾驶员 花卉园艺工 钢筋工
    混凝土工 架子工
    """
)
ALIASES = ["手工木工", "多工序数控机床操作工"]
POPULAR = words(
    """
    电工 焊工 车工 钳工 汽车维修工 养老护理员 家政服务员 中式烹调师 中式面点师 保育师 育婴员
    美容师 美发师 互联网营销师 茶艺师 电子商务师 健康管理师
    """
)
# POLICY.md §5 annex 3 (the level ranges are left to the engine)
SHORTAGE_2023 = words(
    """
    车工 铣工 焊工 电工 铸造工 锻造工 钳工 磨工 模具工 电梯安装维修工 机床装调维修工
    起重装卸机械操作工 冲压工 电切削工 多工序数控机床操作调整工 高低压电器及成套设备装配工
    电气设备安装工 鞋类设计师 制鞋工 缝纫工 服装制版师 制冷空调系统安装维修工 汽车维修工
    制冷工 家用电子产品维修工 眼镜定配工 眼镜验光员 眼镜架制作工 工业机器人系统运维员
    工业机器人系统操作员 人工智能训练师 物联网安装调试员 网络与信息安全管理员 互联网营销师
    印前处理和制作员 印刷操作员 印后制作员 塑料挤出工 非织造布制造工 制图员 养老护理员
    家政服务员 保育师
    """
)
SPECIAL_ABILITY = words(
    """
    短视频制作 电子商务直播 瓯菜制作 温州鱼丸制作 西式面点制作 茶叶炒制 老年人能力评估
    母婴护理 家庭收纳整理 民宿管家
    """
)
TRAINING_PASS = words("茶园管理 数控加工 电子商务 农村实用技术 安全生产管理 直播营销 家庭农场经营")
SPECIAL_OPERATION = words(
    """
    低压电工作业 高压电工作业 熔化焊接与热切割作业 登高架设作业 制冷与空调设备运行操作作业
    叉车司机 起重机司机 电梯修理
    """
)
ENTREPRENEURSHIP_TRAINING = "创业培训"

VOCATIONAL = [*CATEGORY_A, *CATEGORY_B, *CATEGORY_C, *UNLISTED, *ALIASES]
OCCUPATIONS = (*VOCATIONAL, *SPECIAL_ABILITY, *TRAINING_PASS, *SPECIAL_OPERATION,
               ENTREPRENEURSHIP_TRAINING)  # fmt: skip
IN_SHORTAGE_LIST = np.array([name in SHORTAGE_2023 for name in OCCUPATIONS])


def occupation_share(names: Sequence[str], popular: float = 1.0) -> dict[int, float]:
    """Draw weights by occupation code: POPULAR names weigh `popular`, aliases little."""

    def weight(name: str) -> float:
        return popular if name in POPULAR else 0.3 if name in ALIASES else 1.0

    return {OCCUPATIONS.index(name): weight(name) for name in names}


VOCATIONAL_SHARE = occupation_share(VOCATIONAL, popular=8.0)
MANUFACTURING_SHARE = occupation_share([*CATEGORY_A, *CATEGORY_B], popular=3.0)
SPECIAL_ABILITY_SHARE = occupation_share(SPECIAL_ABILITY)
TRAINING_PASS_SHARE = occupation_share(TRAINING_PASS)
SPECIAL_OPERATION_SHARE = occupation_share(SPECIAL_OPERATION)

LEVEL_SHARE = {5: 0.42, 4: 0.30, 3: 0.18, 2: 0.07, 1: 0.03}
NEW_SKILL_LEVEL_SHARE = {5: 0.45, 4: 0.30, 3: 0.20, 2: 0.04, 1: 0.01}
SPECIAL_ABILITY_LEVEL_SHARE = {5: 0.68, 3: 0.12, NONE: 0.20}  # empty = default 5
MIN_HOURS_BY_LEVEL = np.array([0, 50, 40, 30, 20, 16])  # designated-institution minimum, index 1..5
HOURS_FACTOR_SHARE = {0.5: 0.03, 0.75: 0.05, 1.0: 0.25, 1.25: 0.20, 1.5: 0.17, 2.0: 0.15,
                      3.0: 0.10, 5.0: 0.05}  # fmt: skip

KIND_SHARE: dict[str, dict[Kind, float]] = {
    "wenzhou-2022": {Kind.certificate: 0.76, Kind.project: 0.07, Kind.pre_job: 0.06,
                     Kind.apprenticeship: 0.04, Kind.entrepreneurship: 0.04,
                     Kind.master_apprentice: 0.03},
    "wenzhou-2023": {Kind.certificate: 0.80, Kind.project: 0.08, Kind.apprenticeship: 0.05,
                     Kind.entrepreneurship: 0.05, Kind.pre_job: 0.01, Kind.master_apprentice: 0.01},
    "jinhua": {Kind.certificate: 0.75, Kind.project: 0.15, Kind.apprenticeship: 0.10},
    "county": {Kind.enterprise_training: 0.40, Kind.new_skill_cert: 0.30,
               Kind.order_training: 0.20, Kind.apprenticeship: 0.10},
}  # fmt: skip
CERT_TYPE_SHARE: dict[Kind, dict[int, float]] = {  # NONE: no certificate
    Kind.certificate: {CertType.vocational: 0.92, CertType.special_ability: 0.08},
    Kind.project: {CertType.training_pass: 0.6, CertType.special_operation: 0.4},
    Kind.master_apprentice: {CertType.vocational: 1.0},
    Kind.new_skill_cert: {CertType.vocational: 0.85, CertType.special_operation: 0.15},
    Kind.apprenticeship: {CertType.vocational: 0.6, NONE: 0.4},
    Kind.entrepreneurship: {CertType.training_pass: 0.7, NONE: 0.3},
}
C, R = Claimant, Route
CERTIFICATE_CLAIMANT_SHARE = {  # plus schools for young trainees, see draw_claimants
    "wenzhou-2022": {C.individual: 0.85, C.employer: 0.14, C.designated_institution: 0.01},
    "wenzhou-2023": {C.individual: 0.78, C.employer: 0.13, C.designated_institution: 0.09},
    "jinhua": {C.individual: 0.85, C.employer: 0.15},
}
PROJECT_CLAIMANT_SHARE = {
    ("wenzhou-2022", CertType.training_pass):
        {C.employer: 0.4, C.training_institution: 0.4, C.school: 0.1, C.department: 0.1},
    ("wenzhou-2022", CertType.special_operation):
        {C.employer: 0.5, C.training_institution: 0.4, C.department: 0.1},
    ("wenzhou-2023", CertType.training_pass): {C.training_institution: 0.95, C.employer: 0.05},
    ("wenzhou-2023", CertType.special_operation): {C.individual: 0.93, C.employer: 0.07},
    ("jinhua", CertType.training_pass):
        {C.employer: 0.5, C.training_institution: 0.25, C.department: 0.15, C.school: 0.1},
    ("jinhua", CertType.special_operation):
        {C.employer: 0.5, C.training_institution: 0.25, C.department: 0.15, C.school: 0.1},
}  # fmt: skip
KIND_CLAIMANT_SHARE = {
    Kind.pre_job: {C.employer: 0.7, C.training_institution: 0.3},
    Kind.order_training: {C.employer: 0.5, C.training_institution: 0.5},
    Kind.apprenticeship: {C.employer: 1.0},
    Kind.enterprise_training: {C.employer: 1.0},
    Kind.master_apprentice: {C.master_studio: 1.0},
    Kind.entrepreneurship: {C.training_institution: 1.0},
}
ROUTE_SHARE = {  # individual certificate claims
    "wenzhou-2022": {R.institution: 0.80, R.self_study: 0.15, R.competition: 0.05},
    "wenzhou-2023": {R.institution: 0.96, R.competition: 0.03, R.self_study: 0.01},
    "jinhua": {R.institution: 0.85, R.self_study: 0.10, R.competition: 0.05},
}
COURSE_SHARE = {Course.SYB: 0.45, Course.IYB: 0.20, Course.online: 0.15,
                Course.internet_plus: 0.12, Course.x8: 0.08}  # fmt: skip
PRE_JOB_HOURS_SHARE = {4: 0.04, 6: 0.04, 8: 0.30, 12: 0.20, 16: 0.20, 24: 0.12, 40: 0.10}
ENTERPRISE_DAYS_SHARE = {1: 0.05, 2: 0.07, 3: 0.30, 4: 0.20, 5: 0.20, 7: 0.10, 10: 0.08}

# rare statuses that intake forms leave blank unless they apply (empty = false)
BLANK_UNLESS_TRUE = (
    "person.unemployment_registered_local",
    "person.unemployed_graduate",
    "person.public_servant",
    "person.receives_resident_pension",
    "person.domestic_service_worker",
    "person.key_group",
)

ERRORS = ("bad_id_check", "missing_applied_on", "unknown_kind", "negative_hours")


# --- random helpers -----------------------------------------------------------------------------


def pick(rng: np.random.Generator, weights: Mapping[Any, float], size: int) -> np.ndarray:
    """`size` keys of `weights` drawn with the given (relative) weights.

    The weights are rounded to multiples of 2**-16 so that a draw is one table lookup.
    """
    keys = np.asarray(list(weights))
    cdf = np.cumsum(np.fromiter(weights.values(), dtype=float))
    table = np.searchsorted(cdf / cdf[-1], (np.arange(PICK_TABLE) + 0.5) / PICK_TABLE)
    return keys[table[rng.integers(0, PICK_TABLE, size)]]


def fill(
    rng: np.random.Generator, target: np.ndarray, where: np.ndarray, weights: Mapping[Any, float]
) -> None:
    """Set target[where] to keys of `weights` drawn with the given weights."""
    count = int(where.sum())
    if count:
        target[where] = pick(rng, weights, count)


def chance(rng: np.random.Generator, p: float | np.ndarray, size: int) -> np.ndarray:
    """Boolean array, each True with probability p."""
    return rng.random(size) < p


def between(rng: np.random.Generator, low: int, high: int, size: int) -> np.ndarray:
    """Integers uniform in [low, high]."""
    return rng.integers(low, high + 1, size)


# --- column encoders (numpy codes -> polars Series) ---------------------------------------------


def text_column(labels: Sequence[str], codes: np.ndarray) -> pl.Series:
    """labels[code] per row; NONE gives an empty cell."""
    table = pl.Series([None, *labels], dtype=pl.String)
    return table.gather(pl.Series(codes.astype(np.int32) + 1))


def enum_column(enum: type[IntEnum], codes: np.ndarray) -> pl.Series:
    """Member names of `enum` by code."""
    return text_column([member.name for member in enum], codes)


def flag_column(values: np.ndarray, present: np.ndarray | None = None) -> pl.Series:
    """Booleans (written `true`/`false`), empty where not present."""
    flags = pl.Series(values, dtype=pl.Boolean)
    return flags if present is None else only_where(flags, present)


def only_where(series: pl.Series, present: np.ndarray) -> pl.Series:
    """The series with empty cells where not present."""
    return pl.select(pl.when(pl.Series(present)).then(series)).to_series()


def date_column(days: np.ndarray, present: np.ndarray | None = None) -> pl.Series:
    dates = pl.Series(days.astype(np.int32)).cast(pl.Date)
    return dates if present is None else only_where(dates, present)


def int_column(values: np.ndarray, present: np.ndarray | None = None) -> pl.Series:
    numbers = pl.Series(values.astype(np.int64))
    return numbers if present is None else only_where(numbers, present)


def sparse_column(values: pl.Series, rows: np.ndarray, n: int) -> pl.Series:
    """`values` at `rows` of an otherwise empty column of length n."""
    return pl.repeat(None, n, dtype=values.dtype, eager=True).scatter(rows, values)


def money_column(cents: np.ndarray, present: np.ndarray) -> pl.Series:
    """Decimal strings with two places, e.g. 5600.00 (formatted for the present rows only)."""
    rows = np.flatnonzero(present)
    yuan = pl.Series(cents[rows] // 100).cast(pl.String)
    fraction = pl.Series(cents[rows] % 100).cast(pl.String).str.zfill(2)
    return sparse_column(yuan + "." + fraction, rows, len(cents))


def sequence_ids(prefix: str, count: int) -> pl.Series:
    """c0000001, c0000002, ... (at least seven digits)."""
    width = max(7, len(str(count)))
    return prefix + pl.Series(np.arange(1, count + 1)).cast(pl.String).str.zfill(width)


# --- persons ------------------------------------------------------------------------------------


@dataclass
class Persons:
    """One entry per person; claims refer to them by index."""

    jurisdiction: np.ndarray  # Jurisdiction code: all of a person's claims are filed there
    birth: np.ndarray  # day number
    id17: np.ndarray  # int64: region, birth date and sequence, the first 17 ID digits
    check: np.ndarray  # index into CHECK_CHARS
    flags: dict[str, np.ndarray]  # person.* booleans by column name
    insurance_months: np.ndarray


def claims_per_person(rng: np.random.Generator, n_claims: int) -> np.ndarray:
    """Number of claims of each person: 2-5 for about MULTI_CLAIM_SHARE of the claims, else 1."""
    target = round(n_claims * MULTI_CLAIM_SHARE)
    sizes = pick(rng, {2: 0.45, 3: 0.30, 4: 0.15, 5: 0.10}, target // 2 + 1)
    sizes = sizes[np.cumsum(sizes) <= target]
    return np.concatenate([sizes, np.ones(n_claims - sizes.sum(), dtype=sizes.dtype)])


def birth_days(rng: np.random.Generator, n: int) -> np.ndarray:
    """Birth dates 1955-2008, mostly working age; the tails give age_out_of_range."""
    years = np.where(chance(rng, 0.85, n), rng.normal(1988, 9, n), rng.uniform(1955, 2009, n))
    out_of_range = (years < 1955) | (years >= 2009)
    years[out_of_range] = rng.uniform(1955, 2009, out_of_range.sum())
    days = day("1955-01-01") + ((years - 1955) * 365.25).astype(np.int64)
    return np.clip(days, day("1955-01-01"), day("2008-12-31"))


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Dates as integers such as 19900517 (computed once per distinct day)."""
    first = int(days.min())
    dates = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day_of_month = (dates - months).astype(np.int64) + 1
    return (year * 10_000 + month * 100 + day_of_month)[days - first]


def citizen_id17(
    rng: np.random.Generator, region: np.ndarray, birth: np.ndarray, female: np.ndarray
) -> np.ndarray:
    """First 17 ID digits (GB 11643): region, birth date, sequence (odd for men), all unique.

    People who share region and birth date get consecutive sequence slots from a random start
    (slots 1..499, times two, plus one for men), so no two IDs collide.
    """
    prefix = region * 10**11 + yyyymmdd(birth) * 1000
    n = len(prefix)
    order = np.argsort(prefix, kind="stable")
    in_order = prefix[order]
    group_starts = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1]])
    group_sizes = np.diff(np.r_[group_starts, n])
    if group_sizes.max() > 499:
        raise ValueError("too many people share a region and birth date")
    rank = np.arange(n) - np.repeat(group_starts, group_sizes)
    first_slot = np.repeat(rng.integers(0, 499, len(group_starts)), group_sizes)
    slot = np.empty(n, dtype=np.int64)
    slot[order] = (first_slot + rank) % 499 + 1
    male = ~female
    return prefix + 2 * slot + male


def check_index(id17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check character of each ID, as an index into CHECK_CHARS."""
    total = np.zeros_like(id17)
    rest = id17.copy()
    for weight in reversed(ID_WEIGHTS):  # last digit first
        total += weight * (rest % 10)
        rest //= 10
    return total % 11


def person_flags(
    rng: np.random.Generator, local: np.ndarray, birth: np.ndarray, female: np.ndarray
) -> dict[str, np.ndarray]:
    """Residence, insurance and status flags; nearly everyone meets some residence condition."""
    n = len(local)
    age = (AGE_REFERENCE_DAY - birth) / 365.25
    older = age >= 55
    hukou = np.where(local, chance(rng, 0.93, n), chance(rng, 0.02, n))
    insured = chance(rng, 0.70, n)
    pension = older & chance(rng, 0.45, n)
    return {
        "person.hukou_local": hukou,
        "person.residence_permit_local": ~hukou & chance(rng, 0.55, n),
        "person.ui_insured_local": insured,
        "person.unemployment_registered_local": chance(rng, 0.03, n),
        "person.works_locally": insured | chance(rng, 0.40, n),
        "person.unemployed_graduate": (age < 30) & chance(rng, 0.05, n),
        "person.public_servant": chance(rng, 0.015, n),
        "person.receives_pension": pension,
        "person.receives_resident_pension": older & ~pension & chance(rng, 0.30, n),
        "person.domestic_service_worker": chance(rng, np.where(female, 0.08, 0.01), n),
        "person.key_group": chance(rng, 0.15, n),
        "person.skill_upgrade_subsidy_eligible": chance(rng, 0.12, n),
        "person.holds_prior_certificate": chance(rng, 0.30, n),
    }


def make_persons(rng: np.random.Generator, n: int) -> Persons:
    jurisdiction = pick(rng, JURISDICTION_SHARE, n)
    local = chance(rng, 0.6, n)
    region = pick(rng, MIGRANT_REGIONS, n)
    for place, regions in LOCAL_REGIONS.items():
        fill(rng, region, local & (jurisdiction == place), regions)
    birth = birth_days(rng, n)
    female = chance(rng, 0.45, n)
    id17 = citizen_id17(rng, region, birth, female)
    flags = person_flags(rng, local, birth, female)
    covered = flags["person.ui_insured_local"] | flags["person.works_locally"]
    return Persons(
        jurisdiction=jurisdiction,
        birth=birth,
        id17=id17,
        check=check_index(id17),
        flags=flags,
        insurance_months=np.where(covered, between(rng, 1, 180, n), 0),
    )


# --- dates --------------------------------------------------------------------------------------


def application_lag(rng: np.random.Generator, n: int) -> np.ndarray:
    """Days from certificate to application: mostly within 3 months, 3 % past the year."""
    bucket = pick(rng, {0: 0.72, 1: 0.20, 2: 0.05, 3: 0.03}, n)
    low = np.array([0, 91, 301, 366])[bucket]
    high = np.array([90, 300, 365, 400])[bucket]
    return rng.integers(low, high + 1)


def claim_dates(
    rng: np.random.Generator, persons: Persons, person: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Key date (certificate issue, or end of the course) and application date of each claim.

    A person's claims cluster around one anchor date (sd 100 days), so several of them often
    fall in one calendar year; all dates stay within FIRST_DAY..LAST_DAY.
    """
    n = len(person)
    first = FIRST_KEY_DATE[persons.jurisdiction]
    anchor = rng.integers(first, LAST_DAY + 1)
    spread = np.where(counts[person] > 1, rng.normal(0, 100, n), 0).astype(np.int64)
    issued = np.clip(anchor[person] + spread, first[person], LAST_DAY)
    applied = issued + application_lag(rng, n) % (LAST_DAY - issued + 1)
    return issued, applied


def history_dates(
    rng: np.random.Generator, person: np.ndarray, applied: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persons, key dates and application dates of `n` earlier claims of the batch's people.

    Each is applied for 1-540 days before the person's first claim in the batch and, having
    been granted, within a year of its certificate.
    """
    first_applied = np.full(person.max() + 1, LAST_DAY)
    np.minimum.at(first_applied, person, applied)
    earlier = person[rng.integers(0, len(person), n)]
    applied_before = first_applied[earlier] - between(rng, 1, 540, n)
    issued_before = applied_before - application_lag(rng, n) % 366
    return earlier, issued_before, applied_before


# --- claim structure: kinds, claimants, districts -----------------------------------------------


@dataclass
class Batch:
    """The numpy arrays (one entry per claim) that the column builders share."""

    rng: np.random.Generator
    persons: Persons
    person: np.ndarray
    issued: np.ndarray  # key date: certificate issued, or end of the course
    applied: np.ndarray
    n: int = field(init=False)
    jurisdiction: np.ndarray = field(init=False)
    first_row: np.ndarray = field(init=False)  # row of the person's first claim in the batch
    age: np.ndarray = field(init=False)  # approximate years at the key date
    starts: np.ndarray = field(init=False)  # the course start (also when not written)
    kind: np.ndarray = field(init=False)
    cert_type: np.ndarray = field(init=False)
    claimant: np.ndarray = field(init=False)
    route: np.ndarray = field(init=False)
    district: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.n = len(self.person)
        self.jurisdiction = self.persons.jurisdiction[self.person]
        first_of = np.full(self.person.max() + 1, self.n)
        np.minimum.at(first_of, self.person, np.arange(self.n))
        self.first_row = first_of[self.person]
        self.age = (self.issued - self.persons.birth[self.person]) / 365.25
        self.starts = self.issued - between(self.rng, 14, 150, self.n)

    def at(self, place: Jurisdiction) -> np.ndarray:
        return self.jurisdiction == place

    def any_kind(self, *kinds: Kind) -> np.ndarray:
        return np.isin(self.kind, kinds)

    def setting(self, name: str) -> np.ndarray:
        """Rows of "wenzhou-2022", "wenzhou-2023" (split by key date), "jinhua" or "county"."""
        place, _, era = name.partition("-")
        rows = self.at(Jurisdiction[place])
        if era == "2022":
            rows &= self.issued < WENZHOU_2023
        elif era == "2023":
            rows &= self.issued >= WENZHOU_2023
        return rows

    @property
    def in_class(self) -> np.ndarray:
        """Claims that rest on a training class: all but self-study, competition, new_skill_cert."""
        by_exam = (self.kind == Kind.certificate) & np.isin(
            self.route, (Route.self_study, Route.competition)
        )
        return (self.kind != Kind.new_skill_cert) & ~by_exam


def draw_kinds(b: Batch) -> None:
    """Kind per setting (jurisdiction and era), and the certificate type it comes with."""
    b.kind = np.full(b.n, NONE)
    for setting, kinds in KIND_SHARE.items():
        fill(b.rng, b.kind, b.setting(setting), kinds)
    b.cert_type = np.full(b.n, NONE)
    for kind, cert_types in CERT_TYPE_SHARE.items():
        fill(b.rng, b.cert_type, b.kind == kind, cert_types)


def draw_claimants(b: Batch) -> None:
    """Who claims, the route of individual certificate claims, and the district filed in."""
    rng, n, kind = b.rng, b.n, b.kind
    certificate = kind == Kind.certificate
    claimant = np.full(n, NONE)
    for setting, share in CERTIFICATE_CLAIMANT_SHARE.items():
        fill(rng, claimant, b.setting(setting) & certificate, share)
    # students in their graduating year are mostly claimed for by their school
    wenzhou_young = b.at(Jurisdiction.wenzhou) & (b.age < 23)
    claimant[wenzhou_young & certificate & chance(rng, 0.4, n)] = Claimant.school
    for (setting, cert_type), share in PROJECT_CLAIMANT_SHARE.items():
        project = (kind == Kind.project) & (b.cert_type == cert_type)
        fill(rng, claimant, b.setting(setting) & project, share)
    for claimed_kind, share in KIND_CLAIMANT_SHARE.items():
        fill(rng, claimant, kind == claimed_kind, share)
    # county new_skill_cert: the evaluator claims until 2023, the individual from 2024 (3 % not)
    new_skill = kind == Kind.new_skill_cert
    by_evaluator = (b.issued < COUNTY_INDIVIDUALS) ^ chance(rng, 0.03, n)
    evaluator_or_individual = np.where(
        by_evaluator, Claimant.evaluation_institution, Claimant.individual
    )
    claimant[new_skill] = evaluator_or_individual[new_skill]
    b.claimant = claimant

    b.route = np.full(n, NONE)
    for setting, routes in ROUTE_SHARE.items():
        individual = b.setting(setting) & certificate & (claimant == Claimant.individual)
        fill(rng, b.route, individual, routes)

    b.district = np.full(n, NONE)
    for place, districts in DISTRICT_SHARE.items():
        fill(rng, b.district, b.at(place), district_codes(districts))


def district_codes(share: Mapping[str, float]) -> dict[int, float]:
    """District weights keyed by code (index into DISTRICTS)."""
    return {DISTRICTS.index(code): weight for code, weight in share.items()}


def nearby_district(b: Batch, where: np.ndarray) -> np.ndarray:
    """A district code per row: mostly the claim's own, else another of its jurisdiction."""
    codes = np.where(chance(b.rng, 0.8, b.n), b.district, NONE)
    for place, share in DISTRICT_SHARE.items():
        fill(b.rng, codes, where & (codes == NONE) & b.at(place), district_codes(share))
    return np.where(where, codes, NONE)


# --- columns ------------------------------------------------------------------------------------


def claim_columns(b: Batch, id_prefix: str) -> dict[str, pl.Series]:
    """id, jurisdiction, kind, claimant, route, district, claimant_city_level, applied_on."""
    rng = b.rng
    # a third of institution claims leave the route empty (it defaults to institution)
    route = np.where((b.route == Route.institution) & chance(rng, 0.3, b.n), NONE, b.route)
    city_level = b.at(Jurisdiction.jinhua) & b.any_kind(Kind.project, Kind.apprenticeship)
    return {
        "id": sequence_ids(id_prefix, b.n),
        "jurisdiction": enum_column(Jurisdiction, b.jurisdiction),
        "kind": enum_column(Kind, b.kind),
        "claimant": enum_column(Claimant, b.claimant),
        "route": enum_column(Route, route),
        "district": text_column(DISTRICTS, b.district),
        "claimant_city_level": flag_column(chance(rng, 0.3, b.n), city_level),
        "applied_on": date_column(b.applied),
    }


def person_columns(b: Batch) -> dict[str, pl.Series]:
    """person.*: the ID and the flags of the claim's person."""
    rng, n, persons, person = b.rng, b.n, b.persons, b.person
    id_number = pl.Series(persons.id17[person]).cast(pl.String) + text_column(
        CHECK_CHARS, persons.check[person]
    )
    flags = {name: values[person] for name, values in persons.flags.items()}
    # pre-job classes of training institutions are for domestic service workers
    pre_job_school = (b.kind == Kind.pre_job) & (b.claimant == Claimant.training_institution)
    domestic = flags["person.domestic_service_worker"]
    flags["person.domestic_service_worker"] = np.where(
        pre_job_school, chance(rng, 0.9, n), domestic
    )
    flags["person.graduating_year_student"] = chance(rng, 0.93, n)

    # which rows write the flag (others leave it empty): all rows, unless listed here
    written = {name: flags[name] for name in BLANK_UNLESS_TRUE}
    county = b.at(Jurisdiction.county)  # only the county pack asks
    written["person.skill_upgrade_subsidy_eligible"] = county
    written["person.holds_prior_certificate"] = county
    written["person.graduating_year_student"] = b.claimant == Claimant.school

    columns = {"person.id_number": id_number}
    for name, values in flags.items():
        columns[name] = flag_column(values, written.get(name))
    columns["person.social_insurance_months"] = int_column(persons.insurance_months[person])
    return columns


def certificate_columns(b: Batch) -> dict[str, pl.Series]:
    """certificate.*: type, occupation and level by kind and claimant, number, flags."""
    rng, n, kind, cert_type = b.rng, b.n, b.kind, b.cert_type
    vocational = cert_type == CertType.vocational
    special_ability = cert_type == CertType.special_ability
    special_operation = cert_type == CertType.special_operation
    enterprise = kind == Kind.enterprise_training  # carries occupation and level, no certificate

    occupation = np.full(n, NONE)
    fill(rng, occupation, vocational | enterprise, VOCATIONAL_SHARE)
    designated = vocational & (b.claimant == Claimant.designated_institution)
    fill(rng, occupation, designated & chance(rng, 0.85, n), MANUFACTURING_SHARE)
    fill(rng, occupation, special_ability, SPECIAL_ABILITY_SHARE)
    fill(rng, occupation, special_operation, SPECIAL_OPERATION_SHARE)
    training_pass = cert_type == CertType.training_pass
    fill(rng, occupation, training_pass & (kind == Kind.project), TRAINING_PASS_SHARE)
    occupation[training_pass & (kind == Kind.entrepreneurship)] = OCCUPATIONS.index(
        ENTREPRENEURSHIP_TRAINING
    )

    level = np.full(n, NONE)
    fill(rng, level, vocational | enterprise, LEVEL_SHARE)
    fill(rng, level, vocational & (kind == Kind.new_skill_cert), NEW_SKILL_LEVEL_SHARE)
    fill(rng, level, special_ability, SPECIAL_ABILITY_LEVEL_SHARE)

    # a fifth of a person's later graded claims repeat the occupation and level of the first
    first = b.first_row
    graded = vocational | enterprise
    repeat = graded & graded[first] & (first != np.arange(n)) & chance(rng, 0.2, n)
    occupation[repeat] = occupation[first[repeat]]
    level[repeat] = level[first[repeat]]

    has = cert_type != NONE
    # certificate number: type letter, year of issue, 10-digit serial (S2023…)
    issued_year = b.issued.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    year_serial = pl.Series(issued_year * 10**10 + rng.integers(0, 10**10, n)).cast(pl.String)
    number = text_column(CERT_NUMBER_PREFIX, cert_type) + year_serial
    renewal_rate = np.where(kind == Kind.new_skill_cert, 0.10, 0.25)
    shortage_known = vocational & (b.at(Jurisdiction.jinhua) | b.setting("wenzhou-2022"))
    in_shortage = chance(rng, np.where(IN_SHORTAGE_LIST[occupation], 0.85, 0.05), n)
    return {
        "certificate.type": enum_column(CertType, cert_type),
        "certificate.occupation": text_column(OCCUPATIONS, occupation),
        "certificate.level": int_column(level, level != NONE),
        "certificate.issued_on": date_column(b.issued, has),
        "certificate.number": number,
        "certificate.renewal": flag_column(chance(rng, renewal_rate, n), special_operation),
        "certificate.in_shortage_list": flag_column(in_shortage, shortage_known),
        "certificate.skill_upgrade_subsidy_received": flag_column(
            chance(rng, 0.04, n),
            b.setting("wenzhou-2022") & vocational & (kind == Kind.certificate),
        ),
    }


def training_hours(b: Batch, level: np.ndarray) -> np.ndarray:
    """Course hours by kind (NONE where the kind has none); a few fall below the minimums."""
    rng, n, kind = b.rng, b.n, b.kind
    hours = np.full(n, NONE)
    graded = b.in_class & b.any_kind(Kind.certificate, Kind.master_apprentice) & (level != NONE)
    factor = pick(rng, HOURS_FACTOR_SHARE, n)
    hours[graded] = np.round(MIN_HOURS_BY_LEVEL[level[graded]] * factor[graded])
    special_ability = b.in_class & (b.cert_type == CertType.special_ability)
    hours[special_ability] = between(rng, 16, 60, n)[special_ability]
    project = kind == Kind.project
    pass_hours, operation_hours = between(rng, 8, 100, n), between(rng, 24, 80, n)
    by_type = np.where(b.cert_type == CertType.training_pass, pass_hours, operation_hours)
    hours[project] = by_type[project]
    fill(rng, hours, kind == Kind.pre_job, PRE_JOB_HOURS_SHARE)
    entrepreneurship = kind == Kind.entrepreneurship
    hours[entrepreneurship] = between(rng, 40, 120, n)[entrepreneurship]
    return hours


def training_columns(b: Batch, level: np.ndarray) -> dict[str, pl.Series]:
    """training.*: hours and days, class dates and filing, course, employment rate."""
    rng, n, kind = b.rng, b.n, b.kind
    in_class = b.in_class
    hours = training_hours(b, level)

    days = np.full(n, NONE)
    enterprise = kind == Kind.enterprise_training
    fill(rng, days, enterprise, ENTERPRISE_DAYS_SHARE)
    hours = np.where(enterprise & chance(rng, 0.6, n), days * 8, hours)
    order = kind == Kind.order_training
    days[order] = between(rng, 3, 40, n)[order]

    # Wenzhou classes are filed beforehand: 88 % at least 2 days ahead, 5 % late (0-1 days
    # ahead, warning filed_late), 2 % after the start and 5 % never (training_not_filed)
    filed_required = in_class & b.at(Jurisdiction.wenzhou) & (kind != Kind.apprenticeship)
    status = pick(rng, {0: 0.88, 1: 0.05, 2: 0.02, 3: 0.05}, n)
    offset = np.select(
        [status == 0, status == 1, status == 2],
        [-between(rng, 2, 30, n), -between(rng, 0, 1, n), between(rng, 1, 10, n)],
    )
    filed = filed_required & (status != 3)

    course = np.full(n, NONE)
    fill(rng, course, kind == Kind.entrepreneurship, COURSE_SHARE)
    orders = np.flatnonzero(order)
    rate = np.where(
        chance(rng, 0.85, len(orders)),
        rng.uniform(0.80, 1.0, len(orders)),
        rng.uniform(0.5, 0.8, len(orders)),
    )
    employment_rate = sparse_column(pl.Series(rate).round(2).cast(pl.String), orders, n)
    designated = b.setting("wenzhou-2023") & (b.claimant == Claimant.designated_institution)
    return {
        "training.hours": int_column(hours, hours != NONE),
        "training.days": int_column(days, days != NONE),
        "training.enrolled_on": date_column(
            b.starts - between(rng, 0, 20, n), in_class & chance(rng, 0.9, n)
        ),
        "training.starts_on": date_column(b.starts, in_class & chance(rng, 0.7, n)),
        "training.filed_on": date_column(b.starts + offset, filed),
        "training.filed_district": text_column(DISTRICTS, nearby_district(b, filed)),
        "training.course": text_column(COURSE_LABELS, course),
        "training.local_specialty": flag_column(chance(rng, 0.2, n), designated),
        "training.employment_rate": employment_rate,
    }


def employer_columns(b: Batch) -> dict[str, pl.Series]:
    """employer.*: for claims of employers (and master studios)."""
    rng, n = b.rng, b.n
    employer = b.claimant == Claimant.employer
    employer_side = employer | (b.claimant == Claimant.master_studio)
    # pre-job training within 12 months of hiring, 12 % later (not_new_hire)
    recent, long_ago = between(rng, 0, 330, n), between(rng, 366, 720, n)
    hired = b.starts - np.where(chance(rng, 0.88, n), recent, long_ago)
    jinhua_employer = employer & b.at(Jurisdiction.jinhua)
    wenzhou_employer_cert = employer & b.at(Jurisdiction.wenzhou) & (b.kind == Kind.certificate)
    return {
        "employer.ui_district": text_column(DISTRICTS, nearby_district(b, employer_side)),
        "employer.hired_on": date_column(hired, employer & (b.kind == Kind.pre_job)),
        "employer.key_manufacturing": flag_column(chance(rng, 0.3, n), jinhua_employer),
        "employer.trade_friction": flag_column(chance(rng, 0.1, n), jinhua_employer),
        "employer.public_institution": flag_column(chance(rng, 0.03, n), wenzhou_employer_cert),
    }


def apprentice_columns(b: Batch) -> dict[str, pl.Series]:
    """apprentice.* for apprenticeships, business_started_within_6_months for entrepreneurship."""
    rng, n = b.rng, b.n
    apprenticeship = b.kind == Kind.apprenticeship
    employee_share = np.where(b.at(Jurisdiction.county), 0.9, 0.75)
    is_employee = chance(rng, employee_share, n)
    employee = apprenticeship & is_employee
    student = apprenticeship & ~is_employee
    # the training fee (in cents): 2000..9000 yuan for employees, 1000..5000 for students,
    # in steps of 100 yuan, a tenth of them to the cent
    fee = np.where(is_employee, between(rng, 20, 90, n), between(rng, 10, 50, n)) * 10_000
    odd_fee = np.where(
        is_employee, between(rng, 200_000, 900_000, n), between(rng, 100_000, 500_000, n)
    )
    fee = np.where(chance(rng, 0.1, n), odd_fee, fee)
    allowance = between(rng, 20, 80, n) * 5_000  # 1000..4000 yuan in steps of 50
    return {
        "apprentice.type": text_column(
            ("employee", "student"), np.where(apprenticeship, ~is_employee, NONE)
        ),
        "apprentice.fee": money_column(fee, apprenticeship),
        "apprentice.allowance_paid": money_column(allowance, student),
        "apprentice.vocational_cert": flag_column(b.cert_type == CertType.vocational, employee),
        "apprentice.labour_contract": flag_column(chance(rng, 0.90, n), student),
        "apprentice.social_insurance": flag_column(chance(rng, 0.85, n), student),
        "business_started_within_6_months": flag_column(
            chance(rng, 0.4, n), b.kind == Kind.entrepreneurship
        ),
    }


def to_frame(columns: dict[str, pl.Series], n: int) -> pl.DataFrame:
    """All COLUMNS in order; those no builder filled are empty."""
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"columns not in the contract: {sorted(unknown)}")
    empty = pl.repeat(None, n, dtype=pl.String, eager=True)
    return pl.DataFrame([columns.get(name, empty).alias(name) for name in COLUMNS])


def build_batch(
    rng: np.random.Generator,
    persons: Persons,
    person: np.ndarray,
    issued: np.ndarray,
    applied: np.ndarray,
    *,
    id_prefix: str,
) -> pl.DataFrame:
    """One claim per entry of `person`, with the given key and application dates."""
    b = Batch(rng, persons, person, issued, applied)
    draw_kinds(b)
    draw_claimants(b)
    certificate = certificate_columns(b)
    level = certificate["certificate.level"].fill_null(NONE).to_numpy()
    columns = {
        **claim_columns(b, id_prefix),
        **person_columns(b),
        **certificate,
        **training_columns(b, level),
        **employer_columns(b),
        **apprentice_columns(b),
    }
    return to_frame(columns, b.n)


# --- deliberately invalid records ---------------------------------------------------------------


def inject_errors(
    rng: np.random.Generator, claims: pl.DataFrame, share: float
) -> tuple[pl.DataFrame, np.ndarray]:
    """Spoil about `share` of the records with one ERRORS defect each; returns the defect codes."""
    n = claims.height
    error = np.where(chance(rng, share, n), rng.integers(0, len(ERRORS), n), NONE)

    def spoil(
        column: str, error_name: str, change: Callable[[pl.Series], pl.Series | str | None]
    ) -> pl.Series:
        """The column with `change` applied to the rows that get this defect."""
        rows = np.flatnonzero(error == ERRORS.index(error_name))
        values = claims[column].clone()
        return values.scatter(rows, change(values.gather(rows)))

    wrong_check = dict(zip(CHECK_CHARS, CHECK_CHARS[1:] + CHECK_CHARS[0], strict=True))
    claims = claims.with_columns(
        spoil(
            "person.id_number",
            "bad_id_check",
            lambda ids: ids.str.slice(0, 17) + ids.str.slice(17).replace_strict(wrong_check),
        ),
        spoil("applied_on", "missing_applied_on", lambda _: None),
        spoil("kind", "unknown_kind", lambda _: "training_voucher"),
        spoil("training.hours", "negative_hours", lambda hours: -hours.abs().fill_null(8)),
    )
    return claims, error


# --- entry point --------------------------------------------------------------------------------


@dataclass
class Generated:
    claims: pl.DataFrame
    errors: np.ndarray  # ERRORS code per claim, NONE for a valid one
    multi_claim_share: float  # share of claims whose person has several claims
    history: pl.DataFrame | None


def generate(n_claims: int, seed: int, n_history: int = 0) -> Generated:
    """The claims (and history) for the arguments; the same arguments give the same data."""
    rng = np.random.default_rng(seed)
    counts = claims_per_person(rng, n_claims)
    persons = make_persons(rng, len(counts))
    person = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    issued, applied = claim_dates(rng, persons, person, counts)
    claims = build_batch(rng, persons, person, issued, applied, id_prefix="c")
    claims, errors = inject_errors(rng, claims, INVALID_SHARE)
    history = None
    if n_history:
        earlier, issued_before, applied_before = history_dates(rng, person, applied, n_history)
        history = build_batch(rng, persons, earlier, issued_before, applied_before, id_prefix="h")
    multi = counts[counts > 1].sum() / n_claims
    return Generated(claims, errors, float(multi), history)


def summary(generated: Generated) -> str:
    claims = generated.claims
    mix = (
        claims.group_by("jurisdiction", "kind")
        .len()
        .pivot(on="jurisdiction", index="kind", values="len")
        .fill_null(0)
        .sort("kind")
    )
    error_counts = {name: int((generated.errors == i).sum()) for i, name in enumerate(ERRORS)}
    lines = [
        "jurisdiction x kind:",
        str(mix),
        f"claims in multi-claim persons: {generated.multi_claim_share:.1%}",
        f"invalid records: {sum(error_counts.values())} {error_counts}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, required=True, help="number of claims")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="claims CSV to write")
    parser.add_argument("--history-out", type=Path, help="history CSV to write")
    parser.add_argument("--history", type=int, help="history records (default claims / 5)")
    args = parser.parse_args(argv)
    if args.claims < 1:
        parser.error("--claims must be positive")
    if args.history is not None and not args.history_out:
        parser.error("--history needs --history-out")
    n_history = 0
    if args.history_out:
        n_history = args.history if args.history is not None else args.claims // 5

    started = time.perf_counter()
    generated = generate(args.claims, args.seed, n_history)
    built = time.perf_counter()
    written = [(args.out, generated.claims)]
    if args.history_out:
        history = generated.history if generated.history is not None else to_frame({}, 0)
        written.append((args.history_out, history))
    for path, frame in written:
        frame.write_csv(path)
    finished = time.perf_counter()

    print(summary(generated), file=sys.stderr)
    for path, frame in written:
        size = path.stat().st_size / 1e6
        print(f"{path}: {frame.height} rows, {size:.1f} MB", file=sys.stderr)
    print(
        f"{finished - started:.2f} s: generated in {built - started:.2f} s,"
        f" written in {finished - built:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
