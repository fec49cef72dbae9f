"""Issue 17: the payment arrangement across creditors (Betalingsregeling Rijk), end to end in
both encodings: the coordinator verifies the citizen's statements, splits the monthly amount,
issues the arrangement; each creditor verifies it and sees its own line and the totals only;
a changed statement leads to a new arrangement that supersedes (revokes) the old one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from arrangement_world import COORD, MONTHLY, NOW, START, World, build_world
from scheme import CJIB, DUO, DUO_ORG

from blauweknop import InvalidDataError, Issuer, PolicyError, TrustError, get_profile
from blauweknop.arrangement import (
    ARRANGEMENT_CONTEXT,
    PAYMENT_ARRANGEMENT_VCT,
    PaymentArrangement,
    creditor_request,
    creditor_share,
)
from blauweknop.debt import DebtStatement

ROOT = Path(__file__).resolve().parents[2]
CJIB_OIN, DUO_OIN = CJIB[8:], DUO[8:]


@pytest.fixture(scope="module", params=["sd-jwt", "di"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp(f"arr-{request.param}"), fmt=request.param)


def _fmt(world: World) -> str:
    return "di" if world.wallet.credentials()[0].format == "ldp_vc" else "sd-jwt"


def _propose(world: World, arrangement_id: str, **kw: object):  # type: ignore[no-untyped-def]
    fmt = _fmt(world)
    request, vp = world.statements_vp(fmt=fmt)
    return world.coordinator().propose(
        vp,
        nonce="n-arr",
        audience=COORD,
        monthly_amount=kw.pop("monthly_amount", MONTHLY),
        start_date=START,
        arrangement_id=arrangement_id,
        request=request,
        now=NOW,
        **kw,
    )


def test_the_pilot_split_adds_up_and_follows_the_pilot_statements(world: World) -> None:
    proposal = _propose(world, "BRR-T-1")
    arr = proposal.arrangement
    owed = {d.creditor_oin: d.outstanding for d in proposal.debts}
    # the statements' own totals: CJIB 500.00, DUO 14,380.00
    assert owed == {CJIB_OIN: 50000, DUO_OIN: 1438000}
    lines = {x.oin: x for x in arr.creditors}
    assert sum(x.installment_amount for x in arr.creditors) == MONTHLY
    for oin, line in lines.items():
        exact = MONTHLY * owed[oin] / sum(owed.values())
        assert abs(line.installment_amount - exact) < 1
        n = line.number_of_installments
        assert (n - 1) * line.installment_amount + line.last_installment_amount == owed[oin]
        assert 0 < line.last_installment_amount <= line.installment_amount
    assert lines[CJIB_OIN].covered_cases == ("VK-2026-0007", "VK-2026-0042")
    # the Rode Knop declaration's window is the pause: no instalment falls inside it
    assert arr.pause is not None and arr.pause.reason == "rode_knop"
    assert lines[DUO_OIN].first_due_date > arr.pause.end_date
    assert arr.subject.family_name == "Jansen"


@pytest.mark.parametrize("creditor", [CJIB_OIN, DUO_OIN])
def test_each_creditor_sees_its_own_line_and_the_totals_only(world: World, creditor: str) -> None:
    fmt = _fmt(world)
    proposal = _propose(world, f"BRR-T-own-{creditor[-6:]}")
    issued = world.coordinator().issue(proposal, format=fmt, now=NOW)
    world.wallet.add(issued.text, trust_list=world.trust, now=NOW)
    world.publish()
    request = creditor_request(creditor, format=fmt)
    aud = f"urn:oin:{creditor}"
    vp = world.wallet.present(request, nonce="n-cred", audience=aud, now=NOW + 5)
    result = world.verifier().verify(
        vp, nonce="n-cred", audience=aud, request=request, now=NOW + 10
    )
    (cred,) = result.credentials
    assert cred.vct == PAYMENT_ARRANGEMENT_VCT and cred.issuer == COORD
    share = creditor_share(cred, creditor)
    expected = proposal.arrangement.line_for(creditor)
    assert share.line == expected
    assert share.other_lines == 0  # the other creditor's line stays hidden
    assert (share.monthly_amount, share.total_outstanding) == (MONTHLY, 1488000)
    other = DUO_OIN if creditor == CJIB_OIN else CJIB_OIN
    assert other not in json.dumps(cred.claims)
    with pytest.raises(PolicyError) as info:
        creditor_share(cred, other)
    assert info.value.code == "creditor_line_missing"


def test_a_changed_statement_supersedes_the_arrangement(
    tmp_path: Path,
) -> None:
    w = build_world(tmp_path)
    first = _propose(w, "BRR-S-1")
    coordinator = w.coordinator()
    coordinator.issue(first, now=NOW)
    # DUO receives a payment: a new statement with a later balance
    claims = DUO_ORG.claims(statement_id="DUO-2026-448813", balance_at="2026-11-21T23:59:59+01:00")
    claims["totals"] = {**claims["totals"], "settled": 512000, "outstanding": 1338000}
    claims["cases"] = [{**claims["cases"][0], "amount_outstanding": 1338000}]
    new = w.scheme.duo.issue(
        DebtStatement.from_claims(claims), holder_jwk=w.wallet.holder_jwk(), now=NOW + 60
    )
    w.wallet.add(new.text, trust_list=w.trust, now=NOW + 60)
    w.publish(NOW + 60)
    request, vp = w.statements_vp(at=NOW + 90)
    second = coordinator.propose(
        vp,
        nonce="n-arr",
        audience=COORD,
        monthly_amount=MONTHLY,
        start_date=START,
        arrangement_id="BRR-S-2",
        supersedes="BRR-S-1",
        request=request,
        now=NOW + 90,
    )
    assert second.differs_from(first.arrangement)
    assert not first.differs_from(first.arrangement)
    assert second.arrangement.total_outstanding == 50000 + 1338000
    assert sum(x.installment_amount for x in second.arrangement.creditors) == MONTHLY
    coordinator.issue(second, now=NOW + 90)
    assert w.coordinator_issuer.register.get("BRR-S-1").state == "revoked"
    assert w.coordinator_issuer.register.get("BRR-S-2").state == "valid"


def test_superseding_an_unknown_arrangement_issues_nothing(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    proposal = _propose(w, "BRR-U-2", supersedes="BRR-NEVER")
    with pytest.raises(PolicyError) as info:
        w.coordinator().issue(proposal, now=NOW)
    assert info.value.code == "unknown_arrangement"
    with pytest.raises(PolicyError):  # the register knows no such id
        w.coordinator_issuer.register.get("BRR-U-2")


def test_only_an_arrangement_coordinator_issues_the_type(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    proposal = _propose(w, "BRR-R-1")
    creditor = Issuer.init(
        tmp_path / "not-coord",
        issuer_id="urn:oin:00000001821002193000",
        name="Betalingsregeling Rijk",
        roles=["creditor"],
    )
    with pytest.raises(TrustError) as info:
        creditor.issue(proposal.arrangement, holder_jwk=w.wallet.holder_jwk(), now=NOW)
    assert info.value.code == "untrusted_issuer"


def test_the_example_arrangement_is_valid_and_its_shares_add_up() -> None:
    data = json.loads((ROOT / "examples/data/payment-arrangement.json").read_text())
    arr = PaymentArrangement.from_claims(data)
    assert sum(x.installment_amount for x in arr.creditors) == arr.monthly_amount
    bad = {**data, "monthly_amount": data["monthly_amount"] + 1}
    with pytest.raises(InvalidDataError) as info:
        PaymentArrangement.from_claims(bad)
    assert getattr(info.value, "field", None) == "monthly_amount"
    lines = [dict(x) for x in data["creditors"]]
    lines[0]["last_due_date"] = "2031-01-01"
    with pytest.raises(InvalidDataError) as info:
        PaymentArrangement.from_claims({**data, "creditors": lines})
    assert getattr(info.value, "field", None) == "creditors[0].last_due_date"


def test_the_profile_files_are_bundled_copies_of_the_specs() -> None:
    for sub, name in (
        ("type-metadata", "payment-arrangement.json"),
        ("schemas", "payment-arrangement.schema.json"),
    ):
        assert (ROOT / "specs" / sub / name).read_bytes() == (
            ROOT / "src/blauweknop/profiles" / name
        ).read_bytes()
    assert (ROOT / "specs/contexts/payment-arrangement-v1.jsonld").read_bytes() == (
        ROOT / "src/blauweknop/contexts/payment-arrangement-v1.jsonld"
    ).read_bytes()
    profile = get_profile(PAYMENT_ARRANGEMENT_VCT)
    assert profile.w3c_type == "PaymentArrangement"
    assert set(profile.contexts) == {ARRANGEMENT_CONTEXT}
    assert profile.issuer_roles == frozenset({"arrangement_coordinator"})
    # a creditor line is one disclosure; the totals are always shown
    assert profile.sd_rule(("creditors", 0)) == "always"
    assert profile.sd_rule(("monthly_amount",)) == "never"
    assert profile.sd_rule(("subject", "bsn")) == "always"


def test_the_type_registers_through_the_entry_point_without_an_import() -> None:
    code = (
        "import sys, blauweknop\n"
        "assert 'blauweknop.arrangement' not in sys.modules\n"
        "p = blauweknop.get_profile('urn:blauweknop:payment-arrangement:1')\n"
        "print(p.w3c_type)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "PaymentArrangement"


def test_a_supersede_key_orders_arrangements_by_computation_time() -> None:
    profile = get_profile(PAYMENT_ARRANGEMENT_VCT)
    assert profile.supersede_key is not None
    early = profile.supersede_key({"computed_at": "2026-11-22T10:00:00Z"})
    late = profile.supersede_key({"computed_at": "2026-11-23T10:00:00Z"})
    assert early < late
    assert profile.supersede_key({"computed_at": "not a time"}) is None
