"""``Wallet.present``'s fast path (issue 18) against the reference path, on generated inputs.

The fast path presents from the kept parse of the stored SD-JWT VC (disclosures decoded once)
and from the record decoded once per stored text, and counts presentations by taking counts
ahead (one synced journal entry per ``RESERVE_USES`` presentations or ``RESERVE_COPIES``
copies). The reference is the plain way (``Wallet._indexed = False``): the record decoded at
every call, ``SDJWT.parse(text).present(...)`` through the format, and the exact count written
at every presentation. Compared:

* the presentation: the same issuer JWT and disclosures as ``SDJWT.parse(text).present``, a
  KB-JWT with the same claims, and the verifier sees the same claims disclosed;
* the choice of copies: over any sequence of presentations and reopenings, the fast wallet
  picks the same copy as the reference wallet every time, and after a normal close the
  stored counts are the same.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheme import CJIB, Scheme

from blauweknop import SDJWT, Verifier, Wallet
from blauweknop._codec import b64u_decode
from blauweknop._wallet_store import WalletStore
from blauweknop.debt import DebtStatement

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
VCT = "urn:blauweknop:debt-statement:1"


@dataclass
class World:
    scheme: Scheme
    home: Path  # a wallet with one statement
    batch: Path  # a closed wallet with a batch of 5 copies of another statement
    paths: list[list[str]]  # claim paths the statement can disclose one by one
    verifier: Verifier


@pytest.fixture(scope="module")
def world(pilot_scheme: Scheme) -> Iterator[World]:
    tmp = Path(tempfile.mkdtemp(prefix="bk-present-fast-"))
    data = json.loads((ROOT / "examples" / "data" / "debt-statement.json").read_text())
    wallet = Wallet.create(tmp / "one", key=KEY)
    issued = pilot_scheme.cjib.issue(
        DebtStatement.from_claims({**data, "statement_id": "CJIB-FAST-1"}),
        holder_jwk=wallet.holder_jwk(),
        now=pilot_scheme.now,
    )
    wallet.add(issued.text, trust_list=pilot_scheme.trust, now=pilot_scheme.now)
    [(_, rec)] = wallet._records()
    paths = sorted(
        {tuple(p) for p in rec.disclosable if all(isinstance(x, str) for x in p) and len(p) <= 2}
    )
    wallet.close()
    batch = Wallet.create(tmp / "batch", key=KEY)
    copies = pilot_scheme.cjib.issue_copies(
        DebtStatement.from_claims({**data, "statement_id": "CJIB-FAST-2"}),
        holder_jwks=batch.new_holder_keys(5),
        now=pilot_scheme.now,
    )
    batch.add_many([c.text for c in copies], trust_list=pilot_scheme.trust, now=pilot_scheme.now)
    batch.close()
    yield World(
        pilot_scheme,
        tmp / "one",
        tmp / "batch",
        [list(p) for p in paths],
        Verifier(pilot_scheme.trust, allow_missing_status=True),
    )
    shutil.rmtree(tmp, ignore_errors=True)


def _request(paths: list[list[str]]) -> dict[str, Any]:
    return {
        "credentials": [
            {
                "id": "d",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [VCT]},
                "claims": [{"path": p} for p in paths],
            }
        ]
    }


def _kb_claims(presentation: str) -> dict[str, Any]:
    kb = presentation.rsplit("~", 1)[1]
    return json.loads(b64u_decode(kb.split(".")[1]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chosen=st.data(),
    nonce=st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=40),
    audience=st.sampled_from([CJIB, "https://verifier.example/x", "x509_hash:abc"]),
    at=st.integers(min_value=0, max_value=3600),
)
def test_the_fast_presentation_is_the_reference_one(
    world: World, chosen: st.DataObject, nonce: str, audience: str, at: int
) -> None:
    paths = chosen.draw(
        st.lists(st.sampled_from(world.paths), min_size=1, max_size=6, unique_by=tuple)
    )
    now = world.scheme.now + at
    request = _request(paths)
    with Wallet.open(world.home, key=KEY) as wallet:
        plan = wallet.plan(request, now=now)
        assert plan.satisfiable
        [d] = plan.presentations()["d"]
        [(_, rec)] = wallet._records()
        assert rec.text is not None
        fast = wallet.present(plan, nonce=nonce, audience=audience, now=now)
        fast_again = wallet.present(plan, nonce=nonce, audience=audience, now=now)  # kept parse
        wallet._indexed = False
        plain = wallet.present(plan, nonce=nonce, audience=audience, now=now)
        wallet._indexed = True
        direct = SDJWT.parse(rec.text).present(
            list(d.disclose_paths),
            holder_key=wallet.holder_key(rec.holder_kid),
            nonce=nonce,
            audience=audience,
            iat=int(now),
        )
    [f], [f2], [p] = fast["d"], fast_again["d"], plain["d"]
    for other in (f2, p, direct):
        assert f.rsplit("~", 1)[0] == other.rsplit("~", 1)[0]  # issuer JWT and disclosures
        assert _kb_claims(f) == _kb_claims(other)  # sd_hash, nonce, aud, iat
    seen = [
        world.verifier.verify(
            {"d": [x]}, nonce=nonce, audience=audience, request=request, now=now + 1
        ).by_query("d")[0]
        for x in (f, p)
    ]
    assert dict(seen[0].claims) == dict(seen[1].claims)
    assert set(seen[0].disclosed) == set(seen[1].disclosed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.sampled_from(["present", "present", "present", "reopen"]), max_size=24))
def test_the_fast_wallet_picks_the_copies_the_reference_picks(
    world: World, tmp_path_factory: pytest.TempPathFactory, steps: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("pick")
    homes = [tmp / "fast", tmp / "plain"]
    for h in homes:
        shutil.copytree(world.batch, h)
    request = _request([["totals", "outstanding"]])
    now = world.scheme.now
    wallets = [Wallet.open(h, key=KEY) for h in homes]
    wallets[1]._indexed = False
    try:
        for n, step in enumerate(steps):
            if step == "reopen":
                for i, h in enumerate(homes):
                    wallets[i].close()
                    wallets[i] = Wallet.open(h, key=KEY)
                wallets[1]._indexed = False
                continue
            picks = []
            for w in wallets:
                [pres] = w.present(request, nonce=f"n{n}", audience=CJIB, now=now)["d"]
                by_jwt = {r.text.split("~")[0]: cid for cid, r in w._records() if r.text}
                picks.append(by_jwt[pres.split("~")[0]])
            assert picks[0] == picks[1]
    finally:
        for w in wallets:
            w.close()
    counts = []
    for h in homes:
        with WalletStore.open(h, key=KEY) as store:
            counts.append({cid: r.get("presented", 0) for cid, r in store.items("credential")})
    assert counts[0] == counts[1]
