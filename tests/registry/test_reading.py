"""Stage 1 of an import (reading.check_rows): the worker processes a large file is checked in
give exactly what this process gives — the same good rows in row order, the same errors, the
same counts — and blank rows are skipped without shifting row numbers."""
import pytest

from gx_registry.application import reading
from gx_registry.domain import records
from gx_registry.domain.codes import make_uscc

MAPPING = records.mapping_for("市场监管")
HEADER = ["统一社会信用代码", "企业名称", "住所", "法定代表人", "登记状态"]


def _rows(n: int) -> list[list[str]]:
    out = []
    for i in range(n):
        code = make_uscc("91", "450103", f"MA5K{i:04d}")
        if i % 7 == 3:
            code = code[:-1] + ("0" if code[-1] != "0" else "1")  # a wrong check character
        name = "" if i % 11 == 5 else f"南宁市青秀区测试{i}商贸有限公司"
        out.append(["", "", "", "", ""] if i % 13 == 9 else
                   [code, name, f"广西壮族自治区南宁市青秀区中山路{i}号", "韦某", "存续"])
    return out


async def _run(rows, pooled):
    columns, missing = records.resolve_headers(MAPPING, HEADER)
    assert not missing
    got: list[reading.Checked] = []

    async def take(c):
        got.append(c)

    await reading.check_rows(MAPPING, columns, iter(rows), 2, take, pooled=pooled)
    return got


@pytest.mark.integration
async def test_worker_processes_check_exactly_as_this_process(monkeypatch):
    monkeypatch.setattr(reading, "READ_CHUNK", 40)  # many chunks, several in flight
    rows = _rows(500)
    here, pooled = await _run(rows, False), await _run(rows, True)
    assert len(pooled) == len(here) == 13
    assert "".join(c.lines for c in pooled) == "".join(c.lines for c in here)
    assert [e for c in pooled for e in c.errors] == [e for c in here for e in c.errors]
    totals = [sum(getattr(c, k) for c in pooled) for k in ("rows", "good", "bad")]
    blank = sum(1 for i in range(500) if i % 13 == 9)
    assert totals[0] == 500 - blank and totals[1] + totals[2] == totals[0] and totals[2] > 0
    lines = "".join(c.lines for c in pooled).splitlines()
    row_nos = [int(line.split(",", 1)[0]) for line in lines]
    assert row_nos == sorted(row_nos) and row_nos[0] == 2  # row numbers as in the file
    assert {e[0] for c in pooled for e in c.errors} <= {i + 2 for i in range(500)}


def _die() -> None:  # a worker's start that kills it (as the out-of-memory killer would)
    import os
    os._exit(1)


@pytest.mark.integration
async def test_lost_worker_processes_leave_the_rows_to_this_process(monkeypatch, caplog):
    monkeypatch.setattr(reading, "READ_CHUNK", 40)
    rows = _rows(300)
    here = await _run(rows, False)
    monkeypatch.setattr(reading, "_warm", _die)
    pooled = await _run(rows, True)
    assert "".join(c.lines for c in pooled) == "".join(c.lines for c in here)
    assert [e for c in pooled for e in c.errors] == [e for c in here for e in c.errors]
    assert "worker processes lost" in caplog.text


@pytest.mark.integration
async def test_a_pool_found_broken_when_handed_a_chunk_leaves_it_to_this_process(monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    class BreaksOnThird(reading.ProcessPoolExecutor):
        handed = 0

        def submit(self, *a, **kw):
            BreaksOnThird.handed += 1
            if BreaksOnThird.handed >= 3:
                raise BrokenProcessPool("a worker died")
            return super().submit(*a, **kw)

    monkeypatch.setattr(reading, "READ_CHUNK", 40)
    rows = _rows(300)
    here = await _run(rows, False)
    monkeypatch.setattr(reading, "ProcessPoolExecutor", BreaksOnThird)
    pooled = await _run(rows, True)
    assert BreaksOnThird.handed == 3  # two chunks in the workers, the rest here
    assert "".join(c.lines for c in pooled) == "".join(c.lines for c in here)
    assert [e for c in pooled for e in c.errors] == [e for c in here for e in c.errors]
