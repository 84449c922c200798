"""The workflow's rebuild writes each case row once (COPY) and the steps by COPY: the same rows
as the live projection whatever the batches (a stream split across them), with each batch
committed, or past the bound on rows kept waiting (written mid-rebuild, then upserted)."""
from __future__ import annotations

import pytest

from gx_kernel.eventstore import EventStore
from gx_kernel.projections import rebuild

from gx_workflow.application import projections_rebuild
from gx_workflow.application.projection import projections_for

pytestmark = pytest.mark.integration


async def _snapshot(wf) -> tuple[list[dict], list[dict]]:
    s = wf.settings.schema
    async with wf.rt.pool.acquire() as conn:
        cases = await conn.fetch(f"SELECT * FROM {s}.cases ORDER BY case_id")
        steps = await conn.fetch(f"SELECT * FROM {s}.case_steps ORDER BY case_id, version")
    # changed_tx: the id of the transaction that last wrote the row (not projected state)
    return ([{k: v for k, v in r.items() if k != "changed_tx"} for r in cases],
            [dict(r) for r in steps])


@pytest.mark.parametrize(("one_transaction", "keep"), [(True, 100_000), (True, 1), (False, 1)])
async def test_rebuilt_rows_equal_the_live_ones_across_batches(wf, monkeypatch, one_transaction,
                                                               keep):
    returned = (await wf.submit())["case_id"]
    await wf.post(returned, "return", "township", {"expected_version": 1, "reason_code": "R01",
                                                   "reason": "错误"})
    approved = (await wf.submit(field_labels={"A01": "早稻面积"}))["case_id"]
    r = await wf.post(approved, "approve", "township", {"expected_version": 1, "comment": "无误"})
    assert r.status_code == 200, r.text
    await wf.submit()
    before = await _snapshot(wf)
    assert len(before[0]) >= 3 and len(before[1]) >= 5  # (the fixture's schema is shared)
    s = wf.settings.schema
    async with wf.rt.pool.acquire() as conn:
        xid_before = await conn.fetchval(f"SELECT max(changed_tx) FROM {s}.cases")
    monkeypatch.setattr(projections_rebuild, "KEEP_CASES", keep)
    for batch_size in (1, 2, 5000):
        result = await rebuild(EventStore(wf.rt.pool, s), projections_for(s),
                               batch_size=batch_size, one_transaction=one_transaction)
        assert result.events == len(before[1])
        assert await _snapshot(wf) == before
    async with wf.rt.pool.acquire() as conn:  # rows marked changed for the live streams
        assert await conn.fetchval(f"SELECT min(changed_tx) FROM {s}.cases") > xid_before
