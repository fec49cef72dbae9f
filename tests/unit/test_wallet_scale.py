"""The wallet at scale (issue 16): importing is linear (duplicates and superseded statements
are found through an index, not by decoding every stored record), and the indexed import and
planning give what the plain scans give (the wallet with ``_indexed = False``), on random
sequences of imports with duplicates, newer and older statements, removals and presentations.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from strategies import suite_settings

import blauweknop._wallet_store as wallet_store
from blauweknop import DEBT_STATEMENT_VCT, Key, TrustList, Wallet, build_trust_list, get_profile
from blauweknop._sdjwt_vc import issue_sd_jwt_vc

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
NOW = int(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC).timestamp())
HOLDER = bytes(range(32))
CREDITORS = 3


def _creditor(i: int) -> str:
    return f"urn:oin:{90000000000000000000 + i:020d}"


@functools.cache
def _world() -> tuple[list[Key], TrustList]:
    keys = [Key.generate() for _ in range(CREDITORS)]
    anchor = Key.generate()
    entries = [
        {
            "id": _creditor(i),
            "name": f"Schuldeiser {i:03d}",
            "roles": ["creditor"],
            "jwks": {"keys": [k.public_jwk()]},
        }
        for i, k in enumerate(keys)
    ]
    trust = TrustList.verify(build_trust_list(entries, anchor, now=NOW), anchor.public(), now=NOW)
    return keys, trust


@functools.cache
def _statement(creditor: int, week: int, serial: int, holder: str) -> str:
    """A debt statement of ``creditor`` with a balance ``week`` weeks before the pilot day."""
    keys, _ = _world()
    data = json.loads((DATA / "debt-statement.json").read_text())
    data["creditor"] = {
        "name": f"Schuldeiser {creditor:03d}",
        "oin": _creditor(creditor)[8:],
        "code": f"S{creditor:03d}",
    }
    data["statement_id"] = f"S{creditor:03d}-{week}-{serial}"
    balance = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC) - dt.timedelta(days=7 * week)
    data["balance_at"] = balance.isoformat()
    return issue_sd_jwt_vc(
        get_profile(DEBT_STATEMENT_VCT),
        data,
        issuer_id=_creditor(creditor),
        signer=keys[creditor],
        holder_jwk=json.loads(holder),
        iat=NOW - 7 * 86400 * week,
        exp=NOW + 30 * 86400,
    )


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many stored records were decoded."""
    count = [0]
    real = wallet_store.decode_value

    def counting(text: str) -> dict[str, Any]:
        count[0] += 1
        return real(text)

    monkeypatch.setattr(wallet_store, "decode_value", counting)
    yield count


def _wallet(home: Path) -> tuple[Wallet, str]:
    wallet = Wallet.create(home, key=HOLDER)
    return wallet, json.dumps(wallet.holder_key().public_jwk(with_kid=False))


@pytest.mark.parametrize("bulk", [True, False])
def test_importing_decodes_each_record_a_bounded_number_of_times(
    tmp_path: Path, decodes: list[int], bulk: bool
) -> None:
    _, trust = _world()
    counts = []
    for n in (20, 60):
        wallet, holder = _wallet(tmp_path / f"w{n}")
        texts = [_statement(i % CREDITORS, i // CREDITORS % 4, i, holder) for i in range(n)]
        decodes[0] = 0
        if bulk:
            wallet.add_many(texts, trust_list=trust, now=NOW)
        else:
            with wallet._store.transaction():
                for t in texts:
                    wallet.add(t, trust_list=trust, now=NOW)
        counts.append(decodes[0])
        wallet.close()
    # linear: a few decodes per credential (the superseded ones, the holder key), where the
    # full scans decoded every stored record for every import (n * (n - 1) / 2 and more)
    assert counts[0] <= 4 * 20
    assert counts[1] <= 4 * 60
    assert counts[1] < 60 * 59 / 2


def test_planning_decodes_nothing_that_did_not_change(tmp_path: Path, decodes: list[int]) -> None:
    _, trust = _world()
    wallet, holder = _wallet(tmp_path / "w")
    wallet.add_many(
        [_statement(i % CREDITORS, 0, i, holder) for i in range(30)], trust_list=trust, now=NOW
    )
    request = json.loads((DATA / "requests" / "outstanding-totals.json").read_text())
    wallet.plan(request, now=NOW)
    decodes[0] = 0
    plan = wallet.plan(request, now=NOW)
    assert decodes[0] == 0
    wallet.present(plan, nonce="n" * 16, audience=_creditor(0), now=NOW)
    decodes[0] = 0
    wallet.plan(request, now=NOW)
    presented = sum(len(v) for v in plan.presentations().values())
    assert decodes[0] == presented  # only the records whose count changed
    wallet.close()


def test_add_many_is_all_or_nothing(tmp_path: Path) -> None:
    _, trust = _world()
    wallet, holder = _wallet(tmp_path / "w")
    good = _statement(0, 0, 1, holder)
    with pytest.raises(Exception) as e:
        wallet.add_many([good, good[:-5] + "AAAAA"], trust_list=trust, now=NOW)
    assert getattr(e.value, "code", None)
    assert wallet.credentials(now=NOW) == []
    wallet.close()


# -- the index gives what the scans give --------------------------------------------------------
steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, CREDITORS - 1),
            st.integers(0, 3),  # week
            st.integers(0, 2),  # serial: 0 again is a duplicate
        ),
        st.tuples(
            st.just("bulk"), st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), max_size=4)
        ),
        st.tuples(st.just("remove"), st.integers(0, 30)),
        st.tuples(st.just("present"), st.integers(0, 1)),
    ),
    min_size=1,
    max_size=12,
)


def _run(wallet: Wallet, holder: str, script: list[Any]) -> list[Any]:
    _, trust = _world()
    out: list[Any] = []
    ids: dict[str, int] = {}  # random credential ids, numbered by first appearance

    def name(cid: str) -> int:
        return ids.setdefault(cid, len(ids))

    def result(r: Any) -> tuple[Any, ...]:
        # superseded ids come in id order, and ids are random: compare them as a set
        return (name(r.credential.id), r.duplicate, tuple(sorted(name(c) for c in r.superseded)))

    request = json.loads((DATA / "requests" / "outstanding-totals.json").read_text())
    for step in script:
        if step[0] == "add":
            text = _statement(step[1], step[2], step[3], holder)
            out.append(result(wallet.add(text, trust_list=trust, now=NOW)))
        elif step[0] == "bulk":
            texts = [_statement(c, w, 0, holder) for c, w in step[1]]
            out.append([result(r) for r in wallet.add_many(texts, trust_list=trust, now=NOW)])
        elif step[0] == "remove":
            creds = sorted(wallet.credentials(now=NOW), key=lambda c: name(c.id))
            if creds:
                victim = creds[step[1] % len(creds)]
                wallet.remove(victim.id)
                out.append(("removed", name(victim.id)))
        else:
            plan = wallet.plan(request, now=NOW)
            chosen = {
                q: sorted(name(d.credential_id) for d in ds)
                for q, ds in plan.presentations().items()
            }
            out.append(("plan", plan.satisfiable, chosen))
            if plan.satisfiable and step[1]:
                wallet.present(plan, nonce="n" * 16, audience=_creditor(0), now=NOW)
    out.append(sorted((name(c.id), c.state) for c in wallet.credentials(now=NOW)))
    return out


@suite_settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(script=steps)
def test_indexed_import_and_planning_agree_with_the_full_scans(
    tmp_path_factory: pytest.TempPathFactory, script: list[Any]
) -> None:
    root = tmp_path_factory.mktemp("w")
    fast, holder = _wallet(root / "fast")
    shutil.copytree(root / "fast", root / "slow")  # the same holder key
    fast_out = _run(fast, holder, script)
    fast.close()
    slow = Wallet.open(root / "slow", key=HOLDER)
    slow._indexed = False
    slow_out = _run(slow, holder, script)
    slow.close()
    assert fast_out == slow_out
