"""SD-JWT VC (``dc+sd-jwt``) as a :class:`~blauweknop.formats.CredentialFormat`.

Issuance is :func:`blauweknop._sdjwt_vc.issue_sd_jwt_vc`; verification is RFC 9901 via
:func:`blauweknop._sdjwt.verify_sd_jwt`, then the shared checks of
:mod:`blauweknop.formats._checks` (issuer and role, validity window, presentation age,
status fail-closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import DisclosureError, HolderBindingError, MalformedError, StorageError
from .._keys import Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from .._profile import NEVER_DISCLOSABLE, TECHNICAL_CLAIMS, CredentialProfile, get_profile
from .._sdjwt import SDJWT, KeyBindingPolicy, verify_sd_jwt
from .._sdjwt_vc import SD_JWT_VC_TYP, issue_sd_jwt_vc
from .._trust import TrustedOrganisation, TrustList
from ._base import StatusReservation, StatusSource, VerifiedCredential, VerifyPolicy
from ._checks import (
    check_presentation_age,
    check_validity_window,
    resolve_issuer,
    status_state,
    unify_holder_binding,
)
from ._record import WalletRecord

__all__ = ["SD_JWT_VC", "SdJwtVcFormat", "check_status_claim", "trust_list_resolver"]

#: The core library's own age limits are lifted: the shared check judges the age.
_UNBOUNDED = 2**40


def trust_list_resolver(
    sd: SDJWT,
    trust_list: TrustList,
    *,
    now: float,
    found: dict[str, Any],
    limits: Limits = DEFAULT_LIMITS,
) -> Callable[[dict[str, Any], dict[str, Any]], Key]:
    """The issuer-key resolver for ``verify_sd_jwt``: ``iss``/``vct`` from the signed payload
    (a top-level disclosure carrying one is ``disclosure_not_allowed``, SD-JWT VC 3.2.2.2),
    the profile, the issuer and its role (:func:`resolve_issuer`), then the key by ``kid``
    or through an ``x5c`` chain to a pinned root (:meth:`TrustList.resolve_issuer_key`).
    ``found`` receives ``org`` and ``profile``."""

    def resolve(header: dict[str, Any], payload: dict[str, Any]) -> Key:
        iss, vct = payload.get("iss"), payload.get("vct")
        if not (isinstance(iss, str) and iss and isinstance(vct, str) and vct):
            for path, _ in sd.disclosure_paths(limits):
                if len(path) == 1 and path[0] in NEVER_DISCLOSABLE:
                    raise DisclosureError(
                        "disclosure_not_allowed",
                        f"claim {path[0]!r} must not be selectively disclosable",
                    )
        if not isinstance(iss, str) or not iss:
            raise MalformedError("malformed_claim", "SD-JWT VC has no iss")
        if not isinstance(vct, str) or not vct:
            raise MalformedError("malformed_claim", "SD-JWT VC has no vct")
        profile = get_profile(vct)
        org = resolve_issuer(trust_list, iss, profile, now=now)
        key = trust_list.resolve_issuer_key(iss, header, now=now)
        found.update(org=org, profile=profile)
        return key

    return resolve


def check_status_claim(status: Any) -> tuple[str, int] | None:
    """A ``status`` claim is absent or ``{"status_list": {"idx": int >= 0, "uri": str}}``
    (``MalformedError("malformed_claim")``); returns ``(uri, idx)``."""
    if status is None:
        return None
    sl = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(sl, Mapping):
        raise MalformedError("malformed_claim", "status.status_list missing")
    idx, uri = sl.get("idx"), sl.get("uri")
    if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
        raise MalformedError("malformed_claim", "status.status_list needs idx and uri")
    return uri, idx


class SdJwtVcFormat:
    """SD-JWT VC: ``typ: dc+sd-jwt``, ``cnf.jwk`` holder key, KB-JWT, Token Status List."""

    id = SD_JWT_VC_TYP
    option = "sd-jwt"
    file_suffix = ".sd-jwt"

    def handles(self, credential: object) -> bool:
        """SD-JWT VCs travel as compact strings."""
        return isinstance(credential, str)

    def issue(
        self,
        profile: CredentialProfile,
        claims: Mapping[str, Any],
        *,
        signer: Signer,
        issuer_id: str,
        holder: Key,
        iat: int,
        nbf: int | None,
        exp: int,
        status: StatusReservation,
    ) -> str:
        """Sign an SD-JWT VC (disclosures as the profile's type metadata says)."""
        return issue_sd_jwt_vc(
            profile,
            claims,
            issuer_id=issuer_id,
            signer=signer,
            holder_jwk=holder.public_jwk(with_kid=False),
            iat=iat,
            exp=exp,
            nbf=nbf,
            status=status.status_claim(),
        )

    def inspect(
        self,
        credential: Any,
        *,
        trust_list: TrustList,
        now: float,
        limits: Limits,
        holder_known: Callable[[str], bool],
    ) -> tuple[WalletRecord, Mapping[str, Any]]:
        """Verify an issued SD-JWT VC (no key binding) for the wallet."""
        text = str(credential).strip()
        sd = SDJWT.parse(text, limits=limits)
        if sd.kb_jwt is not None:
            raise MalformedError("malformed_sd_jwt", "an issued credential carries no key binding")
        found: dict[str, Any] = {}
        resolve = trust_list_resolver(sd, trust_list, now=now, found=found, limits=limits)
        # A declaration may be handed out before its pause starts: store it (shown as
        # "not_yet_valid", never presented early). Trust is still judged at the real `now`.
        nbf = sd.unverified_payload(limits).get("nbf")
        at = (
            max(now, float(nbf))
            if isinstance(nbf, int | float) and not isinstance(nbf, bool)
            else now
        )
        # allow_x5c: the resolver checks the chain, or refuses it without pinned roots.
        res = verify_sd_jwt(
            sd, issuer_key=resolve, typ=SD_JWT_VC_TYP, now=at, limits=limits, allow_x5c=True
        )
        profile: CredentialProfile = found["profile"]
        org: TrustedOrganisation = found["org"]
        profile.check_disclosed(res.claims, res.disclosed)
        if res.holder_jwk is None:
            raise HolderBindingError(
                "holder_key_missing", "credential is not bound to a holder key"
            )
        holder = Key.from_jwk(res.holder_jwk)
        if not holder_known(holder.kid):
            raise HolderBindingError("holder_mismatch", "credential is bound to another holder key")
        claims = res.claims
        check_status_claim(claims.get("status"))
        domain = {k: v for k, v in claims.items() if k not in TECHNICAL_CLAIMS}
        record = WalletRecord(
            format=self.id,
            vct=profile.vct,
            issuer=org.id,
            issuer_name=org.name,
            text=text,
            fingerprint=sd.jwt.rsplit(".", 1)[0],
            claims=domain,
            disclosable=tuple(sorted(res.disclosed, key=lambda p: repr(list(p)))),
            iat=claims.get("iat"),
            nbf=claims.get("nbf"),
            exp=claims.get("exp"),
            status_ref=claims.get("status"),
            holder_kid=holder.kid,
            received_at=int(now),
        )
        return record, domain

    def query_status(
        self, ref: Any, *, source: StatusSource, issuer: TrustedOrganisation, now: float
    ) -> None:
        """Look up ``status.status_list`` in the Token Status List."""
        found = check_status_claim(ref)
        if found is not None:
            source.token_status(found[0], found[1], issuer=issuer, now=now)

    def domain_claims(self, record: WalletRecord) -> Mapping[str, Any]:
        """A stored SD-JWT VC keeps its domain claims as they are."""
        claims: Mapping[str, Any] = record.claims
        return claims

    def candidate(self, record: WalletRecord) -> tuple[tuple[str, ...], Mapping[str, Any]]:
        """DCQL matches ``vct`` and the claims at the top level."""
        return (record.vct,), record.claims

    def present(
        self,
        record: WalletRecord,
        paths: Sequence[Sequence[str | int | None]],
        *,
        holder_key: Key,
        nonce: str,
        audience: str,
        now: float,
        limits: Limits,
    ) -> Any:
        """The SD-JWT with the planned disclosures and a KB-JWT."""
        if record.text is None:
            raise StorageError("storage_corrupt", "a stored SD-JWT VC has no text")
        return SDJWT.parse(record.text, limits=limits).present(
            list(paths), holder_key=holder_key, nonce=nonce, audience=audience, iat=int(now)
        )

    def verify(
        self,
        presentation: Any,
        *,
        policy: VerifyPolicy,
        nonce: str,
        audience: str,
        now: float,
        query_id: str | None,
    ) -> VerifiedCredential:
        """RFC 9901 verification with key binding, then the shared checks."""
        if not isinstance(presentation, str):
            raise MalformedError("vp_token_malformed", "an SD-JWT VC presentation is a string")
        sd = SDJWT.parse(presentation, limits=policy.limits)
        found: dict[str, Any] = {}
        resolve = trust_list_resolver(
            sd, policy.trust_list, now=now, found=found, limits=policy.limits
        )
        try:
            res = verify_sd_jwt(
                sd,
                issuer_key=resolve,
                key_binding=KeyBindingPolicy(
                    nonce=nonce, audience=audience, max_age=_UNBOUNDED, max_future=_UNBOUNDED
                ),
                typ=SD_JWT_VC_TYP,
                now=now,
                leeway=policy.leeway,
                limits=policy.limits,
                allow_x5c=True,
            )
        except HolderBindingError as e:
            unify_holder_binding(e)
        assert res.kb_iat is not None  # key binding was required and verified
        check_presentation_age(
            res.kb_iat,
            now=now,
            max_age=policy.max_age,
            leeway=policy.leeway,
        )
        org: TrustedOrganisation = found["org"]
        profile: CredentialProfile = found["profile"]
        claims = res.claims
        if "exp" not in claims:
            raise MalformedError("malformed_claim", "credential has no exp")
        check_validity_window(claims.get("nbf"), claims["exp"], now=now, leeway=policy.leeway)
        profile.check_disclosed(claims, res.disclosed)
        domain = {k: v for k, v in claims.items() if k not in TECHNICAL_CLAIMS}
        profile.check_received(domain, issuer_id=org.id, issuer_name=org.name, issuer_oin=org.oin)
        ref = claims.get("status")
        found_ref = check_status_claim(ref)

        def lookup(source: StatusSource) -> None:
            assert found_ref is not None
            source.token_status(found_ref[0], found_ref[1], issuer=org, now=now)

        status = status_state(
            found_ref is not None, lookup, policy.status, allow_missing=policy.allow_missing_status
        )
        return VerifiedCredential(
            query_id=query_id,
            format=self.id,
            vct=profile.vct,
            issuer=org.id,
            issuer_name=org.name,
            claims=domain,
            disclosed=res.disclosed,
            issued_at=claims.get("iat"),
            valid_from=claims.get("nbf"),
            valid_until=claims.get("exp"),
            status=status,
            holder=res.holder_jwk,
        )

    def presented(
        self, credential: VerifiedCredential
    ) -> tuple[tuple[str, ...], Mapping[str, Any], frozenset[tuple[Any, ...]] | None]:
        """DCQL sees ``vct``, the claims at the top level and what was disclosed."""
        return (credential.vct,), dict(credential.claims), credential.disclosed


#: The SD-JWT VC format instance the recipes' table holds.
SD_JWT_VC = SdJwtVcFormat()
"""The SD-JWT VC format (``dc+sd-jwt``), as used by the recipes' format table."""
