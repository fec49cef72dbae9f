"""Holder-signed verifiable presentations (VC-DATA-MODEL-2.0 section 4.13, docs/formats.md).

The holder wraps one or more credentials (typically ``ecdsa-sd-2023`` derived ones) in a
``VerifiablePresentation`` and secures it with an ``authentication`` proof whose ``challenge``
is the verifier's nonce and ``domain`` its audience (VC-DATA-INTEGRITY 2.1, 2.2):
``ecdsa-rdfc-2019`` for P-256 (and P-384) holder keys, ``eddsa-rdfc-2022`` for Ed25519. The
holder is a ``did:jwk`` and the verification method is ``<holder>#0``, so no resolution is
needed.

Example:
    >>> from blauweknop import Key
    >>> holder = Key.generate("ES256")
    >>> vp = sign_presentation([], holder, challenge="n-0S6", domain="https://creditor.example")
    >>> verify_presentation(vp, challenge="n-0S6", domain="https://creditor.example")
    []
    >>> verify_presentation(vp, challenge="other", domain="https://creditor.example")
    Traceback (most recent call last):
    ...
    blauweknop._errors.HolderBindingError: challenge_mismatch: proof challenge does not match
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._errors import HolderBindingError, MalformedError, SignatureError
from .._keys import Key, did_jwk, key_from_did_jwk
from .._limits import DEFAULT_LIMITS, Limits
from ._common import ECDSA_RDFC, EDDSA_RDFC, json_copy, to_timestamp
from ._loader import CREDENTIALS_V2, OfflineLoader
from ._proof import _verify, add_proof

__all__ = ["sign_presentation", "verify_presentation"]


def _require(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise HolderBindingError(f"{name}_missing", f"a non-empty {name} is required")
    return value


def sign_presentation(
    credentials: Sequence[Mapping[str, Any]],
    holder_key: Key,
    *,
    challenge: str,
    domain: str,
    holder: str | None = None,
    created: datetime | str | None = None,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Build and sign a ``VerifiablePresentation`` of ``credentials``.

    Args:
        credentials: secured credentials (dicts with their own ``@context`` and ``proof``).
        holder_key: the holder's private P-256 or Ed25519 key.
        challenge: the verifier's nonce; domain: the verifier's audience (both required).
        holder: the holder's ``did:jwk`` (default: derived from ``holder_key``; when given it
            must be that key's ``did:jwk``).
        created: proof time (default: now).

    >>> from blauweknop import Key
    >>> vp = sign_presentation([], Key.generate("EdDSA"), challenge="n-1", domain="aud")
    >>> vp["proof"]["cryptosuite"], vp["proof"]["proofPurpose"]
    ('eddsa-rdfc-2022', 'authentication')
    """
    _require(challenge, "challenge")
    _require(domain, "domain")
    expected = did_jwk(holder_key)
    if holder is None:
        holder = expected
    elif not isinstance(holder, str) or key_from_did_jwk(holder) != holder_key:
        raise HolderBindingError("holder_key_mismatch", "holder is not the did:jwk of holder_key")
    suite = EDDSA_RDFC if holder_key.crv == "Ed25519" else ECDSA_RDFC
    vp: dict[str, Any] = {
        "@context": [CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
    }
    if credentials:
        vp["verifiableCredential"] = [json_copy(dict(c)) for c in credentials]
    return add_proof(
        vp,
        holder_key,
        cryptosuite=suite,
        verification_method=holder + "#0",
        proof_purpose="authentication",
        created=created if created is not None else datetime.fromtimestamp(time.time(), UTC),
        challenge=challenge,
        domain=domain,
        loader=loader,
        limits=limits,
    )


def verify_presentation(
    vp: Mapping[str, Any],
    *,
    challenge: str,
    domain: str,
    now: float | datetime | None = None,
    max_age: int = 300,
    leeway: int = 60,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """Verify the holder's ``authentication`` proof on ``vp`` and return its credentials.

    Checks: VC 2.0 context first, type ``VerifiablePresentation``, ``holder`` a ``did:jwk``,
    the proof by ``<holder>#0`` with purpose ``authentication``, matching ``challenge`` and
    ``domain``, ``created`` present and at most ``max_age`` seconds old. The returned
    credentials are NOT verified: call :func:`verify_proof` on each.

    Raises:
        HolderBindingError: ``challenge_mismatch``, ``domain_mismatch``, ``holder_mismatch``,
            ``presentation_too_old``, ``proof_created_missing``.
        SignatureError, MalformedError, ContextError, ValidityError: as :func:`verify_proof`.

    >>> from blauweknop import Key
    >>> vp = sign_presentation([], Key.generate(), challenge="n-1", domain="aud")
    >>> verify_presentation(vp, challenge="n-1", domain="aud")
    []
    """
    _require(challenge, "challenge")
    _require(domain, "domain")
    if not isinstance(vp, Mapping):
        raise MalformedError("malformed_presentation", "a presentation must be a JSON object")
    ctx = vp.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != CREDENTIALS_V2:
        raise MalformedError(
            "malformed_presentation", "the first @context must be the VC 2.0 context"
        )
    types = vp.get("type")
    types = types if isinstance(types, list) else [types]
    if "VerifiablePresentation" not in types:
        raise MalformedError("malformed_presentation", "type VerifiablePresentation missing")
    holder = vp.get("holder")
    if not isinstance(holder, str) or not holder.startswith("did:jwk:") or "#" in holder:
        raise HolderBindingError("holder_mismatch", "holder must be a did:jwk")
    proof = vp.get("proof")
    if isinstance(proof, dict):
        if proof.get("cryptosuite") not in (ECDSA_RDFC, EDDSA_RDFC):
            raise SignatureError(
                "cryptosuite_not_supported",
                f"presentation cryptosuite {proof.get('cryptosuite')!r} is not accepted",
            )
        if proof.get("verificationMethod") != holder + "#0":
            raise HolderBindingError("holder_mismatch", "the proof is not by the holder's key")
        if "created" not in proof:
            raise HolderBindingError(
                "proof_created_missing", "the presentation proof has no created"
            )
    holder_key = key_from_did_jwk(holder)

    def resolve(vm: str) -> Key:
        if vm != holder + "#0":
            raise HolderBindingError("holder_mismatch", "the proof is not by the holder's key")
        return holder_key

    ts = to_timestamp(now)
    result = _verify(
        vp,
        resolve_key=resolve,
        expected_purpose="authentication",
        challenge=challenge,
        domain=domain,
        now=ts,
        leeway=leeway,
        loader=loader,
        limits=limits,
        max_bytes=limits.max_vp_token_bytes,
        check_form=False,
    )
    assert result.created is not None
    if result.created.timestamp() < ts - max_age:
        raise HolderBindingError("presentation_too_old", "the presentation proof is too old")
    creds = result.document.get("verifiableCredential", [])
    creds = creds if isinstance(creds, list) else [creds]
    if not all(isinstance(c, dict) for c in creds):
        raise MalformedError("malformed_presentation", "verifiableCredential must hold objects")
    return [json_copy(c) for c in creds]
