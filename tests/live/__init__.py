"""Real parts for protocol tests: an ASGI app served by uvicorn on loopback, and Debian's Chromium.

``serve(app)`` runs an ASGI application with uvicorn in a background thread on ``127.0.0.1`` and a
free port, and yields its base URL; the server stops when the block ends::

    with serve(app) as base_url:
        httpx.get(base_url + "/.well-known/openid-credential-issuer")

``chromium_problem()`` says why a headless Chromium cannot run here (``None`` when it can);
``launch_chromium(playwright)`` starts it with the flags this sandbox needs (no background
network, a fresh profile). The ``browser_page`` fixture in ``tests/live/conftest.py`` gives a
Playwright page.
Outside CI a missing Chromium skips the browser tests; under ``CI=true`` it is a failure, because
``make test`` installs it there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["chromium_path", "chromium_problem", "in_ci", "launch_chromium", "serve"]


def in_ci() -> bool:
    """True when the run is CI (``CI=true``): missing system parts are failures there, not skips."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


@contextlib.contextmanager
def serve(app: Any, *, port: int | None = None, startup_timeout: float = 20.0) -> Iterator[str]:
    """Serve the ASGI ``app`` on ``http://127.0.0.1:PORT`` for the duration of the block.

    Yields the base URL without a trailing slash. Logs go through uvicorn's loggers at
    ``warning`` level (no access log: it would print request paths with offer codes).
    """
    chosen = port or _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=chosen,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{chosen}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{chosen}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {startup_timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_path() -> str | None:
    """Path of the system Chromium (Debian's ``chromium``), or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_problem() -> str | None:
    """Why a headless Chromium cannot be driven here, or ``None`` when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is missing (make deps installs it)"
    if chromium_path() is None:
        return "no Chromium on PATH (Debian: apt-get install chromium; `make test` does so in CI)"
    return None


#: Flags for this sandbox: no background connections (the network is closed), no GPU, a fresh
#: profile each start; ``--no-sandbox`` because the tests may run as root.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def launch_chromium(playwright: Any) -> Any:
    """Launch the system Chromium headless through a Playwright instance; returns the browser."""
    path = chromium_path()
    if path is None:
        raise RuntimeError(chromium_problem() or "no Chromium")
    return playwright.chromium.launch(executable_path=path, headless=True, args=list(CHROMIUM_ARGS))
