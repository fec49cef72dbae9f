"""Credential Issuer Metadata (OpenID4VCI 1.0 section 12.2) and Authorization Server
Metadata (RFC 8414), built from the registered credential profiles.

Every profile the issuer's trust-list roles may issue gets two credential configurations,
one per encoding: ``<Type>_dc_sd_jwt`` (``dc+sd-jwt``, SD-JWT VC) and ``<Type>_ldp_vc``
(W3C VC 2.0 with an ``ecdsa-sd-2023`` proof), each with its own ``scope``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._jws import sign_compact
from .._keys import ALLOWED_JWS_ALGS, Signer
from .._profile import CredentialProfile, all_profiles
from ..formats.w3c_di import _context

__all__ = [
    "CredentialConfiguration",
    "configurations_for",
    "issuer_metadata",
    "signed_metadata",
    "well_known_url",
]

#: Format id -> the Issuer's ``format=`` option.
FORMAT_OPTIONS = {"dc+sd-jwt": "sd-jwt", "ldp_vc": "di"}
_SUFFIX = {"dc+sd-jwt": "dc_sd_jwt", "ldp_vc": "ldp_vc"}
#: Locales of the display entries (the profiles carry nl-NL and en-GB).
_LOCALES = {"nl-NL": "nl", "en-GB": "en"}


@dataclass(frozen=True, kw_only=True)
class CredentialConfiguration:
    """One entry of ``credential_configurations_supported``."""

    id: str
    profile: CredentialProfile
    format: str

    @property
    def option(self) -> str:
        """The :meth:`blauweknop.Issuer.issue` ``format=`` keyword."""
        return FORMAT_OPTIONS[self.format]

    def to_json(self) -> dict[str, Any]:
        """The configuration object as published."""
        md = self.profile.metadata
        display = [
            {
                "name": d.get("name"),
                "locale": d.get("locale"),
                **({"description": d["description"]} if "description" in d else {}),
            }
            for d in md.get("display", [])
        ]
        prefix = ["credentialSubject"] if self.format == "ldp_vc" else []
        claims = [
            {
                "path": prefix + list(c["path"]),
                **({"mandatory": True} if c.get("mandatory") else {}),
                **(
                    {
                        "display": [
                            {"name": d.get("label"), "locale": d.get("locale")}
                            for d in c["display"]
                        ]
                    }
                    if c.get("display")
                    else {}
                ),
            }
            for c in md.get("claims", [])
        ]
        out: dict[str, Any] = {
            "format": self.format,
            "scope": self.id,
            "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": sorted(ALLOWED_JWS_ALGS)}
            },
            "credential_metadata": {"display": display, "claims": claims},
        }
        if self.format == "dc+sd-jwt":
            out["vct"] = self.profile.vct
            out["cryptographic_binding_methods_supported"] = ["jwk"]
            out["credential_signing_alg_values_supported"] = sorted(ALLOWED_JWS_ALGS)
        else:
            out["credential_definition"] = {
                "@context": list(_context(self.profile)),
                "type": ["VerifiableCredential", self.profile.w3c_type],
            }
            out["cryptographic_binding_methods_supported"] = ["did:jwk"]
            out["credential_signing_alg_values_supported"] = ["ecdsa-sd-2023"]
        return out


def _slug(profile: CredentialProfile) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", profile.w3c_type).lower()


def configurations_for(roles: Iterable[str]) -> dict[str, CredentialConfiguration]:
    """The configurations an issuer with these trust-list ``roles`` offers (by id)."""
    have = set(roles)
    out: dict[str, CredentialConfiguration] = {}
    for profile in all_profiles():
        if not have & set(profile.issuer_roles):
            continue
        for fmt in ("dc+sd-jwt", "ldp_vc"):
            cid = f"{_slug(profile)}_{_SUFFIX[fmt]}"
            out[cid] = CredentialConfiguration(id=cid, profile=profile, format=fmt)
    return out


def issuer_metadata(
    *,
    issuer_url: str,
    name: str,
    configurations: Mapping[str, CredentialConfiguration],
    batch_size: int,
) -> dict[str, Any]:
    """The Credential Issuer Metadata document (without ``signed_metadata``)."""
    return {
        "credential_issuer": issuer_url,
        "credential_endpoint": f"{issuer_url}/credential",
        "nonce_endpoint": f"{issuer_url}/nonce",
        "notification_endpoint": f"{issuer_url}/notification",
        "batch_credential_issuance": {"batch_size": batch_size},
        "display": [{"name": name, "locale": "nl"}, {"name": name, "locale": "en"}],
        "credential_configurations_supported": {
            cid: c.to_json() for cid, c in sorted(configurations.items())
        },
    }


def signed_metadata(
    metadata: Mapping[str, Any], *, signer: Signer, x5c: Sequence[bytes], now: int
) -> str:
    """The ``signed_metadata`` JWT (OpenID4VCI 1.0 section 12.2.2): the metadata as claims,
    ``iss``/``sub`` the Credential Issuer Identifier, the leaf-first DER certificate chain
    in ``x5c`` (standard base64, RFC 7515 section 4.1.6)."""
    import base64

    claims = {**metadata, "sub": metadata["credential_issuer"], "iat": now}
    claims["iss"] = metadata["credential_issuer"]
    header = {
        "typ": "openid-credential-issuer-metadata+jwt",
        "x5c": [base64.b64encode(der).decode("ascii") for der in x5c],
    }
    return sign_compact(header, json.dumps(claims, separators=(",", ":")).encode(), signer)


def authorization_server_metadata(
    issuer_url: str, *, authorization_code: bool = False
) -> dict[str, Any]:
    """RFC 8414 metadata of the authorization server (the credential issuer itself); with
    ``authorization_code`` also the PAR (RFC 9126) and PKCE parameters of that grant."""
    md: dict[str, Any] = {
        "issuer": issuer_url,
        "token_endpoint": f"{issuer_url}/token",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        "token_endpoint_auth_methods_supported": ["none"],
        "dpop_signing_alg_values_supported": sorted(ALLOWED_JWS_ALGS),
        "pre-authorized_grant_anonymous_access_supported": True,
    }
    if authorization_code:
        md["grant_types_supported"].insert(0, "authorization_code")
        md |= {
            "authorization_endpoint": f"{issuer_url}/authorize",
            "pushed_authorization_request_endpoint": f"{issuer_url}/par",
            "require_pushed_authorization_requests": True,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
    return md


def well_known_url(identifier: str, name: str) -> str:
    """Where the well-known document ``name`` of ``identifier`` lives: the well-known part
    goes between host and path (RFC 8414 section 3.1, OpenID4VCI section 12.2.2)."""
    from urllib.parse import urlsplit, urlunsplit

    p = urlsplit(identifier)
    path = p.path.rstrip("/")
    return urlunsplit((p.scheme, p.netloc, f"/.well-known/{name}{path}", "", ""))
