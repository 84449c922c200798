"""The tests' infrastructure: the embedded one (default), or PostgreSQL and Apache Kafka in
Docker through testcontainers.

    GX_TEST_INFRA=embedded    embedded PostgreSQL + Tansu (gx_devstack.infra), always
    GX_TEST_INFRA=containers  testcontainers; a clear error if the package or the engine is missing
    unset (or auto)           containers when a Docker engine answers and testcontainers is
                              installed (requirements-containers.txt), else embedded

DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, when set, win over both: that part is not started
(both set: nothing starts, nothing is probed).
testcontainers is imported only on the containers path: this machine and CI need neither it
nor Docker.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gx_devstack.infra import DB_NAME, Infra, start_infra, track

ENV = "GX_TEST_INFRA"
CHOICES = ("auto", "embedded", "containers")
# Apache Kafka as Confluent packages it; the testcontainers module runs it in KRaft mode.
KAFKA_IMAGE = os.environ.get("GX_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.6.1")
POSTGRES_IMAGE = os.environ.get("GX_TEST_POSTGRES_IMAGE", "postgres:17-alpine")
INSTALL_HINT = "pip install -r requirements-containers.txt"


class InfraUnavailable(RuntimeError):
    """The infrastructure asked for cannot be started here (what is missing is named)."""


@dataclass(frozen=True)
class Choice:
    backend: str  # "embedded" | "containers" | "external" (both URLs given: nothing starts)
    reason: str  # one line for the test report header


def choose(env: Mapping[str, str], *, docker: Callable[[], bool],
           have_testcontainers: Callable[[], bool]) -> Choice:
    """Which infrastructure the tests use. Pure but for the two probes, called only if needed."""
    asked = (env.get(ENV) or "auto").strip().lower()
    if asked not in CHOICES:
        raise InfraUnavailable(f"{ENV}={env.get(ENV)!r}: expected one of {', '.join(CHOICES)}")
    if env.get("DATABASE_URL") and env.get("KAFKA_BOOTSTRAP_SERVERS"):
        return Choice("external", "DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS given")
    if asked == "embedded":
        return Choice("embedded", f"{ENV}=embedded")
    if asked == "containers":
        return Choice("containers", f"{ENV}=containers")
    if not docker():
        return Choice("embedded", "no Docker engine answers")
    if not have_testcontainers():
        return Choice("embedded", f"Docker answers but testcontainers is not installed "
                                  f"({INSTALL_HINT})")
    return Choice("containers", "a Docker engine answers and testcontainers is installed")


def have_testcontainers() -> bool:
    """Whether `testcontainers` (with its postgres and kafka modules) can be imported."""
    try:
        return all(importlib.util.find_spec(m) is not None
                   for m in ("testcontainers.postgres", "testcontainers.kafka"))
    except ModuleNotFoundError:  # the parent package itself is absent
        return False


def docker_sockets(env: Mapping[str, str]) -> list[str | tuple[str, int]]:
    """Where a Docker engine would listen: DOCKER_HOST, else the usual socket paths."""
    host = env.get("DOCKER_HOST", "").strip()
    if host:
        url = urlsplit(host)
        if url.scheme == "unix":
            return [url.path]
        if url.scheme == "tcp" and url.hostname:
            return [(url.hostname, url.port or 2375)]
        return []  # ssh://, npipe://: not probed; GX_TEST_INFRA=containers forces the path
    paths = ["/var/run/docker.sock", str(Path.home() / ".docker/run/docker.sock")]
    if env.get("XDG_RUNTIME_DIR"):
        paths.insert(1, f"{env['XDG_RUNTIME_DIR']}/docker.sock")  # rootless Docker
    return paths


def engine_answers(address: str | tuple[str, int], timeout: float = 1.0) -> bool:
    """Whether a Docker engine answers GET /_ping there (a stale socket file does not)."""
    if isinstance(address, str) and not os.path.exists(address):
        return False
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(address)
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return False
    status = head.split(b"\r\n", 1)[0].split()  # b"HTTP/1.1 200 OK"
    return len(status) >= 2 and status[0].startswith(b"HTTP/") and status[1] == b"200"


def docker_reachable(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return any(engine_answers(a) for a in docker_sockets(env))


def env_for_tests(infra: Infra) -> dict[str, str]:
    """The variables the services under test read: the URLs, and idempotent producers when the
    broker is the Apache Kafka we started (Tansu lacks them; a given broker keeps its setting)."""
    env = {"DATABASE_URL": infra.database_url, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap}
    if infra.via == "containers" and not infra.kafka_external:
        env["KAFKA_ENABLE_IDEMPOTENCE"] = "true"
    return env


def start_test_infra(data_dir: Path) -> tuple[Infra, Choice]:
    """The tests' PostgreSQL and Kafka, chosen as the module docstring says."""
    choice = choose(os.environ, docker=docker_reachable, have_testcontainers=have_testcontainers)
    if choice.backend != "containers":  # start_infra starts nothing for given URLs
        return start_infra(data_dir, fresh=True), choice
    return start_containers(), choice


def start_containers() -> Infra:
    """PostgreSQL and Apache Kafka (KRaft) in Docker; stopped (and removed) by Infra.stop."""
    if not have_testcontainers():
        raise InfraUnavailable(f"{ENV}=containers needs the testcontainers package: "
                               f"{INSTALL_HINT}")
    if not docker_reachable():
        raise InfraUnavailable(f"{ENV}=containers needs a Docker engine; none answers at "
                               f"{docker_sockets(os.environ) or 'DOCKER_HOST'} (start Docker, "
                               f"set DOCKER_HOST, or use {ENV}=embedded)")
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    db_env = os.environ.get("DATABASE_URL")
    kafka_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    infra = track(Infra(database_url=db_env or "", kafka_bootstrap=kafka_env or "",
                        db_external=bool(db_env), kafka_external=bool(kafka_env),
                        via="containers"))
    try:
        if not db_env:
            pg = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres",
                                   dbname=DB_NAME, driver=None)
            # five services and the tests need more than the default 100 connections
            pg.with_command("postgres -c max_connections=300")
            infra.on_stop(pg.stop)
            pg.start()
            infra.database_url = pg.get_connection_url()
        if not kafka_env:
            kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
            # a one-broker cluster: its internal topics with one replica each
            for key in ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
                kafka.with_env(key, "1")
            infra.on_stop(kafka.stop)
            kafka.start()
            infra.kafka_bootstrap = kafka.get_bootstrap_server()
    except BaseException:
        infra.stop()
        raise
    print(f"gx test infra: containers {POSTGRES_IMAGE} + {KAFKA_IMAGE}", file=sys.stderr)
    return infra
