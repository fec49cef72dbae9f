"""SD-JWT VC (``dc+sd-jwt``) profile of SD-JWT for the scheme's credential types.

Issuance follows the type metadata of the credential's profile: claims marked ``sd: always``
become disclosures, ``never`` stays in the signed payload, and the technical claims (``iss``,
``iat``, ``nbf``, ``exp``, ``vct``, ``cnf``, ``status``, ``vct#integrity``, ``aka_vcts``) are the
issuer's and can never be selectively disclosed, nor any of their sub-claims (SD-JWT VC section
3.2.2.2): a disclosure carrying one is rejected at verification, and domain data containing one
is refused at issuance.

Example:
    >>> from blauweknop._keys import Key
    >>> import json, pathlib
    >>> issuer, holder = Key.generate(), Key.generate()
    >>> data = json.loads(pathlib.Path("examples/data/debt-statement.json").read_text())
    >>> tok = issue_sd_jwt_vc(get_profile(DEBT_STATEMENT_VCT), data,
    ...                       issuer_id="urn:oin:00000001003214345000",
    ...                       signer=issuer, holder_jwk=holder.public_jwk(), iat=1_790_000_000,
    ...                       exp=1_792_592_000)
    >>> tok.count("~") > 10
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _profile
from ._errors import InvalidDataError
from ._keys import Signer
from ._profile import (
    DEBT_STATEMENT_VCT,
    TECHNICAL_CLAIMS,
    CredentialProfile,
    get_profile,
)
from ._sdjwt._issue import issue_sd_jwt_ruled

__all__ = ["SD_JWT_VC_TYP", "issue_sd_jwt_vc", "profile_for_vct"]

SD_JWT_VC_TYP = "dc+sd-jwt"
_ = DEBT_STATEMENT_VCT  # re-exported for the doctest above


def issue_sd_jwt_vc(
    profile: CredentialProfile,
    claims: Mapping[str, Any],
    *,
    issuer_id: str,
    signer: Signer,
    holder_jwk: Mapping[str, Any],
    iat: int,
    exp: int,
    nbf: int | None = None,
    status: Mapping[str, Any] | None = None,
    decoys: int | tuple[int, int] = (1, 3),
) -> str:
    """Issue an SD-JWT VC for ``profile`` from validated domain ``claims``.

    Args:
        profile: credential profile (type metadata decides what is disclosable).
        claims: domain claims (already validated by the model's ``from_claims``).
        issuer_id: ``iss`` (organisation id in the trust list).
        signer: the issuer's signing key (``kid`` goes into the header).
        holder_jwk: the holder's public key, for ``cnf.jwk``.
        iat / exp / nbf: Unix times.
        status: ``{"status_list": {"idx": N, "uri": "..."}}`` or ``None``.
    """
    clash = TECHNICAL_CLAIMS.intersection(claims)
    if clash:
        raise InvalidDataError(
            "invalid_data",
            f"{sorted(clash)[0]}: technical claims are added by the issuer, not the data file",
            field=sorted(clash)[0],
        )
    if exp <= iat:
        raise InvalidDataError("invalid_data", "exp: must lie after iat", field="exp")
    payload: dict[str, Any] = {"iss": issuer_id, "iat": iat, "exp": exp, "vct": profile.vct}
    if nbf is not None:
        payload["nbf"] = nbf
    if status is not None:
        payload["status"] = dict(status)
    # The profile's disclosure rules applied during the walk that builds the disclosures
    # (no marked copy first): the output of issue_sd_jwt({**payload, **profile.mark(claims)}),
    # which the property tests hold it to.
    return issue_sd_jwt_ruled(
        payload,
        claims,
        profile._trie,
        _profile._SD_MARKS,
        _profile._NO_RULES,  # type: ignore[attr-defined]  # read-only use of the rule trie
        signer,
        typ=SD_JWT_VC_TYP,
        holder_jwk=dict(holder_jwk),
        decoys=decoys,
    )


def profile_for_vct(vct: str) -> CredentialProfile:
    """The profile for an SD-JWT VC ``vct`` (``PolicyError("unknown_type")`` if unknown)."""
    return get_profile(vct)
