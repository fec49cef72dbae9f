"""Shared fixtures and timing for the benchmarks (not part of the library or its tests).

The fixtures are the pilot's organisations and fictional citizen on the pilot's fixed day:

* ``debt_statement_20()``: a CJIB debt statement whose profile makes exactly 20 claims
  selectively disclosable (subject 4, totals 5, arrangement 1 + 7, collection_hold 1 + 2);
  ``DEBT_DISCLOSE`` reveals 5 of them.
* ``rode_knop_declaration()``: ``examples/data/rode-knop-declaration.json``; ``rode_knop_paths``
  reveals what ``examples/data/requests/rode-knop-check*.json`` asks for.

Timing is per call: each call is timed on its own with ``perf_counter_ns`` and the median is
reported, the same way the Node.js scripts in ``benchmarks/node/`` time the peers with
``process.hrtime.bigint()``.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blauweknop import Key, TrustList, Verifier, build_trust_list

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
NODE_DIR = ROOT / "benchmarks" / "node"
INTEROP = ROOT / "tests" / "interop"
CONTEXTS_DIR = ROOT / "src" / "blauweknop" / "contexts"

CJIB = "urn:oin:00000001003214345000"
EINDHOVEN = "urn:oin:00000001001234567000"
#: The pilot's fixed day (examples/pilot.py), so every run sees valid credentials.
PILOT_DAY = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
NOW = int(PILOT_DAY.timestamp())
NONCE = "bench-nonce-0123456789"
#: The verifier the presentations are for (CJIB asks in the pilot).
AUDIENCE = CJIB

#: What the debt-statement presentation reveals: 5 of its 20 disclosable claims.
DEBT_DISCLOSE: tuple[tuple[str, ...], ...] = (
    ("subject", "family_name"),
    ("subject", "birthdate"),
    ("totals", "outstanding"),
    ("totals", "in_arrears"),
    ("totals", "number_of_cases"),
)


def debt_statement_20() -> dict[str, Any]:
    """The pilot's CJIB statement without cases, with an arrangement and a collection hold:
    20 claims the debt-statement profile marks ``sd: always``."""
    claims = json.loads((DATA / "debt-statement.json").read_text(encoding="utf-8"))
    del claims["cases"]
    claims["totals"]["number_of_cases"] = 2
    claims["collection_hold"] = {"active": True, "until": "2027-03-15"}
    return claims


def rode_knop_declaration() -> dict[str, Any]:
    """The pilot's Rode Knop declaration, as in ``examples/data``."""
    return json.loads((DATA / "rode-knop-declaration.json").read_text(encoding="utf-8"))


def rode_knop_paths(fmt: str) -> list[tuple[str | int, ...]]:
    """The claim paths ``rode-knop-check.json`` (``-di`` for the W3C encoding) asks for."""
    name = "rode-knop-check.json" if fmt == "sd-jwt" else "rode-knop-check-di.json"
    req = json.loads((DATA / "requests" / name).read_text(encoding="utf-8"))
    return [tuple(c["path"]) for c in req["credentials"][0]["claims"]]


def count_sd(profile: Any, claims: Any, path: tuple[Any, ...] = ()) -> int:
    """How many disclosures ``profile.mark(claims)`` makes (to keep the fixture honest)."""
    n = 0
    if isinstance(claims, dict):
        for k, v in claims.items():
            n += (profile.sd_rule((*path, k)) in ("always", "allowed")) + count_sd(
                profile, v, (*path, k)
            )
    elif isinstance(claims, list):
        for i, v in enumerate(claims):
            n += (profile.sd_rule((*path, i)) in ("always", "allowed")) + count_sd(
                profile, v, (*path, i)
            )
    return n


def entry(org_id: str, name: str, roles: list[str], key: Key) -> dict[str, Any]:
    """A trust-list entry for one organisation key."""
    return {"id": org_id, "name": name, "roles": roles, "jwks": {"keys": [key.public_jwk()]}}


@dataclass
class World:
    """Keys, trust list and verifier of the pilot (no status lists: those are benchmarked in
    ``bench_status_list.py``; the verifier here accepts credentials without a status check)."""

    anchor: Key
    cjib: Key
    eindhoven: Key
    holder: Key
    trust_token: str
    trust: TrustList
    verifier: Verifier

    @classmethod
    def create(cls) -> World:
        anchor, cjib, eindhoven, holder = (Key.generate("ES256") for _ in range(4))
        token = build_trust_list(
            [
                entry(CJIB, "CJIB", ["creditor"], cjib),
                entry(EINDHOVEN, "Gemeente Eindhoven", ["municipality"], eindhoven),
            ],
            anchor,
            valid_days=30,
            now=NOW - 86400,
        )
        trust = TrustList.verify(token, anchor.public(), now=NOW)
        verifier = Verifier(trust, status=None, allow_missing_status=True)
        return cls(anchor, cjib, eindhoven, holder, token, trust, verifier)


def status_claim(idx: int = 4242) -> dict[str, Any]:
    """An IETF Token Status List reference as the issuer's register hands it out."""
    return {"status_list": {"idx": idx, "uri": "https://status.cjib.example/bk/1"}}


def bitstring_status(idx: int = 4242) -> list[dict[str, Any]]:
    """W3C ``BitstringStatusListEntry`` values (revocation and suspension) for a DI credential."""
    base = "https://status.cjib.example/bk/w3c"
    return [
        {
            "id": f"{base}/{purpose}#{idx}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": str(idx),
            "statusListCredential": f"{base}/{purpose}",
        }
        for purpose in ("revocation", "suspension")
    ]


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Per-call times of one operation, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def n(self) -> int:
        return len(self.samples)


@contextmanager
def _no_gc() -> Iterator[None]:
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: The most calls :func:`time_calls` makes of one operation in one round.
MAX_CALLS = 5000


def time_calls(
    fn: Callable[[], Any],
    *,
    min_calls: int = 200,
    max_calls: int = MAX_CALLS,
    budget: float = 1.0,
    warmup: int = 20,
) -> Timing:
    """Time ``fn()`` call by call: at least ``min_calls``, more while ``budget`` seconds last."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + budget
    with _no_gc():
        while len(samples) < max_calls and (
            len(samples) < min_calls or time.perf_counter() < deadline
        ):
            t0 = clock()
            fn()
            samples.append((clock() - t0) / 1e9)
            if len(samples) % 256 == 0:
                gc.collect()  # outside the timed region
    return Timing(tuple(samples))


# ------------------------------------------------------------------------------------------
# Node.js peers
# ------------------------------------------------------------------------------------------
def node_modules_for(peer: str) -> Path | None:
    """Where the peer's packages are: ``benchmarks/node/node_modules`` if installed there,
    else the interop test peer's (``make interop-deps``), pinned to the same versions."""
    own = NODE_DIR / "node_modules"
    interop = INTEROP / peer / "node_modules"
    wanted = {
        "sdjwt-node": "@sd-jwt/sd-jwt-vc",
        "di-node": "@digitalbazaar/ecdsa-sd-2023-cryptosuite",
    }[peer]
    for d in (own, interop):
        if (d / wanted / "package.json").is_file():
            return d
    return None


def run_node(
    script: str, command: dict[str, Any], *, modules: Path, timeout: float = 600
) -> dict[str, Any]:
    """Run ``benchmarks/node/<script>`` with one JSON command on stdin; returns its JSON."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    p = subprocess.run(
        [node, str(NODE_DIR / script), str(modules)],
        input=json.dumps(command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "NODE_ENV": "production"},
    )
    if p.returncode != 0:
        raise RuntimeError(f"{script} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout)


def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    return subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
