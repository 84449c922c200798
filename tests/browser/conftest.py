"""Browser suite: the whole system in-process (tests/e2e/stack.py) and Debian's Chromium."""
from __future__ import annotations

import httpx
import pytest

from .chromium import launch, missing_reason


@pytest.fixture(scope="module")
async def api(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
async def browser():
    reason = missing_reason()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        b = await launch(p)
        try:
            yield b
        finally:
            await b.close()
