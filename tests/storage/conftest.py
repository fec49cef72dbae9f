"""A real PostgreSQL server for the register suite (tests/storage/pg.py): one throw-away
cluster per test session (per xdist worker), a fresh database per test.

Where the server binaries are missing, PostgreSQL-backed tests skip with the install hint;
under ``CI=true`` that is a failure instead (``make system-deps`` installs them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage.pg import INSTALL_HINT, PgCluster, find_bindir, running_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's PostgreSQL cluster (started on first use, stopped at the end)."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT + " (CI: make system-deps)")
        pytest.skip(INSTALL_HINT)
    with running_cluster(bindir) as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty database on the session's cluster."""
    return pg_cluster.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the register lives, once per backend: a SQLite file, or a fresh PostgreSQL
    database (its URL). A test taking ``target`` runs against both."""
    if request.param == "sqlite":
        return str(tmp_path / "register.db")
    return str(request.getfixturevalue("pg_url"))
