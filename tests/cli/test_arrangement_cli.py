"""Issue 17: ``blauweknop arrangement propose|issue`` (in-process with click's runner): the
split is printed and written, a replayed vp_token is rejected (exit 1) and nothing is issued,
an edited proposal is refused (exit 2); ``--json`` gives one object either way."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from arrangement_world import build_world
from blauweknop_cli.main import blauweknop
from click.testing import CliRunner, Result
from scheme import PILOT_NOW


def run(*args: str) -> Result:
    return CliRunner().invoke(blauweknop, list(args))


def as_json(r: Result) -> dict[str, Any]:
    value = json.loads(r.output)
    assert isinstance(value, dict)
    return value


def test_propose_and_issue(tmp_path: Path) -> None:
    w = build_world(tmp_path / "w")
    request, vp = w.statements_vp()
    (tmp_path / "vp.json").write_text(json.dumps(vp))
    (tmp_path / "request.json").write_text(json.dumps(request))
    at = dt.datetime.fromtimestamp(PILOT_NOW + 30, dt.UTC).isoformat()
    home = str(w.coordinator_issuer.home)
    common = [
        *("--home", home, "--trust-list", str(w.root / "trust.jwt")),
        *("--anchor", str(w.scheme.root / "anchor.pub.jwk")),
        *(
            "--status-dir",
            str(w.root / "status-cache"),
            "--request",
            str(tmp_path / "request.json"),
        ),
        *("--monthly-amount", "45000", "--start-date", "2027-01-01", "--id", "BRR-CLI-1"),
        *("--at", at),
    ]
    propose = ("arrangement", "propose", str(tmp_path / "vp.json"))
    bad = run(*propose, "--nonce", "another", *common, "--out", str(tmp_path / "b.json"), "--json")
    assert bad.exit_code == 1, bad.output
    assert as_json(bad)["code"] == "nonce_mismatch" and not (tmp_path / "b.json").exists()

    ok = run(*propose, "--nonce", "n-arr", *common, "--out", str(tmp_path / "proposal.json"))
    assert ok.exit_code == 0, ok.output
    assert "EUR 450.00" in ok.output and "CJIB" in ok.output and "DUO" in ok.output
    again = run(*propose, "--nonce", "n-arr", *common, "--out", str(tmp_path / "p2.json"), "--json")
    assert as_json(again)["ok"] and as_json(again)["arrangement"]["monthly_amount"] == 45000
    proposal = json.loads((tmp_path / "proposal.json").read_text())
    lines = proposal["arrangement"]["creditors"]
    assert sum(x["installment_amount"] for x in lines) == 45000

    # an edited proposal whose shares no longer add up is refused before signing (exit 2)
    lines[0]["installment_amount"] += 1
    (tmp_path / "edited.json").write_text(json.dumps(proposal))
    issue = ("arrangement", "issue", "--home", home)
    edited = run(*issue, str(tmp_path / "edited.json"), "--out", str(tmp_path / "x"), "--json")
    assert edited.exit_code == 2, edited.output
    assert as_json(edited)["code"] == "invalid_data" and not (tmp_path / "x").exists()

    issued = run(*issue, str(tmp_path / "proposal.json"), "--out", str(tmp_path / "a"), "--json")
    assert issued.exit_code == 0, issued.output
    assert as_json(issued)["credential_id"] == "BRR-CLI-1"
    assert w.coordinator_issuer.register.get("BRR-CLI-1").state == "valid"
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o600
