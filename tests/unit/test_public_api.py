"""The public API, pinned: ``blauweknop.__all__``, ``rodeknop_vc.__all__`` and the public
submodules hold exactly the expected names, each importable and documented, and no public
name stands for two different things anywhere in the packages.

A change here is an API change: update the list on purpose (and CHANGELOG.md), not to make the
test pass.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import griffe
import pytest

import blauweknop
import rodeknop_vc

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_ALL: dict[str, list[str]] = {
    "blauweknop": [
        "DEBT_STATEMENT_VCT",
        "RODE_KNOP_VCT",
        "SD",
        "SDJWT",
        "BlauweKnopError",
        "ContextError",
        "CredentialOutcome",
        "CredentialProfile",
        "DCQLQuery",
        "DisclosureError",
        "DisclosurePlan",
        "HolderBindingError",
        "ImportResult",
        "InvalidDataError",
        "IssuedCredential",
        "Issuer",
        "Key",
        "KeyBindingPolicy",
        "Limits",
        "MalformedError",
        "Overview",
        "PolicyError",
        "PresentationResult",
        "SignatureError",
        "Signer",
        "StatusCache",
        "StatusError",
        "StatusSource",
        "StorageError",
        "StoredCredential",
        "TrustError",
        "TrustList",
        "TrustedOrganisation",
        "ValidityError",
        "VerifiedCredential",
        "VerifiedSDJWT",
        "Verifier",
        "Wallet",
        "build_trust_list",
        "did_jwk",
        "get_profile",
        "issue_sd_jwt",
        "key_from_did_jwk",
        "load_profile",
        "parse_json",
        "register_profile",
        "sync_status",
        "verify_sd_jwt",
    ],
    "blauweknop.arrangement": [
        "ARRANGEMENT_CONTEXT",
        "MAX_INSTALLMENTS",
        "PAYMENT_ARRANGEMENT_VCT",
        "ArrangementCoordinator",
        "ArrangementLine",
        "Coordinator",
        "CoveredDebt",
        "CreditorShare",
        "Pause",
        "PaymentArrangement",
        "Proposal",
        "compute_arrangement",
        "creditor_request",
        "creditor_share",
        "due_dates",
        "instalments",
        "split_pro_rata",
        "statements_request",
    ],
    "blauweknop.area": [
        "AREA_EXTRACT_TYP",
        "AREA_REPORT_TYP",
        "BANDS",
        "COMBINED_MEASURES",
        "MEASURES",
        "TOTAL",
        "AreaReport",
        "CombinedReport",
        "PersonSignal",
        "PseudonymisedExtract",
        "Pseudonymiser",
        "add_noise",
        "area_report",
        "combine",
        "period_snapshot",
        "person_signals",
        "render_chart",
        "signed_extract",
        "suppress",
        "verify_area_report",
    ],
    "blauweknop.debt": [
        "Arrangement",
        "Case",
        "CaseComponent",
        "CollectionHold",
        "Contact",
        "Creditor",
        "DebtStatement",
        "Person",
        "Totals",
    ],
    "blauweknop.files": ["atomic_write", "credential_writer"],
    "blauweknop.oid4vci": [
        "OFFER_SCHEMES",
        "Authenticator",
        "CredentialOfferLink",
        "HttpRequest",
        "HttpResponse",
        "IssuerService",
        "OAuthError",
        "ProtocolStore",
        "SQLiteProtocolStore",
        "asgi_app",
        "parse_offer_link",
        "receive_offer",
    ],
    "blauweknop.oid4vp": [
        "Consent",
        "Decision",
        "ReceivedRequest",
        "RequestHandle",
        "ResponseOutcome",
        "Session",
        "SessionStore",
        "VerifierService",
        "WalletResponder",
        "verifier_app",
    ],
    "blauweknop.formats": [
        "CredentialFormat",
        "FORMATS",
        "FORMAT_OPTIONS",
        "SD_JWT_VC",
        "StatusReservation",
        "StatusSource",
        "VerifiedCredential",
        "VerifyPolicy",
        "W3C_DI",
        "WalletRecord",
        "format_for",
        "format_for_option",
        "format_of",
    ],
    "blauweknop.formats.sd_jwt_vc": [
        "SD_JWT_VC",
        "SdJwtVcFormat",
        "check_status_claim",
        "trust_list_resolver",
    ],
    "blauweknop.formats.w3c_di": [
        "W3C_DI",
        "W3cDiFormat",
        "bitstring_signer",
        "issue_di_credential",
        "mandatory_pointers",
        "present_di",
        "status_credential_verifier",
    ],
    "blauweknop.x509": [
        "CA_CERTIFICATE_FILE",
        "CA_KEY_FILE",
        "CERTIFICATE_ROLES",
        "MAX_CERTIFICATE_BYTES",
        "MAX_CHAIN_LENGTH",
        "CertificateAuthority",
        "CertifiedSigner",
        "certificate_from_pem",
        "certificate_to_pem",
        "certificates_from_pem",
        "decode_x5c",
        "encode_x5c",
        "leaf_matches_issuer",
        "leaf_public_key",
        "load_certificates",
        "resolve_x5c_key",
        "verify_chain",
        "x509_hash",
    ],
    "rodeknop_vc": [
        "RODE_KNOP_VCT",
        "Address",
        "BatchReport",
        "BatchRow",
        "Counsellor",
        "CourtMoratorium",
        "DeclarationSubject",
        "ExecutingOrganisation",
        "HoldDecision",
        "Municipality",
        "PaymentIncapacityDeclaration",
        "RejectedRow",
        "__version__",
        "hold_decision",
        "issue_batch",
        "read_batch",
        "write_report",
    ],
}


def _all_modules() -> list[ModuleType]:
    """Every module of the two libraries, private ones included."""
    modules: list[ModuleType] = []
    for package in (blauweknop, rodeknop_vc):
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            modules.append(importlib.import_module(info.name))
    return modules


def _is_public(module_name: str) -> bool:
    return not any(part.startswith("_") for part in module_name.split("."))


PUBLIC_MODULES = sorted(m.__name__ for m in _all_modules() if _is_public(m.__name__))


def test_the_public_modules_are_the_expected_ones() -> None:
    # A new public module (a name without a leading underscore) is new API: pin its __all__.
    assert sorted(EXPECTED_ALL) == PUBLIC_MODULES


@pytest.mark.parametrize("module_name", sorted(EXPECTED_ALL))
def test_all_is_exactly_the_expected_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{module_name}.__all__ repeats a name"
    assert sorted(names) == sorted(EXPECTED_ALL[module_name])


@pytest.fixture(scope="module")
def documented() -> griffe.ModulesCollection:
    """The packages as the documentation site reads them (griffe, aliases resolved)."""
    loader = griffe.GriffeLoader(search_paths=[str(ROOT / "src")])
    for package in ("blauweknop", "rodeknop_vc"):
        loader.load(package)
    loader.resolve_aliases(external=True)
    return loader.modules_collection


PUBLIC_NAMES = [(module, name) for module in sorted(EXPECTED_ALL) for name in EXPECTED_ALL[module]]


@pytest.mark.parametrize(("module_name", "name"), PUBLIC_NAMES)
def test_every_public_name_is_importable_and_documented(
    module_name: str, name: str, documented: griffe.ModulesCollection
) -> None:
    module = importlib.import_module(module_name)
    value = getattr(module, name)  # importable: `from module import name` works
    assert value is not None
    member = documented[module_name][name]
    docstring = member.docstring.value.strip() if member.docstring else ""
    assert docstring, f"{module_name}.{name} has no docstring"
    if inspect.isclass(value) or inspect.isfunction(value):
        assert (inspect.getdoc(value) or "").strip(), f"{module_name}.{name} has no __doc__"


@pytest.mark.parametrize("module_name", sorted(EXPECTED_ALL))
def test_every_public_module_is_documented(
    module_name: str, documented: griffe.ModulesCollection
) -> None:
    assert (importlib.import_module(module_name).__doc__ or "").strip()
    assert documented[module_name].docstring is not None


def _holders(name: str) -> dict[int, list[str]]:
    """Every module that exports ``name`` (in its ``__all__``) or defines a class or function
    of that name, grouped by the identity of the object."""
    found: dict[int, list[str]] = {}
    for module in _all_modules():
        value: Any = getattr(module, name, None)
        if value is None:
            continue
        exported = name in getattr(module, "__all__", ())
        defined_here = (inspect.isclass(value) or inspect.isfunction(value)) and getattr(
            value, "__module__", None
        ) == module.__name__
        if exported or defined_here:
            found.setdefault(id(value), []).append(module.__name__)
    return found


#: Public names that stand for two objects (none since the format layer consolidated
#: `StatusCache` and `StatusSource`, issue 13); an entry here is marked xfail(strict).
TWO_OBJECTS_TODAY: set[str] = set()

UNIQUE_NAME_CASES = [
    pytest.param(
        name,
        marks=pytest.mark.xfail(strict=True, reason="consolidated by the format layer, issue 13"),
    )
    if name in TWO_OBJECTS_TODAY
    else name
    for name in sorted({name for names in EXPECTED_ALL.values() for name in names})
]


@pytest.mark.parametrize("name", UNIQUE_NAME_CASES)
def test_a_public_name_stands_for_one_object_in_the_whole_package(name: str) -> None:
    holders = _holders(name)
    assert len(holders) == 1, f"{name} names {len(holders)} objects: {sorted(holders.values())}"


def test_the_uniqueness_check_sees_a_second_object_of_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blauweknop import _codec

    class Wallet:  # a different object under a public name
        """Not the wallet."""

    monkeypatch.setattr(_codec, "Wallet", Wallet, raising=False)
    monkeypatch.setattr(_codec, "__all__", [*_codec.__all__, "Wallet"])
    assert len(_holders("Wallet")) == 2
