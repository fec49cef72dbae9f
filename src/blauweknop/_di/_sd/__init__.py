"""``ecdsa-sd-2023``: selective disclosure with ECDSA (VC-DI-ECDSA sections 3.4 - 3.6).

The issuer signs every non-mandatory N-Quad with a proof-scoped P-256 key and binds that key,
the proof configuration and the mandatory N-Quads with one base signature (3.6.5). Blank node
labels are replaced by HMAC-derived labels so they do not leak the document's shape (3.4.4).
The holder reveals a subset chosen with JSON Pointers and forwards only the matching
signatures (3.6.6); the verifier recomputes the N-Quads of what it received and checks every
signature (3.6.7).

One module per job:

* :mod:`._values` — proof values: CBOR serialization and strict parsing (3.5.1 - 3.5.3,
  3.5.5 - 3.5.8);
* :mod:`._group` — skolemization, HMAC blank node labels, canonicalize and group
  (3.4.4 - 3.4.17);
* :mod:`._base` — base proof, issuer side (3.6.1 - 3.6.5);
* :mod:`._derive` — derived proof, holder side (3.5.4, 3.6.6);
* :mod:`._verify` — verification of derived and base proofs (3.5.9, 3.6.7).

Example:
    >>> from blauweknop import Key
    >>> issuer = Key.generate("ES256")
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...        "credentialSubject": {"id": "urn:example:subject", "name": "Jan"}}
    >>> base = add_base_proof_sd(doc, issuer, verification_method="urn:example:issuer#k",
    ...                          mandatory_pointers=["/issuer"])
    >>> derived = derive_proof_sd(base, ["/credentialSubject/id"])
    >>> "name" in derived["credentialSubject"]
    False
    >>> from blauweknop._di import verify_proof
    >>> verify_proof(derived, resolve_key=lambda vm: issuer.public()).document["issuer"]
    'urn:example:issuer'
"""

from ._base import BaseTransform, add_base_proof_sd, base_transform
from ._derive import DisclosureData, create_disclosure_data, derive_proof_sd
from ._group import _Skolem as _Skolem  # importable here as before the split
from ._group import canonicalize_and_group
from ._values import (
    BASE_HEADER,
    DERIVED_HEADER,
    BaseProofValue,
    DerivedProofValue,
    parse_base_proof_value,
    parse_derived_proof_value,
    serialize_base_proof_value,
    serialize_derived_proof_value,
)
from ._verify import VerifyData, create_verify_data, verify_sd

__all__ = [
    "BASE_HEADER",
    "DERIVED_HEADER",
    "BaseProofValue",
    "BaseTransform",
    "DerivedProofValue",
    "DisclosureData",
    "VerifyData",
    "add_base_proof_sd",
    "base_transform",
    "canonicalize_and_group",
    "create_disclosure_data",
    "create_verify_data",
    "derive_proof_sd",
    "parse_base_proof_value",
    "parse_derived_proof_value",
    "serialize_base_proof_value",
    "serialize_derived_proof_value",
    "verify_sd",
]
