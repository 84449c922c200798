"""The records the hardening tests work on, over HTTP through the gateway as people would.

`shared`: one task published to 长塘镇; 天堂村's report submitted (its case at the township),
定西村's report untouched (version 0) for the refused edits. Tests that change a case get a
fresh one (`fresh_case`).
"""
from __future__ import annotations

import base64
import contextlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gx_contracts.roles import DEMO_PASSWORD

from gx_gateway.domain.device_proof import (
    DEVICE_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    b64encode,
    canonical_message,
)

from ..harness import wait_for
from .slice_helpers import VALUES, my_report, publish_task, save_and_submit

TOWNSHIP, TIANTANG, DINGXI = "450103103000", "450103103201", "450103103202"
USERS = {"region": "qu_tongji", "county": "qingxiu_qu", "township": "changtang_zhen",
         "village": "tiantang_cun", "neighbour": "dingxi_cun"}
_NO_BODY = object()


def device_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


@dataclass
class World:
    stack: Any
    gw: httpx.AsyncClient
    auth: dict[str, dict[str, str]] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)

    async def call(self, who: str | None, method: str, path: str, body: Any = _NO_BODY
                   ) -> httpx.Response:
        kw = {} if body is _NO_BODY else {"json": body}
        return await self.gw.request(method, path, headers=self.auth.get(who, {}), **kw)

    @staticmethod
    def fill(template: Any, values: dict[str, Any]) -> Any:
        """Placeholders in a path or body: "{case_version}" alone keeps its type."""
        if isinstance(template, dict):
            return {World.fill(k, values): World.fill(v, values) for k, v in template.items()}
        if isinstance(template, str):
            if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
                return values[template[1:-1]]
            return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m[1], m[0])), template)
        return template

    def fill_path(self, path: str) -> str | None:
        """A documented path with its parameters taken from the shared records, or None."""
        known = {"task_id": self.shared["task"], "report_id": self.shared["report"],
                 "case_id": self.shared["case"], "subject_kind": "agri.report",
                 "subject_id": self.shared["report"], "username": "tiantang_cun",
                 "device_id": str(uuid.uuid4()), "request_id": str(uuid.uuid4())}
        names = re.findall(r"\{(\w+)\}", path)
        if any(n not in known for n in names):
            return None
        return re.sub(r"\{(\w+)\}", lambda m: str(known[m[1]]), path)

    async def publish(self, scope: str, period: str = "2026-EARLY") -> str:
        return await publish_task(self.gw, self.auth["region"], scope, period=period)

    async def case_of(self, report_id: str) -> dict:
        url = f"/api/v1/workflow/cases/by-subject/agri.report/{report_id}"

        async def opened():
            r = await self.call("township", "GET", url)
            return r.json() if r.status_code == 200 else None
        return await wait_for(opened, timeout=30)

    async def fresh_case(self) -> tuple[str, dict]:
        """天堂村's report of a new task, submitted; its case waiting at the township."""
        task = await self.publish(TIANTANG)
        report = await my_report(self.gw, self.auth["village"], task)
        await save_and_submit(self.gw, self.auth["village"], report, VALUES)
        return report["report_id"], await self.case_of(report["report_id"])

    async def login_pair(self, username: str, password: str = DEMO_PASSWORD) -> dict:
        r = await self.gw.post("/api/v1/auth/login",
                               json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()

    async def enrolled_phone(self, username: str) -> tuple[str, Ed25519PrivateKey]:
        """A phone enrolled for `username` by the region: (device id, its private key)."""
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        r = await self.call("region", "POST", "/api/v1/admin/devices", {
            "username": username, "label": "本人手机", "public_key": base64.b64encode(raw).decode()})
        assert r.status_code == 201, r.text
        return r.json()["device_id"], key

    async def login_from_phone(self, username: str, device: tuple[str, Ed25519PrivateKey]
                               ) -> httpx.Response:
        """The owner's valid login, signed by their enrolled phone (手机安全证书)."""
        device_id, key = device
        body = json.dumps({"username": username, "password": DEMO_PASSWORD}).encode()
        ts = str(int(time.time()))
        path = "/api/v1/auth/login"
        signature = b64encode(key.sign(canonical_message(device_id, "POST", path, ts, body)))
        return await self.gw.post(path, content=body, headers={
            "content-type": "application/json", DEVICE_ID_HEADER: device_id,
            TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: signature})

    async def unlock(self, username: str) -> httpx.Response:
        """The region's unlock of a name (the documented admin route that says 'unlock')."""
        doc = (await self.call("region", "GET", "/api/v1/openapi.json")).json()
        paths = [p for p, item in doc["paths"].items() if "unlock" in p and "post" in item]
        assert paths, "the API documents no unlock for administrators"
        return await self.call("region", "POST", paths[0].replace("{username}", username), {})


def _shape(r: httpx.Response) -> tuple:
    body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
    return (r.status_code, body.get("code"), re.sub(r"\d+", "#", str(body.get("detail"))),
            tuple(sorted(body)))


async def shapes_of_login(world: World, real: str, ghost: str, attempts: int
                          ) -> tuple[list[tuple], list[tuple]]:
    """Wrong passwords on a real name and an unknown one, alternately: the answers to each."""
    out: dict[str, list[tuple]] = {real: [], ghost: []}
    for _ in range(attempts):
        for name in (real, ghost):
            r = await world.gw.post("/api/v1/auth/login",
                                    json={"username": name, "password": "Wrong#2026x"})
            out[name].append(_shape(r))
    return out[real], out[ghost]


@contextlib.asynccontextmanager
async def open_world(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as gw:
        w = World(stack, gw)
        for role, user in USERS.items():
            w.auth[role] = await stack.login(gw, user)
        task = await w.publish(TOWNSHIP)
        report = await my_report(gw, w.auth["village"], task)
        await save_and_submit(gw, w.auth["village"], report, VALUES)
        draft = await my_report(gw, w.auth["neighbour"], task)
        case = await w.case_of(report["report_id"])
        w.shared = {"task": task, "report": report["report_id"], "draft": draft["report_id"],
                    "case": case["case_id"], "case_version": case["version"]}
        yield w
