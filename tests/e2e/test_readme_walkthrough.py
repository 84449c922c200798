"""Issue 13 §7: the README's walk-through runs as pasted, and `make run` is found where it says.

The README's bash block is run unchanged by bash (only curl and python3) against the in-process
stack, from a folder whose `.data/devstack/gateway-url` names that stack's gateway, as
`make run` writes it. Then the launcher's own checks: the free-port test agrees with uvicorn's
SO_REUSEADDR, and readiness refuses a gateway that is not the process it started.
"""
from __future__ import annotations

import asyncio
import http.server
import json
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from gx_devstack import run as devrun
from gx_devstack.demo import TASKS
from gx_devstack.procs import free_port, port_is_free

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The first slice by hand"


def walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert blocks, "the walk-through has no bash block"
    return "\n".join(blocks)


async def paste(script: str, cwd: Path) -> tuple[int, str]:
    """Run the block as a person pasting it would, but stop at the first failing step."""
    proc = await asyncio.create_subprocess_exec(
        "bash", "-e", "-o", "pipefail", "-c", script, cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode("utf-8", "replace")


def test_the_walkthrough_does_not_meet_the_demo_data():
    script = walkthrough()
    assert "8000" not in script and "gateway-url" in script
    period = re.search(r'"period":"([^"]+)"', script).group(1)
    form = re.search(r'"form_code":"([^"]+)"', script).group(1)
    assert (form, period) not in {(t["form_code"], t["period"]) for t in TASKS.values()}
    keys = re.findall(r"Idempotency-Key: ([^\"']+)", script)
    assert keys and all(k.startswith("$RUN-") for k in keys) and len(set(keys)) == len(keys)


async def test_readme_walkthrough_runs_as_pasted_twice(stack, tmp_path):
    url_file = tmp_path / ".data" / "devstack" / devrun.URL_FILE
    url_file.parent.mkdir(parents=True)
    url_file.write_text(stack.gateway_url + "\n")  # what `make run` leaves there
    script = walkthrough()
    rids = []
    for attempt in (1, 2):  # a second paste must not collide with the first one's keys
        code, out = await paste(script, tmp_path)
        assert code == 0, f"paste {attempt} failed:\n{out}"
        last = out.strip().splitlines()[-1]
        m = re.fullmatch(r"report ([0-9a-f-]{36}): confirmed", last)
        assert m, f"paste {attempt} did not end confirmed:\n{out}"
        rids.append(m.group(1))
    assert rids[0] != rids[1]  # each paste publishes its own task

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        village = await stack.login(client, "tiantang_cun")
        for rid in rids:
            r = (await client.get(f"/api/v1/agri/reports/{rid}", headers=village)).json()
            assert r["status"] == "confirmed" and r["read_only"] is True
            assert r["values"]["early_rice_output"] == 117000
        region = await stack.login(client, "qu_tongji")
        case = (await client.get(f"/api/v1/workflow/cases/by-subject/agri.report/{rids[1]}",
                                 headers=region)).json()
        steps = (await client.get(f"/api/v1/workflow/cases/{case['case_id']}/history",
                                  headers=region)).json()["steps"]
        accepts = [s for s in steps if s["action"] == "accept"]
        assert [s["role"] for s in accepts] == ["township_statistician", "region_statistician"]
        tasks = (await client.get("/api/v1/agri/tasks", headers=region)).json()["items"]
        assert not [t for t in tasks if t["period"] == "2026-EARLY"]  # no second 早稻 task


def test_free_port_check_agrees_with_uvicorn_after_time_wait():
    """A port whose last connection sits in TIME_WAIT is free for uvicorn (SO_REUSEADDR)."""
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the side that closes first keeps TIME_WAIT on `port`
    client.close()
    server.close()
    assert port_is_free(port)
    with socket.create_server(("127.0.0.1", port)):  # as uvicorn binds (SO_REUSEADDR)
        assert not port_is_free(port)  # a listener still makes it taken


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = json.dumps({"status": "ready"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_readiness_refuses_another_programs_gateway():
    """Something else answers /ready on the gateway's port: `make run` must not take it for
    the gateway it started (which is still starting, or cannot bind)."""
    other = http.server.HTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        problem = devrun.wait_ready({"gateway": ours}, {"gateway": other.server_port},
                                    threading.Event(), timeout=10)
        assert problem and "another program" in problem and str(other.server_port) in problem
    finally:
        ours.kill()
        ours.wait()
        other.shutdown()
        other.server_close()


def test_readiness_accepts_the_process_it_started():
    port = free_port()
    code = ("import http.server, json\n"
            "class H(http.server.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200); self.send_header('content-length', '0');"
            " self.end_headers()\n"
            "    def log_message(self, *a): pass\n"
            f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n")
    ours = subprocess.Popen([sys.executable, "-c", code])
    try:
        assert devrun.wait_ready({"gateway": ours}, {"gateway": port}, threading.Event(),
                                 timeout=20) is None
    finally:
        ours.kill()
        ours.wait()
