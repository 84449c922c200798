"""Operator command for a service's outbox relay: see why it is stuck, and resolve it.

    python -m gx_kernel.relay_admin --database-url URL --schema agri status
    python -m gx_kernel.relay_admin ... retry <event-id>   # after raising the topic's limit
    python -m gx_kernel.relay_admin ... park <event-id> [--reason TEXT]

`retry` makes the running relay try the stuck event again at once (it also keeps trying by
itself, every few seconds: `retry` answers ok if the event went out meanwhile). `park` makes it publish a
stub in the event's place (same key, id, type, stream and version; data omitted;
metadata.withheld = true with the reason), so versions on the topic stay gapless; the full
event stays in the store, and the park is recorded in <schema>.relay_parked. Both act only on
the event the relay is stuck on (see `status`). Exit status: 0 done, 1 refused, 2 usage.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from typing import Any

import asyncpg

from gx_kernel.relay_store import RelayTables

DEFAULT_REASON = "operator parked: too large for the topic"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gx_kernel.relay_admin", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="PostgreSQL URL (default: $DATABASE_URL)")
    p.add_argument("--schema", required=True, help="the service's schema, e.g. agri")
    p.add_argument("--relay", default="relay", help="relay name (default: relay)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="checkpoint, lag, the stuck event, parked events (JSON)")
    retry = sub.add_parser("retry", help="try the stuck event again now")
    retry.add_argument("event_id", type=uuid.UUID)
    park = sub.add_parser("park", help="publish a stub in place of the stuck event")
    park.add_argument("event_id", type=uuid.UUID)
    park.add_argument("--reason", default=DEFAULT_REASON)
    return p


async def run(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    conn_pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=2)
    try:
        tables = RelayTables(conn_pool, args.schema, args.relay)
        await tables.setup()
        if args.command == "status":
            return 0, await tables.status()
        if args.command == "retry":
            done = await tables.request_retry(args.event_id)
            if not done and await tables.published(args.event_id):
                # The relay keeps trying by itself: it may have got there first.
                return 0, {"ok": True, "command": "retry", "event_id": str(args.event_id),
                           "already_published": True}
        else:
            done = await tables.park(args.event_id, args.reason)
        if not done:
            stuck = await tables.stuck()
            return 1, {"ok": False, "stuck": stuck,
                       "error": f"event {args.event_id} is not the event the relay is stuck on"}
        return 0, {"ok": True, "command": args.command, "event_id": str(args.event_id)}
    finally:
        await conn_pool.close()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.database_url:
        print("--database-url or DATABASE_URL is required", file=sys.stderr)
        return 2
    code, out = asyncio.run(run(args))
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
