"""Issue 17: ``blauweknop area report|combine|chart`` and ``blauweknop issue --area`` as a
municipality's monitor and the issuers would run them (in-process with click's runner)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from area_world import AFTER, PARTY, PERIOD, build_area_world
from blauweknop_cli.main import blauweknop
from click.testing import CliRunner


def test_report_combine_and_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the commands read the clock: the period must have ended and the trust list be fresh
    monkeypatch.setattr(time, "time", lambda: AFTER)
    w = build_area_world(tmp_path / "w", 60)
    root = w.scheme.root
    (tmp_path / "pp.key").write_text("ab" * 32 + "\n")
    # the party's private key: the issuers of the world sealed their BSNs to its public half
    (tmp_path / "party.jwk").write_text(json.dumps(PARTY.private_jwk()))
    runner = CliRunner()
    outs = []
    for slot in ("cjib", "duo"):
        r = runner.invoke(
            blauweknop,
            [
                "area",
                "report",
                "--home",
                str(root / slot),
                "--period",
                PERIOD,
                "--out",
                str(tmp_path / f"{slot}.jwt"),
                "--extract-out",
                str(tmp_path / f"{slot}-extract.jwt"),
            ],
        )
        assert r.exit_code == 0, r.output
        assert "PC4" in r.output
        outs.append(str(tmp_path / f"{slot}-extract.jwt"))
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "combine",
            *outs,
            "--key-file",
            str(tmp_path / "pp.key"),
            "--party-key",
            str(tmp_path / "party.jwk"),
            "--trust-list",
            str(root / "trust.jwt"),
            "--anchor",
            str(root / "anchor.pub.jwk"),
            "--out",
            str(tmp_path / "combined.json"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    combined = json.loads(r.output)
    assert combined["ok"] and "arrears_2plus" in combined["measures"]
    r = runner.invoke(
        blauweknop,
        ["area", "chart", str(tmp_path / "combined.json"), "--out", str(tmp_path / "c"), "--json"],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["files"] == [str(tmp_path / "c.png"), str(tmp_path / "c.svg")]
    # --json errors: a period that is no month, a key file that is no key
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "report",
            "--home",
            str(root / "cjib"),
            "--period",
            "2026-13",
            "--out",
            str(tmp_path / "x.jwt"),
            "--json",
        ],
    )
    assert r.exit_code == 2 and json.loads(r.output)["code"] == "invalid_data"
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "report",
            "--home",
            str(root / "cjib"),
            "--period",
            PERIOD,
            "--out",
            str(tmp_path / "y.jwt"),
            "--json",
        ],
    )
    assert r.exit_code == 0 and json.loads(r.output)["period"] == PERIOD
    (tmp_path / "bad.key").write_text("not hex\n")
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "combine",
            *outs,
            "--key-file",
            str(tmp_path / "bad.key"),
            "--party-key",
            str(tmp_path / "party.jwk"),
            "--trust-list",
            str(root / "trust.jwt"),
            "--anchor",
            str(root / "anchor.pub.jwk"),
            "--out",
            str(tmp_path / "c2.json"),
            "--json",
        ],
    )
    assert r.exit_code == 2 and json.loads(r.output)["code"] == "invalid_data"
    # another party's key does not open the sealed BSNs: refused, nothing written
    r = runner.invoke(blauweknop, ["area", "party-keys", "--out-dir", str(tmp_path / "other")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "combine",
            *outs,
            "--key-file",
            str(tmp_path / "pp.key"),
            "--party-key",
            str(tmp_path / "other" / "party.jwk"),
            "--trust-list",
            str(root / "trust.jwt"),
            "--anchor",
            str(root / "anchor.pub.jwk"),
            "--out",
            str(tmp_path / "c3.json"),
            "--json",
        ],
    )
    assert r.exit_code == 1 and json.loads(r.output)["code"] == "jwe_key_unknown", r.output
    assert not (tmp_path / "c3.json").exists()
    # an extract altered by one byte is refused
    token = (tmp_path / "cjib-extract.jwt").read_text().strip()
    h, p, s = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    body["rows"].append(dict(body["rows"][0]))  # one person counted twice
    p2 = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    (tmp_path / "bad-extract.jwt").write_text(f"{h}.{p2}.{s}")
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "combine",
            str(tmp_path / "bad-extract.jwt"),
            "--key-file",
            str(tmp_path / "pp.key"),
            "--party-key",
            str(tmp_path / "party.jwk"),
            "--trust-list",
            str(root / "trust.jwt"),
            "--anchor",
            str(root / "anchor.pub.jwk"),
            "--out",
            str(tmp_path / "c4.json"),
            "--json",
        ],
    )
    assert r.exit_code == 1 and json.loads(r.output)["code"] == "signature_invalid", r.output
    assert (tmp_path / "c.png").stat().st_size > 1000
    # a signed report, altered by one byte, is refused (exit 1)
    token = (tmp_path / "cjib.jwt").read_text().strip()
    h, p, s = token.split(".")
    bad = f"{h}.{p[:-2]}{'A' if p[-2] != 'A' else 'B'}{p[-1]}.{s}"
    (tmp_path / "bad.jwt").write_text(bad)
    r = runner.invoke(
        blauweknop,
        [
            "area",
            "chart",
            str(tmp_path / "bad.jwt"),
            "--out",
            str(tmp_path / "b"),
            "--trust-list",
            str(root / "trust.jwt"),
            "--anchor",
            str(root / "anchor.pub.jwk"),
        ],
    )
    assert r.exit_code == 1, r.output
    assert not (tmp_path / "b.png").exists()


def test_issue_with_area_records_it_in_the_register_only(tmp_path: Path) -> None:
    from blauweknop import Issuer, Key

    home = tmp_path / "cjib"
    Issuer.init(
        home,
        issuer_id="urn:oin:00000001003214345000",
        name="CJIB",
        status_base_uri="https://status.cjib.example/bk",
    )
    (tmp_path / "holder.pub.jwk").write_text(json.dumps(Key.generate().public_jwk()))
    base = [
        "issue",
        "--home",
        str(home),
        "--holder-key",
        str(tmp_path / "holder.pub.jwk"),
        "--data",
        "examples/data/debt-statement.json",
    ]
    runner = CliRunner()
    bad = runner.invoke(blauweknop, [*base, "--out", str(tmp_path / "bad.txt"), "--area", "56"])
    assert bad.exit_code == 2 and "area" in bad.output
    assert not (tmp_path / "bad.txt").exists()
    ok = runner.invoke(blauweknop, [*base, "--out", str(tmp_path / "c.txt"), "--area", "5611"])
    assert ok.exit_code == 0, ok.output
    (row,) = Issuer.open(home).register.area_snapshot(2**40)
    assert (row["pc4"], row["amount_band"], row["in_arrears"]) == ("5611", "lt_1000", 1)
    assert row["sealed_bsn"] is None  # no party key configured: nothing to seal to
    assert "5611" not in (tmp_path / "c.txt").read_text()
    # the party makes its keys; the issuer gets the public half only
    r = runner.invoke(blauweknop, ["area", "party-keys", "--out-dir", str(tmp_path / "pp")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "pp" / "party.jwk").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "pp" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    pub = json.loads((tmp_path / "pp" / "party.pub.jwk").read_text())
    assert "d" not in pub
    (home / "area-party.pub.jwk").write_text(json.dumps(pub))
    claims = json.loads(Path("examples/data/debt-statement.json").read_text())
    claims["statement_id"] += "-2"
    (tmp_path / "second.json").write_text(json.dumps(claims))
    second = [*base[:-1], str(tmp_path / "second.json")]
    ok = runner.invoke(blauweknop, [*second, "--out", str(tmp_path / "d.txt"), "--area", "5612"])
    assert ok.exit_code == 0, ok.output
    rows = Issuer.open(home).register.area_snapshot(2**40)
    (sealed,) = [r["sealed_bsn"] for r in rows if r["pc4"] == "5612"]
    bsn = json.loads(Path("examples/data/debt-statement.json").read_text())["subject"]["bsn"]
    assert str(sealed).count(".") == 4 and bsn not in str(sealed)
    from blauweknop.area import Pseudonymiser

    party = Pseudonymiser(
        bytes.fromhex((tmp_path / "pp" / "pseudonym.key").read_text().strip()),
        json.loads((tmp_path / "pp" / "party.jwk").read_text()),
    )
    assert party._open(sealed) == bsn  # only the party opens it
