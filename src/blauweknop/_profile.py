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

    def sd_rule(self, path: Iterable[str | int | None]) -> str | None:
        """The type metadata ``sd`` value for a claim path (indices match ``null``), or ``None``."""
        return self._rules.get(_generalise(path))

    def validate(self, claims: Mapping[str, Any]) -> None:
        """Check domain claims against the JSON Schema; the error names the first bad field."""
        errors = sorted(self._validator.iter_errors(claims), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = _dotted(e.absolute_path) or "(top level)"
            raise InvalidDataError("invalid_data", f"{where}: {e.message}", field=where)

    def mark(self, claims: Mapping[str, Any], path: Path = ()) -> Any:
        """Wrap every claim the metadata marks ``always`` (or ``allowed``) in :class:`SD`."""

        def walk(value: Any, p: Path) -> Any:
            if isinstance(value, Mapping):
                out: dict[str, Any] = {}
                for k, v in value.items():
                    child = walk(v, (*p, k))
                    out[k] = SD(child) if self.sd_rule((*p, k)) in ("always", "allowed") else child
                return out
            if isinstance(value, list):
                items = []
                for i, v in enumerate(value):
                    child = walk(v, (*p, i))
                    items.append(SD(child) if self.sd_rule((*p, i)) in ("always", "allowed") else child)
                return items
            return value

        return walk(claims, path)

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
                    "disclosure_not_allowed", f"claim {_dotted(d)} is marked sd=never for {self.vct}"
                )

        def walk(value: Any, p: Path) -> None:
            if p and self.sd_rule(p) == "always" and p not in dset:
                raise DisclosureError(
                    "sd_required", f"claim {_dotted(p)} must be selectively disclosable"
                )
            if isinstance(value, Mapping):
                for k, v in value.items():
                    if not p and k in TECHNICAL_CLAIMS:
                        continue
                    walk(v, (*p, k))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, (*p, i))

        walk(claims, ())

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
