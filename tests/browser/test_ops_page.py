"""Issue 14 §5 in the console: what the operations team sees (role `ops`) — each service's
readiness and relay, dead letters per topic (with their errors, replayed after a fix by the
consuming service), consumer lag per group, and the gateway's requests per route (count, 5xx,
4xx, p50, p99) — at 1366 and 360 px, without a collector; the same figures as OpenTelemetry
instruments."""
from __future__ import annotations

import asyncio
import re
import uuid

import pytest

expect = pytest.importorskip("playwright.async_api").expect

from aiokafka import AIOKafkaProducer

from gx_kernel import metrics

from .support import PHONE, open_as, publish, shot

WIDE = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
async def traffic(stack, api):
    """Requests on a few routes, one of them refused, an event workflow consumes (a task),
    and two dead letters on agri's topic: an unreadable record, and one that workflow's intake
    dead-lettered (its id and group; the value stays unreadable, so a replay lands it there
    again)."""
    await publish(api, stack, "450103000000", "运维概览测试任务")
    town = await stack.login(api, "changtang_zhen")
    for _ in range(3):
        assert (await api.get("/api/v1/agri/tasks", headers=town)).status_code == 200
    assert (await api.get("/api/v1/agri/tasks")).status_code == 401
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(stack.topic("agri.events.dlq"), b"{}", key=b"k", headers=[
            ("ce_type", b"agri.report.submitted"), ("x-gx-error", b"ValueError: test letter"),
            ("x-gx-error-kind", b"permanent")])
        await producer.send_and_wait(stack.topic("agri.events.dlq"), b"{}", key=b"k", headers=[
            ("ce_id", str(uuid.uuid4()).encode()), ("ce_type", b"agri.report.submitted"),
            ("x-gx-error", b"ValueError: replayable letter"), ("x-gx-error-kind", b"permanent"),
            ("x-gx-consumer-group", stack.topic("workflow.intake").encode()),
            ("x-gx-original-topic", stack.topic("agri.events").encode())])
    finally:
        await producer.stop()
    return await stack.login(api, "yunwei")


async def _overview(api, ops, want) -> dict:
    for _ in range(90):  # a loaded machine: the broker sample and /ready take their time
        r = await api.get("/api/v1/ops/overview", headers=ops, params={"fresh": "true"})
        assert r.status_code == 200, r.text
        body = r.json()
        if want(body):
            return body
        await asyncio.sleep(0.5)
    raise AssertionError(body)


async def test_the_overview_is_for_ops_only_and_counts_what_happened(stack, api, traffic):
    town = await stack.login(api, "changtang_zhen")
    r = await api.get("/api/v1/ops/overview", headers=town)
    assert r.status_code == 403 and r.json()["code"] == "ops_only"
    body = await _overview(api, traffic, lambda b: any(
        d["topic"] == "agri.events.dlq" and d["depth"] >= 1 for d in b["broker"]["dead_letters"])
        and any(c["topic"] == "agri.events" for c in b["broker"]["consumer_lag"])
        and any(s["service"] == "agri" and s["status"] == "ready" for s in b["services"]))
    assert {s["service"] for s in body["services"]} >= {"agri", "workflow"}
    agri = next(s for s in body["services"] if s["service"] == "agri")
    assert agri["status"] == "ready" and agri["relay_lag"] is not None
    assert body["broker"]["error"] is None
    groups = {(c["group"], c["topic"]) for c in body["broker"]["consumer_lag"]}
    assert any(t == "agri.events" for _, t in groups), groups  # workflow's intake reads it
    routes = {(r["method"], r["route"]): r for r in body["requests"]}
    tasks = routes[("GET", "/api/v1/agri/{rest}")]  # the template, never the raw path
    assert tasks["count"] >= 3 and tasks["refused"] >= 1 and tasks["p99_ms"] is not None
    raw = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|\d{12}|changtang")  # ids, codes, names
    assert not [r for _, r in routes if raw.search(r)], routes
    # the same figures as OpenTelemetry instruments (exported by OTLP where a collector is set)
    assert any(r["route"] == "/api/v1/agri/{rest}" for r in metrics.request_snapshot("gateway"))
    assert metrics.broker_sample().dlq_depth.get(stack.topic("agri.events.dlq"), 0) >= 1
    r = await api.get("/api/v1/ops/dead-letters", headers=traffic,
                      params={"topic": "agri.events.dlq"})
    assert r.status_code == 200, r.text
    letter = next(d for d in r.json()["items"] if d["error"] == "ValueError: test letter")
    assert letter["kind"] == "permanent" and letter["event_id"] is None
    r = await api.get("/api/v1/ops/dead-letters", headers=traffic, params={"topic": "agri.events"})
    assert r.status_code == 422 and r.json()["code"] == "not_a_dead_letter_topic"
    r = await api.get("/api/v1/ops/dead-letters", headers=town, params={"topic": "agri.events.dlq"})
    assert r.status_code == 403


async def test_ops_replay_dead_letters_through_the_service_that_consumed_them(stack, api,
                                                                              traffic):
    url = "/api/v1/ops/dead-letters/replay"
    town = await stack.login(api, "changtang_zhen")
    r = await api.post(url, headers=town, json={"topic": "agri.events.dlq"})
    assert r.status_code == 403 and r.json()["code"] == "ops_only"
    r = await api.post(url, headers=traffic, json={"topic": "agri.events"})
    assert r.status_code == 422
    letters = (await api.get("/api/v1/ops/dead-letters", headers=traffic,
                             params={"topic": "agri.events.dlq"})).json()["items"]
    [mine] = [d for d in letters if d["error"] == "ValueError: replayable letter"]
    r = await api.post(url, headers=traffic,
                       json={"topic": "agri.events.dlq", "event_ids": [mine["event_id"]]})
    assert r.status_code == 200, r.text
    assert r.json() == {"topic": "agri.events.dlq", "replayed": 1,
                        "services": [{"service": "workflow", "replayed": 1}]}
    r = await api.post(url, headers=traffic,
                       json={"topic": "agri.events.dlq", "event_ids": [str(uuid.uuid4())]})
    assert r.json() == {"topic": "agri.events.dlq", "replayed": 0, "services": []}


@pytest.mark.parametrize("size", ["1366", "360"])
async def test_the_ops_page_shows_relays_dead_letters_lag_and_requests(stack, browser, api,
                                                                       traffic, size):
    await _overview(api, traffic, lambda b: b["broker"]["dead_letters"]
                    and b["broker"]["consumer_lag"])
    ctx, page = await open_as(browser, stack.gateway_url, "yunwei",
                              viewport=WIDE if size == "1366" else PHONE)
    try:
        await expect(page.locator("h1")).to_have_text("运维概览")  # ops land on their page
        await expect(page.locator("#nav")).to_contain_text("运维概览")
        await expect(page.locator("#ops-services")).to_contain_text("农业统计")
        await expect(page.locator("#ops-services")).to_contain_text("正常")
        await expect(page.locator("#ops-dlq")).to_contain_text("agri.events.dlq")
        await expect(page.locator("#ops-lag")).to_contain_text("agri.events")
        await expect(page.locator("#ops-requests")).to_contain_text("GET /api/v1/agri/{rest}")
        await expect(page.locator("#ops-stamp")).to_contain_text("取样于")
        # the dead letters of a topic, with why; one replayed after the fix, behind a dialog
        await page.locator('#ops-dlq button[data-topic="agri.events.dlq"]').click()
        await expect(page.locator("#ops-letters-table")).to_contain_text("ValueError: test letter")
        await expect(page.locator("#ops-letters-table")).to_contain_text("不可重试")
        await expect(page.locator("#ops-letters")).to_contain_text("python -m gx_kernel.dlq replay")
        await expect(page.locator("#ops-replay-all")).to_be_visible()
        await page.locator("#ops-letters-table button.btn-replay").first.click()
        await expect(page.locator("dialog")).to_contain_text("已经修复")
        await page.locator("dialog button[type=submit]").click()
        await expect(page.locator("#toast")).to_contain_text("已重放 1 条")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"] + 1  # tables scroll inside, not the page
        await shot(page, f"ops-{size}.png")
        assert not page.errors, page.errors
    finally:
        await ctx.close()
