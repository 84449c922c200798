"""Service bootstrap: one FastAPI app with its pool, event store, relay and consumers."""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker

from gx_kernel import dlq_routes, http, metrics, telemetry
from gx_kernel.consumer import Handler, IdempotentConsumer, Subscription, make_broker
from gx_kernel.eventstore import EventStore
from gx_kernel.idempotency import ddl as idempotency_ddl
from gx_kernel.kafka import InboundEvent, ensure_topics, make_producer
from gx_kernel.migrations import run_migrations
from gx_kernel.relay import OutboxRelay
from gx_kernel.settings import ServiceSettings

log = logging.getLogger(__name__)
S = TypeVar("S")


@dataclass
class ConsumerSpec:
    """A consumer group of this service: logical topic names (without prefix) and a handler."""

    name: str
    topics: list[str]
    handler: Handler | None = None
    wants: Callable[[str], bool] | None = None  # event types worth a transaction (None: all)
    # Of those, the events worth one (e.g. review events about this domain's subjects only):
    # the others are passed without a transaction or tracking row.
    accepts: Callable[[InboundEvent], bool] | None = None
    # Instead of `handler`: builds it once the runtime exists (its store, settings, state).
    make_handler: Callable[[ServiceRuntime], Handler] | None = None
    # Off the latency-critical path: fetches wait `settings.follower_fetch_wait_ms` (fewer
    # polls of the broker while idle, more records per batch under load) instead of
    # `settings.consumer_fetch_wait_ms`.
    follower: bool = False

    def bind(self, rt: ServiceRuntime) -> Handler:
        if self.handler is not None and self.make_handler is None:
            return self.handler
        if self.make_handler is not None and self.handler is None:
            return self.make_handler(rt)
        raise ValueError(f"consumer {self.name}: give exactly one of handler, make_handler")


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    pool: asyncpg.Pool
    store: EventStore
    relay: OutboxRelay | None = None
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    broker: KafkaBroker | None = None  # FastStream: the consumers' subscribers (see wiring)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # The service's own singletons: one object of its own class (a dataclass such as
    # `AgriState`), set in `on_setup` and read through `typed_state` (see ARCHITECTURE.md).
    state: object = None

    def typed_state(self, kind: type[S]) -> S:
        """The service's state as its own class; fails loudly if `on_setup` has not set it."""
        if not isinstance(self.state, kind):
            raise RuntimeError(f"服务运行状态应为 {kind.__name__}，实为 "
                               f"{type(self.state).__name__}（on_setup 未设置？）")
        return self.state

    def producer(self) -> AIOKafkaProducer:
        return make_producer(self.settings.kafka_bootstrap_servers,
                             self.settings.kafka_enable_idempotence,
                             max_request_size=self.settings.kafka_max_request_bytes
                             or max(1048576, 2 * self.settings.max_event_bytes))


SetupHook = Callable[[ServiceRuntime], Awaitable[None]]


@dataclass(frozen=True)
class Wiring:
    """What a service reads and writes on Kafka, from its settings and consumer specs alone
    (nothing started): the AsyncAPI document and the deployment's ACLs are derived from it."""

    service: str
    subscriptions: list[Subscription]  # its consumer groups, declared as they run
    publishes: str | None  # the relay's topic (`<service>.events`), if the relay runs


def wiring(settings: ServiceSettings, consumers: Sequence[ConsumerSpec] = ()) -> Wiring:
    subscriptions = [
        Subscription(f"{settings.topic_prefix}{settings.service_name}.{spec.name}",
                     tuple(settings.topic(t) for t in spec.topics),
                     fetch_max_wait_ms=settings.follower_fetch_wait_ms if spec.follower
                     else settings.consumer_fetch_wait_ms,
                     description=f"{settings.service_name} consumes ({spec.name})")
        for spec in consumers]
    return Wiring(settings.service_name, subscriptions,
                  settings.events_topic if settings.relay_enabled else None)


def app_wiring(app: FastAPI) -> Wiring:
    """The wiring of an app made by `create_service_app` (not started)."""
    return wiring(app.state.settings, app.state.consumer_specs)


def installed_wirings() -> list[Wiring]:
    """The wiring of every installed service: a top-level `gx_<name>` package with
    `main.create_app` and one `ServiceSettings` subclass in `settings`, its app made with the
    default settings (the environment is not read) and not started. New services appear here
    without being listed anywhere."""
    found: list[Wiring] = []
    # Editable installs are found by their distribution (`gx-agri` -> `gx_agri`) only.
    names = {m.name for m in pkgutil.iter_modules()} | {
        (d.metadata["Name"] or "").replace("-", "_").lower()
        for d in importlib.metadata.distributions()}
    for module in sorted(n for n in names if n.startswith("gx_")):
        if importlib.util.find_spec(module) is None:
            continue
        with contextlib.suppress(ModuleNotFoundError):
            if importlib.util.find_spec(f"{module}.main") is None:
                continue
            main = importlib.import_module(f"{module}.main")
            config = importlib.import_module(f"{module}.settings")
            classes = [v for v in vars(config).values() if isinstance(v, type)
                       and issubclass(v, ServiceSettings) and v.__module__ == config.__name__]
            if len(classes) == 1 and callable(getattr(main, "create_app", None)):
                found.append(app_wiring(main.create_app(classes[0].model_construct())))
    return found


def declare_relay(registrar: KafkaBroker, topic: str, service: str) -> None:
    """The relay's topic as a FastStream publisher (it sends with its own producer, keyed by
    stream id: gx_kernel.relay)."""
    registrar.publisher(topic, title=topic, description=f"{service} 的事件 (outbox relay)")


async def run_broker(broker: KafkaBroker) -> None:
    """Start the FastStream broker (its subscribers consume in its own tasks, restarted by
    FastStream on failure) and keep it until cancelled."""
    try:
        await broker.start()
        await asyncio.Event().wait()
    finally:
        await broker.stop()
ReadyCheck = Callable[[ServiceRuntime], Awaitable[bool]]


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to undo. asyncpg has already rolled back an open
    transaction and dropped the connection's listeners; its default reset query (unlock all
    advisory locks, close cursors, UNLISTEN, RESET ALL) would be one more round trip per use,
    about a quarter of a service's statements. Services leave no session state on a pooled
    connection: advisory locks are transaction-scoped, or released by their holder (the relay's
    election, migrations) before the connection goes back; LISTEN runs on connections of their
    own; settings are `SET LOCAL`."""


async def open_runtime(settings: ServiceSettings, consumers: Sequence[ConsumerSpec] = (),
                       on_setup: SetupHook | None = None,
                       migrations: Sequence[Path] = ()) -> ServiceRuntime:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1,
                                     max_size=settings.db_pool_max, reset=keep_session)
    # The kernel's numbered migrations, then the service's, under an advisory lock.
    await run_migrations(pool, settings.schema, migrations)
    store = EventStore(pool, settings.schema, max_event_bytes=settings.max_event_bytes)
    await store.setup()
    async with pool.acquire() as conn:
        await conn.execute(idempotency_ddl(settings.schema))
    rt = ServiceRuntime(settings, pool, store)
    if on_setup:
        await on_setup(rt)
    topics = [settings.events_topic]
    for spec in consumers:
        topics += [settings.topic(t) for t in spec.topics] + [settings.topic(f"{t}.dlq")
                                                               for t in spec.topics]
    await ensure_topics(settings.kafka_bootstrap_servers, sorted(set(topics)),
                        settings.topic_partitions)
    if settings.relay_enabled:
        rt.relay = OutboxRelay(store, rt.producer, settings.events_topic,
                               source=f"/gxstat/{settings.service_name}",
                               max_attempts=settings.relay_max_attempts,
                               bootstrap=settings.kafka_bootstrap_servers,
                               partitions=settings.topic_partitions,
                               broker_check_interval=settings.relay_broker_check_seconds)
        await rt.relay.setup()  # /ready reads its tables from the first request on
        rt.tasks.append(supervise("relay", rt.relay.run))
    wired = wiring(settings, consumers)
    if wired.subscriptions:
        rt.broker = make_broker(settings.kafka_bootstrap_servers)
        if wired.publishes:
            declare_relay(rt.broker, wired.publishes, settings.service_name)
    for spec, sub in zip(consumers, wired.subscriptions, strict=True):
        consumer = IdempotentConsumer(
            pool=pool, schema=settings.schema, group_id=sub.group_id, topics=list(sub.topics),
            handler=spec.bind(rt), bootstrap=settings.kafka_bootstrap_servers,
            producer_factory=rt.producer, max_attempts=settings.consumer_max_attempts,
            fetch_max_wait_ms=sub.fetch_max_wait_ms, wants=spec.wants, accepts=spec.accepts,
            description=sub.description, partitions=settings.topic_partitions)
        await consumer.setup()
        assert rt.broker is not None
        consumer.subscribe(rt.broker)
        rt.consumers.append(consumer)
    if rt.broker is not None:
        broker = rt.broker
        rt.tasks.append(supervise("consumers", lambda: run_broker(broker)))
    return rt


async def close_runtime(rt: ServiceRuntime) -> None:
    for task in rt.tasks:
        task.cancel()
    for task in rt.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await rt.pool.close()


def supervise(name: str, run: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    """Run a background loop forever, restarting it with backoff if it crashes."""
    async def loop() -> None:
        backoff = 0.5
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the service alive, log, retry
                log.exception("%s crashed; restarting in %.1fs", name, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
    return asyncio.create_task(loop(), name=name)


async def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    first = bootstrap.split(",")[0]
    parts = urlsplit(f"//{first}")
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname, parts.port or 9092), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True


async def relay_detail(relay: OutboxRelay) -> dict[str, Any]:
    """The relay's state for /ready: what it has published, its lag, and its alarm if any
    (position, event id, stream, version, error), as every replica sees it in the database."""
    try:
        async with asyncio.timeout(1):
            pos = await relay.tables.load()
            return {"stuck": await relay.tables.stuck(), "lag": await relay.tables.lag(
                pos.checkpoint), "checkpoint": {"tx_id": pos.checkpoint.tx_id,
                                                "position": pos.checkpoint.position}}
    except Exception:  # noqa: BLE001 - the database check already reports an outage
        return {"stuck": None, "error": "relay state unavailable"}


async def _passes(check: ReadyCheck, rt: ServiceRuntime) -> bool:
    try:
        return bool(await check(rt))
    except Exception:  # noqa: BLE001 - a failing check is a failed dependency
        return False


# FastAPI >= 0.16x instruments itself once a tracer provider exists: a second server span per
# request on top of ours, metrics, and exception logs that could carry request content.
_NO_NATIVE_TELEMETRY: dict[str, Any] = ({"telemetry": {"tracing": False, "metrics": False, "logs": False}}
                        if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {})


def create_service_app(settings: ServiceSettings, *, title: str,
                       routers: Sequence[APIRouter] = (),
                       consumers: Sequence[ConsumerSpec] = (),
                       on_setup: SetupHook | None = None,
                       on_shutdown: SetupHook | None = None,
                       ready_checks: dict[str, ReadyCheck] | None = None,
                       dependency_checks: dict[str, ReadyCheck] | None = None,
                       migrations: Sequence[Path] = ()) -> FastAPI:
    """The FastAPI app of a service: health, readiness, errors, tracing, lifespan.

    `migrations`: the service's folders of numbered SQL files (gx_kernel.migrations), applied
    after the kernel's own before anything else starts;
    `on_shutdown` runs before the background tasks stop and the pool closes;
    `ready_checks` adds named checks to /ready that the service cannot serve without;
    `dependency_checks` are reported in `details.dependencies` but only make it `degraded`
    (e.g. the gateway's backends: with one down it still serves logins and the others, and
    a Kubernetes readiness probe must not take every replica out of its Service at once)."""
    telemetry.setup_telemetry(settings.service_name)
    metrics.setup_metrics(settings.service_name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = await open_runtime(settings, consumers, on_setup, migrations)
        try:
            yield
        finally:
            if on_shutdown:
                with contextlib.suppress(Exception):
                    await on_shutdown(app.state.runtime)
            await close_runtime(app.state.runtime)

    app = FastAPI(title=title, lifespan=lifespan, **_NO_NATIVE_TELEMETRY)
    app.state.settings = settings
    app.state.consumer_specs = list(consumers)  # what it subscribes to (AsyncAPI, ACLs)
    http.install(app, settings.service_name)
    app.include_router(dlq_routes.router)  # the ops console's replay of its dead letters
    for router in routers:
        app.include_router(router)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "alive", "service": settings.service_name}

    @app.get("/ready", tags=["ops"])
    async def ready(request: Request) -> JSONResponse:
        """200 ready; 200 degraded while the relay is stuck (commands are still stored
        safely; the operator resolves it with gx_kernel.relay_admin); 503 not ready."""
        rt: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        checks = {"database": False, "broker": False}
        details: dict[str, Any] = {}
        if rt is not None:
            with contextlib.suppress(Exception):
                async with rt.pool.acquire(timeout=1) as conn:
                    checks["database"] = await conn.fetchval("SELECT 1") == 1
            checks["broker"] = await broker_reachable(settings.kafka_bootstrap_servers)
            for name, check in (ready_checks or {}).items():
                try:
                    checks[name] = bool(await check(rt))
                except Exception:  # noqa: BLE001 - a failing check means "not ready"
                    checks[name] = False
            if rt.relay is not None and checks["database"]:
                details["relay"] = await relay_detail(rt.relay)
            if dependency_checks:
                details["dependencies"] = dict(zip(dependency_checks, await asyncio.gather(
                    *(_passes(check, rt) for check in dependency_checks.values()))))
        ok = all(checks.values())
        stuck = bool(details.get("relay", {}).get("stuck"))
        if stuck:
            checks["relay"] = False  # present only while stuck: the service still serves
        lacking = not all(details.get("dependencies", {}).values())
        status = "not_ready" if not ok else "degraded" if stuck or lacking else "ready"
        body: dict[str, Any] = {"status": status, "checks": checks}
        if details:
            body["details"] = details
        return JSONResponse(body, status_code=200 if ok else 503)

    return app


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Entrypoint body of every service's main.py."""
    import uvicorn

    telemetry.setup_logging()
    # Open event streams (server-sent events) would otherwise hold shutdown forever. Idle
    # keep-alive connections live longer than the callers' pools keep them (httpx: 5 s), so a
    # caller never reuses a connection the server is closing at that very moment.
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False, timeout_keep_alive=75,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds)
