"""In a real browser: a caseworker signs in, works the queue, checks and reviews a claim,
publishes a notice; a visitor lodges an objection on the public page; every page escapes
what users typed and every form carries its CSRF token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from skillsubsidy.demo.seed import DEMO_PASSWORD, Demo, citizen_id
from skillsubsidy.domain.workflow import ClaimStatus
from skillsubsidy.services import claims, registry
from skillsubsidy.store.db import Database


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".who")).to_contain_text(username)


def test_caseworker_reviews_and_publishes_then_a_visitor_objects(
    live_server: tuple[str, Demo, Database], browser: Any, shots: Path
) -> None:
    base, demo, _ = live_server
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    _sign_in(page, base, "lucheng")
    expect(page.locator(".card", has_text="待初审")).to_be_visible()
    page.screenshot(path=shots / "01-caseworker-home.png", full_page=True)

    page.get_by_role("link", name="申请队列").click()
    page.get_by_label("状态").select_option("submitted")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("已受理")
    page.screenshot(path=shots / "02-queue.png", full_page=True)

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="补贴决定")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("003")  # every step cites a clause
    page.screenshot(path=shots / "03-claim.png", full_page=True)
    page.get_by_label("初审通过：审核意见").fill("材料齐全，证书与花名册一致")
    page.get_by_role("button", name="初审通过").click()
    expect(page.locator(".flash")).to_have_text("已办理")
    expect(page.locator("h1 .status")).to_have_text("初审通过")
    # four eyes: who did 初审 is told why there is no 复核 button
    expect(page.get_by_role("button", name="复核通过")).to_have_count(0)
    expect(page.locator("aside")).to_contain_text("复核须由另一位经办人办理")
    claim_url = page.url
    context.close()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, base, "luchengfh")
    page.goto(claim_url)
    page.get_by_label("复核通过：审核意见").fill("复核无误，同意公示")
    page.get_by_role("button", name="复核通过").click()
    expect(page.locator("h1 .status")).to_have_text("复核通过")
    reference = page.locator("h1").inner_text().split()[1]

    page.goto(f"{base}/claims?status=reviewed")
    page.get_by_label(f"选择 {reference}").check()
    page.get_by_role("button", name="将选中的复核通过申请发布公示").click()
    expect(page.locator(".flash")).to_have_text("公示已发布")
    notice_url = page.url
    page.screenshot(path=shots / "04-notice.png", full_page=True)
    context.close()

    visitor = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    public = visitor.new_page()
    public.goto(notice_url)
    table = public.locator("table").first.inner_text()
    assert all(number not in public.content() for number in demo.people)  # no ID shown
    assert "*" in table  # names masked
    public.get_by_label("您的姓名").fill("王先生")
    public.get_by_label("联系方式（用于告知复核结果）").fill("13800001111")
    public.get_by_label("异议理由").fill("该学员培训期间在外地，未实际参加培训")
    public.get_by_role("button", name="提交异议").click()
    expect(public.locator(".flash")).to_contain_text("异议已受理")
    public.screenshot(path=shots / "05-objection-lodged.png", full_page=True)
    visitor.close()
    assert dialogs == []


def test_user_input_is_shown_as_text(
    live_server: tuple[str, Demo, Database], browser: Any, shots: Path
) -> None:
    base, _, db = live_server
    evil = "<script>alert(1)</script>"
    number = citizen_id("330302", dt.date(1991, 2, 3), 555)
    facts = {
        "jurisdiction": "wenzhou",
        "kind": "certificate",
        "claimant": "individual",
        "route": "competition",
        "district": "330302",
        "person": {"id_number": number, "hukou_local": True},
    }

    def submit(s: Any) -> int:
        person = registry.register_person(s, number, evil)
        cert = registry.record_certificate(
            s,
            "caseworker:lucheng",
            person,
            type="vocational",
            occupation=evil,
            level=4,
            number="EVIL-1",
            issued_on=dt.date(2024, 5, 20),
        )
        return claims.submit_claim(
            s,
            "applicant",
            facts,
            person_name=evil,
            applied_on=dt.date(2024, 6, 1),
            certificate_id=cert.id,
        ).id

    claim_id = db.write(submit)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(page, base, "lucheng")
    page.goto(f"{base}/claims/{claim_id}")
    expect(page.locator("main")).to_contain_text(evil)
    page.goto(f"{base}/claims?status=submitted")
    expect(page.locator("tbody")).to_contain_text(evil)
    page.screenshot(path=shots / "06-escaped-input.png", full_page=True)
    # a form posted without the page's token is refused, and nothing changes
    answer = page.request.post(f"{base}/claims/{claim_id}/check", form={"csrf": "forged"})
    assert answer.status == 403
    assert dialogs == []
    with db.session() as s:
        assert claims.get_claim(s, claim_id).status == ClaimStatus.SUBMITTED
    context.close()


def test_a_trainee_checks_eligibility(
    live_server: tuple[str, Demo, Database], browser: Any, shots: Path
) -> None:
    base, _, _ = live_server
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, base, "chenxm")
    page.get_by_role("link", name="补贴测算").click()
    expect(page.get_by_label("公民身份号码")).not_to_be_empty()  # their own ID, prefilled
    page.get_by_label("职业（工种）").fill("电工")
    page.get_by_label("等级（1–5，五级为初级）").fill("4")
    page.get_by_label("发证日期").fill("2024-04-20")
    page.get_by_label("申请日期").fill("2024-05-10")
    page.get_by_label("本地户籍").check()
    page.get_by_role("button", name="测算").click()
    expect(page.locator("section")).to_contain_text("可申领 1950.00 元")
    expect(page.locator("section table")).to_contain_text("003 附件3")  # the shortage uplift
    page.screenshot(path=shots / "07-eligibility.png", full_page=True)
    page.get_by_label("本地户籍").uncheck()
    page.get_by_role("button", name="测算").click()
    expect(page.locator("section")).to_contain_text("不符合申领条件")
    context.close()
