"""OpenID4VP 1.0 interop over HTTP on loopback with the independent ``@openid4vc/openid4vp``
(OpenWallet Foundation's oid4vc-ts, ``tests/interop/oid4vp-node``), both directions:

* their holder resolves our signed ``x509_hash`` request and answers our verifier with an
  encrypted ``direct_post.jwt`` response (the presentations come from our wallet: their library
  carries the protocol, not credentials);
* their holder also resolves our Digital Credentials API requests (signed with
  ``expected_origins``, and unsigned) and answers them with ``dc_api.jwt``;
* their verifier creates a signed request that our wallet fetches, verifies and answers; their
  verifier decrypts and validates the response, and our Verifier checks the presentations.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from blauweknop.oid4vp import verifier_app
from tests.interop.conftest import NodePeer
from tests.live import _free_port, serve
from tests.oid4vp.world import World, build_world, request_file

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # the peer runs on the real clock (its own Date), so this world does too
    w = build_world(tmp_path_factory.mktemp("oid4vp-interop"), real_clock=True)
    try:
        yield w
    finally:
        w.wallet.close()


@pytest.fixture
def peer(node_peer: Callable[..., NodePeer]) -> NodePeer:
    return node_peer("oid4vp-node")


def test_their_holder_answers_our_verifier(world: World, peer: NodePeer) -> None:
    import time

    port = _free_port()
    service = world.service(base_url=f"http://127.0.0.1:{port}", clock=time.time)
    handle = service.create_request(request_file("hold-and-totals.json"))
    with serve(verifier_app(service), port=port):
        resolved = peer.call("holder_resolve", uri=handle.wallet_url)
        request = resolved["request"]
        assert request["client_id"] == service.client_id
        assert resolved["client"]["prefix"] == "x509_hash"
        assert resolved["jar_header"]["typ"] == "oauth-authz-req+jwt"
        assert resolved["version"] == 100  # OpenID4VP 1.0 final
        vp_token = world.wallet.present(
            request["dcql_query"], nonce=request["nonce"], audience=request["client_id"]
        )
        answer = peer.call("holder_respond", request=request, vp_token=vp_token)
    assert answer["status"] == 200, answer
    assert answer["jwe_header"]["alg"] == "ECDH-ES"
    assert "#response_code=" in answer["body"]["redirect_uri"]
    out = service.result(handle.session_id)
    assert out["status"] == "done"
    assert out["result"]["decision"]["hold"] is True


def test_their_holder_cannot_answer_twice(world: World, peer: NodePeer) -> None:
    import time

    port = _free_port()
    service = world.service(base_url=f"http://127.0.0.1:{port}", clock=time.time)
    handle = service.create_request(request_file("rode-knop-check.json"))
    with serve(verifier_app(service), port=port):
        request = peer.call("holder_resolve", uri=handle.wallet_url)["request"]
        vp_token = world.wallet.present(
            request["dcql_query"], nonce=request["nonce"], audience=request["client_id"]
        )
        first = peer.call("holder_respond", request=request, vp_token=vp_token)
        second = peer.call("holder_respond", request=request, vp_token=vp_token)
    assert first["status"] == 200
    assert second["status"] == 409 and second["body"]["code"] == "response_replayed"


class _TheirVerifierEndpoints:
    """Where their verifier's request object is served and its response arrives."""

    def __init__(self) -> None:
        self.jar = ""
        self.forms: list[dict[str, Any]] = []

    def app(self) -> Starlette:
        async def request_object(request: Request) -> Response:
            return Response(self.jar, media_type="application/oauth-authz-req+jwt")

        async def response(request: Request) -> Response:
            body = (await request.body()).decode("ascii")
            self.forms.append(dict(urllib.parse.parse_qsl(body, strict_parsing=True)))
            return JSONResponse({"redirect_uri": "https://verifier.example/done"})

        return Starlette(
            routes=[
                Route("/request", request_object, methods=["GET", "POST"]),
                Route("/response", response, methods=["POST"]),
            ]
        )


def test_their_verifier_requests_from_our_wallet(world: World, peer: NodePeer) -> None:
    import time

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    endpoints = _TheirVerifierEndpoints()
    created = peer.call(
        "verifier_create",
        x5c=world.x5c,
        signer_jwk=world.creditor_key.private_jwk(),
        response_uri=base + "/response",
        request_uri=base + "/request",
        dcql_query=request_file("rode-knop-check.json"),
    )
    endpoints.jar = created["jar"]
    assert created["uri"].startswith("haip-vp://")
    responder = world.responder(clock=time.time)
    with serve(endpoints.app(), port=port):
        received = responder.fetch(created["uri"])
        assert received.verifier is not None and received.verifier.name == "CJIB"
        assert received.over_asking == ()
        outcome = responder.respond(received, consent=lambda r, p: True, follow_redirect=False)
    assert outcome.redirect_uri == "https://verifier.example/done"
    (form,) = endpoints.forms
    validated = peer.call(
        "verifier_validate",
        request=created["request"],
        enc_private_jwk=created["enc_private_jwk"],
        form=form,
    )
    assert validated["state"] == created["request"]["state"]
    # their verifier checks the protocol; ours checks the presentations themselves
    result = world.verifier.verify(
        validated["vp_token"],
        nonce=validated["expected_nonce"],
        audience=created["request"]["client_id"],
        request=request_file("rode-knop-check.json"),
        now=time.time(),
    )
    assert [c.vct for c in result.credentials] == ["urn:rodeknop:payment-incapacity-declaration:1"]


def test_our_wallet_refuses_their_request_signed_by_a_key_outside_the_chain(
    world: World, peer: NodePeer
) -> None:
    import time

    from blauweknop import BlauweKnopError, Key

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    endpoints = _TheirVerifierEndpoints()
    created = peer.call(
        "verifier_create",
        x5c=world.x5c,
        signer_jwk=Key.generate().private_jwk(),  # not the certified key
        response_uri=base + "/response",
        request_uri=base + "/request",
        dcql_query=request_file("rode-knop-check.json"),
    )
    endpoints.jar = created["jar"]
    with serve(endpoints.app(), port=port), pytest.raises(BlauweKnopError) as info:
        world.responder(clock=time.time).fetch(created["uri"])
    assert info.value.code == "signature_invalid"
    assert endpoints.forms == []


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_their_holder_answers_our_dc_api_request(
    world: World, peer: NodePeer, signed: bool
) -> None:
    import time

    origin = "https://cjib.example"
    service = world.service(clock=time.time)
    handle, request = service.create_dc_api_request(
        request_file("rode-knop-check.json"), origin=origin, signed=signed
    )
    resolved = peer.call("holder_dc_api_resolve", data=request["data"], origin=origin)
    payload = resolved["request"]
    assert payload["response_mode"] == "dc_api.jwt"
    # bound as Annex A says (audience origin:<origin>); their holder carries it
    vp_token = world.wallet.present(
        payload["dcql_query"], nonce=payload["nonce"], audience="origin:" + origin
    )
    answer = peer.call("holder_dc_api_respond", request=payload, origin=origin, vp_token=vp_token)[
        "response"
    ]
    out = service.handle_dc_api_response(handle.session_id, answer, origin=origin)
    assert out["status"] == "done" and out["result"]["decision"]["hold"] is True
