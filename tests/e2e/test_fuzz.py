"""Fuzzing the public API through the gateway of a running stack. No answer may be a 5xx.

1. schemathesis: generated valid and invalid input for every operation of the merged OpenAPI
   document, signed in as the region and as a village coordinator (GX_FUZZ_EXAMPLES per
   operation and mode, default 10).
2. A Hypothesis property (issue 8): hostile JSON bodies (deep, long, NUL, non-finite numbers,
   wrong types, huge integers; alone or in place of one field of a valid body) sent to every
   command endpoint (POST/PUT/PATCH/DELETE) with a token of a role allowed there, on real
   records. A refusal is a 4xx problem answer in Chinese and leaves every service's events
   (and the gateway's tables) as they were (GX_FUZZ_PROPERTY_EXAMPLES per endpoint, default 25).

Both call synchronously from a worker thread while the stack keeps serving on the event loop.
GX_FUZZ_TIMES=1 (with -s) prints the time each operation took, for budgeting the counts.
"""
from __future__ import annotations

import asyncio
import os
import re
import time
import traceback
import uuid

import asyncpg
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from gx_contracts.ids import report_id_for
from gx_contracts.roles import DEMO_USERS

from gx_gateway.domain.capabilities import may_call

from ..harness import wait_for
from .fuzz_bodies import bodies, normalised
from .hardening_helpers import chinese, settled, written
from .hardening_world import DINGXI, TIANTANG, TOWNSHIP, device_key
from .slice_helpers import VALUES, my_report, publish_task, save_and_submit

EXAMPLES = int(os.environ.get("GX_FUZZ_EXAMPLES", "10"))
PROPERTY_EXAMPLES = int(os.environ.get("GX_FUZZ_PROPERTY_EXAMPLES", "25"))
# Invalid input is answered the same whoever sends it, so only the region gets the negative
# mode; the village coordinator gets valid input (its own authorisation paths).
USERS = {"qu_tongji": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         "tiantang_cun": (GenerationMode.POSITIVE,)}
ROLES = {"region": "qu_tongji", "township": "changtang_zhen", "village": "tiantang_cun",
         "county": "qingxiu_qu", "grid": "tiantang_wangge"}
SKIP_SUFFIXES = ("/stream",)  # server-sent events never end; covered by the authz matrix
COMMANDS = ("post", "put", "patch", "delete")
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@pytest.fixture(scope="module")
async def fuzz_world(stack):
    """Tokens (signed in once, before any generated login can slow this address down) and
    real records for the path parameters."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gw:
        doc = (await gw.get("/api/v1/openapi.json")).json()
        auth = {u: await stack.login(gw, u) for u in {*USERS, *ROLES.values()}}
        region, village = auth["qu_tongji"], auth["tiantang_cun"]
        task = await publish_task(gw, region, TOWNSHIP)
        submitted = await my_report(gw, village, task)
        await save_and_submit(gw, village, submitted, VALUES)
        case = await wait_for(lambda: _case(gw, auth["changtang_zhen"], submitted["report_id"]),
                              timeout=30)
        editable = await publish_task(gw, region, TIANTANG, period="2026")  # 天堂村's own draft
        device = (await gw.post("/api/v1/admin/devices", headers=region, json={
            "username": "tiantang_cun", "label": "模糊测试手机", "public_key": device_key()})).json()
        req = (await gw.post("/api/v1/devices/requests", headers=auth["tiantang_wangge"], json={
            "label": "模糊测试浏览器", "public_key": device_key()})).json()
        yield {"doc": doc, "auth": auth, "task": task, "case": case["case_id"],
               "case_version": case["version"],
               "draft": str(report_id_for(editable, TIANTANG)), "device": device["device_id"],
               "request": req["request_id"]}


async def _case(gw, auth, report_id):
    r = await gw.get(f"/api/v1/workflow/cases/by-subject/agri.report/{report_id}", headers=auth)
    return r.json() if r.status_code == 200 else None


# -- 1. schemathesis -------------------------------------------------------------------------
def fuzz(base_url: str, doc: dict, tokens: dict[str, str]) -> tuple[int, list[str]]:
    """(requests sent, failures) — every operation x user x generation mode."""
    schema = schemathesis.openapi.from_dict(doc)
    sent, failures = 0, []
    session = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.endswith(SKIP_SUFFIXES):
            continue
        for user, token in tokens.items():
            for mode in USERS[user]:
                auth = {"Authorization": f"Bearer {token}"}
                t0 = time.monotonic()

                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          phases=[Phase.generate], derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy(generation_mode=mode))
                def check(case) -> None:
                    nonlocal sent
                    sent += 1
                    response = case.call(base_url=base_url, session=session,
                                         headers=auth, timeout=20)
                    if response.status_code >= 500:
                        failures.append(f"{op.method.upper()} {op.path} as {user} ({mode.value}):"
                                        f" {response.status_code} {response.text[:300]}\n"
                                        f"  curl: {case.as_curl_command(headers=auth)}")
                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing invalid to generate for this operation (no constraints)
                except Exception:  # noqa: BLE001 - a generation problem is a finding too
                    failures.append(f"{op.method.upper()} {op.path} as {user} ({mode.value}): "
                                    + traceback.format_exc(limit=3))
                if os.environ.get("GX_FUZZ_TIMES"):
                    print(f"{time.monotonic() - t0:6.1f}s {op.method.upper()} {op.path} {user} "
                          f"{mode.value}", flush=True)
    return sent, failures


async def test_no_5xx_on_generated_input(stack, fuzz_world):
    doc = fuzz_world["doc"]
    assert doc["info"]["x-gx-missing"] == []
    tokens = {u: fuzz_world["auth"][u]["Authorization"].split()[1] for u in USERS}
    sent, failures = await asyncio.to_thread(fuzz, stack.gateway_url, doc, tokens)
    assert sent > 100, sent
    assert not failures, "\n".join(failures)


# -- 2. hostile bodies on every command endpoint --------------------------------------------
def good_bodies(w: dict) -> dict[tuple[str, str], dict]:
    """A valid body per known command (normalised path), which the property then spoils."""
    v = w["case_version"]
    report = {"values": VALUES, "explanations": {"crop_area": "已核实"}, "expected_version": 0}
    return {
        ("post", "/api/v1/agri/tasks"): {
            "form_code": "A301", "period": "2026-EARLY", "title": "模糊测试",
            "scope_division": TIANTANG, "deadline": "2026-12-31T00:00:00+08:00"},
        ("put", "/api/v1/agri/reports/{}/draft"): report,
        ("post", "/api/v1/agri/reports/{}/validate"): report,
        ("post", "/api/v1/agri/reports/{}/submit"): {"expected_version": 1},
        ("post", "/api/v1/workflow/cases/{}/approve"): {"expected_version": v, "comment": "同意"},
        ("post", "/api/v1/workflow/cases/{}/accept"): {"expected_version": v, "comment": "验收"},
        ("post", "/api/v1/workflow/cases/{}/return"): {
            "expected_version": v, "reason_code": "R01", "reason": "请核实",
            "field_notes": {"grain_area": "偏大"}},
        ("post", "/api/v1/workflow/cases/{}/reopen"): {"expected_version": v, "reason": "复核"},
        ("post", "/api/v1/auth/login"): {"username": "fuzz_nobody", "password": "Wrong#2026"},
        ("post", "/api/v1/auth/refresh"): {"refresh_token": "r" * 43},
        ("post", "/api/v1/admin/users"): {
            "username": "fuzz_user", "name_zh": "模糊测试", "role": "village_coordinator",
            "division": DINGXI, "password": "Start#2026"},
        ("post", "/api/v1/admin/devices"): {
            "username": "dingxi_cun", "label": "手机", "public_key": device_key()},
        ("post", "/api/v1/admin/devices/{}/revoke"): {"reason": "遗失"},
        ("post", "/api/v1/admin/devices/requests/{}/reject"): {"reason": "不符"},
        ("post", "/api/v1/devices/requests"): {"label": "浏览器", "public_key": device_key()},
        ("post", "/api/v1/admin/subscribers/{}/topics"): {"grant": ["agri.events"]},
    }


def concrete(path: str, w: dict) -> str:
    """Path parameters from the real records (unknown ones: a fresh uuid)."""
    known = {"report_id": w["draft"], "case_id": w["case"], "task_id": w["task"],
             "device_id": w["device"], "request_id": w["request"], "username": "sheng_xitong"}
    return re.sub(r"\{(\w+)\}", lambda m: str(known.get(m[1], uuid.uuid4())), path)


def role_for(method: str, path: str) -> str:
    """A role allowed to call it: the one the path belongs to, checked against the gateway's
    capability table for proxied paths."""
    prefer = [("/api/v1/agri/tasks", "region"), ("/api/v1/agri/", "village"),
              ("/api/v1/workflow/", "township"), ("/api/v1/admin/", "region"),
              ("/api/v1/devices/", "grid"), ("/api/v1/auth/", "region")]
    role = next((r for prefix, r in prefer if path.startswith(prefix)), "region")
    if path.startswith(("/api/v1/agri/", "/api/v1/workflow/", "/api/v1/registry/",
                        "/api/v1/population/")):
        role_of = {u["username"]: u["role"] for u in DEMO_USERS}
        allowed = [r for r in (role, *ROLES) if may_call(role_of[ROLES[r]], method, path)]
        assert allowed, f"no demo role may call {method} {path}"
        role = allowed[0]
    return role


def property_check(call, snapshot, settle, ops, w: dict) -> tuple[int, list[str]]:
    """Run in a worker thread; `call`/`snapshot`/`settle` hop onto the event loop."""
    goods, sent, failures = good_bodies(w), 0, []
    for method, path in ops:
        url, role = concrete(path, w), role_for(method.upper(), path)
        auth = w["auth"][ROLES[role]]

        @settings(max_examples=PROPERTY_EXAMPLES, deadline=None, database=None,
                  phases=[Phase.generate], derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(body=bodies(goods.get((method, normalised(path)))))
        def check(body: bytes) -> None:
            nonlocal sent
            sent += 1
            before = snapshot()
            r = call(method.upper(), url, auth, body)
            shown = f"{method.upper()} {url} as {role} <- {body[:160]!r}"
            if r.status_code >= 500:
                failures.append(f"{shown}: {r.status_code} {r.text[:200]}")
            elif r.status_code >= 400:
                problem = r.headers.get("content-type", "").startswith("application/problem+json")
                if not problem or not chinese(r.json().get("detail", "")):
                    failures.append(f"{shown}: {r.status_code} not a Chinese problem: {r.text[:200]}")
                after = snapshot()
                if after != before:
                    failures.append(f"{shown}: {r.status_code} yet written: "
                                    f"{ {k: (before[k], after[k]) for k in after if after[k] != before[k]} }")
            else:
                settle()  # it did something: let the followers finish before the next one
        t0 = time.monotonic()
        try:
            check()
        except Exception:  # noqa: BLE001 - a generation problem is a finding too
            failures.append(f"{method.upper()} {path}: " + traceback.format_exc(limit=3))
        if os.environ.get("GX_FUZZ_TIMES"):
            print(f"{time.monotonic() - t0:6.1f}s {method.upper()} {path}", flush=True)
    return sent, failures


async def test_hostile_bodies_on_every_command_endpoint_change_nothing(stack, fuzz_world):
    doc, loop = fuzz_world["doc"], asyncio.get_running_loop()
    ops = [(m, p) for p, item in doc["paths"].items() for m in item if m in COMMANDS]
    assert len(ops) >= 15, ops
    conn = await asyncpg.connect(stack.database_url)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gw:
        def on_loop(coro):
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

        def call(method, url, auth, body):
            return on_loop(gw.request(method, url, content=body,
                                      headers={**auth, "content-type": "application/json"}))
        try:
            await settled(stack)
            sent, failures = await asyncio.to_thread(
                property_check, call, lambda: on_loop(written(stack, conn)),
                lambda: on_loop(settled(stack, quiet=0.2)), ops, fuzz_world)
        finally:
            await conn.close()
    assert sent >= len(ops) * min(PROPERTY_EXAMPLES, 10), sent
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(failures[:40])
