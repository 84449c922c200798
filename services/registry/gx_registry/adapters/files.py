"""Department files, read row by row (never whole in memory): CSV in UTF-8 or GB18030, XLSX.

The encoding of a CSV is decided on its first 64 KiB: valid UTF-8 (BOM or not) is UTF-8,
anything else GB18030 (a superset of GBK/GB2312, what Excel on a Chinese Windows writes).
XLSX goes through openpyxl's read-only mode (rows streamed from the sheet's XML).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

MAX_ROWS = 1_000_000
MAX_COLUMNS = 200
_SAMPLE = 64 * 1024


class FileProblem(ValueError):
    """The file as a whole cannot be read (stable `code`, Chinese message)."""

    def __init__(self, code: str, message_zh: str):
        super().__init__(message_zh)
        self.code = code


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def kind_of(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        return "xlsx"
    return "csv"


def rows(path: Path) -> Iterator[list[Any]]:
    """The header, then every row (lists of cell values); bounded in rows and columns."""
    reader = _xlsx_rows(path) if kind_of(path) == "xlsx" else _csv_rows(path)
    for n, row in enumerate(reader):
        if n > MAX_ROWS:
            raise FileProblem("file.too_many_rows", f"文件超过 {MAX_ROWS:,} 行，请分批导入")
        if len(row) > MAX_COLUMNS:
            raise FileProblem("file.too_many_columns", f"第{n + 1}行超过 {MAX_COLUMNS} 列")
        yield row


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(_SAMPLE))
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            yield from csv.reader(text)
        except UnicodeDecodeError as exc:
            raise FileProblem("file.encoding", f"文件编码无法识别（既不是UTF-8也不是GB18030）：{exc.reason}"
                              ) from None
        except csv.Error as exc:
            raise FileProblem("file.csv", f"CSV 格式错误：{exc}") from None


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    import openpyxl  # only when an XLSX arrives
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileProblem("file.xlsx", f"XLSX 文件无法打开：{exc}") from None
    try:
        ws = wb.worksheets[0]
        for row in ws.iter_rows(values_only=True):
            cells = list(row)
            while cells and cells[-1] is None:
                cells.pop()
            if cells:
                yield [_cell(c) for c in cells]
    finally:
        wb.close()


def _cell(v: Any) -> Any:
    """Codes typed as numbers stay codes: 450103103201(.0) -> "450103103201"."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def copy_stream(src: BinaryIO, dst: Path) -> None:
    with dst.open("wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            out.write(chunk)
