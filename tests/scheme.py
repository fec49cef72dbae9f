"""The suite's one test scheme: anchor, issuers, trust list, status cache (and a wallet).

Every end-to-end test needs the same small world: the scheme authority's anchor key, the
pilot's organisations with real issuer homes (Gemeente Eindhoven as municipality, CJIB and DUO
as creditors, optionally a creditor the authority never listed), the trust list the anchor
signed over them, and a verifier's status cache filled from the lists the issuers publish.
:meth:`Scheme.build` makes it; the fixtures in ``tests/conftest.py`` hand out common variants.

The clock is injected: ``now`` (default :data:`PILOT_NOW`, the pilot's day) is what every
signature, trust list, wallet import and status list of the build reads; ``now=None`` means
the real clock, for tests that run programs which read it themselves.

Organisation names equal the names inside the example claims (``examples/data/*.json``):
claims are bound to the signer's trust-list name.

On disk, below ``root``: one issuer home per organisation (``root/<slot>``), ``trust.jwt`` and
``anchor.pub.jwk`` (as the CLI and the example creditor service read them), the published
status lists (``root/published/<slot>``) and the status cache (``root/status-cache``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from blauweknop import (
    IssuedCredential,
    Issuer,
    Key,
    StatusCache,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
)
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"

#: The pilot's day, 2026-11-22T10:00Z: the default clock of a scheme. The declaration's window
#: is 2026-11-16 .. 2027-03-15; the statements' balances are of 2026-11-19/20.
PILOT_NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp()

GEM = "urn:oin:00000001001234567000"
CJIB = "urn:oin:00000001003214345000"
DUO = "urn:oin:00000001800866472000"
STRANGER = "urn:oin:00000001999999999000"


@dataclass(frozen=True)
class Organisation:
    """One organisation of the scheme, before it has an issuer home."""

    slot: str  #: short name: the attribute of :class:`Scheme` and the home's directory name
    issuer_id: str
    name: str  #: the trust-list name, equal to the name in the example claims
    roles: tuple[str, ...]
    status_base_uri: str
    example: str  #: the ``examples/data`` file of the credential it issues in the pilot
    extra: Mapping[str, Any] = field(default_factory=dict)

    def init(self, home: Path, *, alg: str = "ES256") -> Issuer:
        """A new issuer home for this organisation (a fresh key of ``alg``)."""
        return Issuer.init(
            home,
            issuer_id=self.issuer_id,
            name=self.name,
            roles=list(self.roles),
            status_base_uri=self.status_base_uri,
            alg=alg,
            extra=dict(self.extra) or None,
        )

    def claims(self, **changes: Any) -> dict[str, Any]:
        """The domain claims of its pilot credential (the example file), with ``changes``."""
        data: dict[str, Any] = json.loads((DATA / self.example).read_text())
        data.update(changes)
        return data

    def model(
        self, claims: Mapping[str, Any] | None = None
    ) -> PaymentIncapacityDeclaration | DebtStatement:
        """Its pilot credential's model: a declaration for a municipality, else a statement."""
        data = dict(self.claims() if claims is None else claims)
        if "municipality" in self.roles:
            return PaymentIncapacityDeclaration.from_claims(data)
        return DebtStatement.from_claims(data)


GEMEENTE_EINDHOVEN = Organisation(
    "gem",
    GEM,
    "Gemeente Eindhoven",
    ("municipality",),
    "https://status.eindhoven.example/rk",
    "rode-knop-declaration.json",
    MappingProxyType({"municipality_code": "GM0772"}),
)
CJIB_ORG = Organisation(
    "cjib", CJIB, "CJIB", ("creditor",), "https://status.cjib.example/bk", "debt-statement.json"
)
DUO_ORG = Organisation(
    "duo", DUO, "DUO", ("creditor",), "https://status.duo.example/bk", "debt-statement-duo.json"
)
#: A creditor the scheme authority never listed (issues, but nobody trusts it).
STRANGER_ORG = Organisation(
    "stranger",
    STRANGER,
    "Incassobureau Niet Geregistreerd",
    ("creditor",),
    "https://status.stranger.example/bk",
    "debt-statement.json",
)
#: The pilot's three listed organisations, in the order their credentials are issued.
PILOT = (GEMEENTE_EINDHOVEN, CJIB_ORG, DUO_ORG)


@dataclass(frozen=True)
class Scheme:
    """A built scheme. Treat it as read-only: a test that revokes or re-publishes works on
    credentials and status caches of its own (see :meth:`status_cache`)."""

    root: Path
    anchor: Key
    #: Every organisation's issuer by slot, listed first, then the unlisted ones.
    issuers: Mapping[str, Issuer]
    listed: tuple[str, ...]  #: the slots on the trust list, in its order
    trust_jwt: str
    trust: TrustList  #: ``trust_jwt`` verified against the anchor at ``now``
    #: The verifier's cache with the listed issuers' lists as published after the pilot
    #: credentials were issued (``None`` when built with ``status_cache=False``).
    cache: StatusCache | None
    #: The pilot credentials by issuer slot (empty unless built with a ``wallet``).
    issued: Mapping[str, IssuedCredential]
    wallet: Wallet | None  #: the holder's wallet given to :meth:`build` (not closed here)
    now: float | None  #: the injected clock; ``None`` = the real clock

    # -- the organisations ------------------------------------------------------------------
    @property
    def gem(self) -> Issuer:
        """Gemeente Eindhoven, the municipality."""
        return self.issuers["gem"]

    @property
    def cjib(self) -> Issuer:
        """CJIB, a creditor."""
        return self.issuers["cjib"]

    @property
    def duo(self) -> Issuer:
        """DUO, a creditor."""
        return self.issuers["duo"]

    @property
    def stranger(self) -> Issuer:
        """A creditor with an issuer home that is not on the trust list."""
        return self.issuers["stranger"]

    @property
    def trusted(self) -> tuple[Issuer, ...]:
        """The issuers on the trust list, in its order."""
        return tuple(self.issuers[s] for s in self.listed)

    # -- derived things a test may want a fresh copy of ---------------------------------------
    def trust_list(
        self,
        issuers: Iterable[Issuer] | None = None,
        *,
        anchor: Key | None = None,
        now: float | None = None,
        valid_days: int = 30,
    ) -> str:
        """Another trust list, signed by ``anchor`` (default: the scheme's) at ``now``
        (default: the scheme's clock) over ``issuers`` (default: the listed ones)."""
        entries = [i.trust_entry() for i in (self.trusted if issuers is None else issuers)]
        at = self.now if now is None else now
        return build_trust_list(entries, anchor or self.anchor, valid_days=valid_days, now=at)

    def verified_trust(self, token: str, *, now: float | None = None, **kw: Any) -> TrustList:
        """``token`` verified against the scheme's anchor at ``now`` (default: its clock)."""
        return TrustList.verify(
            token, self.anchor.public(), now=self.now if now is None else now, **kw
        )

    def fill_status_cache(
        self,
        cache: StatusCache,
        out: Path,
        *,
        now: float | None = None,
        issuers: Sequence[Issuer] | None = None,
        **publish: Any,
    ) -> dict[str, list[Path]]:
        """Publish the status lists of ``issuers`` (default: the listed ones) to
        ``out/<slot>`` at ``now`` (default: the scheme's clock) and import each file into
        ``cache`` as fetched then. ``publish`` goes to :meth:`Issuer.publish_status`
        (``ttl``, ``valid_seconds``). Returns the files written, by slot."""
        at = self.now if now is None else now
        slot_of = {id(i): s for s, i in self.issuers.items()}
        written: dict[str, list[Path]] = {}
        for issuer in self.trusted if issuers is None else issuers:
            slot = slot_of[id(issuer)]
            files = issuer.publish_status(out / slot, now=at, **publish)
            for f in files:
                cache.import_file(f, fetched_at=at)
            written[slot] = files
        return written

    def status_cache(
        self,
        directory: Path,
        published: Path | None = None,
        *,
        now: float | None = None,
        **publish: Any,
    ) -> StatusCache:
        """A fresh status cache in ``directory`` with every listed issuer's lists as they
        publish them now (to ``published``, default ``directory/../published``)."""
        cache = StatusCache(directory, trust_list=self.trust)
        out = directory.parent / "published" if published is None else published
        self.fill_status_cache(cache, out, now=now, **publish)
        return cache

    def verifier(self, **kw: Any) -> Verifier:
        """A verifier over the scheme's trust list and (unless ``status=``) its cache."""
        kw.setdefault("status", self.cache)
        return Verifier(kw.pop("trust", self.trust), **kw)

    # -- the builder ------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        root: Path,
        *,
        organisations: Sequence[Organisation] = PILOT,
        unlisted: Sequence[Organisation] = (),
        now: float | None = PILOT_NOW,
        algs: Mapping[str, str] | None = None,
        trust_issued_at: float | None = None,
        trust_valid_days: int = 30,
        wallet: Wallet | None = None,
        claims: Mapping[str, Mapping[str, Any]] | None = None,
        status_cache: bool = True,
        status_at: float | None = None,
    ) -> Self:
        """Build a scheme below ``root`` (an empty directory).

        ``organisations`` are listed on the trust list (in that order); ``unlisted`` get an
        issuer home only. ``now`` is the clock of everything built (``None``: the real clock).
        ``algs`` chooses an organisation's key type by slot (default ES256). The trust list is
        signed at ``trust_issued_at`` (default ``now``) for ``trust_valid_days`` and verified
        at ``now``. With a ``wallet``, each listed organisation issues its pilot credential
        (its example file, or ``claims[slot]``) to the wallet's holder key at ``now``, and the
        wallet imports it. With ``status_cache``, the lists are then published at
        ``status_at`` (default ``now``) into ``root/status-cache``.
        """
        root.mkdir(parents=True, exist_ok=True)
        algs = algs or {}
        anchor = Key.generate()
        issuers = {
            o.slot: o.init(root / o.slot, alg=algs.get(o.slot, "ES256"))
            for o in (*organisations, *unlisted)
        }
        listed = tuple(o.slot for o in organisations)
        trust_jwt = build_trust_list(
            [issuers[s].trust_entry() for s in listed],
            anchor,
            valid_days=trust_valid_days,
            now=now if trust_issued_at is None else trust_issued_at,
        )
        (root / "trust.jwt").write_text(trust_jwt)
        (root / "anchor.pub.jwk").write_text(json.dumps(anchor.public_jwk()))
        trust = TrustList.verify(trust_jwt, anchor.public(), now=now)
        issued: dict[str, IssuedCredential] = {}
        if wallet is not None:
            holder = wallet.holder_jwk()
            for o in organisations:
                model = o.model((claims or {}).get(o.slot))
                issued[o.slot] = issuers[o.slot].issue(model, holder_jwk=holder, now=now)
            for c in issued.values():
                wallet.add(c.text, trust_list=trust, now=now)
        scheme = cls(
            root=root,
            anchor=anchor,
            issuers=MappingProxyType(issuers),
            listed=listed,
            trust_jwt=trust_jwt,
            trust=trust,
            cache=None,
            issued=MappingProxyType(issued),
            wallet=wallet,
            now=now,
        )
        if not status_cache:
            return scheme
        cache = scheme.status_cache(
            root / "status-cache", root / "published", now=now if status_at is None else status_at
        )
        return dataclasses.replace(scheme, cache=cache)


def build_scheme(root: Path, **options: Any) -> Scheme:
    """:meth:`Scheme.build` as a function (same options)."""
    return Scheme.build(root, **options)


def today_declaration(today: dt.date | None = None) -> dict[str, Any]:
    """The example declaration's claims with a 120-day window starting ``today`` (default:
    the real date), for schemes on the real clock."""
    day = dt.date.today() if today is None else today
    return GEMEENTE_EINDHOVEN.claims(
        trajectory_start=str(day),
        valid_from=str(day),
        valid_until=str(day + dt.timedelta(days=119)),
    )
