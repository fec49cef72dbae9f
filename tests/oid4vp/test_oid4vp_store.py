"""The session store: single use enforced by SQLite (also under a race), expiry, purge, file
permissions; and the verifier-registration check as a property."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blauweknop import BlauweKnopError, DCQLQuery
from blauweknop._trust import RequestPermission
from blauweknop.oid4vp import Session, SessionStore
from blauweknop.oid4vp._registration import over_asking

NOW = 1_800_000_000.0


def session(sid: str = "s1", rid: str = "r1", expires: float = NOW + 300) -> Session:
    return Session(
        session_id=sid,
        request_id=rid,
        state="st",
        nonce="n",
        client_id="x509_hash:abc",
        audience="x509_hash:abc",
        dcql={"credentials": []},
        enc_key={"kid": "k"},
        response_mode="direct_post.jwt",
        origin=None,
        created_at=NOW,
        expires_at=expires,
    )


def test_a_session_completes_once(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite")
    store.add(session())
    store.complete("r1", result={"verified": True}, response_code="c1", now=NOW)
    with pytest.raises(BlauweKnopError) as info:
        store.complete("r1", result={"verified": "forged"}, response_code="c2", now=NOW)
    assert info.value.code == "response_replayed"
    done = store.get("s1")
    assert done is not None and done.result == {"verified": True} and done.response_code == "c1"
    assert store.by_response_code("c2") is None


def test_racing_completions_have_exactly_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "race.sqlite"
    SessionStore(path).add(session())
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        store = SessionStore(path)  # its own connection, as separate processes would have
        barrier.wait()
        try:
            store.complete("r1", result={"by": i}, response_code=f"c{i}", now=NOW)
            outcomes.append("won")
        except BlauweKnopError as e:
            outcomes.append(e.code)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["response_replayed"] * 7 + ["won"]


def test_an_expired_session_cannot_complete_and_is_purged(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite")
    store.add(session(expires=NOW + 10))
    store.add(session("s2", "r2"))
    with pytest.raises(BlauweKnopError) as info:
        store.complete("r1", result={}, response_code="c", now=NOW + 10)
    assert info.value.code == "session_expired"
    store.complete("r2", result={}, response_code="c2", now=NOW)
    assert store.purge(now=NOW + 20) == 1  # the expired pending one
    assert store.get("s1") is None and store.get("s2") is not None
    assert store.purge(now=NOW + 20 + 3600) == 1  # the old result
    assert store.get("s2") is None


def test_the_store_file_is_private(tmp_path: Path) -> None:
    SessionStore(tmp_path / "new" / "s.sqlite").add(session())
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "s.sqlite").st_mode) == 0o600


VCT = "urn:example:t"
NAMES = st.sampled_from(["a", "b", "c", "subject", "bsn"])
PATHS = st.lists(st.one_of(NAMES, st.none(), st.integers(0, 3)), min_size=1, max_size=4)


def _query(paths: list[list[Any]]) -> DCQLQuery:
    return DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [VCT]},
                    "claims": [{"path": p} for p in paths],
                }
            ]
        }
    )


@given(registered=st.lists(PATHS, min_size=1, max_size=4), suffix=PATHS)
def test_a_registered_path_covers_its_subtree(
    registered: list[list[Any]], suffix: list[Any]
) -> None:
    perm = RequestPermission(vct=VCT, claims=tuple(tuple(p) for p in registered))
    first = registered[0]
    # concrete requested path under the first registered one (a null matches any index)
    asked = [0 if x is None else x for x in first] + [x for x in suffix if x is not None]
    if not asked or any(isinstance(x, int) for x in asked[:1]):
        return
    assert over_asking(_query([asked]), [perm]) == ()


@given(registered=st.lists(st.lists(NAMES, min_size=1, max_size=3), min_size=1, max_size=4))
def test_a_path_outside_every_registration_is_over_asking(registered: list[list[str]]) -> None:
    perm = RequestPermission(vct=VCT, claims=tuple(tuple(p) for p in registered))
    outside = ["not_registered", "x"]
    assert over_asking(_query([outside]), [perm]) == ("q: not_registered.x is not registered",)
    other = RequestPermission(vct="urn:example:other", claims=perm.claims)
    assert over_asking(_query([registered[0]]), [other]) == (
        f"q: credential type {VCT!r} is not registered",
    )
