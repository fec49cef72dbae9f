"""Envelope encryption of the wallet, and the bounds on key derivation.

A random 256-bit data-encryption key (DEK) encrypts the state with AES-256-GCM. The DEK is
wrapped (AES-256-GCM) by a key-encryption key (KEK) derived from a passphrase with scrypt, or
from a raw 32-byte key from the app (the phone's keystore) with HKDF-SHA256. Changing the
passphrase rewraps the DEK; the encrypted state is copied byte for byte.

**Key-derivation bounds.** A passphrase must pass a minimal policy (see
:func:`check_passphrase`; ``weak_passphrase`` otherwise). scrypt runs with r=8, p=1 and
``MIN_SCRYPT_N`` (2**10) <= n <= ``MAX_SCRYPT_N`` (2**18, 256 MiB, about 1 s): other values are
refused at creation (``invalid_data``, field ``scrypt_n``) and, in a file header, on open
(``wallet_kdf_refused``) before any key derivation runs. The floor of 2**10 exists so tests
can run fast; apps keep the default, 2**15.

**What can be told apart** (GCM cannot distinguish a wrong key from altered input, so the
unkeyed checksum over the key section is there to catch accidental damage):

- a byte changed in the key section (header, salt, wrap nonce, wrapped DEK, checksum):
  ``storage_corrupt`` (checksum mismatch);
- the key section altered *and* its checksum recomputed (deliberate tampering):
  ``wrong_passphrase`` -- indistinguishable from a wrong passphrase, and nothing is decrypted;
- a byte changed in the data section (generation, nonce, ciphertext, tag) or the file cut
  short: ``storage_corrupt`` (the DEK unwrapped, so the key was right and the data is bad);
- a version byte newer than this code, with a valid checksum: ``unsupported_version``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import unicodedata
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .._errors import InvalidDataError, StorageError
from ._format import (
    CHECKSUM_AT,
    DATA_HEADER_LEN,
    FORMAT_VERSION,
    GEN,
    HEADER,
    HEADER_LEN,
    KEY_LEN,
    MAGIC,
    NONCE_LEN,
)

KDF_RAW: Final = 0
KDF_SCRYPT: Final = 1

DEFAULT_SCRYPT_N: Final = 2**15
#: The lowest scrypt cost accepted (2**10, 1 MiB): low enough for fast tests, never for apps.
MIN_SCRYPT_N: Final = 2**10
#: The highest scrypt cost accepted (2**18: 256 MiB and about a second); also bounds the
#: work a tampered file header can demand before a wrong passphrase is reported.
MAX_SCRYPT_N: Final = 2**18
#: A passphrase has at least this many characters (Unicode code points, after NFC).
MIN_PASSPHRASE_CHARS: Final = 8
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_HKDF_INFO: Final = b"blauweknop wallet KEK v1"


@dataclass(frozen=True, slots=True)
class ParsedHeader:
    """The key section's header fields."""

    kdf: int
    log2n: int
    r: int
    p: int
    salt: bytes
    wallet_id: bytes


def unlock_secret(passphrase: str | None, key: bytes | None, *, creating: bool) -> bytes:
    if (passphrase is None) == (key is None):
        raise InvalidDataError(
            "invalid_data", "give exactly one of passphrase or key", field="passphrase"
        )
    if key is not None:
        if not isinstance(key, bytes) or len(key) != KEY_LEN:
            raise InvalidDataError("invalid_data", "key must be 32 bytes", field="key")
        return key
    if not isinstance(passphrase, str):
        raise InvalidDataError("invalid_data", "passphrase must be a string", field="passphrase")
    # NFC, so the same passphrase typed on keyboards that compose differently still unlocks
    normalized = unicodedata.normalize("NFC", passphrase)
    if creating:
        check_passphrase(normalized)
    try:
        return normalized.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidDataError(
            "invalid_data", "passphrase is not valid Unicode", field="passphrase"
        ) from e


def check_passphrase(passphrase: str) -> None:
    """The minimal passphrase policy for a new wallet passphrase; raises
    ``InvalidDataError("weak_passphrase")`` (field ``passphrase``) when it is not met.

    At least ``MIN_PASSPHRASE_CHARS`` (8) characters after Unicode NFC normalization, not only
    white space, at least 3 different characters, and not a plain run such as ``12345678``
    or ``hgfedcba``. (Following NIST SP 800-63B: length and a block of trivial values, no
    composition rules.) A phone app that unlocks with a PIN or biometrics should keep a
    random 32-byte key in the platform keystore and pass it as ``key=`` instead: raw keys
    are not subject to this policy.

    >>> check_passphrase("correct horse")
    >>> try:
    ...     check_passphrase("1")
    ... except InvalidDataError as e:
    ...     e.code, e.field
    ('weak_passphrase', 'passphrase')
    """
    text = unicodedata.normalize("NFC", passphrase)
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if len(text) < MIN_PASSPHRASE_CHARS:
        why = f"has fewer than {MIN_PASSPHRASE_CHARS} characters"
    elif not text.strip():
        why = "is only white space"
    elif len(set(text)) < 3:
        why = "has fewer than 3 different characters"
    elif steps in ({1}, {-1}):
        why = "is a plain run of consecutive characters"
    else:
        return
    raise InvalidDataError(
        "weak_passphrase",
        f"the passphrase {why}; choose a longer one (a few unrelated words work well)",
        field="passphrase",
    )


def check_scrypt_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n & (n - 1):
        raise InvalidDataError("invalid_data", "scrypt_n: not a power of two", field="scrypt_n")
    if not MIN_SCRYPT_N <= n <= MAX_SCRYPT_N:
        raise InvalidDataError(
            "invalid_data",
            f"scrypt_n: must be from 2**{MIN_SCRYPT_N.bit_length() - 1} "
            f"to 2**{MAX_SCRYPT_N.bit_length() - 1}",
            field="scrypt_n",
        )
    return n.bit_length() - 1


def derive_kek(secret: bytes, header: ParsedHeader) -> bytes:
    try:
        if header.kdf == KDF_RAW:
            hkdf = HKDF(hashes.SHA256(), KEY_LEN, header.salt, _HKDF_INFO)
            return hkdf.derive(secret)
        scrypt = Scrypt(header.salt, KEY_LEN, 1 << header.log2n, header.r, header.p)
        return scrypt.derive(secret)
    except (ValueError, MemoryError) as e:
        raise StorageError("storage_error", f"cannot derive the wallet key: {e}") from e


def build_key_section(
    dek: bytes, wallet_id: bytes, secret: bytes, kdf: int, log2n: int
) -> tuple[bytes, ParsedHeader]:
    r, p = (_SCRYPT_R, _SCRYPT_P) if kdf == KDF_SCRYPT else (0, 0)
    header = ParsedHeader(kdf, log2n, r, p, os.urandom(16), wallet_id)
    header_bytes = HEADER.pack(MAGIC, FORMAT_VERSION, kdf, log2n, r, p, header.salt, wallet_id)
    kek = derive_kek(secret, header)
    nonce = os.urandom(NONCE_LEN)
    body = header_bytes + nonce + AESGCM(kek).encrypt(nonce, dek, header_bytes)
    return body + hashlib.sha256(body).digest(), header


def parse_key_section(section: bytes) -> ParsedHeader:
    magic, version, kdf, log2n, r, p, salt, wallet_id = HEADER.unpack_from(section)
    if magic != MAGIC:
        raise StorageError("storage_corrupt", "not a wallet file (bad magic)")
    if hashlib.sha256(section[:CHECKSUM_AT]).digest() != section[CHECKSUM_AT:]:
        raise StorageError("storage_corrupt", "wallet key section is damaged (checksum mismatch)")
    if version > FORMAT_VERSION:
        raise StorageError(
            "unsupported_version",
            f"wallet format {version} is newer than this library ({FORMAT_VERSION})",
        )
    if version != FORMAT_VERSION:
        raise StorageError("storage_corrupt", f"unknown wallet format version {version}")
    if kdf == KDF_RAW:
        ok = log2n == r == p == 0
    elif kdf == KDF_SCRYPT:
        # Bound the work a file header can demand before scrypt runs on it: exactly what
        # create() can write (r=8, p=1, n within bounds), at most 256 MiB and ~1 s.
        ok = (
            MIN_SCRYPT_N.bit_length() - 1 <= log2n <= MAX_SCRYPT_N.bit_length() - 1
            and r == _SCRYPT_R
            and p == _SCRYPT_P
        )
    else:
        raise StorageError("storage_corrupt", f"unknown wallet key-derivation function {kdf}")
    if not ok:
        raise StorageError(
            "wallet_kdf_refused",
            f"the wallet file asks for key derivation outside the accepted bounds "
            f"(log2 n={log2n}, r={r}, p={p}); refused before deriving anything",
        )
    return ParsedHeader(kdf, log2n, r, p, salt, wallet_id)


def data_aad(wallet_id: bytes, generation: int) -> bytes:
    return MAGIC + bytes([FORMAT_VERSION]) + b"data" + wallet_id + GEN.pack(generation)


def unwrap_dek(key_section: bytes, secret: bytes, *, raw_key: bool) -> tuple[ParsedHeader, bytes]:
    """Check the key section and unwrap the data key with ``secret``: ``(header, DEK)``.

    Nothing is derived unless the section is intact and within the KDF bounds; a wrong
    secret (or a tampered section with a recomputed checksum) is ``wrong_passphrase``.
    """
    header = parse_key_section(key_section)
    if raw_key != (header.kdf == KDF_RAW):
        needed = "a raw key" if header.kdf == KDF_RAW else "a passphrase"
        raise StorageError("wrong_passphrase", f"this wallet is unlocked with {needed}")
    kek = derive_kek(secret, header)
    wrap_nonce = key_section[HEADER_LEN : HEADER_LEN + NONCE_LEN]
    wrapped = key_section[HEADER_LEN + NONCE_LEN : CHECKSUM_AT]
    try:
        return header, AESGCM(kek).decrypt(wrap_nonce, wrapped, key_section[:HEADER_LEN])
    except InvalidTag:
        raise StorageError("wrong_passphrase", "wrong passphrase or key") from None


def open_data(dek: AESGCM, wallet_id: bytes, data_section: bytes) -> tuple[int, bytes]:
    """Decrypt a data section (generation, nonce, ciphertext + tag) of this wallet:
    ``(generation, plaintext)``; ``storage_corrupt`` when it fails authentication."""
    (generation,) = GEN.unpack_from(data_section)
    nonce = data_section[GEN.size : DATA_HEADER_LEN]
    try:
        aad = data_aad(wallet_id, generation)
        return generation, dek.decrypt(nonce, data_section[DATA_HEADER_LEN:], aad)
    except InvalidTag:
        raise StorageError(
            "storage_corrupt", "wallet data failed authentication (damaged or altered)"
        ) from None


def seal_data(dek: AESGCM, wallet_id: bytes, generation: int, plaintext: bytes) -> bytes:
    """The data section for ``plaintext`` at ``generation`` (a fresh random nonce)."""
    nonce = os.urandom(NONCE_LEN)
    return (
        GEN.pack(generation)
        + nonce
        + dek.encrypt(nonce, plaintext, data_aad(wallet_id, generation))
    )
