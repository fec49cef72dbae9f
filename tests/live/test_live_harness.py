"""The live harness itself: uvicorn serves on loopback, and Chromium renders what it serves."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from tests.live import serve


async def _hello(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path, "q": request.query_params.get("q")})


async def _page(request: Request) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>t</title><p id=out></p>"
        "<script>fetch('/hello?q=42').then(r=>r.json())"
        ".then(j=>{document.getElementById('out').textContent=j.q})</script>"
    )


APP = Starlette(routes=[Route("/hello", _hello), Route("/", _page)])


def test_serve_answers_over_loopback_and_stops() -> None:
    with serve(APP) as base:
        assert base.startswith("http://127.0.0.1:")
        answer = httpx.get(base + "/hello", params={"q": "x"}).json()
        assert answer == {"path": "/hello", "q": "x"}
    try:
        httpx.get(base + "/hello", timeout=2)
    except httpx.TransportError:
        pass
    else:  # pragma: no cover - the server must be gone
        raise AssertionError("the server still answers after the block")


def test_chromium_runs_the_page_script(browser_page: Any) -> None:
    with serve(APP) as base:
        browser_page.goto(base + "/")
        browser_page.wait_for_function("document.getElementById('out').textContent === '42'")
        assert browser_page.text_content("#out") == "42"
