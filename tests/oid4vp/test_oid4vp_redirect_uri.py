"""The ``redirect_uri:`` client identifier (development only): an unsigned request by value,
answered only by a wallet told to accept it."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from blauweknop import BlauweKnopError
from tests.oid4vp.world import World, request_file


def test_unsigned_development_request_round_trip(world: World) -> None:
    with world.running() as (service, client):
        _round_trip(world, service, client)


def _round_trip(world: World, service: Any, client: Any) -> None:
    handle = service.create_request(request_file("rode-knop-check.json"), signed=False)
    assert handle.client_id == "redirect_uri:" + service.response_uri(handle.request_id)
    assert "request_uri" not in handle.wallet_url and "dcql_query=" in handle.wallet_url
    # a wallet in its default mode refuses it
    with pytest.raises(BlauweKnopError) as info:
        world.responder(client=client).fetch(handle.wallet_url)
    assert info.value.code == "request_unsigned"
    # there is no request object to fetch for it
    r = client.get(f"/oid4vp/request/{handle.request_id}")
    assert r.status_code == 404 and r.json()["code"] == "session_unknown"
    dev = world.responder(client=client, allow_redirect_uri=True)
    received = dev.fetch(handle.wallet_url)
    assert received.verifier is None and received.audience == handle.client_id
    dev.respond(received, consent=lambda r, p: True)
    out = service.result(handle.session_id)
    assert out["status"] == "done" and out["result"]["decision"]["hold"] is True


def test_redirect_uri_client_id_must_name_the_response_uri(world: World) -> None:
    service = world.service()
    handle = service.create_request(request_file("rode-knop-check.json"), signed=False)
    parts = urllib.parse.urlsplit(handle.wallet_url)
    params = dict(urllib.parse.parse_qsl(parts.query))
    params["response_uri"] = "http://127.0.0.1:9/elsewhere"
    forged = "openid4vp://?" + urllib.parse.urlencode(params)
    with pytest.raises(BlauweKnopError) as info:
        world.responder(allow_redirect_uri=True).fetch(forged)
    assert info.value.code == "client_id_mismatch"
