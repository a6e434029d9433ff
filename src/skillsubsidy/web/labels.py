"""Chinese names of statuses, roles and kinds for the pages."""

from __future__ import annotations

from skillsubsidy.policy.vocabulary import CLAIMANT_NAMES, DISTRICT_NAMES, KIND_NAMES

STATUS_NAMES = {
    "submitted": "已受理",
    "returned": "退回补正",
    "checked": "初审通过",
    "reviewed": "复核通过",
    "in_notice": "公示中",
    "re_review": "异议复核中",
    "approved": "待拨付",
    "paid": "已拨付",
    "rejected": "不予补贴",
    "withdrawn": "已撤回",
    "cancelled": "已取消",
    "recovered": "已追回",
    "open": "公示中",
    "closed": "已结束",
    "lodged": "待处理",
    "upheld": "异议成立",
    "dismissed": "异议不成立",
}
CLASS_STATUS_NAMES = {
    "draft": "草稿",
    "filed": "已备案待审",
    "approved": "备案同意",
    "running": "培训中",
    "finished": "已结业",
    "refused": "备案不通过",
}
ROLE_NAMES = {
    "caseworker": "经办人",
    "institution": "培训机构",
    "employer": "用人单位",
    "school": "院校",
    "trainee": "学员",
    "finance": "财务",
    "auditor": "审计",
    "admin": "管理员",
}
# the actions a caseworker may take on a claim in each status: (action, label, needs reason)
CLAIM_ACTIONS = {
    "submitted": [
        ("check", "初审通过", True),
        ("return", "退回补正", True),
        ("reject", "不予补贴", True),
    ],
    "checked": [("review", "复核通过", True), ("reject", "不予补贴", True)],
    "reviewed": [("reject", "不予补贴", True)],
    "paid": [("recover", "追回补贴（发现虚假或错发）", True)],
}


# the facts an applicant declares, as the caseworker reads them (告知承诺)
FACT_NAMES = {
    "route": "取证途径",
    "claimant_city_level": "市本级申报单位",
    "business_started_within_6_months": "结业后6个月内创业",
    "person.hukou_local": "本地户籍",
    "person.residence_permit_local": "持本地居住证",
    "person.ui_insured_local": "在本地参加失业保险",
    "person.unemployment_registered_local": "在本地登记失业",
    "person.works_locally": "在本地就业",
    "person.unemployed_graduate": "离校未就业高校毕业生",
    "person.public_servant": "机关事业单位在编人员",
    "person.receives_pension": "按月领取城镇职工基本养老金",
    "person.receives_resident_pension": "领取城乡居民养老金",
    "person.domestic_service_worker": "家政服务人员",
    "person.graduating_year_student": "毕业年度学生",
    "person.key_group": "就业重点群体",
    "person.skill_upgrade_subsidy_eligible": "符合技能提升补贴申领条件",
    "person.holds_prior_certificate": "已持有同类证书",
    "person.social_insurance_months": "参保月数",
    "certificate.in_shortage_list": "紧缺职业（工种）",
    "certificate.skill_upgrade_subsidy_received": "已领取技能提升补贴",
    "training.days": "培训天数",
    "training.local_specialty": "地方特色产业工种",
    "training.employment_rate": "就业率",
    "employer.hired_on": "录用日期",
    "employer.key_manufacturing": "重点制造业企业",
    "employer.trade_friction": "受贸易摩擦影响企业",
    "apprentice.type": "学徒类别",
    "apprentice.fee": "培训费",
    "apprentice.allowance_paid": "已发放学徒津贴",
    "apprentice.vocational_cert": "学徒取得职业资格证书",
    "apprentice.labour_contract": "签订劳动合同",
    "apprentice.social_insurance": "参加社会保险",
}


def labels() -> dict[str, object]:
    return {
        "FACT": FACT_NAMES,
        "STATUS": STATUS_NAMES,
        "CLASS_STATUS": CLASS_STATUS_NAMES,
        "ROLE": ROLE_NAMES,
        "KIND": KIND_NAMES,
        "CLAIMANT": CLAIMANT_NAMES,
        "DISTRICT": DISTRICT_NAMES,
    }
