"""SD-JWT (RFC 9901): issuance, holder presentation with key binding, and verification.

Issuance marks selectively disclosable values with :class:`SD`; object properties and array
elements may be marked, and marks may nest (recursive disclosures). The verifier enforces
RFC 9901 section 7 in full; each violation raises a typed error with its own code.

One module per job:

* :mod:`._disclosures` — disclosures, salts, digests and decoys (section 4.2);
* :mod:`._issue` — :func:`issue_sd_jwt` (sections 4.1, 4.2);
* :mod:`._present` — :class:`SDJWT` parsing, selection and the KB-JWT (sections 4, 4.3);
* :mod:`._verify` — :func:`verify_sd_jwt` and key binding (sections 7.1, 7.3).

Example:
    >>> from blauweknop._keys import Key
    >>> issuer, holder = Key.generate(), Key.generate()
    >>> sd = issue_sd_jwt({"iss": "urn:x", "name": SD("Jan"), "age": SD(40)}, issuer,
    ...                   holder_jwk=holder.public_jwk())
    >>> vp = SDJWT.parse(sd).present([["name"]], holder_key=holder, nonce="n1", audience="urn:a")
    >>> res = verify_sd_jwt(vp, issuer_key=issuer,
    ...                     key_binding=KeyBindingPolicy(nonce="n1", audience="urn:a"))
    >>> res.claims["name"], "age" in res.claims
    ('Jan', False)
"""

# Names outside ``__all__`` stay importable here as before the split ("X as X": re-exported).
from ._disclosures import _PLAIN as _PLAIN
from ._disclosures import _RESERVED_NAMES as _RESERVED_NAMES
from ._disclosures import SD, Disclosure
from ._disclosures import ClaimPath as ClaimPath
from ._disclosures import _decoy_digest as _decoy_digest
from ._disclosures import _default_salt as _default_salt
from ._disclosures import _digest as _digest
from ._disclosures import _disclosure_json as _disclosure_json
from ._disclosures import _encode_disclosure as _encode_disclosure
from ._disclosures import _Entropy as _Entropy
from ._disclosures import _parse_disclosure as _parse_disclosure
from ._issue import issue_sd_jwt
from ._present import SDJWT
from ._present import make_kb_jwt as make_kb_jwt
from ._present import sd_hash as sd_hash
from ._verify import NO_KEY_BINDING as NO_KEY_BINDING
from ._verify import KeyBindingPolicy, VerifiedSDJWT, verify_sd_jwt
from ._verify import _process as _process
from ._verify import _verify_kb as _verify_kb
from ._verify import check_time_claims as check_time_claims

__all__ = [
    "SD",
    "SDJWT",
    "Disclosure",
    "KeyBindingPolicy",
    "VerifiedSDJWT",
    "issue_sd_jwt",
    "verify_sd_jwt",
]
