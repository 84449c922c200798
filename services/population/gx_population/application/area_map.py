"""小区图 upload and download: the village coordinator uploads a sketch (PNG or JPEG, bounded,
type told from the bytes); the image is stored once per SHA-256 in area_map_images and the
area's event records the digest; it is served back with its own content type to whoever may
read the area (its jurisdiction)."""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from gx_contracts.events.base import event_fields
from gx_contracts.events.population import AreaMapUploaded
from gx_contracts.ids import stream_id
from gx_kernel.errors import AppError, Forbidden, NotFound
from gx_kernel.eventstore import NewEvent
from gx_kernel.identity import Principal
from gx_kernel.service import ServiceRuntime

from gx_population.adapters import repo
from gx_population.application.access import jurisdiction, metadata, unit_of_work
from gx_population.domain.map_image import MapImageError, sniff


async def upload(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID, data: bytes,
                 content_type: str | None, key: str | None) -> tuple[int, dict[str, Any]]:
    s = rt.settings.schema
    try:
        image = sniff(data, content_type, rt.settings.map_max_bytes)
    except MapImageError as e:
        raise AppError(e.status, e.code, e.message, field="body") from None
    digest = hashlib.sha256(data).hexdigest()
    async with unit_of_work(rt, p, key, {"op": "map", "a": str(area_id), "h": digest}) as uow:
        if uow.replayed:
            return uow.replayed
        area = await repo.area(uow.conn, s, area_id, lock=True)
        if area is None or not area["village_code"].startswith(jurisdiction(p)):
            raise NotFound("调查小区", str(area_id))
        if p.role != "village_coordinator" or jurisdiction(p) != area["village_code"]:
            raise Forbidden("只有本村的村级统计协管员可以上传小区图", code="not_village_coordinator")
        await uow.conn.execute(
            f"INSERT INTO {s}.area_map_images (sha256, content_type, size, image)"
            f" VALUES ($1,$2,$3,$4) ON CONFLICT (sha256) DO NOTHING", digest,
            image.content_type, len(data), data)
        event = AreaMapUploaded(area_id=area_id, map_id=uuid.uuid4(),
                                content_type=image.content_type,  # type: ignore[arg-type]
                                size=len(data), sha256=digest, width=image.width,
                                height=image.height)
        uow.collect(stream_id("area", area_id), area["version"],
                    [NewEvent(**event_fields(event))], metadata(p, key))
        stored = await uow.flush()
        return uow.respond(201, {"area_id": str(area_id), "map_id": str(event.map_id),
                                 "sha256": digest, "content_type": image.content_type,
                                 "size": len(data), "width": image.width,
                                 "height": image.height, "version": stored[-1].version})


async def download(rt: ServiceRuntime, p: Principal, area_id: uuid.UUID) -> tuple[bytes, str, str]:
    """The current map: (bytes, content type, sha256)."""
    if p.role == "subscriber":
        raise Forbidden("订阅系统不能读取调查小区", code="role_forbidden")
    s = rt.settings.schema
    async with rt.pool.acquire() as conn:
        area = await repo.area(conn, s, area_id)
        if area is None or not area["village_code"].startswith(jurisdiction(p)):
            raise NotFound("调查小区", str(area_id))
        m = area.get("map")
        row = await conn.fetchrow(f"SELECT content_type, image FROM {s}.area_map_images"
                                  f" WHERE sha256 = $1", m["sha256"]) if m else None
    if row is None:
        raise NotFound("小区图", str(area_id))
    return bytes(row["image"]), row["content_type"], m["sha256"]  # type: ignore[index]
