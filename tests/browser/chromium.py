"""Debian's Chromium driven by Playwright (never `playwright install`: the network is closed)."""
from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does this)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "python package playwright is not installed (pip install -r requirements.txt)"
    return None


async def launch(playwright):
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name

