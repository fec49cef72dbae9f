"""TEMPORARY stand-in for ``blauweknop._x509`` (built on branch ``x509``) until that branch is
merged: the same names and signatures, the minimum behaviour. Installed by ``conftest.py`` only
when the real module is missing; delete after the merge."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from blauweknop import Key, TrustError


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class CertificateAuthority:
    key: Key
    certificate: x509.Certificate

    @classmethod
    def create(
        cls, name: str, key: Key | None = None, *, valid_days: int = 365, now: float
    ) -> CertificateAuthority:
        key = key or Key.generate()
        t = dt.datetime.fromtimestamp(now, dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(t - dt.timedelta(minutes=5))
            .not_valid_after(t + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key._priv, hashes.SHA256())
        )
        return cls(key, cert)

    def issue(
        self,
        subject_name: str,
        public_key: Key,
        *,
        uris: Sequence[str] = (),
        dns: Sequence[str] = (),
        role: str = "verifier",
        valid_days: int = 365,
        now: float,
    ) -> x509.Certificate:
        t = dt.datetime.fromtimestamp(now, dt.UTC)
        names: list[Any] = [x509.UniformResourceIdentifier(u) for u in uris]
        names += [x509.DNSName(d) for d in dns]
        b = (
            x509.CertificateBuilder()
            .subject_name(_name(subject_name))
            .issuer_name(self.certificate.subject)
            .public_key(public_key.public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(t - dt.timedelta(minutes=5))
            .not_valid_after(t + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if names:
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return b.sign(self.key._priv, hashes.SHA256())


def x509_hash(cert_der: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(cert_der).digest()).rstrip(b"=").decode()


def verify_chain(
    x5c: Sequence[str], roots: Sequence[x509.Certificate], *, now: float, revoked: Any = ()
) -> x509.Certificate:
    if not x5c:
        raise TrustError("x5c_invalid", "empty x5c")
    try:
        chain = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except ValueError as e:
        raise TrustError("x5c_invalid", "bad certificate") from e
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    for c in chain:
        if not c.not_valid_before_utc <= t <= c.not_valid_after_utc:
            raise TrustError("x5c_expired", "certificate outside validity")
    path = [*chain]
    for root in roots:
        if path[-1].issuer == root.subject:
            path.append(root)
            break
    else:
        raise TrustError("x5c_untrusted_root", "chain does not lead to a pinned root")
    for child, parent in itertools.pairwise(path):
        pk = parent.public_key()
        assert isinstance(pk, ec.EllipticCurvePublicKey)
        try:
            pk.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as e:
            raise TrustError("x5c_signature_invalid", "certificate signature") from e
    return chain[0]


def leaf_public_key(cert: x509.Certificate) -> Key:
    der = cert.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    return Key.from_public_bytes("P-256", der)
