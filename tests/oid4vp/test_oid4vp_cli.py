"""The commands of the README's creditor section, as real subprocesses on the real clock:
``blauweknop verifier serve`` on loopback, ``verifier request``, ``wallet respond``,
``verifier result``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from blauweknop.x509 import certificate_to_pem
from tests.live import _free_port
from tests.oid4vp.world import PASSPHRASE, REQUESTS, World, build_world

BIN = Path(sys.executable).parent / "blauweknop"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, str]]]:
    work = tmp_path_factory.mktemp("oid4vp-cli")
    w = build_world(work, real_clock=True)
    w.wallet.close()  # the CLI opens it itself
    (work / "trust.jwt").write_text(w.wallet_trust_jwt)
    (work / "anchor.pub.jwk").write_text(json.dumps(w.scheme.anchor.public_jwk()))
    (work / "ca-cert.pem").write_text(certificate_to_pem(w.root))
    w.creditor_key.save(work / "verifier.jwk")
    leaf = w.x5c[0]
    pem = (
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(leaf[i : i + 64] for i in range(0, len(leaf), 64))
        + "\n-----END CERTIFICATE-----\n"
    )
    (work / "verifier-cert.pem").write_text(pem)
    yield (
        w,
        {
            "work": str(work),
            "trust": str(work / "trust.jwt"),
            "anchor": str(work / "anchor.pub.jwk"),
            "root": str(work / "ca-cert.pem"),
            "key": str(work / "verifier.jwk"),
            "cert": str(work / "verifier-cert.pem"),
            "sessions": str(work / "sessions.sqlite"),
            "status": str(w.work / "status-cache"),
            "wallet": str(work / "wallet"),
        },
    )


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BLAUWEKNOP_WALLET_PASSPHRASE": PASSPHRASE}
    p = subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if check:
        assert p.returncode == 0, p.stderr + p.stdout
    return p


def test_creditor_request_wallet_respond_result(files: tuple[World, dict[str, str]]) -> None:
    _, f = files
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    common = [
        "--trust-list", f["trust"], "--anchor", f["anchor"], "--ca-root", f["root"],
        "--key", f["key"], "--cert", f["cert"], "--base-url", base, "--sessions", f["sessions"],
        "--status-dir", f["status"],
    ]  # fmt: skip
    server = subprocess.Popen(
        [str(BIN), "verifier", "serve", *common, "--port", str(port),
         "--request", str(REQUESTS / "rode-knop-check.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the verifier did not start"
            time.sleep(0.1)
        req = json.loads(
            run("verifier", "request", *common, "--request",
                str(REQUESTS / "hold-and-totals.json"), "--json").stdout
        )  # fmt: skip
        assert req["wallet_url"].startswith("haip-vp://")
        pending = json.loads(run("verifier", "result", req["session_id"], "--sessions",
                                 f["sessions"], "--json").stdout)  # fmt: skip
        assert pending["status"] == "pending"
        answered = json.loads(
            run("wallet", "respond", req["wallet_url"], "--wallet", f["wallet"], "--trust-list",
                f["trust"], "--anchor", f["anchor"], "--ca-root", f["root"], "--yes",
                "--json").stdout
        )  # fmt: skip
        assert answered["verifier"] == "CJIB"
        assert sorted(answered["answered"]) == ["debt_statements", "payment_incapacity_declaration"]
        out = run("verifier", "result", req["session_id"], "--sessions", f["sessions"]).stdout
        assert "collection on hold until" in out and "from Gemeente Eindhoven" in out
        # an over-asking request (the BSN) is refused by the wallet: exit 1, nothing sent
        bsn = json.loads(
            run("verifier", "request", *common, "--request",
                str(REQUESTS / "rode-knop-check-public-creditor.json"), "--json").stdout
        )  # fmt: skip
        refused = run(
            "wallet", "respond", bsn["wallet_url"], "--wallet", f["wallet"], "--trust-list",
            f["trust"], "--anchor", f["anchor"], "--ca-root", f["root"], "--yes", check=False,
        )  # fmt: skip
        assert refused.returncode == 1, refused.stderr
        assert "request_not_registered" in refused.stderr
        assert "subject.bsn" in refused.stdout + refused.stderr
        still = json.loads(run("verifier", "result", bsn["session_id"], "--sessions",
                               f["sessions"], "--json").stdout)  # fmt: skip
        assert still["status"] == "pending"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_json_errors_are_one_object_with_a_code(files: tuple[World, dict[str, str]]) -> None:
    _, f = files
    common = [
        "--trust-list", f["trust"], "--anchor", f["anchor"], "--ca-root", f["root"],
        "--key", f["key"], "--cert", f["cert"], "--base-url", "http://127.0.0.1:9",
        "--sessions", f["sessions"],
    ]  # fmt: skip
    cases = [
        (["verifier", "result", "nope", "--sessions", f["sessions"]], 1, "session_unknown"),
        (["verifier", "request", *common, "--request", f["trust"]], 2, None),
        (["verifier", "serve", *common, "--key", f["root"]], 2, None),
        (["wallet", "respond", "ftp://x?client_id=a", "--wallet", f["wallet"], "--trust-list",
          f["trust"], "--anchor", f["anchor"], "--ca-root", f["root"]], 1, "request_uri_invalid"),
        (["wallet", "respond", "haip-vp://?client_id=a&response_type=vp_token", "--wallet",
          f["wallet"], "--trust-list", f["trust"], "--anchor", f["anchor"], "--ca-root",
          f["root"]], 1, "request_unsigned"),
    ]  # fmt: skip
    for args, exit_code, code in cases:
        p = run(*args, "--json", check=False)
        assert p.returncode == exit_code, (args, p.stdout, p.stderr)
        out = json.loads(p.stdout)
        assert out["ok"] is False and out["code"], out
        if code is not None:
            assert out["code"] == code, out
