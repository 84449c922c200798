"""Web console (网页控制台): static files served by the gateway at / and /console/..."""
from gx_gateway.console.router import router

__all__ = ["router"]
