"""Which infrastructure the tests start (gx_devstack.containers): GX_TEST_INFRA, the Docker
probe, the fallback to the embedded stack, the errors. Runs without Docker or testcontainers;
starting real containers is not exercised here."""
from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from gx_devstack import containers
from gx_devstack.containers import Choice, InfraUnavailable, choose
from gx_devstack.infra import Infra


def probes(docker: bool, testcontainers: bool):
    """Probe doubles that record whether they were asked."""
    asked: list[str] = []

    def docker_probe() -> bool:
        asked.append("docker")
        return docker

    def package_probe() -> bool:
        asked.append("testcontainers")
        return testcontainers

    return {"docker": docker_probe, "have_testcontainers": package_probe}, asked


@pytest.mark.parametrize("value", [None, "", "auto", " AUTO "])
def test_unset_or_auto_without_docker_is_embedded(value):
    kw, asked = probes(docker=False, testcontainers=True)
    env = {} if value is None else {"GX_TEST_INFRA": value}
    assert choose(env, **kw) == Choice("embedded", "no Docker engine answers")
    assert asked == ["docker"]  # the package is not even looked for


def test_auto_with_docker_but_no_package_falls_back_and_says_how_to_install():
    kw, _ = probes(docker=True, testcontainers=False)
    choice = choose({}, **kw)
    assert choice.backend == "embedded"
    assert "requirements-containers.txt" in choice.reason


def test_auto_with_docker_and_package_uses_containers():
    kw, _ = probes(docker=True, testcontainers=True)
    assert choose({"GX_TEST_INFRA": "auto"}, **kw).backend == "containers"


@pytest.mark.parametrize("docker", [True, False])
def test_embedded_when_asked_even_with_docker(docker):
    kw, asked = probes(docker=docker, testcontainers=True)
    assert choose({"GX_TEST_INFRA": "embedded"}, **kw).backend == "embedded"
    assert asked == []


def test_containers_when_asked_without_probing():
    kw, asked = probes(docker=False, testcontainers=False)
    assert choose({"GX_TEST_INFRA": "Containers"}, **kw).backend == "containers"
    assert asked == []  # start_containers checks, with the clear errors below


def test_an_unknown_value_is_an_error_naming_the_variable_and_the_choices():
    kw, _ = probes(docker=True, testcontainers=True)
    with pytest.raises(InfraUnavailable, match=r"GX_TEST_INFRA='docker'.*auto, embedded, containers"):
        choose({"GX_TEST_INFRA": "docker"}, **kw)


def test_given_urls_win_over_everything():
    kw, asked = probes(docker=True, testcontainers=True)
    env = {"GX_TEST_INFRA": "containers", "DATABASE_URL": "postgresql://db/x",
           "KAFKA_BOOTSTRAP_SERVERS": "k:9092"}
    assert choose(env, **kw).backend == "external"
    assert asked == []


# --- where the Docker engine is looked for ------------------------------------------------

def test_docker_host_unix_and_tcp():
    assert containers.docker_sockets({"DOCKER_HOST": "unix:///run/user/1/docker.sock"}) == [
        "/run/user/1/docker.sock"]
    assert containers.docker_sockets({"DOCKER_HOST": "tcp://10.0.0.5:2376"}) == [("10.0.0.5", 2376)]
    assert containers.docker_sockets({"DOCKER_HOST": "tcp://dockerd"}) == [("dockerd", 2375)]
    assert containers.docker_sockets({"DOCKER_HOST": "ssh://me@host"}) == []  # not probed


def test_default_sockets_include_rootless_docker():
    paths = containers.docker_sockets({"XDG_RUNTIME_DIR": "/run/user/1000"})
    assert paths[0] == "/var/run/docker.sock"
    assert "/run/user/1000/docker.sock" in paths
    assert "/run/user/1000/docker.sock" not in containers.docker_sockets({})


@contextlib.contextmanager
def fake_engine(answer: bytes):
    """A unix socket that answers one request with `answer`, as a Docker engine would."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "docker.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)

        def serve() -> None:
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                with conn:
                    conn.recv(1024)
                    conn.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield path
        finally:
            server.close()
            thread.join(2)


def test_an_engine_that_answers_the_ping_is_reachable():
    with fake_engine(b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\n\r\nOK") as path:
        assert containers.engine_answers(path)
        # DOCKER_HOST points the probe there
        with fake_engine(b"HTTP/1.1 200 OK\r\n\r\nOK") as other:
            assert containers.docker_reachable({"DOCKER_HOST": f"unix://{other}"})


@pytest.mark.parametrize("answer", [b"HTTP/1.1 500 Internal Server Error\r\n\r\n", b"SSH-2.0-x\r\n",
                                    b""])
def test_something_else_on_the_socket_is_not_an_engine(answer):
    with fake_engine(answer) as path:
        assert not containers.engine_answers(path)


def test_a_missing_or_stale_socket_is_not_an_engine(tmp_path):
    assert not containers.engine_answers(str(tmp_path / "absent.sock"))
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # the file stays, nobody listens
    assert stale.exists() and not containers.engine_answers(str(stale))
    assert not containers.engine_answers(("127.0.0.1", _closed_port()), timeout=0.2)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- starting ---------------------------------------------------------------------------

def test_asking_for_containers_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(containers, "have_testcontainers", lambda: False)
    with pytest.raises(InfraUnavailable, match=r"testcontainers.*requirements-containers\.txt"):
        containers.start_containers()


def test_asking_for_containers_without_an_engine_names_where_it_looked(monkeypatch):
    monkeypatch.setattr(containers, "have_testcontainers", lambda: True)
    monkeypatch.setattr(containers, "docker_reachable", lambda env=None: False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere/docker.sock")
    with pytest.raises(InfraUnavailable, match=r"Docker engine.*/nowhere/docker\.sock"):
        containers.start_containers()


def test_the_package_probe_is_false_when_it_is_not_installed(monkeypatch):
    def find_spec(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(containers.importlib.util, "find_spec", find_spec)
    assert containers.have_testcontainers() is False


@pytest.mark.parametrize(("asked", "started"), [("embedded", "embedded"),
                                                ("containers", "containers")])
def test_start_test_infra_starts_what_was_chosen(monkeypatch, tmp_path, asked, started):
    monkeypatch.setenv("GX_TEST_INFRA", asked)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    calls = []
    monkeypatch.setattr(containers, "start_infra",
                        lambda data_dir, fresh: calls.append(("embedded", data_dir, fresh)) or "E")
    monkeypatch.setattr(containers, "start_containers", lambda: calls.append(("containers",)) or "C")
    infra, choice = containers.start_test_infra(tmp_path)
    assert choice.backend == started and calls[0][0] == started
    assert infra == ("E" if started == "embedded" else "C")
    if started == "embedded":
        assert calls[0][1:] == (tmp_path, True)  # a fresh database, as before


def test_env_for_tests_turns_idempotence_on_only_for_our_kafka():
    tansu = Infra("postgresql://a/gxstat", "127.0.0.1:1")
    ours = Infra("postgresql://a/gxstat", "localhost:2", via="containers")
    given = Infra("postgresql://a/gxstat", "k:9092", kafka_external=True, via="containers")
    assert containers.env_for_tests(tansu) == {"DATABASE_URL": "postgresql://a/gxstat",
                                               "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    assert containers.env_for_tests(ours)["KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert "KAFKA_ENABLE_IDEMPOTENCE" not in containers.env_for_tests(given)
    assert (tansu.real_kafka, ours.real_kafka, given.real_kafka) == (False, True, True)


def test_infra_stop_runs_every_stop_once_in_reverse_even_if_one_fails():
    done = []
    infra = Infra("u", "k")

    def failing():
        done.append("kafka")
        raise RuntimeError("gone")

    infra.on_stop(lambda: done.append("postgres"))
    infra.on_stop(failing)
    infra.stop()
    infra.stop()
    assert done == ["kafka", "postgres"]
