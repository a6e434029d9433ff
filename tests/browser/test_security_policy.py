"""The pages under their Content-Security-Policy in a real browser: no script, style or
form the policy blocks (Chromium reports each block on the console), and the error page's
back link works from its static script."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from skillsubsidy.demo.seed import DEMO_PASSWORD, Demo
from skillsubsidy.store.db import Database


def test_no_page_breaks_the_content_security_policy(
    live_server: tuple[str, Demo, Database], browser: Any
) -> None:
    base, demo, _ = live_server
    page = browser.new_context(locale="zh-CN").new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    visits = {
        "lucheng": ["/", "/claims", "/notices", "/classes", "/classes/new", "/eligibility"],
        "finance": ["/", "/finance"],
    }
    for username, paths in visits.items():
        page.goto(f"{base}/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.locator(".who")).to_contain_text(username)
        for path in [*paths, f"/claims/{demo.claims['paid']}", "/notices/1"]:
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="退出").click()
        expect(page).to_have_url(f"{base}/login")
    page.goto(f"{base}/eligibility")  # a visitor's check (the anonymous limit passes it)
    page.get_by_label("公民身份号码").fill(demo.people[0])
    page.get_by_label("发证日期").fill("2024-05-20")
    page.get_by_role("button", name="测算").click()
    expect(page.get_by_role("heading", name="测算结果")).to_be_visible()
    page.goto(f"{base}/notices")
    page.goto(f"{base}/notices/999999")  # the error page
    page.get_by_role("link", name="返回").click()
    expect(page).to_have_url(f"{base}/notices")
    blocked = [text for text in console if "Content Security Policy" in text]
    assert blocked == []
