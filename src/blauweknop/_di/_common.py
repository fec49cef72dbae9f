"""Pieces shared by the cryptosuites: proof objects, time values, hashing, signing.

Rules come from VC-DATA-INTEGRITY 2.1 (proof properties), 4.2 (Add Proof) and 4.4 (Verify
Proof), and from the suite specifications' Proof Configuration sections (VC-DI-ECDSA 3.2.5,
3.6.4; VC-DI-EDDSA 3.2.5).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from .._errors import ContextError, MalformedError, SignatureError
from .._keys import Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._jsonld import document_quads
from ._loader import OfflineLoader
from ._rdfc import CanonicalDataset, canonicalize

__all__ = [
    "ECDSA_RDFC",
    "ECDSA_SD",
    "EDDSA_RDFC",
    "PROOF_TYPE",
    "SUPPORTED_SUITES",
    "canonical_dataset",
    "check_new_document",
    "format_datetime",
    "hash_name_for",
    "json_copy",
    "parse_datetime",
    "proof_config_hash",
    "sign",
    "to_timestamp",
]

PROOF_TYPE: Final = "DataIntegrityProof"
ECDSA_RDFC: Final = "ecdsa-rdfc-2019"
EDDSA_RDFC: Final = "eddsa-rdfc-2022"
ECDSA_SD: Final = "ecdsa-sd-2023"
SUPPORTED_SUITES: Final = frozenset({ECDSA_RDFC, EDDSA_RDFC, ECDSA_SD})

_ALG_CURVE: Final = {"ES256": "P-256", "ES384": "P-384", "EdDSA": "Ed25519"}

# XML Schema 1.1 dateTime / dateTimeStamp lexical space (4-digit years: Python's datetime range).
_DATETIME = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)"
    r"(\.\d{1,9})?(Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)?$"
)


_IMMUTABLE: Final = frozenset({str, int, float, bool, type(None)})


def json_copy(value: Any) -> Any:
    """A deep copy of plain JSON (``dict``, ``list``, scalars), as ``copy.deepcopy`` makes it
    but without its memo bookkeeping, which dominates for small documents; any other type
    is handed to ``copy.deepcopy``. Shared sub-objects are copied separately, never shared.

    >>> doc = {"a": [1, {"b": "c"}]}
    >>> json_copy(doc) == doc and json_copy(doc)["a"] is not doc["a"]
    True
    """
    t = type(value)
    if t is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if t is list:
        return [json_copy(v) for v in value]
    if t in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def curve_of(key: Key | Signer) -> str:
    """The curve name of a :class:`Key` or of a :class:`Signer` (from its JOSE ``alg``)."""
    if isinstance(key, Key):
        return key.crv
    crv = _ALG_CURVE.get(key.alg)
    if crv is None:
        raise SignatureError("algorithm_not_allowed", f"signer algorithm {key.alg!r} not usable")
    return crv


def hash_name_for(crv: str) -> str:
    """VC-DI-ECDSA 3: SHA-384 for P-384 keys (also inside RDFC-1.0), SHA-256 otherwise."""
    return "sha384" if crv == "P-384" else "sha256"


def sign(key: Key | Signer, data: bytes) -> bytes:
    """Sign ``data``; ECDSA with a :class:`Key` uses RFC 6979 nonces (VC-DI-ECDSA 3: SHOULD)."""
    if isinstance(key, Key):
        return key.sign(data, deterministic=True)
    return key.sign(data)


def parse_datetime(value: Any, what: str) -> datetime:
    """Parse an XML Schema dateTimeStamp (VC-DATA-INTEGRITY 2.1 ``created``/``expires``,
    VC-DATA-MODEL-2.0 4.9 ``validFrom``/``validUntil``). Values without an offset are read
    as UTC, as VC-DATA-INTEGRITY 2.1 permits.

    >>> parse_datetime("2023-08-15T23:36:38Z", "created").isoformat()
    '2023-08-15T23:36:38+00:00'
    """
    if not isinstance(value, str):
        raise MalformedError("malformed_datetime", f"{what} must be a string")
    m = _DATETIME.match(value)
    if not m:
        raise MalformedError("malformed_datetime", f"{what} is not an XML Schema dateTime")
    base = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}"
    frac = (m.group(7) or "")[:7]  # microseconds; finer digits change no check
    tz = m.group(8)
    text = base + frac + ("+00:00" if tz in (None, "Z") else tz)
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise MalformedError("malformed_datetime", f"{what} is not a valid date") from e


def format_datetime(value: datetime | str) -> str:
    """``created``-style UTC timestamp ``YYYY-MM-DDThh:mm:ssZ``; strings are checked and kept."""
    if isinstance(value, str):
        parse_datetime(value, "created")
        return value
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MalformedError("malformed_datetime", "expected a timezone-aware datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_timestamp(now: float | datetime | None) -> float:
    """Verification time as Unix seconds; ``None`` means the current time."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise MalformedError("malformed_datetime", "now must be timezone-aware")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise MalformedError("malformed_datetime", "now must be Unix seconds or a datetime")
    return float(now)


def canonical_dataset(
    document: Mapping[str, Any], loader: OfflineLoader, limits: Limits, hash_name: str
) -> CanonicalDataset:
    """Expand (with the safety checks), deserialize to RDF and canonicalize (RDFC-1.0)."""
    quads = document_quads(document, loader, limits)
    return canonicalize(quads, hash_name=hash_name, limits=limits)


def proof_config_hash(
    proof: Mapping[str, Any],
    context: Any,
    loader: OfflineLoader,
    limits: Limits = DEFAULT_LIMITS,
    hash_name: str = "sha256",
) -> bytes:
    """Hash of the canonical proof configuration: the proof without ``proofValue``, with the
    document's ``@context`` (VC-DI-ECDSA 3.2.5 / 3.6.4, VC-DI-EDDSA 3.2.5)."""
    config = {k: json_copy(v) for k, v in proof.items() if k not in ("proofValue", "@context")}
    config["@context"] = json_copy(context)
    canon = canonical_dataset(config, loader, limits, hash_name)
    return hashlib.new(hash_name, canon.serialize().encode("utf-8")).digest()


def build_proof_options(
    *,
    cryptosuite: str,
    verification_method: str,
    proof_purpose: str,
    created: datetime | str | None,
    expires: datetime | str | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """Proof options in the member order the W3C examples use (VC-DATA-INTEGRITY 2.1)."""
    if not isinstance(verification_method, str) or not verification_method:
        raise MalformedError("proof_malformed", "verification_method must be a non-empty string")
    if not isinstance(proof_purpose, str) or not proof_purpose:
        raise MalformedError("proof_malformed", "proof_purpose must be a non-empty string")
    proof: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": cryptosuite}
    if created is not None:
        proof["created"] = format_datetime(created)
    if expires is not None:
        proof["expires"] = format_datetime(expires)
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    return proof


def check_document(document: Any, limits: Limits, max_bytes: int | None = None) -> None:
    """Plain JSON only, bounded: a JSON object of JSON values (no NaN, no lone surrogates,
    string keys), at most ``Limits.max_json_depth`` deep and ``max_bytes`` (default
    ``Limits.max_token_bytes``) long when serialised."""
    if not isinstance(document, Mapping):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    string_keys = _scan(document, limits.max_json_depth)
    limit = limits.max_token_bytes if max_bytes is None else max_bytes
    try:
        size = len(
            json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
                "utf-8"
            )
        )
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise MalformedError("malformed_document", f"the document is not plain JSON: {e}") from e
    if size > limit:
        raise MalformedError("too_large", f"the document is larger than {limit} bytes")
    if not string_keys:
        raise MalformedError("malformed_document", "JSON object keys must be strings")


def check_new_document(document: Any) -> None:
    """The input of Add Proof (VC-DATA-INTEGRITY 4.2): a JSON object without a ``proof``
    (proof sets are not supported)."""
    if not isinstance(document, Mapping):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    if "proof" in document:
        raise MalformedError(
            "proof_set_not_supported",
            "the document already has a proof; proof sets are not supported",
        )


def _scan(document: Mapping[str, Any], limit: int) -> bool:
    """One pass for :func:`check_document`: ``too_deep`` as ``check_depth(document, limit,
    "document")`` raises it; returns whether every key of every object is a string."""
    string_keys = True
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        v, depth = stack.pop()
        if depth > limit:
            raise MalformedError("too_deep", f"document nests deeper than {limit}")
        if isinstance(v, dict):
            for k, item in v.items():
                if string_keys and not isinstance(k, str):
                    string_keys = False
                stack.append((item, depth + 1))
        elif isinstance(v, Mapping):
            # not a dict: check_depth does not descend, the key check does
            if string_keys and not all(isinstance(k, str) for k in _all_keys(v)):
                string_keys = False
        elif isinstance(v, list):
            stack.extend((item, depth + 1) for item in v)
    return string_keys


def _all_keys(value: Any) -> list[Any]:
    keys: list[Any] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, Mapping):
            keys.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return keys


def unsecured(
    document: Mapping[str, Any],
    limits: Limits,
    max_bytes: int | None = None,
    *,
    checked: bool = False,
) -> dict[str, Any]:
    """A checked (:func:`check_document`, unless ``checked``) deep copy of ``document``
    without ``proof`` (VC-DATA-INTEGRITY 4.4 / suite 3.x.2); it must have an ``@context``
    (``context_not_allowed`` otherwise)."""
    if not checked:
        check_document(document, limits, max_bytes)
    out = {k: json_copy(v) for k, v in document.items() if k != "proof"}
    if "@context" not in out:
        raise ContextError("context_not_allowed", "the document has no @context")
    return out
