"""X.509 for the scheme: a small CA run by the scheme authority, certificate chains in the
``x5c`` header (HAIP 1.0), and their validation against pinned roots.

The scheme authority makes a root with :meth:`CertificateAuthority.create` and certifies
issuers' and verifiers' keys with :meth:`CertificateAuthority.issue`; an issuer installs its
chain with ``Issuer.install_certificate``; verifiers and wallets pin the root
(``TrustList.verify(..., x509_roots=...)`` or ``Verifier(..., x509_roots=...)``). Profile,
checks and error codes: ``specs/x509.md``.

Example:
    >>> from blauweknop import Key
    >>> from blauweknop.x509 import CertificateAuthority, verify_chain, x509_hash
    >>> ca = CertificateAuthority.create("Scheme Root", now=1_800_000_000)
    >>> leaf = ca.issue("CJIB", Key.generate(), uris=["https://cjib.example"], now=1_800_000_000)
    >>> verify_chain(ca.x5c(leaf), [ca.certificate], now=1_800_000_100) == leaf
    True
    >>> len(x509_hash(leaf))
    43
"""

from ._x509 import (
    CA_CERTIFICATE_FILE,
    CA_KEY_FILE,
    CERTIFICATE_ROLES,
    MAX_CERTIFICATE_BYTES,
    MAX_CHAIN_LENGTH,
    CertificateAuthority,
    CertifiedSigner,
    certificate_from_pem,
    certificate_to_pem,
    certificates_from_pem,
    decode_x5c,
    encode_x5c,
    leaf_matches_issuer,
    leaf_public_key,
    load_certificates,
    resolve_x5c_key,
    verify_chain,
    x509_hash,
)

__all__ = [
    "CA_CERTIFICATE_FILE",
    "CA_KEY_FILE",
    "CERTIFICATE_ROLES",
    "MAX_CERTIFICATE_BYTES",
    "MAX_CHAIN_LENGTH",
    "CertificateAuthority",
    "CertifiedSigner",
    "certificate_from_pem",
    "certificate_to_pem",
    "certificates_from_pem",
    "decode_x5c",
    "encode_x5c",
    "leaf_matches_issuer",
    "leaf_public_key",
    "load_certificates",
    "resolve_x5c_key",
    "verify_chain",
    "x509_hash",
]
