"""Harness for interop tests against independent Node.js implementations.

Each peer lives in ``tests/interop/<name>/``: a ``package.json`` with exact versions, its
``package-lock.json`` (``make interop-deps`` runs ``npm ci`` there) and a script that reads one
JSON command on stdin and writes one JSON answer on stdout::

    {"ok": true, "result": ...}   or   {"ok": false, "error": {"name": ..., "message": ...}}

A non-zero exit status means the peer itself broke, and fails the test.

Without ``node`` or the peer's ``node_modules`` the tests are skipped with the reason, except
under ``CI=true``: there ``make test`` installs both, so their absence is a failure.

Example::

    def test_something(node_peer):
        peer = node_peer("sdjwt-node")
        token = peer.call("issue", claims={...})["sd_jwt"]
        message = peer.fails("verify", token=token + "x")
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INTEROP_DIR = Path(__file__).resolve().parent
MIN_NODE_MAJOR = 20


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@functools.cache
def _node_problem() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "Node.js (`node`) is not on PATH"
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"`node --version` failed: {e}"
    try:
        major = int(out.lstrip("v").split(".", 1)[0])
    except ValueError:
        return f"cannot read the Node.js version from {out!r}"
    if major < MIN_NODE_MAJOR:
        return f"Node.js {out} is older than {MIN_NODE_MAJOR}"
    return None


def _deps_problem(directory: Path) -> str | None:
    """Every dependency in package.json must be installed (what `npm ci` leaves behind)."""
    if not (directory / "package-lock.json").is_file():
        return f"{directory.name}/package-lock.json is missing"
    deps = json.loads((directory / "package.json").read_text(encoding="utf-8")).get(
        "dependencies", {}
    )
    missing = [n for n in deps if not (directory / "node_modules" / n / "package.json").is_file()]
    if missing:
        return (
            f"{directory.name}/node_modules lacks {', '.join(sorted(missing))}; "
            "run `make interop-deps`"
        )
    return None


class PeerFailure(AssertionError):
    """The peer crashed or answered something other than the protocol's JSON."""


@dataclass(frozen=True, slots=True)
class NodePeer:
    """One Node.js peer script; each command runs in a fresh ``node`` process."""

    directory: Path
    script: str = "peer.mjs"
    timeout: float = 60.0

    def run(self, op: str, **args: Any) -> dict[str, Any]:
        """Send ``{"op": op, **args}``; return the raw answer (``ok`` true or false)."""
        proc = subprocess.run(
            ["node", self.script],
            cwd=self.directory,
            input=json.dumps({"op": op, **args}).encode("utf-8"),
            capture_output=True,
            timeout=self.timeout,
            check=False,
        )
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise PeerFailure(f"{self.directory.name} {op}: exit {proc.returncode}\n{stderr}")
        try:
            answer = json.loads(proc.stdout)
        except ValueError as e:
            raise PeerFailure(f"{self.directory.name} {op}: not JSON: {proc.stdout[:500]!r}") from e
        if not isinstance(answer, dict) or "ok" not in answer:
            raise PeerFailure(f"{self.directory.name} {op}: unexpected answer {answer!r}")
        return answer

    def call(self, op: str, **args: Any) -> Any:
        """Run a command that must succeed; return its ``result``."""
        answer = self.run(op, **args)
        if not answer["ok"]:
            err = answer.get("error", {})
            raise AssertionError(
                f"{self.directory.name} {op} failed: {err.get('name')}: {err.get('message')}"
            )
        return answer["result"]

    def fails(self, op: str, **args: Any) -> str:
        """Run a command that must be refused; return the peer's error message."""
        answer = self.run(op, **args)
        if answer["ok"]:
            raise AssertionError(f"{self.directory.name} {op} unexpectedly succeeded: {answer}")
        return str(answer.get("error", {}).get("message", ""))


def require_node_peer(dirname: str, script: str = "peer.mjs") -> NodePeer:
    """The peer in ``tests/interop/<dirname>``; skips (fails under CI) when not installed."""
    directory = INTEROP_DIR / dirname
    problem = _node_problem() or _deps_problem(directory)
    if problem is not None:
        if _in_ci():
            pytest.fail(f"interop peer {dirname} unavailable under CI: {problem}")
        pytest.skip(f"interop peer {dirname} unavailable: {problem}")
    if not (directory / script).is_file():
        raise PeerFailure(f"{dirname}/{script} does not exist")
    return NodePeer(directory, script)


@pytest.fixture
def node_peer() -> Callable[..., NodePeer]:
    """Factory: ``node_peer("sdjwt-node")`` gives a ready :class:`NodePeer` or skips."""
    return require_node_peer
