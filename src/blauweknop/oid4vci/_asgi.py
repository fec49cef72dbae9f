"""The thin ASGI layer: Starlette in front of :class:`IssuerService`.

Every request becomes an :class:`HttpRequest` (the body read up to the service's limit, so an
oversized body is refused without being held in memory) and is answered by the service on one
worker thread: the issuer's register is SQLite, which writes one transaction at a time anyway,
and its connection belongs to the thread that opened it.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._service import HttpRequest, HttpResponse, IssuerService

__all__ = ["asgi_app"]


def asgi_app(service: IssuerService) -> Any:
    """A Starlette application serving ``service`` (run it with uvicorn).

    Example:
        ```python
        import uvicorn
        uvicorn.run(asgi_app(IssuerService.for_home("cjib", issuer_url=URL)), port=8080)
        ```
    """
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oid4vci")
    prefix = urllib.parse.urlsplit(service.issuer_url).path.rstrip("/")

    async def endpoint(request: Request) -> Response:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > service.max_body:
                return _starlette(
                    HttpResponse.json(
                        {"error": "request_too_large", "error_description": "body too large"},
                        413,
                        {"Cache-Control": "no-store"},
                    )
                )
            chunks.append(chunk)
        path = request.url.path
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :] or "/"
        headers: dict[str, list[str]] = {}
        for k, v in request.headers.raw:
            headers.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
        req = HttpRequest(
            method=request.method,
            url=service.issuer_url + path,
            path=path,
            headers=headers,
            body=b"".join(chunks),
            query=request.url.query,
        )
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(worker, service.handle, req)
        return _starlette(answer)

    return Starlette(
        routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
    )


def _starlette(r: HttpResponse) -> Response:
    return Response(content=r.body, status_code=r.status, headers=dict(r.headers))
