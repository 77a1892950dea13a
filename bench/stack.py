"""The production stack a benchmark serves: a throwaway PostGIS database, a redis-server
of its own, uvicorn workers and a Celery worker as processes, and their CPU and memory
read from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait(check: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout_s:.0f} s")
        time.sleep(0.1)


@contextmanager
def database() -> Iterator[str]:
    name = f"vicinity_bench_ingest_{os.getpid()}"
    host, user = os.environ.get("PGHOST", "127.0.0.1"), os.environ.get("PGUSER", "postgres")
    admin = f"host={host} user={user} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"host={host} user={user} dbname={name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    try:
        yield f"postgresql+psycopg://{user}@{host}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis(workdir: Path) -> Iterator[str]:
    port = free_port()
    args = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    args += ["--dir", str(workdir), "--logfile", str(workdir / "redis.log")]
    proc = subprocess.Popen(["redis-server", *args])
    try:
        import redis

        client = redis.Redis(port=port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait(up, "redis-server", 10)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def production_env(url: str, redis_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a bench's production-style processes (API workers, Celery): its
    own database and Redis, a real worker rather than eager tasks, and ``extra``."""
    return {
        **os.environ,
        "VICINITY_DATABASE_URL": url,
        "VICINITY_REDIS_URL": redis_url,
        "VICINITY_VAR_DIR": str(workdir / "var"),
        "VICINITY_CELERY_EAGER": "false",
        **extra,
    }


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return pids


def cpu_s(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat: everyone's work."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def busy_share(since: tuple[int, int]) -> float:
    """Share of the machine's cores busy since ``since`` (a :func:`machine_ticks`)."""
    busy, total = machine_ticks()
    return (busy - since[0]) / max(1, total - since[1])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Server:
    name: str
    base: str
    proc: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        return tree(self.proc.pid)

    def worker_pids(self) -> list[int]:
        # With --workers N uvicorn's supervisor only watches the spawned workers; with one
        # worker it serves itself.
        kids = [p for p in self.pids() if "spawn_main" in cmdline(p)]
        return kids or [self.proc.pid]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@contextmanager
def serve(name: str, factory: str, env: dict[str, str], workers: int) -> Iterator[Server]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} server exited with {proc.returncode}")
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait(healthy, f"{name} server")
        if workers > 1:  # every worker up (each loads the index), not just the first
            wait(lambda: len(Server(name, base, proc).worker_pids()) >= workers, name)
            time.sleep(0.5 * workers)
        yield Server(name, base, proc)
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def celery(
    env: dict[str, str], workdir: Path, concurrency: int = 1, name: str = "celery"
) -> Iterator[subprocess.Popen[bytes]]:
    # ``name``: the node name, distinct for each of several workers on one broker.
    cmd = [sys.executable, "-m", "celery", "-A", "server.celery", "worker", "-n", f"{name}@%h"]
    cmd += ["--concurrency", str(concurrency), "--loglevel", "warning"]
    cmd += ["--without-gossip", "--without-mingle"]
    with (workdir / "celery.log").open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


# --- load ------------------------------------------------------------------------------
