"""``make interop-deps`` without Node.js: a notice outside CI, an error in CI (issue 11.8).

The target runs with a ``PATH`` holding only a temporary directory, so ``npm`` is missing
whatever the machine has installed; ``make`` itself is called by its absolute path and runs its
recipes with ``/bin/sh``. A fake ``npm`` in that directory shows the set-up still runs when npm
is there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make_interop(bin_dir: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MAKEFLAGS", "MFLAGS")}
    env["PATH"] = str(bin_dir)
    if ci is not None:
        env["CI"] = ci
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "-s", "-C", str(ROOT), "interop-deps"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_without_npm_outside_ci_skips_with_a_notice(tmp_path: Path, ci: str | None) -> None:
    p = make_interop(tmp_path, ci)
    assert p.returncode == 0, p.stderr
    assert "notice: npm not found" in p.stdout
    assert "interop tests will be skipped" in p.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_without_npm_in_ci_fails(tmp_path: Path, ci: str) -> None:
    p = make_interop(tmp_path, ci)
    assert p.returncode != 0
    assert "npm not found" in p.stderr and "install Node.js" in p.stderr
    assert "notice" not in p.stdout


@pytest.mark.parametrize("ci", [None, "true"])
def test_with_npm_runs_npm_ci_in_each_interop_peer(tmp_path: Path, ci: str | None) -> None:
    log = tmp_path / "npm.log"
    npm = tmp_path / "npm"
    npm.write_text(f'#!/bin/sh\necho "$PWD $*" >> "{log}"\n')
    npm.chmod(0o755)
    p = make_interop(tmp_path, ci)
    assert p.returncode == 0, p.stderr
    assert "notice" not in p.stdout
    calls = log.read_text().splitlines()
    peers = sorted(d.parent for d in (ROOT / "tests" / "interop").glob("*/package-lock.json"))
    assert peers, "no interop peer with a package-lock.json"
    assert sorted(Path(c.split(" ", 1)[0]) for c in calls) == peers
    assert all(" ci " in f" {c.split(' ', 1)[1]} " for c in calls)


def test_failing_npm_fails_the_target(tmp_path: Path) -> None:
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\nexit 3\n")
    npm.chmod(0o755)
    assert make_interop(tmp_path, None).returncode != 0
