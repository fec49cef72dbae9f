"""The hostile-input battery as a table: one row per attack or fault.

Each :class:`Case` names its category, what it does, where the rule comes from (an RFC or spec
section, a ``SECURITY-BATTERY.md`` id), the entry point it attacks, the generator that builds
the hostile input from the honest :mod:`hostile._world`, and the one error the library must
answer with: its own class **and** its stable code. ``test_battery.py`` runs every row with a
time bound; storage rows also prove afterwards that nothing stored was lost (``after``).

Conventions: a generator changes exactly one thing in an honest input and re-signs (with the
organisation's or holder's real key) whatever the change would otherwise also break, so the
expected error is the fault under test and not a side effect. Rows are independent: a
generator never changes the shared world; storage rows work in their own temporary directory.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import errno
import hashlib
import hmac
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from di_compat import present_di
from hostile._world import (
    AUD,
    CJIB,
    DATA,
    DEBT_VCT,
    DUO,
    NONCE,
    NOW,
    World,
    assemble,
    b64,
    di_issue,
    digest,
    disclosure,
    jws,
    split_sd,
    to_bytes,
    unb64,
)
from unit.test_sdjwt_rejections import _noncanonical

from blauweknop import (
    SD,
    BlauweKnopError,
    ContextError,
    DCQLQuery,
    DisclosureError,
    HolderBindingError,
    InvalidDataError,
    Issuer,
    Key,
    Limits,
    MalformedError,
    PolicyError,
    SignatureError,
    StatusCache,
    StatusError,
    StorageError,
    TrustError,
    TrustList,
    ValidityError,
    Wallet,
    did_jwk,
    get_profile,
    key_from_did_jwk,
)
from blauweknop._codec import b64u_decode, parse_json
from blauweknop._di import add_proof, sign_presentation
from blauweknop._jws import parse_compact
from blauweknop._register import Register
from blauweknop._sdjwt import SDJWT
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop._status import (
    BitstringStatusList,
    StatusList,
    cache_file_name,
    sign_status_list_token,
    verify_status_list_token,
)
from blauweknop._verifier import parse_vp_token
from rodeknop_vc import RODE_KNOP_VCT
from rodeknop_vc._batch import REQUIRED_COLUMNS, read_batch

PARSING = "parsing/DoS"
SIGNATURES = "signatures/algorithms"
DISCLOSURE = "selective disclosure"
BINDING = "holder binding/replay"
TIME_STATUS = "time/status"
TRUST = "trust"
JSONLD = "JSON-LD"
STORAGE = "storage/CLI"
CATEGORIES = (PARSING, SIGNATURES, DISCLOSURE, BINDING, TIME_STATUS, TRUST, JSONLD, STORAGE)

#: P-256 group order n and field prime p (SEC 2, section 2.4.2).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
PASSPHRASE = "correct horse battery staple (hostile)"


# ------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------
@dataclass
class Ctx:
    """What a generator gets: the shared world, a private directory, and a cleanup list."""

    w: World
    tmp: Path
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def defer(self, fn: Callable[[], Any]) -> None:
        self.cleanups.append(fn)


@dataclass(frozen=True)
class Case:
    """One row of the battery.

    Attributes:
        id: stable test id.
        category: one of :data:`CATEGORIES`.
        description: the attack or fault, in one line.
        source: where the expected behaviour comes from.
        entry: the attacked entry point, a key of :data:`ENTRIES`.
        build: generator of the hostile input.
        error: the library error class expected (exactly this class).
        code: its expected stable code.
        seconds: wall-clock bound for the entry point call.
        after: storage rows: checks that nothing stored was changed or lost.
        needs: a capability the row needs (``"chattr"``), skipped with the reason otherwise.
    """

    id: str
    category: str
    description: str
    source: str
    entry: str
    build: Callable[[Ctx], Any]
    error: type[BlauweKnopError]
    code: str
    seconds: float = 2.0
    after: Callable[[Ctx, Any], None] | None = None
    needs: str | None = None


CASES: list[Case] = []


def case(
    id: str,  # noqa: A002 - the table's column name
    category: str,
    description: str,
    source: str,
    entry: str,
    error: type[BlauweKnopError],
    code: str,
    **kw: Any,
) -> Callable[[Callable[[Ctx], Any]], Callable[[Ctx], Any]]:
    """Register the decorated generator as one row."""

    def deco(build: Callable[[Ctx], Any]) -> Callable[[Ctx], Any]:
        assert category in CATEGORIES, category
        assert entry in ENTRIES, entry
        assert all(c.id != id for c in CASES), id
        CASES.append(Case(id, category, description, source, entry, build, error, code, **kw))
        return build

    return deco


# ------------------------------------------------------------------------------------------
# Entry points (what each row attacks) and their inputs
# ------------------------------------------------------------------------------------------
@dataclass
class Present:
    """A ``vp_token`` for :class:`~blauweknop.Verifier` and how the verifier is set up."""

    vp_token: Any
    now: float = NOW
    nonce: str = NONCE
    audience: str = AUD
    request: Any = None
    verifier: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrustIn:
    token: Any
    anchor: Key | None = None
    now: float = NOW
    max_age: float | None = None


@dataclass
class StatusTokenIn:
    token: Any
    key: Key
    uri: str
    now: float = NOW
    issuer: str | None = None


@dataclass
class WalletIn:
    """A wallet with records, what to do to it, and what it held before."""

    dir: Path
    passphrase: str = PASSPHRASE
    credential: str | None = None
    fault: Callable[[], AbstractContextManager[Any]] = nullcontext
    records: list[str] = field(default_factory=list)
    blob: bytes = b""
    check_status: bool = False


@dataclass
class RegisterIn:
    path: Path
    reg: Register | None = None
    credentials: int = 0
    blob: bytes = b""


@dataclass
class FilesIn:
    """An operation on files (publish, cache, keys) and the bytes it must leave alone."""

    run: Callable[[], Any]
    keep: dict[Path, bytes] = field(default_factory=dict)
    check: Callable[[], None] | None = None


def _verify(c: Ctx, x: Any) -> Any:
    p = x if isinstance(x, Present) else Present(x)
    return c.w.verifier(**p.verifier).verify(
        p.vp_token, nonce=p.nonce, audience=p.audience, now=p.now, request=p.request
    )


def _trust_verify(c: Ctx, x: TrustIn) -> Any:
    return TrustList.verify(
        x.token, (x.anchor or c.w.anchor).public(), now=x.now, max_age=x.max_age
    )


def _status_token(c: Ctx, x: StatusTokenIn) -> Any:
    return verify_status_list_token(
        x.token, key=x.key.public(), expected_uri=x.uri, now=x.now, expected_issuer=x.issuer
    )


def _wallet_open(c: Ctx, x: WalletIn) -> Any:
    Wallet.open(x.dir, passphrase=x.passphrase).close()


def _wallet_add(c: Ctx, x: WalletIn) -> Any:
    status = c.w.cache if x.check_status else None
    with Wallet.open(x.dir, passphrase=PASSPHRASE) as wallet, x.fault():
        wallet.add(x.credential or "", trust_list=c.w.trust, status=status, now=NOW)


def _register_reserve(c: Ctx, x: RegisterIn) -> Any:
    reg = x.reg or Register.open(x.path, busy_timeout=0.2)
    try:
        reg.reserve("HOSTILE-NEW", DEBT_VCT, "dc+sd-jwt", valid_until=NOW + 86400)
    finally:
        reg.close()


def _batch(c: Ctx, x: tuple[Path, Issuer]) -> Any:
    """Read a Rode Knop batch file. A refused row is reported, not raised (the other rows go
    ahead), so the row's refusal (its field and message) is raised here as the library's
    ``InvalidDataError``; the entry also asserts that the row was not accepted for signing."""
    rows, rejected = read_batch(*x)
    assert rows == [], "a hostile row was accepted for signing"
    assert len(rejected) == 1, rejected
    r = rejected[0]
    raise InvalidDataError("invalid_data", r.message, field=r.field)


ENTRIES: dict[str, Callable[[Ctx, Any], Any]] = {
    "parse_json": lambda c, x: parse_json(x),
    "b64u_decode": lambda c, x: b64u_decode(x),
    "parse_compact": lambda c, x: parse_compact(x),
    "SDJWT.parse": lambda c, x: SDJWT.parse(x),
    "parse_vp_token": lambda c, x: parse_vp_token(x),
    "Verifier.verify": _verify,
    "TrustList.verify": _trust_verify,
    "verify_status_list_token": _status_token,
    "StatusList.from_json": lambda c, x: StatusList.from_json(x),
    "BitstringStatusList.decode": lambda c, x: BitstringStatusList.decode(x),
    "DCQLQuery.parse": lambda c, x: DCQLQuery.parse(x),
    "Key.from_jwk": lambda c, x: Key.from_jwk(x),
    "key_from_did_jwk": lambda c, x: key_from_did_jwk(x),
    "Wallet.open": _wallet_open,
    "Wallet.add": _wallet_add,
    "Wallet.create": lambda c, x: Wallet.create(x.dir, passphrase=PASSPHRASE, scrypt_n=2**10),
    "Register.open": lambda c, x: Register.open(x.path).close(),
    "Register.reserve": _register_reserve,
    "Issuer.open": lambda c, x: Issuer.open(x),
    "files": lambda c, x: x.run(),
    "read_batch": _batch,
}


# ------------------------------------------------------------------------------------------
# Generator helpers
# ------------------------------------------------------------------------------------------
def find_disclosure(token: str, *path: str | int) -> str:
    """The encoded disclosure that discloses ``path`` in an issued SD-JWT."""
    for p, d in SDJWT.parse(token).disclosure_paths():
        if p == path:
            return d.encoded
    raise AssertionError(f"no disclosure for {path}")


def kb_parts(presentation: str) -> tuple[str, str]:
    """(``<JWT>~<D>...~``, KB-JWT) of a presentation with key binding."""
    head, _, kb = presentation.rpartition("~")
    return head + "~", kb


def raw_sig(key: Key, r: int | None = None, s: int | None = None) -> Callable[[bytes], bytes]:
    """A signer returning ``key``'s real ``r||s`` with ``r`` and/or ``s`` replaced."""

    def sign(data: bytes) -> bytes:
        sig = key.sign(data)
        r0, s0 = sig[:32], sig[32:]
        rr = r0 if r is None else r.to_bytes(32, "big")
        ss = s0 if s is None else s.to_bytes(32, "big")
        return rr + ss

    return sign


def der_sig(key: Key) -> Callable[[bytes], bytes]:
    def sign(data: bytes) -> bytes:
        sig = key.sign(data)
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        return encode_dss_signature(r, s)

    return sign


def hs256(secret: bytes) -> Callable[[bytes], bytes]:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def pem(key: Key) -> bytes:
    return bytes(
        key.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def off_curve(jwk: dict[str, Any]) -> dict[str, Any]:
    """The same JWK with y+1: (x, y+1) is not on P-256."""
    y = int.from_bytes(unb64(jwk["y"]), "big")
    return {**jwk, "y": b64(((y + 1) % P256_P).to_bytes(32, "big"))}


def infinity(jwk: dict[str, Any]) -> dict[str, Any]:
    """(0, 0), the encoding some libraries use for the point at infinity."""
    return {**jwk, "x": b64(bytes(32)), "y": b64(bytes(32))}


def cnf(c: Ctx, jwk: dict[str, Any], name: str = "stmt") -> str:
    """An issued credential re-signed with ``cnf.jwk`` replaced, presented with KB."""
    jwk = {k: v for k, v in jwk.items() if k not in ("kid", "alg")}
    token = c.w.resign(name, payload=lambda p: p.update(cnf={"jwk": jwk}))
    return c.w.bind(token)


def vp(c: Ctx, presentation: str, **kw: Any) -> Present:
    return Present(c.w.vp(presentation), **kw)


def presented(c: Ctx, token: str, **kw: Any) -> Present:
    """``token`` (an SD-JWT without KB) bound by the holder and wrapped in a vp_token."""
    return vp(c, c.w.bind(token), **kw)


def status_token(
    c: Ctx,
    *,
    payload: Any,
    key: Key | None = None,
    header: dict[str, Any] | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    key = key or c.w.cjib.key
    h = header if header is not None else {"alg": key.alg, "typ": "statuslist+jwt", "kid": key.kid}
    return jws(h, payload, key, sign=sign)


def status_payload(c: Ctx, **changes: Any) -> dict[str, Any]:
    sl = StatusList(1024, bits=2)
    p: dict[str, Any] = {
        "sub": c.w.cjib.status_uri,
        "iss": CJIB,
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "ttl": 3600,
        "status_list": sl.to_json(),
    }
    p.update(changes)
    return p


def trust_token(
    c: Ctx,
    *,
    payload: Any = None,
    header: dict[str, Any] | None = None,
    key: Key | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    key = key or c.w.anchor
    if payload is None:
        payload = {
            "iss": "urn:blauweknop:scheme-authority",
            "iat": NOW - 60,
            "nbf": NOW - 60,
            "exp": NOW + 86400,
            "organisations": [o.entry() for o in (c.w.cjib, c.w.duo, c.w.gemeente)],
        }
    h = header if header is not None else {"alg": key.alg, "typ": "trust-list+jwt", "kid": key.kid}
    return jws(h, payload, key, sign=sign)


def trusted(c: Ctx, token: str, *, at: float = NOW, **kw: Any) -> dict[str, Any]:
    """Verifier kwargs with the trust list ``token`` (verified as of ``at``)."""
    return {"trust": TrustList.verify(token, c.w.anchor.public(), now=at), **kw}


@contextlib.contextmanager
def disk_full() -> Iterator[None]:
    """``os.write`` fails with ENOSPC, as on a full disk (SQLite is not affected)."""
    real = os.write

    def write(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    os.write = write  # type: ignore[assignment]
    try:
        yield
    finally:
        os.write = real


def immutable(c: Ctx, path: Path) -> None:
    """``chattr +i`` (root ignores mode bits); undone when the row ends."""
    subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
    c.defer(lambda: subprocess.run(["chattr", "-i", str(path)], check=False))


def wallet_with_records(c: Ctx) -> WalletIn:
    """A wallet holding two statements bound to its key, plus a third one ready to add."""
    d = c.tmp / "wallet"
    profile = get_profile(DEBT_VCT)
    data = _example("debt-statement.json")
    with Wallet.create(d, passphrase=PASSPHRASE, scrypt_n=2**10) as wallet:
        hjwk = wallet.holder_jwk()

        def issue(n: int) -> str:
            claims = {**data, "statement_id": f"CJIB-2026-9{n:05d}"}
            return issue_sd_jwt_vc(
                profile,
                claims,
                issuer_id=CJIB,
                signer=c.w.cjib.key,
                holder_jwk=hjwk,
                iat=NOW - 3600 + n,
                exp=NOW + 86400,
            )

        for n in (1, 2):
            wallet.add(issue(n), trust_list=c.w.trust, now=NOW)
        records = sorted(x.id for x in wallet.credentials(now=NOW))
        extra = issue(3)
    return WalletIn(d, credential=extra, records=records, blob=(d / "wallet.bkw").read_bytes())


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def wallet_intact(c: Ctx, x: WalletIn) -> None:
    """The wallet still opens with the right passphrase and holds exactly its records."""
    with Wallet.open(x.dir, passphrase=PASSPHRASE) as wallet:
        assert sorted(r.id for r in wallet.credentials(now=NOW)) == x.records
    left = [p.name for p in x.dir.iterdir() if p.name.endswith(".tmp")]
    assert not left, f"temporary files left: {left}"


def wallet_bytes_unchanged(c: Ctx, x: WalletIn) -> None:
    assert (x.dir / "wallet.bkw").read_bytes() == x.blob


def register_with_rows(c: Ctx, *, keep_open: bool = False) -> RegisterIn:
    path = c.tmp / "register.sqlite"
    reg = Register.open(path, status_base_uri="https://status.example/r", list_size=256)
    for i in range(3):
        reg.reserve(f"R-{i}", DEBT_VCT, "dc+sd-jwt", valid_until=NOW + 86400)
        reg.confirm(f"R-{i}")
    reg.revoke("R-0", "hostile battery", "test")
    n = reg.integrity_check().credentials
    if not keep_open:
        reg.close()
        return RegisterIn(path, None, n, path.read_bytes())
    return RegisterIn(path, reg, n)


def register_intact(c: Ctx, x: RegisterIn) -> None:
    """``integrity_check`` passes and no credential row was added or lost."""
    reg = Register.open(x.path)
    try:
        assert reg.integrity_check().credentials == x.credentials
        assert reg.get("R-0").state == "revoked"
    finally:
        reg.close()


def register_bytes_unchanged(c: Ctx, x: RegisterIn) -> None:
    assert x.path.read_bytes() == x.blob


def holder_process(args: list[str]) -> subprocess.Popen[str]:
    """Start a helper process and wait until it says it holds its lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


# ==========================================================================================
# A. Parsing and denial of service
# ==========================================================================================
VERIFY = "Verifier.verify"


@case(
    "jwt-without-signature-segment",
    PARSING,
    "issuer JWT truncated after the payload (two segments)",
    "SECURITY-BATTERY A4; RFC 7515 section 7.1",
    VERIFY,
    MalformedError,
    "malformed_jws",
)
def _(c: Ctx) -> Any:
    _, _, discs = split_sd(c.w.creds["stmt"])
    jwt = c.w.creds["stmt"].split("~")[0]
    return presented(c, assemble(jwt.rsplit(".", 1)[0], discs))


@case(
    "signature-truncated-to-63-bytes",
    PARSING,
    "issuer signature cut by two base64url characters (63 bytes)",
    "SECURITY-BATTERY A4/B7; RFC 7518 section 3.4",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    jwt, rest = c.w.creds["stmt"].split("~", 1)
    return presented(c, jwt[:-2] + "~" + rest)


@case(
    "kb-jwt-truncated",
    PARSING,
    "key-binding JWT cut after its header",
    "RFC 9901 section 4.3",
    VERIFY,
    HolderBindingError,
    "key_binding_malformed",
)
def _(c: Ctx) -> Any:
    head, kb = kb_parts(c.w.present())
    return vp(c, head + kb.split(".")[0])


@case(
    "extra-tilde-segment",
    PARSING,
    "an empty segment '~~' between disclosures",
    "RFC 9901 section 4",
    VERIFY,
    DisclosureError,
    "disclosure_malformed",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.creds["stmt"] + "~")


@case(
    "tilde-after-kb-jwt",
    PARSING,
    "a '~' appended after the key-binding JWT",
    "RFC 9901 section 4",
    VERIFY,
    DisclosureError,
    "disclosure_malformed",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present() + "~")


@case(
    "vp-token-not-utf8",
    PARSING,
    "vp_token bytes that are not UTF-8",
    "SECURITY-BATTERY A7; RFC 8259 section 8.1",
    VERIFY,
    MalformedError,
    "malformed_json",
)
def _(c: Ctx) -> Any:
    return b'{"q": ["\xff\xfe' + c.w.present().encode() + b'"]}'


@case(
    "vp-token-bom",
    PARSING,
    "vp_token starting with a UTF-8 byte-order mark",
    "SECURITY-BATTERY A7; RFC 8259 section 8.1",
    VERIFY,
    MalformedError,
    "malformed_json",
)
def _(c: Ctx) -> Any:
    return b"\xef\xbb\xbf" + json.dumps(c.w.vp(c.w.present())).encode()


@case(
    "presentation-not-ascii",
    PARSING,
    "a fullwidth tilde (U+FF5E) instead of '~'",
    "RFC 9901 section 4 (ASCII base64url)",
    VERIFY,
    MalformedError,
    "malformed_sd_jwt",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present().replace("~", "\uff5e", 1))


@case(
    "vp-token-duplicate-query-id",
    PARSING,
    "vp_token naming one query id twice (first a harmless copy, then the real one)",
    "SECURITY-BATTERY A6; RFC 8259 section 4",
    VERIFY,
    MalformedError,
    "duplicate_json_key",
)
def _(c: Ctx) -> Any:
    p = json.dumps(c.w.present())
    return '{"q": [' + p + '], "q": [' + p + "]}"


@case(
    "payload-duplicate-iss",
    PARSING,
    "issuer payload with 'iss' twice (the trusted one, then another), validly signed",
    "SECURITY-BATTERY A6; RFC 7519 section 4",
    VERIFY,
    MalformedError,
    "duplicate_json_key",
)
def _(c: Ctx) -> Any:
    def dup(p: dict[str, Any]) -> str:
        text = json.dumps(p, separators=(",", ":"))
        return text[:-1] + ',"iss":"' + DUO + '"}'

    return presented(c, c.w.resign("stmt", payload=dup))


@case(
    "disclosure-duplicate-member",
    PARSING,
    "disclosure value {'outstanding': 1, 'outstanding': 999999}",
    "SECURITY-BATTERY A6; RFC 9901 section 4.2",
    VERIFY,
    DisclosureError,
    "disclosure_malformed",
)
def _(c: Ctx) -> Any:
    bad = b64(b'["c2FsdC1ob3N0aWxl","arrangement",{"status":"active","status":"ended"}]')
    token = c.w.resign(
        "stmt", payload=lambda p: p["_sd"].append(digest(bad)), disclosures=lambda d: [*d, bad]
    )
    return presented(c, token)


@case(
    "dcql-duplicate-member",
    PARSING,
    "DCQL query text with 'credentials' twice",
    "SECURITY-BATTERY A6; OpenID4VP 1.0 section 6",
    "DCQLQuery.parse",
    MalformedError,
    "duplicate_json_key",
)
def _(c: Ctx) -> Any:
    good = json.dumps(c.w.request["credentials"])
    return '{"credentials": [], "credentials": ' + good + "}"


@case(
    "vp-token-huge-integer",
    PARSING,
    "a 5,000-digit integer in the vp_token",
    "SECURITY-BATTERY A9",
    VERIFY,
    MalformedError,
    "malformed_json",
)
def _(c: Ctx) -> Any:
    return '{"q": [' + "9" * 5000 + "]}"


@case(
    "kb-iat-huge-integer",
    PARSING,
    "key-binding JWT whose iat has 5,000 digits",
    "SECURITY-BATTERY A9; RFC 7519 section 2",
    VERIFY,
    HolderBindingError,
    "key_binding_malformed",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    sd_hash = b64(hashlib.sha256(token.encode()).digest())
    text = '{"iat":' + "9" * 5000 + f',"aud":"{AUD}","nonce":"{NONCE}","sd_hash":"{sd_hash}"}}'
    kb = jws({"alg": "ES256", "typ": "kb+jwt"}, text, c.w.holder)
    return vp(c, token + kb)


@case(
    "payload-nan",
    PARSING,
    "issuer payload with exp: NaN, validly signed",
    "SECURITY-BATTERY A7/E3; RFC 8259 section 6",
    VERIFY,
    MalformedError,
    "malformed_json",
)
def _(c: Ctx) -> Any:
    def nan(p: dict[str, Any]) -> str:
        return json.dumps({**p, "exp": 0}).replace('"exp": 0', '"exp": NaN')

    return presented(c, c.w.resign("stmt", payload=nan))


@case(
    "trust-list-infinity",
    PARSING,
    "trust list with exp: 1e400 (parses to infinity)",
    "SECURITY-BATTERY A7/E3; RFC 7519 section 2 NumericDate",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    text = json.dumps({"iss": "x", "iat": NOW, "exp": 0, "organisations": []})
    return TrustIn(trust_token(c, payload=text.replace('"exp": 0', '"exp": 1e400')))


@case(
    "status-token-negative-infinity",
    PARSING,
    "status list token with ttl: -Infinity",
    "SECURITY-BATTERY A7; draft-ietf-oauth-status-list 'ttl'",
    "verify_status_list_token",
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    text = json.dumps(status_payload(c, ttl=0)).replace('"ttl": 0', '"ttl": -Infinity')
    return StatusTokenIn(status_token(c, payload=text), c.w.cjib.key, c.w.cjib.status_uri)


@case(
    "vp-token-deeply-nested",
    PARSING,
    "vp_token of 100,000 nested arrays",
    "SECURITY-BATTERY A8",
    VERIFY,
    MalformedError,
    "too_deep",
)
def _(c: Ctx) -> Any:
    return '{"q": ' + "[" * 100_000 + "]" * 100_000 + "}"


@case(
    "dcql-deeply-nested-object",
    PARSING,
    "DCQL query passed as a decoded object nested 100,000 deep",
    "SECURITY-BATTERY A8; OpenID4VP 1.0 section 6",
    "DCQLQuery.parse",
    MalformedError,
    "too_deep",
)
def _(c: Ctx) -> Any:
    inner: Any = []
    for _ in range(100_000):
        inner = [inner]
    return {"credentials": [{"id": "q", "format": "dc+sd-jwt", "meta": {"x": inner}}]}


@case(
    "disclosure-chain-too-deep",
    PARSING,
    "40 disclosures each hiding the next (recursive disclosure chain)",
    "SECURITY-BATTERY A11; RFC 9901 section 4.2.6",
    VERIFY,
    MalformedError,
    "too_deep",
)
def _(c: Ctx) -> Any:
    chain: Any = "leaf"
    for _ in range(40):
        chain = {"deeper": SD(chain)}
    claims = c.w.stmt_claims(chain=chain)
    return presented(c, c.w.issue_raw(claims))


@case(
    "header-base64-padding",
    PARSING,
    "issuer JWT header with '=' padding, signed as sent",
    "SECURITY-BATTERY A2/A3; RFC 7515 section 2",
    VERIFY,
    MalformedError,
    "malformed_base64",
)
def _(c: Ctx) -> Any:
    h, p, discs = split_sd(c.w.creds["stmt"])
    for pad in range(3):  # a header length that base64 pads
        h2 = {**h, "x": "a" * pad}
        raw = to_bytes(h2)
        if len(raw) % 3:
            break
    enc = _noncanonical(raw, "padding")
    return presented(c, assemble(jws(None, p, c.w.cjib.key, enc_header=enc), discs))


@case(
    "kb-signature-standard-alphabet",
    PARSING,
    "key-binding JWT signature in the '+/' alphabet instead of '-_'",
    "SECURITY-BATTERY A2; RFC 7515 section 2",
    VERIFY,
    HolderBindingError,
    "key_binding_malformed",
)
def _(c: Ctx) -> Any:
    head, kb = kb_parts(c.w.present())
    h, p, s = kb.split(".")
    for _ in range(64):  # until the signature's encoding has a '-' or '_' to swap
        if "-" in s or "_" in s:
            break
        head, kb = kb_parts(c.w.present())
        h, p, s = kb.split(".")
    return vp(c, f"{head}{h}.{p}.{s.replace('-', '+').replace('_', '/')}")


@case(
    "base64-noncanonical-trailing-bits",
    PARSING,
    "'YR' (non-zero unused bits) where canonical base64url is 'YQ'",
    "SECURITY-BATTERY A3; RFC 4648 section 3.5",
    "b64u_decode",
    MalformedError,
    "malformed_base64",
)
def _(c: Ctx) -> Any:
    return "YR"


@case(
    "base64-length-1-mod-4",
    PARSING,
    "a base64url text of length 1 mod 4",
    "RFC 4648 section 5",
    "parse_compact",
    MalformedError,
    "malformed_base64",
)
def _(c: Ctx) -> Any:
    h, p, s = c.w.creds["stmt"].split("~")[0].split(".")
    return f"{h}A.{p}.{s}" if len(h) % 4 == 0 else f"{h[: len(h) - len(h) % 4]}A.{p}.{s}"


@case(
    "presentation-oversized",
    PARSING,
    "one presentation of 300 KB (limit max_token_bytes = 256 KiB)",
    "SECURITY-BATTERY A1/A10; Limits.max_token_bytes",
    VERIFY,
    MalformedError,
    "too_large",
    seconds=0.5,
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present() + "A" * 300_000)


@case(
    "vp-token-oversized",
    PARSING,
    "a 3 MB vp_token (limit max_vp_token_bytes = 2 MiB)",
    "SECURITY-BATTERY A1; Limits.max_vp_token_bytes",
    VERIFY,
    MalformedError,
    "too_large",
    seconds=0.5,
)
def _(c: Ctx) -> Any:
    return json.dumps({"q": ["x" * 3_000_000]}).encode()


@case(
    "vp-token-too-many-presentations",
    PARSING,
    "65 presentations in one vp_token (limit max_presentations = 64)",
    "Limits.max_presentations",
    VERIFY,
    MalformedError,
    "too_large",
    seconds=0.5,
)
def _(c: Ctx) -> Any:
    p = c.w.present()
    return {f"q{i}": [p] for i in range(65)}


@case(
    "too-many-disclosures",
    PARSING,
    "1,025 disclosures (limit max_disclosures = 1024)",
    "SECURITY-BATTERY A10; Limits.max_disclosures",
    "SDJWT.parse",
    MalformedError,
    "too_large",
)
def _(c: Ctx) -> Any:
    return c.w.creds["stmt"].split("~")[0] + "~" + "WyJhIiwxXQ~" * 1025


@case(
    "status-list-zlib-bomb",
    PARSING,
    "status_list.lst: 64 MiB of zeros in 64 KB of zlib (limit 2 MiB at 1 bit)",
    "SECURITY-BATTERY A20; Limits.max_status_list_entries",
    "StatusList.from_json",
    MalformedError,
    "too_large",
)
def _(c: Ctx) -> Any:
    return {"bits": 1, "lst": b64(_bomb("zlib"))}


@case(
    "status-token-zlib-bomb-in-cache",
    PARSING,
    "the issuer's own (signed) status list token carries a zlib bomb",
    "SECURITY-BATTERY A20; draft-ietf-oauth-status-list 'Validation Rules'",
    VERIFY,
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    token = status_token(
        c, payload=status_payload(c, status_list={"bits": 2, "lst": b64(_bomb("zlib"))})
    )
    cache = StatusCache(c.tmp / "cache", trust_list=c.w.trust)
    # put() refuses it on admission; planted behind the cache's back, verification still does
    (cache.directory / cache_file_name(c.w.cjib.status_uri, CJIB)).write_bytes(token.encode())
    return vp(c, c.w.present(), verifier={"status": cache})


@case(
    "bitstring-gzip-bomb",
    PARSING,
    "W3C encodedList: 64 MiB of zeros in gzip (limit 2 MiB at 1 bit)",
    "SECURITY-BATTERY A20; W3C Bitstring Status List section 3.4",
    "BitstringStatusList.decode",
    MalformedError,
    "too_large",
)
def _(c: Ctx) -> Any:
    return "u" + b64(_bomb("gzip"))


@case(
    "dcql-too-large",
    PARSING,
    "a 70 KB DCQL query (limit max_dcql_bytes = 64 KiB)",
    "Limits.max_dcql_bytes",
    "DCQLQuery.parse",
    MalformedError,
    "too_large",
)
def _(c: Ctx) -> Any:
    q = copy.deepcopy(c.w.request)
    q["credentials"][0]["claims"].extend({"path": ["x" * 60, i]} for i in range(1200))
    return json.dumps(q)


@case(
    "dcql-too-large-object",
    PARSING,
    "a DCQL query object of 2,000 credential queries (about 140 KB)",
    "Limits.max_dcql_bytes",
    "DCQLQuery.parse",
    MalformedError,
    "too_large",
)
def _(c: Ctx) -> Any:
    one = c.w.request["credentials"][0]
    return {"credentials": [{**one, "id": f"q{i}"} for i in range(2000)]}


@case(
    "jwe-instead-of-jws",
    PARSING,
    "a five-segment JWE (alg dir, enc A256GCM) where the issuer JWS belongs",
    "SECURITY-BATTERY A12/A13; RFC 7516 section 7.1",
    VERIFY,
    MalformedError,
    "malformed_jws",
)
def _(c: Ctx) -> Any:
    hdr = b64(b'{"alg":"dir","enc":"A256GCM","zip":"DEF"}')
    jwe = f"{hdr}..{b64(bytes(12))}.{b64(b'x' * 32)}.{b64(bytes(16))}"
    _, _, discs = split_sd(c.w.creds["stmt"])
    return presented(c, assemble(jwe, discs))


@case(
    "jws-json-serialization",
    PARSING,
    "the credential in JWS JSON serialization (an object) instead of compact form",
    "SECURITY-BATTERY A5; RFC 7515 section 7.2",
    VERIFY,
    MalformedError,
    "malformed_presentation",
)
def _(c: Ctx) -> Any:
    h, p, s = c.w.creds["stmt"].split("~")[0].split(".")
    return {"q": [{"payload": p, "signatures": [{"protected": h, "signature": s}]}]}


@case(
    "vp-token-array",
    PARSING,
    "a vp_token that is a JSON array",
    "OpenID4VP 1.0 section 8.1",
    VERIFY,
    MalformedError,
    "vp_token_malformed",
)
def _(c: Ctx) -> Any:
    return json.dumps([c.w.present()])


@case(
    "vp-token-number-presentation",
    PARSING,
    "a presentation that is a number",
    "OpenID4VP 1.0 section 8.1",
    "parse_vp_token",
    MalformedError,
    "vp_token_malformed",
)
def _(c: Ctx) -> Any:
    return '{"q": [42]}'


@case(
    "vp-token-lone-surrogate",
    PARSING,
    "a query id holding a lone surrogate \\ud800",
    "SECURITY-BATTERY A7; RFC 8259 section 8.2",
    VERIFY,
    MalformedError,
    "malformed_json",
)
def _(c: Ctx) -> Any:
    return '{"q\\ud800": [' + json.dumps(c.w.present()) + "]}"


_BOMBS: dict[str, bytes] = {}


def _bomb(kind: str) -> bytes:
    """64 MiB of zeros, compressed once per process (about 64 KB)."""
    if kind not in _BOMBS:
        chunk = bytes(1 << 20)
        if kind == "zlib":
            z = zlib.compressobj(9)
            _BOMBS[kind] = b"".join(z.compress(chunk) for _ in range(64)) + z.flush()
        else:
            z = zlib.compressobj(9, zlib.DEFLATED, 31)
            _BOMBS[kind] = b"".join(z.compress(chunk) for _ in range(64)) + z.flush()
    return _BOMBS[kind]


# ==========================================================================================
# B. Signatures and algorithms
# ==========================================================================================
@case(
    "issuer-alg-none",
    SIGNATURES,
    "issuer JWT with alg 'none' and an empty signature",
    "SECURITY-BATTERY B1; RFC 8725 section 3.1",
    VERIFY,
    SignatureError,
    "algorithm_not_allowed",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", header=lambda h: h.update(alg="none"), sign=lambda _: b"")
    )


@case(
    "issuer-hs256-public-key-secret",
    SIGNATURES,
    "issuer JWT as HS256 with CJIB's public key (PEM) as the HMAC secret",
    "SECURITY-BATTERY B2; CVE-2022-29217",
    VERIFY,
    SignatureError,
    "algorithm_not_allowed",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", header=lambda h: h.update(alg="HS256"), sign=hs256(pem(c.w.cjib.key)))
    )


@case(
    "trust-list-hs256-anchor-jwk-secret",
    SIGNATURES,
    "trust list as HS256 with the anchor's public JWK (JSON) as the HMAC secret",
    "SECURITY-BATTERY B2; CVE-2024-33663",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    secret = json.dumps(c.w.anchor.public_jwk()).encode()
    return TrustIn(
        trust_token(c, header={"alg": "HS256", "typ": "trust-list+jwt"}, sign=hs256(secret))
    )


@case(
    "status-token-alg-none",
    SIGNATURES,
    "status list token with alg 'none'",
    "SECURITY-BATTERY B1; draft-ietf-oauth-status-list 'Validation Rules'",
    "verify_status_list_token",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    token = status_token(
        c,
        payload=status_payload(c),
        header={"alg": "none", "typ": "statuslist+jwt"},
        sign=lambda _: b"",
    )
    return StatusTokenIn(token, c.w.cjib.key, c.w.cjib.status_uri)


@case(
    "issuer-eddsa-for-p256-key",
    SIGNATURES,
    "EdDSA token by an attacker's Ed25519 key naming CJIB's P-256 kid",
    "SECURITY-BATTERY B3; RFC 8725 section 3.1",
    VERIFY,
    SignatureError,
    "algorithm_key_mismatch",
)
def _(c: Ctx) -> Any:
    ed = Key.generate("EdDSA")
    return presented(c, c.w.resign("stmt", header=lambda h: h.update(alg="EdDSA"), key=ed))


@case(
    "issuer-es256-for-ed25519-key",
    SIGNATURES,
    "ES256 token by an attacker's P-256 key naming DUO's Ed25519 kid",
    "SECURITY-BATTERY B3; RFC 8725 section 3.1",
    VERIFY,
    SignatureError,
    "algorithm_key_mismatch",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt_duo", header=lambda h: h.update(alg="ES256"), key=c.w.attacker)
    )


@case(
    "issuer-crit-header",
    SIGNATURES,
    "issuer JWT with an unknown 'crit' extension",
    "SECURITY-BATTERY B6; RFC 7515 section 4.1.11",
    VERIFY,
    SignatureError,
    "crit_not_understood",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign(
            "stmt",
            header=lambda h: h.update(crit=["urn:example:hold"], **{"urn:example:hold": True}),
        ),
    )


@case(
    "kb-crit-header",
    SIGNATURES,
    "key-binding JWT with a 'crit' header",
    "SECURITY-BATTERY B6; RFC 7515 section 4.1.11",
    VERIFY,
    SignatureError,
    "crit_not_understood",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    payload = {
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": b64(hashlib.sha256(token.encode()).digest()),
    }
    kb = jws({"alg": "ES256", "typ": "kb+jwt", "crit": ["b64"], "b64": True}, payload, c.w.holder)
    return vp(c, token + kb)


@case(
    "issuer-jwk-header",
    SIGNATURES,
    "issuer JWT signed by an attacker who puts his own key in the 'jwk' header",
    "SECURITY-BATTERY B4; RFC 8725 section 3.10",
    VERIFY,
    SignatureError,
    "header_not_allowed",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign(
            "stmt",
            header=lambda h: h.update(jwk=c.w.attacker.public_jwk(), kid=c.w.attacker.kid),
            key=c.w.attacker,
        ),
    )


@case(
    "issuer-x5c-header",
    SIGNATURES,
    "issuer JWT carrying an 'x5c' chain",
    "SECURITY-BATTERY B4/F4; RFC 7515 section 4.1.6",
    VERIFY,
    SignatureError,
    "header_not_allowed",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", header=lambda h: h.update(x5c=["MIIBszCCAVmgAwIB"])))


@case(
    "trust-list-jku-header",
    SIGNATURES,
    "trust list signed by an attacker with 'jku' pointing at his key set",
    "SECURITY-BATTERY B4; RFC 8725 section 3.10",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    hdr = {"alg": "ES256", "typ": "trust-list+jwt", "jku": "https://attacker.example/jwks"}
    return TrustIn(trust_token(c, header=hdr, key=c.w.attacker))


@case(
    "status-token-x5u-header",
    SIGNATURES,
    "status list token with an 'x5u' header",
    "SECURITY-BATTERY B4; RFC 7515 section 4.1.5",
    "verify_status_list_token",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    hdr = {"alg": "ES256", "typ": "statuslist+jwt", "x5u": "https://attacker.example/c.pem"}
    token = status_token(c, payload=status_payload(c), header=hdr)
    return StatusTokenIn(token, c.w.cjib.key, c.w.cjib.status_uri)


@case(
    "kid-unknown",
    SIGNATURES,
    "issuer JWT naming a kid CJIB never registered",
    "SECURITY-BATTERY B5; RFC 8725 section 3.10",
    VERIFY,
    TrustError,
    "untrusted_key",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", header=lambda h: h.update(kid=c.w.attacker.kid), key=c.w.attacker)
    )


@case(
    "kid-path-traversal",
    SIGNATURES,
    "kid '../../keys/cjib.jwk' (a path, not a key id)",
    "SECURITY-BATTERY B5",
    VERIFY,
    TrustError,
    "untrusted_key",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign(
            "stmt", header=lambda h: h.update(kid="../../cjib/keys/" + c.w.cjib.key.kid + ".jwk")
        ),
    )


@case(
    "kid-10kb-sql",
    SIGNATURES,
    'a 10 KB kid starting with "\' OR 1=1--"',
    "SECURITY-BATTERY B5",
    VERIFY,
    TrustError,
    "untrusted_key",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", header=lambda h: h.update(kid="' OR 1=1--" + "x" * 10_000))
    )


@case(
    "cnf-jwk-off-curve",
    SIGNATURES,
    "cnf.jwk (signed by the issuer) is a point off P-256",
    "SECURITY-BATTERY B10; RFC 8725 section 3.4",
    VERIFY,
    HolderBindingError,
    "holder_key_invalid",
)
def _(c: Ctx) -> Any:
    return vp(c, cnf(c, off_curve(c.w.holder.public_jwk())))


@case(
    "cnf-jwk-point-at-infinity",
    SIGNATURES,
    "cnf.jwk with x = y = 0 (point at infinity)",
    "SECURITY-BATTERY B10",
    VERIFY,
    HolderBindingError,
    "holder_key_invalid",
)
def _(c: Ctx) -> Any:
    return vp(c, cnf(c, infinity(c.w.holder.public_jwk())))


@case(
    "cnf-jwk-wrong-coordinate-length",
    SIGNATURES,
    "cnf.jwk whose x has 33 bytes (a leading zero)",
    "SECURITY-BATTERY B10; RFC 7518 section 6.2.1.2",
    VERIFY,
    HolderBindingError,
    "holder_key_invalid",
)
def _(c: Ctx) -> Any:
    jwk = c.w.holder.public_jwk()
    return vp(c, cnf(c, {**jwk, "x": b64(b"\x00" + unb64(jwk["x"]))}))


@case(
    "cnf-jwk-wrong-curve-name",
    SIGNATURES,
    "cnf.jwk with P-256 coordinates labelled P-384",
    "SECURITY-BATTERY B10",
    VERIFY,
    HolderBindingError,
    "holder_key_invalid",
)
def _(c: Ctx) -> Any:
    return vp(c, cnf(c, {**c.w.holder.public_jwk(), "crv": "P-384"}))


@case(
    "trust-list-key-off-curve",
    SIGNATURES,
    "a trust-list entry whose key is a point off P-256 (signed by the anchor)",
    "SECURITY-BATTERY B10; trust-list.md entry format",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    entry = c.w.cjib.entry(jwks={"keys": [off_curve(c.w.cjib.key.public_jwk())]})
    payload = {"iss": "x", "iat": NOW - 60, "exp": NOW + 3600, "organisations": [entry]}
    return TrustIn(trust_token(c, payload=payload))


@case(
    "trust-list-key-point-at-infinity",
    SIGNATURES,
    "a trust-list entry whose key is x = y = 0 (point at infinity)",
    "SECURITY-BATTERY B10",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    entry = c.w.cjib.entry(jwks={"keys": [infinity(c.w.cjib.key.public_jwk())]})
    payload = {"iss": "x", "iat": NOW - 60, "exp": NOW + 3600, "organisations": [entry]}
    return TrustIn(trust_token(c, payload=payload))


@case(
    "jwk-coordinate-not-below-p",
    SIGNATURES,
    "a P-256 JWK whose x equals the field prime p",
    "SECURITY-BATTERY B10; SEC 1 section 2.3.5",
    "Key.from_jwk",
    SignatureError,
    "key_invalid",
)
def _(c: Ctx) -> Any:
    return {**c.w.holder.public_jwk(), "x": b64(P256_P.to_bytes(32, "big"))}


@case(
    "did-jwk-with-private-key",
    SIGNATURES,
    "a did:jwk carrying the private 'd'",
    "SECURITY-BATTERY B10; did:jwk spec",
    "key_from_did_jwk",
    SignatureError,
    "key_invalid",
)
def _(c: Ctx) -> Any:
    jwk = {k: v for k, v in c.w.holder.private_jwk().items() if k not in ("kid", "alg")}
    return "did:jwk:" + b64(json.dumps(jwk).encode())


@case(
    "ecdsa-r-zero",
    SIGNATURES,
    "issuer signature with r = 0",
    "SECURITY-BATTERY B9; SEC 1 section 4.1.4 step 1",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=raw_sig(c.w.cjib.key, r=0)))


@case(
    "ecdsa-s-zero",
    SIGNATURES,
    "issuer signature with s = 0",
    "SECURITY-BATTERY B9; SEC 1 section 4.1.4 step 1",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=raw_sig(c.w.cjib.key, s=0)))


@case(
    "ecdsa-r-equals-n",
    SIGNATURES,
    "issuer signature with r = n (the group order)",
    "SECURITY-BATTERY B9",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=raw_sig(c.w.cjib.key, r=P256_N)))


@case(
    "ecdsa-s-equals-n",
    SIGNATURES,
    "issuer signature with s = n (the group order)",
    "SECURITY-BATTERY B9",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=raw_sig(c.w.cjib.key, s=P256_N)))


@case(
    "ecdsa-r-s-max",
    SIGNATURES,
    "issuer signature with r = s = 2^256 - 1 (both above n)",
    "SECURITY-BATTERY B9",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    top = (1 << 256) - 1
    return presented(c, c.w.resign("stmt", sign=raw_sig(c.w.cjib.key, r=top, s=top)))


@case(
    "ecdsa-der-signature",
    SIGNATURES,
    "issuer signature DER-encoded where JOSE needs raw r||s",
    "SECURITY-BATTERY B7; RFC 7518 section 3.4",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=der_sig(c.w.cjib.key)))


@case(
    "ecdsa-65-byte-signature",
    SIGNATURES,
    "issuer signature with a 65th (zero) byte",
    "SECURITY-BATTERY B7; RFC 7518 section 3.4",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", sign=lambda d: c.w.cjib.key.sign(d) + b"\x00"))


@case(
    "eddsa-63-byte-signature",
    SIGNATURES,
    "DUO's Ed25519 signature cut to 63 bytes",
    "SECURITY-BATTERY B7; RFC 8037 section 3.1",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt_duo", sign=lambda d: c.w.duo.key.sign(d)[:63]))


@case(
    "kb-ecdsa-r-zero",
    SIGNATURES,
    "key-binding JWT signature with r = 0",
    "SECURITY-BATTERY B9/D2",
    VERIFY,
    HolderBindingError,
    "key_binding_signature",
)
def _(c: Ctx) -> Any:
    head, kb = kb_parts(c.w.present())
    h, p, _ = kb.split(".")
    return vp(
        c, head + jws(None, None, None, enc_header=h, enc_payload=p, sign=raw_sig(c.w.holder, r=0))
    )


@case(
    "kb-der-signature",
    SIGNATURES,
    "key-binding JWT signature DER-encoded",
    "SECURITY-BATTERY B7/D2",
    VERIFY,
    HolderBindingError,
    "key_binding_signature",
)
def _(c: Ctx) -> Any:
    head, kb = kb_parts(c.w.present())
    h, p, _ = kb.split(".")
    return vp(
        c, head + jws(None, None, None, enc_header=h, enc_payload=p, sign=der_sig(c.w.holder))
    )


# ==========================================================================================
# C. Selective disclosure (RFC 9901 section 7.1; SD-JWT VC section 3.2.2.2)
# ==========================================================================================
@case(
    "disclosure-from-another-credential",
    DISCLOSURE,
    "DUO's disclosure of totals.outstanding appended to CJIB's presentation",
    "SECURITY-BATTERY C1; RFC 9901 section 7.1 step 5",
    VERIFY,
    DisclosureError,
    "disclosure_unreferenced",
)
def _(c: Ctx) -> Any:
    stolen = find_disclosure(c.w.creds["stmt_duo"], "totals", "outstanding")
    return presented(c, c.w.creds["stmt"] + stolen + "~")


@case(
    "disclosure-from-same-issuer-other-credential",
    DISCLOSURE,
    "the BSN disclosure of another CJIB statement of the same citizen",
    "SECURITY-BATTERY C1; RFC 9901 section 7.1 step 5",
    VERIFY,
    DisclosureError,
    "disclosure_unreferenced",
)
def _(c: Ctx) -> Any:
    other = find_disclosure(c.w.creds["stmt_revoked"], "subject", "bsn")
    own = find_disclosure(c.w.creds["stmt"], "subject", "bsn")
    token = c.w.creds["stmt"].replace(own + "~", "") + other + "~"
    return presented(c, token)


@case(
    "disclosure-sent-twice",
    DISCLOSURE,
    "the same disclosure appended twice",
    "SECURITY-BATTERY C2; RFC 9901 section 7.1 step 4",
    VERIFY,
    DisclosureError,
    "disclosure_duplicate",
)
def _(c: Ctx) -> Any:
    d = find_disclosure(c.w.creds["stmt"], "totals", "outstanding")
    return presented(c, c.w.creds["stmt"] + d + "~")


@case(
    "decoy-collides-with-real-digest",
    DISCLOSURE,
    "a 'decoy' in subject._sd equal to the family_name digest (issuer-signed)",
    "SECURITY-BATTERY C3; RFC 9901 section 7.1 step 4",
    VERIFY,
    DisclosureError,
    "digest_duplicate",
)
def _(c: Ctx) -> Any:
    real = digest(find_disclosure(c.w.creds["stmt"], "subject", "family_name"))
    return presented(c, c.w.resign("stmt", payload=lambda p: p["subject"]["_sd"].append(real)))


@case(
    "decoy-collides-across-levels",
    DISCLOSURE,
    "a top-level decoy equal to a digest inside totals._sd (issuer-signed)",
    "SECURITY-BATTERY C3; RFC 9901 section 7.1 step 4",
    VERIFY,
    DisclosureError,
    "digest_duplicate",
)
def _(c: Ctx) -> Any:
    def dup(p: dict[str, Any]) -> None:
        p["_sd"].append(p["totals"]["_sd"][0])

    return presented(c, c.w.resign("stmt", payload=dup))


@case(
    "never-disclosable-claim-as-disclosure",
    DISCLOSURE,
    "statement_id (sd: never) moved into a disclosure by the issuer",
    "SECURITY-BATTERY C11; SD-JWT VC section 6.4 type metadata",
    VERIFY,
    DisclosureError,
    "disclosure_not_allowed",
)
def _(c: Ctx) -> Any:
    claims = c.w.stmt_claims()
    claims["statement_id"] = SD(claims["statement_id"])
    return presented(c, c.w.issue_raw(claims))


@case(
    "status-claim-as-disclosure",
    DISCLOSURE,
    "the 'status' claim delivered only as a disclosure",
    "SECURITY-BATTERY C11; SD-JWT VC section 3.2.2.2",
    VERIFY,
    DisclosureError,
    "disclosure_not_allowed",
)
def _(c: Ctx) -> Any:
    claims = c.w.stmt_claims()
    claims["status"] = SD(claims["status"])
    return presented(c, c.w.issue_raw(claims))


@case(
    "exp-claim-as-disclosure",
    DISCLOSURE,
    "'exp' only as a disclosure (a holder could withhold expiry)",
    "SECURITY-BATTERY C11; SD-JWT VC section 3.2.2.2",
    VERIFY,
    DisclosureError,
    "disclosure_not_allowed",
)
def _(c: Ctx) -> Any:
    claims = c.w.stmt_claims()
    claims["exp"] = SD(claims["exp"])
    return presented(c, c.w.issue_raw(claims))


@case(
    "cnf-claim-as-disclosure",
    DISCLOSURE,
    "'cnf' only as a disclosure (holder binding the holder could swap)",
    "SECURITY-BATTERY C11; SD-JWT VC section 3.2.2.2",
    VERIFY,
    DisclosureError,
    "disclosure_not_allowed",
)
def _(c: Ctx) -> Any:
    token = c.w.resign("stmt", payload=lambda p: p.pop("cnf"))
    cnf_d = disclosure("c2FsdC1jbmY", "cnf", {"jwk": c.w.holder.public_jwk(with_kid=False)})
    token = c.w.resign(
        token, payload=lambda p: p["_sd"].append(digest(cnf_d)), disclosures=lambda d: [*d, cnf_d]
    )
    return presented(c, token)


@case(
    "iss-disclosed-beside-plaintext",
    DISCLOSURE,
    "a disclosure 'iss' = DUO beside the plaintext iss = CJIB",
    "SECURITY-BATTERY C5/F2; RFC 9901 section 7.1 step 3.c.ii.3",
    VERIFY,
    DisclosureError,
    "disclosure_name_clash",
)
def _(c: Ctx) -> Any:
    d = disclosure("c2FsdC1pc3M", "iss", DUO)
    return presented(
        c,
        c.w.resign(
            "stmt", payload=lambda p: p["_sd"].append(digest(d)), disclosures=lambda ds: [*ds, d]
        ),
    )


@case(
    "plaintext-amount-and-disclosure",
    DISCLOSURE,
    "plaintext totals.outstanding = 1 beside its real disclosure (50000)",
    "SECURITY-BATTERY C5; keycloak#50240",
    VERIFY,
    DisclosureError,
    "disclosure_name_clash",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p["totals"].update(outstanding=1)))


@case(
    "two-disclosures-same-name",
    DISCLOSURE,
    "a second family_name disclosure in subject._sd (issuer-signed)",
    "SECURITY-BATTERY C6; RFC 9901 section 7.1",
    VERIFY,
    DisclosureError,
    "disclosure_name_clash",
)
def _(c: Ctx) -> Any:
    d = disclosure("c2FsdC1uYW1l", "family_name", "de Vries")
    return presented(
        c,
        c.w.resign(
            "stmt",
            payload=lambda p: p["subject"]["_sd"].append(digest(d)),
            disclosures=lambda ds: [*ds, d],
        ),
    )


@case(
    "disclosure-named-sd",
    DISCLOSURE,
    "a disclosure whose claim name is '_sd'",
    "SECURITY-BATTERY C4; RFC 9901 section 7.1 step 3.c.ii.1",
    VERIFY,
    DisclosureError,
    "disclosure_name_reserved",
)
def _(c: Ctx) -> Any:
    d = disclosure("c2FsdC1zZA", "_sd", ["AAAA"])
    return presented(
        c,
        c.w.resign(
            "stmt", payload=lambda p: p["_sd"].append(digest(d)), disclosures=lambda ds: [*ds, d]
        ),
    )


@case(
    "array-digest-with-extra-key",
    DISCLOSURE,
    "cases[0] as {'...': digest, 'paid': true}",
    "SECURITY-BATTERY C8; RFC 9901 section 4.2.4.2",
    VERIFY,
    DisclosureError,
    "array_digest_malformed",
)
def _(c: Ctx) -> Any:
    case_el = find_disclosure(c.w.creds["stmt"], "cases", 0)

    def extra(p: dict[str, Any]) -> None:
        # 'cases' is itself a disclosure: put the hostile array into the signed payload,
        # pointing at the (presented) disclosure of the first case.
        p["arrears_cases"] = [{"...": digest(case_el), "paid": True}]

    return presented(c, c.w.resign("stmt", payload=extra))


@case(
    "array-disclosure-in-sd",
    DISCLOSURE,
    "a two-element (array-element) disclosure referenced from _sd",
    "SECURITY-BATTERY C7; RFC 9901 section 7.1 step 3.c.ii.1",
    VERIFY,
    DisclosureError,
    "disclosure_kind_mismatch",
)
def _(c: Ctx) -> Any:
    d = disclosure("c2FsdC1hcnI", "element")
    return presented(
        c,
        c.w.resign(
            "stmt", payload=lambda p: p["_sd"].append(digest(d)), disclosures=lambda ds: [*ds, d]
        ),
    )


@case(
    "sd-alg-md5",
    DISCLOSURE,
    "_sd_alg 'md5'",
    "SECURITY-BATTERY B14; RFC 9901 section 4.1.1",
    VERIFY,
    DisclosureError,
    "sd_alg_unsupported",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.update(_sd_alg="md5")))


@case(
    "sd-alg-nested",
    DISCLOSURE,
    "_sd_alg inside 'subject'",
    "SECURITY-BATTERY B14; RFC 9901 section 4.1.1",
    VERIFY,
    DisclosureError,
    "sd_alg_not_top_level",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", payload=lambda p: p["subject"].update(_sd_alg="sha-256"))
    )


@case(
    "sd-not-an-array",
    DISCLOSURE,
    "totals._sd as a string",
    "SECURITY-BATTERY C10; RFC 9901 section 7.1 step 3.b",
    VERIFY,
    DisclosureError,
    "digest_malformed",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign("stmt", payload=lambda p: p["totals"].update(_sd=" ".join(p["totals"]["_sd"]))),
    )


@case(
    "sd-always-claim-in-plaintext",
    DISCLOSURE,
    "subject.family_name (sd: always) issued in plaintext",
    "SD-JWT VC section 6.4 type metadata 'sd: always'",
    VERIFY,
    DisclosureError,
    "sd_required",
)
def _(c: Ctx) -> Any:
    claims = c.w.stmt_claims()
    sub = dict(claims["subject"])
    sub["family_name"] = sub["family_name"].value
    claims["subject"] = sub
    return presented(c, c.w.issue_raw(claims))


@case(
    "disclosure-salt-not-string",
    DISCLOSURE,
    "a disclosure [1, 'bsn', '999999990']",
    "SECURITY-BATTERY C9; RFC 9901 section 4.2.1",
    VERIFY,
    DisclosureError,
    "disclosure_malformed",
)
def _(c: Ctx) -> Any:
    d = b64(b'[1,"extra","x"]')
    return presented(
        c,
        c.w.resign(
            "stmt", payload=lambda p: p["_sd"].append(digest(d)), disclosures=lambda ds: [*ds, d]
        ),
    )


@case(
    "child-disclosure-without-parent",
    DISCLOSURE,
    "arrangement.status disclosed without the 'arrangement' disclosure that holds it",
    "SECURITY-BATTERY C15; RFC 9901 section 7.1 step 5",
    VERIFY,
    DisclosureError,
    "disclosure_unreferenced",
)
def _(c: Ctx) -> Any:
    parent = find_disclosure(c.w.creds["stmt"], "arrangement")
    return presented(c, c.w.creds["stmt"].replace(parent + "~", ""))


@case(
    "exp-missing",
    DISCLOSURE,
    "a debt statement without 'exp'",
    "SECURITY-BATTERY C12; debt-statement.md",
    VERIFY,
    MalformedError,
    "malformed_claim",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.pop("exp")))


@case(
    "vct-unknown",
    DISCLOSURE,
    "vct of a credential type the scheme does not know",
    "SD-JWT VC section 3.2.2.1",
    VERIFY,
    PolicyError,
    "unknown_type",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", payload=lambda p: p.update(vct="urn:blauweknop:debt-statement:2"))
    )


@case(
    "wallet-import-with-kb-jwt",
    DISCLOSURE,
    "an issued credential handed to the wallet with a KB-JWT attached",
    "SECURITY-BATTERY C14; RFC 9901 section 7.2",
    "Wallet.add",
    MalformedError,
    "malformed_sd_jwt",
    seconds=3.0,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    x.credential = c.w.present()
    return x


# ==========================================================================================
# D. Holder binding and replay (RFC 9901 section 7.3; W3C VC-DATA-INTEGRITY authentication)
# ==========================================================================================
def kb_by_hand(c: Ctx, token: str, **changes: Any) -> str:
    """``token`` + a KB-JWT built by hand with claims changed (``None`` drops one)."""
    payload: dict[str, Any] = {
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": b64(hashlib.sha256(token.encode()).digest()),
    }
    payload.update(changes)
    payload = {k: v for k, v in payload.items() if v is not None}
    return token + jws({"alg": "ES256", "typ": "kb+jwt"}, payload, c.w.holder)


@case(
    "kb-missing",
    BINDING,
    "presentation ending in '~' (no KB-JWT)",
    "SECURITY-BATTERY D1; RFC 9901 section 7.3",
    VERIFY,
    HolderBindingError,
    "key_binding_missing",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.creds["stmt"])


@case(
    "kb-from-another-presentation",
    BINDING,
    "a valid KB-JWT (same holder, nonce, audience) lifted from the DUO presentation",
    "SECURITY-BATTERY D8; RFC 9901 section 4.3.1",
    VERIFY,
    HolderBindingError,
    "sd_hash_mismatch",
)
def _(c: Ctx) -> Any:
    _, kb = kb_parts(c.w.present("stmt_duo"))
    return vp(c, c.w.creds["stmt"] + kb)


@case(
    "kb-iat-too-old",
    BINDING,
    "KB-JWT made 301 s ago (kb_max_age 300 s)",
    "SECURITY-BATTERY D7; RFC 9901 section 7.3 step 5",
    VERIFY,
    HolderBindingError,
    "presentation_too_old",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present(iat=NOW - 301))


@case(
    "kb-iat-missing",
    BINDING,
    "KB-JWT without iat, validly signed by the holder",
    "RFC 9901 section 4.3 (iat is required); one code with di-presentation-created-missing",
    VERIFY,
    HolderBindingError,
    "presentation_time_missing",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    sd_hash = b64(hashlib.sha256(token.encode()).digest())
    text = json.dumps({"aud": AUD, "nonce": NONCE, "sd_hash": sd_hash})
    kb = jws({"alg": "ES256", "typ": "kb+jwt"}, text, c.w.holder)
    return vp(c, token + kb)


@case(
    "di-presentation-created-missing",
    BINDING,
    "W3C presentation whose proof has no created, validly signed by the holder",
    "VC-DATA-INTEGRITY 2.1 (created); one code with kb-iat-missing",
    VERIFY,
    HolderBindingError,
    "presentation_time_missing",
)
def _(c: Ctx) -> Any:
    cred = c.w.di["vp"]["verifiableCredential"][0]
    unsigned = {k: v for k, v in c.w.di["vp"].items() if k != "proof"}
    unsigned["verifiableCredential"] = [cred]
    v = add_proof(
        unsigned,
        c.w.holder,
        cryptosuite=c.w.di["vp"]["proof"]["cryptosuite"],
        verification_method=c.w.di["vp"]["proof"]["verificationMethod"],
        proof_purpose="authentication",
        challenge=NONCE,
        domain=AUD,
    )
    return {"q": [v]}


@case(
    "kb-iat-in-future",
    BINDING,
    "KB-JWT dated 61 s ahead (leeway 60 s)",
    "SECURITY-BATTERY D7; RFC 9901 section 7.3 step 5",
    VERIFY,
    HolderBindingError,
    "presentation_in_future",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present(iat=NOW + 61))


@case(
    "kb-wrong-audience",
    BINDING,
    "KB-JWT made for DUO, presented to CJIB",
    "SECURITY-BATTERY D6; RFC 9901 section 7.3",
    VERIFY,
    HolderBindingError,
    "audience_mismatch",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present(audience=DUO))


@case(
    "kb-audience-array",
    BINDING,
    "KB-JWT aud as an array holding the right audience",
    "SECURITY-BATTERY D6; RFC 9901 section 4.3 (aud a single string)",
    VERIFY,
    HolderBindingError,
    "audience_mismatch",
)
def _(c: Ctx) -> Any:
    return vp(c, kb_by_hand(c, c.w.creds["stmt"], aud=[AUD]))


@case(
    "kb-replayed-with-old-nonce",
    BINDING,
    "an earlier response (old nonce) replayed against a new request",
    "SECURITY-BATTERY D5; RFC 9901 section 9.5",
    VERIFY,
    HolderBindingError,
    "nonce_mismatch",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present(nonce="an-earlier-nonce"), nonce=NONCE)


@case(
    "kb-numeric-nonce",
    BINDING,
    "KB-JWT nonce as a number",
    "SECURITY-BATTERY D4; RFC 9901 section 4.3",
    VERIFY,
    HolderBindingError,
    "nonce_mismatch",
)
def _(c: Ctx) -> Any:
    return vp(c, kb_by_hand(c, c.w.creds["stmt"], nonce=12345), nonce="12345")


@case(
    "cnf-swapped-stolen-credential",
    BINDING,
    "another citizen's credential presented with the thief's own KB-JWT",
    "SECURITY-BATTERY D2; SD-JWT VC 'cnf'",
    VERIFY,
    HolderBindingError,
    "key_binding_signature",
)
def _(c: Ctx) -> Any:
    victim = c.w.resign(
        "stmt", payload=lambda p: p.update(cnf={"jwk": c.w.other_holder.public_jwk(with_kid=False)})
    )
    return vp(c, c.w.bind(victim, holder=c.w.holder))


@case(
    "kb-header-jwk",
    BINDING,
    "KB-JWT by the thief with his key in the 'jwk' header",
    "SECURITY-BATTERY D2; RFC 8725 section 3.10",
    VERIFY,
    SignatureError,
    "header_not_allowed",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    payload = {
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": b64(hashlib.sha256(token.encode()).digest()),
    }
    kb = jws(
        {"alg": "ES256", "typ": "kb+jwt", "jwk": c.w.attacker.public_jwk()}, payload, c.w.attacker
    )
    return vp(c, token + kb)


@case(
    "kb-typ-jwt",
    BINDING,
    "KB-JWT with typ 'JWT'",
    "SECURITY-BATTERY D3; RFC 9901 section 4.3",
    VERIFY,
    HolderBindingError,
    "key_binding_typ",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    payload = {
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": b64(hashlib.sha256(token.encode()).digest()),
    }
    return vp(c, token + jws({"alg": "ES256", "typ": "JWT"}, payload, c.w.holder))


@case(
    "kb-alg-none",
    BINDING,
    "KB-JWT with alg 'none'",
    "SECURITY-BATTERY D3; RFC 8725 section 3.1",
    VERIFY,
    SignatureError,
    "algorithm_not_allowed",
)
def _(c: Ctx) -> Any:
    token = c.w.creds["stmt"]
    payload = {
        "iat": NOW,
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": b64(hashlib.sha256(token.encode()).digest()),
    }
    return vp(c, token + jws({"alg": "none", "typ": "kb+jwt"}, payload, None, sign=lambda _: b""))


@case(
    "disclosure-removed-after-kb",
    BINDING,
    "a disclosure dropped after the KB-JWT was made",
    "SECURITY-BATTERY D8; RFC 9901 section 4.3.1",
    VERIFY,
    HolderBindingError,
    "sd_hash_mismatch",
)
def _(c: Ctx) -> Any:
    head, kb = kb_parts(c.w.present())
    bsn = find_disclosure(c.w.creds["stmt"], "subject", "bsn")
    return vp(c, head.replace(bsn + "~", "") + kb)


@case(
    "kb-sd-hash-missing",
    BINDING,
    "KB-JWT without sd_hash",
    "SECURITY-BATTERY D8; RFC 9901 section 4.3",
    VERIFY,
    HolderBindingError,
    "sd_hash_mismatch",
)
def _(c: Ctx) -> Any:
    return vp(c, kb_by_hand(c, c.w.creds["stmt"], sd_hash=None))


def di_vp(
    c: Ctx,
    cred: Callable[[dict[str, Any]], Any] | None = None,
    outer: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """The world's W3C presentation with its credential and/or envelope changed."""
    v = copy.deepcopy(c.w.di["vp"])
    if cred is not None:
        cred(v["verifiableCredential"][0])
    if outer is not None:
        outer(v)
    return {"q": [v]}


@case(
    "di-wrong-challenge",
    BINDING,
    "W3C presentation made for another nonce",
    "SECURITY-BATTERY D10; VC-DATA-INTEGRITY section 4.3 'challenge'",
    VERIFY,
    HolderBindingError,
    "nonce_mismatch",
)
def _(c: Ctx) -> Any:
    return Present(di_vp(c), nonce="a-newer-nonce")


@case(
    "di-wrong-domain",
    BINDING,
    "W3C presentation made for DUO, presented to CJIB",
    "SECURITY-BATTERY D10; VC-DATA-INTEGRITY section 4.3 'domain'",
    VERIFY,
    HolderBindingError,
    "audience_mismatch",
)
def _(c: Ctx) -> Any:
    return Present(di_vp(c), audience=DUO)


@case(
    "di-presentation-too-old",
    BINDING,
    "W3C presentation proof 400 s old (max 300 s)",
    "SECURITY-BATTERY D7/D10",
    VERIFY,
    HolderBindingError,
    "presentation_too_old",
)
def _(c: Ctx) -> Any:
    return Present(di_vp(c), now=NOW + 400)


@case(
    "di-presented-by-another-holder",
    BINDING,
    "the citizen's W3C credential presented (and signed) by another holder",
    "SECURITY-BATTERY D2/D10",
    VERIFY,
    HolderBindingError,
    "holder_mismatch",
)
def _(c: Ctx) -> Any:
    cred = c.w.di["vp"]["verifiableCredential"][0]
    v = sign_presentation(
        [cred],
        c.w.attacker,
        challenge=NONCE,
        domain=AUD,
        created=dt.datetime.fromtimestamp(NOW, dt.UTC),
    )
    return {"q": [v]}


# ==========================================================================================
# E. Time and status (RFC 7519 4.1.4/4.1.5; draft-ietf-oauth-status-list)
# ==========================================================================================
@case(
    "credential-expired",
    TIME_STATUS,
    "a one-day statement verified 61 s after its exp",
    "SECURITY-BATTERY E1; RFC 7519 section 4.1.4",
    VERIFY,
    ValidityError,
    "expired",
)
def _(c: Ctx) -> Any:
    exp = split_sd(c.w.creds["stmt_short"])[1]["exp"]
    return vp(c, c.w.present("stmt_short", iat=exp + 60), now=exp + 60)


@case(
    "credential-not-yet-valid",
    TIME_STATUS,
    "a Rode Knop declaration whose pause starts next month",
    "SECURITY-BATTERY E2; RFC 7519 section 4.1.5",
    VERIFY,
    ValidityError,
    "not_yet_valid",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present("decl_future"))


@case(
    "credential-iat-in-future",
    TIME_STATUS,
    "iat two minutes after now (leeway 60 s)",
    "RFC 7519 section 4.1.6",
    VERIFY,
    ValidityError,
    "iat_in_future",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.update(iat=NOW + 120)))


@case(
    "exp-as-string",
    TIME_STATUS,
    'exp as the string "1797930000"',
    "SECURITY-BATTERY E3; RFC 7519 section 2 NumericDate",
    VERIFY,
    MalformedError,
    "malformed_claim",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.update(exp=str(p["exp"]))))


@case(
    "credential-revoked",
    TIME_STATUS,
    "a statement CJIB revoked (status 1 in its list)",
    "draft-ietf-oauth-status-list 'Status Types'",
    VERIFY,
    StatusError,
    "revoked",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present("stmt_revoked"))


@case(
    "credential-suspended",
    TIME_STATUS,
    "a statement CJIB suspended (status 2)",
    "draft-ietf-oauth-status-list 'Status Types'",
    VERIFY,
    StatusError,
    "suspended",
)
def _(c: Ctx) -> Any:
    return vp(c, c.w.present("stmt_suspended"))


@case(
    "expired-before-status",
    TIME_STATUS,
    "a revoked statement past its exp: expiry is reported, status not consulted",
    "SECURITY-BATTERY E12",
    VERIFY,
    ValidityError,
    "expired",
)
def _(c: Ctx) -> Any:
    exp = split_sd(c.w.creds["stmt_revoked"])[1]["exp"]
    fresh_trust = trusted(c, c.w.trust_list(now=exp - 86400), at=exp)
    return vp(c, c.w.present("stmt_revoked", iat=exp + 60), now=exp + 60, verifier=fresh_trust)


@case(
    "status-list-stale",
    TIME_STATUS,
    "the cached status list is past its ttl (fetched 2 h 10 min ago, ttl 1 h)",
    "SECURITY-BATTERY E9; draft-ietf-oauth-status-list 'Caching'",
    VERIFY,
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    later = NOW + 7200
    return vp(c, c.w.present(iat=later), now=later)


@case(
    "status-list-of-another-issuer",
    TIME_STATUS,
    "CJIB's credential points at DUO's (validly signed) status list: the cache files lists "
    "per signer, so there is no CJIB list at that URI",
    "SECURITY-BATTERY E8; draft-ietf-oauth-status-list 'Validation Rules'",
    VERIFY,
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    def other(p: dict[str, Any]) -> None:
        p["status"]["status_list"]["uri"] = c.w.duo.status_uri

    return presented(c, c.w.resign("stmt", payload=other))


@case(
    "status-token-sub-mismatch",
    TIME_STATUS,
    "a status list token whose sub is another list's URI",
    "SECURITY-BATTERY E8; draft-ietf-oauth-status-list 'Validation Rules'",
    "verify_status_list_token",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    token = status_token(c, payload=status_payload(c, sub="https://status.cjib.example/bk/2.jwt"))
    return StatusTokenIn(token, c.w.cjib.key, c.w.cjib.status_uri)


@case(
    "status-token-iss-mismatch",
    TIME_STATUS,
    "a status list token signed by CJIB but naming DUO as iss",
    "SECURITY-BATTERY E8",
    "verify_status_list_token",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    token = status_token(c, payload=status_payload(c, iss=DUO))
    return StatusTokenIn(token, c.w.cjib.key, c.w.cjib.status_uri, issuer=CJIB)


@case(
    "status-token-issued-in-future",
    TIME_STATUS,
    "a status list token issued 10 minutes in the future",
    "draft-ietf-oauth-status-list 'Validation Rules'",
    "verify_status_list_token",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    token = status_token(c, payload=status_payload(c, iat=NOW + 600, exp=NOW + 4000))
    return StatusTokenIn(token, c.w.cjib.key, c.w.cjib.status_uri)


@case(
    "status-index-out-of-range",
    TIME_STATUS,
    "status idx beyond the list (issuer-signed)",
    "SECURITY-BATTERY E7; draft-ietf-oauth-status-list 'Validation Rules' step 6",
    VERIFY,
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", payload=lambda p: p["status"]["status_list"].update(idx=10**9))
    )


@case(
    "status-index-negative",
    TIME_STATUS,
    "status idx -1 (issuer-signed)",
    "SECURITY-BATTERY E7",
    VERIFY,
    MalformedError,
    "malformed_claim",
)
def _(c: Ctx) -> Any:
    return presented(
        c, c.w.resign("stmt", payload=lambda p: p["status"]["status_list"].update(idx=-1))
    )


@case(
    "status-claim-missing",
    TIME_STATUS,
    "a credential without any status reference (no allow_missing_status)",
    "DESIGN.md section 4 (missing status is a rejection)",
    VERIFY,
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.pop("status")))


@case(
    "status-list-not-synced",
    TIME_STATUS,
    "a status list URI the cache has never seen",
    "DESIGN.md section 4",
    VERIFY,
    StatusError,
    "status_unavailable",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign(
            "stmt",
            payload=lambda p: p["status"]["status_list"].update(
                uri="https://status.cjib.example/bk/99.jwt"
            ),
        ),
    )


@case(
    "status-list-rollback",
    TIME_STATUS,
    "sync offers an older copy of a status list than the cached one",
    "SECURITY-BATTERY E9; status-lists.md (rollback hides revocations)",
    "files",
    StatusError,
    "status_invalid",
)
def _(c: Ctx) -> Any:
    cache = StatusCache(c.tmp / "cache", trust_list=c.w.trust)
    uri = c.w.cjib.status_uri
    sl = StatusList(1024, bits=2)
    sl.set(3, 1)
    new = sign_status_list_token(
        sl, uri=uri, issuer=CJIB, signer=c.w.cjib.key, now=NOW - 60, ttl=3600
    )
    old = sign_status_list_token(
        StatusList(1024, bits=2),
        uri=uri,
        issuer=CJIB,
        signer=c.w.cjib.key,
        now=NOW - 7200,
        ttl=3600,
    )
    cache.put(uri, new.encode(), fetched_at=NOW - 60)
    path = c.tmp / "cache" / _cache_name(uri)

    def check() -> None:
        assert path.read_bytes() == new.encode()

    return FilesIn(
        lambda: cache.put(uri, old.encode(), fetched_at=NOW), keep={path: new.encode()}, check=check
    )


def _cache_name(uri: str) -> str:
    return cache_file_name(uri, CJIB)


@case(
    "wallet-import-malformed-status",
    TIME_STATUS,
    "the wallet is handed a statement whose (issuer-signed) status is the string 'valid'",
    "draft-ietf-oauth-status-list 'Referenced Token'; SD-JWT VC 'status'",
    "Wallet.add",
    MalformedError,
    "malformed_claim",
    seconds=3.0,
    after=wallet_intact,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    assert x.credential is not None
    x.credential = c.w.resign(x.credential, payload=lambda p: p.update(status="valid"))
    x.check_status = True
    return x


# ==========================================================================================
# F. Trust
# ==========================================================================================
@case(
    "trust-list-expired",
    TRUST,
    "the trust list verified 61 s after its exp",
    "SECURITY-BATTERY F; trust-list.md freshness",
    "TrustList.verify",
    TrustError,
    "trust_list_expired",
)
def _(c: Ctx) -> Any:
    return TrustIn(c.w.trust_jwt, now=c.w.trust.expires_at + 61)


@case(
    "trust-list-wrong-anchor",
    TRUST,
    "a well-formed trust list signed by a key other than the pinned anchor",
    "RFC 8725 section 3.10; trust-list.md",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    return TrustIn(c.w.trust_list(anchor=c.w.wrong_anchor))


@case(
    "trust-list-signed-by-member",
    TRUST,
    "a trust list signed by CJIB's own (listed) key instead of the anchor",
    "trust-list.md",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    return TrustIn(c.w.trust_list(anchor=c.w.cjib.key))


@case(
    "trust-list-not-yet-valid",
    TRUST,
    "a trust list whose nbf is tomorrow",
    "RFC 7519 section 4.1.5",
    "TrustList.verify",
    TrustError,
    "trust_list_not_yet_valid",
)
def _(c: Ctx) -> Any:
    return TrustIn(c.w.trust_list(now=NOW + 86400))


@case(
    "trust-list-too-old",
    TRUST,
    "a 29-day-old trust list, the verifier's max_age 7 days",
    "trust-list.md freshness",
    "TrustList.verify",
    TrustError,
    "trust_list_expired",
)
def _(c: Ctx) -> Any:
    return TrustIn(c.w.trust_list(now=NOW - 29 * 86400), max_age=7 * 86400)


@case(
    "trust-list-exp-nan-string",
    TRUST,
    'a trust list whose exp is the string "NaN" (would never expire)',
    "RFC 7519 section 2 NumericDate",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    payload = {"iss": "x", "iat": NOW - 60, "exp": "NaN", "organisations": [c.w.cjib.entry()]}
    return TrustIn(trust_token(c, payload=payload), now=NOW + 10 * 365 * 86400)


@case(
    "trust-list-typ-jwt",
    TRUST,
    "a trust list with typ 'JWT'",
    "SECURITY-BATTERY B13; RFC 8725 section 3.11",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    return TrustIn(trust_token(c, header={"alg": "ES256", "typ": "JWT", "kid": c.w.anchor.kid}))


@case(
    "trust-list-private-key-in-entry",
    TRUST,
    "a trust-list entry publishing a private key ('d')",
    "trust-list.md entry format; RFC 8725 section 3.4",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    entry = c.w.cjib.entry(jwks={"keys": [c.w.attacker.private_jwk()]})
    payload = {"iss": "x", "iat": NOW - 60, "exp": NOW + 3600, "organisations": [entry]}
    return TrustIn(trust_token(c, payload=payload))


@case(
    "trust-list-duplicate-organisation",
    TRUST,
    "CJIB listed twice, the second time with an attacker's key",
    "trust-list.md",
    "TrustList.verify",
    TrustError,
    "trust_list_invalid",
)
def _(c: Ctx) -> Any:
    twin = c.w.cjib.entry(jwks={"keys": [c.w.attacker.public_jwk()]})
    payload = {
        "iss": "x",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "organisations": [c.w.cjib.entry(), twin],
    }
    return TrustIn(trust_token(c, payload=payload))


@case(
    "issuer-removed-from-trust-list",
    TRUST,
    "CJIB's credential checked with a newer trust list that no longer lists CJIB",
    "SECURITY-BATTERY F1",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:
    token = c.w.trust_list([c.w.duo.entry(), c.w.gemeente.entry()], now=NOW - 60)
    return vp(c, c.w.present(), verifier=trusted(c, token))


@case(
    "rode-knop-from-creditor",
    TRUST,
    "a Rode Knop declaration issued (validly) by CJIB, which lacks the municipality role",
    "DESIGN.md section 4; rode-knop-declaration.md",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:
    data = _example("rode-knop-declaration.json")
    token = issue_sd_jwt_vc(
        get_profile(RODE_KNOP_VCT),
        data,
        issuer_id=CJIB,
        signer=c.w.cjib.key,
        holder_jwk=c.w.holder.public_jwk(),
        iat=NOW - 3600,
        exp=NOW + 86400,
        nbf=NOW - 3600,
        status={"status_list": {"idx": 1, "uri": c.w.cjib.status_uri}},
    )
    return presented(c, token)


@case(
    "issuer-outside-registration-window",
    TRUST,
    "CJIB's registration ended yesterday (valid_until in its entry)",
    "trust-list.md entry format",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:
    entries = [c.w.cjib.entry(valid_until=NOW - 86400), c.w.duo.entry(), c.w.gemeente.entry()]
    return vp(c, c.w.present(), verifier=trusted(c, c.w.trust_list(entries, now=NOW - 60)))


@case(
    "iss-trailing-slash",
    TRUST,
    "iss = CJIB's id + '/' (a look-alike)",
    "SECURITY-BATTERY F3; CVE-2024-53861",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.update(iss=CJIB + "/")))


@case(
    "iss-case-variant",
    TRUST,
    "iss = CJIB's id in upper case",
    "SECURITY-BATTERY F3",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", payload=lambda p: p.update(iss=CJIB.upper())))


@case(
    "key-of-one-org-claims-another",
    TRUST,
    "the municipality's key signs a statement claiming iss = CJIB (kid of the municipality)",
    "SECURITY-BATTERY F2; RFC 8725 section 3.8",
    VERIFY,
    TrustError,
    "untrusted_key",
)
def _(c: Ctx) -> Any:
    return presented(
        c,
        c.w.resign(
            "stmt", header=lambda h: h.update(kid=c.w.gemeente.key.kid), key=c.w.gemeente.key
        ),
    )


@case(
    "key-of-one-org-with-others-kid",
    TRUST,
    "the municipality's key signs a statement claiming iss = CJIB and CJIB's kid",
    "SECURITY-BATTERY F2",
    VERIFY,
    SignatureError,
    "signature_invalid",
)
def _(c: Ctx) -> Any:
    return presented(c, c.w.resign("stmt", key=c.w.gemeente.key))


@case(
    "verifier-trust-list-expired-since-loading",
    TRUST,
    "a long-running verifier whose trust list expired after it was loaded",
    "trust-list.md freshness",
    VERIFY,
    TrustError,
    "trust_list_expired",
)
def _(c: Ctx) -> Any:
    later = c.w.trust.expires_at + 120
    return vp(c, c.w.present(iat=later), now=later)


# ==========================================================================================
# G. JSON-LD (W3C presentations with ecdsa-sd-2023 credentials, through the Verifier)
# ==========================================================================================
def _ctx(*urls: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__("@context", list(urls))


V2 = "https://www.w3.org/ns/credentials/v2"
BK1 = "https://w3id.org/blauweknop/v1"


@case(
    "jsonld-unknown-context",
    JSONLD,
    "the credential names a context URL outside the pinned allow-list",
    "SECURITY-BATTERY G1; VC-DATA-INTEGRITY section 4.6",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(c, _ctx(V2, BK1, "https://evil.example/blauweknop/v1"))


@case(
    "jsonld-lookalike-context-slash",
    JSONLD,
    "the VC 2.0 context URL with a trailing slash",
    "SECURITY-BATTERY G1",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(c, _ctx(V2 + "/", BK1))


@case(
    "jsonld-lookalike-context-http",
    JSONLD,
    "the blauweknop context over plain http",
    "SECURITY-BATTERY G1",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(c, _ctx(V2, BK1.replace("https:", "http:")))


@case(
    "jsonld-vocab-redefinition",
    JSONLD,
    "an inline context setting @vocab (every undefined term would become 'defined')",
    "SECURITY-BATTERY G2; VC-DATA-INTEGRITY section 4.6",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(c, lambda d: d["@context"].append({"@vocab": "https://evil.example/#"}))


@case(
    "jsonld-protected-term-redefinition",
    JSONLD,
    "an inline context redefining the protected term 'VerifiableCredential'",
    "SECURITY-BATTERY G4; JSON-LD 1.1 section 4.1.11",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(
        c, lambda d: d["@context"].append({"VerifiableCredential": "https://evil.example/VC"})
    )


@case(
    "jsonld-nested-context",
    JSONLD,
    "a nested @context inside credentialSubject remapping 'declaration_id'",
    "SECURITY-BATTERY G3",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(
        c,
        lambda d: d["credentialSubject"].update(
            {"@context": {"declaration_id": "https://evil.example/id"}}
        ),
    )


@case(
    "jsonld-context-on-presentation",
    JSONLD,
    "the presentation envelope names an unknown context",
    "SECURITY-BATTERY G1",
    VERIFY,
    ContextError,
    "context_not_allowed",
)
def _(c: Ctx) -> Any:
    return di_vp(c, outer=lambda v: v["@context"].append("https://evil.example/vp"))


@case(
    "jsonld-poisoned-blank-nodes",
    JSONLD,
    "12 blank nodes each linked to all others (rdf-canon test074 shape) in 'evidence'",
    "SECURITY-BATTERY A21; RDF-CANON section 4.4",
    VERIFY,
    ContextError,
    "canonicalization_limit",
)
def _(c: Ctx) -> Any:
    nodes = [{"id": f"_:n{i}", "aud": [f"_:n{j}" for j in range(12) if j != i]} for i in range(12)]
    return di_vp(c, lambda d: d.update(evidence=nodes))


@case(
    "jsonld-long-array-quadratic-rdf",
    JSONLD,
    "10,000 'evidence' nodes (220 KB): pyld's RDF conversion is quadratic in them",
    "SECURITY-BATTERY A21; Limits.canonicalization_seconds (here 1 s)",
    VERIFY,
    ContextError,
    "canonicalization_limit",
    seconds=3.0,
)
def _(c: Ctx) -> Any:
    nodes = [{"id": f"urn:example:evidence:{i}"} for i in range(10_000)]
    vp = di_vp(c, lambda d: d.update(evidence=nodes))
    return Present(vp, verifier={"limits": Limits(canonicalization_seconds=1.0)})


@case(
    "jsonld-undefined-term",
    JSONLD,
    "a term no allowed context defines, added after issuance",
    "SECURITY-BATTERY G5; VC-DATA-INTEGRITY section 2.4.3",
    VERIFY,
    ContextError,
    "undefined_term",
)
def _(c: Ctx) -> Any:
    return di_vp(c, lambda d: d["credentialSubject"].update(hold_all_collection=False))


@case(
    "jsonld-relative-id",
    JSONLD,
    "a relative 'id' ('foo') on the credential",
    "SECURITY-BATTERY G7",
    VERIFY,
    ContextError,
    "relative_iri",
)
def _(c: Ctx) -> Any:
    return di_vp(c, lambda d: d.update(id="foo"))


@case(
    "jsonld-repeated-array-value",
    JSONLD,
    "a copy of 'suspend_collection' added to requested_measures of a signed credential",
    "VC-DATA-INTEGRITY section 2.4.3 (data loss); JSON-LD 1.1 section 4.3 (sets)",
    VERIFY,
    ContextError,
    "data_loss",
)
def _(c: Ctx) -> Any:
    return di_vp(
        c, lambda d: d["credentialSubject"]["requested_measures"].insert(0, "suspend_collection")
    )


@case(
    "di-base-proof-presented",
    JSONLD,
    "the issuer's base proof (with its HMAC key) presented instead of a derived one",
    "SECURITY-BATTERY G13",
    VERIFY,
    DisclosureError,
    "base_proof_presented",
)
def _(c: Ctx) -> Any:
    v = sign_presentation(
        [c.w.di["decl"]],
        c.w.holder,
        challenge=NONCE,
        domain=AUD,
        created=dt.datetime.fromtimestamp(NOW, dt.UTC),
    )
    return {"q": [v]}


@case(
    "di-credential-context-order",
    JSONLD,
    "the credential's @context does not start with the VC 2.0 context",
    "SECURITY-BATTERY G8; VC-DATA-MODEL-2.0 section 4.3",
    VERIFY,
    MalformedError,
    "malformed_document",
)
def _(c: Ctx) -> Any:
    return di_vp(c, _ctx(BK1, V2))


@case(
    "di-rode-knop-from-creditor",
    JSONLD,
    "a W3C Rode Knop declaration issued (validly) by CJIB, which lacks the municipality role",
    "DESIGN.md section 4",
    VERIFY,
    TrustError,
    "untrusted_issuer",
)
def _(c: Ctx) -> Any:

    doc = di_issue(c.w, org=c.w.cjib)
    v = present_di(
        doc,
        [["credentialSubject", "subject", "family_name"]],
        holder_key=c.w.holder,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    return {"q": [v]}


# ==========================================================================================
# H. Storage and CLI inputs: refused with a clear error, and nothing stored is lost
# ==========================================================================================
_HOLD_WALLET = (
    "import sys\n"
    "from blauweknop._wallet_store import WalletStore\n"
    "s = WalletStore.open(sys.argv[1], passphrase=sys.argv[2])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
    "s.close()\n"
)
_HOLD_REGISTER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
    "c.execute('ROLLBACK')\n"
)


@case(
    "wallet-file-truncated",
    STORAGE,
    "the wallet file cut in half (a crash of another tool)",
    "SECURITY-BATTERY H10/H11",
    "Wallet.open",
    StorageError,
    "storage_corrupt",
    seconds=3.0,
    after=wallet_bytes_unchanged,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    f = x.dir / "wallet.bkw"
    f.write_bytes(x.blob[: len(x.blob) // 2])
    x.blob = f.read_bytes()
    return x


@case(
    "wallet-ciphertext-byte-flipped",
    STORAGE,
    "one byte of the wallet ciphertext altered",
    "SECURITY-BATTERY H11",
    "Wallet.open",
    StorageError,
    "storage_corrupt",
    seconds=3.0,
    after=wallet_bytes_unchanged,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    blob = bytearray(x.blob)
    blob[len(blob) - 100] ^= 0x01
    (x.dir / "wallet.bkw").write_bytes(bytes(blob))
    x.blob = bytes(blob)
    return x


@case(
    "wallet-wrong-passphrase",
    STORAGE,
    "a wrong passphrase",
    "DESIGN.md section 5",
    "Wallet.open",
    StorageError,
    "wrong_passphrase",
    seconds=3.0,
    after=wallet_intact,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    x.passphrase = "Correct horse battery staple (hostile)"
    return x


@case(
    "wallet-locked-by-second-process",
    STORAGE,
    "the wallet is open in another process",
    "DESIGN.md section 5 (lock)",
    "Wallet.open",
    StorageError,
    "wallet_locked",
    seconds=3.0,
    after=lambda c, x: (release(x.proc), wallet_intact(c, x)),
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    proc = holder_process([_HOLD_WALLET, str(x.dir), PASSPHRASE])
    c.defer(lambda: release(proc))
    x.proc = proc  # type: ignore[attr-defined]
    return x


@case(
    "wallet-add-disk-full",
    STORAGE,
    "adding a credential when the disk is full (ENOSPC)",
    "SECURITY-BATTERY H5/H10",
    "Wallet.add",
    StorageError,
    "storage_write_failed",
    seconds=3.0,
    after=wallet_intact,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    x.fault = disk_full
    return x


@case(
    "wallet-add-read-only",
    STORAGE,
    "adding a credential when the wallet file is immutable (chattr +i)",
    "SECURITY-BATTERY H5",
    "Wallet.add",
    StorageError,
    "storage_write_failed",
    seconds=3.0,
    after=wallet_intact,
    needs="chattr",
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    immutable(c, x.dir / "wallet.bkw")
    return x


@case(
    "wallet-file-readable-by-others",
    STORAGE,
    "the wallet file has mode 0644",
    "SECURITY.md (files); DESIGN.md section 5",
    "Wallet.open",
    StorageError,
    "wallet_permissions",
    seconds=3.0,
    after=wallet_bytes_unchanged,
)
def _(c: Ctx) -> Any:
    x = wallet_with_records(c)
    (x.dir / "wallet.bkw").chmod(0o644)
    c.defer(lambda: (x.dir / "wallet.bkw").chmod(0o600))
    return x


@case(
    "wallet-create-over-existing",
    STORAGE,
    "creating a wallet where one already exists",
    "DESIGN.md section 5",
    "Wallet.create",
    StorageError,
    "wallet_exists",
    seconds=3.0,
    after=wallet_intact,
)
def _(c: Ctx) -> Any:
    return wallet_with_records(c)


@case(
    "register-truncated",
    STORAGE,
    "the issuer's register file cut in half",
    "SECURITY-BATTERY H3",
    "Register.open",
    StorageError,
    "register_corrupt",
    after=register_bytes_unchanged,
)
def _(c: Ctx) -> Any:
    x = register_with_rows(c)
    x.path.write_bytes(x.blob[: len(x.blob) // 2])
    x.blob = x.path.read_bytes()
    return x


@case(
    "register-locked-by-second-process",
    STORAGE,
    "another process holds the register's write lock",
    "SECURITY-BATTERY H4",
    "Register.reserve",
    StorageError,
    "register_locked",
    seconds=3.0,
    after=lambda c, x: (release(x.proc), register_intact(c, x)),
)
def _(c: Ctx) -> Any:
    x = register_with_rows(c)
    proc = holder_process([_HOLD_REGISTER, str(x.path)])
    c.defer(lambda: release(proc))
    x.proc = proc  # type: ignore[attr-defined]
    return x


@case(
    "register-disk-full",
    STORAGE,
    "allocating an index when the register cannot grow (SQLITE_FULL)",
    "SECURITY-BATTERY H5",
    "Register.reserve",
    StorageError,
    "storage_write_failed",
    after=register_intact,
)
def _(c: Ctx) -> Any:
    x = register_with_rows(c, keep_open=True)
    assert x.reg is not None
    # SQLite does its own I/O; a page budget is its full disk (the same SQLITE_FULL).
    conn = x.reg._conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with contextlib.suppress(StorageError):
        for i in range(1000):
            x.reg.reserve(f"FILL-{i}", DEBT_VCT, "dc+sd-jwt", valid_until=NOW + 86400)
    x.credentials = x.reg.integrity_check().credentials
    return x


@case(
    "register-read-only",
    STORAGE,
    "allocating an index when the register file is immutable (chattr +i)",
    "SECURITY-BATTERY H5",
    "Register.reserve",
    StorageError,
    "register_read_only",
    after=register_intact,
    needs="chattr",
)
def _(c: Ctx) -> Any:
    x = register_with_rows(c)
    immutable(c, x.path)
    return x


def _issuer_home(c: Ctx) -> Issuer:
    iss = Issuer.init(
        c.tmp / "home",
        issuer_id="urn:oin:00000001001234567000",
        name="Gemeente Hostile",
        roles=["municipality"],
        status_base_uri="https://status.hostile.example/rk",
    )
    iss.register.reserve("RK-1", RODE_KNOP_VCT, "dc+sd-jwt", valid_until=NOW + 86400)
    return iss


@case(
    "publish-status-disk-full",
    STORAGE,
    "republishing status lists when the disk is full: the served files stay intact",
    "SECURITY-BATTERY H2/H5",
    "files",
    StorageError,
    "storage_write_failed",
    seconds=5.0,
    after=lambda c, x: x.check(),
)
def _(c: Ctx) -> Any:
    iss = _issuer_home(c)
    out = c.tmp / "public"
    files = iss.publish_status(out, now=NOW - 600)
    keep = {f: f.read_bytes() for f in files}
    token = next(f for f in files if f.suffix == ".jwt")

    def run() -> None:
        with disk_full():
            iss.publish_status(out, now=NOW)

    def check() -> None:
        assert {f: f.read_bytes() for f in files} == keep
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
        verify_status_list_token(
            keep[token],
            key=iss.signer.public(),  # type: ignore[attr-defined]
            expected_uri="https://status.hostile.example/rk/1.jwt",
            now=NOW,
        )

    return FilesIn(run, keep, check)


@case(
    "status-cache-disk-full",
    STORAGE,
    "syncing a newer status list when the disk is full: the cached copy still verifies",
    "SECURITY-BATTERY H5",
    "files",
    StorageError,
    "storage_write_failed",
    after=lambda c, x: x.check(),
)
def _(c: Ctx) -> Any:
    cache = StatusCache(c.tmp / "cache", trust_list=c.w.trust)
    uri = c.w.cjib.status_uri
    old = sign_status_list_token(
        StatusList(64, 2), uri=uri, issuer=CJIB, signer=c.w.cjib.key, now=NOW - 600, ttl=3600
    )
    new = sign_status_list_token(
        StatusList(64, 2), uri=uri, issuer=CJIB, signer=c.w.cjib.key, now=NOW - 60, ttl=3600
    )
    cache.put(uri, old.encode(), fetched_at=NOW - 600)

    def run() -> None:
        with disk_full():
            cache.put(uri, new.encode(), fetched_at=NOW)

    def check() -> None:
        assert StatusCache(c.tmp / "cache").lookup(uri, issuer=CJIB).data == old.encode()  # type: ignore[union-attr]
        StatusCache(c.tmp / "cache").check_token_status(
            uri, 1, issuer_key=c.w.cjib.key.public(), expected_issuer=CJIB, now=NOW
        )

    return FilesIn(run, check=check)


@case(
    "key-file-readable-by-others",
    STORAGE,
    "a private key file with mode 0644",
    "SECURITY-BATTERY H6",
    "files",
    StorageError,
    "key_file_permissions",
    after=lambda c, x: x.check(),
)
def _(c: Ctx) -> Any:
    path = c.tmp / "issuer.jwk"
    Key.generate().save(path)
    path.chmod(0o644)
    keep = path.read_bytes()

    def check() -> None:
        assert path.read_bytes() == keep

    return FilesIn(lambda: Key.load(path), {path: keep}, check)


@case(
    "issuer-key-file-truncated",
    STORAGE,
    "the issuer's signing key file is truncated: no new key is made in its place",
    "SECURITY-BATTERY H7",
    "Issuer.open",
    MalformedError,
    "malformed_json",
    after=lambda c, x: _same_keys(c),
)
def _(c: Ctx) -> Any:
    iss = _issuer_home(c)
    iss.register.close()
    (key_file,) = (c.tmp / "home" / "keys").iterdir()
    key_file.write_bytes(key_file.read_bytes()[:40])
    c.tmp.joinpath("keys.snapshot").write_text(
        json.dumps({p.name: p.read_bytes().hex() for p in key_file.parent.iterdir()})
    )
    return c.tmp / "home"


def _same_keys(c: Ctx) -> None:
    keys = c.tmp / "home" / "keys"
    now = {p.name: p.read_bytes().hex() for p in keys.iterdir()}
    assert now == json.loads(c.tmp.joinpath("keys.snapshot").read_text())


@case(
    "issuer-init-over-existing-home",
    STORAGE,
    "initialising an issuer where one exists: its key is never replaced",
    "SECURITY-BATTERY H7; DESIGN.md section 5",
    "files",
    StorageError,
    "home_exists",
    after=lambda c, x: x.check(),
)
def _(c: Ctx) -> Any:
    iss = _issuer_home(c)
    iss.register.close()
    keys = {p: p.read_bytes() for p in (c.tmp / "home" / "keys").iterdir()}

    def run() -> None:
        Issuer.init(c.tmp / "home", issuer_id=CJIB, name="CJIB", roles=["creditor"])

    def check() -> None:
        assert {p: p.read_bytes() for p in (c.tmp / "home" / "keys").iterdir()} == keys

    return FilesIn(run, keys, check)


def batch_file(c: Ctx, **row: str) -> tuple[Path, Issuer]:
    """A one-row Rode Knop batch CSV (the spec's example row) with ``row`` fields changed."""

    base = {
        "declaration_id": "GM0772-RK-2026-0900",
        "holder_key": did_jwk(c.w.holder),
        "family_name": "Jansen",
        "given_names": "Eva Maria",
        "birthdate": "1988-04-12",
        "trajectory_start": "2026-11-16",
        "valid_from": "2026-11-16",
        "valid_until": "2027-03-15",
        "requested_measures": "suspend_collection;no_bailiff",
        "executing_organisation": "Schuldhulp Eindhoven (fictief)",
        "counsellor_organisation_phone": "040 238 6000",
        "counsellor_organisation_email": "schuldhulp@eindhoven.example",
    }
    base.update(row)
    path = c.tmp / "batch.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(REQUIRED_COLUMNS))
        writer.writeheader()
        writer.writerow(base)
    return path, c.w.gemeente.issuer


@case(
    "csv-injection-equals",
    STORAGE,
    'family_name \'=HYPERLINK("https://evil.example","Jansen")\' in a batch',
    "rode-knop-batch.md (CSV injection); OWASP CSV Injection",
    "read_batch",
    InvalidDataError,
    "invalid_data",
)
def _(c: Ctx) -> Any:
    return batch_file(c, family_name='=HYPERLINK("https://evil.example","Jansen")')


@case(
    "csv-injection-at",
    STORAGE,
    "executing_organisation \"@SUM(1+1)*cmd|' /C calc'!A0\"",
    "rode-knop-batch.md (CSV injection)",
    "read_batch",
    InvalidDataError,
    "invalid_data",
)
def _(c: Ctx) -> Any:
    return batch_file(c, executing_organisation="@SUM(1+1)*cmd|' /C calc'!A0")


@case(
    "csv-injection-tab",
    STORAGE,
    "given_names starting with a tab then '=1+1'",
    "rode-knop-batch.md (CSV injection)",
    "read_batch",
    InvalidDataError,
    "invalid_data",
)
def _(c: Ctx) -> Any:
    return batch_file(c, given_names="\t=1+1")


@case(
    "csv-injection-plus-phone",
    STORAGE,
    "a formula hidden behind a phone-like '+' ('+31+cmd|...')",
    "rode-knop-batch.md (CSV injection)",
    "read_batch",
    InvalidDataError,
    "invalid_data",
)
def _(c: Ctx) -> Any:
    return batch_file(c, counsellor_organisation_phone="+31+cmd|' /C calc'!A0")


@case(
    "batch-generated-name-escapes-out-dir",
    STORAGE,
    "declaration_id 'GM0772/../../../escaped' would name a file outside --out-dir",
    "rode-knop-batch.md (output file names)",
    "read_batch",
    InvalidDataError,
    "invalid_data",
)
def _(c: Ctx) -> Any:
    return batch_file(c, declaration_id="GM0772/../../../escaped")
