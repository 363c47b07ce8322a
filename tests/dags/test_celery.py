"""social_listening scaled out on Airflow's own engine: the CeleryExecutor with Redis as broker,
PostgreSQL as Airflow's metadata database and as Earshot's store, and two Celery workers.

The mapped tasks must spread over both workers, and what the run stores, routes and indexes
must equal what one local cycle (``services.pipeline.run_once``) stores. The test needs a Redis
and a PostgreSQL server (CI has both); where either is unreachable it is skipped.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT, sample_labels, scratch_postgres, write_config

DAG_ID = "social_listening"
WORKERS = ("earshot-worker-a", "earshot-worker-b")
POSTGRES_URL = os.environ.get(
    "EARSHOT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("EARSHOT_TEST_REDIS_URL", "redis://127.0.0.1:6379")
RUN_TIMEOUT = 600  # seconds for the DAG run (model loading in every task process is the bulk)
AIRFLOW = Path(sys.executable).with_name("airflow")

# A task's `hostname` in Airflow's metadata is what `core.hostname_callable` returns in the
# task's process. Both workers run on this machine, so each names itself after its Celery
# hostname instead of the machine's name.
HOSTNAME_MODULE = """\
import os
import socket


def hostname():
    return os.environ.get("EARSHOT_TEST_WORKER") or socket.getfqdn()
"""


def _unreachable(url: str, default_port: int) -> str | None:
    """None when a TCP connection to the server of ``url`` opens, else why not."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as e:
        return f"{host}:{port} is not reachable ({e})"


def _skip_reason() -> str | None:
    for name, url, port in (("PostgreSQL", POSTGRES_URL, 5432), ("Redis", REDIS_URL, 6379)):
        problem = _unreachable(url, port)
        if problem:
            return f"{name} at {problem}: the CeleryExecutor test needs Redis and PostgreSQL"
    return None


SKIP_REASON = _skip_reason()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


# -- scratch services --------------------------------------------------------------------------


@contextmanager
def scratch_redis_db() -> Iterator[str]:
    """The URL of an empty Redis database (claimed with a key, so that two test runs on one
    server never share a broker), flushed afterwards."""
    import redis

    base = redis.Redis.from_url(REDIS_URL)
    try:
        count = int(str(base.config_get("databases").get("databases", 16)))
    except redis.RedisError:
        count = 16
    finally:
        base.close()
    token = secrets.token_hex(8)
    for number in range(count - 1, 0, -1):
        client = redis.Redis.from_url(REDIS_URL, db=number)
        if client.dbsize() == 0 and client.set("earshot-test-claim", token, nx=True, ex=3600):
            try:
                yield f"{REDIS_URL.rstrip('/')}/{number}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    pytest.skip(f"no empty Redis database (of {count}) at {REDIS_URL} for the Celery broker")


def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the Airflow deployment --------------------------------------------------------------------


@dataclass
class Deployment:
    """Airflow's components as subprocesses of the test, their output in ``logs``."""

    env: dict[str, str]
    logs: Path
    metadata_url: str
    store_url: str
    api_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def airflow(self, *args: str, timeout: float = 180) -> str:
        result = subprocess.run(
            [str(AIRFLOW), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, (
            f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        return result.stdout

    def start(self, name: str, *args: str, extra_env: dict[str, str] | None = None) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [str(AIRFLOW), *args],
            env=self.env | (extra_env or {}),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
        log.close()

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, (
                f"airflow {name} exited with {process.returncode}\n{self.diagnostics()}"
            )

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def query(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.metadata_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()

    def diagnostics(self) -> str:
        """The tail of every component's output and of every task log that mentions an error."""
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"--- {path.name} (last {len(lines)} lines)\n" + "\n".join(lines))
        task_logs = Path(self.env["AIRFLOW_HOME"]) / "logs"
        for path in sorted(task_logs.rglob("*.log")):
            content = path.read_text(errors="replace")
            if "error" in content.lower():
                parts.append(f"--- task log {path.relative_to(task_logs)}\n" + content[-3000:])
        try:
            states = self.query(
                "SELECT task_id, map_index, state, hostname FROM task_instance"
                " WHERE dag_id = :dag ORDER BY task_id, map_index",
                dag=DAG_ID,
            )
            parts.append("--- task instances\n" + "\n".join(str(tuple(row)) for row in states))
        except Exception as e:  # the metadata database may be what failed
            parts.append(f"--- task instances: unavailable ({e})")
        return "\n".join(parts)


def _wait(what: str, deployment: Deployment, ready: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.check_alive()
        value = ready()
        if value:
            return value
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{deployment.diagnostics()}")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Airflow on the CeleryExecutor (api-server, scheduler, dag-processor, two workers) over
    scratch databases and a scratch Redis database, for the repository's DAG folder."""
    from cryptography.fernet import Fernet

    with (
        scratch_postgres(POSTGRES_URL, "airflow_celery_test") as metadata_url,
        scratch_postgres(POSTGRES_URL, "earshot_celery_test") as store_url,
        scratch_redis_db() as broker_url,
    ):
        home, logs, pylib = tmp_path / "airflow", tmp_path / "logs", tmp_path / "pylib"
        for folder in (home, logs, pylib):
            folder.mkdir()
        (pylib / "earshot_worker_name.py").write_text(HOSTNAME_MODULE, encoding="utf-8")
        port = _free_port()
        api_url = f"http://127.0.0.1:{port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "EARSHOT_ES_", "EARSHOT_TEST_WORKER"))
        } | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "earshot_worker_name.hostname",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            # psycopg 3 serves Airflow's async engine too (its default would be asyncpg).
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "EARSHOT_CONFIG": str(write_config(tmp_path)),
            "EARSHOT_HOME": str(tmp_path / "home"),
            "EARSHOT_DATABASE_URL": store_url,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(pylib)]),
        }
        deployment = Deployment(env, logs, metadata_url, store_url, api_url)
        try:
            deployment.airflow("db", "migrate", timeout=300)
            deployment.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(port))
            deployment.start("scheduler", "scheduler")
            deployment.start("dag-processor", "dag-processor")
            for name in WORKERS:
                deployment.start(
                    name,
                    *("celery", "worker", "--celery-hostname", f"{name}@%h"),
                    *("--concurrency", "1", "--skip-serve-logs"),
                    extra_env={"EARSHOT_TEST_WORKER": name},
                )
            yield deployment
        finally:
            deployment.stop()


def _api_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


# -- what a run leaves in the store ------------------------------------------------------------

SNAPSHOT = {
    "posts": "SELECT id, source FROM posts",
    "enrichments": "SELECT post_id, sentiment, intent, move_private, spam, language"
    " FROM enrichments",
    "queue items": "SELECT post_id, queue, action, priority, status, case_id FROM queue_items",
    "cases": "SELECT id, queue, action, priority, status, opened_post_id FROM cases",
    "case members": "SELECT case_id, post_id, role FROM case_posts",
    "search documents": "SELECT post_id, sentiment, intent, private, spam, queue, action,"
    " status, priority FROM search_documents",
    "dead letters": "SELECT source, fingerprint FROM dead_letters",
    "index outbox": "SELECT post_id, op FROM index_outbox",
}


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The run-independent columns of everything a cycle stores, routes and indexes."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(tuple(row) for row in conn.execute(text(sql)))
                for name, sql in SNAPSHOT.items()
            }
    finally:
        engine.dispose()


def local_run(directory: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """One cycle without Airflow on a fresh SQLite store, with the same configuration."""
    from core.config import load_config
    from services import pipeline

    directory.mkdir()
    monkeypatch.setenv("EARSHOT_HOME", str(directory / "home"))
    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    config = load_config(write_config(directory))
    pipeline.run_once(config)
    return config.database_url


# -- the test ----------------------------------------------------------------------------------


def test_celery_executor_spreads_mapped_tasks_over_two_workers_with_local_results(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wait("the API server", deployment, lambda: _api_healthy(deployment.api_url), 180)
    _wait(
        f"the dag-processor to register {DAG_ID}",
        deployment,
        lambda: deployment.query("SELECT 1 FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
        300,
    )
    # Unpausing lets the scheduler create the DAG's latest scheduled run (catchup is off).
    deployment.airflow("dags", "unpause", DAG_ID)

    def finished() -> tuple[str, str] | None:
        runs = deployment.query(
            "SELECT run_id, state FROM dag_run WHERE dag_id = :d ORDER BY id", d=DAG_ID
        )
        return (runs[0][0], runs[0][1]) if runs and runs[0][1] in ("success", "failed") else None

    started = time.monotonic()
    run_id, state = _wait(f"a {DAG_ID} run to finish", deployment, finished, RUN_TIMEOUT)
    assert state == "success", f"{run_id} ended {state}\n{deployment.diagnostics()}"
    print(f"{run_id}: {state} on the CeleryExecutor in {time.monotonic() - started:.0f}s")

    tasks = deployment.query(
        "SELECT task_id, map_index, state, hostname FROM task_instance"
        " WHERE dag_id = :d AND run_id = :r",
        d=DAG_ID,
        r=run_id,
    )
    mapped = sorted(row for row in tasks if row[1] >= 0)
    print("mapped tasks: " + ", ".join(f"{t}[{i}] on {host}" for t, i, _, host in mapped))
    # Two replayed sources: collect, classify, store and route each run twice.
    assert {(row[0], row[1]) for row in mapped} == {
        (f"{step}_replay", index)
        for step in ("collect", "classify", "store", "route")
        for index in (0, 1)
    }
    assert {row[2] for row in mapped} == {"success"}
    assert {row[3] for row in mapped} == set(WORKERS), "\n".join(map(str, tasks))
    assert {row[3] for row in tasks if row[2] == "success"} <= set(WORKERS)

    distributed = snapshot(deployment.store_url)
    assert len(distributed["posts"]) == len(sample_labels())
    assert distributed["queue items"] and distributed["cases"] and distributed["search documents"]
    assert distributed["index outbox"] == []  # the index task sent every change to the index
    local = snapshot(local_run(tmp_path / "local", monkeypatch))
    print("compared: " + ", ".join(f"{len(rows)} {name}" for name, rows in local.items()))
    for name in SNAPSHOT:
        assert distributed[name] == local[name], name
