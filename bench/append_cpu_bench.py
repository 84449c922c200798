"""Client CPU of one event append (EventStore.append), without a database.

    .venv/bin/python bench/append_cpu_bench.py

A connection double answers every statement at once, so what is measured is the Python work
of an append — serialising, the size check, telemetry, building StoredEvents — in process CPU
per event, for 1 and 10 events per append. Unlike the throughput benches this barely moves
with the machine's load, so two revisions compare on a busy machine too
(bench/compare_revisions.py runs the others).
"""
import asyncio
import time
from datetime import UTC, datetime

from gx_kernel.eventstore import EventStore, NewEvent

PAYLOAD = {"village_code": "450103103201", "values": {"early_rice_area": 1234.5}}
NOW = datetime.now(UTC)
EVENTS = 20_000


class _Conn:
    """Answers the append's one statement with the rows PostgreSQL would return."""

    async def fetch(self, sql, *args):
        return [{"version": i + 1, "position": i, "tx_id": 1, "recorded_at": NOW}
                for i in range(args[1])]

    async def fetchval(self, *args):
        return None


async def cpu_per_event(store: EventStore, per_append: int) -> float:
    conn, n = _Conn(), EVENTS // per_append
    for _ in range(2):  # the first pass warms up; the second is measured
        start = time.process_time()
        for i in range(n):
            events = [NewEvent("agri.report.draft_saved", PAYLOAD) for _ in range(per_append)]
            await store.append(f"report-{i % 50}", None, events, metadata={"actor": "u1"},
                               conn=conn)
        spent = time.process_time() - start
    return spent / (n * per_append) * 1e6


async def main() -> None:
    store = EventStore(None, "bench_cpu")  # the pool is never used with conn=
    for per_append in (1, 10):
        print(f"append {per_append:2d} event(s) per call: "
              f"{await cpu_per_event(store, per_append):5.1f} us CPU per event")


if __name__ == "__main__":
    asyncio.run(main())
