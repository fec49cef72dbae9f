"""Keys: ES256 (P-256, default), ES384 (P-384, Data Integrity only) and EdDSA (Ed25519).

Keys are JWKs on disk and :class:`Key` objects in memory. ``kid`` is the RFC 7638 JWK
thumbprint. Private key files are written ``0600`` atomically and refused when other users
can read them. ``repr`` never shows private material.

Example:
    >>> k = Key.generate("ES256")
    >>> k.alg, k.has_private
    ('ES256', True)
    >>> pub = Key.from_jwk(k.public_jwk())
    >>> pub.verify(b"msg", k.sign(b"msg"))
    >>> pub.kid == k.kid
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ._codec import b64u_decode, b64u_encode, canonical_json, parse_json_object
from ._errors import MalformedError, SignatureError, StorageError
from ._files import atomic_write

__all__ = ["ALLOWED_JWS_ALGS", "Key", "Signer", "did_jwk", "key_from_did_jwk"]

#: JOSE algorithms accepted for credentials, key binding, trust and status lists.
ALLOWED_JWS_ALGS: frozenset[str] = frozenset({"ES256", "EdDSA"})

_CURVES: dict[str, tuple[ec.EllipticCurve, str, int, Any]] = {
    # crv: (curve, alg, coordinate size, hash)
    "P-256": (ec.SECP256R1(), "ES256", 32, hashes.SHA256()),
    "P-384": (ec.SECP384R1(), "ES384", 48, hashes.SHA384()),
}
_ALG_TO_CRV = {"ES256": "P-256", "ES384": "P-384", "EdDSA": "Ed25519"}
# ECDSA algorithm objects are immutable: build them once, not per signature.
_ECDSA = {crv: ec.ECDSA(h) for crv, (_, _, _, h) in _CURVES.items()}
_ECDSA_DETERMINISTIC = {
    crv: ec.ECDSA(h, deterministic_signing=True) for crv, (_, _, _, h) in _CURVES.items()
}


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign for an issuer or holder: a :class:`Key`, or an HSM adapter.

    ``sign`` returns the JOSE signature form (raw ``r||s`` for ECDSA, 64 bytes for Ed25519).
    """

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str: ...

    def public_jwk(self) -> dict[str, str]: ...

    def sign(self, data: bytes) -> bytes: ...


class Key:
    """A P-256, P-384 or Ed25519 key, private or public only. Construct with the class methods."""

    __slots__ = ("_kid", "_priv", "_pub", "_pub_jwk", "alg", "crv")

    def __init__(self, crv: str, priv: Any | None, pub: Any) -> None:
        self.crv = crv
        self.alg = _CURVES[crv][1] if crv in _CURVES else "EdDSA"
        self._priv = priv
        self._pub = pub
        self._pub_jwk = self._make_public_jwk()
        self._kid = _thumbprint(self._pub_jwk)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def generate(cls, alg: str = "ES256") -> Key:
        """Generate a fresh key for ``alg`` (``ES256``, ``ES384`` or ``EdDSA``).

        >>> Key.generate("EdDSA").crv
        'Ed25519'
        """
        crv = _ALG_TO_CRV.get(alg)
        if crv is None:
            raise SignatureError("algorithm_not_allowed", f"cannot generate a key for {alg!r}")
        if crv == "Ed25519":
            priv: Any = ed25519.Ed25519PrivateKey.generate()
        else:
            priv = ec.generate_private_key(_CURVES[crv][0])
        return cls(crv, priv, priv.public_key())

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> Key:
        """Load a public or private JWK. Extra members (``kid``, ``use``, ``key_ops``, ``alg``,
        ``ext``...) are accepted as other tools write them; the key itself is checked strictly
        (known curve, point on the curve, canonical base64url). A key restricted to other
        purposes (``use`` other than ``sig``, ``key_ops`` without ``sign``/``verify``;
        RFC 7517 sections 4.2-4.3) is refused: every key here signs or verifies.

        >>> Key.from_jwk({"kty": "oct", "k": "AA"})
        Traceback (most recent call last):
        ...
        blauweknop._errors.SignatureError: key_invalid: unsupported key type 'oct'

        Public JWKs whose members are all strings (the usual ``cnf.jwk`` or trust-list key)
        are parsed once and kept in a small LRU cache keyed by their exact members, so a
        verifier that sees the same holder or issuer key again skips the point validation.
        Private JWKs are never cached.
        """
        if type(jwk) is dict and "d" not in jwk and all(type(v) is str for v in jwk.values()):
            return _public_key_from_members(frozenset(jwk.items()))
        return cls._parse_jwk(jwk)

    @classmethod
    def _parse_jwk(cls, jwk: Mapping[str, Any]) -> Key:
        if not isinstance(jwk, Mapping):
            raise SignatureError("key_invalid", "a JWK must be a JSON object")
        if "use" in jwk and jwk["use"] != "sig":
            raise SignatureError("key_invalid", f"JWK use {jwk['use']!r} is not for signatures")
        ops = jwk.get("key_ops", ["sign", "verify"])
        if not isinstance(ops, list) or not {"sign", "verify"}.intersection(
            op for op in ops if isinstance(op, str)
        ):
            raise SignatureError("key_invalid", f"JWK key_ops {ops!r} allow no signing use")
        kty = jwk.get("kty")
        crv = jwk.get("crv")
        try:
            if kty == "EC" and crv in _CURVES:
                curve, alg, size, _ = _CURVES[crv]
                if "alg" in jwk and jwk["alg"] != alg:
                    raise SignatureError(
                        "key_invalid", f"JWK alg {jwk['alg']!r} does not fit {crv}"
                    )
                x = _coord(jwk, "x", size)
                y = _coord(jwk, "y", size)
                pub: Any = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
                priv: Any = None
                if "d" in jwk:
                    d = _coord(jwk, "d", size)
                    priv = ec.derive_private_key(d, curve)
                    if priv.public_key().public_numbers() != pub.public_numbers():
                        raise SignatureError("key_invalid", "JWK private part does not match x/y")
                return cls(crv, priv, pub)
            if kty == "OKP" and crv == "Ed25519":
                if "alg" in jwk and jwk["alg"] not in ("EdDSA", "Ed25519"):
                    raise SignatureError(
                        "key_invalid", f"JWK alg {jwk['alg']!r} does not fit Ed25519"
                    )
                xb = _raw(jwk, "x", 32)
                pub = ed25519.Ed25519PublicKey.from_public_bytes(xb)
                priv = None
                if "d" in jwk:
                    priv = ed25519.Ed25519PrivateKey.from_private_bytes(_raw(jwk, "d", 32))
                    if priv.public_key().public_bytes_raw() != xb:
                        raise SignatureError("key_invalid", "JWK private part does not match x")
                return cls("Ed25519", priv, pub)
        except SignatureError:
            raise
        except (ValueError, TypeError, MalformedError) as e:
            raise SignatureError("key_invalid", f"invalid {kty}/{crv} key: {e}") from e
        raise SignatureError(
            "key_invalid", f"unsupported key type {kty!r}" + (f"/{crv!r}" if crv else "")
        )

    @classmethod
    def from_public_bytes(cls, crv: str, data: bytes) -> Key:
        """Load a public key from raw bytes: SEC1 (compressed or not) for EC, 32 for Ed25519."""
        try:
            if crv == "Ed25519":
                return cls(crv, None, ed25519.Ed25519PublicKey.from_public_bytes(data))
            if crv in _CURVES:
                pub = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[crv][0], data)
                return cls(crv, None, pub)
        except ValueError as e:
            raise SignatureError("key_invalid", f"invalid {crv} public key bytes") from e
        raise SignatureError("key_invalid", f"unsupported curve {crv!r}")

    @classmethod
    def from_private_bytes(cls, crv: str, data: bytes) -> Key:
        """Load a private key from its raw scalar (EC) or 32-byte seed (Ed25519)."""
        try:
            if crv == "Ed25519":
                priv: Any = ed25519.Ed25519PrivateKey.from_private_bytes(data)
            elif crv in _CURVES:
                priv = ec.derive_private_key(int.from_bytes(data, "big"), _CURVES[crv][0])
            else:
                raise SignatureError("key_invalid", f"unsupported curve {crv!r}")
        except ValueError as e:
            raise SignatureError("key_invalid", f"invalid {crv} private key bytes") from e
        return cls(crv, priv, priv.public_key())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Key:
        """Load a JWK file. A file holding a private key must not be readable by group or others.

        Raises :class:`StorageError` (``key_file_unreadable``, ``key_file_permissions``) or
        :class:`SignatureError` (``key_invalid``).
        """
        p = Path(path)
        try:
            data = p.read_bytes()
            mode = p.stat().st_mode
        except OSError as e:
            raise StorageError(
                "key_file_unreadable", f"cannot read key file {p}: {e.strerror}"
            ) from e
        jwk = parse_json_object(data, what=f"key file {p}")
        if "d" in jwk and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise StorageError(
                "key_file_permissions",
                f"private key file {p} is accessible by other users (mode {oct(mode & 0o777)}); "
                f"run: chmod 600 {p}",
            )
        return cls.from_jwk(jwk)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the key as a JWK file: private keys with mode 0600, atomically. Refuses to
        replace an existing file unless ``overwrite`` (so no key is ever lost by accident)."""
        p = Path(path)
        if p.exists() and not overwrite:
            raise StorageError("file_exists", f"{p} exists; refusing to overwrite a key")
        jwk = self.private_jwk() if self.has_private else self.public_jwk()
        atomic_write(
            p,
            (json.dumps(jwk, indent=2) + "\n").encode(),
            mode=0o600 if self.has_private else 0o644,
        )

    # -- properties ---------------------------------------------------------------------
    @property
    def kid(self) -> str:
        """RFC 7638 JWK SHA-256 thumbprint (base64url)."""
        return self._kid

    @property
    def has_private(self) -> bool:
        """Whether this object can sign."""
        return self._priv is not None

    @property
    def public_key(self) -> Any:
        """The ``cryptography`` public key object."""
        return self._pub

    def _make_public_jwk(self) -> dict[str, str]:
        if self.crv == "Ed25519":
            return {"kty": "OKP", "crv": "Ed25519", "x": b64u_encode(self._pub.public_bytes_raw())}
        size = _CURVES[self.crv][2]
        n = self._pub.public_numbers()
        return {
            "kty": "EC",
            "crv": self.crv,
            "x": b64u_encode(n.x.to_bytes(size, "big")),
            "y": b64u_encode(n.y.to_bytes(size, "big")),
        }

    def public_jwk(self, *, with_kid: bool = True) -> dict[str, str]:
        """Public JWK, with ``kid`` and ``alg`` unless ``with_kid=False`` (bare RFC 7638)."""
        jwk = dict(self._pub_jwk)
        if with_kid:
            jwk["kid"] = self._kid
            jwk["alg"] = self.alg
        return jwk

    def private_jwk(self) -> dict[str, str]:
        """Private JWK. Only for writing key files; never log it."""
        if self._priv is None:
            raise SignatureError("key_invalid", "this is a public key")
        jwk = self.public_jwk()
        if self.crv == "Ed25519":
            d = self._priv.private_bytes_raw()
        else:
            d = self._priv.private_numbers().private_value.to_bytes(_CURVES[self.crv][2], "big")
        jwk["d"] = b64u_encode(d)
        return jwk

    def public_bytes(self, *, compressed: bool = True) -> bytes:
        """Raw public key: SEC1 (compressed by default) for EC, 32 bytes for Ed25519."""
        if self.crv == "Ed25519":
            return bytes(self._pub.public_bytes_raw())
        fmt = (
            serialization.PublicFormat.CompressedPoint
            if compressed
            else serialization.PublicFormat.UncompressedPoint
        )
        return bytes(self._pub.public_bytes(serialization.Encoding.X962, fmt))

    def private_bytes(self) -> bytes:
        """Raw private scalar (EC) or seed (Ed25519)."""
        if self._priv is None:
            raise SignatureError("key_invalid", "this is a public key")
        if self.crv == "Ed25519":
            return bytes(self._priv.private_bytes_raw())
        return bytes(
            self._priv.private_numbers().private_value.to_bytes(_CURVES[self.crv][2], "big")
        )

    def public(self) -> Key:
        """The public half as its own key object."""
        return Key(self.crv, None, self._pub)

    # -- operations ---------------------------------------------------------------------
    def sign(self, data: bytes, *, deterministic: bool = False) -> bytes:
        """Sign ``data``; ECDSA returns raw ``r||s`` (JOSE form), Ed25519 64 bytes.

        ``deterministic`` selects RFC 6979 nonces (used to reproduce the W3C vectors).
        """
        if self._priv is None:
            raise SignatureError("key_invalid", "cannot sign with a public key")
        if self.crv == "Ed25519":
            return bytes(self._priv.sign(data))
        size = _CURVES[self.crv][2]
        algo = (_ECDSA_DETERMINISTIC if deterministic else _ECDSA)[self.crv]
        r, s = decode_dss_signature(self._priv.sign(data, algo))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(self, data: bytes, signature: bytes) -> None:
        """Verify a raw (``r||s`` / Ed25519) signature; raises ``signature_invalid``.

        DER-encoded ECDSA signatures and wrong lengths are refused (JOSE requires raw form).
        """
        try:
            if self.crv == "Ed25519":
                if len(signature) != 64:
                    raise SignatureError("signature_invalid", "Ed25519 signature must be 64 bytes")
                self._pub.verify(signature, data)
                return
            size = _CURVES[self.crv][2]
            if len(signature) != 2 * size:
                raise SignatureError(
                    "signature_invalid", f"ECDSA signature must be {2 * size} bytes (raw r||s)"
                )
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            # r, s in [1, n-1] is checked by OpenSSL; encode_dss_signature refuses negatives only.
            self._pub.verify(encode_dss_signature(r, s), data, _ECDSA[self.crv])
        except InvalidSignature as e:
            raise SignatureError("signature_invalid", "signature does not verify") from e

    def __repr__(self) -> str:
        kind = "private" if self._priv is not None else "public"
        return f"Key(alg={self.alg!r}, kid={self._kid!r}, {kind})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._pub_jwk == self._pub_jwk

    def __hash__(self) -> int:
        return hash(self._kid)


@functools.lru_cache(maxsize=512)
def _public_key_from_members(members: frozenset[tuple[str, str]]) -> Key:
    """:meth:`Key.from_jwk` for a public JWK given as its (all-string) members; failures are
    raised, not cached. A hit returns the same immutable-in-practice :class:`Key` object."""
    return Key._parse_jwk(dict(members))


def _raw(jwk: Mapping[str, Any], name: str, size: int) -> bytes:
    v = jwk.get(name)
    if not isinstance(v, str):
        raise SignatureError("key_invalid", f"JWK member {name!r} missing or not a string")
    raw = b64u_decode(v, what=f"JWK member {name!r}")
    if len(raw) != size:
        raise SignatureError("key_invalid", f"JWK member {name!r} must be {size} bytes")
    return raw


def _coord(jwk: Mapping[str, Any], name: str, size: int) -> int:
    return int.from_bytes(_raw(jwk, name, size), "big")


def _thumbprint(pub_jwk: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    members = ("crv", "kty", "x", "y") if pub_jwk["kty"] == "EC" else ("crv", "kty", "x")
    return b64u_encode(hashlib.sha256(canonical_json({m: pub_jwk[m] for m in members})).digest())


def did_jwk(key: Key) -> str:
    """The ``did:jwk`` identifier of a public key (no resolution needed: the key is the id).

    >>> k = Key.generate()
    >>> key_from_did_jwk(did_jwk(k)) == k
    True
    """
    return "did:jwk:" + b64u_encode(canonical_json(key.public_jwk(with_kid=False)))


def key_from_did_jwk(did: str) -> Key:
    """Decode a ``did:jwk`` (optionally with a ``#0`` fragment) into a public :class:`Key`."""
    if not isinstance(did, str) or not did.startswith("did:jwk:"):
        raise SignatureError("key_invalid", "not a did:jwk identifier")
    body = did[len("did:jwk:") :].split("#", 1)[0]
    jwk = parse_json_object(b64u_decode(body, what="did:jwk"), what="did:jwk")
    if "d" in jwk:
        raise SignatureError("key_invalid", "did:jwk must not contain private key material")
    return Key.from_jwk(jwk)
