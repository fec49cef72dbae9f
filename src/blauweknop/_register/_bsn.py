"""The keyed BSN hash and its key file: no BSN is ever stored in clear.

A register stores HMAC-SHA256 of a BSN under a per-home secret key, so that credentials can
be found by BSN without the register holding the number itself. The key's own check value
(an HMAC of a fixed label) is recorded at first use, so a register opened with another key
is refused (``bsn_key_mismatch``) instead of silently finding nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

from .._errors import InvalidDataError, StorageError
from .._files import atomic_write

__all__ = [
    "bsn_hash",
    "check_bsn_key",
    "generate_bsn_key",
    "key_check",
    "load_bsn_key",
    "save_bsn_key",
]

_BSN_RE = re.compile(r"^[0-9]{8,9}$")
_KEY_CHECK_LABEL = b"blauweknop register: BSN key check v1"
_MIN_KEY_BYTES = 16


def generate_bsn_key() -> bytes:
    """A fresh 32-byte secret for keyed BSN hashes (one per issuer home).

    >>> len(generate_bsn_key())
    32
    """
    return secrets.token_bytes(32)


def save_bsn_key(path: str | os.PathLike[str], key: bytes) -> None:
    """Write a BSN key file (hex, mode 0600); refuses to replace an existing file, since a
    new key would make every stored hash unfindable."""
    p = Path(path)
    if p.exists():
        raise StorageError("file_exists", f"{p} exists; refusing to overwrite the BSN key")
    check_bsn_key(key)
    atomic_write(p, key.hex().encode() + b"\n", mode=0o600)


def load_bsn_key(path: str | os.PathLike[str]) -> bytes:
    """Read a BSN key file written by :func:`save_bsn_key`; it must not be readable by
    group or others (``key_file_permissions``)."""
    p = Path(path)
    try:
        text = p.read_text("ascii").strip()
        mode = p.stat().st_mode
    except (OSError, UnicodeDecodeError) as e:
        raise StorageError("key_file_unreadable", f"cannot read BSN key file {p}: {e}") from e
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StorageError(
            "key_file_permissions", f"BSN key file {p} is accessible by other users; chmod 600 {p}"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError as e:
        raise StorageError("key_file_unreadable", f"BSN key file {p} is not hex") from e
    if len(key) < _MIN_KEY_BYTES:
        raise StorageError("key_file_unreadable", f"BSN key in {p} is shorter than 16 bytes")
    return key


def check_bsn_key(key: bytes) -> None:
    """Refuse (``invalid_data``) a BSN key shorter than 16 bytes."""
    if len(key) < _MIN_KEY_BYTES:
        raise InvalidDataError("invalid_data", "a BSN key must be at least 16 bytes")


def key_check(key: bytes) -> str:
    """The check value a register records for its BSN key (hex; reveals nothing of it)."""
    check_bsn_key(key)
    return hmac.new(key, _KEY_CHECK_LABEL, hashlib.sha256).hexdigest()


def bsn_hash(key: bytes | None, bsn: object) -> str:
    """HMAC-SHA256 (hex) of a BSN under ``key``; the BSN itself is never stored.

    Accepts 8 or 9 digits (an 8-digit BSN is read with a leading zero), so both spellings
    give the same hash. ``key=None``: ``StorageError("bsn_key_missing")``.

    >>> bsn_hash(bytes(16), "12345678") == bsn_hash(bytes(16), "012345678")
    True
    """
    if key is None:
        raise StorageError("bsn_key_missing", "open the register with bsn_key to use BSNs")
    if not isinstance(bsn, str) or not _BSN_RE.match(bsn.strip()):
        raise InvalidDataError("invalid_data", "a BSN is 8 or 9 digits", field="bsn")
    normalized = bsn.strip().zfill(9)
    return hmac.new(key, b"bsn:" + normalized.encode(), hashlib.sha256).hexdigest()
