"""Projection registry and rebuild on the in-memory store (no database)."""
from gx_kernel.eventstore import NewEvent
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.projections import ProjectionRegistry, rebuild


def registry_with(log: list):
    registry = ProjectionRegistry()

    @registry.reset
    async def reset(conn):
        log.clear()

    @registry.on("a.happened")
    async def each_a(conn, event):
        log.append(("each", event.data["n"]))

    @registry.batch("a.happened", "b.happened")
    async def batch(conn, events):
        log.append(("batch", [e.data["n"] for e in events]))

    return registry


async def test_each_projector_gets_its_types_in_order():
    log: list = []
    registry = registry_with(log)
    store = InMemoryEventStore()
    for n, kind in enumerate(["a.happened", "c.ignored", "b.happened", "a.happened"]):
        await store.append(f"s-{n % 2}", None, [NewEvent(kind, {"n": n})])
    assert registry.event_types == {"a.happened", "b.happened"}
    await registry.apply(None, await store.read_all())
    assert log == [("each", 0), ("each", 3), ("batch", [0, 2, 3])]


async def test_rebuild_resets_then_replays_in_batches():
    log: list = [("stale", 0)]
    store = InMemoryEventStore()
    for n in range(5):
        await store.append("s", None, [NewEvent("b.happened", {"n": n})])
    seen = []
    result = await rebuild(store, registry_with(log), batch_size=2,
                           progress=lambda done, total: seen.append(done))
    assert log == [("batch", [0, 1]), ("batch", [2, 3]), ("batch", [4])]
    assert result.events == 5 and seen == [2, 4, 5]


async def test_a_rebuild_keeps_a_scratch_dict_across_its_batches_and_live_code_gets_none():
    from gx_kernel.projections import rebuild_scratch

    registry, seen = ProjectionRegistry(), []

    @registry.batch("b.happened")
    async def fold(conn, events):
        kept = rebuild_scratch("totals")
        assert rebuild_scratch("totals") is kept and rebuild_scratch("other") is not kept
        kept["sum"] = kept.get("sum", 0) + sum(e.data["n"] for e in events)
        seen.append(kept["sum"])

    store = InMemoryEventStore()
    for n in range(5):
        await store.append("s", None, [NewEvent("b.happened", {"n": n})])
    await rebuild(store, registry, batch_size=2)
    assert seen == [1, 6, 10]
    assert rebuild_scratch("totals") is None  # outside a rebuild: nothing is kept
    await rebuild(store, registry, batch_size=5)
    assert seen[-1] == 10  # each rebuild starts empty


def test_the_cli_takes_a_registry_or_a_function_of_the_schema():
    import sys
    import types

    import pytest

    from gx_kernel.projections import _load

    registry = ProjectionRegistry()
    module = types.ModuleType("gx_test_registries")
    module.REGISTRY = registry
    module.for_schema = lambda schema: registry if schema == "s1" else None
    module.nothing = 42
    sys.modules[module.__name__] = module
    try:
        assert _load("gx_test_registries:REGISTRY", "s1") is registry
        assert _load("gx_test_registries:for_schema", "s1") is registry
        for bad in ("gx_test_registries:nothing", "gx_test_registries:for_schema"):
            with pytest.raises(SystemExit):
                _load(bad, "s2")
    finally:
        del sys.modules[module.__name__]


async def test_many_projectors_each_get_their_types_in_order_after_a_late_registration():
    log: list = []
    registry = registry_with(log)
    store = InMemoryEventStore()
    for n, kind in enumerate(["a.happened", "b.happened", "c.late", "a.happened"]):
        await store.append("s", None, [NewEvent(kind, {"n": n})])
    await registry.apply(None, await store.read_all())

    @registry.on("c.late", "a.happened")
    async def late(conn, event):
        log.append(("late", event.data["n"]))

    log.clear()
    await registry.apply(None, await store.read_all())
    assert log == [("each", 0), ("each", 3), ("batch", [0, 1, 3]),
                   ("late", 0), ("late", 2), ("late", 3)]


async def test_during_rebuild_contexts_wrap_the_rebuild_and_never_live_apply():
    import contextlib
    import contextvars

    inside = contextvars.ContextVar("inside", default=False)
    seen: list = []

    @contextlib.contextmanager
    def replaying():
        token = inside.set(True)
        try:
            yield
        finally:
            inside.reset(token)

    registry = ProjectionRegistry()
    registry.during_rebuild(replaying)

    @registry.on("a.happened")
    async def each(conn, event):
        seen.append(inside.get())

    store = InMemoryEventStore()
    await store.append("s", None, [NewEvent("a.happened", {"n": 1})])
    await registry.apply(None, await store.read_all())  # a unit of work's call
    await rebuild(store, registry)
    assert seen == [False, True] and inside.get() is False


async def test_finish_runs_once_after_the_last_batch_and_never_live():
    registry, log = ProjectionRegistry(), []

    @registry.batch("b.happened")
    async def fold(conn, events):
        log.append(("batch", len(events)))

    @registry.finish
    async def write(conn):
        log.append(("finish", conn))

    store = InMemoryEventStore()
    for n in range(5):
        await store.append("s", None, [NewEvent("b.happened", {"n": n})])
    await rebuild(store, registry, batch_size=2, conn="tx")
    assert log == [("batch", 2), ("batch", 2), ("batch", 1), ("finish", "tx")]
    log.clear()
    await registry.apply("tx", await store.read_all())  # a live unit of work
    assert log == [("batch", 5)]
