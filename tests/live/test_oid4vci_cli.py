"""``rodeknop offer`` / ``rodeknop serve`` / ``blauweknop wallet receive`` as real processes on
loopback: the municipal operator's offer reaches the citizen's wallet through the real service."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GEM = "urn:oin:00000001001234567000"
ENV = {**os.environ, "BLAUWEKNOP_WALLET_PASSPHRASE": "cli oid4vci test"}


def run(*args: str, cwd: Path, expect: int = 0, env: dict[str, str] | None = None) -> str:
    p = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**ENV, **(env or {})},
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == expect, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("serve did not start")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("oid4vci-cli")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "shift_dates.py"),
            str(ROOT / "examples" / "data"),
            str(w / "data"),
        ],
        check=True,
    )
    run(
        "rodeknop",
        "init",
        "--home",
        "gemeente",
        "--id",
        GEM,
        "--name",
        "Gemeente Eindhoven",
        "--municipality-code",
        "GM0772",
        "--status-uri",
        "https://status.eindhoven.example/rk",
        cwd=w,
    )
    run("blauweknop", "keys", "generate", "--out", "anchor.jwk", cwd=w)
    run(
        "blauweknop",
        "trust",
        "build",
        "--anchor-key",
        "anchor.jwk",
        "--entry",
        "gemeente/trust-entry.json",
        "--out",
        "trust.jwt",
        cwd=w,
    )
    run("blauweknop", "wallet", "init", "--wallet", "wallet", cwd=w)
    return w


def test_offer_serve_receive(setup: Path) -> None:
    w = setup
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    out = json.loads(
        run(
            "rodeknop",
            "offer",
            "--home",
            "gemeente",
            "--data",
            "data/rode-knop-declaration.json",
            "--issuer-url",
            url,
            "--by-reference",
            "--svg",
            "offer.svg",
            "--png",
            "offer.png",
            "--json",
            cwd=w,
        )
    )
    assert out["ok"] and out["uri"].startswith("openid-credential-offer://?credential_offer_uri=")
    assert (w / "offer.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (w / "offer.png").read_bytes().startswith(b"\x89PNG")
    server = subprocess.Popen(
        [
            str(BIN / "rodeknop"),
            "serve",
            "--home",
            "gemeente",
            "--issuer-url",
            url,
            "--port",
            str(port),
        ],
        cwd=w,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(port, server)
        wrong = run(
            "blauweknop",
            "wallet",
            "receive",
            "--wallet",
            "wallet",
            out["uri"],
            "--trust-list",
            "trust.jwt",
            "--anchor",
            "anchor.pub.jwk",
            "--pin",
            "000000" if out["tx_code"] != "000000" else "111111",
            "--json",
            cwd=w,
            expect=1,
        )
        assert json.loads(wrong)["code"] == "invalid_grant"
        got = json.loads(
            run(
                "blauweknop",
                "wallet",
                "receive",
                "--wallet",
                "wallet",
                out["uri"],
                "--trust-list",
                "trust.jwt",
                "--anchor",
                "anchor.pub.jwk",
                "--json",
                cwd=w,
                env={"BLAUWEKNOP_TX_CODE": out["tx_code"]},
            )
        )
        assert got["count"] == 1
        assert got["credentials"][0]["vct"] == "urn:rodeknop:payment-incapacity-declaration:1"
        # The same offer cannot be redeemed twice.
        again = run(
            "blauweknop",
            "wallet",
            "receive",
            "--wallet",
            "wallet",
            out["uri"],
            "--trust-list",
            "trust.jwt",
            "--anchor",
            "anchor.pub.jwk",
            "--pin",
            out["tx_code"],
            "--json",
            cwd=w,
            expect=1,
        )
        assert json.loads(again)["code"] in {"not_found", "invalid_grant"}
    finally:
        server.terminate()
        server.wait(timeout=10)
    listed = run("rodeknop", "list", "--home", "gemeente", "--json", cwd=w)
    assert "GM0772-RK" in listed


def test_offer_prints_qr_and_pin(setup: Path) -> None:
    w = setup
    data = json.loads((w / "data" / "rode-knop-declaration.json").read_text())
    data["declaration_id"] = "GM0772-RK-2026-QR01"
    (w / "qr.json").write_text(json.dumps(data))
    text = run(
        "rodeknop",
        "offer",
        "--home",
        "gemeente",
        "--data",
        "qr.json",
        "--issuer-url",
        "https://issuer.eindhoven.example",
        cwd=w,
    )
    lines = text.splitlines()
    assert any(ch in text for ch in "█▀▄")  # the QR code, drawn with block characters
    assert any(line.startswith("openid-credential-offer://?credential_offer=") for line in lines)
    assert lines[-1].startswith("PIN (hand over separately): ") and lines[-1][-6:].isdigit()
    # Offering an id that was issued before is refused at once (exit 2), nothing stored.
    run(
        "rodeknop",
        "offer",
        "--home",
        "gemeente",
        "--data",
        "qr.json",
        "--issuer-url",
        "https://issuer.eindhoven.example",
        cwd=w,
    )  # an open offer may be repeated...
    bad = run(
        "rodeknop",
        "offer",
        "--home",
        "gemeente",
        "--data",
        "qr.json",
        "--issuer-url",
        "http://issuer.example",
        "--json",
        cwd=w,
        expect=2,
    )
    assert json.loads(bad)["code"] == "invalid_data"  # http outside loopback


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (
            (
                "rodeknop",
                "offer",
                "--home",
                "nope",
                "--data",
                "qr.json",
                "--issuer-url",
                "https://i.example",
            ),
            "home_not_found",
        ),
        (
            ("rodeknop", "serve", "--home", "nope", "--issuer-url", "https://i.example"),
            "home_not_found",
        ),
        (
            (
                "blauweknop",
                "issuer",
                "serve",
                "--home",
                "gemeente",
                "--issuer-url",
                "ftp://i.example",
            ),
            "invalid_data",
        ),
        (
            (
                "blauweknop",
                "offer",
                "--home",
                "gemeente",
                "--data",
                "missing.json",
                "--issuer-url",
                "https://i.example",
            ),
            "file_unreadable",
        ),
        (
            (
                "blauweknop",
                "wallet",
                "receive",
                "--wallet",
                "wallet",
                "mailto:x",
                "--trust-list",
                "trust.jwt",
                "--anchor",
                "anchor.pub.jwk",
            ),
            "offer_malformed",
        ),
    ],
)
def test_errors_are_one_json_object(setup: Path, args: tuple[str, ...], code: str) -> None:
    out = run(*args, "--json", cwd=setup, expect=1 if code == "offer_malformed" else 2)
    body = json.loads(out)
    assert body == {"ok": False, "code": code, "message": body["message"]}
