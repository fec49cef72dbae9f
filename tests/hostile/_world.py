"""The honest world every hostile case starts from, built once per test process.

A scheme authority (the pinned anchor), three organisations with real issuer homes (CJIB and
DUO as creditors, Gemeente Eindhoven as municipality), their published status lists synced into
a verifier's cache, and credentials issued by the library's own recipes to one citizen's
holder key. A case then changes exactly one thing and names the error it expects.

Everything is fixed to ``NOW`` (the pilot day), so the cases are deterministic in time; keys
and salts are random per process, which the cases never depend on.

Helpers re-encode and re-sign tokens so that the fault under test is the only thing wrong:
``resign`` keeps the disclosures of an issued SD-JWT and signs a changed header or payload
with the organisation's real key, ``bind`` appends a key-binding JWT over exactly what is
presented.
"""

from __future__ import annotations

import atexit
import base64
import copy
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from di_compat import issue_di_credential, present_di
from scheme import CJIB_ORG, DUO_ORG, GEMEENTE_EINDHOVEN, Scheme

# The SD-JWT rejection tests' hand-made encoders (independent of blauweknop._codec), reused.
from unit.test_sdjwt_rejections import b64, disc, jws, to_bytes
from unit.test_sdjwt_rejections import digest_of as digest

from blauweknop import (
    SD,
    DCQLQuery,
    Issuer,
    Key,
    StatusCache,
    TrustList,
    Verifier,
    build_trust_list,
    get_profile,
    issue_sd_jwt,
)
from blauweknop._sdjwt import SDJWT, make_kb_jwt
from blauweknop.debt import DebtStatement
from rodeknop_vc import RODE_KNOP_VCT, PaymentIncapacityDeclaration

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"

#: The pilot day, 10:00 UTC: every clock in the battery reads this.
NOW = int(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp())
NONCE = "hostile-nonce-4fJ2w9"
AUD = "urn:oin:00000001003214345000"  # CJIB verifies what citizens present to it

CJIB = "urn:oin:00000001003214345000"
DUO = "urn:oin:00000001800866472000"
GEMEENTE = "urn:oin:00000001001234567000"
DEBT_VCT = "urn:blauweknop:debt-statement:1"
#: Status lists are published this long before NOW (and synced then).
STATUS_AGE = 600


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def disclosure(*items: Any) -> str:
    """An encoded disclosure ``[salt, name, value]`` or ``[salt, value]``."""
    return disc(*items).encoded


def split_sd(token: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Header, payload (unverified) and the encoded disclosures of an SD-JWT (no KB)."""
    jwt, *discs = token.split("~")
    h, p, _ = jwt.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p)), [d for d in discs if d]


def assemble(jwt: str, disclosures: Sequence[str]) -> str:
    return jwt + "~" + "".join(d + "~" for d in disclosures)


@dataclass(frozen=True)
class Org:
    """One registered organisation and its issuer home."""

    id: str
    name: str
    roles: tuple[str, ...]
    key: Key
    issuer: Issuer
    status_uri: str

    def entry(self, **changes: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "roles": list(self.roles),
            "jwks": {"keys": [self.key.public_jwk()]},
        }
        entry.update(changes)
        return entry


@dataclass
class World:
    """Everything the cases share; treat it as read-only (cases copy before they change)."""

    root: Path
    anchor: Key
    wrong_anchor: Key
    holder: Key
    other_holder: Key
    attacker: Key
    cjib: Org
    duo: Org
    gemeente: Org
    trust_jwt: str
    trust: TrustList
    status_dir: Path
    cache: StatusCache
    published: dict[str, Path]
    creds: dict[str, str] = field(default_factory=dict)
    di: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)

    # -- verifier side --------------------------------------------------------------------
    def verifier(self, **kw: Any) -> Verifier:
        kw.setdefault("status", self.cache)
        return Verifier(kw.pop("trust", self.trust), **kw)

    def verify(
        self,
        vp_token: Any,
        *,
        now: float = NOW,
        nonce: str = NONCE,
        audience: str = AUD,
        request: Any = None,
        **kw: Any,
    ) -> Any:
        return self.verifier(**kw).verify(
            vp_token, nonce=nonce, audience=audience, now=now, request=request
        )

    def trust_list(
        self,
        entries: Sequence[dict[str, Any]] | None = None,
        *,
        anchor: Key | None = None,
        now: float = NOW - 86400,
        valid_days: int = 30,
    ) -> str:
        if entries is None:
            entries = [o.entry() for o in (self.cjib, self.duo, self.gemeente)]
        return build_trust_list(entries, anchor or self.anchor, valid_days=valid_days, now=now)

    # -- holder side ----------------------------------------------------------------------
    def bind(
        self,
        sd_without_kb: str,
        *,
        holder: Key | None = None,
        nonce: str = NONCE,
        audience: str = AUD,
        iat: float = NOW,
    ) -> str:
        """Append a KB-JWT over exactly ``sd_without_kb`` (which must end in ``~``)."""
        kb = make_kb_jwt(
            sd_without_kb, holder or self.holder, nonce=nonce, audience=audience, iat=int(iat)
        )
        return sd_without_kb + kb

    def present(self, name: str = "stmt", *, paths: Any = None, **kw: Any) -> str:
        """A correct presentation of ``creds[name]`` (all disclosures unless ``paths``)."""
        token = self.creds[name]
        chosen = token if paths is None else SDJWT.parse(token).select(paths).serialize()
        return self.bind(chosen, **kw)

    def vp(self, *presentations: Any, qid: str = "q") -> dict[str, list[Any]]:
        return {qid: list(presentations)}

    def resign(
        self,
        name_or_token: str,
        *,
        payload: Callable[[dict[str, Any]], Any] | None = None,
        header: Callable[[dict[str, Any]], Any] | None = None,
        disclosures: Callable[[list[str]], list[str]] | None = None,
        key: Key | None = None,
        sign: Callable[[bytes], bytes] | None = None,
    ) -> str:
        """Re-sign an issued SD-JWT after changing its header, payload or disclosure list.

        The mutators change a deep copy in place; one that returns text (``str``/``bytes``)
        replaces the JSON with that exact text (for duplicate members, NaN, ...). Signed by
        the issuing organisation's real key unless ``key``/``sign``.
        """
        token = self.creds.get(name_or_token, name_or_token)
        h, p, discs = split_sd(token)
        if header is not None:
            h = _mutated(h, header)
        if payload is not None:
            p = _mutated(p, payload)
        if disclosures is not None:
            discs = disclosures(list(discs))
        if key is None:
            key = self.org_of(p).key if isinstance(p, dict) else self.cjib.key
        return assemble(jws(h, p, key, sign=sign), discs)

    def org_of(self, payload: dict[str, Any]) -> Org:
        for o in (self.cjib, self.duo, self.gemeente):
            if payload.get("iss") == o.id:
                return o
        return self.cjib

    def issue_raw(
        self,
        claims: dict[str, Any],
        *,
        org: Org | None = None,
        holder: Key | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """The library's raw SD-JWT issuer with hand-placed ``SD`` marks (any payload)."""
        org = org or self.cjib
        return issue_sd_jwt(
            claims,
            org.key,
            holder_jwk=(holder or self.holder).public_jwk(with_kid=False),
            decoys=0,
            extra_header=header,
        )

    def stmt_claims(self, **changes: Any) -> dict[str, Any]:
        """Technical + domain claims of a CJIB debt statement, with the profile's SD marks."""
        data = json.loads((DATA / "debt-statement.json").read_text())
        marked = get_profile(DEBT_VCT).mark(data)
        claims: dict[str, Any] = {
            "iss": CJIB,
            "iat": NOW - 3600,
            "exp": NOW + 30 * 86400,
            "vct": DEBT_VCT,
            "status": {
                "status_list": {"idx": self.status_idx["stmt"], "uri": self.cjib.status_uri}
            },
            **marked,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    status_idx: dict[str, int] = field(default_factory=dict)


def _mutated(value: dict[str, Any], mutate: Callable[[dict[str, Any]], Any]) -> Any:
    copied = copy.deepcopy(value)
    out = mutate(copied)
    return out if isinstance(out, str | bytes) else copied


def _statement(statement_id: str, source: str = "debt-statement.json") -> DebtStatement:
    data = json.loads((DATA / source).read_text())
    data["statement_id"] = statement_id
    return DebtStatement.from_claims(data)


def _declaration(declaration_id: str, **changes: Any) -> PaymentIncapacityDeclaration:
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    data["declaration_id"] = declaration_id
    data.update(changes)
    return PaymentIncapacityDeclaration.from_claims(data)


def _org(issuer: Issuer) -> Org:
    """The case-side view of one of the shared scheme's issuers."""
    key = issuer.signer
    assert isinstance(key, Key)
    base = issuer.config["status_base_uri"]
    return Org(
        issuer.issuer_id, issuer.name, tuple(issuer.config["roles"]), key, issuer, base + "/1.jwt"
    )


@cache
def world() -> World:
    """Build the world once per process (about a second: issuer homes, status lists, DI).

    The organisations, anchor and trust list are the shared scheme's (tests/scheme.py): DUO
    signs with EdDSA, the others with ES256; the trust list was issued a day before NOW."""
    root = Path(tempfile.mkdtemp(prefix="bk-hostile-"))
    atexit.register(shutil.rmtree, root, True)
    scheme = Scheme.build(
        root,
        organisations=(CJIB_ORG, DUO_ORG, GEMEENTE_EINDHOVEN),
        now=NOW,
        algs={"duo": "EdDSA"},
        trust_issued_at=NOW - 86400,
        status_cache=False,
    )
    anchor, wrong_anchor = scheme.anchor, Key.generate()
    holder, other_holder, attacker = Key.generate(), Key.generate(), Key.generate()
    cjib, duo, gemeente = (_org(scheme.issuers[s]) for s in ("cjib", "duo", "gem"))
    trust_jwt, trust = scheme.trust_jwt, scheme.trust
    hjwk = holder.public_jwk()
    issued_at = NOW - 3600
    creds: dict[str, str] = {}
    idx: dict[str, int] = {}
    for name, org, data in (
        ("stmt", cjib, _statement("CJIB-2026-000123")),
        ("stmt_revoked", cjib, _statement("CJIB-2026-000124")),
        ("stmt_suspended", cjib, _statement("CJIB-2026-000125")),
        ("stmt_short", cjib, _statement("CJIB-2026-000126")),
        ("stmt_duo", duo, _statement("DUO-2026-000777", "debt-statement-duo.json")),
        ("decl", gemeente, _declaration("GM0772-RK-2026-0815")),
        (
            "decl_future",
            gemeente,
            _declaration(
                "GM0772-RK-2026-0816", valid_from="2026-12-01", trajectory_start="2026-12-01"
            ),
        ),
    ):
        valid_days = 1 if name == "stmt_short" else None
        c = org.issuer.issue(data, holder_jwk=hjwk, now=issued_at, valid_days=valid_days)
        creds[name], idx[name] = c.text, c.status_index
    # A DI credential of the municipality, with its W3C bitstring status.
    decl_di = gemeente.issuer.issue(
        _declaration("GM0772-RK-2026-0817"), holder_jwk=hjwk, format="di", now=issued_at
    )
    cjib.issuer.revoke("CJIB-2026-000124", reason="hostile battery", actor="test")
    cjib.issuer.suspend("CJIB-2026-000125", reason="hostile battery", actor="test")
    status_dir = root / "verifier-status"
    cache_ = StatusCache(status_dir, trust_list=trust)
    published: dict[str, Path] = {}
    files = scheme.fill_status_cache(cache_, root / "published", now=NOW - STATUS_AGE, ttl=3600)
    for slot, written in files.items():
        for f in written:
            published[f.name if slot == "cjib" else f"{scheme.issuers[slot].name}:{f.name}"] = f
    w = World(
        root=root,
        anchor=anchor,
        wrong_anchor=wrong_anchor,
        holder=holder,
        other_holder=other_holder,
        attacker=attacker,
        cjib=cjib,
        duo=duo,
        gemeente=gemeente,
        trust_jwt=trust_jwt,
        trust=trust,
        status_dir=status_dir,
        cache=cache_,
        published=published,
        creds=creds,
        status_idx=idx,
    )
    w.di["decl"] = json.loads(decl_di.text)
    w.di["vp"] = present_di(
        w.di["decl"],
        [["credentialSubject", "subject", "family_name"]],
        holder_key=holder,
        nonce=NONCE,
        audience=AUD,
        now=NOW,
    )
    w.request = json.loads((DATA / "requests" / "hold-and-totals.json").read_text())
    return w


def di_issue(
    w: World, claims_change: Callable[[dict[str, Any]], None] | None = None, org: Org | None = None
) -> dict[str, Any]:
    """A fresh DI declaration (optionally with changed domain claims), not registered."""
    org = org or w.gemeente
    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    if claims_change is not None:
        claims_change(data)
    shim = SimpleNamespace(signer=org.key, issuer_id=org.id)
    text = issue_di_credential(
        shim,  # type: ignore[arg-type]
        get_profile(RODE_KNOP_VCT),
        data,
        holder=w.holder,
        iat=NOW - 3600,
        nbf=NOW - 3600,
        exp=NOW + 86400,
        status=w.di["decl"]["credentialStatus"],
    )
    doc: dict[str, Any] = json.loads(text)
    return doc


__all__ = [
    "AUD",
    "CJIB",
    "DEBT_VCT",
    "DUO",
    "GEMEENTE",
    "NONCE",
    "NOW",
    "SD",
    "DCQLQuery",
    "Org",
    "World",
    "assemble",
    "b64",
    "di_issue",
    "digest",
    "disclosure",
    "jws",
    "present_di",
    "split_sd",
    "to_bytes",
    "unb64",
    "world",
]
