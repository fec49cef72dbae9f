"""A throw-away PostgreSQL cluster for the register tests and benchmarks: ``initdb`` into a
temporary folder, ``pg_ctl start`` listening on a Unix socket in that folder only (no TCP),
``pg_ctl stop`` at the end. No mock: Debian's ``postgresql`` package (``make system-deps``).

As root (CI, containers), ``initdb`` refuses to run: the cluster then runs as the
``postgres`` system user when it exists (the Debian package creates it), else ``nobody``,
through ``runuser``; the folder is handed to that user. Authentication is ``trust`` on the
private socket, which only this folder's owner and root can reach.

Importable without pytest (``benchmarks/bench_batch.py`` uses it too).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PgCluster", "find_bindir", "running_cluster"]

INSTALL_HINT = "PostgreSQL server binaries not found: apt-get install postgresql"


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$PG_BINDIR``, Debian's
    ``/usr/lib/postgresql/<newest>/bin``, or ``PATH``."""
    env = os.environ.get("PG_BINDIR")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(p)
        for p in sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
            reverse=True,
        )
    ]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for c in candidates:
        if (c / "initdb").is_file() and (c / "pg_ctl").is_file():
            return c
    return None


def _run_as() -> str | None:
    """The user to run the server as when we are root (``None``: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL")


class PgCluster:
    """One cluster in ``base`` (created by :meth:`start`)."""

    def __init__(self, bindir: Path, base: Path) -> None:
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.sock = base / "sock"
        self.log = base / "server.log"
        self.port = 5432  # only names the socket file: no TCP listener
        self.user = _run_as()
        self._dbs = 0

    # -- running commands as the cluster's owner ------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            return ["runuser", "-u", self.user, "--", *cmd]
        return cmd

    def _run(self, *args: str, timeout: float = 120) -> str:
        p = subprocess.run(
            self._cmd(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd=self.base,
        )
        if p.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({p.returncode}): {p.stdout}{p.stderr}{log}")
        return p.stdout

    def start(self) -> None:
        """``initdb`` (first time only) and ``pg_ctl start``; waits until it accepts."""
        self.sock.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            for p in (self.base, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        self.base.chmod(0o700)
        if not self.data.exists():
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        self.pg_ctl_start()

    def pg_ctl_start(self) -> None:
        """Start the (initialised) server again, e.g. after ``stop(mode="immediate")``."""
        opts = (
            f"-c listen_addresses='' -k {self.sock} -p {self.port} "
            "-c shared_buffers=32MB -c max_connections=60 -c fsync=on"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", opts, "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast|immediate`` (immediate: like a crash; WAL replay on start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` over the cluster's socket."""
        return f"postgresql://postgres@/{dbname}?host={self.sock}&port={self.port}"

    def admin(self, sql: str, dbname: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement as the superuser (autocommit) and return its rows."""
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]  # test-only SQL
            return list(cur.fetchall()) if cur.description else []

    def new_database(self, prefix: str = "t") -> str:
        """Create a fresh, empty database; returns its URL."""
        self._dbs += 1
        name = f"{prefix}_{os.getpid()}_{self._dbs}_{int(time.time() * 1000) % 100000}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def terminate_backends(self, url: str) -> int:
        """``pg_terminate_backend`` every other connection to ``url``'s database: the
        connections drop as if the network failed. Returns how many."""
        dbname = url.split("/", 3)[3].split("?", 1)[0]
        if not dbname.replace("_", "").isalnum():
            raise ValueError(dbname)
        rows = self.admin(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "  # noqa: S608 - checked name
            f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()"
        )
        return int(rows[0][0])  # type: ignore[call-overload]


@contextlib.contextmanager
def running_cluster(bindir: Path | None = None) -> Iterator[PgCluster]:
    """A started cluster in a fresh temporary folder; stopped and removed afterwards."""
    found = bindir or find_bindir()
    if found is None:
        raise FileNotFoundError(INSTALL_HINT)
    # As root the server runs as another user, who must be able to reach the folder: a
    # TMPDIR under /root (0700) would not do, /tmp does.
    parent = "/tmp" if os.geteuid() == 0 and Path("/tmp").is_dir() else None
    base = Path(tempfile.mkdtemp(prefix="bk-pg-", dir=parent))
    cluster = PgCluster(found, base)
    try:
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.stop("fast")
        shutil.rmtree(base, ignore_errors=True)
