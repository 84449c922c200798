"""小区图 (an area's sketch map): what an uploaded image is, told from its bytes alone. Pure.

PNG: the signature, an IHDR chunk first (width, height), every chunk's CRC, IEND last.
JPEG: SOI, a frame header (SOF0..SOF15 but DHT/JPG/DAC) giving the size, EOI at the end.
Anything else — or a file whose declared type disagrees with its bytes — is refused.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIDE = 20_000


class MapImageError(Exception):
    def __init__(self, code: str, message: str, status: int = 415):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class MapImage:
    content_type: str
    width: int
    height: int


def _bad(what: str) -> MapImageError:
    return MapImageError("bad_map_image", f"小区图文件已损坏或不完整（{what}）", 422)


def _png(data: bytes) -> MapImage:
    pos, first, width, height = 8, True, 0, 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _bad("PNG 数据块越界")
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:end])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise _bad("PNG 校验和不符")
        if first:
            if kind != b"IHDR" or length != 13:
                raise _bad("缺少 PNG 文件头")
            width, height = struct.unpack(">II", body[:8])
            first = False
        if kind == b"IEND":
            return MapImage("image/png", width, height)
        pos = end
    raise _bad("缺少 PNG 结束块")


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> MapImage:
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _bad("缺少 JPEG 结束标记")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _bad("JPEG 标记错误")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise _bad("JPEG 数据段越界")
        if marker in _SOF:
            if length < 7:
                raise _bad("JPEG 帧头过短")
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return MapImage("image/jpeg", width, height)
        if marker == 0xDA:  # scan before any frame header
            break
        pos += 2 + length
    raise _bad("缺少 JPEG 帧头")


def sniff(data: bytes, declared: str | None, max_bytes: int) -> MapImage:
    """The image the bytes are, checked against the declared Content-Type and the bounds."""
    if not data:
        raise MapImageError("empty_map_image", "未上传小区图（请求体为空）", 422)
    if len(data) > max_bytes:
        raise MapImageError("map_image_too_large",
                            f"小区图过大（最大 {max_bytes // 1024} KiB）", 413)
    if data.startswith(PNG_SIGNATURE):
        image = _png(data)
    elif data.startswith(b"\xff\xd8\xff"):
        image = _jpeg(data)
    else:
        raise MapImageError("unsupported_map_image", "小区图须为 PNG 或 JPEG 图片")
    media = (declared or "").split(";", 1)[0].strip().lower()
    if media == "image/jpg":
        media = "image/jpeg"
    if media != image.content_type:
        raise MapImageError("map_type_mismatch",
                            f"声明的文件类型（Content-Type: {media[:40] or '无'}）与文件内容"
                            f"（{image.content_type}）不符")
    if not (1 <= image.width <= MAX_SIDE and 1 <= image.height <= MAX_SIDE):
        raise _bad(f"图片尺寸应为1～{MAX_SIDE}像素")
    return image
