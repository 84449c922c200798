"""Helpers for the console's browser tests: contexts, log-in through the page, screenshots."""
from __future__ import annotations

from gx_contracts.roles import DEMO_PASSWORD

from .chromium import artifact

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


async def open_as(browser, base_url: str, username: str, viewport=DESKTOP, path: str = ""):
    """A fresh browser context (own sessionStorage), logged in through the login page."""
    ctx = await browser.new_context(viewport=viewport, locale="zh-CN", base_url=base_url)
    ctx.set_default_timeout(15000)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # uncaught script errors fail the test at the end
    await page.goto("/")
    await page.fill("#username", username)
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_selector("#top:not([hidden])")
    if path:
        await page.goto(path)
    return ctx, page


async def shot(page, name: str) -> None:
    await page.screenshot(path=str(artifact(name)), full_page=True)


async def publish(api, stack, scope: str, title: str) -> str:
    h = await stack.login(api, "qu_tongji")
    r = await api.post("/api/v1/agri/tasks", headers=h, json={
        "form_code": "A301", "period": "2026-EARLY", "title": title, "scope_division": scope,
        "deadline": "2030-08-15T18:00:00+08:00"})
    assert r.status_code == 201, r.text
    return r.json()["task_id"]
