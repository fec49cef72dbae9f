"""The creditor's ASGI app (Starlette) around :class:`VerifierService`.

Routes::

    GET  /                              the creditor's page: choose a request
    POST /start                         new session for a named request -> /session/{id}
    GET  /session/{session_id}          QR code (cross-device), same-device link, live result
    GET  /session/{session_id}/result   the session's state as JSON (the page polls it)
    GET  /oid4vp/request/{request_id}   the signed request object (also POST with wallet_nonce)
    POST /oid4vp/response/{request_id}  the wallet's direct_post.jwt response
    GET  /oid4vp/done                   where the wallet's redirect lands (same device)
    GET  /oid4vp/result-by-code/{code}  the result for a response_code

Bodies are read with a size cap before parsing; form fields must appear once. Errors answer
``{"error": "invalid_request", "code": "<stable code>"}`` with no personal data; logs carry
event names, request ids and codes only.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Mapping
from typing import Any

import segno
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .._errors import BlauweKnopError, MalformedError, PolicyError
from ._service import VerifierService

__all__ = ["MAX_BODY_BYTES", "verifier_app"]

#: Largest POST body accepted (a vp_token is at most 2 MiB; its JWE adds a third).
MAX_BODY_BYTES = 3 * 1024 * 1024
_STATUS = {"session_unknown": 404, "response_replayed": 409, "session_expired": 410}


async def _read_form(request: Request, limit: int) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise MalformedError(
            "response_invalid", "the body must be application/x-www-form-urlencoded"
        )
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise MalformedError("too_large", f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise MalformedError("too_large", f"the body is larger than {limit} bytes")
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body)
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedError("response_invalid", "the form body is malformed") from e
    form: dict[str, str] = {}
    for k, v in pairs:
        if k in form:
            raise MalformedError("response_invalid", f"form field {k!r} given twice")
        form[k] = v
    return form


def _error(e: BlauweKnopError) -> JSONResponse:
    status = _STATUS.get(e.code, 413 if e.code == "too_large" else 400)
    return JSONResponse(
        {"error": "invalid_request", "code": e.code, "error_description": e.message[:200]},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def verifier_app(
    service: VerifierService,
    requests: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    title: str = "Creditor",
) -> Starlette:
    """The creditor's app: ``requests`` are the DCQL queries the page offers, by name.

    Example:
        ```python
        app = verifier_app(service, {"rode-knop-check": json.load(open("rode-knop-check.json"))})
        uvicorn.run(app)
        ```
    """
    offered = dict(requests or {})

    async def index(request: Request) -> Response:
        buttons = "".join(
            f'<button name="request" value="{html.escape(n)}">{html.escape(n)}</button> '
            for n in offered
        )
        return HTMLResponse(
            _PAGE.format(
                title=html.escape(title),
                body=f'<form method="post" action="/start">{buttons}</form>',
                script="",
            )
        )

    async def start(request: Request) -> Response:
        try:
            form = await _read_form(request, 4096)
            name = form.get("request", "")
            if name not in offered:
                raise PolicyError("query_unknown", "no such request")
            handle = service.create_request(offered[name])
        except BlauweKnopError as e:
            return _error(e)
        return RedirectResponse(f"/session/{handle.session_id}", status_code=303)

    async def session_page(request: Request) -> Response:
        sid = request.path_params["session_id"]
        session = service.store.get(sid)
        if session is None:
            return HTMLResponse("unknown session", status_code=404)
        link = service.wallet_link(session.request_id)
        qr = segno.make(link, error="m").svg_inline(scale=4)
        body = (
            f'<div id="qr">{qr}</div>'
            f'<p><a id="same-device" href="{html.escape(link)}">Open in your wallet</a></p>'
            f'<p id="status" data-session="{html.escape(sid)}">Waiting for the wallet…</p>'
            '<dl id="result"></dl>'
        )
        return HTMLResponse(
            _PAGE.format(title=html.escape(title), body=body, script=_POLL),
            headers={"Cache-Control": "no-store"},
        )

    async def session_result(request: Request) -> Response:
        try:
            out = service.result(request.path_params["session_id"])
        except BlauweKnopError as e:
            return _error(e)
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    async def request_object(request: Request) -> Response:
        rid = request.path_params["request_id"]
        try:
            wallet_nonce = None
            if request.method == "POST":
                form = await _read_form(request, 16 * 1024)
                wallet_nonce = form.get("wallet_nonce")
            jar = service.request_object(rid, wallet_nonce=wallet_nonce)
        except BlauweKnopError as e:
            return _error(e)
        return Response(
            jar,
            media_type="application/oauth-authz-req+jwt",
            headers={"Cache-Control": "no-store"},
        )

    async def response(request: Request) -> Response:
        rid = request.path_params["request_id"]
        try:
            form = await _read_form(request, MAX_BODY_BYTES)
            out = service.handle_response(rid, form)
        except BlauweKnopError as e:
            return _error(e)
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    async def done(request: Request) -> Response:
        body = '<p id="status">Checking…</p><dl id="result"></dl>'
        return HTMLResponse(_PAGE.format(title=html.escape(title), body=body, script=_DONE))

    async def by_code(request: Request) -> Response:
        try:
            out = service.result_by_code(request.path_params["code"])
        except BlauweKnopError as e:
            return _error(e)
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/start", start, methods=["POST"]),
            Route("/session/{session_id}", session_page),
            Route("/session/{session_id}/result", session_result),
            Route("/oid4vp/request/{request_id}", request_object, methods=["GET", "POST"]),
            Route("/oid4vp/response/{request_id}", response, methods=["POST"]),
            Route("/oid4vp/done", done),
            Route("/oid4vp/result-by-code/{code}", by_code),
        ]
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;max-width:40rem;margin:2rem auto}}
#qr svg{{width:16rem;height:16rem}}
.hold{{color:#a00;font-weight:bold}}</style></head>
<body><h1>{title}</h1>{body}<script>{script}</script></body></html>
"""

#: Shared rendering: text only (textContent), never HTML from the response.
_RENDER = """
function show(out) {
  const status = document.getElementById('status');
  const dl = document.getElementById('result');
  if (out.status === 'pending') {
    status.textContent = out.last_error ? 'Refused a response: ' + out.last_error + '. Waiting…'
                                        : 'Waiting for the wallet…';
    return false;
  }
  if (out.status === 'expired') { status.textContent = 'The request has expired.'; return true; }
  status.textContent = 'Verified';
  status.dataset.state = 'verified';
  dl.replaceChildren();
  const add = (k, v, cls) => { const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v; if (cls) dd.className = cls;
    dl.append(dt, dd); };
  for (const c of out.result.credentials) add(c.query_id, c.vct + ' from ' + c.issuer_name);
  const d = out.result.decision;
  if (d) add('Decision', d.hold ? 'Collection on hold until ' + d.hold_until : d.reason,
             d.hold ? 'hold' : '');
  return true;
}
"""

_POLL = (
    _RENDER
    + """
const sid = document.getElementById('status').dataset.session;
async function poll() {
  const r = await fetch('/session/' + encodeURIComponent(sid) + '/result', {cache: 'no-store'});
  if (r.ok && show(await r.json())) return;
  setTimeout(poll, 300);
}
poll();
"""
)

_DONE = (
    _RENDER
    + """
const code = new URLSearchParams(location.hash.slice(1)).get('response_code');
fetch('/oid4vp/result-by-code/' + encodeURIComponent(code || ''), {cache: 'no-store'})
  .then(r => r.json()).then(show);
"""
)
