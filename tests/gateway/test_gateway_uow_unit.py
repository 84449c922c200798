"""Gateway commands on a FakeUnitOfWork: events, audit metadata and the relay wake-up after
the commit, without PostgreSQL (the table adapters are replaced by in-memory stand-ins)."""
import uuid
from types import SimpleNamespace

import pytest

from gx_kernel.errors import Forbidden
from gx_kernel.identity import Principal
from gx_kernel.memstore import InMemoryEventStore
from gx_kernel.uow import FakeUnitOfWork

from gx_gateway.application import audit, auth, subscriptions

USER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
ADMIN = Principal(str(uuid.uuid4()), "county", "county_statistician", "450102", "dev-1")
REGION = Principal(str(uuid.uuid4()), "region", "region_statistician", "45")


class World:
    """The in-memory store, the units of work opened on it, and what woke the relay."""

    def __init__(self, monkeypatch):
        self.store, self.units, self.wakes = InMemoryEventStore(), [], []
        wake = self.store.notify_committed

        def notify() -> None:  # what the relay could see when it was woken
            self.wakes.append((len(self.store.committed()), self.store.open_transactions))
            wake()
        self.store.notify_committed = notify

        def unit_of_work(rt):
            self.units.append(FakeUnitOfWork(self.store))
            return self.units[-1]
        monkeypatch.setattr(audit, "unit_of_work", unit_of_work)
        self.rt = SimpleNamespace(store=self.store, settings=SimpleNamespace(schema="gw"))


@pytest.fixture
def world(monkeypatch):
    return World(monkeypatch)


@pytest.fixture
def villager(monkeypatch):
    """One user in 南宁市某村, with 2 held-back login attempts."""
    row = {"user_id": USER_ID, "username": "cun1", "division": "450102001001", "role": "x"}

    async def by_username(conn, schema, username, for_update=False):
        return row if username == "cun1" else None

    async def clear(conn, schema, keys):
        return 2
    monkeypatch.setattr(auth.users, "by_username", by_username)
    monkeypatch.setattr(auth.throttle, "clear", clear)
    return row


async def test_unlock_appends_the_audit_event_and_wakes_the_relay_after_commit(world, villager):
    assert await auth.unlock(world.rt, ADMIN, "cun1") == {"username": "cun1", "was_held": True}
    [event] = world.store.committed()
    assert (event.stream_id, event.type) == (f"user-{USER_ID}", "gateway.user.unlocked")
    assert event.data == {"user_id": str(USER_ID), "username": "cun1", "was_held": True}
    assert event.metadata["actor"] == ADMIN.user_id and event.metadata["device"] == "dev-1"
    assert world.units[0].committed
    assert world.wakes == [(1, 0)]  # once, with the event committed and no transaction open


async def test_unlock_outside_jurisdiction_rolls_back_and_wakes_nobody(world, villager):
    other = Principal(str(uuid.uuid4()), "county2", "county_statistician", "450103")
    with pytest.raises(Forbidden):
        await auth.unlock(world.rt, other, "cun1")
    assert world.units[0].rolled_back
    assert world.store.committed() == [] and world.wakes == []


@pytest.fixture
def subscriber(monkeypatch):
    grants: set[str] = set()
    row = {"user_id": USER_ID, "username": "sub1", "role": "subscriber"}

    async def by_username(conn, schema, username, for_update=False):
        return row

    async def grant(conn, schema, user_id, topics, by):
        new = [t for t in topics if t not in grants]
        grants.update(new)
        return new

    async def revoke(conn, schema, user_id, topics):
        gone = [t for t in topics if t in grants]
        grants.difference_update(gone)
        return gone

    async def topics_of(conn, schema, user_id):
        return [{"topic": t} for t in sorted(grants)]
    repo = subscriptions.repo
    monkeypatch.setattr(subscriptions.users, "by_username", by_username)
    for name, fn in (("grant", grant), ("revoke", revoke), ("topics_of", topics_of)):
        monkeypatch.setattr(repo, name, fn)
    return grants


async def test_topic_grants_are_events_and_a_repeat_raises_none(world, subscriber):
    topic = next(iter(subscriptions.tp.PUBLIC_TOPICS))
    first = await subscriptions.change_topics(world.rt, REGION, "sub1", [topic], [])
    assert first["granted"] == [topic] and first["topics"] == [topic]
    again = await subscriptions.change_topics(world.rt, REGION, "sub1", [topic], [])
    assert again["granted"] == [] and again["topics"] == [topic]
    revoked = await subscriptions.change_topics(world.rt, REGION, "sub1", [], [topic])
    assert revoked["revoked"] == [topic] and revoked["topics"] == []
    events = world.store.committed()
    assert [(e.stream_id, e.type, e.data["topic"]) for e in events] == [
        (f"subscriber-{USER_ID}", "gateway.subscription.granted", topic),
        (f"subscriber-{USER_ID}", "gateway.subscription.revoked", topic)]
    assert world.wakes == [(1, 0), (2, 0)]  # the repeat committed nothing and woke nobody
