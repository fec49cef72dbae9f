"""Unit tests of the shared claim rules in the profile: messages in words, real calendar dates,
partial documents at verification, issuer binding, expanded W3C types, trust-list age."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blauweknop import Key, TrustList, build_trust_list, get_profile
from blauweknop._errors import InvalidDataError, MalformedError, TrustError
from blauweknop._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT, w3c_type_iris
from blauweknop._trust import DEFAULT_TRUST_LIST_MAX_AGE

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "src" / "blauweknop" / "profiles"
DEBT = json.loads((ROOT / "examples/data/debt-statement.json").read_text())
DECL = json.loads((ROOT / "examples/data/rode-knop-declaration.json").read_text())
CJIB = "urn:oin:00000001003214345000"
NOW = 1_795_000_000


def _patterned(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        if "pattern" in node:
            yield path, node
        for k, v in node.items():
            yield from _patterned(v, (*path, k))


@pytest.mark.parametrize(
    "name", ["debt-statement.schema.json", "rode-knop-declaration.schema.json"]
)
def test_every_pattern_says_in_words_what_it_expects(name: str) -> None:
    schema = json.loads((PROFILES / name).read_text())
    found = list(_patterned(schema))
    assert found
    for path, node in found:
        words = node.get("description", "")
        assert words and "^" not in words and "[" not in words, path


# (profile, data, path to a patterned claim) for every patterned claim our examples carry
_FIELDS = [
    (DEBT_STATEMENT_VCT, DEBT, ("creditor", "code")),
    (DEBT_STATEMENT_VCT, DEBT, ("creditor", "oin")),
    (DEBT_STATEMENT_VCT, DEBT, ("statement_id",)),
    (DEBT_STATEMENT_VCT, DEBT, ("balance_at",)),
    (DEBT_STATEMENT_VCT, DEBT, ("contact", "phone")),
    (DEBT_STATEMENT_VCT, DEBT, ("contact", "website")),
    (DEBT_STATEMENT_VCT, DEBT, ("subject", "bsn")),
    (DEBT_STATEMENT_VCT, DEBT, ("subject", "birthdate")),
    (DEBT_STATEMENT_VCT, DEBT, ("cases", 0, "payment_reference")),
    (RODE_KNOP_VCT, DECL, ("municipality", "code")),
    (RODE_KNOP_VCT, DECL, ("counsellor", "organisation_email")),
    (RODE_KNOP_VCT, DECL, ("subject", "address", "postal_code")),
    (RODE_KNOP_VCT, DECL, ("subject", "address", "house_number")),
]


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(("vct", "data", "path"), _FIELDS)
def test_a_bad_value_is_explained_without_the_regex(
    vct: str, data: dict[str, Any], path: tuple[Any, ...]
) -> None:
    with pytest.raises(InvalidDataError) as e:
        get_profile(vct).validate(_set(data, path, "?? bad ??"))
    msg = e.value.message
    assert "does not match" not in msg and "^" not in msg and "{" not in msg, msg
    assert "is not a" in msg or "is not an" in msg, msg


@given(st.integers(1900, 2100), st.integers(0, 14), st.integers(0, 33))
def test_dates_are_accepted_exactly_when_the_calendar_has_them(y: int, m: int, d: int) -> None:
    text = f"{y:04d}-{m:02d}-{d:02d}"
    try:
        dt.date(y, m, d)
        real = True
    except ValueError:
        real = False
    data = _set(DEBT, ("subject", "birthdate"), text)
    stamp = _set(DEBT, ("balance_at",), f"{text}T09:00:00+01:00")
    profile = get_profile(DEBT_STATEMENT_VCT)
    for candidate in (data, stamp):
        if real:
            profile.validate(candidate)
        else:
            with pytest.raises(InvalidDataError):
                profile.validate(candidate)
            with pytest.raises(MalformedError) as e:
                profile.check_received(candidate, issuer_id=CJIB, issuer_name="CJIB")
            assert e.value.code == "claims_invalid"


@pytest.mark.parametrize(
    "when", ["2026-11-20T24:00:00Z", "2026-11-20T09:60:00Z", "2026-11-20T09:00:00+24:00"]
)
def test_impossible_times_are_refused(when: str) -> None:
    with pytest.raises(InvalidDataError) as e:
        get_profile(DEBT_STATEMENT_VCT).validate(_set(DEBT, ("balance_at",), when))
    assert e.value.field == "balance_at"


def test_partial_documents_may_lack_only_selectively_disclosable_claims() -> None:
    p = get_profile(DEBT_STATEMENT_VCT)
    shown = {k: v for k, v in DEBT.items() if k not in ("cases", "arrangement", "subject")}
    shown["totals"] = {"outstanding": 50000}
    p.check_received(shown, issuer_id=CJIB, issuer_name="CJIB")  # a minimal presentation
    with pytest.raises(MalformedError):  # the whole credential is needed on import
        p.check_received(shown, issuer_id=CJIB, issuer_name="CJIB", partial=False)
    for never in ("creditor", "statement_id", "balance_at", "is_complete", "currency"):
        lacking = {k: v for k, v in shown.items() if k != never}
        with pytest.raises(MalformedError) as e:
            p.check_received(lacking, issuer_id=CJIB, issuer_name="CJIB")
        assert never in e.value.message
    with pytest.raises(MalformedError) as e:
        p.check_received({**shown, "totals_outstanding": 1}, issuer_id=CJIB, issuer_name="CJIB")
    assert "totals_outstanding" in e.value.message


@pytest.mark.parametrize(
    ("issuer_id", "name", "ok"),
    [
        (CJIB, "CJIB", True),
        (CJIB, "cjib", True),
        (CJIB, " CJIB\u00a0", True),
        (CJIB, "CJIB B.V.", False),
        ("urn:oin:00000001800866472000", "CJIB", False),
        ("https://cjib.example", "CJIB", False),  # no OIN to vouch for the claimed one
    ],
)
def test_issuer_binding(issuer_id: str, name: str, ok: bool) -> None:
    p = get_profile(DEBT_STATEMENT_VCT)
    if ok:
        p.check_issuer(DEBT, issuer_id=issuer_id, issuer_name=name)
    else:
        with pytest.raises(TrustError) as e:
            p.check_issuer(DEBT, issuer_id=issuer_id, issuer_name=name)
        assert e.value.code == "issuer_mismatch"


def test_w3c_types_expand_under_the_pinned_contexts() -> None:
    assert w3c_type_iris(["VerifiableCredential", "PaymentIncapacityDeclaration", "Other"]) == (
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://w3id.org/blauweknop/vocab#PaymentIncapacityDeclaration",
        "Other",  # a type no context defines stays as it is
    )


@pytest.mark.parametrize(
    ("age_days", "max_age", "ok"),
    [
        (34, None, True),
        (36, None, False),  # the default: 35 days from iat
        (36, 40 * 86400, True),
        (10, 7 * 86400, False),
    ],
)
def test_trust_list_maximum_age(age_days: int, max_age: int | None, ok: bool) -> None:
    anchor = Key.generate()
    entry = {"id": CJIB, "name": "CJIB", "roles": ["creditor"], "jwks": {"keys": []}}
    entry["jwks"] = {"keys": [Key.generate().public_jwk()]}
    token = build_trust_list([entry], anchor, valid_days=400, now=NOW - age_days * 86400)
    kw: dict[str, Any] = {} if max_age is None else {"max_age": max_age}
    if ok:
        assert TrustList.verify(token, anchor.public(), now=NOW, **kw).organisations
    else:
        with pytest.raises(TrustError) as e:
            TrustList.verify(token, anchor.public(), now=NOW, **kw)
        assert e.value.code == "trust_list_expired"
    assert DEFAULT_TRUST_LIST_MAX_AGE == 35 * 86400
