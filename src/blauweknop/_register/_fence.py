"""The rollback fence: a register's sequence, kept in a small file outside the register.

Every change advances the register's sequence; after each commit the sequence is written
durably to the fence file. A register whose sequence is below its fence is an older copy put
back (a restored backup) and refuses every change (``register_rolled_back``) until it is
reconciled with the last published lists. The file is backend-independent: any register
that can report its sequence can be fenced this way.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._errors import StorageError
from .._files import atomic_write, read_small_regular_file

__all__ = ["read_fence_file", "rolled_back", "write_fence_file"]

_FENCE_VERSION = 1
_MAX_FENCE_BYTES = 4096


def read_fence_file(path: Path) -> int | None:
    """The sequence recorded in the fence file at ``path`` (``None``: none written yet).

    Raises ``StorageError("register_fence_unreadable")`` for a damaged fence file: a
    damaged fence is never taken as "no fence".
    """
    try:
        raw = read_small_regular_file(path, max_bytes=_MAX_FENCE_BYTES, what="register fence")
    except StorageError as e:
        if not path.exists() and not path.is_symlink():
            return None
        raise StorageError(
            "register_fence_unreadable", f"cannot read the register fence: {e.message}"
        ) from e
    try:
        doc = json.loads(raw)
        seq = doc["register_seq"]
        if doc.get("version") != _FENCE_VERSION or type(seq) is not int or seq < 0:
            raise ValueError(seq)
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(
            "register_fence_unreadable",
            f"register fence {path} is damaged; run reconcile to rebuild it",
        ) from e
    return int(seq)


def write_fence_file(path: Path, seq: int, register_name: str) -> None:
    """Record ``seq`` in the fence file at ``path`` (atomically and durably, mode 0600)."""
    doc = {"version": _FENCE_VERSION, "register_seq": seq, "register": register_name}
    atomic_write(path, (json.dumps(doc) + "\n").encode(), mode=0o600)


def rolled_back(register: Path, seq: int, fence: int, what: str) -> StorageError:
    """The error for a register older than its fence: what happened and how to recover."""
    return StorageError(
        "register_rolled_back",
        f"{what}: the register {register} is older than its fence (sequence {seq} < "
        f"{fence}): it was restored from a backup or replaced. Revocations made since may "
        "be missing and status indices could be handed out twice, so nothing is issued "
        "or published until it is reconciled with the last published status lists: "
        "blauweknop reconcile (or rodeknop reconcile) --home HOME --published DIR; "
        "see 'Restoring a backup' in the issuing organisation's guide",
    )
