"""COMMIT reaches PostgreSQL but its reply is lost (connection cut): the unit of work asks a
fresh connection what became of the transaction instead of answering 'did not run' (503),
which would invite a retry without a key into a second effect."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg

from gx_kernel.eventstore import EventStore, NewEvent
from gx_kernel.service import keep_session
from gx_kernel.uow import UnitOfWork


class CommitCutter:
    """A TCP proxy to PostgreSQL that, once armed, forwards the next COMMIT and drops the
    connection before its reply."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port, self.armed, self.cuts = host, port, False, 0

    async def handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection(self.host, self.port)
        cut = asyncio.Event()

        async def up() -> None:
            while data := await cr.read(65536):
                if self.armed and b"COMMIT" in data:
                    self.armed, self.cuts = False, self.cuts + 1
                    cut.set()  # from now on nothing goes back to the client
                    sw.write(data)
                    await sw.drain()
                    await asyncio.sleep(0.3)  # PostgreSQL commits; the reply never arrives
                    cw.close()
                    return
                sw.write(data)
                await sw.drain()

        async def down() -> None:
            while not cut.is_set() and (data := await sr.read(65536)):
                if cut.is_set():
                    return
                cw.write(data)
                await cw.drain()

        await asyncio.gather(up(), down(), return_exceptions=True)
        for w in (cw, sw):
            w.close()


async def test_a_commit_whose_reply_is_lost_is_known_committed(infra, pool, schema):
    url = urlsplit(infra.database_url)
    cutter = CommitCutter(url.hostname or "127.0.0.1", url.port or 5432)
    server = await asyncio.start_server(cutter.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    netloc = url.netloc.rsplit("@", 1)
    proxied = url._replace(netloc=(netloc[0] + "@" if len(netloc) == 2 else "")
                           + f"127.0.0.1:{port}").geturl()
    via_proxy = await asyncpg.create_pool(proxied, min_size=1, max_size=3, ssl=False,
                                          reset=keep_session)  # as the services' pools
    try:
        store = EventStore(via_proxy, schema)
        await store.setup()
        async with UnitOfWork(store) as uow:
            uow.collect("s-1", 0, [NewEvent("thing.happened", {"n": 1})])
            await uow.flush()
            cutter.armed = True
        # no exception: the lost reply was resolved as committed, so the answer is the normal one
        assert cutter.cuts == 1
        assert [e.stream_id for e in await EventStore(pool, schema).read_all()] == ["s-1"]
    finally:
        via_proxy.terminate()  # its connections run through the proxy; no graceful close needed
        server.close()
