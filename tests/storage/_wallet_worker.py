"""Subprocess helper for the wallet-store fault tests: it writes, the test kills it.

Run as ``python _wallet_worker.py MODE DIRECTORY ...``. Every mode prints ``ready`` once the
wallet is open and then one line per durable step, flushed, so the parent knows what was
acknowledged before it sent SIGKILL.

Modes:
    hold DIR PASS                       keep the wallet open (locked) until stdin closes
    puts DIR PASS START                 transactions of 3 records, i = START, START+1, ...:
                                        prints ``committed i`` after each
    toggle DIR PASS_A PASS_B            change the passphrase A -> B -> A ...: prints ``now X``
    crash DIR PASS OP FUNC NTH WHEN     run OP (``put`` or ``rekey``) once, SIGKILL-ing this
                                        process just ``before`` or ``after`` the NTH call of
                                        ``os.FUNC`` made during OP
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from typing import Any

from blauweknop._wallet_store import WalletStore

PARTS = ("a", "b", "c")


def record_value(i: int, part: str) -> dict[str, Any]:
    """The deterministic ~3 KB value of part ``part`` of transaction ``i``."""
    pad = hashlib.sha256(f"{i}/{part}".encode()).hexdigest() * 48
    return {"i": i, "part": part, "token": pad, "meta": {"issuer": "https://gemeente.example"}}


def _say(line: str) -> None:
    print(line, flush=True)


def _hold(directory: str, passphrase: str) -> None:
    with WalletStore.open(directory, passphrase=passphrase):
        _say("ready")
        sys.stdin.read()


def _puts(directory: str, passphrase: str, start: int) -> None:
    store = WalletStore.open(directory, passphrase=passphrase)
    _say("ready")
    i = start
    while True:
        with store.transaction():
            for part in PARTS:
                store.put("credential", f"r{i}-{part}", record_value(i, part))
        _say(f"committed {i}")
        i += 1


def _toggle(directory: str, pass_a: str, pass_b: str) -> None:
    try:
        store, current = WalletStore.open(directory, passphrase=pass_a), "A"
    except Exception:  # noqa: BLE001 - whichever passphrase works is the current one
        store, current = WalletStore.open(directory, passphrase=pass_b), "B"
    _say(f"ready {current}")
    while True:
        current = "B" if current == "A" else "A"
        store.change_passphrase(pass_b if current == "B" else pass_a)
        _say(f"now {current}")


def _crash(directory: str, passphrase: str, op: str, func: str, nth: int, when: str) -> None:
    store = WalletStore.open(directory, passphrase=passphrase)
    real = getattr(os, func)
    calls = 0

    def trap(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if calls == nth and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(os, func, trap)
    if op == "put":
        store.put("credential", "new", record_value(-1, "new"))
    else:
        store.change_passphrase(passphrase + "-new")
    setattr(os, func, real)
    _say(f"survived {calls}")


def main(argv: list[str]) -> None:
    mode, directory, *rest = argv
    if mode == "hold":
        _hold(directory, rest[0])
    elif mode == "puts":
        _puts(directory, rest[0], int(rest[1]))
    elif mode == "toggle":
        _toggle(directory, rest[0], rest[1])
    elif mode == "crash":
        _crash(directory, rest[0], rest[1], rest[2], int(rest[3]), rest[4])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
