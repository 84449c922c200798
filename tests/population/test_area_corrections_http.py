"""Sample-area verification through the gateway: a correction climbs the chain (village →
township → county, workflow's chain config) and changes the area only when accepted; a return
and a resubmission; bad input and the wrong people refused in Chinese. Then the area map: an
uploaded PNG/JPEG, its type told from the bytes, stored with its hash, served back."""
import hashlib
import struct
import zlib

import httpx
import pytest
from pop_support import AREA1, AREA2, key, post, setup_year

from tests.harness import wait_for

pytestmark = pytest.mark.integration
P = "/api/v1/population"


async def _act(c, auth, case_id, action, **body):
    case = (await c.get(f"/api/v1/workflow/cases/{case_id}", headers=auth)).json()
    r = await post(c, f"/api/v1/workflow/cases/{case_id}/{action}", auth,
                   {"expected_version": case["version"], **body})
    assert r.status_code == 200, r.text
    return r.json()


async def _area(c, auth, area_id):
    items = (await c.get(f"{P}/areas", headers=auth)).json()["items"]
    return next(a for a in items if a["area_id"] == area_id)


async def _correction(c, auth, area_id, status):
    async def check():
        a = await _area(c, auth, area_id)
        got = (a.get("correction") or {}).get("status")
        return a if got == status else None
    return await wait_for(check, 30)


async def _in_queue(c, auth, subject_id):
    async def check():
        q = (await c.get("/api/v1/workflow/queue", headers=auth)).json()
        return next((i for i in q.get("items", []) if i["subject_id"] == subject_id), None)
    return await wait_for(check, 30)


def png(width=3, height=2) -> bytes:
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg(width=40, height=30) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof \
        + b"\xff\xd9"


async def test_a_correction_climbs_the_chain_and_changes_the_area_only_when_accepted(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        other = await pop.login(c, "dingxi_cun")
        grid = await pop.login(c, "tiantang_wangge")
        town = await pop.login(c, "changtang_zhen")
        county = await pop.login(c, "qingxiu_qu")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        base = {"boundary": "东至村道，西至河边", "buildings": ["1号楼", "2号楼"],
                "name": "天堂村第一调查小区", "urban_rural_code": "220"}
        # a verification that keeps what was sent down is recorded at once
        r = await post(c, f"{P}/areas/{a1}/verification", coord, base)
        assert r.status_code == 200 and r.json()["corrected"] is False, r.text
        a = await _area(c, coord, a1)
        assert a["verified"] and a["buildings"] == ["1号楼", "2号楼"] and a["correction"] is None

        # a correction (name, buildings, urban–rural attribute) is a submission
        fix = {**base, "name": "天堂村第一小区（更正）", "buildings": ["1号楼", "2号楼", "3号楼"],
               "urban_rural_code": "210", "area_code": AREA1, "expected_version": a["version"]}
        r = await post(c, f"{P}/areas/{a1}/corrections", coord, fix)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["status"] == "submitted"
        assert set(body["correction"]["changed"]) == {"name", "buildings", "urban_rural_code"}
        cid = body["correction"]["correction_id"]
        a = await _area(c, coord, a1)  # the verified data has not changed
        assert a["current"]["name"] == "天堂村第一调查小区" and len(a["buildings"]) == 2
        # while it is under review, no second correction
        r = await post(c, f"{P}/areas/{a1}/corrections", coord,
                       {**fix, "expected_version": body["version"]})
        assert r.status_code == 409 and r.json()["code"] == "area_correction_under_review"
        assert "审批" in r.json()["detail"]

        # the township returns it (with a note on the name) ...
        case = await _in_queue(c, town, cid)
        await _act(c, town, case["case_id"], "return", reason_code="R01",
                   reason="名称请与村委会公章一致", field_notes={"name": "去掉括号"})
        a = await _correction(c, coord, a1, "returned")
        assert a["correction"]["return_reason"] == "名称请与村委会公章一致"
        assert a["correction"]["field_notes"] == {"name": "去掉括号"}
        assert a["current"]["name"] == "天堂村第一调查小区"
        # ... the coordinator resubmits (revision 2) ...
        fix2 = {**fix, "name": "天堂村第一小区", "expected_version": a["version"]}
        r = await post(c, f"{P}/areas/{a1}/corrections", coord, fix2)
        assert r.status_code == 202, r.text
        assert r.json()["correction"]["correction_id"] == cid
        assert r.json()["correction"]["state"]["revision"] == 2
        # ... the township approves, the county (the chain's final level) accepts
        await _correction(c, coord, a1, "submitted")

        async def at(level):
            a = await _area(c, coord, a1)
            return a if (a["correction"]["state"] or {}).get("review_level") == level else None
        await wait_for(lambda: at("township"), 30)

        async def resubmitted():
            got = (await c.get(f"/api/v1/workflow/cases/{case['case_id']}", headers=town)).json()
            return got if got.get("revision") == 2 else None
        await wait_for(resubmitted, 30)
        await _act(c, town, case["case_id"], "approve", comment="核实无误")
        await wait_for(lambda: at("county"), 30)
        a = await _area(c, coord, a1)
        assert a["current"]["name"] == "天堂村第一调查小区"  # still not accepted
        await _act(c, county, case["case_id"], "accept", comment="同意更正")
        a = await _correction(c, coord, a1, "confirmed")
        assert a["current"] == {"boundary": base["boundary"],
                                "buildings": ["1号楼", "2号楼", "3号楼"],
                                "name": "天堂村第一小区", "area_code": AREA1,
                                "urban_rural_code": "210"}
        assert a["corrected"] is True
        types = [h["type"] for h in a["correction"]["history"]]
        assert types[0] == "population.area_correction.submitted"
        assert "population.area_correction.returned" in types
        assert types[-1] == "population.area_correction.accepted"

        # a later correction is a new submission (a new correction id)
        r = await post(c, f"{P}/areas/{a1}/corrections", coord,
                       {**fix2, "boundary": "东至村道，西至新河", "expected_version": a["version"]})
        assert r.status_code == 202 and r.json()["correction"]["correction_id"] != cid, r.text
        assert r.json()["correction"]["changed"] == ["boundary"]

        # bad input and the wrong people, in Chinese, naming the field; the area's version read
        # once the new correction's case is open (the workflow's answer moves it on, and a stale
        # version would be refused as a conflict before the input is looked at)
        await wait_for(lambda: at("township"), 30)
        v = (await _area(c, coord, a1))["version"]
        url = f"{P}/areas/{a1}/corrections"
        cases = [({**fix2, "expected_version": v, "area_code": "450103103299001"}, 422,
                  "area_code"),
                 ({**fix2, "expected_version": v, "area_code": "45x"}, 422, "area_code"),
                 ({**fix2, "expected_version": v, "extra": 1}, 422, "extra"),
                 ({**fix2, "expected_version": v, "buildings": ["x" * 101]}, 422, "buildings.0"),
                 ({**fix2, "expected_version": v, "urban_rural_code": "999"}, 422,
                  "urban_rural_code"),
                 ({k: x for k, x in fix2.items() if k != "boundary"}, 422, "boundary")]
        for payload, status, field in cases:
            r = await post(c, url, coord, payload)
            assert r.status_code == status, (field, r.text)
            assert any(e["field"].startswith(field) for e in r.json()["errors"]), (field, r.text)
        r = await post(c, url, coord, {**fix2, "expected_version": v - 1})
        assert r.status_code == 409
        assert (await post(c, url, grid, {**fix2, "expected_version": v})).status_code == 403
        assert (await post(c, url, town, {**fix2, "expected_version": v})).status_code == 403
        assert (await post(c, url, other, {**fix2, "expected_version": v})).status_code == 404
        # a code already used by another area of the year
        a2 = areas[AREA2]
        r = await post(c, f"{P}/areas/{a2}/corrections", other, {
            **base, "name": "定西村第一调查小区", "area_code": AREA1, "expected_version":
            (await _area(c, other, a2))["version"]})
        assert r.status_code == 422 and r.json()["code"] in ("area_code_outside_village",
                                                               "duplicate_area"), r.text
        # nothing changed
        a = await _area(c, other, a2)
        r = await post(c, f"{P}/areas/{a2}/verification", other, {
            **base, "name": "定西村第一调查小区"})
        assert r.status_code == 200
        a = await _area(c, other, a2)
        r = await post(c, f"{P}/areas/{a2}/corrections", other, {
            **base, "name": "定西村第一调查小区", "area_code": AREA2,
            "expected_version": a["version"]})
        assert r.status_code == 422 and r.json()["code"] == "nothing_changed", r.text


async def test_area_map_upload_sniffed_stored_with_its_hash_served_back(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        other = await pop.login(c, "dingxi_cun")
        grid = await pop.login(c, "tiantang_wangge")
        areas = await setup_year(c, region)
        a1 = areas[AREA1]
        url = f"{P}/areas/{a1}/map"

        async def put(auth, data, ctype):
            return await c.put(url, headers={**auth, **key(), "Content-Type": ctype},
                               content=data)
        image = png()
        r = await put(coord, image, "image/png")
        assert r.status_code == 201, r.text
        got = r.json()
        assert got["sha256"] == hashlib.sha256(image).hexdigest()
        assert (got["width"], got["height"], got["size"]) == (3, 2, len(image))
        for auth in (coord, grid, region):
            r = await c.get(url, headers=auth)
            assert r.status_code == 200 and r.content == image
            assert r.headers["content-type"] == "image/png"
            assert r.headers["etag"] == f'"{got["sha256"]}"'
        a = await _area(c, coord, a1)
        assert a["map"]["sha256"] == got["sha256"] and a["map"]["content_type"] == "image/png"
        # a JPEG replaces it
        photo = jpeg()
        r = await put(coord, photo, "image/jpeg")
        assert r.status_code == 201 and (r.json()["width"], r.json()["height"]) == (40, 30)
        r = await c.get(url, headers=coord)
        assert r.content == photo and r.headers["content-type"] == "image/jpeg"

        bad = [(png(), "image/jpeg", 415, "map_type_mismatch"),
               (b"GIF89a" + b"\x00" * 20, "image/gif", 415, "unsupported_map_image"),
               (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", 415,
                "unsupported_map_image"),
               (image[:-6], "image/png", 422, "bad_map_image"),
               (image[:30] + b"\x00" + image[31:], "image/png", 422, "bad_map_image"),
               (jpeg()[:-2], "image/jpeg", 422, "bad_map_image"),
               (b"", "image/png", 422, "empty_map_image"),
               (b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_010_000, "image/png", 413,
                "map_image_too_large")]
        for data, ctype, status, code in bad:
            r = await put(coord, data, ctype)
            assert r.status_code == status and r.json()["code"] == code, (code, r.text[:300])
            assert r.json()["detail"] and r.json()["errors"][0]["field"] == "body"
        r = await put(coord, b"\x89PNG" + b"\x00" * (2 * 1024 * 1024), "image/png")
        assert r.status_code == 413  # the edge's body limit
        assert (await put(grid, image, "image/png")).status_code == 403
        assert (await put(other, image, "image/png")).status_code == 404
        assert (await c.get(url, headers=other)).status_code == 404
        r = await c.get(f"{P}/areas/{areas[AREA2]}/map", headers=other)
        assert r.status_code == 404 and "小区图" in r.json()["detail"]
        # still the JPEG: nothing half-written by the refused uploads
        r = await c.get(url, headers=coord)
        assert r.content == photo
