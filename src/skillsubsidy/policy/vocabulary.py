"""Enumerations of the evaluation contract (../shared/spec/CONTRACT.md) and display names."""

from __future__ import annotations

JURISDICTIONS = ("wenzhou", "jinhua", "county")
KINDS = (
    "certificate",
    "project",
    "pre_job",
    "apprenticeship",
    "master_apprentice",
    "entrepreneurship",
    "enterprise_training",
    "order_training",
    "new_skill_cert",
)
CLAIMANTS = (
    "individual",
    "employer",
    "school",
    "designated_institution",
    "training_institution",
    "master_studio",
    "evaluation_institution",
    "department",
)
ROUTES = ("institution", "self_study", "competition")
CERTIFICATE_TYPES = ("vocational", "special_ability", "training_pass", "special_operation")
COURSES = ("SYB", "IYB", "online", "internet_plus", "8x")
APPRENTICE_TYPES = ("employee", "student")

REASONS = (
    "no_policy",
    "not_offered",
    "age_out_of_range",
    "residency_not_met",
    "excluded_public_servant",
    "deadline_passed",
    "not_graduating_year",
    "graduating_year_used",
    "hours_below_minimum",
    "not_new_hire",
    "no_labour_contract",
    "employment_rate_below_minimum",
    "training_not_filed",
    "skill_upgrade_subsidy_eligible",
    "not_first_certificate",
    "annual_limit_reached",
    "duplicate_occupation_level",
    "entrepreneurship_repeat",
)

WARNINGS = ("filed_late",)

# Districts whose codes are not 6-digit administrative codes (POLICY.md §10).
NAMED_DISTRICTS = {
    "WZ-BAY": "温州湾新区",
    "WZ-OEDZ": "海经区",
    "JH-EDZ": "金华开发区",
}
DISTRICT_NAMES = {
    "330300": "温州市本级",
    "330302": "鹿城区",
    "330303": "龙湾区",
    "330304": "瓯海区",
    "330305": "洞头区",
    "330700": "金华市本级",
    "330702": "婺城区",
    "330703": "金东区",
    **NAMED_DISTRICTS,
}

LEVEL_NAMES = {
    5: "五级/初级工",
    4: "四级/中级工",
    3: "三级/高级工",
    2: "二级/技师",
    1: "一级/高级技师",
}

CLAIMANT_NAMES = {
    "individual": "个人",
    "employer": "用人单位",
    "school": "院校",
    "designated_institution": "定点培训机构",
    "training_institution": "培训机构",
    "master_studio": "技能大师工作室",
    "evaluation_institution": "评价机构",
    "department": "行业主管部门",
}
KIND_NAMES = {
    "certificate": "职业培训鉴定补贴",
    "project": "项目制培训补贴",
    "pre_job": "岗前技能培训补贴",
    "apprenticeship": "企业新型学徒制培训补贴",
    "master_apprentice": "以师带徒培训补贴",
    "entrepreneurship": "创业培训补贴",
    "enterprise_training": "企业职工技能培训补贴",
    "order_training": "订单式培训补贴",
    "new_skill_cert": "新增技能人才取证补贴",
}
