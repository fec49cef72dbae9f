"""Benchmarks side by side with the reference implementations (``make bench``).

For two credentials (a debt statement with 20 selectively disclosable claims, 5 disclosed,
and the pilot's Rode Knop declaration answering ``rode-knop-check.json``) in both encodings:

* SD-JWT VC: issue (``issue_sd_jwt_vc``, what ``Issuer.issue`` calls), present
  (``SDJWT.parse(...).present(...)``, what ``Wallet.present`` calls) and verify
  (``Verifier.verify_presentation``: trust list, issuer role, type metadata, key binding);
* W3C VC + ``ecdsa-sd-2023``: base proof (``issue_di_credential``), derive
  (``derive_proof_sd``, inside ``present_di``), the holder's presentation (``present_di``),
  verification of the derived credential (``verify_proof``) and of the whole presentation
  (``Verifier.verify_presentation``: holder proof, derived proof, trust list, binding);

and, in the same run, the raw ``cryptography`` operations these contain, and the same
operations by ``@sd-jwt/sd-jwt-vc`` and Digital Bazaar's ecdsa-sd-2023 stack run by Node.js on
the same credentials (``benchmarks/node/``). Then batch verification throughput of 10,000
SD-JWT VC presentations (distinct holders) on one core and on all cores, and the wallet
benchmark (``bench_wallet.py``) when it is there.

Status lists are not checked here (credentials carry none for SD-JWT VC, and the verifier
runs with ``allow_missing_status``): ``bench_status_list.py`` measures them. Times are medians
of per-call timings; our operations and the raw ones alternate over several rounds, the Node.js
drivers run after each round, and each operation's best round (our side and the peers' alike)
is reported, as ``timeit`` reports its best repeat: the slower rounds measure whatever else
runs on the machine.

Usage: python benchmarks/run.py [--quick] [--rounds R] [--batch N] [--no-node] [--no-batch]
       [--no-wallet] [--no-readme] [--profile] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    AUDIENCE,
    CJIB,
    CONTEXTS_DIR,
    DEBT_DISCLOSE,
    EINDHOVEN,
    MAX_CALLS,
    NONCE,
    NOW,
    ROOT,
    World,
    bitstring_status,
    count_sd,
    debt_statement_20,
    node_modules_for,
    node_version,
    rode_knop_declaration,
    rode_knop_paths,
    run_node,
    time_calls,
)

from blauweknop import (
    DEBT_STATEMENT_VCT,
    RODE_KNOP_VCT,
    SD,
    SDJWT,
    BlauweKnopError,
    Issuer,
    Key,
    TrustList,
    Verifier,
    get_profile,
)
from blauweknop._di import derive_proof_sd, multikey_from_key, verify_proof
from blauweknop._di._sd import (
    parse_base_proof_value,
    parse_derived_proof_value,
)
from blauweknop._jws import parse_compact
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop.formats.w3c_di import (
    _pointer,
    issue_di_credential,
    mandatory_pointers,
    present_di,
)

README = ROOT / "benchmarks" / "README.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
ECDSA = ec.ECDSA(hashes.SHA256())
ECDSA_DET = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


# ------------------------------------------------------------------------------------------
# Measurements
# ------------------------------------------------------------------------------------------
@dataclass
class Op:
    """One measured operation: ours, the raw crypto it contains, and the peer's."""

    encoding: str
    credential: str
    name: str
    via: str
    fn: Callable[[], Any]
    raw_what: str = ""
    raw: Callable[[dict[str, float]], float] | None = None  # from the raw unit medians
    peer_key: tuple[str, str, str] | None = None  # (peer, case, op) in the node results
    #: report the mean per call, not the median: for calls that sync now and then (taken
    #: ahead), where the median would hide the syncs
    mean: bool = False
    samples: list[float] = field(default_factory=list)  # one median (or mean) per round
    calls: int = 0
    ours: float = 0.0
    raw_s: float | None = None
    peer_s: float | None = None

    @property
    def label(self) -> str:
        return f"{self.encoding} {self.credential} {self.name}"


class RawUnits:
    """The raw ``cryptography`` operations, timed alongside ours: ES256 sign (random and
    RFC 6979 nonces), verify, and P-256 key generation, on real signing inputs."""

    def __init__(self, key: Key, message: bytes, small: bytes) -> None:
        priv = key._priv
        pub = key.public_key
        sig = priv.sign(message, ECDSA)
        small_sig = priv.sign(small, ECDSA)
        self.fns: dict[str, Callable[[], Any]] = {
            "sign": lambda: priv.sign(message, ECDSA),
            "sign_det": lambda: priv.sign(message, ECDSA_DET),
            "verify": lambda: pub.verify(sig, message, ECDSA),
            "verify_small": lambda: pub.verify(small_sig, small, ECDSA),
            "keygen": lambda: ec.generate_private_key(ec.SECP256R1()),
        }
        self.samples: dict[str, list[float]] = {k: [] for k in self.fns}

    def medians(self) -> dict[str, float]:
        """The best round's median of each unit."""
        return {k: min(v) for k, v in self.samples.items()}


def measure(
    ops: Sequence[Op],
    raw: RawUnits,
    *,
    rounds: int,
    budget: float,
    between: Callable[[int], None] | None = None,
    console: Console,
) -> None:
    """Alternate every operation with the raw units for ``rounds`` rounds; each round gives
    every operation a median, and the best round's median is kept (``timeit``'s convention:
    slower rounds measure other tenants of the machine, not the code)."""
    for r in range(rounds):
        for name, fn in raw.fns.items():
            raw.samples[name].append(time_calls(fn, budget=budget / 4, min_calls=50).median)
        for op in ops:
            slow = op.encoding == "ecdsa-sd-2023"
            t = time_calls(
                op.fn, budget=budget, min_calls=5 if slow else 100, warmup=2 if slow else 20
            )
            op.samples.append(t.mean if op.mean else t.median)
            op.calls += t.n
        console.print(f"  round {r + 1}/{rounds} done, load {os.getloadavg()[0]:.2f}")
        if between is not None:
            between(r)
    units = raw.medians()
    for op in ops:
        op.ours = min(op.samples)
        op.raw_s = op.raw(units) if op.raw is not None else None


# ------------------------------------------------------------------------------------------
# Fixtures: credentials in both encodings
# ------------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    vct: str
    claims: dict[str, Any]
    issuer_id: str
    key: Key
    nbf: int | None
    exp: int
    sd_paths: list[tuple[Any, ...]]
    di_paths: list[tuple[Any, ...]]


def cases(w: World) -> list[Case]:
    from blauweknop._issuer import _day_start

    decl = rode_knop_declaration()
    return [
        Case(
            "debt statement (20 SD, 5 shown)",
            DEBT_STATEMENT_VCT,
            debt_statement_20(),
            CJIB,
            w.cjib,
            None,
            NOW + 30 * 86400,
            list(DEBT_DISCLOSE),
            [("credentialSubject", *p) for p in DEBT_DISCLOSE],
        ),
        Case(
            "Rode Knop declaration",
            RODE_KNOP_VCT,
            decl,
            EINDHOVEN,
            w.eindhoven,
            _day_start(decl["valid_from"]),
            _day_start(decl["valid_until"]) + 86400,
            rode_knop_paths("sd-jwt"),
            rode_knop_paths("di"),
        ),
    ]


def disclosure_frame(marked: Any, decoys: int = 2) -> Any:
    """An @sd-jwt disclosure frame that makes the claims our profile marks disclosable,
    with ``decoys`` decoy digests per object (ours adds 1 to 3)."""
    if isinstance(marked, dict):
        out: dict[str, Any] = {}
        sd: list[str] = []
        for k, v in marked.items():
            inner = v.value if isinstance(v, SD) else v
            if isinstance(v, SD):
                sd.append(k)
            f = disclosure_frame(inner, decoys)
            if f:
                out[k] = f
        if sd:
            out["_sd"] = sd
            out["_sd_decoy"] = decoys
        return out
    if isinstance(marked, list):
        out = {}
        idx: list[int] = []
        for i, v in enumerate(marked):
            if isinstance(v, SD):
                idx.append(i)
            f = disclosure_frame(v.value if isinstance(v, SD) else v, decoys)
            if f:
                out[str(i)] = f
        if idx:
            out["_sd"] = idx
        return out
    return None


def presentation_frame(paths: Sequence[Sequence[Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in paths:
        d = out
        for k in p[:-1]:
            d = d.setdefault(k, {})
        d[p[-1]] = True
    return out


def der(raw_sig: bytes) -> bytes:
    return encode_dss_signature(
        int.from_bytes(raw_sig[:32], "big"), int.from_bytes(raw_sig[32:], "big")
    )


# ------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------
def build_ops(w: World, homes: Path, console: Console) -> tuple[list[Op], dict[str, Any], RawUnits]:
    ops: list[Op] = []
    node_cmds: dict[str, Any] = {"sdjwt": {"cases": []}, "di": {"cases": []}}
    holder_pub = w.holder.public_jwk(with_kid=False)
    audience = AUDIENCE
    raw_units: RawUnits | None = None
    for i, c in enumerate(cases(w)):
        profile = get_profile(c.vct)
        short = "debt-20" if c.vct == DEBT_STATEMENT_VCT else "rode-knop"
        iat = NOW - 3600

        # -- SD-JWT VC ---------------------------------------------------------------
        def issue(c: Case = c, profile: Any = profile, iat: int = iat) -> str:
            return issue_sd_jwt_vc(
                profile,
                c.claims,
                issuer_id=c.issuer_id,
                signer=c.key,
                holder_jwk=holder_pub,
                iat=iat,
                exp=c.exp,
                nbf=c.nbf,
            )

        text = issue()

        def present(text: str = text, c: Case = c) -> str:
            return SDJWT.parse(text).present(
                c.sd_paths, holder_key=w.holder, nonce=NONCE, audience=audience, iat=NOW
            )

        vp = present()

        def verify(vp: str = vp) -> Any:
            return w.verifier.verify_presentation(vp, nonce=NONCE, audience=audience, now=NOW)

        verify()
        n_sd = count_sd(profile, c.claims)
        shown = vp.count("~") - 1
        if i == 0:
            assert n_sd == 20 and shown == 5, (n_sd, shown)
            jws = parse_compact(text.split("~", 1)[0])
            kb = parse_compact(vp.rsplit("~", 1)[1])
            raw_units = RawUnits(c.key, jws.signing_input, kb.signing_input)
        cred = f"{short} ({n_sd} SD, {shown} shown)"
        ops += [
            Op(
                "SD-JWT VC",
                cred,
                "issue",
                "issue_sd_jwt_vc (Issuer.issue)",
                issue,
                "1 ES256 sign",
                lambda u: u["sign"],
                ("sdjwt", short, "issue"),
            ),
            Op(
                "SD-JWT VC",
                cred,
                "present",
                "SDJWT.present (Wallet.present)",
                present,
                "1 ES256 sign (KB-JWT)",
                lambda u: u["sign"],
                ("sdjwt", short, "present"),
            ),
            Op(
                "SD-JWT VC",
                cred,
                "verify",
                "Verifier.verify_presentation",
                verify,
                "2 ES256 verify",
                lambda u: u["verify"] + u["verify_small"],
                ("sdjwt", short, "verify"),
            ),
        ]
        payload = {"iss": c.issuer_id, "iat": iat, "exp": c.exp, "vct": c.vct, **c.claims}
        if c.nbf is not None:
            payload["nbf"] = c.nbf
        node_cmds["sdjwt"]["cases"].append(
            {
                "name": short,
                "issuer_jwk": c.key.private_jwk(),
                "payload": payload,
                "disclosure_frame": disclosure_frame(profile.mark(c.claims)),
                "credential": text,
                "presentation": vp,
                "presentation_frame": presentation_frame(c.sd_paths),
                "nonce": NONCE,
                "aud": audience,
                "iat": NOW,
                "current_date": NOW,
            }
        )
        if i == 0:
            node_cmds["sdjwt"]["signing_input"] = text.split("~", 1)[0].rsplit(".", 1)[0]

        # -- W3C VC + ecdsa-sd-2023 ------------------------------------------------------
        issuer = Issuer.init(
            homes / short,
            issuer_id=c.issuer_id,
            name=short,
            roles=sorted(profile.issuer_roles),
            key=c.key,
            status_base_uri="https://status.example/" + short,
        )

        def base(
            issuer: Issuer = issuer, profile: Any = profile, c: Case = c, iat: int = iat
        ) -> str:
            return issue_di_credential(
                profile,
                c.claims,
                signer=issuer.signer,
                issuer_id=issuer.issuer_id,
                holder=w.holder,
                iat=iat,
                nbf=c.nbf,
                exp=c.exp,
                status=bitstring_status(),
            )

        signed = json.loads(base())
        pointers = [_pointer(p) for p in c.di_paths]

        def derive(signed: dict[str, Any] = signed, pointers: list[str] = pointers) -> Any:
            return derive_proof_sd(signed, pointers)

        derived = derive()

        def present_vp(signed: dict[str, Any] = signed, c: Case = c) -> Any:
            return present_di(
                signed, c.di_paths, holder_key=w.holder, nonce=NONCE, audience=audience, now=NOW
            )

        vp_di = present_vp()
        org = w.trust.organisations[c.issuer_id]

        def resolve(vm: str, org: Any = org) -> Key:
            return w.trust.resolve_key(org.id, vm.split("#", 1)[1], now=NOW)

        def verify_derived(
            derived: dict[str, Any] = derived, resolve: Callable[[str], Key] = resolve
        ) -> Any:
            return verify_proof(derived, resolve_key=resolve, now=NOW)

        def verify_vp(vp_di: dict[str, Any] = vp_di) -> Any:
            return w.verifier.verify_presentation(vp_di, nonce=NONCE, audience=audience, now=NOW)

        try:
            verify_derived()
            verify_vp()
        except BlauweKnopError as e:  # a refusal here is a bug to report, not to time
            console.print(f"[red]ecdsa-sd-2023 {short}: our own derived proof is refused: {e}")
            continue
        n_all = len(parse_base_proof_value(signed["proof"]["proofValue"]).signatures)
        n_shown = len(parse_derived_proof_value(derived["proof"]["proofValue"]).signatures)
        cred = f"{short} ({n_all} stmts, {n_shown} shown)"
        ops += [
            Op(
                "ecdsa-sd-2023",
                cred,
                "base proof",
                "issue_di_credential (Issuer.issue)",
                base,
                f"keygen + {n_all + 1} ES256 sign",
                lambda u, n=n_all: u["keygen"] + (n + 1) * u["sign_det"],
                ("di", short, "base"),
            ),
            Op(
                "ecdsa-sd-2023",
                cred,
                "derive",
                "derive_proof_sd (in present_di)",
                derive,
                "none (HMAC, no signature)",
                None,
                ("di", short, "derive"),
            ),
            Op(
                "ecdsa-sd-2023",
                cred,
                "present (VP)",
                "present_di (Wallet.present)",
                present_vp,
                "1 ES256 sign (holder)",
                lambda u: u["sign_det"],
                None,
            ),
            Op(
                "ecdsa-sd-2023",
                cred,
                "verify derived",
                "verify_proof",
                verify_derived,
                f"{n_shown + 1} ES256 verify",
                lambda u, n=n_shown: (n + 1) * u["verify"],
                ("di", short, "verify"),
            ),
            Op(
                "ecdsa-sd-2023",
                cred,
                "verify VP",
                "Verifier.verify_presentation",
                verify_vp,
                f"{n_shown + 2} ES256 verify",
                lambda u, n=n_shown: (n + 2) * u["verify"],
                None,
            ),
        ]
        vm = signed["proof"]["verificationMethod"]
        node_cmds["di"]["cases"].append(
            {
                "name": short,
                "private_jwk": c.key.private_jwk(),
                "verification_method": {
                    "id": vm,
                    "controller": c.issuer_id,
                    "publicKeyMultibase": multikey_from_key(c.key),
                },
                "document": {k: v for k, v in signed.items() if k != "proof"},
                "mandatory_pointers": mandatory_pointers(profile, c.claims),
                "created": signed["proof"].get("created"),
                "signed": signed,
                "selective_pointers": pointers,
                "derived": derived,
            }
        )
    node_cmds["sdjwt"].update(raw_jwk=w.cjib.private_jwk(), holder_jwk=w.holder.private_jwk())
    node_cmds["di"]["contexts_dir"] = str(CONTEXTS_DIR)
    assert raw_units is not None
    return ops, node_cmds, raw_units


class NodePeers:
    """Runs the Node.js drivers between our rounds; keeps every run's medians."""

    def __init__(self, cmds: dict[str, Any], budget_ms: int, console: Console) -> None:
        self.cmds = cmds
        self.budget_ms = budget_ms
        self.console = console
        self.runs: dict[str, list[dict[str, Any]]] = {"sdjwt": [], "di": []}
        self.versions: dict[str, str] = {}
        self.problems: list[str] = []
        self.modules = {"sdjwt": node_modules_for("sdjwt-node"), "di": node_modules_for("di-node")}
        for peer, d in self.modules.items():
            if d is None:
                self.problems.append(f"{peer}: node_modules missing (run `make interop-deps`)")

    def run(self) -> None:
        for peer, script, budget, min_calls in (
            ("sdjwt", "sdjwt-bench.mjs", self.budget_ms, 100),
            ("di", "di-bench.mjs", self.budget_ms * 2, 5),
        ):
            modules = self.modules[peer]
            if modules is None or self.cmds.get(peer) is None:
                continue
            cmd = {**self.cmds[peer], "budget_ms": budget, "min_calls": min_calls}
            try:
                out = run_node(script, cmd, modules=modules)
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                self.problems.append(f"{script}: {e}")
                self.modules[peer] = None
                continue
            self.versions.update(out.get("versions", {}))
            self.runs[peer].append(out)
            self.console.print(f"  node {script}: run {len(self.runs[peer])} done")

    def median_s(self, peer: str, case: str, op: str) -> float | None:
        vals = [
            r["cases"][case][op]["median_us"] for r in self.runs[peer] if case in r.get("cases", {})
        ]
        return min(vals) / 1e6 if vals else None  # best run's median, as for ours

    def raw(self, name: str) -> float | None:
        vals = [r["raw"][name]["median_us"] for r in self.runs["sdjwt"] if "raw" in r]
        return min(vals) / 1e6 if vals else None


# ------------------------------------------------------------------------------------------
# The integrator's path: status cache, DCQL request, wallet store, register
# ------------------------------------------------------------------------------------------
INTEGRATOR = "integrator: debt statement, 3 claims asked"
STATUS_URI_SD = "https://status.cjib.example/bench"


def _three_claims(fmt: str) -> dict[str, Any]:
    """A DCQL request for three claims of a debt statement, as a creditor asks them."""
    pre = [] if fmt == "dc+sd-jwt" else ["credentialSubject"]
    meta = (
        {"vct_values": [DEBT_STATEMENT_VCT]}
        if fmt == "dc+sd-jwt"
        else {"type_values": [["https://w3id.org/blauweknop/vocab#DebtStatement"]]}
    )
    return {
        "credentials": [
            {
                "id": "debt",
                "format": fmt,
                "meta": meta,
                "claims": [
                    {"path": [*pre, "totals", "outstanding"]},
                    {"path": [*pre, "creditor", "name"]},
                    {"path": [*pre, "balance_at"]},
                ],
            }
        ]
    }


def integrator_ops(w: World, homes: Path, *, issue_calls: int = 25_200) -> list[Op]:
    """What a creditor's back office and a wallet call, set up as a new integrator would:
    an issuer home (register, status lists), the debt statement of ``examples/data``, a
    status cache filled from ``publish_status``, a parsed DCQL request, a wallet."""
    from blauweknop import DCQLQuery, StatusCache, Wallet
    from blauweknop.debt import DebtStatement

    issuer = Issuer.init(
        homes / "int-cjib",
        issuer_id=CJIB,
        name="CJIB",
        roles=["creditor"],
        key=w.cjib,
        status_base_uri="https://status.cjib.example/int",
    )
    wallet = Wallet.create(homes / "int-wallet", key=bytes(range(32)))
    holder = wallet.holder_jwk()
    claims = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    serial = iter(range(10**9))

    def statement() -> Any:
        return DebtStatement.from_claims({**claims, "statement_id": f"CJIB-B-{next(serial):09d}"})

    for fmt in ("sd-jwt", "di"):
        wallet.add(
            issuer.issue(statement(), holder_jwk=holder, format=fmt, now=NOW).text,
            trust_list=w.trust,
            now=NOW,
        )
    cache = StatusCache(homes / "int-cache", trust_list=w.trust)
    for f in issuer.publish_status(homes / "int-published", now=NOW):
        cache.import_file(f, fetched_at=NOW)
    verifier = Verifier(w.trust, status=cache)
    ops: list[Op] = []
    for fmt, encoding in (("dc+sd-jwt", "SD-JWT VC"), ("ldp_vc", "ecdsa-sd-2023")):
        request = DCQLQuery.parse(_three_claims(fmt))  # parsed once, reused
        plan = wallet.plan(request, now=NOW)
        vp_token = wallet.present(plan, nonce=NONCE, audience=AUDIENCE, now=NOW)

        def verify(vp_token: Any = vp_token, request: Any = request) -> Any:
            return verifier.verify(
                vp_token, nonce=NONCE, audience=AUDIENCE, request=request, now=NOW + 60
            )

        verify()
        if encoding == "SD-JWT VC":
            ops.append(
                Op(
                    encoding,
                    INTEGRATOR,
                    "verify (status, request)",
                    "Verifier.verify + StatusCache",
                    verify,
                    "2 ES256 verify",
                    lambda u: u["verify"] + u["verify_small"],
                )
            )

            def present(plan: Any = plan) -> Any:
                return wallet.present(plan, nonce=NONCE, audience=AUDIENCE, now=NOW)

            text = issuer.issue(statement(), holder_jwk=holder, format="sd-jwt", now=NOW).text
            parsed = SDJWT.parse(text)
            paths = [p for d in plan.presentations()["debt"] for p in d.disclose_paths]
            hkey = wallet.holder_key()

            def present_parsed(parsed: SDJWT = parsed, paths: Any = paths, hkey: Key = hkey) -> str:
                return parsed.present(
                    paths, holder_key=hkey, nonce=NONCE, audience=AUDIENCE, iat=NOW
                )

            # The caller's model objects are built before (their validation is the caller's
            # work, not Issuer.issue's): one distinct statement for every call the rounds
            # can make (a statement id is registered once).
            pool = iter([statement() for _ in range(issue_calls)])

            def issue(pool: Iterator[Any] = pool) -> Any:
                return issuer.issue(next(pool), holder_jwk=holder, format="sd-jwt", now=NOW)

            ops += [
                Op(
                    encoding,
                    INTEGRATOR,
                    "present (parsed)",
                    "SDJWT.present on a kept parse",
                    present_parsed,
                    "1 ES256 sign (KB-JWT)",
                    lambda u: u["sign"],
                ),
                Op(
                    encoding,
                    INTEGRATOR,
                    "Wallet.present",
                    "Wallet.present (mean, its journal syncs included)",
                    present,
                    "1 ES256 sign (KB-JWT)",
                    lambda u: u["sign"],
                    mean=True,
                ),
                Op(
                    encoding,
                    INTEGRATOR,
                    "Issuer.issue",
                    "Issuer.issue (register, SQLite; mean)",
                    issue,
                    "1 ES256 sign",
                    lambda u: u["sign"],
                    mean=True,
                ),
            ]
        else:
            ops.append(
                Op(
                    encoding,
                    INTEGRATOR,
                    "verify (status, request)",
                    "Verifier.verify + StatusCache",
                    verify,
                    "1 ES256 verify (the unit of the target)",
                    lambda u: u["verify"],
                )
            )
    return ops


def status_memory(w: World, homes: Path, lists: int = 100, size: int = 1_000_000) -> str:
    """Memory a verifier's status cache holds with ``lists`` verified lists of ``size``
    entries each in its memory (tracemalloc, and the process's RSS growth)."""
    import tracemalloc

    from blauweknop import StatusCache
    from blauweknop._status import StatusList, sign_status_list_token

    cache = StatusCache(homes / "mem-cache", trust_list=w.trust)
    for i in range(lists):
        sl = StatusList(size, 1)
        sl.set(i, 1)
        token = sign_status_list_token(
            sl, uri=f"{STATUS_URI_SD}/{i}", issuer=CJIB, signer=w.cjib, now=NOW, ttl=3600
        )
        cache.put(f"{STATUS_URI_SD}/{i}", token.encode(), fetched_at=NOW)
    org = w.trust.organisations[CJIB]

    def rss() -> int:
        with open("/proc/self/statm") as f:  # noqa: PTH123 - Linux only, else 0
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    try:
        rss0 = rss()
    except OSError:
        rss0 = 0
    tracemalloc.start()
    for i in range(lists):  # each list verified once, then held decoded
        cache.token_status(f"{STATUS_URI_SD}/{i}", lists + 1, issuer=org, now=NOW + 60)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    try:
        grown = rss() - rss0 if rss0 else 0
    except OSError:
        grown = 0
    t0 = time.perf_counter()
    for i in range(lists):
        cache.token_status(f"{STATUS_URI_SD}/{i}", lists + 1, issuer=org, now=NOW + 60)
    per_check = (time.perf_counter() - t0) / lists
    return (
        f"{lists} status lists of {size:,} entries (1 bit) held verified and decoded by a "
        f"verifier's StatusCache: {current / 2**20:.1f} MiB traced (peak "
        f"{peak / 2**20:.1f} MiB while verifying), RSS grew {grown / 2**20:.1f} MiB; "
        f"a check against a held list then takes {per_check * 1e6:.0f} µs."
    )


# ------------------------------------------------------------------------------------------
# Batch verification throughput
# ------------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _worker_init(trust_token: str, anchor_jwk: dict[str, str], status_dir: str) -> None:
    from blauweknop import StatusCache

    trust = TrustList.verify(trust_token, Key.from_jwk(anchor_jwk), now=NOW)
    # each worker opens the cache once: a list is verified at its first use, then held
    _WORKER["verifier"] = Verifier(trust, status=StatusCache(status_dir))


def _worker_ping(_: int) -> int:
    time.sleep(0.05)  # long enough that every worker takes one
    return os.getpid()


def _worker_burn(n: int) -> int:
    """Pure-Python arithmetic, nothing shared: how far the machine lets the pools scale."""
    x = 0
    for i in range(n):
        x += i * i
    return n


def _worker_verify(chunk: list[tuple[str, str]]) -> int:
    v: Verifier = _WORKER["verifier"]
    for vp, nonce in chunk:
        v.verify_presentation(vp, nonce=nonce, audience=AUDIENCE, now=NOW)
    return len(chunk)


@dataclass
class BatchResult:
    n: int
    chunk: int
    in_process: float  # presentations per second, plain loop in this process
    per_workers: dict[int, float]  # workers -> presentations per second
    #: the same pools' scaling on pure-Python arithmetic right after the passes (top / 1
    #: worker): what the machine's other tenants leave, the ceiling of ``per_workers``
    cpu_ceiling: float | None = None


BATCH_LIST = "https://status.cjib.example/batch/1"


def publish_batch_status(w: World, n: int, status_dir: Path) -> None:
    """The status list of the batch's credentials in a verifier's cache (one entry revoked,
    after the presented ones: index ``i`` of presentation ``i`` stays valid)."""
    from blauweknop import StatusCache
    from blauweknop._status import StatusList, sign_status_list_token

    sl = StatusList(max(n + 1, 16), 1)
    sl.set(n, 1)  # one revoked entry, not used by the presentations
    token = sign_status_list_token(
        sl, uri=BATCH_LIST, issuer=CJIB, signer=w.cjib, now=NOW, ttl=3600
    )
    StatusCache(status_dir, trust_list=w.trust).put(BATCH_LIST, token.encode(), fetched_at=NOW)


def make_presentations(w: World, n: int, console: Console) -> list[tuple[str, str]]:
    """``n`` debt-statement presentations (5 of 20 claims, key bound, a status reference
    into one list), each from its own holder key with its own nonce: the holder-key cache
    does not help."""
    profile = get_profile(DEBT_STATEMENT_VCT)
    claims = debt_statement_20()
    out = []
    t0 = time.perf_counter()
    for i in range(n):
        holder = Key.generate("ES256")
        text = issue_sd_jwt_vc(
            profile,
            claims,
            issuer_id=CJIB,
            signer=w.cjib,
            holder_jwk=holder.public_jwk(with_kid=False),
            iat=NOW - 3600,
            exp=NOW + 30 * 86400,
            status={"status_list": {"idx": i, "uri": BATCH_LIST}},
        )
        nonce = f"n-{i:06d}"
        vp = SDJWT.parse(text).present(
            DEBT_DISCLOSE, holder_key=holder, nonce=nonce, audience=AUDIENCE, iat=NOW
        )
        out.append((vp, nonce))
    console.print(f"  made {n} presentations in {time.perf_counter() - t0:.1f} s")
    return out


def batch_throughput(w: World, n: int, console: Console, repeats: int = 3) -> BatchResult:
    """Presentations per second: a plain loop, then pools of 1 and ``nproc`` workers over the
    same chunks, alternated ``repeats`` times; the best pass of each counts (as for the
    per-operation medians: slower passes measure the machine's other tenants)."""
    from blauweknop import StatusCache

    work = make_presentations(w, n, console)
    status_dir = Path(tempfile.mkdtemp(prefix="bk-batch-status-"))
    publish_batch_status(w, n, status_dir)
    chunk = 100
    chunks = [work[i : i + chunk] for i in range(0, n, chunk)]
    verifier = Verifier(w.trust, status=StatusCache(status_dir))
    t0 = time.perf_counter()
    for vp, nonce in work:
        verifier.verify_presentation(vp, nonce=nonce, audience=AUDIENCE, now=NOW)
    in_process = n / (time.perf_counter() - t0)
    console.print(f"  in process: {in_process:,.0f}/s")
    init = (w.trust_token, w.anchor.public_jwk(), str(status_dir))
    ctx = mp.get_context("spawn")
    sizes = sorted({1, os.cpu_count() or 1})
    pools = {k: ctx.Pool(k, initializer=_worker_init, initargs=init) for k in sizes}
    per: dict[int, float] = dict.fromkeys(sizes, 0.0)
    try:
        for k, pool in pools.items():  # every worker started and holding its verifier
            assert len(set(pool.map(_worker_ping, range(k * 4), chunksize=1))) == k
        for rep in range(repeats):
            for k, pool in pools.items():
                t0 = time.perf_counter()
                done = sum(pool.imap_unordered(_worker_verify, chunks, chunksize=1))
                rate = done / (time.perf_counter() - t0)
                per[k] = max(per[k], rate)
                console.print(
                    f"  pass {rep + 1}: {k} worker(s) {rate:,.0f}/s, load {os.getloadavg()[0]:.2f}"
                )
        burn: dict[int, float] = {}
        for k, pool in pools.items():
            t0 = time.perf_counter()
            done = sum(pool.map(_worker_burn, [2_000_000] * (4 * k), chunksize=1))
            burn[k] = done / (time.perf_counter() - t0)
        ceiling = burn[max(burn)] / burn[1] if len(burn) > 1 else None
        if ceiling is not None:
            console.print(
                f"  the same pools on pure-Python arithmetic: {max(burn)} workers / 1 = "
                f"{ceiling:.2f}x (the machine's ceiling for the ratio above), "
                f"load {os.getloadavg()[0]:.2f}"
            )
    finally:
        for pool in pools.values():
            pool.terminate()
            pool.join()
    return BatchResult(n, chunk, in_process, per, ceiling)


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------
def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


@dataclass
class Target:
    what: str
    measured: float | None
    limit: float
    below: bool  # True: measured must be <= limit; False: >= limit

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.below else self.measured >= self.limit


def find(ops: Sequence[Op], encoding: str, credential_prefix: str, name: str) -> Op | None:
    for o in ops:
        if o.encoding == encoding and o.credential.startswith(credential_prefix) and o.name == name:
            return o
    return None


#: (what, encoding, operation, measure, limit, measured must be below the limit)
TARGETS = (
    ("SD-JWT VC verify / its 2 raw ES256 verifications", "SD-JWT VC", "verify", "raw", 2.0, True),
    (
        "SD-JWT VC verify: speed-up over @sd-jwt/sd-jwt-vc",
        "SD-JWT VC",
        "verify",
        "peer",
        3.0,
        False,
    ),
    ("SD-JWT VC issue / 1 raw ES256 sign", "SD-JWT VC", "issue", "raw", 4.0, True),
    (
        "ecdsa-sd-2023 verify derived: speed-up over Digital Bazaar",
        "ecdsa-sd-2023",
        "verify derived",
        "peer",
        4.0,  # issue 18 (was 2.0x)
        False,
    ),
    (
        "ecdsa-sd-2023 derive: speed-up over Digital Bazaar",
        "ecdsa-sd-2023",
        "derive",
        "peer",
        4.0,  # issue 18 (was 1.0x)
        False,
    ),
    (
        "ecdsa-sd-2023 base proof: speed-up over Digital Bazaar",
        "ecdsa-sd-2023",
        "base proof",
        "peer",
        4.0,  # issue 18 (was 1.0x)
        False,
    ),
)


#: (what, encoding, operation, limit of ours / raw) on the integrator's path (issue 18)
INTEGRATOR_TARGETS = (
    (
        "integrator: Verifier.verify SD-JWT VC, status + request / 2 raw verify",
        "SD-JWT VC",
        "verify (status, request)",
        1.5,
    ),
    (
        "integrator: Verifier.verify ecdsa-sd-2023, status + request / 1 raw verify",
        "ecdsa-sd-2023",
        "verify (status, request)",
        25.0,
    ),
    (
        "integrator: SD-JWT VC present from a parsed credential / 1 raw sign",
        "SD-JWT VC",
        "present (parsed)",
        3.0,
    ),
    ("integrator: Wallet.present SD-JWT VC / 1 raw sign", "SD-JWT VC", "Wallet.present", 10.0),
    (
        "integrator: Issuer.issue SD-JWT VC with register / 1 raw sign",
        "SD-JWT VC",
        "Issuer.issue",
        15.0,
    ),
)


def targets(ops: Sequence[Op], batch: BatchResult | None) -> list[Target]:
    """The issue's targets, on the debt statement (20 SD claims, 5 shown)."""
    out = []
    for what, encoding, name, against, limit, below in TARGETS:
        o = find(ops, encoding, "debt-20", name)
        if o is None:
            continue
        if against == "raw":
            measured = o.ours / o.raw_s if o.raw_s else None
        else:
            measured = o.peer_s / o.ours if o.peer_s else None
        out.append(Target(what, measured, limit, below))
    for what, encoding, name, limit in INTEGRATOR_TARGETS:
        o = find(ops, encoding, INTEGRATOR, name)
        if o is not None:
            out.append(Target(what, o.ours / o.raw_s if o.raw_s else None, limit, True))
    if batch is not None and len(batch.per_workers) > 1:
        top = max(batch.per_workers)
        ratio = batch.per_workers[top] / batch.per_workers[1]
        out.append(
            Target(
                f"batch verify with status: {top} workers / 1 worker throughput", ratio, 1.8, False
            )
        )
    return out


def results_table(ops: Sequence[Op]) -> Table:
    t = Table(title="Medians per operation, best of the rounds (lower is better)", show_lines=False)
    for col, just in (
        ("encoding", "left"),
        ("credential", "left"),
        ("operation", "left"),
        ("ours via", "left"),
        ("ours", "right"),
        ("raw crypto it contains", "left"),
        ("raw", "right"),
        ("ours/raw", "right"),
        ("peer", "right"),
        ("ours/peer", "right"),
    ):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    last = ""
    for o in ops:
        if last and o.encoding != last:
            t.add_section()
        last = o.encoding
        t.add_row(
            o.encoding,
            o.credential,
            o.name,
            o.via,
            fmt_time(o.ours),
            o.raw_what or "—",
            fmt_time(o.raw_s),
            fmt_ratio(o.ours / o.raw_s if o.raw_s else None),
            fmt_time(o.peer_s),
            fmt_ratio(o.ours / o.peer_s if o.peer_s else None),
        )
    return t


def targets_table(ts: Sequence[Target]) -> Table:
    t = Table(title="Targets")
    for col in ("target", "measured", "limit", "met"):
        t.add_column(col, justify="left" if col == "target" else "right")
    for x in ts:
        mark = "—" if x.met is None else ("yes" if x.met else "NO")
        t.add_row(
            x.what, fmt_ratio(x.measured), ("<= " if x.below else ">= ") + f"{x.limit:g}x", mark
        )
    return t


def markdown(
    ops: Sequence[Op],
    ts: Sequence[Target],
    batch: BatchResult | None,
    env: dict[str, str],
    peers: NodePeers | None,
    raw_units: dict[str, float],
    wallet: str | None,
    command: str,
    memory: str | None = None,
) -> str:
    lines = [
        BEGIN,
        "",
        f"Latest run: `{command}` on {env['date']}.",
        "",
        f"Machine: {env['machine']}; nproc {env['nproc']}; load average (1, 5, 15 min) at "
        f"start {env['load']}, at the end {env.get('load_end', '?')}; Python {env['python']}; "
        f"cryptography {env['cryptography']} "
        f"({env['openssl']}); Node.js {env['node']}"
        + (
            f"; {', '.join(f'{k} {v}' for k, v in sorted(peers.versions.items()))}"
            if peers and peers.versions
            else ""
        )
        + ".",
        "",
        "| encoding | credential | operation | ours via | ours | raw crypto it contains | raw "
        "| ours/raw | peer | ours/peer |",
        "|---|---|---|---|--:|---|--:|--:|--:|--:|",
    ]
    for o in ops:
        lines.append(
            f"| {o.encoding} | {o.credential} | {o.name} | `{o.via}` | {fmt_time(o.ours)} | "
            f"{o.raw_what or '—'} | {fmt_time(o.raw_s)} | "
            f"{fmt_ratio(o.ours / o.raw_s if o.raw_s else None)} | {fmt_time(o.peer_s)} | "
            f"{fmt_ratio(o.ours / o.peer_s if o.peer_s else None)} |"
        )
    lines += [
        "",
        "Raw units (Python `cryptography`, same run): "
        + ", ".join(f"{k} {fmt_time(v)}" for k, v in raw_units.items())
        + ".",
    ]
    if peers is not None and peers.runs["sdjwt"]:
        node_raw = {
            k: peers.raw(k) for k in ("sign", "verify", "webcrypto_sign", "webcrypto_verify")
        }
        lines.append(
            "Raw units in Node.js (node:crypto KeyObject / WebCrypto, which "
            "@sd-jwt/crypto-nodejs uses): "
            + ", ".join(f"{k} {fmt_time(v)}" for k, v in node_raw.items())
            + "."
        )
    lines += ["", "| target | measured | limit | met |", "|---|--:|--:|:-:|"]
    for x in ts:
        mark = "—" if x.met is None else ("yes" if x.met else "**no**")
        lines.append(
            f"| {x.what} | {fmt_ratio(x.measured)} | {'<=' if x.below else '>='} {x.limit:g}x "
            f"| {mark} |"
        )
    if batch is not None:
        lines += [
            "",
            f"Batch verification of {batch.n:,} SD-JWT VC presentations (debt statement, 5 of 20 "
            f"claims, key binding, {batch.n:,} distinct holders, status checked against a "
            f"cached list that each worker verifies once), chunks of {batch.chunk}; "
            "pools alternated three times, best pass each:",
            "",
            "| how | presentations/s |",
            "|---|--:|",
            f"| plain loop in one process | {batch.in_process:,.0f} |",
        ]
        for k, v in sorted(batch.per_workers.items()):
            lines.append(f"| multiprocessing, {k} worker{'s' if k > 1 else ''} | {v:,.0f} |")
        if batch.cpu_ceiling is not None:
            lines += [
                "",
                f"The same pools on pure-Python arithmetic scaled {batch.cpu_ceiling:.2f}x "
                "from 1 to all workers in this run: the most the machine's other tenants "
                "left for the ratio above.",
            ]
    if memory:
        lines += ["", "Status cache memory: " + memory]
    if wallet:
        lines += [
            "",
            "Wallet benchmark (`benchmarks/bench_wallet.py`, same run):",
            "",
            "```",
            wallet.rstrip(),
            "```",
        ]
    lines += ["", END]
    return "\n".join(lines)


def write_readme(block: str) -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def environment() -> dict[str, str]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {cpu}",
        "nproc": str(os.cpu_count()),
        "load": " ".join(f"{x:.2f}" for x in load),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": openssl_backend.openssl_version_text(),
        "node": node_version(),
    }


def run_wallet_bench(console: Console) -> str | None:
    script = ROOT / "benchmarks" / "bench_wallet.py"
    if not script.exists():
        return None
    console.print("[bold]Wallet benchmark[/bold] (bench_wallet.py --credentials 1000)")
    p = subprocess.run(
        [sys.executable, str(script), "--credentials", "1000"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    out = (
        p.stdout
        if p.returncode == 0
        else f"bench_wallet.py failed ({p.returncode}):\n{p.stderr[-2000:]}"
    )
    console.print(out)
    return out


def run_jsonld_bench(console: Console, quick: bool) -> None:
    """bench_jsonld.py: the compiled JSON-LD path vs pyld and Digital Bazaar (issue 18)."""
    console.print("[bold]Compiled JSON-LD benchmark[/bold] (bench_jsonld.py)")
    args = [sys.executable, str(ROOT / "benchmarks" / "bench_jsonld.py")] + (
        ["--quick"] if quick else []
    )
    p = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    console.print(p.stdout if p.returncode == 0 else f"bench_jsonld.py failed:\n{p.stderr[-2000:]}")


def profile_report(ops: Sequence[Op], console: Console, calls: int) -> None:
    """cProfile of each operation, grouped by where the time goes."""
    import cProfile
    import pstats

    groups = (
        ("crypto (cryptography / OpenSSL)", ("cryptography", "openssl", "asn1")),
        ("pyld JSON-LD", ("pyld",)),
        ("RDF canonicalization (_rdfc)", ("_rdfc",)),
        ("JSON encode/decode", ("json", "_codec.py:1", "parse_json", "_no_duplicates")),
        ("base64 / hashing", ("b64u", "binascii", "hashlib", "sha256", "hmac")),
        ("copy.deepcopy", ("copy.py",)),
    )
    for o in ops:
        prof = cProfile.Profile()
        n = calls if o.encoding == "SD-JWT VC" else max(3, calls // 100)
        prof.enable()
        for _ in range(n):
            o.fn()
        prof.disable()
        st = pstats.Stats(prof)
        total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
        buckets = dict.fromkeys([g for g, _ in groups] + ["other Python"], 0.0)
        for (filename, line, func), v in st.stats.items():  # type: ignore[attr-defined]
            where = f"{filename}:{line}({func})"
            for g, keys in groups:
                if any(k in where for k in keys):
                    buckets[g] += v[2]
                    break
            else:
                buckets["other Python"] += v[2]
        console.print(f"\n[bold]{o.label}[/bold] ({o.via}), {n} calls under cProfile")
        for g, s in sorted(buckets.items(), key=lambda kv: -kv[1]):
            if s:
                console.print(f"  {g:<34} {100 * s / total:5.1f} %")
        top = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:8]  # type: ignore[attr-defined]
        for (filename, line, func), v in top:
            console.print(
                f"    {v[2] / n * 1e6:9.1f} µs/call  {Path(filename).name}:{line}({func})"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="fewer rounds, shorter budgets, 1,000 batch"
    )
    ap.add_argument(
        "--rounds", type=int, default=None, help="rounds alternating ours and raw (default 5)"
    )
    ap.add_argument(
        "--batch", type=int, default=None, help="presentations for the batch (default 10000)"
    )
    ap.add_argument("--only", choices=["sd-jwt", "di"], help="measure one encoding only")
    ap.add_argument("--no-node", action="store_true", help="skip the Node.js peers")
    ap.add_argument("--no-batch", action="store_true", help="skip batch throughput")
    ap.add_argument("--no-wallet", action="store_true", help="skip bench_wallet.py")
    ap.add_argument("--no-jsonld", action="store_true", help="skip bench_jsonld.py")
    ap.add_argument("--no-readme", action="store_true", help="do not update benchmarks/README.md")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile breakdown")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    args = ap.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    budget = 0.3 if args.quick else 0.6
    console = Console(width=200)
    env = environment()
    console.print(
        f"[bold]blauweknop benchmarks[/bold] {env['date']}: {env['machine']}, "
        f"nproc {env['nproc']}, "
        f"load {env['load']}, Python {env['python']}, Node.js {env['node']}"
    )

    w = World.create()
    with tempfile.TemporaryDirectory(prefix="bk-bench-") as tmp:
        ops, node_cmds, raw = build_ops(w, Path(tmp), console)
        # every timed call (at most MAX_CALLS per round) and its warm-up issues a statement
        ops += integrator_ops(w, Path(tmp), issue_calls=rounds * (MAX_CALLS + 20) + 400)
        if args.only:
            keep = "SD-JWT VC" if args.only == "sd-jwt" else "ecdsa-sd-2023"
            ops = [o for o in ops if o.encoding == keep]
            node_cmds = {
                k: v if k == ("sdjwt" if args.only == "sd-jwt" else "di") else None
                for k, v in node_cmds.items()
            }
        peers = None if args.no_node else NodePeers(node_cmds, 400 if args.quick else 800, console)
        for p in peers.problems if peers else []:
            console.print(f"[yellow]peer unavailable: {p}[/yellow]")
        # The node peers run after each of our rounds; their best run counts, as ours.
        node_rounds = set(range(rounds))
        console.print(f"[bold]Per-operation medians[/bold]: {rounds} rounds")
        measure(
            ops,
            raw,
            rounds=rounds,
            budget=budget,
            console=console,
            between=(lambda r: peers.run() if peers and r in node_rounds else None),
        )
        if peers is not None:
            for o in ops:
                if o.peer_key is not None:
                    o.peer_s = peers.median_s(*o.peer_key)
            for p in peers.problems:
                console.print(f"[yellow]peer problem: {p}[/yellow]")
        console.print(results_table(ops))
        units = raw.medians()
        console.print("raw units: " + ", ".join(f"{k} {fmt_time(v)}" for k, v in units.items()))
        if peers is not None and peers.runs["sdjwt"]:
            console.print(
                "node raw units: "
                + ", ".join(
                    f"{k} {fmt_time(peers.raw(k))}"
                    for k in ("sign", "verify", "webcrypto_sign", "webcrypto_verify")
                )
            )
        if args.profile:
            profile_report(ops, console, calls=300)

    batch = None
    if not args.no_batch:
        n = args.batch or (1000 if args.quick else 10_000)
        console.print(f"[bold]Batch verification[/bold] of {n:,} SD-JWT VC presentations")
        batch = batch_throughput(w, n, console)
    wallet = None if args.no_wallet else run_wallet_bench(console)
    if not args.no_jsonld:
        run_jsonld_bench(console, args.quick)
    with tempfile.TemporaryDirectory(prefix="bk-bench-mem-") as tmp:
        memory = status_memory(w, Path(tmp), lists=10 if args.quick else 100)
    console.print(memory)
    ts = targets(ops, batch)
    console.print(targets_table(ts))
    command = (
        "python benchmarks/run.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    env["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    block = markdown(ops, ts, batch, env, peers, units, wallet, command.strip(), memory)
    if not args.no_readme:
        write_readme(block)
        console.print(f"results written to {README.relative_to(ROOT)}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "env": env,
                    "ops": [
                        {
                            "label": o.label,
                            "via": o.via,
                            "ours_s": o.ours,
                            "raw_s": o.raw_s,
                            "peer_s": o.peer_s,
                            "calls": o.calls,
                            "round_medians_s": o.samples,
                        }
                        for o in ops
                    ],
                    "raw_units_s": units,
                    "node": peers.runs if peers else None,
                    "targets": [
                        {"what": x.what, "measured": x.measured, "limit": x.limit, "met": x.met}
                        for x in ts
                    ],
                    "batch": batch.__dict__ if batch else None,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
