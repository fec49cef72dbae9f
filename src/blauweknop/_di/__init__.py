"""W3C Verifiable Credential Data Integrity 1.0 for blauweknop (private package).

Cryptosuites: ``ecdsa-rdfc-2019`` (P-256/SHA-256, P-384/SHA-384), ``eddsa-rdfc-2022`` and
``ecdsa-sd-2023`` (selective disclosure). JSON-LD contexts come only from bundled, hash-pinned
files (:class:`OfflineLoader`); RDF canonicalization is RDFC-1.0 with work and time limits.

API::

    add_proof(document, key, *, cryptosuite, verification_method, ...) -> dict
    add_base_proof_sd(document, key, *, verification_method, mandatory_pointers, ...) -> dict
    derive_proof_sd(signed_document, selective_pointers, ...) -> dict
    verify_proof(document, *, resolve_key, expected_purpose, challenge, domain, now, ...)
        -> VerifiedProof
    sign_presentation(credentials, holder_key, *, challenge, domain, ...) -> dict
    verify_presentation(vp, *, challenge, domain, now, ...) -> list[dict]
    OfflineLoader(allowed=..., extra=...)           # pyld documentLoader, no network

Error codes raised here (classes from :mod:`blauweknop._errors`)::

    ContextError      context_not_allowed, context_pin_mismatch, context_unavailable,
                      undefined_term, relative_iri, data_loss, protected_term_redefinition,
                      jsonld_invalid, canonicalization_limit
    MalformedError    malformed_document, too_large, too_deep, proof_missing,
                      proof_malformed, proof_set_not_supported, proof_value_malformed,
                      malformed_multibase, malformed_datetime, pointer_malformed,
                      not_compact_form, selection_unsupported, invalid_iri, invalid_literal,
                      invalid_rdf, malformed_presentation
    SignatureError    signature_invalid, cryptosuite_not_supported, proof_purpose_mismatch,
                      key_invalid, algorithm_not_allowed
    DisclosureError   pointer_not_found, mandatory_pointer_missing, nothing_disclosed,
                      signature_count_mismatch, label_map_mismatch,
                      mandatory_statement_missing
    HolderBindingError  challenge_mismatch, domain_mismatch, holder_mismatch,
                      holder_key_mismatch, presentation_too_old, proof_created_missing,
                      challenge_missing, domain_missing
    ValidityError     expired, not_yet_valid, proof_expired, created_in_future
    TrustError        whatever ``resolve_key`` raises, unchanged

Callers still decide what a verified proof means: that ``proof.verificationMethod`` belongs
to the credential's ``issuer`` (the resolver sees only the method), that the credential's
``credentialSubject.id`` is the presentation's ``holder``, whether an ``ecdsa-sd-2023``
*base* proof is acceptable (``VerifiedProof.is_base_proof``), and which claims had to be
disclosed.

Example (issuer -> holder -> verifier):
    >>> from blauweknop import Key
    >>> issuer, holder = Key.generate("ES256"), Key.generate("ES256")
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "J. Jansen"}}
    >>> signed = add_base_proof_sd(vc, issuer, verification_method="urn:example:issuer#k",
    ...                            mandatory_pointers=["/issuer"])
    >>> shown = derive_proof_sd(signed, ["/credentialSubject/name"])
    >>> vp = sign_presentation([shown], holder, challenge="nonce-1", domain="creditor")
    >>> [cred] = verify_presentation(vp, challenge="nonce-1", domain="creditor")
    >>> verify_proof(cred, resolve_key=lambda vm: issuer.public()).document[
    ...     "credentialSubject"]["name"]
    'J. Jansen'
"""

from ._loader import (
    BLAUWEKNOP_V1,
    CREDENTIALS_V2,
    PRODUCTION_CONTEXTS,
    VECTOR_CONTEXTS,
    OfflineLoader,
    default_loader,
)
from ._multibase import key_from_multikey, multikey_from_key
from ._presentation import sign_presentation, verify_presentation
from ._proof import KeyResolver, VerifiedProof, add_proof, verify_proof
from ._sd import add_base_proof_sd, derive_proof_sd

__all__ = [
    "BLAUWEKNOP_V1",
    "CREDENTIALS_V2",
    "PRODUCTION_CONTEXTS",
    "VECTOR_CONTEXTS",
    "KeyResolver",
    "OfflineLoader",
    "VerifiedProof",
    "add_base_proof_sd",
    "add_proof",
    "default_loader",
    "derive_proof_sd",
    "key_from_multikey",
    "multikey_from_key",
    "sign_presentation",
    "verify_presentation",
    "verify_proof",
]
