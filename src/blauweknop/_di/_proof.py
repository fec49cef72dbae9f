"""Add and verify Data Integrity proofs: ``ecdsa-rdfc-2019``, ``eddsa-rdfc-2022`` and the
dispatcher that also handles ``ecdsa-sd-2023``.

Algorithms: VC-DATA-INTEGRITY 4.2 (Add Proof) and 4.4 (Verify Proof); VC-DI-ECDSA 3.2
(ecdsa-rdfc-2019); VC-DI-EDDSA 3.2 (eddsa-rdfc-2022). Proof sets and chains (4.3, 4.5) are not
implemented: a document with a ``proof`` array, or a proof with ``previousProof``, is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._errors import HolderBindingError, MalformedError, SignatureError, ValidityError
from .._keys import Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._common import (
    ECDSA_RDFC,
    ECDSA_SD,
    EDDSA_RDFC,
    PROOF_TYPE,
    build_proof_options,
    canonical_dataset,
    check_document,
    check_new_document,
    curve_of,
    hash_name_for,
    parse_datetime,
    proof_config_hash,
    sign,
    to_timestamp,
    unsecured,
)
from ._jsonld import check_compact_form, reusing_walks
from ._loader import OfflineLoader, default_loader
from ._multibase import base58btc_encode, multibase_decode
from ._sd import verify_sd

__all__ = ["KeyResolver", "VerifiedProof", "add_proof", "verify_proof"]

#: ``resolve_key(verification_method) -> Key``; raises :class:`~blauweknop.TrustError` for
#: methods the verifier does not trust. Keys are never fetched.
KeyResolver = Callable[[str], Key]

_STRING_MEMBERS = ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue")


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifiedProof:
    """A successfully verified Data Integrity proof (VC-DATA-INTEGRITY 4.4 verification result).

    Attributes:
        cryptosuite: ``ecdsa-rdfc-2019``, ``eddsa-rdfc-2022`` or ``ecdsa-sd-2023``.
        verification_method: the proof's ``verificationMethod``.
        purpose: the proof's ``proofPurpose``.
        created: the proof's ``created`` time, if any.
        document: the verified document without ``proof`` (for ``ecdsa-sd-2023``: what was
            disclosed).
        is_base_proof: ``True`` when an ``ecdsa-sd-2023`` *base* proof (issuer to holder) was
            verified rather than a derived one.
    """

    cryptosuite: str
    verification_method: str
    purpose: str
    created: datetime | None
    document: dict[str, Any]
    is_base_proof: bool = False


def _rdfc_hash_data(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    loader: OfflineLoader,
    limits: Limits,
    hash_name: str,
) -> bytes:
    """VC-DI-ECDSA 3.2.3-3.2.5 / VC-DI-EDDSA 3.2.3-3.2.5: H(proof config) || H(document)."""
    proof_hash = proof_config_hash(proof, document["@context"], loader, limits, hash_name)
    canon = canonical_dataset(document, loader, limits, hash_name).serialize()
    return proof_hash + hashlib.new(hash_name, canon.encode("utf-8")).digest()


def _check_suite_key(cryptosuite: str, crv: str) -> None:
    if cryptosuite == ECDSA_RDFC and crv in ("P-256", "P-384"):
        return
    if cryptosuite == EDDSA_RDFC and crv == "Ed25519":
        return
    if cryptosuite == ECDSA_SD and crv == "P-256":
        return
    raise SignatureError("key_invalid", f"a {crv} key cannot be used with {cryptosuite}")


def add_proof(
    document: Mapping[str, Any],
    key: Key | Signer,
    *,
    cryptosuite: str,
    verification_method: str,
    proof_purpose: str = "assertionMethod",
    created: datetime | str | None = None,
    expires: datetime | str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Secure ``document`` with an ``ecdsa-rdfc-2019`` or ``eddsa-rdfc-2022`` proof
    (VC-DATA-INTEGRITY 4.2; VC-DI-ECDSA 3.2.1; VC-DI-EDDSA 3.2.1).

    Args:
        document: an unsecured JSON-LD document whose ``@context`` defines the proof terms
            (the VC 2.0 context does); it must not already carry a ``proof``.
        key: a private P-256/P-384 key (ecdsa, RFC 6979 nonces) or Ed25519 key (eddsa), or a
            :class:`~blauweknop.Signer`.
        cryptosuite: ``"ecdsa-rdfc-2019"`` or ``"eddsa-rdfc-2022"``.
        verification_method: URL of the public key, e.g. ``did:jwk:...#0``.
        proof_purpose: ``assertionMethod`` (credentials) or ``authentication`` (presentations).
        created: proof creation time; ``None`` omits ``created`` (pass ``datetime.now(UTC)``).
        expires, challenge, domain: optional proof members (VC-DATA-INTEGRITY 2.1).

    Returns:
        a copy of ``document`` with ``proof``.

    >>> from blauweknop import Key
    >>> k = Key.generate("EdDSA")
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...        "credentialSubject": {"id": "urn:example:subject"}}
    >>> signed = add_proof(doc, k, cryptosuite="eddsa-rdfc-2022",
    ...                    verification_method="urn:example:issuer#key-1")
    >>> signed["proof"]["proofValue"][0]
    'z'
    >>> verify_proof(signed, resolve_key=lambda vm: k.public()).cryptosuite
    'eddsa-rdfc-2022'
    """
    if cryptosuite not in (ECDSA_RDFC, EDDSA_RDFC):
        raise SignatureError(
            "cryptosuite_not_supported",
            f"add_proof handles ecdsa-rdfc-2019 and eddsa-rdfc-2022, not {cryptosuite!r}"
            + (" (use add_base_proof_sd)" if cryptosuite == ECDSA_SD else ""),
        )
    check_new_document(document)
    crv = curve_of(key)
    _check_suite_key(cryptosuite, crv)
    loader = loader or default_loader()
    proof = build_proof_options(
        cryptosuite=cryptosuite,
        verification_method=verification_method,
        proof_purpose=proof_purpose,
        created=created,
        expires=expires,
        challenge=challenge,
        domain=domain,
    )
    doc = unsecured(document, limits)
    hash_data = _rdfc_hash_data(doc, proof, loader, limits, hash_name_for(crv))
    proof["proofValue"] = "z" + base58btc_encode(sign(key, hash_data))
    doc["proof"] = proof
    return doc


def _proof_of(document: Mapping[str, Any]) -> dict[str, Any]:
    """VC-DATA-INTEGRITY 4.4 steps 2-3: exactly one proof map with the required members."""
    if not isinstance(document, Mapping):
        raise MalformedError("malformed_document", "the secured document must be a JSON object")
    proof = document.get("proof")
    if isinstance(proof, list):
        raise MalformedError(
            "proof_set_not_supported", "proof sets/chains (a proof array) are not supported"
        )
    if not isinstance(proof, dict):
        raise MalformedError("proof_missing", "the document has no proof object")
    if proof.get("type") != PROOF_TYPE:
        raise SignatureError(
            "cryptosuite_not_supported", f"proof type {proof.get('type')!r} is not supported"
        )
    suite = proof.get("cryptosuite")
    if suite not in (ECDSA_RDFC, EDDSA_RDFC, ECDSA_SD):
        raise SignatureError("cryptosuite_not_supported", f"cryptosuite {suite!r} is not supported")
    for name in _STRING_MEMBERS:
        if not isinstance(proof.get(name), str) or not proof[name]:
            raise MalformedError("proof_malformed", f"proof.{name} is missing or not a string")
    if "previousProof" in proof:
        raise MalformedError("proof_set_not_supported", "proof chains are not supported")
    for name in ("challenge", "nonce", "id"):
        if name in proof and not isinstance(proof[name], str):
            raise MalformedError("proof_malformed", f"proof.{name} must be a string")
    return proof


def _domains(value: Any) -> set[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(d, str) for d in items):
        raise MalformedError("proof_malformed", "proof.domain must be a string or strings")
    return set(items)


def _check_binding(
    proof: Mapping[str, Any],
    expected_purpose: str | None,
    challenge: str | None,
    domain: str | list[str] | None,
) -> None:
    """VC-DATA-INTEGRITY 4.4 steps 4-6."""
    if expected_purpose is not None and proof["proofPurpose"] != expected_purpose:
        raise SignatureError(
            "proof_purpose_mismatch",
            f"proof purpose {proof['proofPurpose']!r}, expected {expected_purpose!r}",
        )
    if domain is not None:
        expected = _domains(domain)
        if "domain" not in proof or _domains(proof["domain"]) != expected:
            raise HolderBindingError("domain_mismatch", "proof domain does not match")
    elif "domain" in proof:
        _domains(proof["domain"])
    if challenge is not None and proof.get("challenge") != challenge:
        raise HolderBindingError("challenge_mismatch", "proof challenge does not match")


def _check_times(
    document: Mapping[str, Any], proof: Mapping[str, Any], now: float, leeway: int
) -> datetime | None:
    """``created`` not in the future, ``expires`` not passed (VC-DATA-INTEGRITY 2.1), and the
    document's ``validFrom``/``validUntil`` window (VC-DATA-MODEL-2.0 4.9)."""
    created = parse_datetime(proof["created"], "proof.created") if "created" in proof else None
    if created is not None and created.timestamp() > now + leeway:
        raise ValidityError("created_in_future", "the proof was created in the future")
    if "expires" in proof:
        expires = parse_datetime(proof["expires"], "proof.expires")
        if expires.timestamp() < now - leeway:
            raise ValidityError("proof_expired", "the proof has expired")
    if "validFrom" in document:
        vf = parse_datetime(document["validFrom"], "validFrom")
        if vf.timestamp() > now + leeway:
            raise ValidityError("not_yet_valid", "the credential is not valid yet")
    if "validUntil" in document:
        vu = parse_datetime(document["validUntil"], "validUntil")
        if vu.timestamp() < now - leeway:
            raise ValidityError("expired", "the credential has expired")
    return created


def verify_proof(
    document: Mapping[str, Any],
    *,
    resolve_key: KeyResolver,
    expected_purpose: str | None = "assertionMethod",
    challenge: str | None = None,
    domain: str | list[str] | None = None,
    now: float | datetime | None = None,
    leeway: int = 60,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
    expected_context: Sequence[str] | None = None,
) -> VerifiedProof:
    """Verify the single Data Integrity proof of ``document`` (VC-DATA-INTEGRITY 4.4).

    Dispatches on ``proof.cryptosuite``: ``ecdsa-rdfc-2019`` (VC-DI-ECDSA 3.2.2),
    ``eddsa-rdfc-2022`` (VC-DI-EDDSA 3.2.2) and ``ecdsa-sd-2023`` (derived proofs,
    VC-DI-ECDSA 3.6.7; base proofs are verified too, see :class:`VerifiedProof`).

    Args:
        resolve_key: maps ``proof.verificationMethod`` to the public :class:`Key`; it may raise
            :class:`~blauweknop.TrustError`, which passes through unchanged.
        expected_purpose: required ``proofPurpose`` (``None``: any).
        challenge, domain: when given they must match the proof's (``HolderBindingError``
            ``challenge_mismatch`` / ``domain_mismatch``).
        now: verification time (Unix seconds or aware datetime); default the current time.
        leeway: clock skew allowance in seconds for the time checks.
        expected_context: when given, the document's ``@context`` must be exactly this list
            (pin it per credential type: an extra allowed context could add terms).

    After the proof checks, the document and the proof must each be exactly in the compact
    form of their signed RDF statements (:func:`~._jsonld.check_compact_form`): the
    returned ``document`` holds only members bound to the signature, so a caller may read
    its JSON members (``validFrom``, ``credentialStatus``, claims) as signed.

    Raises:
        SignatureError: ``signature_invalid``, ``cryptosuite_not_supported``,
            ``proof_purpose_mismatch``, ``key_invalid``.
        ContextError / MalformedError: structure, contexts, terms, proof value encoding;
            ``not_compact_form`` for a document or proof that is not its own compact form.
        DisclosureError: ecdsa-sd-2023 disclosure problems (``signature_count_mismatch``...).
        HolderBindingError, ValidityError: binding and time checks.

    >>> from blauweknop import Key, TrustError
    >>> k = Key.generate("ES256")
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...        "credentialSubject": {"id": "urn:example:subject"}}
    >>> signed = add_proof(doc, k, cryptosuite="ecdsa-rdfc-2019",
    ...                    verification_method="urn:example:issuer#k")
    >>> keys = {"urn:example:issuer#k": k.public()}
    >>> def resolve(vm):
    ...     if vm not in keys:
    ...         raise TrustError("untrusted_issuer", vm)
    ...     return keys[vm]
    >>> verify_proof(signed, resolve_key=resolve).verification_method
    'urn:example:issuer#k'
    """
    return _verify(
        document,
        resolve_key=resolve_key,
        expected_purpose=expected_purpose,
        challenge=challenge,
        domain=domain,
        now=now,
        leeway=leeway,
        loader=loader,
        limits=limits,
        max_bytes=None,
        expected_context=expected_context,
    )


def _verify(document: Mapping[str, Any], **kwargs: Any) -> VerifiedProof:
    with reusing_walks():
        return _verify_in_scope(document, **kwargs)


def _verify_in_scope(
    document: Mapping[str, Any],
    *,
    resolve_key: KeyResolver,
    expected_purpose: str | None,
    challenge: str | None,
    domain: str | list[str] | None,
    now: float | datetime | None,
    leeway: int,
    loader: OfflineLoader | None,
    limits: Limits,
    max_bytes: int | None,
    expected_context: Sequence[str] | None = None,
    check_form: bool = True,
) -> VerifiedProof:
    check_document(document, limits, max_bytes)
    proof = _proof_of(document)
    _check_binding(proof, expected_purpose, challenge, domain)
    loader = loader or default_loader()
    ts = to_timestamp(now)
    key = resolve_key(proof["verificationMethod"])
    if not isinstance(key, Key):
        raise SignatureError("key_invalid", "the key resolver did not return a Key")
    suite = proof["cryptosuite"]
    _check_suite_key(suite, key.crv)
    doc = unsecured(document, limits, max_bytes, checked=True)
    is_base = False
    if suite == ECDSA_SD:
        doc, is_base = verify_sd(doc, proof, key, loader, limits)
    else:
        try:
            signature = multibase_decode(proof["proofValue"], allowed="z")
        except MalformedError as e:
            raise MalformedError("proof_value_malformed", e.message) from e
        hash_data = _rdfc_hash_data(doc, proof, loader, limits, hash_name_for(key.crv))
        key.verify(hash_data, signature)
    # What was verified is the RDF dataset; hand out only JSON that is bound to it.
    # (A presentation's credentials are checked one by one when their own proofs are.)
    if check_form:
        check_compact_form(
            doc,
            loader,
            limits,
            expected_context=None if expected_context is None else list(expected_context),
        )
    proof_config = {k: v for k, v in proof.items() if k != "proofValue"}
    proof_config["@context"] = doc["@context"]
    check_compact_form(proof_config, loader, limits)
    created = _check_times(doc, proof, ts, leeway)
    return VerifiedProof(
        cryptosuite=suite,
        verification_method=proof["verificationMethod"],
        purpose=proof["proofPurpose"],
        created=created,
        document=doc,
        is_base_proof=is_base,
    )
