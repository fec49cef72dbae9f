"""``blauweknop ca init|issue``, ``issuer certificate`` and ``--ca-root`` as real commands:
an HTTPS issuer with a chain from the scheme CA issues, the wallet imports through the chain,
the creditor verifies; another root, no root and a revoked certificate are refused (exit 1)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DATA = ROOT / "examples" / "data"
ISS = "https://cjib.example"


def run(*args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BLAUWEKNOP_WALLET_PASSPHRASE": "x509 cli passphrase"}
    p = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == expect, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def jrun(*args: str, cwd: Path, expect: int = 0) -> dict[str, object]:
    out: dict[str, object] = json.loads(run(*args, "--json", cwd=cwd, expect=expect).stdout)
    return out


@pytest.fixture(scope="module")
def scheme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("x509-cli")
    run("blauweknop", "keys", "generate", "--out", "anchor.jwk", cwd=d)
    root = jrun("blauweknop", "ca", "init", "--out", "ca", "--name", "Test Root", cwd=d)
    assert root["ok"] and len(str(root["x509_hash"])) == 43
    assert (d / "ca" / "ca-key.jwk").stat().st_mode & 0o077 == 0
    run(
        "blauweknop", "issuer", "init", "--home", "cjib", "--id", ISS, "--name", "CJIB",
        "--oin", "00000001003214345000", "--status-uri", "https://status.cjib.example/bk",
        cwd=d,
    )  # fmt: skip
    entry = json.loads((d / "cjib" / "trust-entry.json").read_text())
    (d / "cjib.pub.jwk").write_text(json.dumps(entry["jwks"]["keys"][0]))
    issued = jrun(
        "blauweknop", "ca", "issue", "--ca", "ca", "--public-key", "cjib.pub.jwk",
        "--uri", ISS, "--dns", "cjib.example", "--role", "issuer", "--out", "cjib-cert.pem",
        cwd=d,
    )  # fmt: skip
    assert issued["role"] == "issuer"
    run("blauweknop", "issuer", "certificate", "--home", "cjib", "cjib-cert.pem", cwd=d)
    run(
        "blauweknop", "trust", "build", "--anchor-key", "anchor.jwk",
        "--entry", "cjib/trust-entry.json", "--out", "trust.jwt",
        cwd=d,
    )  # fmt: skip
    run("blauweknop", "wallet", "init", "--wallet", "w", cwd=d)
    run("blauweknop", "wallet", "holder-key", "--wallet", "w", "--out", "holder.pub.jwk", cwd=d)
    run(
        "blauweknop", "issue", "--home", "cjib", "--holder-key", "holder.pub.jwk",
        "--data", str(DATA / "debt-statement.json"), "--out", "cred.txt",
        cwd=d,
    )  # fmt: skip
    return d


def test_ca_issue_refuses_a_private_key(scheme: Path) -> None:
    out = jrun(
        "blauweknop", "ca", "issue", "--ca", "ca", "--public-key", "anchor.jwk",
        "--uri", ISS, "--out", "x.pem",
        cwd=scheme, expect=2,
    )  # fmt: skip
    assert out["code"] == "private_key_refused"
    assert not (scheme / "x.pem").exists()


def test_ca_init_never_overwrites(scheme: Path) -> None:
    out = jrun("blauweknop", "ca", "init", "--out", "ca", cwd=scheme, expect=2)
    assert out["code"] == "file_exists"


def test_wallet_and_verifier_accept_the_chain_and_refuse_others(scheme: Path) -> None:
    d = scheme
    head = (d / "cred.txt").read_text().split(".")[0]
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    assert len(header["x5c"]) == 1
    trust = ("--trust-list", "trust.jwt", "--anchor", "anchor.pub.jwk")
    # No pinned root: the x5c header is refused.
    out = jrun("blauweknop", "wallet", "add", "--wallet", "w", "cred.txt", *trust, cwd=d, expect=1)
    assert out["code"] == "header_not_allowed"
    # Another root: refused.
    run("blauweknop", "ca", "init", "--out", "other", "--name", "Test Root", cwd=d)
    out = jrun(
        "blauweknop", "wallet", "add", "--wallet", "w", "cred.txt", *trust,
        "--ca-root", "other/ca-cert.pem",
        cwd=d, expect=1,
    )  # fmt: skip
    assert out["code"] == "x5c_untrusted_root"
    # The scheme's root: imported.
    run(
        "blauweknop", "wallet", "add", "--wallet", "w", "cred.txt", *trust,
        "--ca-root", "ca/ca-cert.pem",
        cwd=d,
    )  # fmt: skip
    request = DATA / "requests" / "outstanding-totals.json"
    run(
        "blauweknop", "wallet", "present", "--wallet", "w", "--request", str(request),
        "--nonce", "n-x509", "--audience", "urn:oin:00000001800866472000", "--out", "vp.json",
        cwd=d,
    )  # fmt: skip
    verify = (
        "blauweknop", "verify", "vp.json", *trust, "--nonce", "n-x509",
        "--audience", "urn:oin:00000001800866472000", "--allow-missing-status",
    )  # fmt: skip
    ok = jrun(*verify, "--ca-root", "ca/ca-cert.pem", cwd=d)
    assert ok["ok"] is True
    bad = jrun(*verify, "--ca-root", "other/ca-cert.pem", cwd=d, expect=1)
    assert bad["code"] == "x5c_untrusted_root"
    # The scheme authority revokes the certificate through the trust list.
    run(
        "blauweknop", "trust", "build", "--anchor-key", "anchor.jwk",
        "--entry", "cjib/trust-entry.json", "--revoked-cert", "cjib-cert.pem",
        "--out", "trust-revoked.jwt",
        cwd=d,
    )  # fmt: skip
    revoked = jrun(
        "blauweknop", "verify", "vp.json", "--trust-list", "trust-revoked.jwt",
        "--anchor", "anchor.pub.jwk", "--nonce", "n-x509",
        "--audience", "urn:oin:00000001800866472000", "--allow-missing-status",
        "--ca-root", "ca/ca-cert.pem",
        cwd=d, expect=1,
    )  # fmt: skip
    assert revoked["code"] == "x5c_revoked"
