"""The W3C encoding of our credentials: VC 2.0 + ``ecdsa-sd-2023``, wired into the issuer,
wallet and verifier recipes (the SD-JWT VC path lives in those modules themselves).

One profile, two encodings: the domain claims sit under ``credentialSubject`` (whose ``id``
is the holder's ``did:jwk``); the claims a profile marks ``sd: never`` become the base
proof's mandatory pointers, together with ``/type``, ``/issuer``, ``/validFrom``,
``/validUntil``, ``/credentialStatus`` and ``/credentialSubject/id``. Verification method
ids are ``<issuer id>#<kid>`` and resolve through the trust list only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._di import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    add_base_proof_sd,
    add_proof,
    derive_proof_sd,
    sign_presentation,
    verify_presentation,
    verify_proof,
)
from ._di._sd import parse_base_proof_value
from ._errors import (
    DisclosureError,
    HolderBindingError,
    MalformedError,
    SignatureError,
    StatusError,
    TrustError,
)
from ._keys import Key, did_jwk, key_from_did_jwk
from ._profile import CredentialProfile, profile_for_w3c_type
from ._trust import TrustedOrganisation, TrustList

if TYPE_CHECKING:
    from ._issuer import Issuer
    from ._verifier import VerifiedCredential, Verifier
    from ._wallet import Wallet

__all__ = [
    "bitstring_signer",
    "inspect_di_credential",
    "issue_di_credential",
    "mandatory_pointers",
    "present_di",
    "status_credential_verifier",
    "verify_di_presentation",
]

#: The ``@context`` of every credential we issue, pinned at verification: another allowed
#: context could add terms, and the JSON handed out must be the compact form under this one.
CREDENTIAL_CONTEXT = (CREDENTIALS_V2, BLAUWEKNOP_V1)
#: The ``@context`` of a bitstring status list credential (the VC 2.0 context defines its terms).
STATUS_LIST_CONTEXT = (CREDENTIALS_V2,)

_ALWAYS = (
    "/type",
    "/issuer",
    "/validFrom",
    "/validUntil",
    "/credentialStatus",
    "/credentialSubject/id",
)


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def mandatory_pointers(profile: CredentialProfile, claims: Mapping[str, Any]) -> list[str]:
    """JSON pointers of everything always shown: the fixed VC members plus, under
    ``/credentialSubject``, each claim the profile marks ``sd: never`` (leaves, or whole
    arrays whose elements are never disclosable on their own)."""
    out = list(_ALWAYS)

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                p = (*path, k)
                if profile.sd_rule(p) == "never":
                    if isinstance(v, Mapping):
                        walk(v, p)
                    else:
                        out.append(_pointer(("credentialSubject", *p)))

    walk(claims, ())
    return out


def _verification_method(issuer_id: str, kid: str) -> str:
    return f"{issuer_id}#{kid}"


def _issuer_resolver(
    trust: TrustList | None, org: TrustedOrganisation, now: float
) -> Callable[[str], Key]:
    def resolve(vm: str) -> Key:
        if not isinstance(vm, str) or not vm.startswith(org.id + "#"):
            raise TrustError("untrusted_key", f"verification method {vm!r} is not one of {org.id}")
        kid = vm[len(org.id) + 1 :]
        if trust is not None:
            return trust.resolve_key(org.id, kid, now=now)
        key = org.keys.get(kid)
        if key is None:
            raise TrustError("untrusted_key", f"key {kid!r} is not registered for {org.id}")
        return key

    return resolve


# -- issuer ---------------------------------------------------------------------------------
def issue_di_credential(
    issuer: Issuer,
    profile: CredentialProfile,
    claims: Mapping[str, Any],
    *,
    holder: Key,
    iat: int,
    nbf: int | None,
    exp: int,
    status: Sequence[Mapping[str, Any]],
) -> str:
    """Sign a VC 2.0 credential with an ``ecdsa-sd-2023`` base proof; returns JSON text."""
    if issuer.signer.alg != "ES256":
        raise SignatureError(
            "algorithm_not_allowed", "ecdsa-sd-2023 needs a P-256 (ES256) issuer key"
        )
    doc: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "type": ["VerifiableCredential", profile.w3c_type],
        "issuer": issuer.issuer_id,
        "validFrom": _iso(nbf if nbf is not None else iat),
        "validUntil": _iso(exp),
        "credentialSubject": {"id": did_jwk(holder), **claims},
        "credentialStatus": [dict(s) for s in status],
    }
    signed = add_base_proof_sd(
        doc,
        issuer.signer,
        verification_method=_verification_method(issuer.issuer_id, issuer.signer.kid),
        mandatory_pointers=mandatory_pointers(profile, claims),
        created=_iso(iat),
    )
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def bitstring_signer(issuer: Issuer) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Signs W3C ``BitstringStatusListCredential`` documents with the issuer's key
    (``ecdsa-rdfc-2019`` for P-256, ``eddsa-rdfc-2022`` for Ed25519)."""
    suite = "eddsa-rdfc-2022" if issuer.signer.alg == "EdDSA" else "ecdsa-rdfc-2019"
    vm = _verification_method(issuer.issuer_id, issuer.signer.kid)

    def sign(document: dict[str, Any]) -> dict[str, Any]:
        return add_proof(document, issuer.signer, cryptosuite=suite, verification_method=vm)

    return sign


def status_credential_verifier(
    org: TrustedOrganisation, now: float
) -> Callable[[Mapping[str, Any]], str]:
    """``verify(document) -> issuer id`` for a bitstring status list credential of ``org``."""
    resolve = _issuer_resolver(None, org, now)

    def verify(document: Mapping[str, Any]) -> str:
        # The status module reads validFrom, validUntil, ttl, id and the list from the JSON:
        # the compact-form check binds each of them to the signed statements.
        verify_proof(document, resolve_key=resolve, now=now, expected_context=STATUS_LIST_CONTEXT)
        issuer = document.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if not isinstance(issuer_id, str):
            raise MalformedError("malformed_document", "status list credential has no issuer")
        return issuer_id

    return verify


# -- wallet ---------------------------------------------------------------------------------
def _check_base_context(doc: Mapping[str, Any]) -> None:
    """VC Data Model 2.0 section 4.3: ``@context`` is an ordered set whose first item is the
    VC 2.0 context (checked for presentations by ``verify_presentation``; here for the
    credentials they carry, and for credentials a wallet imports)."""
    ctx = doc.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != CREDENTIALS_V2:
        raise MalformedError(
            "malformed_document", "the credential's first @context must be the VC 2.0 context"
        )


def _issuer_id(doc: Mapping[str, Any]) -> str:
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        raise MalformedError("malformed_document", "credential has no issuer")
    return issuer_id


def _types(doc: Mapping[str, Any]) -> list[str]:
    t = doc.get("type")
    types = t if isinstance(t, list) else [t]
    out = [x for x in types if isinstance(x, str)]
    if len(out) != len(types):
        raise MalformedError("malformed_document", "type must be strings")
    return out


def _timestamp(doc: Mapping[str, Any], name: str) -> float | None:
    v = doc.get(name)
    if v is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise MalformedError("malformed_datetime", f"{name} is not a date-time") from e


def _all_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterable[tuple[str | int, ...]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield (*path, k)
            yield from _all_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*path, i)
            yield from _all_paths(v, (*path, i))


def _disclosable(doc: Mapping[str, Any], pointers: Sequence[str]) -> list[list[str | int]]:
    """Paths the holder can withhold: neither under nor above a mandatory pointer."""
    mand = [tuple(int(t) if t.isdigit() else t for t in p.split("/")[1:]) for p in pointers]
    out = []
    for p in _all_paths({k: v for k, v in doc.items() if k not in ("@context", "proof")}):
        q = tuple(p)
        if any(q[: len(m)] == m or m[: len(q)] == q for m in mand):
            continue
        out.append(list(p))
    return out


def inspect_di_credential(
    wallet: Wallet, doc: Mapping[str, Any], trust_list: TrustList, now: float
) -> dict[str, Any]:
    """Verify an issued DI credential (base proof) for import; returns the wallet record."""
    _check_base_context(doc)
    issuer_id = _issuer_id(doc)
    profile = profile_for_w3c_type(_types(doc))
    org = trust_list.organisation(issuer_id, now=now)
    profile.check_issuer_roles(org.roles, issuer_id)
    res = verify_proof(
        doc,
        resolve_key=_issuer_resolver(trust_list, org, now),
        now=now,
        limits=wallet.limits,
        expected_context=CREDENTIAL_CONTEXT,
    )
    if not res.is_base_proof:
        raise MalformedError(
            "malformed_document", "an issued credential carries an ecdsa-sd-2023 base proof"
        )
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("id"), str):
        raise HolderBindingError(
            "holder_key_missing", "credentialSubject.id (the holder) is missing"
        )
    try:
        holder = key_from_did_jwk(subject["id"])
    except (SignatureError, MalformedError) as e:
        raise HolderBindingError("holder_key_invalid", f"credentialSubject.id: {e.message}") from e
    if wallet._store.get("holder_key", holder.kid) is None:
        raise HolderBindingError("holder_mismatch", "credential is bound to another holder key")
    base = parse_base_proof_value(doc["proof"]["proofValue"], wallet.limits)
    for p in _ALWAYS:
        if p not in base.mandatory_pointers:
            raise DisclosureError("mandatory_pointer_missing", f"issuer did not make {p} mandatory")
    domain_claims = {k: v for k, v in subject.items() if k != "id"}
    return {
        "format": "ldp_vc",
        "vct": profile.vct,
        "issuer": org.id,
        "issuer_name": org.name,
        "fingerprint": doc["proof"]["proofValue"][:120],
        "claims": dict(doc),
        "domain_claims": domain_claims,
        "disclosable": _disclosable(doc, base.mandatory_pointers),
        "iat": _timestamp(doc, "validFrom"),
        "nbf": _timestamp(doc, "validFrom"),
        "exp": _timestamp(doc, "validUntil"),
        "status_ref": doc.get("credentialStatus"),
        "holder_kid": holder.kid,
        "received_at": int(now),
        "state": "active",
    }


def present_di(
    doc: Mapping[str, Any],
    paths: Sequence[Sequence[str | int | None]],
    *,
    holder_key: Key,
    nonce: str,
    audience: str,
    now: float,
) -> dict[str, Any]:
    """Derive a proof revealing ``paths`` (plus the mandatory claims) and wrap it in a
    presentation signed by the holder (``authentication``, challenge = nonce, domain = audience)."""
    pointers = []
    for p in paths:
        if any(x is None for x in p):
            raise MalformedError("pointer_malformed", "wildcards must be expanded before deriving")
        pointers.append(_pointer(p))  # type: ignore[arg-type]
    derived = derive_proof_sd(doc, pointers or ["/credentialSubject/id"])
    return sign_presentation(
        [derived],
        holder_key,
        challenge=nonce,
        domain=audience,
        created=dt.datetime.fromtimestamp(now, dt.UTC),
    )


# -- verifier -------------------------------------------------------------------------------
def verify_di_presentation(
    verifier: Verifier,
    vp: Mapping[str, Any],
    nonce: str,
    audience: str,
    now: float,
    query_id: str | None,
) -> VerifiedCredential:
    """Verify one W3C presentation: holder proof (challenge/domain), then the derived
    credential's issuer proof against the trust list, role, validity, holder binding, status."""
    from ._verifier import FORMAT_LDP, VerifiedCredential

    try:
        creds = verify_presentation(
            vp,
            challenge=nonce,
            domain=audience,
            now=now,
            max_age=verifier.kb_max_age,
            leeway=verifier.leeway,
            limits=verifier.limits,
        )
    except HolderBindingError as e:
        # One vocabulary for both formats: the verifier asked with a nonce and an audience.
        unified = {"challenge_mismatch": "nonce_mismatch", "domain_mismatch": "audience_mismatch"}
        if e.code in unified:
            raise HolderBindingError(unified[e.code], e.message) from e
        raise
    if len(creds) != 1:
        raise MalformedError(
            "vp_token_malformed", "each presentation must carry exactly one credential"
        )
    cred = creds[0]
    _check_base_context(cred)
    issuer_id = _issuer_id(cred)
    profile = profile_for_w3c_type(_types(cred))
    org = verifier.trust_list.organisation(issuer_id, now=now)
    profile.check_issuer_roles(org.roles, issuer_id)
    res = verify_proof(
        cred,
        resolve_key=_issuer_resolver(verifier.trust_list, org, now),
        now=now,
        leeway=verifier.leeway,
        limits=verifier.limits,
        expected_context=CREDENTIAL_CONTEXT,
    )
    if res.is_base_proof:
        raise DisclosureError(
            "base_proof_presented", "a base proof must not be presented; derive one"
        )
    doc = res.document
    subject = doc.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("id") != vp.get("holder"):
        raise HolderBindingError(
            "holder_mismatch", "credential subject is not the presenting holder"
        )
    if "validUntil" not in doc:
        raise MalformedError("malformed_document", "credential has no validUntil")
    claims = {k: v for k, v in subject.items() if k != "id"}
    profile.check_received(claims, issuer_id=org.id, issuer_name=org.name)
    status_state = _di_status(verifier, doc.get("credentialStatus"), org, now)
    holder = key_from_did_jwk(subject["id"])
    return VerifiedCredential(
        query_id=query_id,
        format=FORMAT_LDP,
        vct=profile.vct,
        issuer=org.id,
        issuer_name=org.name,
        claims=claims,
        issued_at=res.created.timestamp() if res.created else None,
        valid_from=_timestamp(doc, "validFrom"),
        valid_until=_timestamp(doc, "validUntil"),
        status=status_state,
        holder=holder.public_jwk(with_kid=False),
    )


def _di_status(verifier: Verifier, status: Any, org: TrustedOrganisation, now: float) -> str:
    if status is None:
        if verifier.allow_missing_status:
            return "not_checked"
        raise StatusError("status_unavailable", "credential carries no credentialStatus")
    entries = status if isinstance(status, list) else [status]
    if not entries or not all(isinstance(e, Mapping) for e in entries):
        raise MalformedError("malformed_document", "credentialStatus must be objects")
    if verifier.status is None:
        if verifier.allow_missing_status:
            return "not_checked"
        raise StatusError("status_unavailable", "no status source configured")
    try:
        for e in entries:
            verifier.status.bitstring_status(e, issuer=org, now=now)
    except StatusError as err:
        if err.code == "status_unavailable" and verifier.allow_missing_status:
            return "not_checked"
        raise
    return "valid"
