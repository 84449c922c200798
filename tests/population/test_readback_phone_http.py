"""回读确认 from the phone, through the gateway: the confirmation time the phone recorded (offline,
long before the hand-in) and the SHA-256 of exactly what was read back are stored with the
server's own receive time; a digest of other content, a time ahead of the server's clock or
before the survey's reference time, or one without the other, is refused in Chinese naming
the field. The digest is kept keyed (HMAC under the service's key), never in plain."""
import datetime as dt
import hashlib
import hmac

import httpx
import pytest
from pop_support import AREA1, GOOD_PERSONS, MASTER_KEY, certify, household, post, setup_year

from gx_population.domain import forms

pytestmark = pytest.mark.integration
P = "/api/v1/population"


def phone_digest(persons: list[dict], no: str = "001") -> str:
    """What the phone computes (population_rules.js readbackText with mask, then SHA-256)."""
    text = forms.readback(forms.load_form(), household(no, len(persons)), persons,
                          mask_id_number=True)
    return hashlib.sha256(text.encode()).hexdigest()


async def test_the_phone_confirmation_time_and_digest_are_checked_and_kept(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        region = await pop.login(c, "qu_tongji")
        coord = await pop.login(c, "tiantang_cun")
        grid = await pop.login(c, "tiantang_wangge")
        a1 = (await setup_year(c, region))[AREA1]
        await certify(c, grid)
        assert (await post(c, f"{P}/areas/{a1}/assignments", coord,
                           {"username": "tiantang_wangge"})).status_code == 200
        r = await post(c, f"{P}/areas/{a1}/households", grid, {
            "household": household("001", 2), "persons": GOOD_PERSONS, "expected_version": 0})
        assert r.status_code == 201, r.text
        hid, v = r.json()["household_id"], r.json()["version"]
        url = f"{P}/households/{hid}/readback"
        now = dt.datetime.now(dt.UTC)
        good = phone_digest(GOOD_PERSONS)
        base = {"expected_version": v, "respondent": "head", "confirmed": True}

        async def refused(body, code, field):
            r = await post(c, url, grid, {**base, **body})
            assert r.status_code == 422, r.text
            problem = r.json()
            assert problem["code"] == code and problem["errors"][0]["field"] == field, problem
            assert field in problem["detail"] and "回读" in problem["detail"]  # Chinese, named

        # a digest of something else (the child's education read as another level)
        other = [GOOD_PERSONS[0], {**GOOD_PERSONS[1], "education": "4"}]
        await refused({"confirmed_at": now.isoformat(), "readback_sha256": phone_digest(other)},
                      "readback_digest_mismatch", "readback_sha256")
        await refused({"confirmed_at": (now + dt.timedelta(hours=1)).isoformat(),
                       "readback_sha256": good}, "readback_time_in_future", "confirmed_at")
        await refused({"confirmed_at": "2026-10-31T23:59:00+08:00", "readback_sha256": good},
                      "readback_time_before_reference", "confirmed_at")
        await refused({"confirmed_at": now.isoformat()}, "readback_incomplete", "readback_sha256")
        r = await post(c, url, grid, {**base, "readback_sha256": "A" * 64})
        assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("readback_sha256")

        # confirmed on the phone three hours ago, offline; handed in now
        on_phone = (now - dt.timedelta(hours=3)).replace(microsecond=0)
        r = await post(c, url, grid, {**base, "confirmed_at": on_phone.isoformat(),
                                      "readback_sha256": good})
        assert r.status_code == 200, r.text
        rec = r.json()["read_back"]
        assert dt.datetime.fromisoformat(rec["confirmed_at"]) == on_phone
        received = dt.datetime.fromisoformat(rec["received_at"])
        assert abs((received - now).total_seconds()) < 60
        # kept as a keyed digest: checkable by the service, no oracle for guesses
        key = hashlib.sha256(b"gx-population/readback/" + MASTER_KEY.encode()).digest()
        keyed = hmac.new(key, good.encode(), hashlib.sha256).hexdigest()
        assert rec["readback_digest"] == keyed and good not in r.text
        h = (await c.get(f"{P}/households/{hid}", headers=grid)).json()
        assert dt.datetime.fromisoformat(h["readback"]["confirmed_at"]) == on_phone
        assert h["readback"]["readback_digest"] == keyed and h["readback"]["received_at"]
        assert h["read_back_current"] is True
        r = await post(c, f"{P}/households/{hid}/hand-in", grid,
                       {"expected_version": r.json()["version"]})
        assert r.status_code == 200, r.text


def test_bounds_of_the_phone_time():
    from gx_population.domain.readback import ReadBackRefused, check_time, reference_time

    form = forms.load_form()
    start = reference_time(form)
    assert start == dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    check_time(start, now, 300, form)  # the reference time itself is inside
    check_time(now + dt.timedelta(seconds=300), now, 300, form)  # the skew allowed
    for at, code in ((now + dt.timedelta(seconds=301), "readback_time_in_future"),
                     (start - dt.timedelta(seconds=1), "readback_time_before_reference")):
        with pytest.raises(ReadBackRefused) as e:
            check_time(at, now, 300, form)
        assert e.value.code == code and e.value.field == "confirmed_at"
