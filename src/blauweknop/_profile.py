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

import datetime as dt
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from ._errors import DisclosureError, InvalidDataError, MalformedError, PolicyError, TrustError
from ._sdjwt import SD

__all__ = [
    "DEBT_STATEMENT_VCT",
    "RODE_KNOP_VCT",
    "CredentialProfile",
    "all_profiles",
    "get_profile",
    "profile_for_w3c_type",
    "w3c_type_iris",
]

DEBT_STATEMENT_VCT = "urn:blauweknop:debt-statement:1"
RODE_KNOP_VCT = "urn:rodeknop:payment-incapacity-declaration:1"
_FILES = {DEBT_STATEMENT_VCT: "debt-statement.json", RODE_KNOP_VCT: "rode-knop-declaration.json"}

#: Claims SD-JWT VC forbids in disclosures, with their sub-claims (SD-JWT VC section 3.2.2.2),
#: plus ``iat``: technical claims, never domain claims.
TECHNICAL_CLAIMS = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status", "iat"}
)
NEVER_DISCLOSABLE = frozenset(
    {"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"}
)

Path = tuple[str | int | None, ...]


def _generalise(path: Iterable[str | int | None]) -> Path:
    return tuple(None if isinstance(p, int) else p for p in path)


class _RuleNode:
    """The type metadata ``sd`` rules as a trie over generalised claim paths (array
    indices are ``None``): marking and checking a credential walk it alongside the claims
    instead of building and looking up a path tuple per claim."""

    __slots__ = ("always_below", "children", "rule")

    def __init__(self) -> None:
        self.rule: str | None = None
        self.children: dict[str | int | None, _RuleNode] = {}
        self.always_below = False  # some rule here or below is "always"

    @classmethod
    def build(cls, rules: Mapping[Path, str]) -> _RuleNode:
        root = cls()
        for path, rule in rules.items():
            node = root
            for elem in path:
                node = node.children.setdefault(elem, cls())
            node.rule = rule

        def mark_always(node: _RuleNode) -> bool:
            below = [mark_always(c) for c in node.children.values()]
            node.always_below = node.rule == "always" or any(below)
            return node.always_below

        mark_always(root)
        return root

    def child(self, key: Any) -> _RuleNode | None:
        """The node for one more path element, as :func:`_generalise` would see it."""
        return self.children.get(None if isinstance(key, int) else key)


_NO_RULES = _RuleNode()  # below a path no rule mentions; never modified

#: ``format`` is asserted, not just annotated: ``date`` and ``date-time`` must name a real
#: calendar day and time (the ``pattern`` beside them only checks the shape).
_FORMATS = jsonschema.FormatChecker(formats=())


def _real_date(value: object) -> bool:
    if isinstance(value, str):
        dt.date.fromisoformat(value)
    return True


def _real_datetime(value: object) -> bool:
    if isinstance(value, str):
        dt.datetime.fromisoformat(value)
    return True


_FORMATS.checks("date", raises=(ValueError, TypeError))(_real_date)
_FORMATS.checks("date-time", raises=(ValueError, TypeError))(_real_datetime)


def _describe(error: Any) -> tuple[str, str]:
    """(field, message in words) for one JSON Schema error: a ``pattern`` or ``format``
    failure says what is expected (the schema's ``description``), never the raw regex."""
    where = _dotted(error.absolute_path)
    value = error.instance
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    kind = error.validator
    if kind in ("pattern", "format"):
        expected = error.schema.get("description") or "in the expected form"
        extra = ": no such day or time" if kind == "format" else ""
        return where, f"{shown} is not {expected}{extra}"
    if kind == "required" and isinstance(value, Mapping):
        missing = [r for r in error.validator_value if r not in value]
        name = missing[0] if missing else "?"
        return _join(where, name), "missing"
    if kind == "additionalProperties" and isinstance(value, Mapping):
        known = error.schema.get("properties", {})
        extra_names = sorted(k for k in value if k not in known)
        name = extra_names[0] if extra_names else "?"
        return _join(where, name), "is not a claim of this credential type"
    msg = error.message
    return where, msg if len(msg) <= 200 else msg[:197] + "..."


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _same_name(a: str, b: str) -> bool:
    """Organisation names compare without regard to case, Unicode form or spacing."""

    def norm(s: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", s).casefold().split())

    return norm(a) == norm(b)


_SD_MARKS = frozenset({"always", "allowed"})
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
    """

    vct: str
    w3c_type: str
    name: str
    metadata: Mapping[str, Any]
    schema: Mapping[str, Any]
    issuer_roles: frozenset[str]
    default_validity_days: int | None
    issuer_claims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    _rules: Mapping[Path, str] = field(repr=False)
    _validator: Any = field(repr=False, compare=False)
    _trie: _RuleNode = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trie", _RuleNode.build(self._rules))

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
        self.check_issuer(claims, issuer_id=issuer_id, issuer_name=issuer_name)

    def check_issuer(self, claims: Mapping[str, Any], *, issuer_id: str, issuer_name: str) -> None:
        """The organisation the claims name (e.g. ``creditor.oin``/``creditor.name``) must be
        the signer: its OIN is the one in the signer's ``urn:oin:`` id and its name the
        trust-list name (compared without regard to case, Unicode form or spacing).
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
            own = issuer_id[8:] if issuer_id.startswith("urn:oin:") else None
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


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p is None:
            out += "[*]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _load_json(name: str) -> Any:
    return json.loads(resources.files("blauweknop.profiles").joinpath(name).read_text("utf-8"))


@cache
def get_profile(vct: str) -> CredentialProfile:
    """The bundled profile for ``vct``; unknown types raise ``PolicyError("unknown_type")``."""
    fname = _FILES.get(vct)
    if fname is None:
        raise PolicyError("unknown_type", f"credential type {vct!r} is not known")
    md = _load_json(fname)
    ext = md["x-blauweknop"]
    schema = _load_json(ext["schema"])
    rules = {tuple(c["path"]): c["sd"] for c in md["claims"] if "sd" in c}
    return CredentialProfile(
        vct=md["vct"],
        w3c_type=ext["w3c_type"],
        name=md["name"],
        metadata=md,
        schema=schema,
        issuer_roles=frozenset(ext["issuer_roles"]),
        default_validity_days=ext.get("default_validity_days"),
        issuer_claims={k: tuple(v) for k, v in ext.get("issuer_claims", {}).items()},
        _rules=rules,
        _validator=jsonschema.Draft202012Validator(schema, format_checker=_FORMATS),
    )


def all_profiles() -> list[CredentialProfile]:
    """Every bundled profile."""
    return [get_profile(v) for v in _FILES]


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
    for name in _TYPE_CONTEXTS:
        ctx = json.loads(resources.files("blauweknop.contexts").joinpath(name).read_text("utf-8"))[
            "@context"
        ]
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
