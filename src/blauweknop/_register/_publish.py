"""Publishing a register's status lists, and reading back what was published.

A register reports states (:meth:`IssuerRegister.status_entries`); this module turns them
into files with the status package's public encoders only -- :class:`StatusList` and
:func:`sign_status_list_token` for the IETF Token Status List, :class:`BitstringStatusList`
and :func:`build_bitstring_status_list_credential` for the W3C Bitstring Status List -- so the
two standards' bit orders are implemented once, in :mod:`blauweknop._status`.
"""

from __future__ import annotations

import builtins
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._errors import BlauweKnopError, StorageError
from .._files import atomic_write, read_small_regular_file, safe_output_path
from .._jws import parse_compact
from .._keys import Key, Signer
from .._status import (
    MIN_BITSTRING_ENTRIES,
    STATUS_LIST_JWT_TYP,
    STATUS_LIST_MEDIA_TYPE,
    BitstringStatusList,
    StatusList,
    StatusType,
    build_bitstring_status_list_credential,
    sign_status_list_token,
)
from ._protocol import IssuerRegister
from ._records import REGISTER_SEQ_CLAIM, PublishedFile, StatusListInfo

__all__ = ["bitstring_list", "ietf_list", "publish", "read_published"]

#: The Data Integrity signer of a bitstring credential: ``document -> signed document``.
SignDocument = Callable[[dict[str, Any]], dict[str, Any]]
#: Published token files read when fencing or reconciling are at most this large.
_MAX_PUBLISHED_BYTES = 16 * 1024 * 1024
#: The status value each W3C ``statusPurpose`` bitstring shows as 1.
_PURPOSE_STATUS = {"revocation": StatusType.INVALID, "suspension": StatusType.SUSPENDED}


def ietf_list(info: StatusListInfo, entries: Mapping[int, int]) -> StatusList:
    """The IETF Token Status List of ``info`` with ``entries`` (index → status) set."""
    sl = StatusList(info.size, info.bits)
    for idx, value in entries.items():
        sl.set(idx, value)
    return sl


def bitstring_list(
    info: StatusListInfo, entries: Mapping[int, int], purpose: str
) -> BitstringStatusList:
    """The W3C bitstring of ``info`` for ``purpose``: 1 where the status is the purpose's
    (revoked or suspended), at least 131,072 entries (W3C section 2.1)."""
    wanted = _PURPOSE_STATUS[purpose]
    bl = BitstringStatusList(max(info.size, MIN_BITSTRING_ENTRIES))
    for idx, value in entries.items():
        if value == wanted:
            bl.set(idx, 1)
    return bl


def publish(
    register: IssuerRegister,
    signer: Signer,
    issuer_id: str,
    out_dir: str | os.PathLike[str],
    now: float,
    ttl: int,
    *,
    valid_for: int = 24 * 3600,
    sign_bitstring: SignDocument | None = None,
    known_keys: Sequence[Key] | None = None,
) -> builtins.list[PublishedFile]:
    """Write the current status of every list in ``register`` to ``out_dir``.

    Per list ``<id>``: ``<id>.jwt`` — the IETF Status List Token (media type
    ``application/statuslist+jwt``), ``sub`` = the list URI, ``exp`` = ``now + valid_for``.
    With ``sign_bitstring`` (the Data Integrity signer, ``document -> signed document``)
    also ``<id>-revocation.json`` and, for 2-bit lists, ``<id>-suspension.json``: W3C
    ``BitstringStatusListCredential``s (``application/vc``) of at least 131,072 entries with
    the same indices. Each file is replaced atomically, so a server never serves half a list.

    Each token carries the register's sequence (claim ``register_seq``). A token already in
    ``out_dir`` signed by one of ``known_keys`` (default: the signer's key) with a higher
    sequence means the register is older than what was published: ``register_rolled_back``,
    and nothing is written.

    Example:
        >>> import tempfile, os
        >>> from blauweknop._keys import Key
        >>> from blauweknop._register import Register
        >>> d = tempfile.mkdtemp()
        >>> reg = Register.open(os.path.join(d, "r.db"), status_base_uri="https://x/s")
        >>> _ = reg.reserve("c1", "DebtStatement", "sd-jwt")
        >>> [f.path.name for f in publish(reg, Key.generate(), "urn:oin:1", d, 0, 3600)]
        ['1.jwt']
        >>> reg.close()
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StorageError("storage_write_failed", f"cannot create {out}: {e}") from e
    lists = register.lists()
    own_keys = list(known_keys) if known_keys is not None else [Key.from_jwk(signer.public_jwk())]
    seen = [p[2] for p in read_published(out, lists, own_keys, issuer_id, what="publishing status")]
    # Never replace a list published by a newer register (a restored backup would un-revoke).
    register.check_fence(at_least=max(seen, default=0))
    seq = register.register_seq
    written: list[PublishedFile] = []
    for info in lists:
        entries = register.status_entries(info.id)
        sl = ietf_list(info, entries)
        token = sign_status_list_token(
            sl,
            uri=info.uri,
            issuer=issuer_id,
            signer=signer,
            now=now,
            ttl=ttl,
            valid_for=valid_for,
            extra_claims={REGISTER_SEQ_CLAIM: seq},
        )
        path = safe_output_path(out, f"{info.id}.jwt")
        atomic_write(path, token.encode("ascii"))
        written.append(
            PublishedFile(
                path=path, uri=info.uri, media_type=STATUS_LIST_MEDIA_TYPE, list_id=info.id
            )
        )
        if sign_bitstring is None:
            continue
        for purpose in info.purposes:
            bl = bitstring_list(info, entries, purpose)
            uri = info.bitstring_uri(purpose)
            doc = build_bitstring_status_list_credential(
                credential_id=uri,
                issuer=issuer_id,
                status_purpose=purpose,
                status_list=bl,
                valid_from=now,
                valid_until=now + valid_for,
                ttl_ms=ttl * 1000,
                sign=sign_bitstring,
            )
            path = safe_output_path(out, f"{info.id}-{purpose}.json")
            atomic_write(path, (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode())
            written.append(
                PublishedFile(path=path, uri=uri, media_type="application/vc", list_id=info.id)
            )
    return written


def read_published(
    directory: str | os.PathLike[str],
    lists: Sequence[StatusListInfo] | None,
    keys: Sequence[Key],
    issuer_id: str,
    *,
    what: str,
) -> builtins.list[tuple[str, StatusList, int]]:
    """The Status List Tokens this issuer published in ``directory``: ``(uri, list,
    register_seq)`` for every ``<n>.jwt`` signed by one of ``keys`` with ``iss`` =
    ``issuer_id``. With ``lists``, only files of those lists are read. A file that is not
    ours (bad signature, other issuer) is skipped: it cannot prove anything about us. A token
    without ``register_seq`` (published before the fence existed) counts as 0.
    """
    d = Path(directory)
    names: list[tuple[str, str | None]]
    if lists is not None:
        names = [(f"{i.id}.jwt", i.uri) for i in lists]
    else:
        try:
            names = [
                (e.name, None)
                for e in sorted(os.scandir(d), key=lambda e: e.name)
                if re.fullmatch(r"[1-9][0-9]{0,5}\.jwt", e.name)
            ]
        except OSError as e:
            raise StorageError("file_unreadable", f"{what}: cannot list {d}: {e.strerror}") from e
    found: list[tuple[str, StatusList, int]] = []
    for name, uri in names:
        p = d / name
        if not p.exists():
            continue
        raw = read_small_regular_file(p, max_bytes=_MAX_PUBLISHED_BYTES, what="published list")
        try:
            parsed = parse_compact(
                raw.decode("ascii").strip(),
                typ=STATUS_LIST_JWT_TYP,
                max_bytes=_MAX_PUBLISHED_BYTES,
                allow_x5c=True,  # our own list; the key comes from `keys`
            )
            for k in keys:
                try:
                    parsed.verify(k)
                    break
                except BlauweKnopError:
                    continue
            else:
                continue
            claims = parsed.payload_json()
            sub = claims.get("sub")
            seq = claims.get(REGISTER_SEQ_CLAIM, 0)
            if claims.get("iss") != issuer_id or not isinstance(sub, str):
                continue
            if uri is not None and sub != uri:
                continue
            if type(seq) is not int or seq < 0:
                continue
            sl = StatusList.from_json(claims.get("status_list") or {})
        except (BlauweKnopError, UnicodeDecodeError, ValueError):
            continue
        found.append((sub, sl, seq))
    return found
