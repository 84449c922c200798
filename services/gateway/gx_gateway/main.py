"""The gateway: the only door for phones, browsers and outside systems (统一入口)."""
from __future__ import annotations

import asyncpg
from fastapi import FastAPI

from gx_contracts.roles import DEMO_PASSWORD, DEMO_USERS
from gx_kernel.service import ServiceRuntime, create_service_app, serve, supervise

from gx_gateway.adapters.schema import ddl
from gx_gateway.api import admin_routes, auth_routes, docs_routes, front, ops_routes, proxy
from gx_gateway.api.caller import RateLimited, rate_limited_handler
from gx_gateway.application import ops
from gx_gateway.application.accounts import seed_users
from gx_gateway.application.api_docs import MergedOpenAPI
from gx_gateway.application.forwarding import make_client, make_upstream, service_ready_check
from gx_gateway.application.revocations import RevokedFamilies
from gx_gateway.application.shared_limits import SharedRateLimiter
from gx_gateway.application.state import GatewayState, state
from gx_gateway.console import router as console_router
from gx_gateway.settings import SERVICES, GatewaySettings


async def _no_session_state(_: asyncpg.Connection) -> None:
    """asyncpg rolls back an open transaction first in any case."""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    async def on_setup(rt: ServiceRuntime) -> None:
        async with rt.pool.acquire() as conn:
            await conn.execute(ddl(settings.schema))
        http_client = make_client(settings)
        # Idempotency records and rate-limit leases commit without waiting for the disk:
        # losing the last few on a crash only means the service's own key check (in its
        # effects' transaction) answers, or a bucket refills early.
        # Their statements leave no session state behind, so a connection goes back to the pool
        # without asyncpg's reset (a round trip per use).
        fast_pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=8,
                                              server_settings={"synchronous_commit": "off"},
                                              reset=_no_session_state)
        rt.state = GatewayState(
            # per user and per device, shared by every gateway replica
            limits=(SharedRateLimiter(fast_pool, settings.schema, "user",
                                      settings.rate_user_per_sec, settings.rate_user_burst),
                    SharedRateLimiter(fast_pool, settings.schema, "device",
                                      settings.rate_device_per_sec, settings.rate_device_burst)),
            idempotency_pool=fast_pool,
            revoked=RevokedFamilies(rt.pool, settings.schema, settings.access_ttl,
                                    settings.revocation_cache_seconds),
            http=http_client, upstream=make_upstream(settings),
            openapi=MergedOpenAPI(app, settings, lambda: http_client))
        rt.tasks.append(supervise("ops sampler", lambda: ops.sample_forever(rt)))
        if settings.demo:
            await seed_users(rt.pool, settings.schema, DEMO_USERS, DEMO_PASSWORD,
                             settings.argon2_memory_kib)

    async def on_shutdown(rt: ServiceRuntime) -> None:
        st = state(rt)
        await st.http.aclose()
        await st.upstream.close()
        await st.idempotency_pool.close()

    app = create_service_app(
        settings, title="gxstat 网关",
        routers=[auth_routes.router, admin_routes.router, docs_routes.router, ops_routes.router,
                 proxy.router, console_router],
        on_setup=on_setup, on_shutdown=on_shutdown,
        # readiness is the gateway's own (database, broker); a backend that does not answer
        # makes it `degraded` with the backend named, it never takes the gateway out
        dependency_checks={name: service_ready_check(name) for name in SERVICES})
    app.add_exception_handler(RateLimited, rate_limited_handler)
    front.install(app)  # proxied routes skip FastAPI's routing and middleware stack
    return app


if __name__ == "__main__":
    _settings = GatewaySettings()
    serve(create_app(_settings), _settings)
