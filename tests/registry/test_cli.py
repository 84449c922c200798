"""The import CLI on the real PostgreSQL: progress and summary, the same file twice a no-op."""
import uuid

import asyncpg
import pytest
from rich.console import Console

from gx_registry import cli
from gx_registry.domain.codes import make_uscc

pytestmark = pytest.mark.integration


async def test_cli_imports_a_gb18030_file_once(infra, tmp_path):
    schema = f"t{uuid.uuid4().hex[:8]}_registry"
    rows = ["统一社会信用代码,机构名称,地址,负责人",
            f"{make_uscc('12', '450103', '49800001')},南宁市青秀区长塘镇中心学校,南宁市青秀区长塘镇天堂村1号,覃老师",
            "12450103X,坏代码单位,南宁市青秀区,某人"]
    f = tmp_path / "编制2026-05.csv"
    f.write_bytes("\n".join(rows).encode("gb18030"))
    console = Console(record=True, width=100)
    assert await cli.import_file("编制", f, "450000000000", "cli-test", infra.database_url, schema,
                                 console) == 0
    out = console.export_text()
    assert "导入完成" in out and "新增单位" in out
    again = Console(record=True, width=100)
    assert await cli.import_file("编制", f, "450000000000", "cli-test", infra.database_url, schema,
                                 again) == 0
    assert "不重复导入" in again.export_text()
    conn = await asyncpg.connect(infra.database_url)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.units") == 1
        assert await conn.fetchval(f"SELECT unit_type FROM {schema}.units") == "事业单位"
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.import_errors") == 1
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.events WHERE type = "
                                   f"'registry.import.completed'") == 1
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
