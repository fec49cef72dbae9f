"""The fence file's memory (register transactions read the fence without opening it while
the file is unchanged) never hides a change of the file: a replaced file, a rewrite by
someone else, a damaged or removed fence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blauweknop._errors import StorageError
from blauweknop._register._fence import (
    _KNOWN,
    fence_record,
    read_fence_file,
    write_fence_file,
)


def _bump_times(path: Path, step: int) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + step))


def test_memory_follows_every_change_of_the_file(tmp_path: Path) -> None:
    fence = tmp_path / "register.fence"
    write_fence_file(fence, 5, "register.db")  # durable: a new file
    assert read_fence_file(fence) == 5
    assert read_fence_file(fence) == 5  # from memory now
    assert str(fence) in _KNOWN
    write_fence_file(fence, 6, "register.db", durable=False)  # in place, remembered
    assert read_fence_file(fence) == 6
    # someone else rewrites it in place (same size, same inode), later in time
    with open(fence, "r+b") as f:
        f.write(fence_record(9, "register.db"))
    _bump_times(fence, 1_000_000)
    assert read_fence_file(fence) == 9
    # a copy put back (a new file)
    copy = tmp_path / "copy"
    copy.write_bytes(fence_record(3, "register.db"))
    copy.replace(fence)
    assert read_fence_file(fence) == 3
    # damaged, then removed
    fence.write_bytes(b"{not json")
    with pytest.raises(StorageError) as e:
        read_fence_file(fence)
    assert e.value.code == "register_fence_unreadable"
    fence.unlink()
    assert read_fence_file(fence) is None


def test_a_symlink_put_in_place_of_a_remembered_fence_is_read_again(tmp_path: Path) -> None:
    fence = tmp_path / "register.fence"
    write_fence_file(fence, 5, "register.db")
    assert read_fence_file(fence) == 5
    target = tmp_path / "elsewhere"
    target.write_bytes(fence_record(1, "register.db"))
    fence.unlink()
    fence.symlink_to(target)
    assert read_fence_file(fence) == 1  # what the file says now, as without the memory
    assert str(fence) not in _KNOWN  # a link is never remembered: read at every call
    target.write_bytes(fence_record(2, "register.db"))
    assert read_fence_file(fence) == 2
