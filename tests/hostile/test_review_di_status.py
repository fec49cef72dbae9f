"""Held-out attack review, issue 12: W3C Data Integrity and status-list findings.

Each test feeds one attack from the review and expects the refusal (or the fixed behaviour),
next to a control that the honest input still passes:

* 1 - a re-served old bitstring status list with ``validUntil``/``ttl`` as full IRIs;
* 2 - JSON reshaped so it maps to the same signed RDF dataset (verifier, wallet import,
  ``ecdsa-rdfc-2019`` / ``eddsa-rdfc-2022`` and ``ecdsa-sd-2023`` base and derived proofs);
* 3 - status-cache poisoning (a list planted under another issuer's URI, a future issue time,
  a list not signed by the issuer it names);
* 4 - IETF freshness (a re-synced old list, no ``exp``, a same-second older list);
* the codes of stale lists in both formats.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from di_compat import bitstring_signer
from hostile._world import AUD, CJIB, DATA, DUO, GEMEENTE, NONCE, NOW, World, jws, world

from blauweknop import BlauweKnopError, StatusCache, Wallet
from blauweknop._di import add_base_proof_sd, add_proof, derive_proof_sd, sign_presentation
from blauweknop._di import verify_proof as di_verify_proof
from blauweknop._keys import Key
from blauweknop._status import (
    BitstringStatusList,
    FreshnessPolicy,
    StatusList,
    build_bitstring_status_list_credential,
    cache_file_name,
    sign_status_list_token,
)

DAY = 86400
XSD = "http://www.w3.org/2001/XMLSchema#"
CRED = "https://www.w3.org/2018/credentials#"
STATUS = "https://www.w3.org/ns/credentials/status#"
VOCAB = "https://w3id.org/blauweknop/vocab#"


@pytest.fixture(scope="module")
def w() -> World:
    return world()


def _code(fn: Callable[[], Any]) -> str:
    with pytest.raises(BlauweKnopError) as e:
        fn()
    return e.value.code


# ------------------------------------------------------------------------------------------
# 2. JSON that maps to the signed dataset but is not what was signed
# ------------------------------------------------------------------------------------------
def _reshaped_vp(w: World, mutate: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The world's derived DI declaration, reshaped by ``mutate`` (its proof untouched), in a
    presentation the holder signs afresh."""
    cred = copy.deepcopy(w.di["vp"]["verifiableCredential"][0])
    mutate(cred)
    vp = sign_presentation(
        [cred],
        w.holder,
        challenge=NONCE,
        domain=AUD,
        created=dt.datetime.fromtimestamp(NOW, dt.UTC),
    )
    return {"q": [vp]}


def _subject(c: dict[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = c["credentialSubject"]
    return s


def _rename(obj: dict[str, Any], key: str, new: str) -> None:
    obj[new] = obj.pop(key)


def _to_typed_iri(obj: dict[str, Any], key: str, iri: str) -> None:
    """``key`` (an ``xsd:dateTime`` term) written as its full IRI with a typed literal: the
    same RDF statement."""
    obj[iri] = {"@value": obj.pop(key), "@type": XSD + "dateTime"}


RESHAPINGS: dict[str, Callable[[dict[str, Any]], Any]] = {
    # a signed boolean true handed out as the string "true" (xsd:boolean either way)
    "boolean-as-string": lambda c: _subject(c).update(payment_incapacity="true"),
    "boolean-as-value-object": lambda c: _subject(c).update(
        payment_incapacity={"@value": "true", "@type": XSD + "boolean"}
    ),
    "string-as-value-object": lambda c: _subject(c).update(
        declaration_id={"@value": _subject(c)["declaration_id"]}
    ),
    "one-element-array-around-a-date": lambda c: _subject(c).update(
        valid_from=[_subject(c)["valid_from"]]
    ),
    "validFrom-in-an-array": lambda c: c.update(validFrom=[c["validFrom"]]),
    # VC members renamed to their IRIs: the code reading "validFrom" / "credentialStatus"
    # would find nothing and skip the check
    "validFrom-as-iri": lambda c: _to_typed_iri(c, "validFrom", CRED + "validFrom"),
    "credentialStatus-as-iri": lambda c: _rename(c, "credentialStatus", CRED + "credentialStatus"),
    "claim-as-iri": lambda c: _rename(_subject(c), "declaration_id", VOCAB + "declaration_id"),
    "claim-as-compact-iri-alias": lambda c: _rename(c, "issuer", CRED + "issuer"),
    "type-as-@type": lambda c: _rename(c, "type", "@type"),
    "id-as-@id": lambda c: _rename(_subject(c), "id", "@id"),
    # a node written twice under one blank-node id: one node in RDF, two objects in JSON
    "node-repeated-under-shared-blank-id": lambda c: _subject(c).update(
        municipality={**_subject(c)["municipality"], "id": "_:m"},
        executing_organisation={**_subject(c)["municipality"], "id": "_:m"},
    ),
    "extra-allowed-context": lambda c: c.update(
        {"@context": [*c["@context"], "https://w3id.org/security/data-integrity/v2"]}
    ),
    "included-keyword": lambda c: _subject(c).update({"@included": []}),
    "language-keyword": lambda c: _subject(c).update({"@language": "nl"}),
    "vocab-keyword": lambda c: _subject(c).update({"@vocab": VOCAB}),
    "base-keyword": lambda c: _subject(c).update({"@base": "https://attacker.example/"}),
}


def test_control_the_honest_derived_credential_verifies(w: World) -> None:
    res = w.verify(_reshaped_vp(w, lambda c: None))
    cred = res.credentials[0]
    assert cred.status == "valid"
    assert cred.claims["payment_incapacity"] is True
    assert cred.valid_from is not None


@pytest.mark.parametrize("name", sorted(RESHAPINGS))
def test_verifier_hands_out_only_the_compact_form_of_what_was_signed(w: World, name: str) -> None:
    vp = _reshaped_vp(w, RESHAPINGS[name])
    with pytest.raises(BlauweKnopError) as e:
        w.verify(vp, allow_missing_status=True)
    # Reshapings that keep the signed dataset pass the proof and stop at the compact-form
    # check; the rest change the dataset (or are not JSON-LD at all) and fail before.
    # (and a few are refused earlier still, by the recipe reading issuer/type or by the
    # derived proof's blank-node labels).
    assert e.value.code in {
        "not_compact_form",
        "signature_invalid",
        "jsonld_invalid",
        "malformed_document",
        "label_map_mismatch",
    }, e.value
    if name in {
        "boolean-as-string",
        "boolean-as-value-object",
        "string-as-value-object",
        "one-element-array-around-a-date",
        "validFrom-as-iri",
        "credentialStatus-as-iri",
        "claim-as-iri",
        "extra-allowed-context",
    }:
        assert e.value.code == "not_compact_form", e.value


def test_renamed_credential_status_no_longer_turns_revoked_into_not_checked(w: World) -> None:
    """The review: ``credentialStatus`` renamed to its IRI plus ``allow_missing_status``
    made the verifier skip the status check (``not_checked`` instead of a refusal)."""
    vp = _reshaped_vp(w, RESHAPINGS["credentialStatus-as-iri"])
    empty = StatusCache(w.root / "review-empty-cache")
    assert _code(lambda: w.verify(vp, status=empty, allow_missing_status=True)) == (
        "not_compact_form"
    )


def test_wallet_import_refuses_a_reshaped_base_credential(w: World, tmp_path: Path) -> None:
    wallet = Wallet.create(tmp_path / "wallet", passphrase="correct horse battery staple")
    honest = _reissue_for(w, wallet.holder_key())  # bound to this wallet's holder key
    for mutate in (
        lambda c: _subject(c).update(payment_incapacity="true"),
        lambda c: _to_typed_iri(c, "validUntil", CRED + "validUntil"),
        lambda c: c.update(
            {"@context": [*c["@context"], "https://w3id.org/security/data-integrity/v2"]}
        ),
    ):
        doc = copy.deepcopy(honest)
        mutate(doc)
        with pytest.raises(BlauweKnopError) as e:
            wallet.add(json.dumps(doc), trust_list=w.trust, now=NOW)
        assert e.value.code in {"not_compact_form", "mandatory_pointer_missing"}, e.value
    assert not wallet.credentials(now=NOW)
    wallet.add(json.dumps(honest), trust_list=w.trust, now=NOW)  # control
    assert len(wallet.credentials(now=NOW)) == 1


def _reissue_for(w: World, holder: Key) -> dict[str, Any]:
    from types import SimpleNamespace

    from di_compat import issue_di_credential

    from blauweknop import get_profile
    from rodeknop_vc import RODE_KNOP_VCT

    data = json.loads((DATA / "rode-knop-declaration.json").read_text())
    shim = SimpleNamespace(signer=w.gemeente.key, issuer_id=w.gemeente.id)
    text = issue_di_credential(
        shim,  # type: ignore[arg-type]
        get_profile(RODE_KNOP_VCT),
        data,
        holder=holder,
        iat=NOW - 3600,
        nbf=NOW - 3600,
        exp=NOW + DAY,
        status=w.di["decl"]["credentialStatus"],
    )
    doc: dict[str, Any] = json.loads(text)
    return doc


def _doc(**subject: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/blauweknop/v1"],
        "type": ["VerifiableCredential", "DebtStatement"],
        "issuer": "urn:oin:00000001003214345000",
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "urn:example:holder", **subject},
    }


@pytest.mark.parametrize(
    ("suite", "alg"),
    [("ecdsa-rdfc-2019", "ES256"), ("eddsa-rdfc-2022", "EdDSA"), ("ecdsa-sd-2023", "ES256")],
)
def test_every_suite_refuses_a_reshaped_document(suite: str, alg: str) -> None:
    key = Key.generate(alg)
    vm = "urn:oin:00000001003214345000#k"
    doc = _doc(is_complete=False, number_of_cases=3, currency="EUR")

    def signed(d: dict[str, Any]) -> dict[str, Any]:
        if suite == "ecdsa-sd-2023":
            base = add_base_proof_sd(d, key, verification_method=vm, mandatory_pointers=["/issuer"])
            return derive_proof_sd(base, ["/credentialSubject", "/validFrom"])
        return add_proof(d, key, cryptosuite=suite, verification_method=vm)

    honest = signed(doc)
    got = di_verify_proof(honest, resolve_key=lambda _: key.public(), now=NOW)
    assert got.document["credentialSubject"]["is_complete"] is False
    shapes: list[Callable[[dict[str, Any]], Any]] = [
        lambda c: c["credentialSubject"].update(is_complete="false"),
        lambda c: c["credentialSubject"].update(number_of_cases="3"),
        lambda c: c["credentialSubject"].update(number_of_cases=3.0),
        lambda c: c["credentialSubject"].update(currency=["EUR"]),
        lambda c: _to_typed_iri(c, "validFrom", CRED + "validFrom"),
    ]
    for shape in shapes:
        forged = copy.deepcopy(honest)
        shape(forged)
        with pytest.raises(BlauweKnopError) as e:
            di_verify_proof(forged, resolve_key=lambda _: key.public(), now=NOW)
        assert e.value.code == "not_compact_form", (suite, forged["credentialSubject"])


def test_shared_blank_node_cannot_multiply_a_signed_case() -> None:
    """One signed case of 50,000 repeated three times under a shared blank-node id is one
    node in RDF: the proof still verifies, the JSON would show 150,000."""
    key = Key.generate("ES256")
    vm = "urn:oin:00000001003214345000#k"
    doc = _doc(cases=[{"case_reference": "A", "amount_outstanding": 50000}])
    signed = add_proof(doc, key, cryptosuite="ecdsa-rdfc-2019", verification_method=vm)
    di_verify_proof(signed, resolve_key=lambda _: key.public(), now=NOW)
    forged = copy.deepcopy(signed)
    case = {"id": "_:c", "case_reference": "A", "amount_outstanding": 50000}
    forged["credentialSubject"]["cases"] = [dict(case), dict(case), dict(case)]
    assert _code(lambda: di_verify_proof(forged, resolve_key=lambda _: key.public(), now=NOW)) == (
        "not_compact_form"
    )


# ------------------------------------------------------------------------------------------
# 1. A re-served bitstring status list with validUntil / ttl as full IRIs
# ------------------------------------------------------------------------------------------
def _revocation_entry(w: World) -> dict[str, Any]:
    entry: dict[str, Any] = w.di["decl"]["credentialStatus"][0]
    assert entry["statusPurpose"] == "revocation"
    return entry


def _w3c_list(
    w: World,
    *,
    valid_from: float,
    valid_until: float | None,
    ttl_ms: int | None = None,
    revoked: bool = False,
    as_iris: bool = False,
) -> bytes:
    entry = _revocation_entry(w)
    bl = BitstringStatusList()
    if revoked:
        bl.set(int(entry["statusListIndex"]), 1)
    doc = build_bitstring_status_list_credential(
        credential_id=entry["statusListCredential"],
        issuer=GEMEENTE,
        status_purpose="revocation",
        status_list=bl,
        valid_from=valid_from,
        valid_until=valid_until,
        ttl_ms=ttl_ms,
    )
    if as_iris:
        until = doc.pop("validUntil")
        doc[CRED + "validUntil"] = {"@value": until, "@type": XSD + "dateTime"}
        doc["credentialSubject"][STATUS + "ttl"] = doc["credentialSubject"].pop("ttl")
    return json.dumps(bitstring_signer(w.gemeente.issuer)(doc)).encode()


def _w3c_status(w: World, cache: StatusCache, now: float = NOW) -> str:
    org = w.trust.organisation(GEMEENTE, now=NOW)
    return cache.bitstring_status(_revocation_entry(w), issuer=org, now=now)


def test_old_w3c_list_with_iri_valid_until_and_ttl_is_refused(w: World, tmp_path: Path) -> None:
    """Before: the proof (over RDF) verified, the expiry and ttl checks read only the JSON
    keys, and a credential revoked since was reported valid."""
    uri = _revocation_entry(w)["statusListCredential"]
    old = _w3c_list(w, valid_from=NOW - 600, valid_until=NOW - 300, ttl_ms=60_000, as_iris=True)
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    assert _code(lambda: cache.put(uri, old, fetched_at=NOW)) == "status_invalid"
    # planted behind the cache's back (a writable synced folder): still refused
    (cache.directory / cache_file_name(uri, GEMEENTE)).write_bytes(old)
    assert _code(lambda: _w3c_status(w, cache)) == "status_invalid"
    # control: the same list in its compact form is stale, as it should be
    plain = _w3c_list(w, valid_from=NOW - 600, valid_until=NOW - 300, ttl_ms=60_000)
    (cache.directory / cache_file_name(uri, GEMEENTE)).write_bytes(plain)
    assert _code(lambda: _w3c_status(w, cache)) == "status_unavailable"


def test_stale_lists_give_the_same_code_in_both_formats(w: World, tmp_path: Path) -> None:
    """A W3C list past its validUntil was status_invalid, an IETF list past exp
    status_unavailable; allow_missing_status treated them differently."""
    uri = _revocation_entry(w)["statusListCredential"]
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    stale_w3c = _w3c_list(w, valid_from=NOW - 3 * DAY, valid_until=NOW - 2 * DAY)
    cache.put(uri, stale_w3c, fetched_at=NOW - 3 * DAY, now=NOW - 3 * DAY)
    assert _code(lambda: _w3c_status(w, cache)) == "status_unavailable"
    sl = StatusList(131072, bits=2)
    stale_ietf = sign_status_list_token(
        sl, uri=w.cjib.status_uri, issuer=CJIB, signer=w.cjib.key, now=NOW - 3 * DAY, ttl=3600
    )
    cache.put(w.cjib.status_uri, stale_ietf.encode(), fetched_at=NOW - 3 * DAY, now=NOW - 3 * DAY)
    org = w.trust.organisation(CJIB, now=NOW)
    assert _code(lambda: cache.token_status(w.cjib.status_uri, 1, issuer=org, now=NOW)) == (
        "status_unavailable"
    )
    # so allow_missing_status treats both alike
    di = w.verify(_reshaped_vp(w, lambda c: None), status=cache, allow_missing_status=True)
    sd = w.verify(w.vp(w.present()), status=cache, allow_missing_status=True)
    assert di.credentials[0].status == sd.credentials[0].status == "not_checked"


# ------------------------------------------------------------------------------------------
# 3. Status-cache poisoning
# ------------------------------------------------------------------------------------------
def _ietf(
    w: World,
    *,
    iat: float,
    issuer: str = CJIB,
    signer: Key | None = None,
    revoked: bool = False,
    ttl: int = 3600,
) -> bytes:
    sl = StatusList(131072, bits=2)
    if revoked:
        sl.set(w.status_idx["stmt"], 1)
    return sign_status_list_token(
        sl,
        uri=w.cjib.status_uri,
        issuer=issuer,
        signer=signer or w.cjib.key,
        now=int(iat),
        ttl=ttl,
    ).encode()


def test_planted_list_of_another_organisation_does_not_lock_the_issuer_out(
    w: World, tmp_path: Path
) -> None:
    """DUO (listed) plants a list naming CJIB's URI with a later issue time: the genuine CJIB
    list was then refused as a "rollback"."""
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    planted = _ietf(w, iat=NOW, issuer=DUO, signer=w.duo.key, revoked=True)
    cache.put(w.cjib.status_uri, planted, fetched_at=NOW)  # DUO's own (signed) list: kept as DUO's
    genuine = _ietf(w, iat=NOW - 60)
    cache.put(w.cjib.status_uri, genuine, fetched_at=NOW)  # not a "rollback"
    res = w.verify(w.vp(w.present()), status=cache)
    assert res.credentials[0].status == "valid"


@pytest.mark.parametrize(
    "attack",
    ["signed-by-another-org-as-cjib", "signed-by-an-unlisted-key", "issued-in-the-future"],
)
def test_a_list_enters_the_cache_only_verified(w: World, tmp_path: Path, attack: str) -> None:
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    bad = {
        "signed-by-another-org-as-cjib": lambda: _ietf(w, iat=NOW, signer=w.duo.key),
        "signed-by-an-unlisted-key": lambda: _ietf(w, iat=NOW, signer=w.attacker),
        "issued-in-the-future": lambda: _ietf(w, iat=NOW + 2 * DAY, revoked=False),
    }[attack]()
    assert _code(lambda: cache.put(w.cjib.status_uri, bad, fetched_at=NOW)) == "status_invalid"
    assert cache.lookup(w.cjib.status_uri, issuer=CJIB) is None
    # the genuine list then enters and is used
    cache.put(w.cjib.status_uri, _ietf(w, iat=NOW - 60, revoked=True), fetched_at=NOW)
    assert _code(lambda: w.verify(w.vp(w.present()), status=cache)) == "revoked"


def test_sync_without_a_trust_list_is_refused(w: World, tmp_path: Path) -> None:
    cache = StatusCache(tmp_path / "cache")
    data = _ietf(w, iat=NOW - 60)
    assert _code(lambda: cache.put(w.cjib.status_uri, data, fetched_at=NOW)) == (
        "status_unavailable"
    )
    assert cache.uris() == []


# ------------------------------------------------------------------------------------------
# 4. IETF freshness
# ------------------------------------------------------------------------------------------
def test_resyncing_an_old_list_does_not_restart_its_ttl(w: World, tmp_path: Path) -> None:
    """A 1-hour-ttl list synced again 20 hours later was fresh again."""
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    old = _ietf(w, iat=NOW - 20 * 3600, ttl=3600)
    cache.put(w.cjib.status_uri, old, fetched_at=NOW - 20 * 3600, now=NOW - 20 * 3600)
    cache.put(w.cjib.status_uri, old, fetched_at=NOW)  # re-synced now: same list
    assert _code(lambda: w.verify(w.vp(w.present()), status=cache)) == "status_unavailable"


def test_a_list_without_exp_is_not_fresh_forever(w: World, tmp_path: Path) -> None:
    payload = {
        "sub": w.cjib.status_uri,
        "iss": CJIB,
        "iat": NOW - 2 * DAY,
        "ttl": 10**9,
        "status_list": StatusList(131072, bits=2).to_json(),
    }
    header = {"alg": "ES256", "typ": "statuslist+jwt", "kid": w.cjib.key.kid}
    token = jws(header, payload, w.cjib.key).encode()
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    cache.put(w.cjib.status_uri, token, fetched_at=NOW)
    assert _code(lambda: w.verify(w.vp(w.present()), status=cache)) == "status_unavailable"


def test_verifier_side_maximum_age_is_configurable(w: World, tmp_path: Path) -> None:
    """exp a month ahead and no ttl: the default maximum age (a day) still applies; a stricter
    policy shortens it, and a caller may lift it deliberately."""
    payload = {
        "sub": w.cjib.status_uri,
        "iss": CJIB,
        "iat": NOW - 2 * 3600,
        "exp": NOW + 30 * DAY,
        "status_list": StatusList(131072, bits=2).to_json(),
    }
    header = {"alg": "ES256", "typ": "statuslist+jwt", "kid": w.cjib.key.kid}
    token = jws(header, payload, w.cjib.key).encode()
    for policy, ok_at, stale_at in (
        (FreshnessPolicy(), NOW, NOW + DAY),
        (FreshnessPolicy(max_age=3600), None, NOW),
    ):
        cache = StatusCache(tmp_path / str(policy.max_age), trust_list=w.trust, policy=policy)
        cache.put(w.cjib.status_uri, token, fetched_at=NOW)
        org = w.trust.organisation(CJIB, now=NOW)
        if ok_at is not None:
            assert cache.token_status(w.cjib.status_uri, 0, issuer=org, now=ok_at) == "valid"
        with pytest.raises(BlauweKnopError) as e:
            cache.token_status(w.cjib.status_uri, 0, issuer=org, now=stale_at)
        assert e.value.code == "status_unavailable"


@pytest.mark.parametrize("order", ["post-then-pre", "pre-then-post"])
def test_same_second_lists_never_let_the_older_one_win(
    w: World, tmp_path: Path, order: str
) -> None:
    """Pre- and post-revocation lists with the same iat: with a strict ``<`` the later sync
    won, so the pre-revocation list could replace the post-revocation one. Now both are
    kept and the most severe status counts, whatever the order they arrive in."""
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    pre, post = _ietf(w, iat=NOW - 60), _ietf(w, iat=NOW - 60, revoked=True)
    first, second = (post, pre) if order == "post-then-pre" else (pre, post)
    cache.put(w.cjib.status_uri, first, fetched_at=NOW)
    cache.put(w.cjib.status_uri, first, fetched_at=NOW)  # the same list again: nothing new
    cache.put(w.cjib.status_uri, second, fetched_at=NOW)
    got = cache.lookup(w.cjib.status_uri, issuer=CJIB)
    assert got is not None and len(got.tied) == 1
    assert _code(lambda: w.verify(w.vp(w.present()), status=cache)) == "revoked"
    # other credentials on the list, the same in both, stay valid
    res = w.verify(w.vp(w.present("stmt_short")), status=cache)
    assert res.credentials[0].status == "valid"
    # a strictly newer list replaces both
    cache.put(w.cjib.status_uri, _ietf(w, iat=NOW - 30), fetched_at=NOW)
    got = cache.lookup(w.cjib.status_uri, issuer=CJIB)
    assert got is not None and got.tied == ()
    assert w.verify(w.vp(w.present()), status=cache).credentials[0].status == "valid"


def test_tied_lists_are_bounded(w: World, tmp_path: Path) -> None:
    """Lists tied on issue time are all read at each check: their number is bounded."""
    cache = StatusCache(tmp_path / "cache", trust_list=w.trust)
    tokens = []
    for i in range(6):
        sl = StatusList(131072, bits=2)
        sl.set(i, 1)
        tokens.append(
            sign_status_list_token(
                sl, uri=w.cjib.status_uri, issuer=CJIB, signer=w.cjib.key, now=NOW - 60, ttl=3600
            ).encode()
        )
    for token in tokens[:5]:  # the first and four tied with it
        cache.put(w.cjib.status_uri, token, fetched_at=NOW)
    assert _code(lambda: cache.put(w.cjib.status_uri, tokens[5], fetched_at=NOW)) == (
        "status_invalid"
    )
    got = cache.lookup(w.cjib.status_uri, issuer=CJIB)
    assert got is not None and len(got.tied) == 4
