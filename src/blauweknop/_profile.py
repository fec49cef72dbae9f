"""Credential profiles: one definition per credential type, shared by both encodings.

A profile is loaded from the bundled SD-JWT VC type metadata (``specs/type-metadata/``,
copied into the package) and its JSON Schema (``specs/schemas/``). The type metadata's claim
``sd`` values drive issuance (which claims become disclosures, which ecdsa-sd-2023 pointers are
mandatory) and verification (a claim marked ``never`` that arrives as a disclosure is rejected).
Our extension member ``x-blauweknop`` carries the W3C type name, the trust-list roles allowed
to issue the type, and the default validity.

Example:
    >>> p = get_profile("urn:rodeknop:payment-incapacity-declaration:1")
    >>> p.w3c_type, sorted(p.issuer_roles)
    ('PaymentIncapacityDeclaration', ['municipality'])
    >>> p.sd_rule(("subject", "bsn")), p.sd_rule(("valid_until",))
    ('always', 'never')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path as _FsPath
from typing import Any

import jsonschema

from ._errors import (
    ContextError,
    DisclosureError,
    InvalidDataError,
    MalformedError,
    PolicyError,
    TrustError,
)
from ._profile_rules import (
    _FORMATS,
    _NO_RULES,
    Path,
    _describe,
    _dotted,
    _RuleNode,
    _same_name,
)
from ._profile_rules import _generalise as _generalise  # re-exported for the property tests
from ._profile_rules import _join as _join
from ._schema_fast import compile_schema
from ._sdjwt import SD

__all__ = [
    "DEBT_STATEMENT_VCT",
    "RODE_KNOP_VCT",
    "CredentialProfile",
    "all_profiles",
    "extend_profile",
    "get_profile",
    "load_profile",
    "profile_for_w3c_type",
    "register_profile",
    "registered_contexts",
    "w3c_type_iris",
]

DEBT_STATEMENT_VCT = "urn:blauweknop:debt-statement:1"
RODE_KNOP_VCT = "urn:rodeknop:payment-incapacity-declaration:1"
_FILES = {DEBT_STATEMENT_VCT: "debt-statement.json", RODE_KNOP_VCT: "rode-knop-declaration.json"}
#: The claim holding each bundled type's own id (the register's credential id).
_ID_CLAIMS = {DEBT_STATEMENT_VCT: "statement_id", RODE_KNOP_VCT: "declaration_id"}

#: Claims SD-JWT VC forbids in disclosures, with their sub-claims (SD-JWT VC section 3.2.2.2),
#: plus ``iat``: technical claims, never domain claims.
TECHNICAL_CLAIMS = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status", "iat"}
)
NEVER_DISCLOSABLE = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"}
)

_SD_MARKS = frozenset({"always", "allowed"})
_ABSENT_MEMO_SIZE = 4096  # paths kept by CredentialProfile._absent_ok before starting over
_SCALARS = frozenset({str, int, float, bool, type(None)})  # what mark() returns unchanged


@dataclass(frozen=True, kw_only=True)
class CredentialProfile:
    """One credential type: its identifiers, disclosure rules, schema and issuer roles.

    Attributes:
        vct: SD-JWT VC type (``urn:blauweknop:debt-statement:1``).
        w3c_type: W3C VC type name (``DebtStatement``).
        name: human name.
        metadata: the SD-JWT VC type metadata document.
        schema: the JSON Schema of the domain claims.
        issuer_roles: trust-list roles of which an issuer needs one.
        default_validity_days: validity when the data does not set one (``None``: data decides).
        issuer_claims: where the claims name the issuing organisation (``{"oin": path,
            "name": path}``); both must equal the signer's trust-list entry.
        id_claim: the top-level claim holding the credential's own id (the register id).
        contexts: JSON-LD contexts the W3C encoding of this type needs beyond the bundled
            ones, ``{url: file bytes}``, each pinned by its SHA-256 when loaded
            (:func:`load_profile`); every credential of the type names them after
            ``blauweknop-v1``.
        supersede_key: the wallet's supersede rule: ``key(domain claims)`` gives a
            comparable moment (or ``None``); a newer credential of the type from the same
            issuer supersedes older ones. ``None``: credentials never supersede each other.
        overview: the type's contribution to :meth:`Wallet.overview`:
            ``overview(stored credential, today, stale_after_days)`` returns a creditor line,
            a pause window or ``None`` (raises ``KeyError``/``TypeError``/``ValueError`` for
            claims it cannot read).
    """

    vct: str
    w3c_type: str
    name: str
    metadata: Mapping[str, Any]
    schema: Mapping[str, Any]
    issuer_roles: frozenset[str]
    default_validity_days: int | None
    issuer_claims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    id_claim: str | None = None
    contexts: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    supersede_key: Callable[[Mapping[str, Any]], Any] | None = field(
        default=None, repr=False, compare=False
    )
    overview: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    _rules: Mapping[Path, str] = field(repr=False)
    _validator: Any = field(repr=False, compare=False)
    _trie: _RuleNode = field(init=False, repr=False, compare=False)
    _fast: Any = field(init=False, repr=False, compare=False)
    _absent_memo: dict[tuple[Any, str], bool] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trie", _RuleNode.build(self._rules))
        # a compiled yes/no check first; jsonschema finds and words a problem (_schema_fast)
        fast = compile_schema(self._validator.schema, formats=_FORMATS)
        object.__setattr__(self, "_fast", fast)

    def sd_rule(self, path: Iterable[str | int | None]) -> str | None:
        """The type metadata ``sd`` value for a claim path (indices match ``null``), or ``None``."""
        node = self._trie
        for elem in path:  # the trie holds exactly the rules: same answer as _rules.get()
            sub = node.children.get(None if isinstance(elem, int) else elem)
            if sub is None:
                return None
            node = sub
        return node.rule

    def validate(self, claims: Mapping[str, Any]) -> None:
        """Check domain claims against the JSON Schema (real calendar dates included); the
        error names the first bad field and says in words what is expected.

        >>> import pathlib
        >>> data = json.loads(pathlib.Path("examples/data/debt-statement.json").read_text())
        >>> data["balance_at"] = "2026-02-30T09:00:00Z"
        >>> try:
        ...     get_profile(DEBT_STATEMENT_VCT).validate(data)
        ... except InvalidDataError as e:
        ...     print(e.message)
        balance_at: '2026-02-30T09:00:00Z' is not a date and time as YYYY-MM-DDThh:mm:ss \
with Z or an offset such as +01:00: no such day or time
        """
        problem = self._first_problem(claims, partial=False)
        if problem is not None:
            where, msg = problem
            raise InvalidDataError("invalid_data", f"{where}: {msg}", field=where)

    def _first_problem(self, claims: Mapping[str, Any], *, partial: bool) -> tuple[str, str] | None:
        fast = self._fast
        if fast is not None and fast(claims, self._absent_ok if partial else None):
            return None
        problems = []
        for e in self._validator.iter_errors(claims):
            if partial and e.validator == "required" and isinstance(e.instance, Mapping):
                base = tuple(e.absolute_path)
                missing = [r for r in e.validator_value if r not in e.instance]
                if all(self._may_be_absent((*base, r)) for r in missing):
                    continue  # nothing the holder had to show is missing
            where, msg = _describe(e)
            problems.append((list(e.absolute_path), where or "(top level)", msg))
        if not problems:
            return None
        problems.sort(key=lambda p: ([str(x) for x in p[0]], p[1]))
        return problems[0][1], problems[0][2]

    def _absent_ok(self, base: tuple[str | int, ...], name: str) -> bool:
        # asked for every missing required name of every partial check: the answer is kept
        # per path as given (turning indices into null first costs more than the trie walk;
        # paths with other indices are only more entries), and the memo starts over when full
        key = (base, name)
        memo = self._absent_memo
        ok = memo.get(key)
        if ok is None:
            ok = self._may_be_absent((*base, name))
            if len(memo) >= _ABSENT_MEMO_SIZE:
                memo.clear()
            memo[key] = ok
        return ok

    def _may_be_absent(self, path: Iterable[str | int | None]) -> bool:
        """Whether a presentation may lack this claim: it is selectively disclosable, or an
        object whose members all are (W3C selective disclosure drops the empty container;
        SD-JWT keeps it as ``{}``)."""
        node = self._trie
        for elem in path:
            sub = node.children.get(None if isinstance(elem, int) else elem)
            if sub is None:
                return False
            node = sub
        if node.rule in _SD_MARKS:
            return True
        kids = [c for k, c in node.children.items() if k is not None]
        return bool(kids) and all(c.rule in _SD_MARKS for c in kids)

    def check_received(
        self,
        claims: Mapping[str, Any],
        *,
        issuer_id: str,
        issuer_name: str,
        partial: bool = True,
        issuer_oin: str | None = None,
    ) -> None:
        """Verifier and wallet side: the domain claims of a verified credential must be a
        (partial) document of the type, about the organisation that signed it.

        Every claim that is present must fit the JSON Schema (real dates included), claims
        the schema does not define are refused, and a required claim may be absent only when
        it is selectively disclosable (``partial=True``, what a presentation discloses; a
        wallet importing a whole credential passes ``partial=False``). Then
        :meth:`check_issuer`. Raises ``MalformedError("claims_invalid")`` or
        ``TrustError("issuer_mismatch")``.
        """
        problem = self._first_problem(claims, partial=partial)
        if problem is not None:
            where, msg = problem
            raise MalformedError("claims_invalid", f"{self.name}: {where}: {msg}")
        self.check_issuer(
            claims, issuer_id=issuer_id, issuer_name=issuer_name, issuer_oin=issuer_oin
        )

    def check_issuer(
        self,
        claims: Mapping[str, Any],
        *,
        issuer_id: str,
        issuer_name: str,
        issuer_oin: str | None = None,
    ) -> None:
        """The organisation the claims name (e.g. ``creditor.oin``/``creditor.name``) must be
        the signer: its OIN is the one in the signer's ``urn:oin:`` id (or, for an https id,
        the ``oin`` of its trust-list entry, ``issuer_oin``) and its name the trust-list name
        (compared without regard to case, Unicode form or spacing).
        Raises ``TrustError("issuer_mismatch")``; used at issuance, verification and import.

        >>> p = get_profile(DEBT_STATEMENT_VCT)
        >>> p.check_issuer({"creditor": {"oin": "00000001800866472000", "name": "DUO"}},
        ...                issuer_id="urn:oin:00000001003214345000", issuer_name="CJIB")
        Traceback (most recent call last):
        ...
        blauweknop._errors.TrustError: issuer_mismatch: creditor.oin names \
00000001800866472000, but the credential is signed by urn:oin:00000001003214345000
        """
        oin_path = self.issuer_claims.get("oin")
        if oin_path is not None:
            claimed = _at(claims, oin_path)
            own = issuer_id[8:] if issuer_id.startswith("urn:oin:") else issuer_oin
            if not isinstance(claimed, str) or claimed != own:
                raise TrustError(
                    "issuer_mismatch",
                    f"{_dotted(oin_path)} names {claimed}, but the credential is signed by "
                    f"{issuer_id}",
                )
        name_path = self.issuer_claims.get("name")
        if name_path is not None:
            claimed = _at(claims, name_path)
            if not isinstance(claimed, str) or not _same_name(claimed, issuer_name):
                raise TrustError(
                    "issuer_mismatch",
                    f"{_dotted(name_path)} names {claimed!r}, but the signer is registered "
                    f"as {issuer_name!r}",
                )

    def mark(self, claims: Mapping[str, Any], path: Path = ()) -> Any:
        """Wrap every claim the metadata marks ``always`` (or ``allowed``) in :class:`SD`.

        Objects and arrays are copied; ``path`` is where ``claims`` sit in the credential.
        """
        start = self._trie
        for elem in path:
            start = start.children.get(None if isinstance(elem, int) else elem, _NO_RULES)

        def walk(value: Any, node: _RuleNode) -> Any:
            if type(value) is dict or isinstance(value, Mapping):
                out: dict[str, Any] = {}
                kids = node.children
                for k, v in value.items():
                    sub = kids.get(None if isinstance(k, int) else k, _NO_RULES)
                    m = v if type(v) in _SCALARS else walk(v, sub)
                    out[k] = SD(m) if sub.rule in _SD_MARKS else m
                return out
            if isinstance(value, list):
                sub = node.children.get(None, _NO_RULES)
                items = [v if type(v) in _SCALARS else walk(v, sub) for v in value]
                if sub.rule in _SD_MARKS:
                    return [SD(v) for v in items]
                return items
            return value

        return walk(claims, start)

    def check_disclosed(self, claims: Mapping[str, Any], disclosed: Iterable[Path]) -> None:
        """Verifier-side type-metadata check (SD-JWT VC section 6.4): no disclosure may carry a
        claim marked ``never`` or a technical claim, and every present claim marked ``always``
        must have come from a disclosure."""
        dset = {tuple(d) for d in disclosed}
        for d in dset:
            if d and d[0] in NEVER_DISCLOSABLE:
                raise DisclosureError(
                    "disclosure_not_allowed", f"claim {d[0]!r} must not be selectively disclosable"
                )
            if self.sd_rule(d) == "never":
                raise DisclosureError(
                    "disclosure_not_allowed",
                    f"claim {_dotted(d)} is marked sd=never for {self.vct}",
                )

        # Only where the rule trie has an ``always`` rule at or below can a claim be missing
        # its disclosure: every other subtree is skipped.
        def walk(value: Any, p: Path, node: _RuleNode) -> None:
            if p and node.rule == "always" and p not in dset:
                raise DisclosureError(
                    "sd_required", f"claim {_dotted(p)} must be selectively disclosable"
                )
            if type(value) in _SCALARS:
                return
            if type(value) is dict or isinstance(value, Mapping):
                kids = node.children
                for k, v in value.items():
                    if not p and k in TECHNICAL_CLAIMS:
                        continue
                    sub = kids.get(None if isinstance(k, int) else k)
                    if sub is not None and sub.always_below:
                        walk(v, (*p, k), sub)
            elif isinstance(value, list):
                sub = node.children.get(None)
                if sub is not None and sub.always_below:
                    for i, v in enumerate(value):
                        walk(v, (*p, i), sub)

        walk(claims, (), self._trie)

    def check_issuer_roles(self, roles: Iterable[str], issuer_id: str) -> None:
        """Raise ``untrusted_issuer`` unless the issuer holds one of the profile's roles."""
        if not self.issuer_roles.intersection(roles):
            from ._errors import TrustError

            raise TrustError(
                "untrusted_issuer",
                f"{issuer_id} lacks the role {' or '.join(sorted(self.issuer_roles))} "
                f"needed to issue {self.name}",
            )


def _at(claims: Mapping[str, Any], path: Iterable[str]) -> Any:
    value: Any = claims
    for p in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(p)
    return value


def _load_json(name: str) -> Any:
    return json.loads(resources.files("blauweknop.profiles").joinpath(name).read_text("utf-8"))


def _build(
    md: Mapping[str, Any],
    schema: Mapping[str, Any],
    *,
    id_claim: str | None,
    contexts: Mapping[str, bytes],
    supersede_key: Callable[[Mapping[str, Any]], Any] | None = None,
    overview: Callable[..., Any] | None = None,
) -> CredentialProfile:
    try:
        ext = md["x-blauweknop"]
        rules = {tuple(c["path"]): c["sd"] for c in md.get("claims", []) if "sd" in c}
        return CredentialProfile(
            vct=md["vct"],
            w3c_type=ext["w3c_type"],
            name=md["name"],
            metadata=md,
            schema=schema,
            issuer_roles=frozenset(ext["issuer_roles"]),
            default_validity_days=ext.get("default_validity_days"),
            issuer_claims={k: tuple(v) for k, v in ext.get("issuer_claims", {}).items()},
            id_claim=id_claim,
            contexts=dict(contexts),
            supersede_key=supersede_key,
            overview=overview,
            _rules=rules,
            _validator=jsonschema.Draft202012Validator(schema, format_checker=_FORMATS),
        )
    except (KeyError, TypeError, AttributeError, jsonschema.SchemaError) as e:
        raise InvalidDataError("invalid_data", f"not a credential profile: {e}") from e


@cache
def _bundled(vct: str) -> CredentialProfile:
    md = _load_json(_FILES[vct])
    schema = _load_json(md["x-blauweknop"]["schema"])
    return _build(md, schema, id_claim=_ID_CLAIMS.get(vct), contexts={})


_LOCK = threading.Lock()
_REGISTRY: dict[str, CredentialProfile] = {}


#: Entry-point group through which installed packages register their types on first use.
ENTRY_POINT_GROUP = "blauweknop.profiles"
_PLUGINS_LOCK = threading.RLock()
_plugins_loaded = False


def _registry() -> dict[str, CredentialProfile]:
    if not _REGISTRY:
        with _LOCK:
            for v in _FILES:
                _REGISTRY.setdefault(v, _bundled(v))
    return _REGISTRY


def _ensure_plugins() -> dict[str, CredentialProfile]:
    """The registry, after every installed ``blauweknop.profiles`` entry point (a callable
    that registers its types, e.g. ``rodeknop_vc``) has run once. Loaded on first use, not at
    import, so that ``blauweknop`` never imports a domain package by name."""
    global _plugins_loaded
    if not _plugins_loaded:
        with _PLUGINS_LOCK:
            if not _plugins_loaded:
                _plugins_loaded = True
                for ep in entry_points(group=ENTRY_POINT_GROUP):
                    ep.load()()
    return _registry()


def extend_profile(vct: str, **changes: Any) -> CredentialProfile:
    """Register a registered type again with ``changes`` (e.g. the wallet rules a domain
    package attaches to a bundled type: ``supersede_key``, ``overview``)."""
    base = _registry().get(vct)
    if base is None:
        raise PolicyError("unknown_type", f"credential type {vct!r} is not known")
    return register_profile(dataclasses.replace(base, **changes), replace=True)


def load_profile(
    metadata: str | os.PathLike[str],
    *,
    schema: str | os.PathLike[str] | None = None,
    contexts: Mapping[str, tuple[str | os.PathLike[str], str]] | None = None,
    id_claim: str | None = None,
    supersede_key: Callable[[Mapping[str, Any]], Any] | None = None,
    overview: Callable[..., Any] | None = None,
) -> CredentialProfile:
    """Build a profile from files, for :func:`register_profile`.

    Args:
        metadata: the SD-JWT VC type metadata (JSON) with the ``x-blauweknop`` member
            (``w3c_type``, ``issuer_roles``, ``schema``, optional ``default_validity_days``
            and ``issuer_claims``), as the bundled types have it.
        schema: the JSON Schema of the domain claims (default: ``x-blauweknop.schema``
            next to the metadata file).
        contexts: ``{url: (file, sha256 hex)}``: the JSON-LD contexts the W3C encoding
            needs; a file whose hash differs is ``ContextError("context_pin_mismatch")``.
        id_claim: the claim holding the credential's own id (see :class:`CredentialProfile`).
        supersede_key: the wallet's supersede rule (see :class:`CredentialProfile`).
        overview: the type's overview contribution (see :class:`CredentialProfile`).
    """
    md_path = _FsPath(metadata)
    md = json.loads(md_path.read_text("utf-8"))
    schema_path = (
        _FsPath(schema)
        if schema is not None
        else md_path.parent / str(md.get("x-blauweknop", {}).get("schema", ""))
    )
    sch = json.loads(schema_path.read_text("utf-8"))
    ctx: dict[str, bytes] = {}
    for url, (file, sha256) in (contexts or {}).items():
        data = _FsPath(file).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256.lower():
            raise ContextError("context_pin_mismatch", f"{file} is not the pinned {url}")
        ctx[url] = data
    return _build(
        md,
        sch,
        id_claim=id_claim,
        contexts=ctx,
        supersede_key=supersede_key,
        overview=overview,
    )


def register_profile(profile: CredentialProfile, *, replace: bool = False) -> CredentialProfile:
    """Make a credential type known to the issuer, wallet and verifier: the public extension
    point for new types (see ``specs/profiles.md``).

    A type is keyed by its ``vct``; its W3C type name and its context URLs must not belong to
    another registered type (``PolicyError("profile_conflict")``). ``replace=True`` swaps the
    profile of an already registered ``vct`` (e.g. to add the wallet rules of a bundled type:
    ``register_profile(dataclasses.replace(get_profile(vct), overview=...), replace=True)``).
    Registering the very same profile again changes nothing.
    """
    reg = _registry()
    with _LOCK:
        old = reg.get(profile.vct)
        if old is not None and not replace:
            if old == profile:
                return old
            raise PolicyError("profile_conflict", f"type {profile.vct} is already registered")
        for other in reg.values():
            if other.vct == profile.vct:
                continue
            if other.w3c_type == profile.w3c_type:
                raise PolicyError(
                    "profile_conflict", f"W3C type {profile.w3c_type} belongs to {other.vct}"
                )
            if set(other.contexts) & set(profile.contexts):
                raise PolicyError("profile_conflict", f"a context of {other.vct} is reused")
        reg[profile.vct] = profile
    _type_terms.cache_clear()
    return profile


def _forget(vct: str) -> None:
    """Drop a registered, non-bundled type (for tests that register one)."""
    if vct in _FILES:
        raise PolicyError("profile_conflict", f"{vct} is bundled")
    with _LOCK:
        _registry().pop(vct, None)
    _type_terms.cache_clear()


def get_profile(vct: str) -> CredentialProfile:
    """The registered profile for ``vct``; unknown types raise ``PolicyError("unknown_type")``."""
    p = _ensure_plugins().get(vct)
    if p is None:
        raise PolicyError("unknown_type", f"credential type {vct!r} is not known")
    return p


def all_profiles() -> list[CredentialProfile]:
    """Every registered profile (the bundled ones first)."""
    return list(_ensure_plugins().values())


def registered_contexts() -> dict[str, bytes]:
    """The JSON-LD contexts registered profiles bring, ``{url: bytes}`` (pinned by hash)."""
    out: dict[str, bytes] = {}
    for p in all_profiles():
        out.update(p.contexts)
    return out


def profile_for_w3c_type(types: Iterable[str]) -> CredentialProfile:
    """The profile whose W3C type appears in ``types``."""
    tset = set(types)
    for p in all_profiles():
        if p.w3c_type in tset:
            return p
    raise PolicyError("unknown_type", f"no known credential type among {sorted(tset)}")


#: The contexts every credential of ours names, in order (the verifier pins exactly these).
_TYPE_CONTEXTS = ("credentials-v2.jsonld", "blauweknop-v1.jsonld")


@cache
def _type_terms() -> Mapping[str, str]:
    terms: dict[str, str] = {}
    docs = [
        resources.files("blauweknop.contexts").joinpath(name).read_text("utf-8")
        for name in _TYPE_CONTEXTS
    ]
    docs += [data.decode("utf-8") for data in registered_contexts().values()]
    for doc in docs:
        ctx = json.loads(doc)["@context"]
        if not isinstance(ctx, Mapping):
            continue
        for term, definition in ctx.items():
            iri = definition.get("@id") if isinstance(definition, dict) else definition
            if not term.startswith("@") and isinstance(iri, str) and ":" in iri:
                terms[term] = iri
    return terms


def w3c_type_iris(types: Iterable[str]) -> tuple[str, ...]:
    """A W3C credential's ``type`` values fully expanded under our pinned contexts (VC 2.0,
    then ``blauweknop-v1``), as OpenID4VP Appendix B.1.1 ``type_values`` compares them. A
    value the contexts do not define stays as it is (a relative IRI stays relative).

    >>> w3c_type_iris(["VerifiableCredential", "DebtStatement"])
    ('https://www.w3.org/2018/credentials#VerifiableCredential', \
'https://w3id.org/blauweknop/vocab#DebtStatement')
    """
    terms = _type_terms()
    return tuple(terms.get(t, t) for t in types)
