"""A steady load through the gateway, as the people would make it, every command recorded.

The region publishes a task to 长塘镇 now and then; six village coordinators fill and submit
their reports (and correct returned ones); the township approves (returns one in five, once),
the county approves, the region accepts. Each command carries a fresh Idempotency-Key and is
retried with the same key while its outcome is unknown (lost connection, 5xx, 'in progress'),
for at most `resolve_s`; what is still unknown then stays unknown in the history.
"""
from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gx_contracts.roles import DEMO_PASSWORD

from .history import History

TOWNSHIP_CODE = "450103103000"  # 长塘镇
VILLAGES = ["tiantang_cun", "dingxi_cun", "dongjiang_cun", "fengmu_cun", "nazeng_cun",
            "changda_cun"]
EXTRA = {"dongjiang_cun": "450103103203", "fengmu_cun": "450103103204",
         "nazeng_cun": "450103103205", "changda_cun": "450103103206"}
REVIEWERS = {"changtang_zhen": "township", "qingxiu_qu": "county", "qu_tongji": "region"}
ACTION = {"township": "approve", "county": "approve", "region": "accept"}


def crop_values(rng: random.Random) -> dict[str, float | int]:
    """Early-season figures that pass the form's rules (integers: sums are exact)."""
    early, maize, sugar, veg = (rng.randint(300, 1500) for _ in range(4))
    fruit = rng.randint(100, 600)
    return {"crop_area": early + maize + sugar + veg, "grain_area": early + maize,
            "early_rice_area": early, "early_rice_output": early * 400,
            "maize_area": maize, "maize_output": maize * 310, "sugarcane_area": sugar,
            "sugarcane_output": sugar * 5, "vegetables_area": veg, "vegetables_output": veg * 2,
            "fruit_area": fruit, "fruit_output": fruit}


def _unknown(r: httpx.Response) -> bool:
    if r.status_code >= 500 or r.status_code == 429:
        return True
    if r.status_code == 409:
        with contextlib.suppress(ValueError, AttributeError):
            return r.json().get("code") == "idempotency_in_progress"
    return False


@dataclass
class Load:
    gateway_url: str
    history: History
    resolve_s: float = 20.0
    login_s: float = 60.0
    publish_every_s: float = 5.0
    pause_s: float = 0.2
    seed: int = 14

    def __post_init__(self) -> None:
        self.stop = asyncio.Event()
        self.rng = random.Random(self.seed)
        self.tasks: list[str] = []
        self.reads_failed = 0
        self._tokens: dict[str, str] = {}
        self.first_queued: dict[str, float] = {}  # case id -> when a reviewer first saw it

    # -- plumbing --------------------------------------------------------------------------
    async def _auth(self, client: httpx.AsyncClient, who: str) -> dict[str, str]:
        deadline, last = time.monotonic() + self.login_s, ""
        while who not in self._tokens:
            try:
                r = await client.post("/api/v1/auth/login",
                                      json={"username": who, "password": DEMO_PASSWORD})
                if r.status_code == 200:
                    self._tokens[who] = r.json()["access_token"]
                    break
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(f"{who} could not log in for {self.login_s:.0f}s: {last}")
            await asyncio.sleep(0.5)
        return {"Authorization": f"Bearer {self._tokens[who]}"}

    def acknowledged(self, since: float, service: str | None = None,
                     new_cases: bool = False) -> int:
        """Commands acknowledged since `since` (time.monotonic()), of `service` if given;
        `new_cases`: only review actions on cases first queued since then — reports submitted
        in agri that reached the workflow over the broker."""
        return sum(op.outcome == "ok" and (op.completed_at or 0) >= since
                   and service in (None, op.service)
                   and (not new_cases or self.first_queued.get(op.subject, 0.0) >= since)
                   for op in self.history.ops)

    async def read(self, client: httpx.AsyncClient, who: str, path: str,
                   **params: Any) -> Any:
        try:
            r = await client.get(path, headers=await self._auth(client, who), params=params)
        except httpx.HTTPError:
            self.reads_failed += 1
            return None
        if r.status_code != 200:
            self.reads_failed += 1
            return None
        return r.json()

    async def command(self, client: httpx.AsyncClient, who: str, kind: str, service: str,
                      subject: str, method: str, path: str, body: dict[str, Any]) -> Any:
        """One recorded command; its answer's body when acknowledged, else None."""
        op = self.history.invoke(who, kind, service, uuid.uuid4().hex, subject)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.resolve_s
        detail = ""
        while True:
            op.attempts += 1
            headers = {**await self._auth(client, who), "Idempotency-Key": op.key}
            try:
                r = await client.request(method, path, headers=headers, json=body)
            except httpx.HTTPError as exc:
                detail = f"{type(exc).__name__}: {exc}"
            else:
                if r.status_code < 300:
                    self.history.complete(op, "ok", r.status_code)
                    return r.json()
                if not _unknown(r):
                    self.history.complete(op, "failed", r.status_code, r.text)
                    return None
                detail = f"{r.status_code} {r.text[:200]}"
            if loop.time() > deadline:
                self.history.complete(op, "unknown", None, detail)
                return None
            await asyncio.sleep(0.5)

    # -- the people ------------------------------------------------------------------------
    async def prepare(self, client: httpx.AsyncClient) -> None:
        """The extra coordinators (region creates them; 409 = there already)."""
        auth = await self._auth(client, "qu_tongji")
        for user, division in EXTRA.items():
            r = await client.post("/api/v1/admin/users", headers=auth, json={
                "username": user, "name_zh": f"协管员{user}", "role": "village_coordinator",
                "division": division, "password": DEMO_PASSWORD})
            assert r.status_code in (201, 409), r.text

    async def publisher(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            done = await self.command(client, "qu_tongji", "publish", "agri", "task", "POST",
                                      "/api/v1/agri/tasks", {
                                          "form_code": "A301", "period": "2026-EARLY",
                                          "title": f"2026年早稻 故障测试 {len(self.tasks) + 1}",
                                          "scope_division": TOWNSHIP_CODE,
                                          "deadline": "2026-12-31T00:00:00+08:00"})
            if done:
                self.tasks.append(done["task_id"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.publish_every_s)

    async def village(self, client: httpx.AsyncClient, who: str) -> None:
        while not self.stop.is_set():
            listing = await self.read(client, who, "/api/v1/agri/tasks")
            for item in (listing or {}).get("items", []):
                if self.stop.is_set():
                    return
                if item["status"] in ("not_started", "draft", "returned"):
                    await self._fill(client, who, item["report_id"])
            await asyncio.sleep(self.pause_s)

    async def _fill(self, client: httpx.AsyncClient, who: str, rid: str) -> None:
        report = await self.read(client, who, f"/api/v1/agri/reports/{rid}")
        if not report or report.get("status") not in ("not_started", "draft", "returned"):
            return
        saved = await self.command(client, who, "draft", "agri", rid, "PUT",
                                   f"/api/v1/agri/reports/{rid}/draft", {
                                       "values": crop_values(self.rng), "explanations": {},
                                       "expected_version": report["version"]})
        if saved:
            await self.command(client, who, "submit", "agri", rid, "POST",
                               f"/api/v1/agri/reports/{rid}/submit",
                               {"expected_version": saved["version"]})

    async def reviewer(self, client: httpx.AsyncClient, who: str) -> None:
        level = REVIEWERS[who]
        while not self.stop.is_set():
            queue = await self.read(client, who, "/api/v1/workflow/queue", status="in_review")
            for case in (queue or {}).get("items", []):
                self.first_queued.setdefault(case["case_id"], time.monotonic())
                if self.stop.is_set():
                    return
                if case.get("level") != level:
                    continue
                action, body = ACTION[level], {"expected_version": case["version"]}
                if level == "township" and not case.get("returns") and self.rng.random() < 0.2:
                    action = "return"
                    body |= {"reason_code": "R03", "reason": "故障测试：请核实后重报"}
                await self.command(client, who, action, "workflow", case["case_id"], "POST",
                                   f"/api/v1/workflow/cases/{case['case_id']}/{action}", body)
            await asyncio.sleep(self.pause_s)

    async def run(self) -> None:
        """Until `stop` is set; then every worker finishes its command in hand."""
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=10.0,
                                     limits=limits) as client:
            await self.prepare(client)
            async with asyncio.TaskGroup() as workers:  # one fails: all stop, the error shows
                workers.create_task(self.publisher(client))
                for who in VILLAGES:
                    workers.create_task(self.village(client, who))
                for who in REVIEWERS:
                    workers.create_task(self.reviewer(client, who))
