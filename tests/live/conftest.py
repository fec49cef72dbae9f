"""Fixtures for tests against real servers and a real browser (see ``tests/live/__init__.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import chromium_problem, in_ci, launch_chromium


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """A headless system Chromium driven by Playwright, shared by the session's tests."""
    problem = chromium_problem()
    if problem is not None:
        if in_ci():
            pytest.fail(f"CI needs the browser tests: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser: Any) -> Iterator[Any]:
    """A fresh page (own context: no cookies or storage shared between tests)."""
    context = chromium_browser.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
