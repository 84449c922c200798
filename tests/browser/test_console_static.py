"""The gateway serves the console without a browser: page, assets, catalogues, no escapes."""
from __future__ import annotations

import json
import re

from gx_contracts.events.workflow import RETURN_REASONS


async def test_console_page_and_assets(api):
    r = await api.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in r.text and "/console/app.js" in r.text
    r = await api.get("/console/app.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    again = await api.get("/console/app.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    r = await api.get("/console/vendor/echarts.min.js")
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    assert (await api.get("/console/vendor/echarts.LICENSE.txt")).status_code == 200
    assert "Apache" in (await api.get("/console/vendor/echarts.NOTICE.txt")).text


async def test_no_files_outside_the_static_folder(api):
    for path in ("/console/../router.py", "/console/%2e%2e/router.py", "/console/__init__.py",
                 "/console/nope.js", "/console/..%2F..%2Fmain.py"):
        r = await api.get(path)
        # 404 from the console, or 400 when the gateway's input guard refuses the path first
        assert r.status_code in (400, 404), (path, r.status_code)


async def test_catalogues_for_the_console(api):
    meta = (await api.get("/console/meta.json")).json()
    assert {x["code"]: x["label"] for x in meta["return_reasons"]} == RETURN_REASONS
    assert meta["roles"]["township_statistician"] == "乡镇统计员"
    features = (await api.get("/console/features.json")).json()
    assert isinstance(features["exports"], list) and isinstance(features["progress_stream"], bool)


async def test_service_worker_at_the_root_scope(api):
    """/sw.js: allowed to control `/`, lists the app shell, and changes when a file changes."""
    r = await api.get("/sw.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["service-worker-allowed"] == "/"
    assert r.headers["cache-control"] == "no-cache"
    assert "__VERSION__" not in r.text and "__SHELL__" not in r.text
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", r.text).group(1))
    assert {"/", "/console/app.js", "/console/report.js", "/console/app.css"} <= set(shell)
    assert "/console/sw.js" not in shell
    for path in shell:  # every file of the shell is served (install fails on a single 404)
        assert (await api.get(path)).status_code == 200, path
