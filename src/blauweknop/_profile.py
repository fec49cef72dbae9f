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

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from ._errors import DisclosureError, InvalidDataError, PolicyError
from ._sdjwt import SD

__all__ = [
    "DEBT_STATEMENT_VCT",
    "RODE_KNOP_VCT",
    "CredentialProfile",
    "all_profiles",
    "get_profile",
    "profile_for_w3c_type",
]

DEBT_STATEMENT_VCT = "urn:blauweknop:debt-statement:1"
RODE_KNOP_VCT = "urn:rodeknop:payment-incapacity-declaration:1"
_FILES = {DEBT_STATEMENT_VCT: "debt-statement.json", RODE_KNOP_VCT: "rode-knop-declaration.json"}

#: Claims SD-JWT VC forbids in disclosures (SD-JWT VC section 3.2.2.2), plus our status claim.
TECHNICAL_CLAIMS = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "iat"})
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})

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
    """

    vct: str
    w3c_type: str
    name: str
    metadata: Mapping[str, Any]
    schema: Mapping[str, Any]
    issuer_roles: frozenset[str]
    default_validity_days: int | None
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
        """Check domain claims against the JSON Schema; the error names the first bad field."""
        errors = sorted(self._validator.iter_errors(claims), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = _dotted(e.absolute_path) or "(top level)"
            raise InvalidDataError("invalid_data", f"{where}: {e.message}", field=where)

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
            if len(d) == 1 and d[0] in NEVER_DISCLOSABLE:
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
        _rules=rules,
        _validator=jsonschema.Draft202012Validator(schema),
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
