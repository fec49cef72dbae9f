"""Every example in ``examples/data/`` and in ``specs/*.md`` is valid, and issues and verifies.

Convention (``specs/README.md``, "Example blocks"): a fenced block whose info string is
``json example=<kind>`` or ``csv example=<kind>`` is an example and is checked here; other
``json`` blocks are illustrations and only have to be valid JSON. The bundled copies of the
profiles are compared with ``specs/`` in ``test_profiles_and_models.py``, not here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from blauweknop import (
    DCQLQuery,
    Issuer,
    Key,
    TrustList,
    Verifier,
    build_trust_list,
    did_jwk,
    get_profile,
    verify_sd_jwt,
)
from blauweknop._model import CredentialModel
from blauweknop._profile import w3c_type_iris
from blauweknop._sdjwt import SDJWT
from blauweknop._sdjwt_vc import issue_sd_jwt_vc
from blauweknop._trust import parse_entry
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration
from rodeknop_vc._batch import read_batch

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
DATA = ROOT / "examples" / "data"
REQUESTS = DATA / "requests"
TECHNICAL = ("iss", "iat", "nbf", "exp", "vct", "cnf", "status")
TZ = ZoneInfo("Europe/Amsterdam")
#: 2026-11-20T12:00:00+01:00: after every example's issue date, inside the example windows.
NOW = int(dt.datetime(2026, 11, 20, 12, tzinfo=TZ).timestamp())

MODELS: dict[str, type[CredentialModel]] = {
    "debt-statement": DebtStatement,
    "rode-knop-declaration": PaymentIncapacityDeclaration,
}
ROLE = {"debt-statement": "creditor", "rode-knop-declaration": "municipality"}


# -- collecting the examples ----------------------------------------------------------------------
_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```\s*$", re.M | re.S)


def fenced_blocks() -> list[tuple[str, str, str | None, str]]:
    """(page, language, example kind or None, body) for every fenced block in specs/*.md."""
    out = []
    for md in sorted(SPECS.glob("*.md")):
        for m in _FENCE.finditer(md.read_text("utf-8")):
            kind = re.search(r"\bexample=([\w-]+)", m.group("info"))
            out.append((md.name, m.group("lang"), kind.group(1) if kind else None, m.group("body")))
    return out


def examples(kind: str) -> list[Any]:
    return [
        pytest.param(body, id=f"{page}#{i}")
        for i, (page, _, k, body) in enumerate(fenced_blocks())
        if k == kind
    ]


def kind_of(data: Mapping[str, Any]) -> str | None:
    """Which credential a data file holds (by its id claim), or None for other JSON."""
    if "statement_id" in data:
        return "debt-statement"
    if "declaration_id" in data:
        return "rode-knop-declaration"
    return None


def credential_examples() -> list[Any]:
    """Every credential example: the data files and the Markdown example blocks."""
    out = []
    for f in sorted(DATA.glob("*.json")):
        data = json.loads(f.read_text("utf-8"))
        kind = kind_of(data)
        if kind is not None:
            out.append(pytest.param(kind, data, id=f"examples/data/{f.name}"))
    for i, (page, _, kind, body) in enumerate(fenced_blocks()):
        if kind in MODELS:
            out.append(pytest.param(kind, json.loads(body), id=f"specs/{page}#{i}"))
    return out


CREDENTIAL_EXAMPLES = credential_examples()


# -- validity -------------------------------------------------------------------------------------
def test_examples_exist_for_both_credential_types() -> None:
    kinds = {p.values[0] for p in CREDENTIAL_EXAMPLES}
    assert kinds == set(MODELS)
    assert (DATA / "debt-statement.json").exists()
    assert (DATA / "rode-knop-declaration.json").exists()


def test_every_example_marker_is_known() -> None:
    known = {*MODELS, "trust-entry", "dcql", "rode-knop-batch"}
    unknown = [
        (page, kind)
        for page, _, kind, _ in fenced_blocks()
        if kind is not None and kind not in known
    ]
    assert not unknown, f"unknown example kinds (see specs/README.md): {unknown}"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b, id=f"{p}#{i}")
        for i, (p, lang, _, b) in enumerate(fenced_blocks())
        if lang == "json"
    ],
)
def test_every_json_block_in_the_specs_is_json(body: str) -> None:
    json.loads(body)


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_validates_against_its_schema_and_rules(kind: str, data: dict[str, Any]) -> None:
    model = MODELS[kind].from_claims(data)
    assert model.to_claims() == data
    assert not set(TECHNICAL) & set(data), "data files hold no technical claims"


@pytest.mark.parametrize("body", examples("trust-entry"))
def test_trust_entry_examples_parse(body: str) -> None:
    org = parse_entry(json.loads(body))
    assert org.roles


# -- issue and verify -----------------------------------------------------------------------------
def _day_start(date_text: str) -> int:
    d = dt.date.fromisoformat(date_text)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())


def _times(kind: str, data: Mapping[str, Any]) -> tuple[int, int | None, int, int]:
    """(iat, nbf, exp, verification time) following the issuer's documented convention."""
    if kind == "rode-knop-declaration":
        nbf = _day_start(data["valid_from"])
        exp = _day_start(data["valid_until"]) + 86400
        iat = min(NOW, nbf)
        return iat, nbf, exp, max(iat, nbf) + 3600
    return NOW, None, NOW + 30 * 86400, NOW + 3600


def _trust(issuer_id: str, role: str, key: Key) -> tuple[TrustList, Key]:
    anchor = Key.generate()
    entry = {
        "id": issuer_id,
        "name": _ORG_NAMES.get(issuer_id, "Example issuer"),
        "roles": [role],
        "jwks": {"keys": [key.public_jwk()]},
    }
    # Valid from 100 days before NOW to 300 days after: covers every example window.
    token = build_trust_list([entry], anchor, now=NOW - 100 * 86400, valid_days=400)
    return TrustList.verify(token, anchor.public(), now=NOW, max_age=None), anchor


#: The organisation each example names; its trust-list name must be the same (issuer binding).
_ORG_NAMES: dict[str, str] = {}


def _issuer_id(kind: str, data: Mapping[str, Any]) -> str:
    org = data["creditor"] if kind == "debt-statement" else data["municipality"]
    _ORG_NAMES[f"urn:oin:{org['oin']}"] = org["name"]
    return f"urn:oin:{org['oin']}"


def _always_shown(profile: Any, value: Any, path: tuple[Any, ...] = ()) -> Any:
    """``value`` with every selectively disclosable claim removed (what a holder who discloses
    nothing still shows)."""
    if isinstance(value, Mapping):
        return {
            k: _always_shown(profile, v, (*path, k))
            for k, v in value.items()
            if profile.sd_rule((*path, k)) != "always"
        }
    if isinstance(value, list):
        return [
            _always_shown(profile, v, (*path, i))
            for i, v in enumerate(value)
            if profile.sd_rule((*path, i)) != "always"
        ]
    return value


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_issues_and_verifies_as_sd_jwt_vc(kind: str, data: dict[str, Any]) -> None:
    """Low-level path: issue_sd_jwt_vc + verify_sd_jwt, with the key resolved from a trust list."""
    model = MODELS[kind].from_claims(data)
    profile = model.profile()
    org, holder = Key.generate(), Key.generate("EdDSA")
    issuer_id = _issuer_id(kind, data)
    trust, _ = _trust(issuer_id, ROLE[kind], org)
    iat, nbf, exp, at = _times(kind, data)
    token = issue_sd_jwt_vc(
        profile,
        model.to_claims(),
        issuer_id=issuer_id,
        signer=org,
        holder_jwk=holder.public_jwk(with_kid=False),
        iat=iat,
        exp=exp,
        nbf=nbf,
    )
    res = verify_sd_jwt(
        token,
        issuer_key=lambda h, p: trust.resolve_key(p["iss"], h.get("kid"), now=at),
        typ="dc+sd-jwt",
        now=at,
    )
    domain = {k: v for k, v in res.claims.items() if k not in TECHNICAL}
    assert domain == data
    assert res.claims["iss"] == issuer_id
    assert res.claims["vct"] == profile.vct
    assert res.claims["cnf"]["jwk"] == holder.public_jwk(with_kid=False)
    assert ("nbf" in res.claims) == (kind == "rode-knop-declaration")
    profile.check_disclosed(res.claims, res.disclosed)


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_presents_and_verifies_with_the_public_verifier(
    kind: str, data: dict[str, Any]
) -> None:
    """Public API: Verifier.verify_presentation with holder binding; all claims, then none."""
    model = MODELS[kind].from_claims(data)
    org, holder = Key.generate(), Key.generate()
    issuer_id = _issuer_id(kind, data)
    trust, _ = _trust(issuer_id, ROLE[kind], org)
    iat, nbf, exp, at = _times(kind, data)
    token = issue_sd_jwt_vc(
        model.profile(),
        model.to_claims(),
        issuer_id=issuer_id,
        signer=org,
        holder_jwk=holder.public_jwk(with_kid=False),
        iat=iat,
        exp=exp,
        nbf=nbf,
    )
    verifier = Verifier(trust, allow_missing_status=True)
    sd = SDJWT.parse(token)

    everything = sd.present(None, holder_key=holder, nonce="n-1", audience="urn:aud", iat=at)
    cred = verifier.verify_presentation(everything, nonce="n-1", audience="urn:aud", now=at)
    assert dict(cred.claims) == data
    assert cred.vct == model.vct
    assert cred.status == "not_checked"  # no status reference: nothing may claim "valid"

    nothing = sd.present([], holder_key=holder, nonce="n-2", audience="urn:aud", iat=at)
    cred = verifier.verify_presentation(nothing, nonce="n-2", audience="urn:aud", now=at)
    assert dict(cred.claims) == _always_shown(model.profile(), data)
    assert "bsn" not in json.dumps(dict(cred.claims))


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_verifier_refuses_the_wrong_issuer_role(kind: str, data: dict[str, Any]) -> None:
    """Only the role named on the page may issue: a creditor cannot issue a declaration and a
    municipality-only organisation cannot issue a debt statement."""
    from blauweknop import TrustError

    model = MODELS[kind].from_claims(data)
    org, holder = Key.generate(), Key.generate()
    issuer_id = _issuer_id(kind, data)
    other = "municipality" if ROLE[kind] == "creditor" else "creditor"
    trust, _ = _trust(issuer_id, other, org)
    iat, nbf, exp, at = _times(kind, data)
    token = issue_sd_jwt_vc(
        model.profile(),
        model.to_claims(),
        issuer_id=issuer_id,
        signer=org,
        holder_jwk=holder.public_jwk(with_kid=False),
        iat=iat,
        exp=exp,
        nbf=nbf,
    )
    pres = SDJWT.parse(token).present(None, holder_key=holder, nonce="n", audience="a", iat=at)
    with pytest.raises(TrustError) as e:
        Verifier(trust, allow_missing_status=True).verify_presentation(
            pres, nonce="n", audience="a", now=at
        )
    assert e.value.code == "untrusted_issuer"


def _recipe_issuer(kind: str, issuer_id: str, home: Path) -> Issuer:
    try:
        return Issuer.init(
            home,
            issuer_id=issuer_id,
            name=_ORG_NAMES.get(issuer_id, "Example issuer"),
            roles=[ROLE[kind]],
            status_base_uri="https://status.example/lists",
        )
    except ModuleNotFoundError as e:  # the register module is written concurrently
        if e.name != "blauweknop._register":
            raise
        pytest.skip("blauweknop._register is not available yet")


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_issues_through_the_issuer_recipe(
    kind: str, data: dict[str, Any], tmp_path: Path
) -> None:
    """The documented technical claims, as the Issuer recipe writes them (SD-JWT VC)."""
    issuer_id = _issuer_id(kind, data)
    issuer = _recipe_issuer(kind, issuer_id, tmp_path / "home")
    model = MODELS[kind].from_claims(data)
    holder = Key.generate()
    iat, nbf, exp, at = _times(kind, data)
    cred = issuer.issue(model, holder_jwk=holder.public_jwk(), now=iat)
    payload = SDJWT.parse(cred.text).unverified_payload()
    assert payload["iss"] == issuer_id
    assert payload["vct"] == model.vct
    assert payload["iat"] == iat
    assert payload.get("nbf") == nbf
    assert payload["exp"] == exp
    status = payload["status"]["status_list"]
    assert isinstance(status["idx"], int)
    assert re.fullmatch(r"https://status\.example/lists/[0-9]+\.jwt", status["uri"])
    trust, _ = _trust(issuer_id, ROLE[kind], issuer.public_keys()[0])
    pres = SDJWT.parse(cred.text).present(None, holder_key=holder, nonce="n", audience="a", iat=at)
    verified = Verifier(trust, allow_missing_status=True).verify_presentation(
        pres, nonce="n", audience="a", now=at
    )
    assert dict(verified.claims) == data


@pytest.mark.parametrize(("kind", "data"), CREDENTIAL_EXAMPLES)
def test_example_issues_and_verifies_as_w3c_vc(
    kind: str, data: dict[str, Any], tmp_path: Path
) -> None:
    """The W3C encoding: VC 2.0 + ecdsa-sd-2023, derived, presented and verified."""
    from di_compat import present_di

    issuer_id = _issuer_id(kind, data)
    issuer = _recipe_issuer(kind, issuer_id, tmp_path / "home")
    model = MODELS[kind].from_claims(data)
    holder = Key.generate()
    iat, _, exp, at = _times(kind, data)
    cred = issuer.issue(model, holder_jwk=holder.public_jwk(), format="di", now=iat)
    doc = json.loads(cred.text)
    assert doc["type"] == ["VerifiableCredential", model.profile().w3c_type]
    assert doc["issuer"] == issuer_id
    assert doc["credentialSubject"]["id"] == did_jwk(holder)
    assert {e["statusPurpose"] for e in doc["credentialStatus"]} == {"revocation", "suspension"}
    assert doc["proof"]["cryptosuite"] == "ecdsa-sd-2023"
    trust, _ = _trust(issuer_id, ROLE[kind], issuer.public_keys()[0])
    verifier = Verifier(trust, allow_missing_status=True)

    vp = present_di(
        doc, [["credentialSubject"]], holder_key=holder, nonce="n", audience="a", now=at
    )
    verified = verifier.verify_presentation(vp, nonce="n", audience="a", now=at)
    assert dict(verified.claims) == data
    assert verified.valid_until == exp

    vp = present_di(doc, [], holder_key=holder, nonce="n", audience="a", now=at)
    verified = verifier.verify_presentation(vp, nonce="n", audience="a", now=at)
    shown = _always_shown(model.profile(), data)
    # W3C: a container whose members are all withheld is absent, not empty (specs page).
    assert dict(verified.claims) == {k: v for k, v in shown.items() if v != {}}


# -- DCQL requests --------------------------------------------------------------------------------
def _profile_paths(vct: str) -> set[tuple[Any, ...]]:
    p = get_profile(vct)
    paths: set[tuple[Any, ...]] = {tuple(c["path"]) for c in p.metadata["claims"]}
    return paths


def _check_query(query: dict[str, Any], name: str) -> list[tuple[Any, ...]]:
    """Parse; every claim path must be a claim of the requested type. Returns the paths."""
    q = DCQLQuery.parse(query)
    out = []
    for cq in q.credentials:
        if cq.format == "dc+sd-jwt":
            vcts = list(cq.meta["vct_values"])
            prefix: tuple[Any, ...] = ()
        else:
            wanted = {t for alt in cq.meta["type_values"] for t in alt}
            vcts = [
                p.vct
                for p in map(
                    get_profile,
                    (
                        "urn:blauweknop:debt-statement:1",
                        "urn:rodeknop:payment-incapacity-declaration:1",
                        "urn:blauweknop:payment-arrangement:1",
                    ),
                )
                if w3c_type_iris([p.w3c_type])[0] in wanted  # type_values are expanded IRIs
            ]
            prefix = ("credentialSubject",)
        assert len(vcts) == 1, f"{name}/{cq.id}: asks for {vcts}"
        known = _profile_paths(vcts[0])
        for claim in cq.claims or ():
            path = tuple(claim.path)
            assert path[: len(prefix)] == prefix, f"{name}/{cq.id}: {path} must start with {prefix}"
            rel = tuple(None if isinstance(x, int) else x for x in path[len(prefix) :])
            assert rel in known, f"{name}/{cq.id}: {list(path)} is not a claim of {vcts[0]}"
            out.append(rel)
    return out


REQUEST_FILES = sorted(REQUESTS.glob("*.json"))


@pytest.mark.parametrize("path", REQUEST_FILES, ids=[p.name for p in REQUEST_FILES])
def test_request_files_parse_and_ask_for_existing_claims(path: Path) -> None:
    paths = _check_query(json.loads(path.read_text("utf-8")), path.name)
    asks_bsn = ("subject", "bsn") in paths
    # The BSN privacy rule (specs/dcql-requests.md): only the public-creditor requests name it.
    assert asks_bsn == ("public-creditor" in path.name), path.name


def test_request_files_are_documented() -> None:
    text = (SPECS / "dcql-requests.md").read_text("utf-8")
    missing = [p.name for p in REQUEST_FILES if f"`{p.name}`" not in text]
    assert not missing, f"specs/dcql-requests.md does not explain {missing}"


@pytest.mark.parametrize("body", examples("dcql"))
def test_dcql_examples_parse_and_ask_for_existing_claims(body: str) -> None:
    _check_query(json.loads(body), "specs example")


# -- batch CSV ------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", examples("rode-knop-batch"))
def test_batch_csv_example_is_accepted(body: str, tmp_path: Path) -> None:
    f = tmp_path / "admissions.csv"
    f.write_text(body, encoding="utf-8")
    # read_batch needs only the issuer's id, name and municipality code (rodeknop init), and
    # its pre-check (Issuer.check_issuable, tested in tests/hostile/test_review_register.py).
    issuer: Any = types.SimpleNamespace(
        issuer_id="urn:oin:00000001001234567000",
        name="Gemeente Eindhoven",
        config={"municipality_code": "GM0772"},
        check_issuable=lambda *_a, **_k: None,
    )
    rows, rejected = read_batch(f, issuer)
    assert rejected == []
    assert len(rows) == len(body.strip().splitlines()) - 1
