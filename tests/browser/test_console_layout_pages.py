"""Every registry (名录库), population (人口变动调查) and ops page, with data in it, at the two sizes
people use: 1366 px (county/township desks) and 360 px (village coordinators' and grid workers'
phones). Each page is screenshotted into test-artifacts/layout/ and measured: the document never
scrolls sideways, nothing in the page lies outside the viewport unless it sits in a container
that scrolls sideways itself (a wide table in .table-wrap), and on the phone every button and
link-button is at least 40 px tall (tap target)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

pytest.importorskip("playwright.async_api")

from tests.population.pop_support import (  # noqa: E402
    AREA1,
    YEAR,
    certify,
    population_stack,
    post,
    register,
    setup_year,
)
from tests.registry.registry_support import (  # noqa: E402
    ADDR,
    HEADER,
    gb18030_csv,
    upload,
    uscc,
    wait_done,
)

from .support import PHONE, open_as  # noqa: E402

WIDE = {"width": 1366, "height": 900}
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "layout"
TAP = 40  # px: the smallest button a thumb hits reliably

# Long names and addresses on purpose: real ones are this long.
UNITS = [(61, "南宁天堂云帆跨境电子商务与供应链管理服务有限公司"), (62, "南宁天堂禾丰农资经营部有限公司"),
         (63, "广西南宁天堂晨星冷链物流与仓储配送有限责任公司")]


@pytest.fixture(scope="module")
async def world(infra):
    """The stack with a master key, and data on each page: an import with an error list, an
    ambiguous match, tasks pushed to 天堂村 and handed to a grid, a confirmation round; the
    year's areas, a certified grid worker, one household handed in, a PES sample."""
    async with population_stack(infra) as s:
        async with httpx.AsyncClient(base_url=s.gateway_url, timeout=60) as c:
            h = {u: await s.login(c, u) for u in ("qu_tongji", "qingxiu_qu", "changtang_zhen",
                                                  "tiantang_cun", "tiantang_wangge")}
            rows = [[uscc(n), name, ADDR.format(n) + "创业园区A座十二层1203室", "韦秀梅", "存续"]
                    for n, name in UNITS]
            rows += [["12345", "坏代码公司", ADDR.format(70), "李芳", "存续"],
                     [uscc(71), "", ADDR.format(71), "", "存续"]]
            batch, _ = await upload(c, h["qu_tongji"], gb18030_csv(rows), "市场监管2026-05.csv")
            assert (await wait_done(c, h["qu_tongji"], batch))["status"] == "done"
            # the first unit's name, address and legal representative under another USCC
            amb = [uscc(80), UNITS[0][1], ADDR.format(UNITS[0][0]) + "创业园区A座十二层1203室",
                   "韦秀梅", "存续"]
            data = ("\ufeff" + ",".join(HEADER) + "\n" + ",".join(amb) + "\n").encode()
            batch, _ = await upload(c, h["qu_tongji"], data, "市场监管2026-06.csv")
            assert (await wait_done(c, h["qu_tongji"], batch))["status"] == "done"
            for who, level in (("qu_tongji", "county"), ("qingxiu_qu", "township")):
                r = await c.post("/api/v1/registry/tasks/push-down", headers=h[who],
                                 json={"to_level": level})
                assert r.status_code == 200, r.text
            tasks = (await c.get("/api/v1/registry/tasks", headers=h["changtang_zhen"])).json()
            keep = tasks["items"][0]["task_id"]  # one stays with the township
            rest = [t["task_id"] for t in tasks["items"][1:]]
            r = await c.post("/api/v1/registry/tasks/push-down", headers=h["changtang_zhen"],
                             json={"to_level": "village", "task_ids": rest})
            assert r.status_code == 200, r.text
            r = await c.post("/api/v1/registry/grids", headers=h["tiantang_cun"], json={
                "village_code": "450103103201", "name": "天堂一组", "worker": "tiantang_wangge"})
            assert r.status_code == 201, r.text
            grid = r.json()["grid_id"]
            mine = (await c.get("/api/v1/registry/tasks", headers=h["tiantang_cun"])).json()["items"]
            r = await c.post("/api/v1/registry/tasks/assign", headers=h["tiantang_cun"], json={
                "grid_id": grid, "task_ids": [t["task_id"] for t in mine]})
            assert r.status_code == 200, r.text
            r = await c.post("/api/v1/registry/rounds", headers=h["qingxiu_qu"], json={
                "period": "2026-Q2", "scope_division": "450103000000",
                "title": "2026年二季度基本单位名录定期确认"})
            assert r.status_code == 201, r.text
            round_id = r.json()["round_id"]

            areas = await setup_year(c, h["qu_tongji"])
            await certify(c, h["tiantang_wangge"])
            r = await post(c, f"/api/v1/population/areas/{areas[AREA1]}/assignments",
                           h["tiantang_cun"], {"username": "tiantang_wangge"})
            assert r.status_code in (200, 201), r.text
            hh = await register(c, h["tiantang_wangge"], areas[AREA1])
            r = await post(c, "/api/v1/population/pes/samples", h["qu_tongji"],
                           {"survey_year": YEAR, "size": 2, "seed": "layout"})
            assert r.status_code in (200, 201), r.text
            sample = r.json()["sample_id"]
        s.ids = {"task": mine[0]["task_id"], "held": keep, "round": round_id,
                 "area": areas[AREA1], "household": hh["household_id"], "sample": sample}
        yield s


# (user, hash, what must be on the page once it has loaded); {name} from world.ids
PAGES = [
    ("qu_tongji", "#/registry?tab=imports", "#imp-table tbody tr"),
    ("qingxiu_qu", "#/registry?tab=reviews", "table.side-by-side"),
    ("qingxiu_qu", "#/registry?tab=tasks", "#task-table"),
    ("changtang_zhen", "#/registry?tab=tasks", "#task-table tbody tr"),
    ("tiantang_cun", "#/registry?tab=tasks", "#task-table tbody tr"),
    ("tiantang_wangge", "#/registry?tab=tasks", "#task-table tbody tr"),
    ("tiantang_wangge", "#/registry?tab=survey&task={task}", "#unit-form"),
    ("qingxiu_qu", "#/registry?tab=rounds&round={round}", "main table, main .list"),
    ("tiantang_cun", "#/registry?tab=rounds&round={round}", "main table, main .list"),
    ("qingxiu_qu", "#/registry?tab=units", "main table"),
    ("tiantang_cun", "#/registry?tab=units", "main table"),
    ("qu_tongji", "#/population", "#pop-areas"),
    ("tiantang_cun", "#/population/area/{area}", "main h1"),
    ("tiantang_wangge", "#/population/area/{area}", "main h1"),
    ("tiantang_wangge", "#/population/register/{area}", "#pop-hh [name=household_no]"),
    ("tiantang_cun", "#/population/household/{household}", "main h1"),
    ("tiantang_cun", "#/population/ledger", "main h1"),
    ("tiantang_wangge", "#/population/exam", "main h1"),
    ("qu_tongji", "#/population/pes?sample={sample}", "#pop-pes"),
    ("qu_tongji", "#/population/audit", "#pop-audit"),
    ("yunwei", "#/ops", "main h1"),
]

# What sticks out, in the page's own coordinates: elements whose box passes the viewport's
# right (or left) edge with no ancestor that scrolls sideways; buttons too small to tap.
MEASURE = """(tap) => {
  const vw = document.documentElement.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\\s+/).join(".") : "") +
    (e.textContent ? " «" + e.textContent.trim().slice(0, 24) + "»" : "");
  const scrolls = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === "auto" || o === "scroll") && p.getBoundingClientRect().right <= vw + 1) return true; }
    return false; };
  const bad = new Set();
  for (const e of document.querySelectorAll("#top *, #main *")) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(e).visibility === "hidden") continue;
    if ((r.right > vw + 1 || r.left < -1) && !scrolls(e)) bad.add(e);
  }
  // one line per outermost offender: its children stick out with it
  const outer = [...bad].filter((e) => !bad.has(e.parentElement)).map((e) => {
    const r = e.getBoundingClientRect(); return `${name(e)} ${Math.round(r.left)}..${Math.round(r.right)}`; });
  const small = [];
  const controls = "#main button, #main .btn, #main input, #main select, dialog button";
  if (tap) for (const e of document.querySelectorAll(controls)) {
    const r = e.getBoundingClientRect();
    if (!r.width || e.type === "hidden" || e.type === "checkbox" || e.type === "radio") continue;
    if (e.matches("button.link")) continue;  // text links inside sentences, not buttons
    if (r.height < tap) small.push(`${name(e)} ${Math.round(r.height)}px`);
  }
  // each table's last column (its actions), where it is
  const tables = [...document.querySelectorAll("#main table")].map((t) => {
    const row = t.querySelector("tbody tr");
    const last = row && row.lastElementChild;
    const r = last ? last.getBoundingClientRect() : null;
    return { table: name(t).slice(0, 40), lastRight: r && Math.round(r.right), inScroller: last ? scrolls(last) : null,
             mayScroll: t.matches(".side-by-side, .ops-table") };
  });
  return { vw, docWidth: document.documentElement.scrollWidth, bodyWidth: document.body.scrollWidth,
           out: outer.slice(0, 30), small: small.slice(0, 30), tables };
}"""


async def _settle(page, ready: str) -> bool:
    """False when the page never showed what it should (that is listed as a problem too)."""
    try:
        await page.wait_for_selector(ready, state="attached", timeout=15000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError; measured anyway
        return False
    for _ in range(40):  # lists fill in after their first fetch
        if "正在加载" not in await page.inner_text("#main"):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(0.4)
    return True


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1366", "360"])
async def test_pages_fit_the_screen(world, browser, size):
    """One context per user and size; every page measured, all problems listed at once."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, dict] = {}
    contexts: dict[str, tuple] = {}
    try:
        for i, (user, path, ready) in enumerate(PAGES):
            if user not in contexts:
                contexts[user] = await open_as(browser, world.gateway_url, user, viewport=size)
            _, page = contexts[user]
            await page.goto("/" + path.format(**world.ids))
            shown = await _settle(page, ready)
            tag = f"{i:02d}-{user}-{path.strip('#/').split('&')[0].replace('/', '_').replace('?', '_')}"
            await page.screenshot(path=str(SHOTS / f"{tag}-{size['width']}.png"), full_page=True)
            m = await page.evaluate(MEASURE, TAP if size is PHONE else 0)
            bad = {k: m[k] for k in ("out", "small") if m[k]}
            # the last column (a task's status and 实地调查, a unit's 历史) on screen without
            # scrolling: a sideways-scrolling box only for the side-by-side comparison and the
            # ops page's number tables (their first column stays put)
            hidden = [t for t in m["tables"] if t["lastRight"] and t["lastRight"] > m["vw"] + 1
                      and not (t["mayScroll"] and t["inScroller"])]
            if hidden:
                bad["lastColumnOffScreen"] = hidden
            if not shown:
                bad["missing"] = {ready: (await page.inner_text("#main"))[:300]}
            if m["docWidth"] > m["vw"]:
                bad["docWidth"] = m["docWidth"]
            if bad:
                problems[tag] = {**bad, "tables": m["tables"]}
            assert not page.errors, (tag, page.errors)
    finally:
        for ctx, _ in contexts.values():
            await ctx.close()
    (SHOTS / f"problems-{size['width']}.json").write_text(
        json.dumps(problems, ensure_ascii=False, indent=1), encoding="utf-8")
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)
