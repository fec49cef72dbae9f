"""Suite-wide guards: no network except loopback, ever; verification tests forbid even that."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from scheme import STRANGER_ORG, Scheme

from blauweknop import Wallet

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkAccessError(AssertionError):
    """Raised by the guard when code under test tries to reach the network."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NetworkAccessError(f"network access attempted: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NetworkAccessError(f"network access attempted: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host not in (None, "localhost", "127.0.0.1", "::1") and not str(host).startswith("127."):
        raise NetworkAccessError(f"DNS lookup attempted: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_external_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: connections only to loopback, no DNS for outside names."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Stricter guard for verification tests: *any* socket creation fails the test.

    Yields the list of attempts (always empty when the test passes)."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise NetworkAccessError("socket use during verification")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == [], f"verification tried to use the network: {attempts}"


# -- the shared test scheme (tests/scheme.py) ---------------------------------------------------
@pytest.fixture(scope="module")
def pilot_scheme(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    """Per module, on the pilot's clock: the anchor, Gemeente Eindhoven, CJIB and DUO on a
    30-day trust list, an unlisted stranger; no wallet, no status cache. Tests issue their
    own credentials from its issuers (each module gets its own registers)."""
    return Scheme.build(
        tmp_path_factory.mktemp("pilot-scheme"), unlisted=(STRANGER_ORG,), status_cache=False
    )


@pytest.fixture(scope="module")
def pilot_wallet_scheme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheme]:
    """Per module, on the pilot's clock: the pilot scheme with a wallet (fast scrypt) holding
    the three pilot credentials, and a status cache synced after their issuance."""
    work = tmp_path_factory.mktemp("pilot-wallet-scheme")
    with Wallet.create(work / "wallet", passphrase="pilot scheme tests", scrypt_n=2**10) as w:
        yield Scheme.build(work, wallet=w)
