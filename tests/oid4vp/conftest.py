"""Fixtures of the OpenID4VP tests (the world is built once per module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oid4vp.world import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = build_world(tmp_path_factory.mktemp("oid4vp"))
    try:
        yield w
    finally:
        w.wallet.close()
