"""A wallet presenting in a subprocess, for the crash tests of ``Wallet.present``
(test_wallet_present_crash.py).

``python _present_worker.py DIR KEY_HEX REQUEST_JSON NOW AUDIENCE PRESENTS POINT NTH``
opens the wallet, presents ``PRESENTS`` times and prints ``presented <credential id>`` (flushed)
after each call returns -- only then could the vp_token have left the wallet. It never
closes the wallet: it kills itself with SIGKILL, either after the last presentation
(``POINT`` ``returned``) or inside the ``NTH`` journal entry a presentation writes:
``before_write`` (the entry never reaches the file: also what a disk that lost an unsynced
write leaves), ``before_sync`` (written, not synced) or ``after_sync`` (synced, the call not yet
returned).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import blauweknop._wallet_store._journal as journal
from blauweknop import Wallet
from blauweknop._wallet_store._journal import MAX_JOURNAL_BYTES


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    directory, key_hex, request, now, audience, presents, point, nth = argv
    wallet = Wallet.open(directory, key=bytes.fromhex(key_hex))
    by_jwt = {rec.text.split("~")[0]: cid for cid, rec in wallet._records() if rec.text}
    entries = 0
    real_write, real_sync = journal._write_all, os.fdatasync
    in_entry = False

    def write(fd: int, data: bytes, offset: int) -> None:
        nonlocal entries, in_entry
        if len(data) != MAX_JOURNAL_BYTES:  # an entry, not the journal's first layout
            entries += 1
            in_entry = entries == int(nth)
            if in_entry and point == "before_write":
                _die()
        real_write(fd, data, offset)

    def sync(fd: int) -> None:
        if in_entry and point == "before_sync":
            _die()
        real_sync(fd)
        if in_entry and point == "after_sync":
            _die()

    journal._write_all = write  # type: ignore[assignment]
    os.fdatasync = sync
    query: Any = json.loads(request)
    for n in range(int(presents)):
        vp = wallet.present(query, nonce=f"crash-{n}", audience=audience, now=float(now))
        for presentations in vp.values():
            for pres in presentations:
                print("presented", by_jwt[pres.split("~")[0]], flush=True)
    _die()


if __name__ == "__main__":
    main(sys.argv[1:])
