"""OpenID4VP over the W3C Digital Credentials API (Annex A): signed and unsigned requests,
``expected_origins``, ``dc_api.jwt`` responses bound to ``origin:<origin>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from blauweknop import BlauweKnopError
from blauweknop.oid4vp._jwe import encrypt_response, public_enc_jwk
from tests.oid4vp.world import World, request_file

ORIGIN = "https://cjib.example"


def code(fn: Callable[..., Any], *args: Any, **kw: Any) -> str:
    with pytest.raises(BlauweKnopError) as info:
        fn(*args, **kw)
    return info.value.code


@pytest.mark.parametrize("name", ["rode-knop-check.json", "hold-and-totals-di.json"])
def test_signed_request_round_trip(world: World, name: str) -> None:
    service = world.service()
    handle, request = service.create_dc_api_request(request_file(name), origin=ORIGIN)
    assert request["protocol"] == "openid4vp-v1-signed"
    responder = world.responder()
    received = responder.dc_api_request(request["protocol"], request["data"], origin=ORIGIN)
    assert received.audience == "origin:" + ORIGIN and received.verifier is not None
    answer = responder.respond_dc_api(received, consent=lambda r, p: True)
    out = service.handle_dc_api_response(handle.session_id, answer, origin=ORIGIN)
    assert out["status"] == "done"
    assert out["result"]["decision"]["hold_until"] == "2027-03-15"
    # once only
    assert code(service.handle_dc_api_response, handle.session_id, answer, origin=ORIGIN) == (
        "response_replayed"
    )


def test_signed_request_replayed_from_another_origin_is_refused(world: World) -> None:
    service = world.service()
    _, request = service.create_dc_api_request(request_file("rode-knop-check.json"), origin=ORIGIN)
    responder = world.responder()
    assert (
        code(
            responder.dc_api_request,
            request["protocol"],
            request["data"],
            origin="https://evil.example",
        )
        == "origin_mismatch"
    )


def test_response_arriving_on_another_origin_is_refused(world: World) -> None:
    service = world.service()
    handle, request = service.create_dc_api_request(
        request_file("rode-knop-check.json"), origin=ORIGIN
    )
    responder = world.responder()
    received = responder.dc_api_request(request["protocol"], request["data"], origin=ORIGIN)
    answer = responder.respond_dc_api(received, consent=lambda r, p: True)
    assert (
        code(
            service.handle_dc_api_response, handle.session_id, answer, origin="https://evil.example"
        )
        == "origin_mismatch"
    )
    assert service.store.get(handle.session_id).status == "pending"
    assert (
        service.handle_dc_api_response(handle.session_id, answer, origin=ORIGIN)["status"] == "done"
    )


def test_unsigned_request_needs_the_wallet_s_permission(world: World) -> None:
    service = world.service()
    handle, request = service.create_dc_api_request(
        request_file("rode-knop-check.json"), origin=ORIGIN, signed=False
    )
    assert request["protocol"] == "openid4vp-v1-unsigned"
    assert "client_id" not in request["data"] and "expected_origins" not in request["data"]
    refusing = world.responder()
    assert (
        code(refusing.dc_api_request, request["protocol"], request["data"], origin=ORIGIN)
        == "verifier_not_registered"
    )
    allowing = world.responder(allow_unregistered=True)
    received = allowing.dc_api_request(request["protocol"], request["data"], origin=ORIGIN)
    assert received.verifier is None and received.verifier_name.startswith("unidentified")
    answer = allowing.respond_dc_api(received, consent=lambda r, p: True)
    assert (
        service.handle_dc_api_response(handle.session_id, answer, origin=ORIGIN)["status"] == "done"
    )


def test_presentation_bound_to_the_client_id_instead_of_the_origin_is_refused(world: World) -> None:
    service = world.service()
    handle, _ = service.create_dc_api_request(request_file("rode-knop-check.json"), origin=ORIGIN)
    session = service.store.get(handle.session_id)
    vp = world.wallet.present(
        request_file("rode-knop-check.json"),
        nonce=handle.nonce,
        audience=service.client_id,
        now=world.now,
    )
    answer = {"response": encrypt_response({"vp_token": vp}, public_enc_jwk(session.enc_key))}
    assert code(service.handle_dc_api_response, handle.session_id, answer, origin=ORIGIN) == (
        "audience_mismatch"
    )


def test_a_direct_post_request_is_not_a_dc_api_request(world: World) -> None:
    service = world.service()
    handle = service.create_request(request_file("rode-knop-check.json"))
    jar = service.request_object(handle.request_id)
    assert (
        code(
            world.responder().dc_api_request, "openid4vp-v1-signed", {"request": jar}, origin=ORIGIN
        )
        == "response_mode_not_supported"
    )
    assert (
        code(world.responder().dc_api_request, "openid4vp", {}, origin=ORIGIN) == "request_invalid"
    )


def test_an_origin_with_a_path_is_refused(world: World) -> None:
    service = world.service()
    dcql = request_file("rode-knop-check.json")
    assert code(service.create_dc_api_request, dcql, origin=ORIGIN + "/page") == "request_invalid"
    assert (
        code(service.create_dc_api_request, dcql, origin="ftp://cjib.example") == "request_invalid"
    )


def test_a_dc_api_session_takes_no_direct_post_request_or_response(world: World) -> None:
    service = world.service()
    handle, _ = service.create_dc_api_request(request_file("rode-knop-check.json"), origin=ORIGIN)
    assert code(service.request_object, handle.request_id) == "session_unknown"
    assert code(service.handle_response, handle.request_id, {"response": "x"}) == (
        "session_unknown"
    )
    assert service.store.get(handle.session_id).status == "pending"


def test_a_link_without_client_id_is_refused(world: World) -> None:
    service = world.service()
    handle = service.create_request(request_file("rode-knop-check.json"))
    link = handle.wallet_url.split("client_id=", 1)[0] + handle.wallet_url.split("&", 1)[1]
    assert "client_id" not in link
    assert code(world.responder().fetch, link) == "request_uri_invalid"
