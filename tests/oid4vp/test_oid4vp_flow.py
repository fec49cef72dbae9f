"""The whole exchange over HTTP on loopback with the injected clock: creditor request -> our
wallet -> encrypted response -> verified result and hold decision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.oid4vp.world import World, request_file


def mixed_request() -> dict[str, Any]:
    """The declaration as SD-JWT VC and the debt statements as W3C ecdsa-sd-2023."""
    sd = request_file("rode-knop-check.json")["credentials"][0]
    di = request_file("outstanding-totals-di.json")["credentials"][0]
    return {"credentials": [sd, di]}


CASES = {
    "sd-jwt": lambda: request_file("hold-and-totals.json"),
    "w3c-di": lambda: request_file("hold-and-totals-di.json"),
    "mixed": mixed_request,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_response_result_and_hold_decision(world: World, case: str) -> None:
    with world.running() as (service, client):
        _exchange(world, service, client, case)


def _exchange(world: World, service: Any, client: Any, case: str) -> None:
    handle = service.create_request(CASES[case](), now=world.now)
    assert handle.wallet_url.startswith("haip-vp://?client_id=x509_hash%3A")
    assert service.result(handle.session_id, now=world.now)["status"] == "pending"

    responder = world.responder(client=client)
    received = responder.fetch(handle.wallet_url, now=world.now)
    assert received.verifier is not None and received.verifier.name == "CJIB"
    assert received.over_asking == ()
    seen: list[Any] = []
    outcome = responder.respond(
        received, consent=lambda req, plan: seen.append(plan) or True, now=world.now
    )
    assert seen and seen[0].satisfiable
    assert outcome.redirect_uri is not None and "#response_code=" in outcome.redirect_uri

    out = service.result(handle.session_id, now=world.now)
    assert out["status"] == "done"
    creds = out["result"]["credentials"]
    formats = {c["query_id"]: c["format"] for c in creds}
    if case == "mixed":
        assert formats == {
            "payment_incapacity_declaration": "dc+sd-jwt",
            "debt_statements": "ldp_vc",
        }
    else:
        want = "dc+sd-jwt" if case == "sd-jwt" else "ldp_vc"
        assert set(formats.values()) == {want}
    assert "debt_statements" in formats
    decision = out["result"]["decision"]
    assert decision["hold"] is True and decision["hold_until"] == "2027-03-15"
    # the same-device redirect finds the same result by its response code
    code = outcome.redirect_uri.split("#response_code=", 1)[1]
    assert service.result_by_code(code, now=world.now) == out


@pytest.mark.parametrize("scheme", ["openid4vp", "haip", "haip-vp"])
def test_request_uri_by_get_and_every_wallet_scheme(world: World, scheme: str) -> None:
    with world.running(scheme=scheme) as (service, client):
        handle = service.create_request(request_file("rode-knop-check.json"))
        assert handle.wallet_url.startswith(f"{scheme}://?")
        link = handle.wallet_url.replace("&request_uri_method=post", "")  # GET, no wallet_nonce
        responder = world.responder(client=client)
        responder.respond(responder.fetch(link), consent=lambda r, p: True)
        assert service.result(handle.session_id)["status"] == "done"
        fetched = client.get(f"/oid4vp/request/{handle.request_id}")
    # an answered request is not served again
    assert fetched.status_code == 409 and fetched.json()["code"] == "response_replayed"
