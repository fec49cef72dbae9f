"""Presentation counts taken ahead (``Wallet.present``, issue 18): a crash or a failed write at
each point of a presentation loses no stored credential or key, and never lets a copy of a
single-use batch be presented twice while the wallet still counts another copy as unused.

The crashes are real: a subprocess (``_present_worker.py``) presents from the wallet and kills
itself with SIGKILL before the journal entry is written, after it is written but before its
``fdatasync``, after the sync but before ``present`` returns, or after some presentations
returned (counts taken ahead, never given back). The parent then reopens the wallet and
checks what is stored and what the next presentations pick. In-process, a write or a sync
that raises makes ``present`` raise and count nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scheme import CJIB, Scheme

import blauweknop._wallet_store._journal as journal
from blauweknop import StorageError, Wallet
from blauweknop._wallet import RESERVE_COPIES, RESERVE_USES
from blauweknop._wallet_store import WalletStore
from blauweknop.debt import DebtStatement

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_present_worker.py")
KEY = bytes(range(32))
COPIES = 2 * RESERVE_COPIES + 3
REQUEST = json.loads(
    (ROOT / "examples" / "data" / "requests" / "outstanding-totals.json").read_text()
)


@pytest.fixture
def batch(pilot_scheme: Scheme, tmp_path: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A closed wallet holding one statement as a batch of ``COPIES`` single-use copies (each
    bound to its own holder key); and its stored records by id."""
    home = tmp_path / "wallet"
    wallet = Wallet.create(home, key=KEY)
    keys = wallet.new_holder_keys(COPIES)
    data = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    data["statement_id"] = f"CJIB-CRASH-{tmp_path.name}"
    copies = pilot_scheme.cjib.issue_copies(
        DebtStatement.from_claims(data), holder_jwks=keys, now=pilot_scheme.now
    )
    wallet.add_many([c.text for c in copies], trust_list=pilot_scheme.trust, now=pilot_scheme.now)
    wallet.close()
    with WalletStore.open(home, key=KEY) as store:
        return home, dict(store.items("credential"))


def _run(home: Path, now: float, presents: int, point: str, nth: int) -> list[str]:
    proc = subprocess.run(
        [
            sys.executable,
            str(WORKER),
            str(home),
            KEY.hex(),
            json.dumps(REQUEST),
            repr(now),
            CJIB,
            str(presents),
            point,
            str(nth),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == -9, proc.stderr[-3000:]  # SIGKILL, at the chosen point
    return [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("presented")]


def _stored(home: Path) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    with WalletStore.open(home, key=KEY) as store:
        return dict(store.items("credential")), store.items("holder_key")


def _without_count(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {cid: {k: v for k, v in r.items() if k != "presented"} for cid, r in records.items()}


def _presented_ids(wallet: Wallet, vp: dict[str, list[Any]]) -> list[str]:
    by_jwt = {rec.text.split("~")[0]: cid for cid, rec in wallet._records() if rec.text}
    return [by_jwt[p.split("~")[0]] for ps in vp.values() for p in ps]


@pytest.mark.parametrize(
    ("point", "nth"),
    [
        ("returned", 0),
        ("before_write", 1),
        ("before_sync", 1),
        ("after_sync", 1),
        ("before_write", 2),
        ("before_sync", 2),
        ("after_sync", 2),
    ],
)
def test_a_crash_loses_nothing_stored_and_never_presents_a_copy_twice(
    pilot_scheme: Scheme, batch: tuple[Path, dict[str, dict[str, Any]]], point: str, nth: int
) -> None:
    home, before = batch
    _, keys_before = _stored(home)
    presents = RESERVE_COPIES + 2  # past the first entry's copies: the second entry is written
    child = _run(home, pilot_scheme.now, presents, point, nth)
    if point == "returned":
        assert len(child) == presents
    else:  # killed inside the nth entry's presentation: the ones before it returned
        assert len(child) == (0 if nth == 1 else RESERVE_COPIES)
    assert len(set(child)) == len(child)  # fresh copies remained: each used once
    after, keys_after = _stored(home)
    # nothing stored is lost or changed, but the counts
    assert _without_count(after) == _without_count(before)
    assert keys_after == keys_before
    # no count is lower than the presentations that left the wallet
    made = Counter(child)
    assert all(after[cid].get("presented", 0) >= n for cid, n in made.items())
    unused = sorted(cid for cid, r in after.items() if r.get("presented", 0) == 0)
    assert not set(unused) & set(child)
    # at most one entry's copies are wasted (taken ahead, never presented)
    assert COPIES - len(made) - len(unused) <= RESERVE_COPIES
    # the next presentations pick exactly the copies still counted unused, each once
    with Wallet.open(home, key=KEY) as wallet:
        picked = []
        for n in range(len(unused)):
            vp = wallet.present(REQUEST, nonce=f"after-{n}", audience=CJIB, now=pilot_scheme.now)
            picked += _presented_ids(wallet, vp)
    assert sorted(picked) == unused


def test_presenting_a_batch_takes_copies_ahead_with_one_sync(
    pilot_scheme: Scheme,
    batch: tuple[Path, dict[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home, _ = batch
    syncs = Counter[str]()
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.update(["sync"]), real(fd))[1])
    with Wallet.open(home, key=KEY) as wallet:
        picked = []
        for n in range(COPIES):
            vp = wallet.present(REQUEST, nonce=f"n{n}", audience=CJIB, now=pilot_scheme.now)
            picked += _presented_ids(wallet, vp)
        assert len(set(picked)) == COPIES  # every copy once
        assert syncs["sync"] == -(-COPIES // RESERVE_COPIES)  # one per RESERVE_COPIES copies
        # the batch is used up: the copy presented least (first) is presented again
        vp = wallet.present(REQUEST, nonce="again", audience=CJIB, now=pilot_scheme.now)
        assert _presented_ids(wallet, vp) == [picked[0]]
    # a normal close gives back what was taken ahead: the stored counts are the true ones
    after, _ = _stored(home)
    assert Counter({cid: r.get("presented", 0) for cid, r in after.items()}) == Counter(
        [*picked, picked[0]]
    )


def test_one_credential_is_synced_once_per_reserve_uses_presentations(
    pilot_scheme: Scheme, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "one"
    wallet = Wallet.create(home, key=KEY)
    data = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    data["statement_id"] = "CJIB-ONE-1"
    issued = pilot_scheme.cjib.issue(
        DebtStatement.from_claims(data), holder_jwk=wallet.holder_jwk(), now=pilot_scheme.now
    )
    cid = wallet.add(issued.text, trust_list=pilot_scheme.trust, now=pilot_scheme.now).credential.id
    syncs: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.append(fd), real(fd))[1])
    plan = wallet.plan(REQUEST, now=pilot_scheme.now)
    for n in range(RESERVE_USES + 1):
        wallet.present(plan, nonce=f"n{n}", audience=CJIB, now=pilot_scheme.now)
        stored = wallet._store.get("credential", cid)
        assert stored is not None and stored["presented"] >= n + 1  # durable before return
    assert len(syncs) == 2
    wallet.close()
    assert len(syncs) == 3  # the counts given back
    with WalletStore.open(home, key=KEY) as store:
        assert store.get("credential", cid)["presented"] == RESERVE_USES + 1  # type: ignore[index]


@pytest.mark.parametrize("fails", ["write", "sync"])
def test_a_failed_write_or_sync_presents_nothing_and_counts_nothing(
    pilot_scheme: Scheme,
    batch: tuple[Path, dict[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    fails: str,
) -> None:
    home, before = batch

    def broken(*args: Any) -> None:
        raise OSError(5, "Input/output error")

    wallet = Wallet.open(home, key=KEY)
    first = wallet.present(REQUEST, nonce="ok", audience=CJIB, now=pilot_scheme.now)
    shown = _presented_ids(wallet, first)
    # the copies taken ahead by the first entry are used without writing
    for n in range(RESERVE_COPIES - 1):
        with monkeypatch.context() as m:
            m.setattr(journal, "_write_all", broken)
            m.setattr(os, "fdatasync", broken)
            vp = wallet.present(REQUEST, nonce=f"free{n}", audience=CJIB, now=pilot_scheme.now)
        shown += _presented_ids(wallet, vp)
    # the next one needs an entry: it fails, and nothing is handed out or counted in memory
    with monkeypatch.context() as m:
        if fails == "write":
            m.setattr(journal, "_write_all", broken)
        else:
            m.setattr(os, "fdatasync", broken)
        with pytest.raises(StorageError) as info:
            wallet.present(REQUEST, nonce="fails", audience=CJIB, now=pilot_scheme.now)
        assert info.value.code == "storage_write_failed"
    vp = wallet.present(REQUEST, nonce="retry", audience=CJIB, now=pilot_scheme.now)
    shown += _presented_ids(wallet, vp)
    assert len(set(shown)) == len(shown) == RESERVE_COPIES + 1  # never one copy twice
    wallet.close()
    after, _ = _stored(home)
    assert _without_count(after) == _without_count(before)
    assert {cid for cid, r in after.items() if r.get("presented", 0)} == set(shown)


def test_a_failure_to_give_back_at_close_keeps_the_higher_counts(
    pilot_scheme: Scheme,
    batch: tuple[Path, dict[str, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home, _ = batch
    wallet = Wallet.open(home, key=KEY)
    vp = wallet.present(REQUEST, nonce="n", audience=CJIB, now=pilot_scheme.now)
    [shown] = _presented_ids(wallet, vp)
    with monkeypatch.context() as m:
        m.setattr(os, "fdatasync", lambda fd: (_ for _ in ()).throw(OSError(5, "EIO")))
        wallet.close()  # closes all the same
    assert wallet._store.closed
    after, _ = _stored(home)
    taken = {cid for cid, r in after.items() if r.get("presented", 0)}
    assert shown in taken and len(taken) == RESERVE_COPIES
    assert after[shown]["presented"] == RESERVE_USES


def test_inside_a_store_transaction_the_exact_count_is_staged(
    pilot_scheme: Scheme, batch: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    """A transaction may still be rolled back (taking the stored counts with it), so nothing
    is taken ahead inside one: the staged count is the presentations made."""
    home, _ = batch
    with Wallet.open(home, key=KEY) as wallet:
        with wallet._store.transaction():
            vp = wallet.present(REQUEST, nonce="tx", audience=CJIB, now=pilot_scheme.now)
            [cid] = _presented_ids(wallet, vp)
            counts = {c: r.presented for c, r in wallet._records()}
        assert counts == {c: int(c == cid) for c in counts}
        assert wallet._taken == {}
        vp = wallet.present(REQUEST, nonce="next", audience=CJIB, now=pilot_scheme.now)
        assert _presented_ids(wallet, vp) != [cid]
    after, _ = _stored(home)
    assert after[cid]["presented"] == 1
