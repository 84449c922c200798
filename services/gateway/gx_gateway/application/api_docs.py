"""The merged OpenAPI document, fetched from the services and cached for a short while.

A service that does not answer is listed in `info.x-gx-missing` and its paths are absent; the
cache then lives only a few seconds, so the document heals soon after the service is back.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from gx_gateway.domain.openapi_merge import merge
from gx_gateway.settings import SERVICES, GatewaySettings

MISSING_TTL = 3.0  # seconds a document with a missing service is kept


class MergedOpenAPI:
    """One per gateway process (GatewayState.openapi)."""

    def __init__(self, app: FastAPI, settings: GatewaySettings,
                 client: Callable[[], httpx.AsyncClient],
                 clock: Callable[[], float] = time.monotonic):
        self.app, self.settings, self.client, self.clock = app, settings, client, clock
        self._doc: dict[str, Any] | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        if self._doc is not None and self.clock() < self._expires:
            return self._doc
        async with self._lock:  # one refresh at a time; the others reuse its result
            if self._doc is None or self.clock() >= self._expires:
                docs = await asyncio.gather(*(self._fetch(n) for n in SERVICES))
                self._doc = merge(self.app.openapi(), dict(zip(SERVICES, docs)))
                ttl = self.settings.openapi_ttl
                self._expires = self.clock() + (min(ttl, MISSING_TTL)
                                                if self._doc["info"]["x-gx-missing"] else ttl)
        return self._doc

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        url = self.settings.service_url(service) + "/openapi.json"
        try:
            r = await self.client().get(url, timeout=self.settings.openapi_fetch_timeout)
            doc = r.json() if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return doc if isinstance(doc, dict) and isinstance(doc.get("paths"), dict) else None
