"""Issue 17: ``blauweknop arrangement propose|issue`` (in-process with click's runner): the
split is printed and written, a replayed vp_token is rejected (exit 1) and nothing is issued."""

from __future__ import annotations

import json
from pathlib import Path

from arrangement_world import build_world
from blauweknop_cli.main import blauweknop
from click.testing import CliRunner
from scheme import PILOT_NOW


def test_propose_and_issue(tmp_path: Path) -> None:
    import datetime as dt

    w = build_world(tmp_path / "w")
    request, vp = w.statements_vp()
    (tmp_path / "vp.json").write_text(json.dumps(vp))
    (tmp_path / "request.json").write_text(json.dumps(request))
    anchor = w.scheme.root / "anchor.pub.jwk"
    at = dt.datetime.fromtimestamp(PILOT_NOW + 30, dt.UTC).isoformat()
    common = [
        "--home",
        str(w.coordinator_issuer.home),
        "--trust-list",
        str(w.root / "trust.jwt"),
        "--anchor",
        str(anchor),
        "--status-dir",
        str(w.root / "status-cache"),
        "--request",
        str(tmp_path / "request.json"),
        "--monthly-amount",
        "45000",
        "--start-date",
        "2027-01-01",
        "--id",
        "BRR-CLI-1",
        "--at",
        at,
    ]
    runner = CliRunner()
    bad = runner.invoke(
        blauweknop,
        [
            "arrangement",
            "propose",
            str(tmp_path / "vp.json"),
            "--nonce",
            "another",
            *common,
            "--out",
            str(tmp_path / "bad.json"),
        ],
    )
    assert bad.exit_code == 1, bad.output
    assert "nonce" in bad.output and not (tmp_path / "bad.json").exists()
    ok = runner.invoke(
        blauweknop,
        [
            "arrangement",
            "propose",
            str(tmp_path / "vp.json"),
            "--nonce",
            "n-arr",
            *common,
            "--out",
            str(tmp_path / "proposal.json"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "EUR 450.00" in ok.output and "CJIB" in ok.output and "DUO" in ok.output
    proposal = json.loads((tmp_path / "proposal.json").read_text())
    lines = proposal["arrangement"]["creditors"]
    assert sum(x["installment_amount"] for x in lines) == 45000
    # an edited proposal whose shares no longer add up is refused before signing (exit 2)
    lines[0]["installment_amount"] += 1
    (tmp_path / "edited.json").write_text(json.dumps(proposal))
    edited = runner.invoke(
        blauweknop,
        [
            "arrangement",
            "issue",
            str(tmp_path / "edited.json"),
            "--home",
            str(w.coordinator_issuer.home),
            "--out",
            str(tmp_path / "x.sd-jwt"),
        ],
    )
    assert edited.exit_code == 2, edited.output
    issued = runner.invoke(
        blauweknop,
        [
            "arrangement",
            "issue",
            str(tmp_path / "proposal.json"),
            "--home",
            str(w.coordinator_issuer.home),
            "--out",
            str(tmp_path / "arr.sd-jwt"),
        ],
    )
    assert issued.exit_code == 0, issued.output
    assert w.coordinator_issuer.register.get("BRR-CLI-1").state == "valid"
    assert (tmp_path / "arr.sd-jwt").stat().st_mode & 0o777 == 0o600
