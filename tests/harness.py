"""Run service apps in-process on real ports, for integration and end-to-end tests."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import httpx
import uvicorn

from gx_devstack.procs import free_port  # noqa: F401 - re-exported for the suites


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def reserve_socket() -> socket.socket:
    """A socket bound to a port the OS picks, held until a server listens on it: a port only
    looked up (`free_port`) can be taken meanwhile, e.g. as the local end of the service's own
    outgoing connection to PostgreSQL or the broker (Errno 98 at startup, seen in the full run)."""
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP
    # (accepted connections inherit it); without it every response waited on Nagle + delayed
    # ACK (~40 ms), and the request-heavy tests ran 4-8x longer
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving(app, port: int | socket.socket | None = None):
    """Serve an ASGI app (lifespan included) on 127.0.0.1; yields its base URL. `port`: a
    socket from `reserve_socket` (the server listens on it), a fixed port, or None (a socket
    reserved now)."""
    if isinstance(port, int):
        sock, number = None, port  # a fixed port (uvicorn binds it)
    else:
        sock = port or reserve_socket()
        number = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=number, log_config=None,
                                           access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
    try:
        for _ in range(600):
            if server.started:
                break
            if task.done():
                task.result()  # raises the startup error
            await asyncio.sleep(0.05)
        else:
            raise TimeoutError("server did not start")
        yield f"http://127.0.0.1:{number}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
        if sock is not None:
            sock.close()


async def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Poll an async predicate until it returns something truthy; return that."""
    for _ in range(int(timeout / interval)):
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(interval)
    raise AssertionError("condition not reached in time")


async def get_json(client: httpx.AsyncClient, url: str, **kw):
    r = await client.get(url, **kw)
    return r.status_code, r.json()
