"""The wallet file: its layout, the encrypted state's plaintext format, and reading it.

**File format, version 1** (integers big-endian)::

    off  len  field
      0    4  magic b"BKWL"
      4    1  format version (1)
      5    1  kdf: 0 = raw key + HKDF-SHA256, 1 = scrypt
      6    1  scrypt log2(n) (0 for raw)
      7    1  scrypt r       (0 for raw)
      8    1  scrypt p       (0 for raw)
      9   16  salt
     25   16  wallet id (random; binds the data section to this wallet)
     41   12  wrap nonce
     53   48  wrapped DEK (32 + 16-byte tag); AAD = bytes 0..41
    101   32  SHA-256 of bytes 0..101 (key-section checksum, see :mod:`._envelope`)
    133    8  generation (incremented by every commit)
    141   12  data nonce
    153    *  encrypted state + 16-byte tag;
              AAD = magic + version + b"data" + wallet id + generation

The plaintext state is strict JSON, ``{"records": {kind: {id: value-as-JSON-text}}}``, padded
with spaces to a multiple of 4 KiB; record kinds and ids are inside the ciphertext, so they
never show on disk. A commit replaces the file with one
:func:`~blauweknop._files.atomic_write` (temporary file, fsync, ``os.replace``, fsync of the
directory), so a crash leaves the previous or the new file, never a mix.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import struct
from pathlib import Path
from typing import Any, Final

from .._codec import check_depth, parse_json_object
from .._errors import InvalidDataError, MalformedError, StorageError
from .._limits import DEFAULT_LIMITS

WALLET_FILE: Final = "wallet.bkw"

FORMAT_VERSION: Final = 1
MAGIC: Final = b"BKWL"

HEADER = struct.Struct(">4sBBBBB16s16s")  # magic, version, kdf, log2n, r, p, salt, wallet id
HEADER_LEN: Final = HEADER.size  # 41
NONCE_LEN: Final = 12
KEY_LEN: Final = 32
TAG_LEN: Final = 16
WRAPPED_LEN: Final = KEY_LEN + TAG_LEN
CHECKSUM_AT: Final = HEADER_LEN + NONCE_LEN + WRAPPED_LEN  # 101
KEY_SECTION_LEN: Final = CHECKSUM_AT + 32  # 133
GEN = struct.Struct(">Q")
DATA_HEADER_LEN: Final = GEN.size + NONCE_LEN  # generation + nonce
MIN_FILE_LEN: Final = KEY_SECTION_LEN + DATA_HEADER_LEN + TAG_LEN
MAX_FILE_BYTES: Final = 256 * 1024 * 1024

_MAX_RECORD_BYTES: Final = 1024 * 1024
_MAX_NAME_BYTES: Final = 512
_PAD_TO: Final = 4096
_TEMP_PREFIX: Final = f".{WALLET_FILE}."  # what atomic_write names its temporary files

Records = dict[str, dict[str, str]]


# -- the state inside the ciphertext ------------------------------------------------------
def encode_state(records: Records) -> bytes:
    """The plaintext of ``records``: canonical JSON padded with spaces to 4 KiB."""
    plaintext = json.dumps(
        {"records": records}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    return plaintext + b" " * (-len(plaintext) % _PAD_TO)


def parse_state(plaintext: bytes) -> Records:
    """The records of a decrypted state; ``storage_corrupt`` for anything unexpected."""
    try:
        state = parse_json_object(plaintext, what="wallet state", max_bytes=len(plaintext) + 1)
    except MalformedError as e:
        raise StorageError("storage_corrupt", f"wallet state is not valid: {e.message}") from e
    records = state.get("records")
    if set(state) != {"records"} or not isinstance(records, dict):
        raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
    for group in records.values():
        if not isinstance(group, dict) or not group:
            raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
        for text in group.values():
            if not isinstance(text, str):
                raise StorageError("storage_corrupt", "wallet state has an unexpected shape")
    return records


def clone(records: Records) -> Records:
    """A copy of ``records`` whose groups can be changed without touching the original."""
    return {kind: dict(group) for kind, group in records.items()}


# -- records ------------------------------------------------------------------------------
def check_name(name: object, what: str) -> None:
    """A record kind or id: a non-empty string of at most 512 UTF-8 bytes."""
    if not isinstance(name, str) or not name:
        raise InvalidDataError("invalid_data", f"{what} must be a non-empty string", field=what)
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidDataError("invalid_data", f"{what} is not valid Unicode", field=what) from e
    if size > _MAX_NAME_BYTES:
        raise InvalidDataError(
            "invalid_data", f"{what} is longer than {_MAX_NAME_BYTES} bytes", field=what
        )


def encode_value(value: object) -> str:
    """A record value as JSON text; refuses what would not come back unchanged."""
    if not isinstance(value, dict):
        raise InvalidDataError("invalid_data", "value must be a JSON object (dict)", field="value")
    try:
        check_depth(value, DEFAULT_LIMITS.max_json_depth, "value")
        # key order is kept: get() returns the value as it was put
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(text.encode("utf-8"))  # refuses lone surrogates
    except MalformedError as e:
        raise InvalidDataError("invalid_data", e.message, field="value") from e
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidDataError(
            "invalid_data", f"value is not plain JSON: {e}", field="value"
        ) from e
    if size > _MAX_RECORD_BYTES:
        raise InvalidDataError(
            "too_large", f"value is larger than {_MAX_RECORD_BYTES} bytes", field="value"
        )
    # json.dumps quietly turns tuples into lists and int keys into strings; refuse, so what
    # comes back from get() is exactly what was put
    if json.loads(text) != value:
        raise InvalidDataError(
            "invalid_data", "value does not survive a JSON round trip unchanged", field="value"
        )
    return text


def with_int_member(text: str, member: str, value: int) -> str:
    """The record text ``text`` (made by :func:`encode_value`) with the top-level integer
    ``member`` set to ``value``: decoded, changed and encoded again as :func:`encode_value`
    would, except when ``member`` is the record's last member or absent, where only the
    digits at the end are written (the text of a record that changes only a counter).

    >>> with_int_member('{"a":[1,{"presented":2}],"presented":9}', "presented", 10)
    '{"a":[1,{"presented":2}],"presented":10}'
    >>> with_int_member('{"a":"presented"}', "presented", 1)
    '{"a":"presented","presented":1}'
    """
    if type(value) is not int:
        raise InvalidDataError("invalid_data", f"{member} must be an integer", field="value")
    key = json.dumps(member, ensure_ascii=False)
    end = text.rfind(f"{key}:")
    out: str | None = None
    if end > 0 and text[end - 1] in ",{":
        # ``,"member":<digits>}`` at the very end: the last ``}`` closes the top-level object
        # and a ``"`` after a ``,`` or ``{`` opens a string, so this is its last member
        digits = text[end + len(key) + 1 : -1]
        if text.endswith("}") and digits.lstrip("-").isdigit() and digits.isascii():
            out = f"{text[: end + len(key) + 1]}{value}}}"
    elif end < 0 and text.endswith("}"):  # not named anywhere, so absent
        out = f"{text[:-1]}{',' if text != '{}' else ''}{key}:{value}}}"
    if out is None:
        obj = decode_value(text)
        obj[member] = value
        return encode_value(obj)
    if len(out.encode("utf-8")) > _MAX_RECORD_BYTES:
        raise InvalidDataError(
            "too_large", f"value is larger than {_MAX_RECORD_BYTES} bytes", field="value"
        )
    return out


def decode_value(text: str) -> dict[str, Any]:
    """A record value from its JSON text (made by :func:`encode_value`)."""
    # The text is authenticated by the data tag, so the fast parser suffices; a fresh object
    # per call means callers cannot alias the store.
    value: dict[str, Any] = json.loads(text)
    return value


# -- the file on disk ---------------------------------------------------------------------
def read_wallet_file(path: Path) -> bytes:
    """The wallet file's bytes: a regular file (no link), private to its owner, bounded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise StorageError("wallet_not_found", f"no wallet in {path.parent}") from None
    except OSError as e:
        raise StorageError("storage_error", f"cannot open {path}: {e.strerror or e}") from e
    with io.FileIO(fd, "r", closefd=True) as f:
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StorageError("storage_corrupt", f"{path} is not a regular file")
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StorageError(
                    "wallet_permissions",
                    f"{path} is accessible by other users (mode {oct(st.st_mode & 0o777)}); "
                    f"run: chmod 600 {path}",
                )
            data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise StorageError("storage_error", f"cannot read {path}: {e.strerror or e}") from e
    if len(data) > MAX_FILE_BYTES:
        raise StorageError("too_large", f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return data


def read_head(path: Path, length: int) -> bytes:
    """The first ``length`` bytes of the wallet file (``b""`` when it cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with io.FileIO(fd, "r", closefd=True) as f:
            return f.read(length)
    except OSError:
        return b""


def remove_stale_temp_files(d: Path) -> None:
    """Delete temporary files left by a write that crashed (they hold only ciphertext)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(d):
            if entry.name.startswith(_TEMP_PREFIX) and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()
