"""X.509 trust beside the JWK trust list: a small scheme CA and ``x5c`` chain validation.

HAIP 1.0 wants issuer keys resolvable from an X.509 chain in the ``x5c`` JOSE header
(RFC 7515 section 4.1.6) and ``x509_hash`` client identifiers (OpenID4VP 1.0 section 5.9.3).
The scheme authority may run a :class:`CertificateAuthority`; issuers and verifiers get
certificates whose SAN names their ``iss`` / client id. :func:`verify_chain` accepts a chain
only when it leads to a pinned root, compared by DER or by signature under the root's key,
never by name alone. No AIA, CRL or OCSP fetching: revocation comes from the trust list.
Profile and checks: ``specs/x509.md``.

Example:
    >>> from blauweknop._keys import Key
    >>> ca = CertificateAuthority.create("Scheme Root", now=1_800_000_000)
    >>> org = Key.generate()
    >>> leaf = ca.issue("CJIB", org, uris=["https://cjib.example"], now=1_800_000_000)
    >>> cert = verify_chain(ca.x5c(leaf), [ca.certificate], now=1_800_000_100)
    >>> leaf_matches_issuer(cert, "https://cjib.example"), leaf_public_key(cert) == org
    (True, True)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import os
import re
import time
import urllib.parse
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtensionOID, NameOID, SignatureAlgorithmOID

from ._codec import b64u_encode
from ._errors import MalformedError, StorageError, TrustError
from ._files import atomic_write
from ._keys import Key, Signer

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

MAX_CHAIN_LENGTH = 5
"""Certificates accepted in one ``x5c`` header (leaf, intermediates, optionally the root)."""
MAX_CERTIFICATE_BYTES = 8 * 1024
"""Size limit of one DER certificate in ``x5c``; ours are well under 1 KiB."""
CERTIFICATE_ROLES = frozenset({"issuer", "verifier", "intermediate"})
"""The ``role`` values :meth:`CertificateAuthority.issue` takes."""
CA_CERTIFICATE_FILE = "ca-cert.pem"
"""The CA certificate (then the certificates above it) in a CA directory."""
CA_KEY_FILE = "ca-key.jwk"
"""The CA's private key (mode 0600) in a CA directory."""

# Critical extensions this module understands and checks; any other critical one is refused
# (RFC 5280 section 4.2): name constraints or policies we do not evaluate must not pass silently.
_UNDERSTOOD_CRITICAL = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    }
)
# Signature algorithm per issuing key type: ES256 (P-256 + SHA-256) and Ed25519 only.
_SIG_FOR_KEY = {
    "P-256": SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    "Ed25519": SignatureAlgorithmOID.ED25519,
}
_DNS_RE = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_B64_RE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_BACKDATE = 60  # seconds: tolerate a verifier clock slightly behind the CA's


def _curve(public_key: Any) -> str | None:
    """``"P-256"``, ``"Ed25519"`` or ``None`` for any other key type."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return "P-256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return None


def _private_key(key: Key) -> Any:
    """The ``cryptography`` private key behind a :class:`Key` (CA keys: P-256 or Ed25519)."""
    if not key.has_private:
        raise MalformedError("ca_key_invalid", "the CA key has no private part")
    if key.crv == "P-256":
        return ec.derive_private_key(int.from_bytes(key.private_bytes(), "big"), ec.SECP256R1())
    if key.crv == "Ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(key.private_bytes())
    raise MalformedError("ca_key_invalid", f"a CA key must be P-256 or Ed25519, not {key.crv}")


def _sign_hash(key: Key) -> hashes.SHA256 | None:
    return None if key.crv == "Ed25519" else hashes.SHA256()


def _time(now: float | None) -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def x509_hash(cert_der: bytes | x509.Certificate) -> str:
    """Base64url (unpadded) SHA-256 of a certificate's DER: the value after the
    ``x509_hash:`` client id prefix (OpenID4VP 1.0 section 5.9.3) and the thumbprint the
    trust list uses to revoke certificates.

    >>> x509_hash(b"")
    '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    der = _der(cert_der) if isinstance(cert_der, x509.Certificate) else bytes(cert_der)
    return b64u_encode(hashlib.sha256(der).digest())


def certificate_to_pem(cert: x509.Certificate) -> str:
    """PEM text of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def certificates_from_pem(data: bytes | str) -> list[x509.Certificate]:
    """All certificates in a PEM bundle (at least one); ``x5c_invalid`` otherwise."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError as e:
        raise TrustError("x5c_invalid", "no valid PEM certificate found") from e
    if not certs:
        raise TrustError("x5c_invalid", "no PEM certificate found")
    return certs


def certificate_from_pem(data: bytes | str) -> x509.Certificate:
    """Exactly one certificate from PEM text."""
    certs = certificates_from_pem(data)
    if len(certs) != 1:
        raise TrustError("x5c_invalid", f"expected one certificate, found {len(certs)}")
    return certs[0]


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Read a PEM file of one or more certificates (e.g. a pinned root)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise StorageError("file_unreadable", f"cannot read {p}: {e.strerror}") from e
    return certificates_from_pem(data)


def encode_x5c(certs: Iterable[x509.Certificate]) -> list[str]:
    """The ``x5c`` header value: standard (not URL-safe) base64 of each DER, leaf first."""
    return [base64.b64encode(_der(c)).decode("ascii") for c in certs]


def decode_x5c(
    x5c: Any, *, max_length: int = MAX_CHAIN_LENGTH, max_bytes: int = MAX_CERTIFICATE_BYTES
) -> list[x509.Certificate]:
    """Parse an ``x5c`` value strictly: a non-empty JSON array of at most ``max_length``
    canonical, padded standard-base64 strings (RFC 7515 section 4.1.6), each a DER
    certificate of at most ``max_bytes``. Anything else raises ``x5c_invalid``."""
    if not isinstance(x5c, list | tuple) or not x5c:
        raise TrustError("x5c_invalid", "x5c must be a non-empty array of certificates")
    if len(x5c) > max_length:
        raise TrustError("x5c_invalid", f"x5c holds more than {max_length} certificates")
    certs = []
    for i, item in enumerate(x5c):
        if not isinstance(item, str):
            raise TrustError("x5c_invalid", f"x5c[{i}] is not a string")
        if len(item) > (max_bytes + 2) // 3 * 4:
            raise TrustError("x5c_invalid", f"x5c[{i}] is larger than {max_bytes} bytes")
        if not item.isascii() or not _B64_RE.match(item) or len(item) % 4:
            raise TrustError("x5c_invalid", f"x5c[{i}] is not padded standard base64")
        try:
            der = base64.b64decode(item, validate=True)
        except binascii.Error as e:
            raise TrustError("x5c_invalid", f"x5c[{i}] is not base64") from e
        # One encoding per certificate: stray bits in the last character are refused.
        if base64.b64encode(der).decode("ascii") != item:
            raise TrustError("x5c_invalid", f"x5c[{i}] is not canonical base64")
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as e:
            raise TrustError("x5c_invalid", f"x5c[{i}] is not a DER certificate") from e
        certs.append(cert)
    return certs


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _check_structure(cert: x509.Certificate, what: str) -> None:
    """Version 3, readable extensions, no critical extension we do not evaluate."""
    try:
        if cert.version is not x509.Version.v3:
            raise TrustError("x5c_invalid", f"{what} is not an X.509 v3 certificate")
        exts = cert.extensions
    except (ValueError, x509.InvalidVersion) as e:
        raise TrustError("x5c_invalid", f"{what} has malformed extensions") from e
    for ext in exts:
        if ext.critical and ext.oid not in _UNDERSTOOD_CRITICAL:
            raise TrustError(
                "x5c_invalid",
                f"{what} has an unsupported critical extension {ext.oid.dotted_string}",
            )


def _check_time(cert: x509.Certificate, when: dt.datetime, what: str) -> None:
    if when < cert.not_valid_before_utc:
        raise TrustError("x5c_not_yet_valid", f"{what} is not valid yet")
    if when > cert.not_valid_after_utc:
        raise TrustError("x5c_expired", f"{what} has expired")


def _check_ca(cert: x509.Certificate, intermediates_below: int, what: str) -> None:
    """``cert`` may sign certificates: CA=true, keyCertSign, and its pathLength (if any)
    allows the ``intermediates_below`` CA certificates between it and the leaf."""
    bc = _basic_constraints(cert)
    if bc is None or not bc.ca:
        raise TrustError("x5c_key_usage", f"{what} signs a certificate but is not a CA")
    ku = _key_usage(cert)
    if ku is None or not ku.key_cert_sign:
        raise TrustError("x5c_key_usage", f"{what} lacks the keyCertSign key usage")
    if bc.path_length is not None and intermediates_below > bc.path_length:
        raise TrustError(
            "x5c_path_length",
            f"{what} allows {bc.path_length} intermediate(s) below it, the chain has "
            f"{intermediates_below}",
        )


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether ``parent``'s key made ``child``'s signature, with an allowed algorithm
    (ECDSA P-256 SHA-256 or Ed25519) and ``child.issuer == parent.subject``."""
    try:
        crv = _curve(parent.public_key())
        if crv is None or child.signature_algorithm_oid != _SIG_FOR_KEY[crv]:
            return False
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def verify_chain(
    x5c: Sequence[str],
    roots: Sequence[x509.Certificate],
    *,
    now: float,
    revoked: Collection[str] = (),
    max_length: int = MAX_CHAIN_LENGTH,
) -> x509.Certificate:
    """Validate an ``x5c`` chain (leaf first) against pinned ``roots`` at time ``now``;
    return the leaf certificate.

    Checks (``specs/x509.md``): strict base64/DER, at most ``max_length`` certificates; the
    leaf is no CA and has the digitalSignature key usage; every link is signed (ES256 or
    EdDSA only) by the next certificate, which must be a CA with keyCertSign whose
    pathLength allows the intermediates below it; the last certificate is a pinned root
    (same DER) or is signed by one (the root's key, not its name, decides); every
    certificate, the root included, is valid at ``now`` and its :func:`x509_hash` is not in
    ``revoked``; no unknown critical extension. Nothing is fetched.

    Raises :class:`TrustError` with ``x5c_invalid``, ``x5c_untrusted_root``,
    ``x5c_expired``, ``x5c_not_yet_valid``, ``x5c_revoked``, ``x5c_key_usage`` or
    ``x5c_path_length``.
    """
    certs = decode_x5c(x5c, max_length=max_length)
    try:
        return _verify_certs(certs, roots, _time(now), revoked)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        # cryptography parses some fields lazily (keys, extensions): malformed ones end here.
        raise TrustError("x5c_invalid", "a certificate in the chain is malformed") from e


def _verify_certs(
    certs: list[x509.Certificate],
    roots: Sequence[x509.Certificate],
    when: dt.datetime,
    revoked: Collection[str],
) -> x509.Certificate:
    leaf = certs[0]
    for i, cert in enumerate(certs):
        _check_structure(cert, f"x5c[{i}]")
    bc = _basic_constraints(leaf)
    if bc is not None and bc.ca:
        raise TrustError("x5c_key_usage", "the leaf certificate is a CA certificate")
    ku = _key_usage(leaf)
    if ku is None or not ku.digital_signature:
        raise TrustError("x5c_key_usage", "the leaf certificate lacks digitalSignature")
    if _curve(leaf.public_key()) is None:
        raise TrustError("x5c_invalid", "the leaf key is neither P-256 nor Ed25519")
    for i in range(len(certs) - 1):
        if not _signed_by(certs[i], certs[i + 1]):
            raise TrustError("x5c_invalid", f"x5c[{i}] is not signed by x5c[{i + 1}]")
        # certs[i + 1] has the i certificates x5c[1..i] between it and the leaf.
        _check_ca(certs[i + 1], i, f"x5c[{i + 1}]")
    path = list(certs)
    top = certs[-1]
    pinned = {_der(r): r for r in roots}
    if _der(top) not in pinned:
        anchor = next((r for r in roots if _signed_by(top, r)), None)
        if anchor is None:
            raise TrustError(
                "x5c_untrusted_root", "the certificate chain does not lead to a pinned root"
            )
        _check_structure(anchor, "the pinned root")
        _check_ca(anchor, len(certs) - 1, "the pinned root")
        path.append(anchor)
    for i, cert in enumerate(path):
        _check_time(cert, when, f"x5c[{i}]" if i < len(certs) else "the pinned root")
    if revoked:
        for i, cert in enumerate(path):
            if x509_hash(cert) in revoked:
                raise TrustError(
                    "x5c_revoked",
                    f"{f'x5c[{i}]' if i < len(certs) else 'the pinned root'} is revoked "
                    "by the trust list",
                )
    return leaf


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def leaf_matches_issuer(cert: x509.Certificate, iss: str) -> bool:
    """Whether the leaf certificate names ``iss`` (SD-JWT VC, "issuer verification key
    discovery", the SAN rule of draft section 3.5).

    An ``https`` URL matches a SAN uniformResourceIdentifier equal to it, or a SAN dNSName
    equal (ASCII case-insensitively) to the URL's host; a ``dns:`` name (RFC 4501) matches a
    dNSName; any other identifier (``urn:oin:...``) only an equal SAN URI. No wildcards.

    >>> leaf_matches_issuer.__name__
    'leaf_matches_issuer'
    """
    if not isinstance(iss, str) or not iss:
        return False
    san = _san(cert)
    if san is None:
        return False
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if iss in uris:
        return True
    dns_names = {d.lower() for d in san.get_values_for_type(x509.DNSName)}
    host: str | None = None
    if iss.startswith("https://"):
        try:
            parts = urllib.parse.urlsplit(iss)
            host = parts.hostname
        except ValueError:
            return False
        if parts.username is not None or parts.password is not None:
            return False
    elif iss.startswith("dns:"):
        host = iss[4:]
    if not host or not _DNS_RE.match(host) or _is_ip(host):
        return False
    return host.lower() in dns_names


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def leaf_public_key(cert: x509.Certificate) -> Key:
    """The leaf's public key as a :class:`Key` (P-256 or Ed25519; else ``x5c_invalid``)."""
    try:
        pub = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as e:
        raise TrustError("x5c_invalid", "the certificate key cannot be read") from e
    crv = _curve(pub)
    if crv is None:
        raise TrustError("x5c_invalid", "the certificate key is neither P-256 nor Ed25519")
    return Key(crv, None, pub)


def resolve_x5c_key(
    x5c: Sequence[str],
    iss: str,
    roots: Sequence[x509.Certificate],
    *,
    now: float,
    revoked: Collection[str] = (),
) -> Key:
    """:func:`verify_chain`, then the leaf must name ``iss`` (``x5c_name_mismatch``); the
    leaf's public key is returned for checking the token's signature."""
    leaf = verify_chain(x5c, roots, now=now, revoked=revoked)
    if not leaf_matches_issuer(leaf, iss):
        raise TrustError(
            "x5c_name_mismatch", f"the leaf certificate does not name the issuer {iss!r}"
        )
    return leaf_public_key(leaf)


def _name(common_name: str) -> x509.Name:
    if not isinstance(common_name, str) or not common_name.strip() or len(common_name) > 64:
        raise MalformedError("certificate_invalid", "a certificate name must be 1-64 characters")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(now: float | None, valid_days: int, what: str) -> tuple[dt.datetime, dt.datetime]:
    if (
        isinstance(valid_days, bool)
        or not isinstance(valid_days, int)
        or not 1 <= valid_days <= 10 * 366
    ):
        raise MalformedError("certificate_invalid", f"{what}: valid_days must be 1-3660")
    start = _time(now).replace(microsecond=0) - dt.timedelta(seconds=_BACKDATE)
    return start, start + dt.timedelta(days=valid_days)


class CertificateAuthority:
    """A CA of the scheme: a CA certificate with its private key, and the certificates above
    it (none for a root) that go into the ``x5c`` of what it signs.

    Example:
        >>> root = CertificateAuthority.create("Scheme Root", now=1_800_000_000)
        >>> sub = root.intermediate("Scheme Issuing CA", now=1_800_000_000)
        >>> leaf = sub.issue("DUO", Key.generate("EdDSA"), dns=["duo.example"], now=1_800_000_000)
        >>> len(sub.x5c(leaf))
        2
    """

    __slots__ = ("_chain", "_key", "certificate")

    def __init__(
        self,
        certificate: x509.Certificate,
        key: Key,
        *,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        bc = _basic_constraints(certificate)
        if bc is None or not bc.ca:
            raise MalformedError("ca_key_invalid", "the CA certificate is not a CA certificate")
        pub = certificate.public_key()
        if _curve(pub) is None or leaf_public_key(certificate) != key.public():
            raise MalformedError("ca_key_invalid", "the CA key does not match its certificate")
        _private_key(key)
        self.certificate = certificate
        self._key = key
        self._chain = tuple(chain)

    @property
    def key(self) -> Key:
        """The CA's signing key (private)."""
        return self._key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Certificates that follow this CA's certificate in an ``x5c`` (root excluded)."""
        return self._chain

    @property
    def is_root(self) -> bool:
        """Whether this CA's certificate is self-signed (a root)."""
        return self.certificate.issuer == self.certificate.subject and _signed_by(
            self.certificate, self.certificate
        )

    @classmethod
    def create(
        cls,
        name: str,
        key: Key | None = None,
        *,
        valid_days: int = 3650,
        path_length: int | None = 1,
        now: float | None = None,
    ) -> CertificateAuthority:
        """A self-signed root: CN ``name``, basicConstraints CA with ``path_length``
        (intermediates allowed below it), keyUsage keyCertSign + cRLSign. ``key`` defaults to
        a fresh P-256 key; Ed25519 is allowed."""
        key = key if key is not None else Key.generate("ES256")
        priv = _private_key(key)
        if path_length is not None and (isinstance(path_length, bool) or not 0 <= path_length <= 4):
            raise MalformedError("certificate_invalid", "path_length must be 0-4 or None")
        subject = _name(name)
        start, end = _validity(now, valid_days, "root")
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(ski, critical=False)
            .sign(priv, _sign_hash(key))
        )
        return cls(cert, key)

    def issue(
        self,
        subject_name: str,
        public_key: Key,
        *,
        uris: Sequence[str] = (),
        dns: Sequence[str] = (),
        role: str = "issuer",
        valid_days: int = 365,
        path_length: int = 0,
        now: float | None = None,
    ) -> x509.Certificate:
        """Issue a certificate for ``public_key`` (P-256 or Ed25519).

        ``role`` ``issuer`` or ``verifier``: a leaf (CA=false, keyUsage digitalSignature)
        naming the organisation in SAN URIs (its ``iss`` / client id) and DNS names; at least
        one is required. ``intermediate``: a CA certificate (keyCertSign + cRLSign,
        ``path_length``) for :meth:`intermediate`. The validity never outlasts this CA's.
        """
        if role not in CERTIFICATE_ROLES:
            raise MalformedError(
                "certificate_invalid", f"role must be one of {sorted(CERTIFICATE_ROLES)}"
            )
        if public_key.crv not in ("P-256", "Ed25519"):
            raise MalformedError("certificate_invalid", "the subject key must be P-256 or Ed25519")
        start, end = _validity(now, valid_days, subject_name)
        end = min(end, self.certificate.not_valid_after_utc)
        if end <= start:
            raise MalformedError("certificate_invalid", "the CA certificate has expired")
        names: list[x509.GeneralName] = []
        for uri in uris:
            if (
                not isinstance(uri, str)
                or not uri
                or any(c.isspace() for c in uri)
                or ":" not in uri
            ):
                raise MalformedError(
                    "certificate_invalid", f"SAN URI {uri!r} is not an absolute URI"
                )
            names.append(x509.UniformResourceIdentifier(uri))
        for name in dns:
            if not isinstance(name, str) or not _DNS_RE.match(name) or _is_ip(name):
                raise MalformedError(
                    "certificate_invalid", f"SAN DNS name {name!r} is not a host name"
                )
            names.append(x509.DNSName(name.lower()))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key.public_key), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key),
                critical=False,
            )
        )
        if role == "intermediate":
            if isinstance(path_length, bool) or not 0 <= path_length <= 3:
                raise MalformedError("certificate_invalid", "path_length must be 0-3")
            builder = builder.add_extension(
                x509.BasicConstraints(ca=True, path_length=path_length), critical=True
            ).add_extension(_ca_key_usage(), critical=True)
        else:
            if not names:
                raise MalformedError(
                    "certificate_invalid", "a leaf certificate needs a SAN URI or DNS name"
                )
            builder = builder.add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=True
            ).add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(_private_key(self._key), _sign_hash(self._key))

    def intermediate(
        self,
        name: str,
        key: Key | None = None,
        *,
        valid_days: int = 1825,
        path_length: int = 0,
        now: float | None = None,
    ) -> CertificateAuthority:
        """A subordinate CA signed by this one (its ``x5c`` tail includes this CA unless root)."""
        key = key if key is not None else Key.generate("ES256")
        cert = self.issue(
            name,
            key.public(),
            role="intermediate",
            valid_days=valid_days,
            path_length=path_length,
            now=now,
        )
        above = () if self.is_root else (self.certificate, *self._chain)
        return CertificateAuthority(cert, key, chain=above)

    @property
    def issuing_chain(self) -> tuple[x509.Certificate, ...]:
        """What follows a certificate this CA issued in an ``x5c``: this CA's certificate and
        those above it, the root left out (HAIP 1.0: the trust anchor is not sent)."""
        return () if self.is_root else (self.certificate, *self._chain)

    def x5c(self, leaf: x509.Certificate) -> list[str]:
        """The ``x5c`` header for a certificate this CA issued: the leaf, then
        :attr:`issuing_chain`."""
        return encode_x5c([leaf, *self.issuing_chain])

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write ``ca-cert.pem`` (this certificate, then :attr:`chain`) and ``ca-key.jwk``
        (mode 0600) into ``directory`` (created 0700). Refuses to overwrite a CA."""
        d = Path(directory)
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (d / CA_KEY_FILE).exists() or (d / CA_CERTIFICATE_FILE).exists():
            raise StorageError("file_exists", f"{d} already holds a CA; refusing to overwrite")
        self._key.save(d / CA_KEY_FILE)
        pem = "".join(certificate_to_pem(c) for c in (self.certificate, *self._chain))
        atomic_write(d / CA_CERTIFICATE_FILE, pem.encode("ascii"), mode=0o644)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> CertificateAuthority:
        """Load a CA written by :meth:`save` (the key file must be 0600)."""
        d = Path(directory)
        certs = load_certificates(d / CA_CERTIFICATE_FILE)
        key = Key.load(d / CA_KEY_FILE)
        return cls(certs[0], key, chain=certs[1:])

    def __repr__(self) -> str:
        return f"CertificateAuthority({self.certificate.subject.rfc4514_string()!r})"


class CertifiedSigner:
    """A :class:`~blauweknop._keys.Signer` with its certificate chain: every JWS it signs
    carries the chain in the ``x5c`` header (leaf first, root left out; HAIP 1.0).

    The leaf must be a certificate for the signer's own key (``ca_key_invalid`` otherwise),
    so a token never names a chain it was not signed under.

    Example:
        >>> ca = CertificateAuthority.create("Root", now=1_800_000_000)
        >>> k = Key.generate()
        >>> s = CertifiedSigner(k, [ca.issue("Org", k, dns=["org.example"], now=1_800_000_000)])
        >>> s.kid == k.kid, len(s.x5c)
        (True, 1)
    """

    __slots__ = ("_signer", "certificates", "x5c")

    def __init__(self, signer: Signer, chain: Sequence[x509.Certificate]) -> None:
        if not chain:
            raise MalformedError("ca_key_invalid", "a certificate chain needs a leaf")
        if leaf_public_key(chain[0]) != Key.from_jwk(signer.public_jwk()):
            raise MalformedError(
                "ca_key_invalid", "the leaf certificate is not for the signing key"
            )
        self._signer = signer
        self.certificates: tuple[x509.Certificate, ...] = tuple(chain)
        self.x5c: tuple[str, ...] = tuple(encode_x5c(chain))

    @property
    def alg(self) -> str:
        """The wrapped signer's algorithm."""
        return self._signer.alg

    @property
    def kid(self) -> str:
        """The wrapped signer's ``kid``."""
        return self._signer.kid

    @property
    def inner(self) -> Signer:
        """The wrapped signer (a :class:`Key` or an HSM adapter)."""
        return self._signer

    @property
    def leaf(self) -> x509.Certificate:
        """The signer's own certificate."""
        return self.certificates[0]

    def public_jwk(self) -> dict[str, str]:
        """The wrapped signer's public JWK."""
        return self._signer.public_jwk()

    def sign(self, data: bytes) -> bytes:
        """Sign with the wrapped signer."""
        return self._signer.sign(data)

    def __repr__(self) -> str:
        return f"CertifiedSigner(kid={self.kid!r}, certificates={len(self.certificates)})"


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
