"""Helpers of the workflow suite (a unique module name: test dirs have no __init__.py)."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gx_contracts.events.base import Submission
from gx_kernel.identity import Principal, sign_principal
from gx_kernel.service import ServiceRuntime
from gx_kernel.uow import AfterCommit

from gx_workflow.application.cases import intake_submission, now_utc
from gx_workflow.settings import WorkflowSettings

VILLAGE = "450103103201"          # 天堂村 (长塘镇, 青秀区, 南宁市)
OTHER_VILLAGE = "450103100201"    # a village of 刘圩镇, same county
USERS = {
    "village": ("village_coordinator", VILLAGE),
    "township": ("township_statistician", "450103103000"),
    "other_township": ("township_statistician", "450103100000"),
    "county": ("county_statistician", "450103000000"),
    "other_county": ("county_statistician", "450102000000"),
    "city": ("city_statistician", "450100000000"),
    "region": ("region_statistician", "450000000000"),
}


@dataclass
class Workflow:
    settings: WorkflowSettings
    client: httpx.AsyncClient
    rt: ServiceRuntime

    def headers(self, who: str, key: str | None = None, user: str | None = None) -> dict:
        role, scope = USERS[who]
        p = Principal(user_id=user or f"user-{who}", username=f"{who}_name", role=role,
                      scope=scope, device_id=f"dev-{who}")
        h = {"X-Gx-Principal": sign_principal(p, self.settings.internal_secret)}
        if key:
            h["Idempotency-Key"] = key
        return h

    async def submit(self, kind: str = "agri.report", division: str = VILLAGE,
                     subject_id: str | None = None, revision: int = 1,
                     task_id: uuid.UUID | None = None,
                     field_labels: dict[str, str] | None = None) -> dict[str, Any]:
        """Open (or resubmit) a case the way the intake consumer does, without the broker."""
        sub = Submission(subject_kind=kind, subject_id=subject_id or str(uuid.uuid4()),
                         division_code=division, task_id=task_id, revision=revision,
                         title="2026年一季度农业生产情况", field_labels=field_labels or {})
        meta = {"actor": "user-village", "role": "village_coordinator", "division": division,
                "device": "dev-village"}
        hooks = AfterCommit()  # as the consumer: the relay is woken after the commit
        async with self.rt.pool.acquire() as conn:
            async with conn.transaction():
                case = await intake_submission(self.rt.store, conn, sub, meta, now_utc(),
                                               self.settings.chain_profile, after_commit=hooks)
        hooks.run()
        return {"case_id": str(case.case_id), "subject_id": sub.subject_id,
                "version": case.version}

    async def post(self, case_id: str, action: str, who: str, body: dict, key: str | None = None
                   ) -> httpx.Response:
        return await self.client.post(f"/api/v1/workflow/cases/{case_id}/{action}", json=body,
                                      headers=self.headers(who, key))

    async def get(self, path: str, who: str, **params) -> httpx.Response:
        return await self.client.get(f"/api/v1/workflow{path}", headers=self.headers(who),
                                     params=params)


def make_settings(infra, **extra) -> WorkflowSettings:
    tag = f"t{uuid.uuid4().hex[:8]}"
    return WorkflowSettings(GX_DB_SCHEMA=f"{tag}_workflow", GX_TOPIC_PREFIX=f"{tag}.",
                            DATABASE_URL=infra.database_url,
                            KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
                            GX_TOPIC_PARTITIONS=1, GX_CONSUMER_MAX_ATTEMPTS=2, **extra)




class SseReader:
    """Server-sent events of an httpx streaming response, read by a background task (so a
    timed-out wait never cancels the underlying line iterator): (event, data) pairs."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.comments: list[str] = []
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, event) as received
        self._events: asyncio.Queue = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        event, data = "message", []
        try:
            async for line in self.response.aiter_lines():
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    self.arrivals.append((time.monotonic(), event))
                    await self._events.put((event, json.loads("\n".join(data))))
                    event, data = "message", []
                elif line == "":
                    event = "message"
        finally:
            await self._events.put(("eof", None))

    def close(self) -> None:
        self._task.cancel()

    async def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        event, data = await asyncio.wait_for(self._events.get(), timeout)
        if event == "eof":
            raise EOFError("stream ended")
        return event, data

    async def until(self, predicate, timeout: float = 5.0) -> list[tuple[str, Any]]:
        """Events read until one satisfies `predicate(event, data)` (that one last)."""
        seen: list[tuple[str, Any]] = []
        end = asyncio.get_running_loop().time() + timeout
        while True:
            seen.append(await self.next(max(end - asyncio.get_running_loop().time(), 0.001)))
            if predicate(*seen[-1]):
                return seen
