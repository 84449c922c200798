"""Issue 8 (hardening), one test per defect class, through the gateway with real logins.

Every refusal is a 4xx problem answer in Chinese naming the field, and nothing is written:
each service schema's events (count, last position, stream versions) and the gateway's own
tables read the same before and after, once the asynchronous followers are quiet. Where the
issue leaves the exact status to the fixer, the class is asserted (4xx, Chinese, named,
nothing written), not one code.
"""
from __future__ import annotations

import json
import uuid

import pytest
from opentelemetry.trace import SpanKind

from gx_contracts.roles import DEMO_PASSWORD

from gx_gateway.settings import GatewaySettings

from ..harness import wait_for
from .hardening_helpers import names_field, problem, raw_request, refused, settled, unbounded_fields
from .hardening_world import (
    DINGXI,
    TIANTANG,
    TOWNSHIP,
    World,
    device_key,
    open_world,
    shapes_of_login,
)
from .slice_helpers import VALUES, act, my_report, report_status, save_and_submit


@pytest.fixture(scope="module")
async def world(stack):
    async with open_world(stack) as w:
        yield w


async def unchanged(world: World, send):
    """Send (a coroutine factory); assert nothing was written; return the response."""
    before = await settled(world.stack)
    r = await send()
    assert await settled(world.stack) == before, f"something was written: {r.status_code} {r.text[:300]}"
    return r


# -- every command field gets a bound, and the merged document shows it ----------------------
async def test_every_command_field_has_a_documented_bound(world):
    doc = (await world.call("region", "GET", "/api/v1/openapi.json")).json()
    assert not unbounded_fields(doc), "\n".join(unbounded_fields(doc))


# -- 1. field notes: bounded, keyed by the form's indicators; the pipeline never stalls ------
BIG_NOTES = {f"note_{i:04d}": "批" * 500 for i in range(1200)}  # the reported ~1.8 MB return


@pytest.mark.parametrize("notes,field", [
    (BIG_NOTES, "field_notes"),
    ({f"x{i:03d}": "偏大" for i in range(600)}, "field_notes"),  # many notes, small body
    ({"unicorn_area": "偏大"}, "field_notes.unicorn_area"),     # not an indicator of the form
    ({"grain_area": "偏" * 5000}, "field_notes.grain_area"),   # one note far too long
], ids=["1.8MB", "600-notes", "unknown-indicator", "long-note"])
async def test_oversized_field_notes_are_refused_and_later_reviews_still_reach_agri(
        world, notes, field):
    rid, case = await world.fresh_case()
    body = {"expected_version": case["version"], "reason_code": "R01", "reason": "请核实",
            "field_notes": notes}
    r = await unchanged(world, lambda: world.call(
        "township", "POST", f"/api/v1/workflow/cases/{case['case_id']}/return", body))
    got = refused(r, statuses=(413, 422))
    if r.status_code == 422:
        assert names_field(got, field), got
    # The review pipeline still flows: the next action on this case reaches agri.
    await act(world.gw, world.auth["township"], case, "approve", comment="数据无误")

    async def agri_saw_it():
        h = (await world.call("village", "GET", f"/api/v1/agri/reports/{rid}/history")).json()
        return any(s["what"] == "workflow.case.approved" for s in h["steps"])
    await wait_for(agri_saw_it, timeout=30)


# -- 2. ranges: absurd values refused; aggregates and documents answer on stored values ------
async def test_out_of_range_values_are_refused_and_every_aggregate_still_answers(world):
    task = await world.publish(TOWNSHIP, period="2026")
    forms = (await world.call("region", "GET", "/api/v1/agri/forms")).json()["items"]
    form = max((f for f in forms if f["code"] == "A301"), key=lambda f: f["version"])
    top = {i["code"]: i.get("max") for i in form["indicators"]}
    assert top["crop_area"] is not None, f"the catalogue gives crop_area no range: {form['indicators'][0]}"
    neighbour = await my_report(world.gw, world.auth["neighbour"], task)
    url = f"/api/v1/agri/reports/{neighbour['report_id']}"
    for bad in ({"crop_area": 1e30}, {"crop_area": 10 ** 30}, {"crop_area": 1e13},
                {"crop_area": top["crop_area"] + 1}, {"early_rice_output": 1e300},
                {"grain_area": -1}):
        (code, value), = bad.items()
        body = {"values": {**VALUES, **bad}, "explanations": {}, "expected_version": 0}
        r = await unchanged(world, lambda: world.call("neighbour", "PUT", url + "/draft", body))
        refused(r, f"values.{code}", statuses=(422,))
        v = await world.call("neighbour", "POST", url + "/validate", body)
        assert v.status_code < 500, (bad, v.status_code, v.text[:300])
    digits = b'{"values": {"crop_area": ' + b"9" * 5000 + b'}, "explanations": {}, "expected_version": 0}'
    r = await unchanged(world, lambda: world.gw.put(
        url + "/draft", content=digits,
        headers={**world.auth["neighbour"], "content-type": "application/json"}))
    problem(r)
    # The largest value the catalogue allows, stored and submitted, renders at every level.
    village = await my_report(world.gw, world.auth["village"], task)
    await save_and_submit(world.gw, world.auth["village"], village,
                          {**VALUES, "crop_area": top["crop_area"]})
    reads = [("region", f"/api/v1/agri/tasks/{task}/totals"),
             ("region", f"/api/v1/agri/tasks/{task}/drilldown"),
             ("region", f"/api/v1/agri/tasks/{task}/monitor"),
             ("township", f"/api/v1/agri/tasks/{task}/monitor"),
             ("county", f"/api/v1/agri/tasks/{task}/export?format=csv"),
             ("county", f"/api/v1/agri/tasks/{task}/export?format=xlsx"),
             ("township", f"/api/v1/agri/tasks/{task}/summary.pdf?division={TOWNSHIP}"),
             ("village", f"/api/v1/agri/reports/{village['report_id']}/pdf"),
             ("village", f"/api/v1/agri/reports/{village['report_id']}")]
    for who, path in reads:
        r = await world.call(who, "GET", path)
        assert r.status_code == 200, (who, path, r.status_code, r.text[:300])
    csv = (await world.call("county", "GET", f"/api/v1/agri/tasks/{task}/export?format=csv")).text
    assert str(int(top["crop_area"])) in csv.replace(",", ""), csv[:500]


# -- 3a. NUL in any text field: 422 naming the field, nothing written -----------------------
NUL_CASES = [
    ("login-username", None, "POST", "/api/v1/auth/login",
     {"username": "tiantang\x00cun", "password": DEMO_PASSWORD}, "username"),
    ("refresh-token", None, "POST", "/api/v1/auth/refresh", {"refresh_token": "abc\x00"},
     "refresh_token"),
    ("account-name", "region", "POST", "/api/v1/admin/users",
     {"username": "nul_{uniq}", "name_zh": "测试\x00账号", "role": "village_coordinator",
      "division": DINGXI, "password": "Start#2026"}, "name_zh"),
    ("account-username", "region", "POST", "/api/v1/admin/users",
     {"username": "nul\x00{uniq}", "name_zh": "测试账号", "role": "village_coordinator",
      "division": DINGXI, "password": "Start#2026"}, "username"),
    ("task-title", "region", "POST", "/api/v1/agri/tasks",
     {"form_code": "A301", "period": "2026-EARLY", "title": "早稻\x00生产",
      "scope_division": TOWNSHIP, "deadline": "2026-12-31T00:00:00+08:00"}, "title"),
    ("explanation", "neighbour", "PUT", "/api/v1/agri/reports/{draft}/draft",
     {"values": VALUES, "explanations": {"crop_area": "已核实\x00"}, "expected_version": 0},
     "explanations.crop_area"),
    ("explanation-key", "neighbour", "PUT", "/api/v1/agri/reports/{draft}/draft",
     {"values": VALUES, "explanations": {"crop\x00area": "已核实"}, "expected_version": 0},
     "explanations"),
    ("validate-explanation", "neighbour", "POST", "/api/v1/agri/reports/{draft}/validate",
     {"values": VALUES, "explanations": {"crop_area": "已核实\x00"}, "expected_version": 0},
     "explanations.crop_area"),
    ("approve-comment", "township", "POST", "/api/v1/workflow/cases/{case}/approve",
     {"expected_version": "{case_version}", "comment": "同意\x00"}, "comment"),
    ("accept-comment", "township", "POST", "/api/v1/workflow/cases/{case}/accept",
     {"expected_version": "{case_version}", "comment": "验收\x00"}, "comment"),
    ("return-reason", "township", "POST", "/api/v1/workflow/cases/{case}/return",
     {"expected_version": "{case_version}", "reason_code": "R01", "reason": "请核实\x00"},
     "reason"),
    ("return-field-note", "township", "POST", "/api/v1/workflow/cases/{case}/return",
     {"expected_version": "{case_version}", "reason_code": "R01", "reason": "请核实",
      "field_notes": {"grain_area": "偏大\x00"}}, "field_notes.grain_area"),
    ("reopen-reason", "region", "POST", "/api/v1/workflow/cases/{case}/reopen",
     {"expected_version": "{case_version}", "reason": "复核\x00"}, "reason"),
    ("device-label", "region", "POST", "/api/v1/admin/devices",
     {"username": "dingxi_cun", "label": "手机\x00", "public_key": "{key}"}, "label"),
    ("device-request-label", "neighbour", "POST", "/api/v1/devices/requests",
     {"label": "浏览器\x00", "public_key": "{key}"}, "label"),
    ("device-revoke-reason", "region", "POST", "/api/v1/admin/devices/{uuid}/revoke",
     {"reason": "遗失\x00"}, "reason"),
    ("device-reject-reason", "region", "POST", "/api/v1/admin/devices/requests/{uuid}/reject",
     {"reason": "驳回\x00"}, "reason"),
]


@pytest.mark.parametrize("who,method,path,body,field",
                         [pytest.param(*c[1:], id=c[0]) for c in NUL_CASES])
async def test_nul_in_any_text_field_is_422_naming_the_field(world, who, method, path, body,
                                                             field):
    values = {**world.shared, "uniq": uuid.uuid4().hex[:8], "uuid": str(uuid.uuid4()),
              "key": device_key()}
    r = await unchanged(world, lambda: world.call(who, method, world.fill(path, values),
                                                  world.fill(body, values)))
    refused(r, field, statuses=(422,))


@pytest.mark.parametrize("path", [
    "/api/v1/workflow/queue?kind=%00", "/api/v1/workflow/queue?task_id=a%00b",
    "/api/v1/agri/tasks/{task}/totals?division=4501%00", "/api/v1/agri/tasks/{task}/drilldown?indicator=%00",
    "/api/v1/workflow/progress?task_id=%00&division=450103103000",
    "/api/v1/workflow/stats?kind=%00", "/api/v1/workflow/cases/by-subject/agri.report/%00",
    "/api/v1/agri/tasks/%00"])
async def test_nul_in_query_or_path_is_never_a_500(world, path):
    r = await world.call("township", "GET", world.fill(path, world.shared))
    problem(r)


# -- 3b. JSON nested 10,000 deep; 3c. a body larger than the gateway takes -----------------
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
DEEP_LIST = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize("who,method,path,body", [
    ("neighbour", "PUT", "/api/v1/agri/reports/{draft}/draft",
     '{"values": ' + DEEP_OBJECT + ', "explanations": {}, "expected_version": 0}'),
    ("township", "POST", "/api/v1/workflow/cases/{case}/approve", DEEP_LIST),
    ("region", "POST", "/api/v1/agri/tasks", DEEP_OBJECT),
    (None, "POST", "/api/v1/auth/login", DEEP_OBJECT),
    (None, "POST", "/api/v1/auth/refresh", '{"refresh_token": ' + DEEP_LIST + "}"),
    ("region", "POST", "/api/v1/admin/users", DEEP_LIST),
], ids=["proxied-draft", "proxied-approve", "proxied-publish", "login", "refresh", "admin-users"])
async def test_json_nested_10000_deep_is_refused_in_chinese(world, who, method, path, body):
    headers = {**world.auth.get(who, {}), "content-type": "application/json"}
    r = await unchanged(world, lambda: world.gw.request(
        method, world.fill(path, world.shared), content=body.encode(), headers=headers))
    refused(r, statuses=(413, 422))


@pytest.mark.parametrize("who,method,path", [
    ("neighbour", "PUT", "/api/v1/agri/reports/{draft}/draft"),
    ("township", "POST", "/api/v1/workflow/cases/{case}/return"),
    (None, "POST", "/api/v1/auth/login"), ("region", "POST", "/api/v1/admin/users")])
@pytest.mark.parametrize("how", ["declared", "chunked"])
async def test_a_body_over_the_limit_is_413_in_chinese(world, who, method, path, how):
    limit = GatewaySettings.model_fields["max_body_bytes"].default
    headers = {**world.auth.get(who, {}), "Content-Type": "application/json"}
    target = world.fill(path, world.shared)
    kw = {"declared_length": limit + 1, "body": b'{"values": {"crop_area": 1'} \
        if how == "declared" else {"chunked_total": limit + 512 * 1024}
    r = await unchanged(world, lambda: raw_request(world.stack.gateway_url, method, target,
                                                   headers, timeout=30, **kw))
    refused(r, statuses=(413,))


# -- 3d. paging parameters are bounded ------------------------------------------------------
@pytest.mark.parametrize("who,path", [("township", "/api/v1/workflow/queue"),
                                      ("region", "/api/v1/agri/tasks/{task}/drilldown")])
@pytest.mark.parametrize("query,param", [
    ("offset=100000000000000000000", "offset"), ("limit=100000000000000000000", "limit"),
    ("offset=-1", "offset"), ("limit=-5", "limit"), ("offset=1e3", "offset"),
    ("cursor=%ff%fe~garbage", "cursor"), ("after=%ff%fe~garbage", "after"),
    ("cursor=" + "A" * 5000, "cursor"), ("after=" + "A" * 5000, "after")])
async def test_paging_parameters_are_bounded(world, who, path, query, param):
    r = await world.call(who, "GET", world.fill(path, world.shared) + "?" + query)
    assert r.status_code in (200, 422), (r.status_code, r.text[:300])
    if r.status_code == 422:
        refused(r, param)


async def test_every_paging_parameter_of_the_api_is_bounded(world):
    doc = (await world.call("region", "GET", "/api/v1/openapi.json")).json()
    checked, failures = 0, []
    for path, item in doc["paths"].items():
        op = item.get("get")
        params = (op or {}).get("parameters", [])
        query = [p for p in params if p.get("in") == "query"]
        ints = [p["name"] for p in query if "integer" in json.dumps(p.get("schema", {}))]
        cursors = [p["name"] for p in query if p["name"] in ("cursor", "after", "before")]
        concrete = world.fill_path(path)
        if not ints + cursors or concrete is None or path.endswith("/stream"):
            continue
        tries = [(n, v) for n in ints for v in ("100000000000000000000", "-100000000000000000000")]
        tries += [(n, v) for n in cursors for v in ("%ff%fe~garbage", "A" * 5000, "eyJ4IjoxfQ")]
        for name, value in tries:
            checked += 1
            r = await world.call("region", "GET", f"{concrete}?{name}={value}")
            if r.status_code >= 500:
                failures.append(f"GET {concrete}?{name}={value[:40]}: {r.status_code} {r.text[:200]}")
    assert checked >= 4, checked
    assert not failures, "\n".join(failures)


# -- 5. dot-segments and encoded slashes are never forwarded --------------------------------
@pytest.mark.parametrize("target", [
    "/api/v1/agri/reports/%2e%2e/tasks", "/api/v1/agri/reports/%2E%2E/tasks",
    "/api/v1/agri/reports/.%2e/tasks", "/api/v1/agri/reports/../tasks",
    "/api/v1/agri/reports/%252e%252e/tasks", "/api/v1/agri/reports/..%2ftasks",
    "/api/v1/agri/reports%2f..%2ftasks", "/api/v1/agri/./tasks"])
async def test_dot_segments_are_refused_at_the_gateway_and_not_forwarded(world, spans, target):
    body = json.dumps({"form_code": "A301", "period": "2026-EARLY", "title": "越权",
                       "scope_division": TIANTANG, "deadline": "2026-12-31T00:00:00+08:00"})
    headers = {**world.auth["village"], "Content-Type": "application/json"}

    async def send():
        spans.clear()  # after the quiet wait: only this request's spans remain
        return await raw_request(world.stack.gateway_url, "POST", target, headers, body.encode())
    r = await unchanged(world, send)
    refused(r, statuses=(400, 403, 404, 422))
    reached = [s.attributes.get("service.component") for s in spans.get_finished_spans()
               if s.kind == SpanKind.SERVER
               and s.attributes.get("service.component") not in (None, "gateway")]
    assert not reached, f"forwarded to {reached}: {r.status_code} {r.text[:200]}"


# -- 6. report values are strict JSON numbers ---------------------------------------------
@pytest.mark.parametrize("value", [True, False, "100", "1e3", "NaN", [100], {"v": 1}],
                         ids=["true", "false", "str-100", "str-1e3", "str-NaN", "list", "object"])
@pytest.mark.parametrize("action", ["draft", "validate"])
async def test_values_are_not_coerced(world, value, action):
    rid = world.shared["draft"]
    body = {"values": {**VALUES, "crop_area": value}, "explanations": {}, "expected_version": 0}
    method = "PUT" if action == "draft" else "POST"
    r = await unchanged(world, lambda: world.call("neighbour", method,
                                                  f"/api/v1/agri/reports/{rid}/{action}", body))
    refused(r, "values.crop_area", statuses=(422,))
    stored = (await world.call("neighbour", "GET", f"/api/v1/agri/reports/{rid}")).json()
    assert stored["version"] == 0 and stored["values"].get("crop_area") is None, stored["values"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_json_numbers_are_refused(world, token):
    rid = world.shared["draft"]
    raw = f'{{"values": {{"crop_area": {token}}}, "explanations": {{}}, "expected_version": 0}}'
    r = await unchanged(world, lambda: world.gw.put(
        f"/api/v1/agri/reports/{rid}/draft", content=raw.encode(),
        headers={**world.auth["neighbour"], "content-type": "application/json"}))
    refused(r, statuses=(422,))


# -- 7. a resubmission after a return with field notes must answer them ---------------------
async def test_resubmit_unchanged_after_a_return_with_field_notes_needs_an_explanation(world):
    rid, case = await world.fresh_case()
    await act(world.gw, world.auth["township"], case, "return", reason_code="R01",
              reason="粮食面积偏大，请核实", field_notes={"grain_area": "偏大，请核实"})
    returned = await report_status(world.gw, world.auth["village"], rid, "returned")
    submit = f"/api/v1/agri/reports/{rid}/submit"
    r = await unchanged(world, lambda: world.call("village", "POST", submit,
                                                  {"expected_version": returned["version"]}))
    got = refused(r)
    assert any("grain_area" in f for f in [e.get("field") or "" for e in got["errors"]]), got
    # Saving the same values again is no correction either.
    draft = f"/api/v1/agri/reports/{rid}/draft"
    saved = await world.call("village", "PUT", draft, {
        "values": returned["values"], "explanations": {}, "expected_version": returned["version"]})
    assert saved.status_code == 200, saved.text
    r = await unchanged(world, lambda: world.call("village", "POST", submit,
                                                  {"expected_version": saved.json()["version"]}))
    refused(r)
    # An explanation for the note (核实无误的说明) lets it through, and the reviewer sees it.
    saved = await world.call("village", "PUT", draft, {
        "values": returned["values"], "explanations": {"grain_area": "经核实，数据无误"},
        "expected_version": saved.json()["version"]})
    assert saved.status_code == 200, saved.text
    r = await world.call("village", "POST", submit, {"expected_version": saved.json()["version"]})
    assert r.status_code == 200, r.text
    await report_status(world.gw, world.auth["village"], rid, "submitted")
    seen = await world.call("township", "GET", f"/api/v1/agri/reports/{rid}")
    assert "经核实，数据无误" in seen.text, seen.text[:500]


# -- 8. revoking a login session (token family) ends its access tokens at once --------------
async def test_access_tokens_of_a_revoked_family_are_refused_on_the_next_request(world):
    first = await world.login_pair("tiantang_wangge")
    me = lambda token: world.gw.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})  # noqa: E731
    assert (await me(first["access_token"])).status_code == 200  # now known to the gateway
    second = (await world.gw.post("/api/v1/auth/refresh",
                                  json={"refresh_token": first["refresh_token"]})).json()
    assert (await me(second["access_token"])).status_code == 200
    reuse = await world.gw.post("/api/v1/auth/refresh",
                                json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401, reuse.text  # reuse of a spent token revokes the family
    for token in (first["access_token"], second["access_token"]):
        auth = {"Authorization": f"Bearer {token}"}
        for r in (await me(token), await world.gw.get("/api/v1/agri/tasks", headers=auth)):
            assert r.status_code == 401, (r.status_code, r.text[:300])
            problem(r)
    r = await world.gw.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401, r.text
    again = await world.login_pair("tiantang_wangge")  # a new login is a new family
    assert (await me(again["access_token"])).status_code == 200


# -- 4. lock-out: the same answer for unknown and locked names; the owner gets back in -------
async def test_lockout_does_not_reveal_who_exists_and_does_not_shut_out_the_owner(world):
    name = f"lock_{uuid.uuid4().hex[:8]}"
    created = await world.call("region", "POST", "/api/v1/admin/users", {
        "username": name, "name_zh": "锁定测试", "role": "village_coordinator",
        "division": DINGXI, "password": DEMO_PASSWORD})
    assert created.status_code == 201, created.text
    phone = await world.enrolled_phone(name)
    ghost = f"ghost_{uuid.uuid4().hex[:8]}"
    real, unknown = await shapes_of_login(world, name, ghost, attempts=8)
    assert real == unknown, f"a real name answers differently:\n{real}\n{unknown}"
    assert all(400 <= s < 500 for s, *_ in real), real
    assert "account_locked" not in str(real), real
    # The owner's own phone still gets in while others' guesses hold the name back ...
    r = await world.login_from_phone(name, phone)
    assert r.status_code == 200, r.text
    # ... and an administrator can lift the hold for a plain login.
    plain = {"username": name, "password": DEMO_PASSWORD}
    unlocked = await world.unlock(name)
    assert unlocked.status_code == 200, unlocked.text
    r = await world.gw.post("/api/v1/auth/login", json=plain)
    assert r.status_code == 200, r.text
