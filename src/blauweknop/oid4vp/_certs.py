"""The X.509 side of ``x509_hash`` client identifiers (OpenID4VP 1.0 section 5.9.3).

A thin layer over :mod:`blauweknop._x509`: the chain in the request's ``x5c`` header must lead
to a pinned root, the request is signed by the leaf's key, and the client identifier is
``x509_hash:`` + base64url(SHA-256(DER of the leaf)). The organisation behind the leaf is named
by its SAN URI (its trust-list id, e.g. ``urn:oin:...``) or SAN DNS name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence

from cryptography import x509

from .. import _x509
from .._errors import TrustError
from .._keys import Key

__all__ = [
    "X509_HASH",
    "chain_der",
    "client_id_for",
    "leaf_key",
    "leaf_names",
    "verify_x5c",
]

X509_HASH = "x509_hash:"


def chain_der(chain: Sequence[x509.Certificate]) -> list[str]:
    """The ``x5c`` header value: standard base64 of each DER certificate, leaf first."""
    return _x509.encode_x5c(chain)


def client_id_for(x5c: Sequence[str]) -> str:
    """``x509_hash:<hash of the leaf>`` for an ``x5c`` chain."""
    try:
        der = base64.b64decode(x5c[0], validate=True)
    except (binascii.Error, ValueError, IndexError) as e:
        raise TrustError("x5c_invalid", "x5c[0] is not a base64 certificate") from e
    digest: str = _x509.x509_hash(der)
    return X509_HASH + digest


def verify_x5c(
    x5c: object,
    roots: Sequence[x509.Certificate],
    *,
    now: float,
    revoked: Collection[str] = (),
) -> x509.Certificate:
    """The verified leaf of ``x5c`` (a chain to one of ``roots`` valid at ``now``)."""
    if (
        not isinstance(x5c, list)
        or not x5c
        or len(x5c) > 8
        or not all(isinstance(c, str) and len(c) < 16384 for c in x5c)
    ):
        raise TrustError("x5c_invalid", "x5c must be a non-empty list of base64 certificates")
    if not roots:
        raise TrustError("x5c_invalid", "no pinned root to check the x5c chain against")
    leaf: x509.Certificate = _x509.verify_chain(x5c, roots, now=now, revoked=revoked)
    return leaf


def leaf_key(cert: x509.Certificate) -> Key:
    """The leaf certificate's public key as a :class:`Key`."""
    key: Key = _x509.leaf_public_key(cert)
    return key


def leaf_names(cert: x509.Certificate) -> tuple[str, ...]:
    """SAN URIs and DNS names of a certificate (URIs first)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    dns = san.get_values_for_type(x509.DNSName)
    return (*uris, *dns)
