"""Helpers of the agri suite: people, signed headers, workflow events on the topic."""
from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from gx_kernel.eventstore import StoredEvent
from gx_kernel.identity import PRINCIPAL_HEADER, Principal, sign_principal
from gx_kernel.kafka import encode

from gx_agri.settings import AgriSettings

REGION = "450000000000"
COUNTY = "450103000000"  # 青秀区
TOWNSHIP = "450103103000"  # 长塘镇
TIANTANG = "450103103201"  # 天堂村委会
DINGXI = "450103103202"  # 定西村委会

PEOPLE = {
    "region": Principal("u-region", "qu_tongji", "region_statistician", REGION, "pc-1"),
    "county": Principal("u-county", "qingxiu_qu", "county_statistician", COUNTY, "pc-2"),
    "township": Principal("u-town", "changtang_zhen", "township_statistician", TOWNSHIP, "pc-3"),
    "tiantang": Principal("u-tt", "tiantang_cun", "village_coordinator", TIANTANG, "phone-tt"),
    "dingxi": Principal("u-dx", "dingxi_cun", "village_coordinator", DINGXI, "phone-dx"),
    "other_county": Principal("u-oc", "x", "county_statistician", "450102000000", "pc-9"),
    "subscriber": Principal("u-sub", "sub", "subscriber", REGION),
}


@dataclass
class Agri:
    app: object
    client: httpx.AsyncClient
    settings: AgriSettings

    def h(self, who: str | Principal, key: str | None = None) -> dict[str, str]:
        p = PEOPLE[who] if isinstance(who, str) else who
        headers = {PRINCIPAL_HEADER: sign_principal(p, self.settings.internal_secret)}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    @property
    def rt(self):
        return self.app.state.runtime

    async def publish(self, scope: str, form: str = "A301", period: str = "2026-EARLY",
                      key: str | None = None) -> httpx.Response:
        return await self.client.post("/api/v1/agri/tasks", headers=self.h("region", key), json={
            "form_code": form, "period": period, "title": f"{period} {form}",
            "scope_division": scope, "deadline": "2026-08-15T18:00:00+08:00"})

    async def workflow_event(self, type_: str, data: dict, actor: str = "u-town",
                             role: str = "township_statistician") -> None:
        """Put a workflow event on the (prefixed) workflow.events topic, as the workflow would."""
        case_stream = f"case-{uuid.uuid5(uuid.NAMESPACE_URL, data['subject_id'])}"
        ev = StoredEvent(uuid.uuid4(), case_stream, 1, 1, 1, type_, 1, data,
                         {"actor": actor, "role": role, "division": TOWNSHIP, "device": "pc-3"},
                         datetime.now(UTC))
        key, value, headers = encode(ev, "/gxstat/workflow")
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers,
                                    acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(self.settings.topic("workflow.events"), value=value,
                                         key=key, headers=headers)
        finally:
            await producer.stop()

    async def wait_report(self, report_id: str, pred, who: str = "township",
                          timeout: float = 20.0) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = (await self.client.get(f"/api/v1/agri/reports/{report_id}",
                                          headers=self.h(who))).json()
            if pred(body):
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"report never reached the expected state: {json.dumps(body)[:500]}")
            await asyncio.sleep(0.2)


def case_data(report: dict, **extra) -> dict:
    return {"case_id": str(uuid.uuid5(uuid.NAMESPACE_URL, report["report_id"])),
            "subject_kind": "agri.report", "subject_id": report["report_id"],
            "division_code": report["village_code"], "revision": report["revision"], **extra}
