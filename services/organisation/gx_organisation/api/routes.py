"""HTTP routes of the organisation service (/api/v1/organisation/...)."""
from __future__ import annotations

from fastapi import APIRouter

routers: list[APIRouter] = []
