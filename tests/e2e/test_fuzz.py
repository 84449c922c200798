"""Fuzzing the public API (schemathesis): generated valid and invalid input for every operation
of the merged OpenAPI document, sent through the gateway of a running stack, signed in as the
region and as a village coordinator. No answer may be a 5xx.

schemathesis calls synchronously (requests), so it runs in a worker thread while the stack's
servers keep serving on the event loop. Examples per operation are bounded (GX_FUZZ_EXAMPLES,
default 6 per mode) to keep the suite well under a minute.
"""
from __future__ import annotations

import asyncio
import os
import traceback

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = int(os.environ.get("GX_FUZZ_EXAMPLES", "6"))
# Invalid input is answered the same whoever sends it, so only the region gets the negative
# mode; the village coordinator gets valid input (its own authorisation paths).
USERS = {"qu_tongji": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         "tiantang_cun": (GenerationMode.POSITIVE,)}
SKIP_SUFFIXES = ("/stream",)  # server-sent events never end; covered by the authz matrix


def fuzz(base_url: str, doc: dict, tokens: dict[str, str]) -> tuple[int, list[str]]:
    """(requests sent, failures) — every operation x user x generation mode."""
    schema = schemathesis.openapi.from_dict(doc)
    sent, failures = 0, []
    session = requests.Session()
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.endswith(SKIP_SUFFIXES):
            continue
        for user, token in tokens.items():
            for mode in USERS[user]:
                auth = {"Authorization": f"Bearer {token}"}

                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          phases=[Phase.generate], derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy(generation_mode=mode))
                def check(case) -> None:
                    nonlocal sent
                    sent += 1
                    response = case.call(base_url=base_url, session=session,
                                         headers=auth, timeout=20)
                    if response.status_code >= 500:
                        failures.append(f"{op.method.upper()} {op.path} as {user} ({mode.value}):"
                                        f" {response.status_code} {response.text[:300]}\n"
                                        f"  curl: {case.as_curl_command(headers=auth)}")
                try:
                    check()
                except Unsatisfiable:
                    pass  # nothing invalid to generate for this operation (no constraints)
                except Exception:  # noqa: BLE001 - a generation problem is a finding too
                    failures.append(f"{op.method.upper()} {op.path} as {user} ({mode.value}): "
                                    + traceback.format_exc(limit=3))
    return sent, failures


async def test_no_5xx_on_generated_input(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gw:
        doc = (await gw.get("/api/v1/openapi.json")).json()
        assert doc["info"]["x-gx-missing"] == []
        tokens = {u: (await stack.login(gw, u))["Authorization"].split()[1] for u in USERS}
    sent, failures = await asyncio.to_thread(fuzz, stack.gateway_url, doc, tokens)
    assert sent > 100, sent
    assert not failures, "\n".join(failures)
