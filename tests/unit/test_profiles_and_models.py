"""Profiles (type metadata + schema) and the typed domain models."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from blauweknop import SD, DisclosureError, InvalidDataError, get_profile
from blauweknop._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

ROOT = Path(__file__).resolve().parents[2]
DEBT = json.loads((ROOT / "examples/data/debt-statement.json").read_text())
DECL = json.loads((ROOT / "examples/data/rode-knop-declaration.json").read_text())


@pytest.mark.parametrize("name", ["debt-statement.json", "rode-knop-declaration.json"])
def test_bundled_type_metadata_matches_specs(name: str) -> None:
    assert (ROOT / "specs/type-metadata" / name).read_bytes() == (
        ROOT / "src/blauweknop/profiles" / name
    ).read_bytes()


@pytest.mark.parametrize(
    "name", ["debt-statement.schema.json", "rode-knop-declaration.schema.json"]
)
def test_bundled_schema_matches_specs(name: str) -> None:
    assert (ROOT / "specs/schemas" / name).read_bytes() == (
        ROOT / "src/blauweknop/profiles" / name
    ).read_bytes()


def test_round_trips() -> None:
    assert DebtStatement.from_claims(DEBT).to_claims() == DEBT
    assert PaymentIncapacityDeclaration.from_claims(DECL).to_claims() == DECL


def with_change(data: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    d = copy.deepcopy(data)
    node = d
    for p in path[:-1]:
        node = node[p]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["subject", "family_name"], KeyError, "subject"),
        (["totals", "settled"], -1, "totals.settled"),
        (["totals", "outstanding"], 1, "totals.outstanding"),
        (["totals", "number_of_cases"], 3, "totals.number_of_cases"),
        (["balance_at"], "2026-11-20 09:00", "balance_at"),
        (["subject", "bsn"], "123456789", "subject.bsn"),
        (["subject", "birthdate"], "2026-02-30", "subject.birthdate"),
        (["cases", 0, "amount_outstanding"], 99999999, "cases[0].amount_outstanding"),
        (["cases", 0, "components", 0, "amount"], 1, "cases[0].components"),
        (["arrangement", "number_of_installments"], 40, "arrangement.number_of_installments"),
        (["currency"], "USD", "currency"),
        (["creditor", "oin"], "123", "creditor.oin"),
        (["unexpected"], 1, "unexpected"),
    ],
)
def test_debt_statement_refusals_name_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(InvalidDataError) as e:
        DebtStatement.from_claims(with_change(DEBT, path, value))
    assert e.value.field is not None
    assert e.value.field.startswith(field.split("[")[0]), (e.value.field, e.value.message)
    assert e.value.code == "invalid_data"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["valid_until"], "2026-11-01", "valid_until"),
        (["valid_until"], "2028-01-01", "valid_until"),
        (["requested_measures"], ["suspend_collection", "cancel_all_debts"], "requested_measures"),
        (["requested_measures"], [], "requested_measures"),
        (["payment_incapacity"], False, "payment_incapacity"),
        (["municipality", "code"], "0772", "municipality.code"),
        (["declaration_id"], KeyError, "declaration_id"),
        (["subject", "bsn"], "111111111", "subject.bsn"),
        (["extends_declaration_id"], DECL["declaration_id"], "extends_declaration_id"),
        (["admission_decision_date"], "2026-10-01", "admission_decision_date"),
    ],
)
def test_declaration_refusals_name_the_field(path: list[Any], value: Any, field: str) -> None:
    with pytest.raises(InvalidDataError) as e:
        PaymentIncapacityDeclaration.from_claims(with_change(DECL, path, value))
    assert e.value.field is not None and e.value.field.startswith(field), (
        e.value.field,
        e.value.message,
    )


def test_marking_follows_type_metadata() -> None:
    marked = get_profile(DEBT_STATEMENT_VCT).mark(DEBT)
    assert isinstance(marked["subject"]["bsn"], SD)
    assert not isinstance(marked["creditor"], SD) and not isinstance(marked["creditor"]["name"], SD)
    assert isinstance(marked["totals"]["outstanding"], SD)
    cases = marked["cases"]
    assert isinstance(cases, SD) and all(isinstance(c, SD) for c in cases.value)
    first = cases.value[0].value
    assert isinstance(first["amount_imposed"], SD)
    rk = get_profile(RODE_KNOP_VCT).mark(DECL)
    assert rk["valid_until"] == DECL["valid_until"]
    assert isinstance(rk["counsellor"]["name"], SD)
    assert not isinstance(rk["counsellor"]["organisation_phone"], SD)


def test_check_disclosed_refuses_never_and_technical() -> None:
    p = get_profile(RODE_KNOP_VCT)
    with pytest.raises(DisclosureError) as e:
        p.check_disclosed({"valid_until": "x"}, [("valid_until",)])
    assert e.value.code == "disclosure_not_allowed"
    with pytest.raises(DisclosureError) as e:
        p.check_disclosed({"status": {}}, [("status",)])
    assert e.value.code == "disclosure_not_allowed"
    with pytest.raises(DisclosureError) as e:
        p.check_disclosed({"subject": {"bsn": "999999990"}}, [])
    assert e.value.code == "sd_required"
