"""The whole process in a real browser: an institution files a class and uploads its roster
(a bad file first), the caseworker approves the filing, the institution claims for the
class, the caseworker reviews and publishes, a visitor objects, the caseworker dismisses the
objection and closes the notice five days on, and finance pays the batch."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from playwright.sync_api import Page, expect

from skillsubsidy.demo.seed import DEMO_PASSWORD, Demo, citizen_id
from skillsubsidy.services import registry
from skillsubsidy.store.db import Database
from tests.browser.conftest import Clock

TRAINEES = [
    ("周建华", citizen_id("330302", dt.date(1992, 4, 5), 611)),
    ("吴丽萍", citizen_id("330302", dt.date(1994, 8, 9), 622)),
]


def _roster(rows: list[tuple[Any, ...]], path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "公民身份号码", "联系电话", "社会保障卡号"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".who")).to_contain_text(username)


def _as(browser: Any, base: str, username: str | None) -> Page:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
    )
    page = context.new_page()
    if username:
        _sign_in(page, base, username)
    return page


def test_from_filing_to_payment(
    live_server: tuple[str, Demo, Database],
    browser: Any,
    shots: Path,
    clock: Clock,
    tmp_path: Path,
) -> None:
    base, _, db = live_server
    start = clock.today + dt.timedelta(days=7)

    # the institution files a class and uploads its roster
    inst = _as(browser, base, "yucai")
    inst.get_by_role("link", name="培训班").click()
    inst.get_by_role("link", name="新建培训班（开班备案）").click()
    inst.get_by_label("培训班名称").fill("2026 年第四期电工项目制培训班")
    inst.get_by_label("补贴类别").select_option("project")
    inst.get_by_label("课时").fill("30")
    inst.get_by_label("开班日期").fill(start.isoformat())
    inst.get_by_label("结业日期").fill((start + dt.timedelta(days=5)).isoformat())
    inst.get_by_label("培训地点").fill("温州市鹿城区学院中路 288 号")
    inst.get_by_role("button", name="保存").click()
    expect(inst.locator(".flash")).to_contain_text("培训班已保存")
    class_url = inst.url

    bad = _roster([("周建华", "330302199204056110"), ("", TRAINEES[1][1])], tmp_path / "bad.xlsx")
    inst.get_by_label("上传花名册（Excel .xlsx）").set_input_files(bad)
    inst.get_by_role("button", name="导入").click()
    expect(inst.get_by_role("heading", name="花名册未导入")).to_be_visible()
    expect(inst.locator("tbody")).to_contain_text("check character wrong")
    expect(inst.locator("tbody")).to_contain_text("不能为空")
    inst.screenshot(path=shots / "10-roster-errors.png", full_page=True)

    inst.goto(class_url)
    good = _roster(
        [(n, i, "1390000000" + str(k), f"SSC{k}") for k, (n, i) in enumerate(TRAINEES)],
        tmp_path / "good.xlsx",
    )
    inst.get_by_label("上传花名册（Excel .xlsx）").set_input_files(good)
    inst.get_by_role("button", name="导入").click()
    expect(inst.locator(".flash")).to_have_text("已导入 2 名学员")
    inst.get_by_role("button", name="提交开班备案").click()
    expect(inst.locator("h1 .status")).to_have_text("已备案待审")
    inst.screenshot(path=shots / "11-class-filed.png", full_page=True)

    # the caseworker approves the filing
    case = _as(browser, base, "lucheng")
    case.goto(class_url)
    case.get_by_role("button", name="备案同意").click()
    expect(case.locator("h1 .status")).to_have_text("备案同意")

    # the training happens; the trainees pass (the evaluation is recorded), the claims go in
    clock.today = start + dt.timedelta(days=8)

    def certify(s: Any) -> None:
        for name, number in TRAINEES:
            person = registry.register_person(s, number, name)
            registry.record_certificate(
                s,
                "caseworker:lucheng",
                person,
                type="training_pass",
                number=f"PX-{number[-6:]}",
                issued_on=start + dt.timedelta(days=6),
            )

    db.write(certify)
    inst.goto(class_url)
    inst.get_by_role("button", name="为本班学员一键申请补贴").click()
    expect(inst.locator(".flash")).to_have_text("已提交 2 份申请")

    # 初审 by one caseworker, 复核 by another, 公示
    case.goto(f"{base}/claims?status=submitted&kind=project")
    for _ in TRAINEES:
        case.locator("tbody tr").first.get_by_role("link").click()
        expect(case.locator("main")).to_contain_text("30 课时")
        case.get_by_label("初审通过：审核意见").fill("材料齐全")
        case.get_by_role("button", name="初审通过").click()
        expect(case.locator("h1 .status")).to_have_text("初审通过")
        case.goto(f"{base}/claims?status=submitted&kind=project")
    second = _as(browser, base, "luchengfh")
    second.goto(f"{base}/claims?status=checked&kind=project")
    for _ in TRAINEES:
        second.locator("tbody tr").first.get_by_role("link").click()
        second.get_by_label("复核通过：审核意见").fill("复核无误")
        second.get_by_role("button", name="复核通过").click()
        expect(second.locator("h1 .status")).to_have_text("复核通过")
        second.goto(f"{base}/claims?status=checked&kind=project")
    case.goto(f"{base}/claims?status=reviewed&kind=project")
    for box in case.get_by_role("checkbox").all():
        box.check()
    case.get_by_role("button", name="将选中的复核通过申请发布公示").click()
    expect(case.locator(".flash")).to_have_text("公示已发布")
    notice_url = case.url

    # a visitor objects; the caseworker dismisses the objection
    visitor = _as(browser, base, None)
    visitor.goto(notice_url)
    expect(visitor.locator("tbody")).to_contain_text("育才")
    visitor.get_by_label("您的姓名").fill("陈先生")
    visitor.get_by_label("联系方式（用于告知复核结果）").fill("13700000000")
    visitor.get_by_label("异议理由").fill("怀疑学员未全程参训")
    visitor.get_by_role("button", name="提交异议").click()
    expect(visitor.locator(".flash")).to_contain_text("异议已受理")

    # judged by a caseworker who did neither 初审 nor 复核 of the claim
    chief = _as(browser, base, "luchengkz")
    chief.goto(f"{base}/claims?status=re_review")
    chief.locator("tbody tr").first.get_by_role("link").click()
    chief.get_by_label("复核意见").fill("核查签到表与培训视频，学员全程参训，异议不成立")
    chief.get_by_role("button", name="异议不成立").click()
    expect(chief.locator(".flash")).to_contain_text("异议已处理")
    chief.screenshot(path=shots / "12-objection-resolved.png", full_page=True)

    case.goto(notice_url)
    case.get_by_role("button", name="结束公示").click()
    expect(case.locator(".flash")).to_contain_text("5 full days")  # too early: refused
    clock.today += dt.timedelta(days=6)
    case.goto(notice_url)
    case.get_by_role("button", name="结束公示").click()
    expect(case.locator(".flash")).to_contain_text("公示已结束")

    # finance pays the batch
    money = _as(browser, base, "finance")
    money.get_by_role("link", name="资金拨付").click()
    money.locator("tr", has_text="鹿城区").get_by_role("button", name="生成拨付批次").click()
    expect(money.locator(".flash")).to_have_text("拨付批次已生成")
    with money.expect_download() as download:
        money.get_by_role("link", name="导出拨付清单").first.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    money.get_by_role("button", name="标记已拨付").first.click()
    expect(money.locator(".flash")).to_have_text("已标记拨付")
    money.screenshot(path=shots / "13-finance-paid.png", full_page=True)

    # a paid claim found false: the caseworker orders it back, finance records the money back
    case.goto(f"{base}/claims?status=paid&kind=project")
    case.locator("tbody tr").first.get_by_role("link").click()
    case.get_by_label("追回补贴（发现虚假或错发）理由").fill("培训签到系代签，补贴依法追回")
    case.get_by_role("button", name="追回补贴（发现虚假或错发）").click()
    expect(case.locator("h1 .status")).to_have_text("已追回")
    balance_before = money_balance(money, base)
    money.goto(f"{base}/finance")
    money.get_by_role("button", name="登记到账").first.click()
    expect(money.locator(".flash")).to_contain_text("追回款已到账")
    assert money_balance(money, base) == balance_before + Decimal("600.00")
    money.screenshot(path=shots / "14-recovered.png", full_page=True)


def money_balance(page: Page, base: str) -> Decimal:
    page.goto(f"{base}/finance")
    row = page.locator("tr", has_text="鹿城区").first
    return Decimal(row.locator("td").nth(1).inner_text())
