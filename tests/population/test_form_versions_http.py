"""A household's own 表式 by its form_version (the console labels the persons' codes with it)."""
import httpx


async def test_a_published_form_version_and_an_unknown_one(pop):
    async with httpx.AsyncClient(base_url=pop.gateway_url, timeout=30) as c:
        coord = await pop.login(c, "tiantang_cun")
        r = await c.get("/api/v1/population/forms/2026.1", headers=coord)
        assert r.status_code == 200 and r.json()["codes"]["ethnicity"]["08"] == "壮族"
        current = (await c.get("/api/v1/population/forms/current", headers=coord)).json()
        assert current["version"] >= "2026.1"
        for bad in ("1999.1", "2026.1.json", "change_2026.1"):
            r = await c.get(f"/api/v1/population/forms/{bad}", headers=coord)
            assert r.status_code == 404 and r.json()["code"] == "not_found", r.text
            assert "表式版本不存在" in r.json()["detail"]
