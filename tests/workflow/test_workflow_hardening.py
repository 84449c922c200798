"""Issue 8 over HTTP: bounded field notes (codes of the form), bounded paging with a keyset
cursor, bounded query parameters — and the agri chain as 附件3 describes it (township 数据验收,
county/city watch and may return, region 审核确认) next to the strict chain."""
from __future__ import annotations

import uuid

import pytest
from workflow_support import VILLAGE

LABELS = {"crop_area": "农作物总播种面积", "grain_area": "粮食作物播种面积",
          "maize_output": "玉米产量"}
RETURN = {"reason_code": "R01", "reason": "数据有误，请核实"}


def _ok(resp):
    assert resp.status_code == 200, resp.text
    return resp.json()


def _refused(resp, status: int | tuple[int, ...], field: str | None = None) -> dict:
    assert resp.status_code in ((status,) if isinstance(status, int) else status), resp.text
    body = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert not body["detail"].isascii()  # Chinese for people
    if field is not None:  # "query.kind" or, from the kernel's NUL guard, "kind"
        fields = [e["field"] for e in body["errors"]]
        assert field in fields or field.split(".", 1)[-1] in fields, body
        assert all(not e["message"].isascii() for e in body["errors"]), body
    return body


async def _events(wf, cid: str) -> list[str]:
    return [e.type for e in await wf.rt.store.read_stream(f"case-{cid}")]


# -- field notes (defect 1) -----------------------------------------------------------------
async def test_field_notes_must_name_indicators_of_the_form(wf):
    cid = (await wf.submit(field_labels=LABELS))["case_id"]
    r = await wf.post(cid, "return", "township", {"expected_version": 1, **RETURN,
                                                  "field_notes": {"crop_area": "偏大",
                                                                  "no_such": "？"}})
    body = _refused(r, 422, "field_notes.no_such")
    assert body["code"] == "invalid_field_notes" and "no_such" in body["detail"]
    assert [e["field"] for e in body["errors"]] == ["field_notes.no_such"]
    assert await _events(wf, cid) == ["workflow.case.opened"]  # nothing appended
    v = _ok(await wf.post(cid, "return", "township", {"expected_version": 1, **RETURN,
                                                      "field_notes": {"crop_area": "偏大"}}))
    assert v["field_notes"] == {"crop_area": "偏大"}


async def test_field_notes_1200_keys_or_long_notes_are_refused_before_anything_is_written(wf):
    cid = (await wf.submit(field_labels=LABELS))["case_id"]
    many = {f"k{i:04d}": "偏大" for i in range(1200)}
    body = _refused(await wf.post(cid, "return", "township", {
        "expected_version": 1, **RETURN, "field_notes": many}), 422, "field_notes")
    assert "至多200" in body["detail"]
    huge = {f"k{i:04d}": "长" * 500 for i in range(1200)}  # the ~1.8 MB return of issue 8
    _refused(await wf.post(cid, "return", "township", {
        "expected_version": 1, **RETURN, "field_notes": huge}), (413, 422))
    body = _refused(await wf.post(cid, "return", "township", {
        "expected_version": 1, **RETURN, "field_notes": {"crop_area": "长" * 201}}),
        422, "field_notes.crop_area")
    body = _refused(await wf.post(cid, "return", "township", {
        "expected_version": 1, **RETURN, "field_notes": {"bad key!": "x"}}), 422)
    assert any(e["field"].startswith("field_notes.bad key!") for e in body["errors"])
    assert await _events(wf, cid) == ["workflow.case.opened"]
    assert _ok(await wf.get(f"/cases/{cid}", "township"))["version"] == 1


async def test_the_largest_return_the_contract_allows_is_stored(wf):
    """200 notes of 200 字 on 64-character codes fit the kernel's event size limit."""
    codes = [f"{i:03d}".ljust(64, "x") for i in range(200)]
    cid = (await wf.submit(field_labels={c: "指标" * 50 for c in codes}))["case_id"]
    v = _ok(await wf.post(cid, "return", "township", {
        "expected_version": 1, "reason_code": "R99", "reason": "原" * 500,
        "field_notes": {c: "注" * 200 for c in codes}}))
    assert len(v["field_notes"]) == 200
    assert await _events(wf, cid) == ["workflow.case.opened", "workflow.case.returned"]


async def test_without_labels_any_well_formed_code_may_be_noted(wf):
    cid = (await wf.submit())["case_id"]  # an older submission: no field_labels
    v = _ok(await wf.post(cid, "return", "township", {"expected_version": 1, **RETURN,
                                                      "field_notes": {"A01.x-2": "请核实"}}))
    assert v["field_notes"] == {"A01.x-2": "请核实"}


async def test_resubmission_carries_the_new_forms_labels(wf):
    c = await wf.submit(field_labels={"crop_area": "农作物总播种面积"})
    _ok(await wf.post(c["case_id"], "return", "township", {"expected_version": 1, **RETURN}))
    await wf.submit(subject_id=c["subject_id"], revision=2, field_labels=LABELS)
    v = _ok(await wf.post(c["case_id"], "return", "township", {
        "expected_version": 3, **RETURN, "field_notes": {"maize_output": "偏低"}}))
    assert v["field_notes"] == {"maize_output": "偏低"}


async def test_free_text_is_bounded_and_has_no_nul(wf):
    cid = (await wf.submit())["case_id"]
    _refused(await wf.post(cid, "approve", "township", {"expected_version": 1,
                                                        "comment": "x" * 501}), 422, "comment")
    _refused(await wf.post(cid, "approve", "township", {"expected_version": 1,
                                                        "comment": "含\u0000空字符"}), 422, "comment")
    _refused(await wf.post(cid, "return", "township", {"expected_version": 1, "reason_code": "R01",
                                                       "reason": "原因\u0000"}), 422, "reason")
    _refused(await wf.post(cid, "approve", "township", {"expected_version": 10**20}), 422,
             "expected_version")
    assert await _events(wf, cid) == ["workflow.case.opened"]


# -- paging and query parameters (defect 3) ---------------------------------------------
@pytest.mark.parametrize("params,field", [
    ({"offset": "100000000000000000000"}, "query.offset"), ({"offset": "100001"}, "query.offset"),
    ({"offset": "-1"}, "query.offset"), ({"limit": "501"}, "query.limit"),
    ({"limit": "0"}, "query.limit"), ({"status": "x" * 5000}, "query.status"),
    ({"kind": "agri.report\u0000"}, "query.kind"), ({"kind": "a" * 65}, "query.kind"),
    ({"task_id": "not-a-uuid"}, "query.task_id"), ({"task_id": "a\u0000b"}, "query.task_id"),
    ({"cursor": "%%%not-ours"}, "cursor"), ({"cursor": "x" * 201}, "query.cursor"),
])
async def test_queue_parameters_are_bounded(wf, params, field):
    _refused(await wf.get("/queue", "township", **params), 422, field)


async def test_other_query_and_path_parameters_are_bounded(wf):
    _refused(await wf.get("/progress", "township", task_id="x"), 422, "query.task_id")
    _refused(await wf.get("/progress", "township", task_id=str(uuid.uuid4()),
                          division="4501\u0000"), 422, "division")
    _refused(await wf.get("/stats", "township", kind="\u0000"), 422, "query.kind")
    _refused(await wf.get("/stats", "township", task_id="1" * 5000), 422, "query.task_id")
    r = await wf.get("/cases/by-subject/agri.report/" + "x" * 129, "township")
    _refused(r, 422, "path.subject_id")
    r = await wf.get("/cases/by-subject/AGRI/x", "township")
    _refused(r, 422, "path.subject_kind")


async def test_offset_within_bounds_still_works(wf):
    task = uuid.uuid4()
    ids = [(await wf.submit(task_id=task))["case_id"] for _ in range(3)]
    page = _ok(await wf.get("/queue", "township", task_id=str(task), offset=1, limit=1))
    assert [i["case_id"] for i in page["items"]] == ids[1:2]
    assert _ok(await wf.get("/queue", "township", task_id=str(task), offset=100_000))["items"] == []


async def test_cursor_paging_returns_every_case_exactly_once(wf):
    task = uuid.uuid4()
    ids = [(await wf.submit(task_id=task))["case_id"] for _ in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"task_id": str(task), "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = _ok(await wf.get("/queue", "township", **params))
        seen += [i["case_id"] for i in page["items"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None:
            break
        # a case that leaves the queue meanwhile does not shift the next page
        if pages == 1:
            first = page["items"][0]
            _ok(await wf.post(first["case_id"], "approve", "township",
                              {"expected_version": first["version"]}))
    assert seen == ids and pages == 3
    _refused(await wf.get("/queue", "township", cursor=cursor or "x", offset=1), 422)


# -- the agri chain as 附件3 describes it ---------------------------------------------------
async def test_annex3_township_accepts_county_returns_meanwhile_region_confirms(wf):
    task = uuid.uuid4()
    c = await wf.submit(task_id=task, field_labels=LABELS)
    cid = c["case_id"]
    v = _ok(await wf.get(f"/cases/{cid}", "township"))
    assert (v["chain"], v["chain_profile"], v["watch_levels"]) == (
        ["township", "county", "region"], "standard", ["county", "city"])
    # county and city watch from the start (同步监测)
    for who in ("county", "city"):
        assert cid in [i["case_id"] for i in _ok(await wf.get("/queue", who, watch="true"))["items"]]
    assert cid not in [i["case_id"] for i in
                       _ok(await wf.get("/queue", "other_county", watch="true"))["items"]]
    v = _ok(await wf.post(cid, "accept", "township", {"expected_version": 1,
                                                      "comment": "审核无误，数据验收"}))
    assert (v["status"], v["level"], v["accepted_level"]) == ("in_review", "region", "township")
    assert (v["accepted_early_by"], v["confirmed_by"]) == ("township", None)
    progress = _ok(await wf.get("/progress", "township", task_id=str(task)))["total"]
    assert (progress["accepted_early"], progress["confirmed"], progress["accepted"]) == (1, 0, 0)
    # the county returns meanwhile: back to the village, acceptance undone
    _refused(await wf.post(cid, "return", "other_county", {"expected_version": 2, **RETURN}), 404)
    _refused(await wf.post(cid, "approve", "county", {"expected_version": 2}), 409)
    v = _ok(await wf.post(cid, "return", "county", {
        "expected_version": 2, "reason_code": "R03", "reason": "玉米产量与面积不符",
        "field_notes": {"maize_output": "单产偏高"}}))
    assert (v["status"], v["level"], v["accepted_level"]) == ("returned", "village", None)
    assert (v["accepted_early_by"], v["confirmed_by"]) == (None, None)
    await wf.submit(subject_id=c["subject_id"], revision=2, task_id=task, field_labels=LABELS)
    v = _ok(await wf.post(cid, "accept", "township", {"expected_version": 4}))
    v = _ok(await wf.post(cid, "accept", "region", {"expected_version": 5, "comment": "确认"}))
    assert (v["status"], v["level"], v["accepted_level"]) == ("accepted", "region", "region")
    assert (v["accepted_early_by"], v["confirmed_by"]) == ("township", "region")
    progress = _ok(await wf.get("/progress", "township", task_id=str(task)))
    assert (progress["total"]["accepted_early"], progress["total"]["confirmed"]) == (0, 1)
    assert progress["labels"]["accepted_early"].startswith("已验收")
    assert progress["labels"]["confirmed"] == "已确认"

    steps = _ok(await wf.get(f"/cases/{cid}/history", "township"))["steps"]
    assert [s["label_zh"] for s in steps] == [
        "报送", "乡镇数据验收", "县退回报送人", "重新报送", "乡镇数据验收", "自治区审核确认"]
    assert [s.get("final") for s in steps if s["action"] == "accept"] == [False, False, True]
    assert steps[2]["from_level"] == "county" and steps[2]["field_notes"] == {
        "maize_output": "单产偏高"}
    levels = {lv["level"]: lv for lv in _ok(await wf.get("/stats", "region",
                                                        task_id=str(task)))["levels"]}
    assert (levels["township"]["early_accepts"], levels["township"]["confirms"]) == (2, 0)
    assert (levels["region"]["early_accepts"], levels["region"]["confirms"]) == (0, 1)
    assert levels["county"]["returns"] == 1
    # the wire format agri reacts to: early = final false, township → region; final = region
    accepted = [e.data for e in await wf.rt.store.read_stream(f"case-{cid}")
                if e.type == "workflow.case.accepted"]
    assert [(a["final"], a["level"], a["next_level"]) for a in accepted] == [
        (False, "township", "region"), (False, "township", "region"), (True, "region", None)]


async def test_annex3_city_returns_an_early_accepted_case_to_the_township(wf):
    cid = (await wf.submit(field_labels=LABELS))["case_id"]
    _ok(await wf.post(cid, "accept", "township", {"expected_version": 1}))
    assert cid in [i["case_id"] for i in _ok(await wf.get("/queue", "city", watch="true"))["items"]]
    v = _ok(await wf.post(cid, "return", "city", {"expected_version": 2, **RETURN,
                                                  "to_level": "township"}))
    assert (v["status"], v["level"], v["sent_back"], v["accepted_level"]) == (
        "in_review", "township", True, None)
    # the township may also forward to the county (方案四（一）) instead of accepting
    v = _ok(await wf.post(cid, "approve", "township", {"expected_version": 3}))
    assert v["level"] == "county"
    v = _ok(await wf.post(cid, "approve", "county", {"expected_version": 4}))
    v = _ok(await wf.post(cid, "accept", "region", {"expected_version": 5}))
    assert v["status"] == "accepted"
    _refused(await wf.post(cid, "return", "county", {"expected_version": 6, **RETURN}), 409)
    steps = _ok(await wf.get(f"/cases/{cid}/history", "region"))["steps"]
    assert [s["label_zh"] for s in steps][1:3] == ["乡镇数据验收", "市退回乡镇"]


async def test_strict_chain_is_still_available(wf_strict):
    wf = wf_strict
    c = await wf.submit(field_labels=LABELS)
    cid = c["case_id"]
    v = _ok(await wf.get(f"/cases/{cid}", "township"))
    assert (v["chain_profile"], v["early_accept_levels"], v["watch_levels"]) == ("strict", [], [])
    body = _refused(await wf.post(cid, "accept", "township", {"expected_version": 1}), 409)
    assert body["code"] == "invalid_transition"
    body = _refused(await wf.post(cid, "return", "county", {"expected_version": 1, **RETURN}), 409)
    assert body["code"] == "not_at_your_level"
    assert _ok(await wf.get("/queue", "county", watch="true"))["items"] == []
    for who, action, version in (("township", "approve", 1), ("county", "approve", 2),
                                 ("region", "accept", 3)):
        v = _ok(await wf.post(cid, action, who, {"expected_version": version}))
    assert (v["status"], v["level"]) == ("accepted", "region")
    steps = _ok(await wf.get(f"/cases/{cid}/history", "village"))["steps"]
    assert [s["label_zh"] for s in steps] == ["报送", "乡镇审核通过，报县", "县审核通过，报自治区",
                                              "自治区审核确认"]
    assert v["division_code"] == VILLAGE
