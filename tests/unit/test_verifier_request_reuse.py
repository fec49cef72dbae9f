"""A DCQL request parsed once (``DCQLQuery.parse``) and passed to every ``Verifier.verify``
gives what the request as JSON gives: the same credentials, or the same refusal; and the status
cache's memory gives the verdicts of a cache that reads and verifies at every check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scheme import CJIB, Scheme

from blauweknop import BlauweKnopError, DCQLQuery, StatusCache, Verifier

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def _outcome(fn: Any) -> Any:
    try:
        result = fn()
    except BlauweKnopError as e:
        return ("error", e.code)
    return ("ok", [(c.query_id, c.vct, c.issuer, c.claims, c.status) for c in result.credentials])


@pytest.mark.parametrize(
    "name", ["hold-and-totals.json", "outstanding-totals.json", "rode-knop-check.json"]
)
def test_a_parsed_request_verifies_like_the_json_one(
    pilot_wallet_scheme: Scheme, name: str, tmp_path: Path
) -> None:
    scheme = pilot_wallet_scheme
    assert scheme.wallet is not None and scheme.cache is not None
    request = json.loads((DATA / "requests" / name).read_text())
    parsed = DCQLQuery.parse(request)
    vp_token = scheme.wallet.present(request, nonce="n" * 16, audience=CJIB, now=scheme.now)
    # the same cache directory read by a cache without memory: the slow path
    plain = Verifier(scheme.trust, status=StatusCache(scheme.cache.directory, memory=0))
    fast = scheme.verifier()
    other = json.loads((DATA / "requests" / "rode-knop-check.json").read_text())
    for req, parsed_req in ((request, parsed), (other, DCQLQuery.parse(other))):
        for nonce in ("n" * 16, "wrong-nonce-0000"):
            for now in (scheme.now, scheme.now + 2 * 86400):  # status lists stale by then
                want = _outcome(
                    lambda req=req, nonce=nonce, now=now: plain.verify(
                        vp_token, nonce=nonce, audience=CJIB, request=req, now=now
                    )
                )
                for verifier in (fast, plain):
                    got = _outcome(
                        lambda v=verifier, r=parsed_req, nonce=nonce, now=now: v.verify(
                            vp_token, nonce=nonce, audience=CJIB, request=r, now=now
                        )
                    )
                    assert got == want
    assert (
        _outcome(
            lambda: fast.verify(
                vp_token, nonce="n" * 16, audience=CJIB, request=parsed, now=scheme.now
            )
        )[0]
        == "ok"
    )
