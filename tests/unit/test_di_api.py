"""The Data Integrity package's API surface: small, sorted, documented.

Expected results: ``blauweknop._di.__all__`` is sorted and exactly the documented names;
every public function has a docstring with an example and a spec reference.
"""

from __future__ import annotations

import inspect

import blauweknop._di as di

EXPECTED = [
    "BLAUWEKNOP_V1",
    "CREDENTIALS_V2",
    "PRODUCTION_CONTEXTS",
    "VECTOR_CONTEXTS",
    "KeyResolver",
    "OfflineLoader",
    "VerifiedProof",
    "add_base_proof_sd",
    "add_proof",
    "default_loader",
    "derive_proof_sd",
    "key_from_multikey",
    "multikey_from_key",
    "sign_presentation",
    "verify_presentation",
    "verify_proof",
]


def test_all_is_sorted_and_complete() -> None:
    assert di.__all__ == EXPECTED
    # ruff's RUF022 order: constants, then classes, then functions
    upper = [n for n in di.__all__ if n == n.upper()]
    assert upper == sorted(upper)
    for name in di.__all__:
        assert hasattr(di, name), name


def test_public_functions_have_examples_and_spec_references() -> None:
    for name in (
        "add_proof",
        "add_base_proof_sd",
        "derive_proof_sd",
        "verify_proof",
        "sign_presentation",
        "verify_presentation",
    ):
        doc = inspect.getdoc(getattr(di, name)) or ""
        assert ">>>" in doc, name
    for name in ("add_proof", "add_base_proof_sd", "derive_proof_sd", "verify_proof"):
        doc = inspect.getdoc(getattr(di, name)) or ""
        assert "VC-D" in doc, name  # VC-DATA-INTEGRITY / VC-DI-ECDSA / VC-DI-EDDSA section


def test_verified_proof_is_frozen_and_keyword_only() -> None:
    params = inspect.signature(di.VerifiedProof).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert di.VerifiedProof.__dataclass_params__.frozen  # type: ignore[attr-defined]
