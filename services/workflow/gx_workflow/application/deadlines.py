"""Deadlines (审核时限): a background scan appends `workflow.case.overdue` once per holding."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from gx_kernel.eventstore import ConcurrencyError, EventStore
from gx_kernel.uow import UnitOfWork

from gx_workflow.application.cases import load_case, now_utc, record
from gx_workflow.application.projection import projections_for
from gx_workflow.domain import commands as dc

log = logging.getLogger(__name__)
SYSTEM_METADATA = {"actor": "system", "actor_name": "审核时限检查", "role": "system"}


async def mark_overdue_cases(store: EventStore, now: datetime | None = None,
                             batch: int = 200) -> int:
    """One scan: every case past its deadline and not yet marked gets one overdue event."""
    now = now or now_utc()
    async with store.pool.acquire() as conn:
        ids = await conn.fetch(
            f"SELECT case_id FROM {store.schema}.cases WHERE status = 'in_review' AND NOT late "
            f"AND deadline <= $1 ORDER BY deadline LIMIT $2", now, batch)
    marked = 0
    for row in ids:
        try:  # one unit of work per case: it wakes the relay after its own commit
            async with UnitOfWork(store, projections=projections_for(store.schema)) as uow:
                case = await load_case(store, uow.conn, row["case_id"])
                event = dc.mark_overdue(case, now) if case else None
                if case is None or event is None:
                    continue  # moved on since the scan
                await record(uow, case, [event], SYSTEM_METADATA, case.stream_id)
                marked += 1
        except ConcurrencyError:
            continue  # a reviewer acted meanwhile; the next scan decides again
    return marked

async def overdue_loop(store: EventStore, interval: float) -> None:
    """Run forever (under kernel `supervise`)."""
    while True:
        n = await mark_overdue_cases(store)
        if n:
            log.info("marked %d case(s) overdue", n)
        await asyncio.sleep(interval)
