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
        ("check", "初审通过", False),
        ("return", "退回补正", True),
        ("reject", "不予补贴", True),
    ],
    "checked": [("review", "复核通过", False), ("reject", "不予补贴", True)],
    "reviewed": [("reject", "不予补贴", True)],
    "paid": [("recover", "追回补贴（发现虚假或错发）", True)],
}


def labels() -> dict[str, object]:
    return {
        "STATUS": STATUS_NAMES,
        "CLASS_STATUS": CLASS_STATUS_NAMES,
        "ROLE": ROLE_NAMES,
        "KIND": KIND_NAMES,
        "CLAIMANT": CLAIMANT_NAMES,
        "DISTRICT": DISTRICT_NAMES,
    }
