"""DCQL engine: the OpenID4VP 1.0 examples, every MUST of section 6, wallet plans, verifier checks.

Source of the specification examples: OpenID for Verifiable Presentations 1.0 incorporating
errata set 1 (/work/shared/standards/openid4vp-1.0.md), whose ``<{{examples/...}}`` includes
are the files under ``1.0/examples/`` of github.com/openid/OpenID4VP at commit
46f6965b07e99ea84c9d74d1a262e264427c64f7. They are copied below verbatim (as Python data),
each with the expected outcome against fake wallet credentials.
"""

from __future__ import annotations

import copy
import dataclasses
import doctest
import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import blauweknop._dcql as dcql_module
from blauweknop._dcql import (
    CandidateCredential,
    ClaimsQuery,
    DCQLQuery,
    PresentedCredential,
    check_response,
    plan,
    select_paths,
)
from blauweknop._errors import HolderBindingError, MalformedError, PolicyError
from blauweknop._limits import Limits
from blauweknop._profile import w3c_type_iris

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = ROOT / "examples" / "data" / "requests"
RK_VCT = "urn:rodeknop:payment-incapacity-declaration:1"
DS_VCT = "urn:blauweknop:debt-statement:1"
IDENTITY_VCT = "https://credentials.example.com/identity_credential"


replace_ = dataclasses.replace


def sd(id_: str, vct: str, claims: dict[str, Any], **kw: Any) -> CandidateCredential:
    return CandidateCredential(id=id_, format="dc+sd-jwt", types=(vct,), claims=claims, **kw)


# --------------------------------------------------------------------------------------------
# Specification examples (verbatim)

# Section 5.4: the dcql_query of the Request Object example.
SPEC_REQUEST_OBJECT: dict[str, Any] = {
    "credentials": [
        {
            "id": "some_identity_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}],
        }
    ]
}
# Section 7.4, examples/query_lang/simple.json
SPEC_SIMPLE: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["family_name"]},
                {"path": ["given_name"]},
                {"path": ["address", "street_address"]},
            ],
        }
    ]
}
# Appendix D, examples/query_lang/simple_mdoc.json (mdoc: parsed only)
SPEC_SIMPLE_MDOC: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "org.iso.7367.1.mVRC"},
            "claims": [
                {"path": ["org.iso.7367.1", "vehicle_holder"]},
                {"path": ["org.iso.18013.5.1", "given_name"]},
            ],
        }
    ]
}
# Appendix D, examples/query_lang/multi_credentials.json
SPEC_MULTI: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["given_name"]},
                {"path": ["family_name"]},
                {"path": ["address", "street_address"]},
            ],
        },
        {
            "id": "mdl",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "org.iso.7367.1.mVRC"},
            "claims": [
                {"path": ["org.iso.7367.1", "vehicle_holder"]},
                {"path": ["org.iso.18013.5.1", "given_name"]},
            ],
        },
    ]
}
# Appendix D, examples/query_lang/credentials_alternatives.json
SPEC_CRED_ALTERNATIVES: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["given_name"]},
                {"path": ["family_name"]},
                {"path": ["address", "street_address"]},
            ],
        },
        {
            "id": "other_pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://othercredentials.example/pid"]},
            "claims": [
                {"path": ["given_name"]},
                {"path": ["family_name"]},
                {"path": ["address", "street_address"]},
            ],
        },
        {
            "id": "pid_reduced_cred_1",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/reduced_identity_credential"]},
            "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}],
        },
        {
            "id": "pid_reduced_cred_2",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://cred.example/residence_credential"]},
            "claims": [{"path": ["postal_code"]}, {"path": ["locality"]}, {"path": ["region"]}],
        },
        {
            "id": "nice_to_have",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://company.example/company_rewards"]},
            "claims": [{"path": ["rewards_number"]}],
        },
    ],
    "credential_sets": [
        {"options": [["pid"], ["other_pid"], ["pid_reduced_cred_1", "pid_reduced_cred_2"]]},
        {"required": False, "options": [["nice_to_have"]]},
    ],
}
# Appendix D, examples/query_lang/complex_mdoc.json (mdoc: parsed only)
SPEC_COMPLEX_MDOC: dict[str, Any] = {
    "credentials": [
        {
            "id": f"{doc}-{part}",
            "format": "mso_mdoc",
            "meta": {"doctype_value": doctype},
            "claims": [
                {"id": name, "path": ["org.iso.18013.5.1", name]}
                for name in (
                    ("given_name", "family_name", "portrait")
                    if part == "id"
                    else ("resident_address", "resident_country")
                )
            ],
        }
        for doc, doctype in (
            ("mdl", "org.iso.18013.5.1.mDL"),
            ("photo_card", "org.iso.23220.photoid.1"),
        )
        for part in ("id", "address")
    ],
    "credential_sets": [
        {"options": [["mdl-id"], ["photo_card-id"]]},
        {"required": False, "options": [["mdl-address"], ["photo_card-address"]]},
    ],
}
# Appendix D, examples/query_lang/claims_alternatives.json
SPEC_CLAIMS_ALTERNATIVES: dict[str, Any] = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"id": "a", "path": ["family_name"]},
                {"id": "b", "path": ["postal_code"]},
                {"id": "c", "path": ["locality"]},
                {"id": "d", "path": ["region"]},
                {"id": "e", "path": ["date_of_birth"]},
            ],
            "claim_sets": [["a", "c", "d", "e"], ["a", "b", "e"]],
        }
    ]
}
# Appendix D, examples/query_lang/value_matching_simple.json
SPEC_VALUE_MATCHING: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["family_name"], "values": ["Doe"]},
                {"path": ["given_name"]},
                {"path": ["address", "street_address"]},
                {"path": ["postal_code"], "values": ["90210", "90211"]},
            ],
        }
    ]
}
# Appendix B.1.3.2, examples/request/dcql_ldp_vc.json
SPEC_LDP_VC_REQUEST: dict[str, Any] = {
    "credentials": [
        {
            "id": "example_ldp_vc",
            "format": "ldp_vc",
            "meta": {"type_values": [["IDCredential"]]},
            "claims": [
                {"path": ["credentialSubject", "family_name"]},
                {"path": ["credentialSubject", "given_name"]},
                {"path": ["credentialSubject", "birthdate"]},
                {"path": ["credentialSubject", "address", "street_address"]},
                {"path": ["credentialSubject", "address", "locality"]},
                {"path": ["credentialSubject", "address", "postal_code"]},
                {"path": ["credentialSubject", "address", "country"]},
            ],
        }
    ]
}
# Appendix B.1.3.1, examples/request/dcql_jwt_vc.json
SPEC_JWT_VC_REQUEST: dict[str, Any] = {
    "credentials": [
        {
            "id": "example_jwt_vc",
            "format": "jwt_vc_json",
            "meta": {"type_values": [["IDCredential"]]},
            "claims": [
                {"path": ["credentialSubject", "family_name"]},
                {"path": ["credentialSubject", "given_name"]},
            ],
        }
    ]
}
# Appendix B.1.3.2, examples/credentials/ldp_vc.json
SPEC_LDP_VC: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/2018/credentials/examples/v1",
        "https://w3id.org/security/data-integrity/v2",
    ],
    "id": "https://example.com/credentials/1872",
    "type": ["VerifiableCredential", "IDCredential"],
    "issuer": {"id": "did:example:issuer"},
    "issuanceDate": "2025-03-19T00:00:00Z",
    "credentialSubject": {
        "given_name": "Max",
        "family_name": "Mustermann",
        "birthdate": "1998-01-11",
        "address": {
            "street_address": "Sandanger 25",
            "locality": "Musterstadt",
            "postal_code": "123456",
            "country": "DE",
        },
    },
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-03-19T15:30:15Z",
        "proofValue": "z5C5b...EtszK",
        "proofPurpose": "assertionMethod",
        "verificationMethod": "did:example:issuer#keys-1",
    },
}
# Appendix B.3.2, examples/credentials/sd_jwt_vc_unsecured.json
SPEC_SD_JWT_VC: dict[str, Any] = {
    "vct": "https://credentials.example.com/identity_credential",
    "given_name": "John",
    "family_name": "Doe",
    "birthdate": "1940-01-01",
}
# Section 7.3, the claims path pointer example credential.
SPEC_POINTER_CREDENTIAL: dict[str, Any] = {
    "name": "Arthur Dent",
    "address": {
        "street_address": "42 Market Street",
        "locality": "Milliways",
        "postal_code": "12345",
    },
    "degrees": [
        {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
        {"type": "Master of Science", "university": "University of Betelgeuse"},
    ],
    "nationalities": ["British", "Betelgeusian"],
}

ALL_SPEC_QUERIES: dict[str, dict[str, Any]] = {
    "request_object": SPEC_REQUEST_OBJECT,
    "simple": SPEC_SIMPLE,
    "simple_mdoc": SPEC_SIMPLE_MDOC,
    "multi_credentials": SPEC_MULTI,
    "credentials_alternatives": SPEC_CRED_ALTERNATIVES,
    "complex_mdoc": SPEC_COMPLEX_MDOC,
    "claims_alternatives": SPEC_CLAIMS_ALTERNATIVES,
    "value_matching_simple": SPEC_VALUE_MATCHING,
    "dcql_ldp_vc": SPEC_LDP_VC_REQUEST,
    "dcql_jwt_vc": SPEC_JWT_VC_REQUEST,
}

JOHN: dict[str, Any] = {
    "vct": IDENTITY_VCT,
    "iss": "https://issuer.example",
    "given_name": "John",
    "family_name": "Doe",
    "birthdate": "1940-01-01",
    "address": {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate"},
    "postal_code": "90210",
}
JOHN_SD = frozenset(
    {
        ("given_name",),
        ("family_name",),
        ("birthdate",),
        ("address",),
        ("address", "street_address"),
        ("address", "locality"),
        ("address", "region"),
        ("postal_code",),
    }
)


@pytest.mark.parametrize("name", sorted(ALL_SPEC_QUERIES))
def test_every_spec_example_parses_and_round_trips(name: str) -> None:
    raw = ALL_SPEC_QUERIES[name]
    q = DCQLQuery.parse(raw, strict=True)
    assert DCQLQuery.parse(q.to_dict()) == q
    assert DCQLQuery.parse(json.dumps(raw)) == q
    assert [c.id for c in q.credentials] == [c["id"] for c in raw["credentials"]]


def test_spec_pointer_example_section_7_3() -> None:
    c = SPEC_POINTER_CREDENTIAL
    assert select_paths(c, ["name"]) == [(("name",), "Arthur Dent")]
    assert select_paths(c, ["address"]) == [(("address",), c["address"])]
    assert select_paths(c, ["address", "street_address"]) == [
        (("address", "street_address"), "42 Market Street")
    ]
    assert select_paths(c, ["degrees", None, "type"]) == [
        (("degrees", 0, "type"), "Bachelor of Science"),
        (("degrees", 1, "type"), "Master of Science"),
    ]
    assert select_paths(c, ["nationalities", 1]) == [(("nationalities", 1), "Betelgeusian")]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        (["name", "x"], "string component on a non-object"),
        (["address", 0], "index on a non-array"),
        (["address", None], "null on a non-array"),
        (["nationalities", None, "x"], "key on array elements that are strings"),
        (["nationalities", 2], "index out of range: empty selection"),
        (["missing"], "key not present"),
        (["degrees", None, "grade"], "key in no element"),
    ],
)
def test_pointer_processing_errors_select_nothing(path: list[Any], why: str) -> None:
    assert select_paths(SPEC_POINTER_CREDENTIAL, path) == [], why


def test_pointer_removes_only_elements_without_the_key() -> None:
    cred = {"a": [{"b": 1}, {"c": 2}, {"b": 3}]}
    assert select_paths(cred, ["a", None, "b"]) == [(("a", 0, "b"), 1), (("a", 2, "b"), 3)]


@pytest.mark.parametrize("bad", [[], "name", ["a", -1], ["a", 1.0], ["a", True], ["a", {}]])
def test_pointer_that_is_not_a_pointer_is_malformed(bad: Any) -> None:
    with pytest.raises(MalformedError) as e:
        select_paths({}, bad)
    assert e.value.code == "dcql_invalid"


def test_spec_request_object_and_simple_against_identity_credential() -> None:
    john = sd("john", IDENTITY_VCT, JOHN, disclosable=JOHN_SD)
    p = plan(DCQLQuery.parse(SPEC_REQUEST_OBJECT), [john])
    assert p.satisfiable
    d = p.presentations()["some_identity_credential"][0]
    assert d.disclose_paths == (("family_name",), ("given_name",))
    assert d.always_revealed == (("vct",), ("iss",))

    p = plan(DCQLQuery.parse(SPEC_SIMPLE), [john])
    d = p.presentations()["my_credential"][0]
    assert d.disclose_paths == (("family_name",), ("given_name",), ("address", "street_address"))
    seen = d.preview(john)
    assert seen.claims == {
        "vct": IDENTITY_VCT,
        "iss": "https://issuer.example",
        "given_name": "John",
        "family_name": "Doe",
        "address": {"street_address": "123 Main St"},
    }
    res = check_response(DCQLQuery.parse(SPEC_SIMPLE), {"my_credential": [seen]})
    assert res.extra_claims == ()


def test_spec_simple_against_the_spec_sd_jwt_vc_lacks_the_address() -> None:
    spec_cred = sd("spec", IDENTITY_VCT, SPEC_SD_JWT_VC)
    p = plan(DCQLQuery.parse(SPEC_SIMPLE), [spec_cred])
    assert not p.satisfiable
    assert p.presentations() == {}
    assert [(m.code, m.path) for m in p.missing] == [
        ("claim_missing", ("address", "street_address"))
    ]
    # The section 5.5 request asks only for names: the spec's credential answers it.
    assert plan(DCQLQuery.parse(SPEC_REQUEST_OBJECT), [spec_cred]).satisfiable


def test_spec_multi_credentials_needs_both() -> None:
    q = DCQLQuery.parse(SPEC_MULTI)
    john = sd("john", IDENTITY_VCT, JOHN)
    p = plan(q, [john])
    assert not p.satisfiable
    assert [m.code for m in p.missing] == ["credential_not_found"]
    assert p.missing[0].query_id == "mdl"
    # A fake mdoc in JSON form (namespace -> element) answers the mdoc half.
    mvrc = CandidateCredential(
        id="mvrc",
        format="mso_mdoc",
        types=("org.iso.7367.1.mVRC",),
        claims={
            "org.iso.7367.1": {"vehicle_holder": "John Doe"},
            "org.iso.18013.5.1": {"given_name": "John"},
        },
    )
    p = plan(q, [mvrc, john])
    assert p.satisfiable
    assert set(p.presentations()) == {"pid", "mdl"}


@pytest.mark.parametrize(
    ("wallet", "expected_option", "nice"),
    [
        (["pid", "other_pid", "reduced_1", "reduced_2"], ["pid"], False),
        (["other_pid", "reduced_1", "reduced_2"], ["other_pid"], False),
        (["reduced_1", "reduced_2", "rewards"], ["pid_reduced_cred_1", "pid_reduced_cred_2"], True),
        (["reduced_1", "rewards"], None, True),
        ([], None, False),
    ],
)
def test_spec_credentials_alternatives(
    wallet: list[str], expected_option: list[str] | None, nice: bool
) -> None:
    person = {
        "given_name": "Erika",
        "family_name": "Mustermann",
        "address": {"street_address": "Heidestraße 17"},
    }
    creds = {
        "pid": sd("pid", IDENTITY_VCT, person),
        "other_pid": sd("other_pid", "https://othercredentials.example/pid", person),
        "reduced_1": sd(
            "reduced_1",
            "https://credentials.example.com/reduced_identity_credential",
            {"given_name": "Erika", "family_name": "Mustermann"},
        ),
        "reduced_2": sd(
            "reduced_2",
            "https://cred.example/residence_credential",
            {"postal_code": "51147", "locality": "Köln", "region": "NRW"},
        ),
        "rewards": sd(
            "rewards", "https://company.example/company_rewards", {"rewards_number": "R-1"}
        ),
    }
    p = plan(DCQLQuery.parse(SPEC_CRED_ALTERNATIVES), [creds[w] for w in wallet])
    required, optional = p.credential_sets
    if expected_option is None:
        assert not p.satisfiable and not required.satisfied
        assert p.presentations() == {}
        assert p.missing[0].code == "credential_set_unsatisfied"
        return
    assert p.satisfiable
    assert required.option == tuple(expected_option)
    assert optional.satisfied is nice
    expected = set(expected_option) | ({"nice_to_have"} if nice else set())
    assert set(p.presentations()) == expected


def test_spec_claims_alternatives_prefers_first_option() -> None:
    q = DCQLQuery.parse(SPEC_CLAIMS_ALTERNATIVES)
    base = {"family_name": "Doe", "date_of_birth": "1940-01-01"}
    both = sd("both", IDENTITY_VCT, {**base, "postal_code": "1", "locality": "L", "region": "R"})
    d = plan(q, [both]).presentations()["pid"][0]
    assert d.claim_set_index == 0 and d.claim_set == ("a", "c", "d", "e")
    assert d.disclose_paths == (("family_name",), ("locality",), ("region",), ("date_of_birth",))

    postal = sd("postal", IDENTITY_VCT, {**base, "postal_code": "1", "locality": "L"})
    d = plan(q, [postal]).presentations()["pid"][0]
    assert d.claim_set_index == 1
    assert d.disclose_paths == (("family_name",), ("postal_code",), ("date_of_birth",))

    neither = sd("neither", IDENTITY_VCT, {**base, "locality": "L"})
    p = plan(q, [neither])
    assert not p.satisfiable
    assert {(m.code, m.path) for m in p.missing} == {
        ("claim_missing", ("region",)),
        ("claim_missing", ("postal_code",)),
    }


@pytest.mark.parametrize(
    ("postal", "family", "ok", "code"),
    [
        ("90210", "Doe", True, None),
        ("90211", "Doe", True, None),
        ("90212", "Doe", False, "value_mismatch"),
        (90210, "Doe", False, "value_mismatch"),  # type must match too (section 6.3)
        ("90210", "Dent", False, "value_mismatch"),
    ],
)
def test_spec_value_matching(postal: Any, family: str, ok: bool, code: str | None) -> None:
    cred = sd("c", IDENTITY_VCT, {**JOHN, "postal_code": postal, "family_name": family})
    p = plan(DCQLQuery.parse(SPEC_VALUE_MATCHING), [cred])
    assert p.satisfiable is ok
    if code:
        assert p.missing[0].code == code


def test_spec_ldp_vc_request_against_spec_ldp_vc() -> None:
    q = DCQLQuery.parse(SPEC_LDP_VC_REQUEST)
    cand = CandidateCredential(
        id="vc1872",
        format="ldp_vc",
        types=tuple(SPEC_LDP_VC["type"]),
        claims=SPEC_LDP_VC,
        disclosable=lambda p: len(p) >= 2 and p[0] == "credentialSubject",
    )
    p = plan(q, [cand])
    d = p.presentations()["example_ldp_vc"][0]
    wanted = [c["path"] for c in SPEC_LDP_VC_REQUEST["credentials"][0]["claims"]]
    assert [list(x) for x in d.disclose_paths] == wanted
    seen = d.preview(cand)
    assert seen.claims["credentialSubject"] == SPEC_LDP_VC["credentialSubject"]
    assert seen.claims["proof"] == SPEC_LDP_VC["proof"]
    res = check_response(q, {"example_ldp_vc": [seen]}, strict_minimal=True)
    assert res.answered == ("example_ldp_vc",)
    # The jwt_vc_json request of Appendix B.1.3.1 is the same idea in another format.
    jwt = CandidateCredential(
        id="jwt",
        format="jwt_vc_json",
        types=("VerifiableCredential", "IDCredential"),
        claims=SPEC_LDP_VC,
    )
    assert (
        plan(DCQLQuery.parse(SPEC_JWT_VC_REQUEST), [cand, jwt])
        .presentations()["example_jwt_vc"][0]
        .credential_id
        == "jwt"
    )


def test_spec_type_values_example_appendix_b_1_1() -> None:
    query = {
        "credentials": [
            {
                "id": "w3c",
                "format": "ldp_vc",
                "meta": {
                    "type_values": [
                        [
                            "https://www.w3.org/2018/credentials#VerifiableCredential",
                            "https://example.org/examples#AlumniCredential",
                            "https://example.org/examples#BachelorDegree",
                        ],
                        [
                            "https://www.w3.org/2018/credentials#VerifiableCredential",
                            "https://example.org/examples#UniversityDegreeCredential",
                        ],
                        ["IdentityCredential"],
                    ]
                },
            }
        ]
    }
    q = DCQLQuery.parse(query).credentials[0]
    vc = "https://www.w3.org/2018/credentials#VerifiableCredential"
    ex = "https://example.org/examples#"
    # The caller gives the fully expanded types, as JSON-LD expansion of the examples gives.
    assert q.accepts_type("ldp_vc", [vc, ex + "UniversityDegreeCredential"])
    assert q.accepts_type("ldp_vc", [vc, ex + "BachelorDegree", ex + "AlumniCredential"])
    assert q.accepts_type("ldp_vc", [vc, "IdentityCredential"])  # undefined term stays relative
    assert not q.accepts_type("ldp_vc", [vc, ex + "BachelorDegree"])
    assert not q.accepts_type("jwt_vc_json", [vc, "IdentityCredential"])


def test_spec_response_example_section_8_1_1() -> None:
    q = DCQLQuery.parse(SPEC_SIMPLE)
    john = sd("john", IDENTITY_VCT, JOHN, disclosable=JOHN_SD)
    seen = plan(q, [john]).presentations()["my_credential"][0].preview(john)
    assert check_response(q, {"my_credential": [seen]}).answered == ("my_credential",)
    with pytest.raises(PolicyError) as e:
        check_response(q, {"my_credential": [seen, seen]})
    assert e.value.code == "multiple_not_allowed"
    multi = DCQLQuery.parse({"credentials": [{**SPEC_SIMPLE["credentials"][0], "multiple": True}]})
    assert check_response(multi, {"my_credential": [seen, seen]}).claim_sets == {
        "my_credential": (None, None)
    }


# --------------------------------------------------------------------------------------------
# Parsing: every MUST, by member

VALID_CRED: dict[str, Any] = {
    "id": "q1",
    "format": "dc+sd-jwt",
    "meta": {"vct_values": [DS_VCT]},
    "claims": [{"id": "a", "path": ["totals", "outstanding"]}, {"id": "b", "path": ["x"]}],
    "claim_sets": [["a"], ["a", "b"]],
}


def _with(**changes: Any) -> dict[str, Any]:
    cred = copy.deepcopy(VALID_CRED)
    for k, v in changes.items():
        if v is _DROP:
            cred.pop(k)
        else:
            cred[k] = v
    return {"credentials": [cred]}


_DROP = object()

INVALID: list[tuple[str, Any, str]] = [
    ("query not an object", [], "DCQL query"),
    ("credentials missing", {}, "credentials"),
    ("credentials empty", {"credentials": []}, "credentials"),
    ("credentials not array", {"credentials": {"id": "x"}}, "credentials"),
    ("credential not object", {"credentials": ["q1"]}, "credentials[0]"),
    ("id missing", _with(id=_DROP), "credentials[0].id"),
    ("id empty", _with(id=""), "credentials[0].id"),
    ("id with space", _with(id="a b"), "credentials[0].id"),
    ("id non-ascii", _with(id="schuld\u00eb"), "credentials[0].id"),
    ("id with dot", _with(id="a.b"), "credentials[0].id"),
    ("id number", _with(id=1), "credentials[0].id"),
    ("format missing", _with(format=_DROP), "credentials[0].format"),
    ("format empty", _with(format=""), "credentials[0].format"),
    ("format not string", _with(format=["dc+sd-jwt"]), "credentials[0].format"),
    ("multiple not bool", _with(multiple="yes"), "credentials[0].multiple"),
    ("meta missing", _with(meta=_DROP), "credentials[0].meta"),
    ("meta not object", _with(meta=[]), "credentials[0].meta"),
    ("vct_values missing", _with(meta={}), "credentials[0].meta.vct_values"),
    ("vct_values empty", _with(meta={"vct_values": []}), "credentials[0].meta.vct_values"),
    ("vct_values string", _with(meta={"vct_values": DS_VCT}), "credentials[0].meta.vct_values"),
    ("vct_values item", _with(meta={"vct_values": [1]}), "credentials[0].meta.vct_values[0]"),
    (
        "type_values missing",
        _with(format="ldp_vc", meta={"vct_values": [DS_VCT]}),
        "credentials[0].meta.type_values",
    ),
    (
        "type_values flat",
        _with(format="ldp_vc", meta={"type_values": ["DebtStatement"]}),
        "credentials[0].meta.type_values[0]",
    ),
    (
        "type_values inner empty",
        _with(format="ldp_vc", meta={"type_values": [[]]}),
        "credentials[0].meta.type_values[0]",
    ),
    (
        "jwt_vc_json type_values missing",
        _with(format="jwt_vc_json", meta={}),
        "credentials[0].meta.type_values",
    ),
    (
        "doctype_value missing",
        _with(format="mso_mdoc", meta={}),
        "credentials[0].meta.doctype_value",
    ),
    (
        "trusted_authorities empty",
        _with(trusted_authorities=[]),
        "credentials[0].trusted_authorities",
    ),
    (
        "trusted_authorities type missing",
        _with(trusted_authorities=[{"values": ["x"]}]),
        "credentials[0].trusted_authorities[0].type",
    ),
    (
        "trusted_authorities values empty",
        _with(trusted_authorities=[{"type": "aki", "values": []}]),
        "credentials[0].trusted_authorities[0].values",
    ),
    (
        "holder binding not bool",
        _with(require_cryptographic_holder_binding=0),
        "credentials[0].require_cryptographic_holder_binding",
    ),
    ("claims empty", _with(claims=[], claim_sets=_DROP), "credentials[0].claims"),
    ("claims not array", _with(claims={}, claim_sets=_DROP), "credentials[0].claims"),
    ("claim not object", _with(claims=[["x"]], claim_sets=_DROP), "credentials[0].claims[0]"),
    (
        "path missing",
        _with(claims=[{"id": "a"}], claim_sets=_DROP),
        "credentials[0].claims[0].path",
    ),
    ("path empty", _with(claims=[{"path": []}], claim_sets=_DROP), "credentials[0].claims[0].path"),
    ("path string", _with(claims=[{"path": "x"}], claim_sets=_DROP), "claims[0].path"),
    ("path negative", _with(claims=[{"path": ["x", -1]}], claim_sets=_DROP), "path[1]"),
    ("path float", _with(claims=[{"path": ["x", 1.0]}], claim_sets=_DROP), "path[1]"),
    ("path bool", _with(claims=[{"path": [True]}], claim_sets=_DROP), "path[0]"),
    ("path object", _with(claims=[{"path": [{}]}], claim_sets=_DROP), "path[0]"),
    ("values empty", _with(claims=[{"path": ["x"], "values": []}], claim_sets=_DROP), "values"),
    (
        "values null",
        _with(claims=[{"path": ["x"], "values": [None]}], claim_sets=_DROP),
        "values[0]",
    ),
    (
        "values float",
        _with(claims=[{"path": ["x"], "values": [1.5]}], claim_sets=_DROP),
        "values[0]",
    ),
    (
        "values object",
        _with(claims=[{"path": ["x"], "values": ["a", {"b": 1}]}], claim_sets=_DROP),
        "values[1]",
    ),
    (
        "values array",
        _with(claims=[{"path": ["x"], "values": [[1]]}], claim_sets=_DROP),
        "values[0]",
    ),
    (
        "claim id charset",
        _with(claims=[{"id": "a/b", "path": ["x"]}], claim_sets=_DROP),
        "claims[0].id",
    ),
    (
        "claim id duplicate",
        _with(claims=[{"id": "a", "path": ["x"]}, {"id": "a", "path": ["y"]}], claim_sets=_DROP),
        "claims[1].id",
    ),
    ("claim_sets without claims", _with(claims=_DROP), "credentials[0].claim_sets"),
    (
        "claim id missing with claim_sets",
        _with(claims=[{"id": "a", "path": ["x"]}, {"path": ["y"]}], claim_sets=[["a"]]),
        "credentials[0].claims[1].id",
    ),
    ("claim_sets empty", _with(claim_sets=[]), "credentials[0].claim_sets"),
    ("claim_sets option empty", _with(claim_sets=[[]]), "credentials[0].claim_sets[0]"),
    ("claim_sets unknown id", _with(claim_sets=[["a", "z"]]), "credentials[0].claim_sets[0][1]"),
    (
        "credential id duplicate",
        {"credentials": [VALID_CRED, VALID_CRED]},
        "credentials[1].id",
    ),
    ("credential_sets empty", {**_with(), "credential_sets": []}, "credential_sets"),
    ("credential_sets not object", {**_with(), "credential_sets": [["q1"]]}, "credential_sets[0]"),
    (
        "options missing",
        {**_with(), "credential_sets": [{"required": True}]},
        "credential_sets[0].options",
    ),
    ("options empty", {**_with(), "credential_sets": [{"options": []}]}, "options"),
    (
        "option empty",
        {**_with(), "credential_sets": [{"options": [[]]}]},
        "credential_sets[0].options[0]",
    ),
    (
        "option unknown query id",
        {**_with(), "credential_sets": [{"options": [["q1", "q2"]]}]},
        "credential_sets[0].options[0][1]",
    ),
    (
        "required not bool",
        {**_with(), "credential_sets": [{"options": [["q1"]], "required": "false"}]},
        "credential_sets[0].required",
    ),
]


def test_the_valid_base_query_parses() -> None:
    q = DCQLQuery.parse(_with())
    assert q.credentials[0].claim_sets == (("a",), ("a", "b"))


@pytest.mark.parametrize(("why", "query", "member"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_queries_are_rejected_naming_the_member(why: str, query: Any, member: str) -> None:
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse(query)
    assert e.value.code == "dcql_invalid", why
    assert member in e.value.message, (why, e.value.message)
    if isinstance(query, dict):  # the same verdict for the JSON text
        with pytest.raises(MalformedError) as e2:
            DCQLQuery.parse(json.dumps(query))
        assert e2.value.code == "dcql_invalid"


def test_defaults() -> None:
    c = DCQLQuery.parse(
        {"credentials": [{"id": "x", "format": "ldp_vc", "meta": {"type_values": [["T"]]}}]}
    ).credentials[0]
    assert c.multiple is False
    assert c.require_cryptographic_holder_binding is True
    assert c.claims is None and c.claim_sets is None and c.trusted_authorities is None
    assert c.claim_options() == ((),)
    s = DCQLQuery.parse({**_with(), "credential_sets": [{"options": [["q1"]]}]})
    assert s.credential_sets is not None and s.credential_sets[0].required is True


def test_unknown_members_are_ignored() -> None:
    raw = _with(purpose="why not", claims=[{"path": ["x"], "note": 1}], claim_sets=_DROP)
    raw["future_extension"] = {"x": 1}
    q = DCQLQuery.parse(raw)
    assert q.credentials[0].claims == (ClaimsQuery(path=("x",)),)


def test_unknown_format_parses_but_never_matches() -> None:
    q = DCQLQuery.parse({"credentials": [{"id": "x", "format": "vc+future", "meta": {"a": [1]}}]})
    assert q.credentials[0].meta == {"a": (1,)}
    cand = CandidateCredential(id="c", format="vc+future", types=("a",), claims={})
    p = plan(q, [cand])
    assert not p.satisfiable and p.missing[0].code == "credential_not_found"


def test_trusted_authorities_kept_and_mdoc_intent_to_retain() -> None:
    q = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "m",
                    "format": "mso_mdoc",
                    "meta": {"doctype_value": "org.iso.18013.5.1.mDL"},
                    "trusted_authorities": [{"type": "aki", "values": ["s9tIpPmhxdiuNkHM"]}],
                    "claims": [{"path": ["ns", "x"], "intent_to_retain": True}],
                }
            ]
        }
    )
    c = q.credentials[0]
    assert c.trusted_authorities is not None and c.trusted_authorities[0].type == "aki"
    assert c.claims is not None and c.claims[0].intent_to_retain is True
    assert DCQLQuery.parse(q.to_dict()) == q
    with pytest.raises(MalformedError):
        DCQLQuery.parse(
            {
                "credentials": [
                    {
                        **q.to_dict()["credentials"][0],
                        "claims": [{"path": ["ns", "x"], "intent_to_retain": 1}],
                    }
                ]
            }
        )


def test_size_and_json_limits() -> None:
    small = Limits(max_dcql_bytes=200)
    big = _with(claims=[{"path": ["x" * 300]}], claim_sets=_DROP)
    for data in (big, json.dumps(big), json.dumps(big).encode()):
        with pytest.raises(MalformedError) as e:
            DCQLQuery.parse(data, limits=small)
        assert e.value.code == "too_large"
    deep: Any = ["x"]
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse({"credentials": [deep]})
    assert e.value.code == "too_deep"
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse('{"credentials": [], "credentials": []}')
    assert e.value.code == "duplicate_json_key"
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse("{not json")
    assert e.value.code == "malformed_json"
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse({"credentials": [{"id": "x", "format": "y", "meta": {"n": float("nan")}}]})
    assert e.value.code == "dcql_invalid"


def test_duplicate_claim_paths_tolerated_unless_strict() -> None:
    raw = _with(claims=[{"path": ["x"]}, {"path": ["x"]}], claim_sets=_DROP)
    q = DCQLQuery.parse(raw)  # the Wallet SHOULD ignore duplicates (section 6.1)
    cand = sd("c", DS_VCT, {"x": 1})
    assert plan(q, [cand]).presentations()["q1"][0].disclose_paths == (("x",),)
    with pytest.raises(MalformedError) as e:
        DCQLQuery.parse(raw, strict=True)  # the Verifier MUST NOT send them
    assert "claims[1].path" in e.value.message


def test_query_is_frozen() -> None:
    q = DCQLQuery.parse(_with())
    with pytest.raises(AttributeError):
        q.credentials[0].id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        q.credentials[0].meta["vct_values"] = ()  # type: ignore[index]
    assert q.credential("q1").id == "q1"
    with pytest.raises(PolicyError) as e:
        q.credential("nope")
    assert e.value.code == "query_unknown"


# --------------------------------------------------------------------------------------------
# Wallet side: plans

PERSON: dict[str, Any] = {
    "iss": "urn:oin:00000001003214345000",
    "vct": DS_VCT,
    "subject": {
        "family_name": "Jansen",
        "given_names": "Eva Maria",
        "birthdate": "1988-04-12",
        "bsn": "999999990",
    },
    "totals": {"outstanding": 50000},
}
PERSON_SD = frozenset(
    {
        ("subject", "family_name"),
        ("subject", "given_names"),
        ("subject", "birthdate"),
        ("subject", "bsn"),
        ("totals", "outstanding"),
    }
)


def _q(*claims: list[Any], **kw: Any) -> DCQLQuery:
    cred: dict[str, Any] = {"id": "ds", "format": "dc+sd-jwt", "meta": {"vct_values": [DS_VCT]}}
    if claims:
        cred["claims"] = [{"path": p} for p in claims]
    cred.update(kw)
    return DCQLQuery.parse({"credentials": [cred]})


def test_bsn_is_withheld_when_only_the_parent_is_asked() -> None:
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD)
    p = plan(_q(["subject"]), [cand])
    d = p.presentations()["ds"][0]
    assert d.disclose_paths == (
        ("subject", "family_name"),
        ("subject", "given_names"),
        ("subject", "birthdate"),
    )
    assert d.withheld == (("subject", "bsn"),)
    assert [(w.code, w.path) for w in p.warnings] == [
        ("protected_claim_withheld", ("subject", "bsn"))
    ]
    seen = d.preview(cand)
    assert "bsn" not in seen.claims["subject"]
    # The verifier's check applies the same rule: the response is complete and minimal.
    assert check_response(_q(["subject"]), {"ds": [seen]}, strict_minimal=True).extra_claims == ()


def test_bsn_is_disclosed_when_asked_by_name_and_flagged() -> None:
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD)
    p = plan(_q(["subject", "bsn"], ["subject", "family_name"]), [cand])
    d = p.presentations()["ds"][0]
    assert d.disclose_paths == (("subject", "bsn"), ("subject", "family_name"))
    assert [w.code for w in d.warnings] == ["protected_claim_requested"]


def test_bsn_rule_can_be_switched_off_and_wildcards_do_not_name_it() -> None:
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD)
    d = plan(_q(["subject"]), [cand], protected_names=frozenset()).presentations()["ds"][0]
    assert d.disclose_paths == (("subject",),)
    assert [w.code for w in d.warnings] == ["subtree_requested"]
    people = sd("p", DS_VCT, {"people": [{"bsn": "1", "n": "a"}, {"bsn": "2", "n": "b"}]})
    d = plan(_q(["people", None]), [people]).presentations()["ds"][0]
    assert d.disclose_paths == (("people", 0, "n"), ("people", 1, "n"))
    assert d.withheld == (("people", 0, "bsn"), ("people", 1, "bsn"))
    d = plan(_q(["people", None, "bsn"]), [people]).presentations()["ds"][0]
    assert d.disclose_paths == (("people", 0, "bsn"), ("people", 1, "bsn"))


def test_a_subtree_of_only_protected_claims_cannot_be_given() -> None:
    cand = sd("s", DS_VCT, {"subject": {"bsn": "999999990"}})
    p = plan(_q(["subject"]), [cand])
    assert not p.satisfiable
    assert p.missing[0].code == "claim_protected"


def test_always_shown_bsn_is_warned_about() -> None:
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD - {("subject", "bsn")})
    p = plan(_q(["totals", "outstanding"]), [cand])
    assert ("protected_claim_always_revealed", ("subject", "bsn")) in {
        (w.code, w.path) for w in p.warnings
    }


def test_no_claims_means_only_always_shown_claims() -> None:
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD)
    p = plan(_q(), [cand])
    d = p.presentations()["ds"][0]
    assert d.claims_mode == "mandatory_only"
    assert d.disclose_paths == ()
    assert d.always_revealed == (("iss",), ("vct",))
    assert [w.code for w in p.warnings] == ["mandatory_claims_only"]
    assert d.preview(cand).claims == {
        "iss": PERSON["iss"],
        "vct": DS_VCT,
        "subject": {},
        "totals": {},
    }
    # A credential that cannot disclose selectively shows everything: say so.
    flat = sd("f", DS_VCT, {"a": 1, "b": {"c": 2}}, disclosable=frozenset())
    d = plan(_q(), [flat]).presentations()["ds"][0]
    assert d.always_revealed == (("a",), ("b", "c"))
    assert {w.code for w in d.warnings} == {"mandatory_claims_only", "not_selectively_disclosable"}


def test_value_filter_discloses_only_matching_elements() -> None:
    cand = sd("s", DS_VCT, {"cases": [{"stage": "reminder"}, {"stage": "bailiff"}, {"stage": 1}]})
    q = DCQLQuery.parse(
        {
            "credentials": [
                {
                    "id": "ds",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [DS_VCT]},
                    "claims": [{"path": ["cases", None, "stage"], "values": ["bailiff", "x"]}],
                }
            ]
        }
    )
    d = plan(q, [cand]).presentations()["ds"][0]
    assert d.disclose_paths == (("cases", 1, "stage"),)
    assert d.disclose[0].value == "bailiff"


def test_candidate_selection_order_and_multiple() -> None:
    old = sd("old", DS_VCT, PERSON, issued_at=100)
    new = sd("new", DS_VCT, PERSON, issued_at=200)
    undated = sd("a-undated", DS_VCT, PERSON)
    q = _q(["totals", "outstanding"])
    for order in ([old, new, undated], [undated, new, old]):
        p = plan(q, order)
        assert [d.credential_id for d in p.queries[0].selected] == ["new"]
        assert [d.credential_id for d in p.queries[0].alternatives] == ["old", "a-undated"]
    p = plan(q, [old, new], sort_key=lambda c: c.issued_at)  # oldest first, on request
    assert p.presentations()["ds"][0].credential_id == "old"
    many = plan(_q(["totals", "outstanding"], multiple=True), [old, undated, new])
    assert [d.credential_id for d in many.presentations()["ds"]] == ["new", "old", "a-undated"]


def test_choose_lets_the_citizen_pick() -> None:
    a, b = sd("a", DS_VCT, PERSON, issued_at=1), sd("b", DS_VCT, PERSON, issued_at=2)
    p = plan(_q(["totals", "outstanding"]), [a, b])
    p2 = p.choose("ds", ["a"])
    assert p2.presentations()["ds"][0].credential_id == "a"
    assert [d.credential_id for d in p2.queries[0].alternatives] == ["b"]
    for args, code in [
        (("ds", ["a", "b"]), "multiple_not_allowed"),
        (("ds", ["zzz"]), "credential_missing"),
        (("nope", ["a"]), "query_unknown"),
    ]:
        with pytest.raises(PolicyError) as e:
            p.choose(*args)
        assert e.value.code == code


def test_unusable_and_unbound_candidates_are_explained() -> None:
    revoked = sd("r", DS_VCT, PERSON, usable=False)
    unbound = sd("u", DS_VCT, PERSON, holder_binding=False)
    p = plan(_q(["totals", "outstanding"]), [revoked, unbound])
    assert not p.satisfiable
    assert {(m.code, m.credential_id) for m in p.missing} == {
        ("credential_unusable", "r"),
        ("holder_binding_unsupported", "u"),
    }
    relaxed = _q(["totals", "outstanding"], require_cryptographic_holder_binding=False)
    assert plan(relaxed, [revoked, unbound]).presentations()["ds"][0].credential_id == "u"


def test_warnings_for_trusted_authorities_and_to_dict_is_json() -> None:
    q = _q(["subject"], trusted_authorities=[{"type": "etsi_tl", "values": ["https://lotl"]}])
    cand = sd("s", DS_VCT, PERSON, disclosable=PERSON_SD)
    p = plan(q, [cand])
    assert "trusted_authorities_not_evaluated" in {w.code for w in p.warnings}
    out = json.loads(json.dumps(p.to_dict()))
    assert out["satisfiable"] is True
    assert out["queries"][0]["selected"][0]["withheld"] == [["subject", "bsn"]]
    unsat = plan(_q(["nope"]), [cand]).to_dict()
    assert json.loads(json.dumps(unsat))["missing"][0]["code"] == "claim_missing"


def test_plan_missing_names_the_claim_and_the_type() -> None:
    p = plan(_q(["totals", "imposed"]), [sd("s", DS_VCT, PERSON)])
    assert [(m.code, m.path, m.credential_id) for m in p.missing] == [
        ("claim_missing", ("totals", "imposed"), "s")
    ]
    p = plan(_q(["totals"]), [sd("s", RK_VCT, PERSON)])
    assert p.missing[0].code == "credential_not_found"
    assert DS_VCT in p.missing[0].message


# --------------------------------------------------------------------------------------------
# Verifier side: check_response, each code

Q_SETS = DCQLQuery.parse(
    {
        "credentials": [
            {
                "id": "decl",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [RK_VCT]},
                "claims": [{"path": ["payment_incapacity"], "values": [True]}],
            },
            {
                "id": "debts",
                "format": "dc+sd-jwt",
                "multiple": True,
                "meta": {"vct_values": [DS_VCT]},
                "claims": [{"path": ["totals", "outstanding"]}],
            },
        ],
        "credential_sets": [
            {"options": [["decl"]]},
            {"required": False, "options": [["debts"]]},
        ],
    }
)
DECL = PresentedCredential(format="dc+sd-jwt", types=(RK_VCT,), claims={"payment_incapacity": True})
DEBT = PresentedCredential(
    format="dc+sd-jwt", types=(DS_VCT,), claims={"totals": {"outstanding": 1}}
)


def _code(query: DCQLQuery, presented: Any, **kw: Any) -> str:
    with pytest.raises((PolicyError, HolderBindingError)) as e:
        check_response(query, presented, **kw)
    return e.value.code


def test_check_response_accepts_and_reports() -> None:
    res = check_response(Q_SETS, {"decl": [DECL], "debts": [DEBT, DEBT]})
    assert res.answered == ("decl", "debts")
    assert res.credential_sets == (0, 0)
    assert res.extra_claims == ()
    assert check_response(Q_SETS, {"decl": [DECL]}).credential_sets == (0, None)
    assert json.loads(json.dumps(res.to_dict()))["answered"] == ["decl", "debts"]


@pytest.mark.parametrize(
    ("presented", "code"),
    [
        ({"decl": [DECL], "other": [DEBT]}, "query_unknown"),
        ({"decl": [DECL, DECL]}, "multiple_not_allowed"),
        ({"decl": [DECL], "debts": []}, "credential_missing"),
        ({"decl": DECL}, "credential_missing"),
        ({"decl": [replace_(DECL, format="ldp_vc")]}, "format_mismatch"),
        ({"decl": [replace_(DECL, types=(DS_VCT,))]}, "type_mismatch"),
        ({"decl": [replace_(DECL, claims={})]}, "claim_missing"),
        ({"decl": [replace_(DECL, claims={"payment_incapacity": "true"})]}, "value_mismatch"),
        ({"debts": [DEBT]}, "credential_set_unsatisfied"),
        ({}, "credential_set_unsatisfied"),
        ({"decl": [replace_(DECL, holder_bound=False)]}, "key_binding_missing"),
    ],
)
def test_check_response_rejections(presented: Any, code: str) -> None:
    assert _code(Q_SETS, presented) == code


def test_claim_missing_names_the_path() -> None:
    q = _q(["totals", "outstanding"], ["balance_at"])
    pc = PresentedCredential(
        format="dc+sd-jwt", types=(DS_VCT,), claims={"totals": {"outstanding": 1}}
    )
    with pytest.raises(PolicyError) as e:
        check_response(q, {"ds": [pc]})
    assert e.value.code == "claim_missing"
    assert "['balance_at']" in e.value.message
    assert _code(_q(["balance_at"]), {}) == "credential_missing"


def test_claim_sets_at_the_verifier() -> None:
    q = DCQLQuery.parse(SPEC_CLAIMS_ALTERNATIVES)
    base = {"family_name": "Doe", "date_of_birth": "1940-01-01"}

    def pc(claims: dict[str, Any]) -> PresentedCredential:
        return PresentedCredential(format="dc+sd-jwt", types=(IDENTITY_VCT,), claims=claims)

    assert check_response(q, {"pid": [pc({**base, "postal_code": "1"})]}).claim_sets == {
        "pid": (1,)
    }
    assert check_response(
        q, {"pid": [pc({**base, "locality": "L", "region": "R"})]}
    ).claim_sets == {"pid": (0,)}
    with pytest.raises(PolicyError) as e:
        check_response(q, {"pid": [pc({**base, "locality": "L"})]})
    assert e.value.code == "claim_missing" and "no claim_sets option" in e.value.message


def test_extra_claims_flagged_or_rejected() -> None:
    pc = PresentedCredential(
        format="dc+sd-jwt",
        types=(DS_VCT,),
        claims={"iss": "x", "totals": {"outstanding": 1, "imposed": 2}},
        disclosed=frozenset({("totals", "outstanding"), ("totals", "imposed")}),
    )
    q = _q(["totals", "outstanding"])
    res = check_response(q, {"ds": [pc]})
    assert [e.path for e in res.extra_claims] == [("totals", "imposed")]
    assert _code(q, {"ds": [pc]}, strict_minimal=True) == "excess_disclosure"
    # Without disclosure paths every non-technical leaf counts.
    unknown = replace_(pc, disclosed=None)
    assert [e.path for e in check_response(q, {"ds": [unknown]}).extra_claims] == [
        ("totals", "imposed")
    ]
    # A BSN that came with a request for ["subject"] is extra (privacy rule).
    bsn = PresentedCredential(
        format="dc+sd-jwt",
        types=(DS_VCT,),
        claims={"subject": {"family_name": "J", "bsn": "999999990"}},
        disclosed=frozenset({("subject", "family_name"), ("subject", "bsn")}),
    )
    assert [e.path for e in check_response(_q(["subject"]), {"ds": [bsn]}).extra_claims] == [
        ("subject", "bsn")
    ]
    # Mandatory-only request: any selectively disclosed claim is extra.
    assert len(check_response(_q(), {"ds": [pc]}).extra_claims) == 2


def test_discard_mismatched_presentations() -> None:
    wrong = replace_(DEBT, types=("urn:other",))
    res = check_response(Q_SETS, {"decl": [DECL], "debts": [wrong, DEBT]}, discard_mismatched=True)
    assert res.answered == ("decl", "debts")
    assert [(d.query_id, d.index, d.code) for d in res.discarded] == [("debts", 0, "type_mismatch")]
    res = check_response(Q_SETS, {"decl": [DECL], "debts": [wrong]}, discard_mismatched=True)
    assert res.answered == ("decl",) and res.credential_sets == (0, None)
    assert (
        _code(Q_SETS, {"decl": [replace_(DECL, claims={})]}, discard_mismatched=True)
        == "credential_set_unsatisfied"
    )


def test_unrequested_answer_in_credential_sets_is_extra() -> None:
    q = DCQLQuery.parse(
        {**SPEC_CRED_ALTERNATIVES, "credential_sets": [{"options": [["pid"], ["other_pid"]]}]}
    )
    person = {"given_name": "E", "family_name": "M", "address": {"street_address": "S"}}
    pid = PresentedCredential(format="dc+sd-jwt", types=(IDENTITY_VCT,), claims=person)
    other = PresentedCredential(
        format="dc+sd-jwt", types=("https://othercredentials.example/pid",), claims=person
    )
    res = check_response(q, {"pid": [pid], "other_pid": [other]})
    assert [(e.query_id, e.path) for e in res.extra_claims] == [("other_pid", ())]


# --------------------------------------------------------------------------------------------
# Our creditor requests (examples/data/requests)

DECL_SD: set[tuple[str, ...]] = {
    ("application_date",), ("admission_decision_date",), ("trajectory_phase",),
    ("court_moratorium",), ("subject",), ("counsellor", "name"), ("counsellor", "direct_phone"),
    ("counsellor", "email"), ("counsellor", "client_reference"),
}  # fmt: skip
STMT_SD: set[tuple[str, ...]] = {
    ("subject",),
    ("totals",),
    ("cases",),
    ("arrangement",),
    ("collection_hold",),
}


def _domain_sd(path: tuple[Any, ...], roots: set[tuple[str, ...]]) -> bool:
    # DOMAIN.md: every field below an SD group is disclosable on its own, per element too.
    return any(path[: len(r)] == r for r in roots)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "examples" / "data" / name).read_text("utf-8"))
    return data


def _declaration(di: bool, **changes: Any) -> CandidateCredential:
    data = {**_load("rode-knop-declaration.json"), **changes}
    claims: dict[str, Any]
    if di:
        claims = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "PaymentIncapacityDeclaration"],
            "issuer": "urn:oin:00000001001234567000",
            "validFrom": "2026-11-16T00:00:00Z",
            "credentialSubject": data,
        }
        return CandidateCredential(
            id="decl-di",
            format="ldp_vc",
            types=w3c_type_iris(claims["type"]),  # as the wallet expands them
            claims=claims,
            disclosable=lambda p: p[:1] == ("credentialSubject",) and _domain_sd(p[1:], DECL_SD),
        )
    claims = {"iss": "urn:oin:00000001001234567000", "vct": RK_VCT, "iat": 1, **data}
    return sd("decl", RK_VCT, claims, disclosable=lambda p: _domain_sd(p, DECL_SD))


def _statement(di: bool, n: int) -> CandidateCredential:
    data = _load("debt-statement.json")
    data["statement_id"] = f"S-{n}"
    data["totals"] = {**data["totals"], "outstanding": 1000 * n}
    if di:
        claims = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "DebtStatement"],
            "issuer": "urn:oin:00000001003214345000",
            "credentialSubject": data,
        }
        return CandidateCredential(
            id=f"stmt-di-{n}",
            format="ldp_vc",
            types=w3c_type_iris(claims["type"]),  # as the wallet expands them
            claims=claims,
            issued_at=n,
            disclosable=lambda p: p[:1] == ("credentialSubject",) and _domain_sd(p[1:], STMT_SD),
        )
    claims = {"iss": "urn:oin:00000001003214345000", "vct": DS_VCT, **data}
    return sd(
        f"stmt-{n}", DS_VCT, claims, issued_at=n, disclosable=lambda p: _domain_sd(p, STMT_SD)
    )


def _request(name: str) -> DCQLQuery:
    return DCQLQuery.parse((REQUESTS / name).read_bytes(), strict=True)


def _round_trip(q: DCQLQuery, p: Any, cands: list[CandidateCredential]) -> Any:
    by_id = {c.id: c for c in cands}
    vp = {
        qid: [d.preview(by_id[d.credential_id]) for d in ds]
        for qid, ds in p.presentations().items()
    }
    return check_response(q, vp, strict_minimal=True), vp


REQUEST_FILES = sorted(p.name for p in REQUESTS.glob("*.json"))


def test_all_eight_requests_exist() -> None:
    expected = sorted(
        f"{base}{sfx}.json"
        for base in (
            "rode-knop-check",
            "rode-knop-check-public-creditor",
            "outstanding-totals",
            "hold-and-totals",
            "arrangement-statements",
            "arrangement-cjib",
        )
        for sfx in ("", "-di")
    )
    assert expected == REQUEST_FILES


@pytest.mark.parametrize("name", REQUEST_FILES)
def test_request_file_is_valid_and_canonical_enough(name: str) -> None:
    q = _request(name)
    di = name.endswith("-di.json")
    for c in q.credentials:
        assert c.format == ("ldp_vc" if di else "dc+sd-jwt")
        assert c.require_cryptographic_holder_binding
        assert c.claims is not None
        for cq in c.claims:
            assert (cq.path[0] == "credentialSubject") is di
    assert DCQLQuery.parse(q.to_dict()) == q


@pytest.mark.parametrize("di", [False, True], ids=["sd-jwt", "di"])
def test_rode_knop_check(di: bool) -> None:
    sfx = "-di" if di else ""
    pre: tuple[str, ...] = ("credentialSubject",) if di else ()
    q = _request(f"rode-knop-check{sfx}.json")
    decl = _declaration(di)
    p = plan(q, [decl, _statement(di, 1)])
    assert p.satisfiable
    d = p.presentations()["payment_incapacity_declaration"][0]
    assert set(d.disclose_paths) >= {(*pre, "subject", "family_name"), (*pre, "valid_until")}
    sd_disclosed = {x for x in d.disclose_paths if decl.is_disclosable(x)}
    assert sd_disclosed == {
        (*pre, "subject", "family_name"),
        (*pre, "subject", "given_names"),
        (*pre, "subject", "birthdate"),
    }
    assert p.warnings == ()
    res, vp = _round_trip(q, p, [decl])
    seen = vp["payment_incapacity_declaration"][0].claims
    subject = (seen["credentialSubject"] if di else seen)["subject"]
    assert set(subject) == {"family_name", "given_names", "birthdate"}  # no bsn, no address
    assert "counsellor" in (seen["credentialSubject"] if di else seen)
    assert res.extra_claims == ()
    # A declaration that does not declare incapacity does not match (values [true]).
    fake = _declaration(di, payment_incapacity=False)
    assert plan(q, [fake]).missing[0].code == "value_mismatch"


@pytest.mark.parametrize("di", [False, True], ids=["sd-jwt", "di"])
def test_rode_knop_check_public_creditor_gets_the_bsn(di: bool) -> None:
    sfx = "-di" if di else ""
    pre: tuple[str, ...] = ("credentialSubject",) if di else ()
    q = _request(f"rode-knop-check-public-creditor{sfx}.json")
    decl = _declaration(di)
    p = plan(q, [decl])
    d = p.presentations()["payment_incapacity_declaration"][0]
    assert (*pre, "subject", "bsn") in d.disclose_paths
    assert [(w.code, w.path) for w in p.warnings] == [
        ("protected_claim_requested", (*pre, "subject", "bsn"))
    ]
    _, vp = _round_trip(q, p, [decl])
    seen = vp["payment_incapacity_declaration"][0].claims
    assert (seen["credentialSubject"] if di else seen)["subject"]["bsn"] == "999999990"
    # The ordinary check refuses a response that carries the BSN anyway.
    plain = _request(f"rode-knop-check{sfx}.json")
    assert _code(plain, vp, strict_minimal=True) == "excess_disclosure"


@pytest.mark.parametrize("di", [False, True], ids=["sd-jwt", "di"])
def test_outstanding_totals_from_every_creditor(di: bool) -> None:
    sfx = "-di" if di else ""
    q = _request(f"outstanding-totals{sfx}.json")
    stmts = [_statement(di, n) for n in (1, 3, 2)]
    p = plan(q, [_declaration(di), *stmts])
    ds = p.presentations()["debt_statements"]
    assert [d.credential_id for d in ds] == [s.id for s in (stmts[1], stmts[2], stmts[0])]
    for d in ds:
        assert all("cases" not in x and "subject" not in x for x in d.disclose_paths)
    res, vp = _round_trip(q, p, stmts)
    assert res.extra_claims == ()
    totals = [
        (v.claims["credentialSubject"] if di else v.claims)["totals"] for v in vp["debt_statements"]
    ]
    assert totals == [{"outstanding": 3000}, {"outstanding": 2000}, {"outstanding": 1000}]


@pytest.mark.parametrize("di", [False, True], ids=["sd-jwt", "di"])
def test_hold_and_totals(di: bool) -> None:
    sfx = "-di" if di else ""
    q = _request(f"hold-and-totals{sfx}.json")
    decl, stmt = _declaration(di), _statement(di, 1)
    p = plan(q, [decl, stmt])
    assert set(p.presentations()) == {"payment_incapacity_declaration", "debt_statements"}
    res, _ = _round_trip(q, p, [decl, stmt])
    assert res.credential_sets == (0, 0)
    p = plan(q, [decl])  # the debt statements are optional
    assert p.satisfiable and set(p.presentations()) == {"payment_incapacity_declaration"}
    assert _round_trip(q, p, [decl])[0].credential_sets == (0, None)
    p = plan(q, [stmt])  # the declaration is not
    assert not p.satisfiable and p.presentations() == {}
    assert [m.code for m in p.missing] == ["credential_set_unsatisfied", "credential_not_found"]
    # SD-JWT requests do not match W3C credentials and vice versa.
    other = _declaration(not di)
    assert not plan(q, [other]).satisfiable


def test_module_doctests() -> None:
    # the package and each of its modules (query, paths, plan, response) has examples
    modules = [dcql_module] + [
        importlib.import_module(f"{dcql_module.__name__}.{m.name}")
        for m in pkgutil.iter_modules(dcql_module.__path__)
    ]
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in modules]
    assert len(modules) > 4 and all(r.attempted > 0 for r in results)
    assert sum(r.failed for r in results) == 0 and sum(r.attempted for r in results) > 10


def test_requested_ids() -> None:
    assert DCQLQuery.parse(SPEC_MULTI).requested_ids() == ("pid", "mdl")
    q = DCQLQuery.parse(
        {**SPEC_CRED_ALTERNATIVES, "credential_sets": [{"options": [["pid"], ["other_pid"]]}]}
    )
    assert q.requested_ids() == ("pid", "other_pid")
    assert not plan(q, [sd("x", "urn:other", {})]).queries[2].requested


def test_plan_drives_the_sd_jwt_layer_end_to_end() -> None:
    """The plan's paths go straight into SDJWT.present; the verifier's ``disclosed`` set goes
    straight into check_response; ``preview`` predicts exactly what the verifier sees."""
    from blauweknop._keys import Key
    from blauweknop._sdjwt import SD, SDJWT, KeyBindingPolicy, issue_sd_jwt, verify_sd_jwt

    data = _load("rode-knop-declaration.json")
    issuer, holder = Key.generate(), Key.generate()
    marked: dict[str, Any] = {}
    for k, v in data.items():
        if k == "subject":
            marked[k] = SD({kk: SD(vv) for kk, vv in v.items()})
        elif k == "counsellor":
            marked[k] = {kk: SD(vv) if (k, kk) in DECL_SD else vv for kk, vv in v.items()}
        else:
            marked[k] = SD(v) if (k,) in DECL_SD else v
    head = {"iss": "urn:oin:00000001001234567000", "vct": RK_VCT}
    token = SDJWT.parse(issue_sd_jwt({**head, **marked}, issuer, holder_jwk=holder.public_jwk()))
    disclosable = frozenset(tuple(p) for p, _ in token.disclosure_paths())
    cand = sd("decl", RK_VCT, {**head, **data}, disclosable=disclosable)
    kb = KeyBindingPolicy(nonce="n-1", audience="urn:oin:00000001003214345000")
    for name, bsn in [
        ("rode-knop-check.json", False),
        ("rode-knop-check-public-creditor.json", True),
    ]:
        q = _request(name)
        d = plan(q, [cand]).presentations()["payment_incapacity_declaration"][0]
        vp = token.present(
            list(d.disclose_paths),
            holder_key=holder,
            nonce="n-1",
            audience="urn:oin:00000001003214345000",
        )
        res = verify_sd_jwt(vp, issuer_key=issuer, key_binding=kb)
        seen = {k: v for k, v in res.claims.items() if k != "cnf"}
        assert d.preview(cand).claims == seen
        assert ("bsn" in seen["subject"]) is bsn and "address" not in seen["subject"]
        pc = PresentedCredential(
            format="dc+sd-jwt",
            types=(RK_VCT,),
            claims=res.claims,
            disclosed=res.disclosed,
            holder_bound=res.key_bound,
        )
        out = check_response(q, {"payment_incapacity_declaration": [pc]}, strict_minimal=True)
        assert out.extra_claims == ()
