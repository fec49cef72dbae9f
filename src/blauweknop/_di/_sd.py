"""``ecdsa-sd-2023``: selective disclosure with ECDSA (VC-DI-ECDSA sections 3.4 - 3.6).

The issuer signs every non-mandatory N-Quad with a proof-scoped P-256 key and binds that key,
the proof configuration and the mandatory N-Quads with one base signature (3.6.5). Blank node
labels are replaced by HMAC-derived labels so they do not leak the document's shape (3.4.4).
The holder reveals a subset chosen with JSON Pointers and forwards only the matching
signatures (3.6.6); the verifier recomputes the N-Quads of what it received and checks every
signature (3.6.7).

Proof values are CBOR behind a three-byte header, ``0xd9 0x5d 0x00`` (base) and
``0xd9 0x5d 0x01`` (derived), multibase base64url-no-pad (``u``). They are parsed strictly
(:mod:`._cbor`): fixed component count and sizes, no tags, no duplicates, no trailing bytes,
at most ``Limits.max_cbor_bytes``. The proof-scoped public key is 35 bytes (``0x80 0x24`` +
compressed point), as in the W3C vectors, although 3.5.8 says 36.

Example:
    >>> from blauweknop import Key
    >>> issuer = Key.generate("ES256")
    >>> doc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...        "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...        "credentialSubject": {"id": "urn:example:subject", "name": "Jan"}}
    >>> base = add_base_proof_sd(doc, issuer, verification_method="urn:example:issuer#k",
    ...                          mandatory_pointers=["/issuer"])
    >>> derived = derive_proof_sd(base, ["/credentialSubject/id"])
    >>> "name" in derived["credentialSubject"]
    False
    >>> from blauweknop._di import verify_proof
    >>> verify_proof(derived, resolve_key=lambda vm: issuer.public()).document["issuer"]
    'urn:example:issuer'
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .._codec import b64u_decode, b64u_encode
from .._errors import DisclosureError, MalformedError, SignatureError
from .._keys import Key, Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._cbor import decode as cbor_decode
from ._cbor import encode as cbor_encode
from ._common import (
    ECDSA_SD,
    build_proof_options,
    curve_of,
    json_copy,
    proof_config_hash,
    sign,
    unsecured,
)
from ._jsonld import compact, expand, to_quads
from ._loader import OfflineLoader, default_loader
from ._multibase import multibase_decode
from ._pointers import parse_pointer, select_json_ld
from ._rdfc import CanonicalDataset, Quad, canonicalize, relabel, serialize_quad

__all__ = [
    "BASE_HEADER",
    "DERIVED_HEADER",
    "BaseProofValue",
    "BaseTransform",
    "DerivedProofValue",
    "DisclosureData",
    "VerifyData",
    "add_base_proof_sd",
    "base_transform",
    "canonicalize_and_group",
    "create_disclosure_data",
    "create_verify_data",
    "derive_proof_sd",
    "parse_base_proof_value",
    "parse_derived_proof_value",
    "serialize_base_proof_value",
    "serialize_derived_proof_value",
    "verify_sd",
]

BASE_HEADER: Final = b"\xd9\x5d\x00"
DERIVED_HEADER: Final = b"\xd9\x5d\x01"
_P256_MULTIKEY: Final = b"\x80\x24"


# -- proof values (3.5.2, 3.5.3, 3.5.5 - 3.5.8) ----------------------------------------------
@dataclass(frozen=True, slots=True)
class BaseProofValue:
    """Components of a base proof value (VC-DI-ECDSA 3.5.3)."""

    base_signature: bytes
    public_key: bytes
    hmac_key: bytes
    signatures: list[bytes]
    mandatory_pointers: list[str]


@dataclass(frozen=True, slots=True)
class DerivedProofValue:
    """Components of a derived proof value (VC-DI-ECDSA 3.5.8), label map decompressed."""

    base_signature: bytes
    public_key: bytes
    signatures: list[bytes]
    label_map: dict[str, str]
    mandatory_indexes: list[int]


def serialize_base_proof_value(v: BaseProofValue) -> str:
    """VC-DI-ECDSA 3.5.2: ``u`` + base64url(0xd95d00 || CBOR[5 components])."""
    body = cbor_encode(
        [v.base_signature, v.public_key, v.hmac_key, list(v.signatures), list(v.mandatory_pointers)]
    )
    return "u" + b64u_encode(BASE_HEADER + body)


def serialize_derived_proof_value(v: DerivedProofValue) -> str:
    """VC-DI-ECDSA 3.5.7 with 3.5.5 compressLabelMap: ``u`` + base64url(0xd95d01 || CBOR)."""
    compressed = {}
    for k, label in v.label_map.items():
        compressed[int(k[len("c14n") :])] = b64u_decode(label[1:], what="label")
    body = cbor_encode(
        [v.base_signature, v.public_key, list(v.signatures), compressed, list(v.mandatory_indexes)]
    )
    return "u" + b64u_encode(DERIVED_HEADER + body)


def _fail(why: str) -> MalformedError:
    return MalformedError("proof_value_malformed", why)


def _decode_proof_value(value: Any, header: bytes, limits: Limits) -> list[Any]:
    if not isinstance(value, str) or not value.startswith("u"):
        raise _fail("ecdsa-sd-2023 proof values are multibase base64url (prefix 'u')")
    if len(value) > limits.max_cbor_bytes * 4 // 3 + 8:
        raise _fail(f"proof value larger than {limits.max_cbor_bytes} bytes")
    try:
        raw = multibase_decode(value, allowed="u")
    except MalformedError as e:
        raise _fail(e.message) from e
    if len(raw) > limits.max_cbor_bytes:
        raise _fail(f"proof value larger than {limits.max_cbor_bytes} bytes")
    if raw[:3] != header:
        kind = {BASE_HEADER: "base", DERIVED_HEADER: "derived"}.get(raw[:3], "unknown")
        raise _fail(f"proof value header is {raw[:3].hex()} ({kind}), expected {header.hex()}")
    components = cbor_decode(raw[3:])
    if not isinstance(components, list) or len(components) != 5:
        raise _fail("proof value must be a CBOR array of five components")
    return components


def _bstr(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise _fail(f"{what} must be a {size}-byte string")
    return value


def _public_key(value: Any) -> bytes:
    pk = _bstr(value, 35, "publicKey")
    if pk[:2] != _P256_MULTIKEY:
        raise _fail("publicKey must be a P-256 Multikey (0x80 0x24 + compressed point)")
    return pk


def _signatures(value: Any) -> list[bytes]:
    if not isinstance(value, list):
        raise _fail("signatures must be an array")
    return [_bstr(s, 64, "each signature") for s in value]


def parse_base_proof_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> BaseProofValue:
    """VC-DI-ECDSA 3.5.3 parseBaseProofValue, strictly."""
    c = _decode_proof_value(value, BASE_HEADER, limits)
    pointers = c[4]
    if not isinstance(pointers, list) or not all(isinstance(p, str) for p in pointers):
        raise _fail("mandatoryPointers must be an array of strings")
    for p in pointers:
        try:
            parse_pointer(p)
        except MalformedError as e:
            raise _fail(f"mandatoryPointers: {e.message}") from e
    return BaseProofValue(
        base_signature=_bstr(c[0], 64, "baseSignature"),
        public_key=_public_key(c[1]),
        hmac_key=_bstr(c[2], 32, "hmacKey"),
        signatures=_signatures(c[3]),
        mandatory_pointers=pointers,
    )


def parse_derived_proof_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> DerivedProofValue:
    """VC-DI-ECDSA 3.5.8 parseDerivedProofValue (with 3.5.6 decompressLabelMap), strictly."""
    c = _decode_proof_value(value, DERIVED_HEADER, limits)
    compressed = c[3]
    if not isinstance(compressed, dict):
        raise _fail("labelMap must be a map")
    label_map: dict[str, str] = {}
    for k, v in compressed.items():
        if not isinstance(k, int):
            raise _fail("labelMap keys must be integers")
        label_map[f"c14n{k}"] = "u" + b64u_encode(_bstr(v, 32, "each labelMap value"))
    indexes = c[4]
    if not isinstance(indexes, list) or not all(isinstance(i, int) for i in indexes):
        raise _fail("mandatoryIndexes must be an array of integers")
    if any(b <= a for a, b in itertools.pairwise(indexes)):
        raise _fail("mandatoryIndexes must be strictly increasing")
    return DerivedProofValue(
        base_signature=_bstr(c[0], 64, "baseSignature"),
        public_key=_public_key(c[1]),
        signatures=_signatures(c[2]),
        label_map=label_map,
        mandatory_indexes=indexes,
    )


# -- canonicalize and group (3.4.7 - 3.4.9, 3.4.15, 3.4.16) -----------------------------------
def _shape(value: Any, *, ignore_context: bool = False) -> Any:
    """``value`` with one-element arrays read as their element (compaction's only reshaping
    of well-formed documents) and, at the top, without ``@context``."""
    if isinstance(value, list):
        return _shape(value[0]) if len(value) == 1 else [_shape(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _shape(v) for k, v in value.items() if not (ignore_context and k == "@context")}
    return value


class _Skolem:
    """Skolemization with a per-call random URN prefix (VC-DI-ECDSA 3.4.7 / 3.4.6).

    Blank nodes become ``urn:bnid:<random>:<label>`` IRIs and come back as ``_:<label>``.
    Turning IRIs back into blank nodes is done on RDF terms, never on N-Quad text.
    """

    def __init__(self) -> None:
        self.prefix = f"urn:bnid:{uuid.uuid4().hex}:"
        self._iri_prefix = "<" + self.prefix
        self._count = 0

    def skolemize(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.skolemize(v) for v in value]
        if not isinstance(value, dict) or "@value" in value:
            return json_copy(value)
        if "@list" in value:
            return {k: (self.skolemize(v) if k == "@list" else v) for k, v in value.items()}
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k] = v if k in ("@id", "@type") else self.skolemize(v)
        ident = out.get("@id")
        if ident is None:
            out["@id"] = f"{self.prefix}g{self._count}"
            self._count += 1
        elif isinstance(ident, str) and ident.startswith("_:"):
            out["@id"] = self.prefix + "e" + ident[2:]
        return out

    def strip(self, value: Any) -> Any:
        """Compact JSON without the ``id`` members this skolemizer added and with the
        document's own blank node identifiers restored."""
        if isinstance(value, list):
            return [self.strip(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k == "id" and isinstance(v, str) and v.startswith(self.prefix):
                    if v.startswith(self.prefix + "g"):
                        continue
                    v = "_:" + v[len(self.prefix) + 1 :]
                out[k] = self.strip(v)
            return out
        return value

    def deskolemize(self, term: str) -> str:
        if term.startswith(self._iri_prefix):
            return "_:" + term[len(self._iri_prefix) : -1]
        return term


@dataclass(frozen=True, slots=True)
class _Group:
    matching: dict[int, str]
    non_matching: dict[int, str]
    deskolemized: list[Quad]


@dataclass(frozen=True, slots=True)
class _Grouped:
    canonical: CanonicalDataset  # the document's quads with c14n labels
    nquads: list[str]  # canonical N-Quads with HMAC labels, sorted
    label_map: dict[str, str]  # input blank node (_:x) -> replacement label (u...)
    groups: dict[str, _Group]


def _hmac_labels(hmac_key: bytes, canonical: CanonicalDataset) -> dict[str, str]:
    """VC-DI-ECDSA 3.4.4 createHmacIdLabelMapFunction: c14nN -> u + b64url(HMAC(c14nN))."""
    return {
        c14n: "u" + b64u_encode(hmac.new(hmac_key, c14n.encode("utf-8"), hashlib.sha256).digest())
        for c14n in canonical.issued.values()
    }


def canonicalize_and_group(
    document: Mapping[str, Any],
    hmac_key: bytes,
    groups: Mapping[str, Sequence[str]],
    loader: OfflineLoader,
    limits: Limits,
) -> _Grouped:
    """VC-DI-ECDSA 3.4.16 canonicalizeAndGroup with the HMAC label map factory."""
    expanded = expand(document, loader, limits)
    sk = _Skolem()
    sk_expanded = sk.skolemize(expanded)
    sk_compact = compact(sk_expanded, document["@context"], loader)
    # Pointers are evaluated on the skolemized compact form but the reveal document is cut
    # from the original: both must have the same shape, or the proof would not fit it.
    if _shape(sk.strip(sk_compact), ignore_context=True) != _shape(document, ignore_context=True):
        raise MalformedError(
            "not_compact_form",
            "the document is not in the compact form of its own @context (full IRIs as keys, "
            "aliases, values compaction would merge); selective disclosure needs that form",
        )
    quads = to_quads(sk_expanded, loader, rename=sk.deskolemize)
    canonical = canonicalize(quads, limits=limits)
    hmac_of = _hmac_labels(hmac_key, canonical)
    label_map = {old: hmac_of[c14n] for old, c14n in canonical.issued.items()}
    nquads = canonical.nquads(hmac_of)
    bnode_map = {old: "_:" + new for old, new in label_map.items()}
    out: dict[str, _Group] = {}
    for name, pointers in groups.items():
        selected: set[str] = set()
        deskolemized: list[Quad] = []
        selection = select_json_ld(pointers, sk_compact)
        if selection is not None:
            deskolemized = to_quads(
                expand(selection, loader, limits), loader, rename=sk.deskolemize
            )
            try:
                selected = {serialize_quad(relabel(q, bnode_map)) for q in deskolemized}
            except KeyError as e:
                raise MalformedError(
                    "selection_unsupported", "a selection produced a blank node of its own"
                ) from e
        matching = {i: nq for i, nq in enumerate(nquads) if nq in selected}
        non_matching = {i: nq for i, nq in enumerate(nquads) if nq not in selected}
        out[name] = _Group(matching, non_matching, deskolemized)
    return _Grouped(canonical, nquads, label_map, out)


# -- base proof (3.6.1 - 3.6.5) --------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BaseTransform:
    """VC-DI-ECDSA 3.6.2 output (plus the grouping, for tests and diagnostics)."""

    mandatory_pointers: list[str]
    mandatory: dict[int, str]
    non_mandatory: dict[int, str]
    hmac_key: bytes
    grouped: _Grouped


def base_transform(
    document: Mapping[str, Any],
    mandatory_pointers: Sequence[str],
    hmac_key: bytes,
    loader: OfflineLoader,
    limits: Limits,
) -> BaseTransform:
    """VC-DI-ECDSA 3.6.2 Base Proof Transformation."""
    pointers = list(mandatory_pointers)
    grouped = canonicalize_and_group(document, hmac_key, {"mandatory": pointers}, loader, limits)
    group = grouped.groups["mandatory"]
    return BaseTransform(pointers, group.matching, group.non_matching, hmac_key, grouped)


def _hash_mandatory(mandatory: Mapping[int, str] | Sequence[str]) -> bytes:
    """VC-DI-ECDSA 3.4.17 hashMandatoryNQuads (SHA-256, P-256 only)."""
    lines = (
        [mandatory[i] for i in sorted(mandatory)] if isinstance(mandatory, Mapping) else mandatory
    )
    return hashlib.sha256("".join(lines).encode("utf-8")).digest()


def add_base_proof_sd(
    document: Mapping[str, Any],
    key: Key | Signer,
    *,
    verification_method: str,
    mandatory_pointers: Sequence[str],
    created: datetime | str | None = None,
    proof_purpose: str = "assertionMethod",
    hmac_key: bytes | None = None,
    proof_key: Key | None = None,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Issue an ``ecdsa-sd-2023`` base proof (VC-DI-ECDSA 3.6.1).

    Args:
        document: the unsecured credential (no ``proof``).
        key: the issuer's P-256 private key (or a P-256 :class:`~blauweknop.Signer`).
        verification_method: URL of the issuer's public key.
        mandatory_pointers: JSON Pointers (RFC 6901) of what every derived proof must reveal,
            e.g. ``["/issuer", "/validFrom", "/validUntil", "/credentialSubject/id"]``; each
            must match the document (``DisclosureError`` ``pointer_not_found``). Reveal the
            validity window: a verifier cannot check times it does not see.
        created: proof creation time (``None``: omitted).
        hmac_key: 32-byte HMAC key (default: random; inject only to reproduce vectors).
        proof_key: proof-scoped P-256 private key (default: fresh; inject only for vectors).

    Returns:
        a copy of ``document`` with the base proof, to be given to the holder only.

    >>> from blauweknop import Key
    >>> issuer = Key.generate("ES256")
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, issuer, verification_method="urn:example:issuer#k",
    ...                            mandatory_pointers=["/issuer"])
    >>> signed["proof"]["proofValue"][:5]
    'u2V0A'
    """
    if not isinstance(document, Mapping):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    if "proof" in document:
        raise MalformedError(
            "proof_set_not_supported",
            "the document already has a proof; proof sets are not supported",
        )
    if curve_of(key) != "P-256":
        raise SignatureError("key_invalid", "ecdsa-sd-2023 needs a P-256 issuer key")
    pointers = list(mandatory_pointers)
    for p in pointers:
        parse_pointer(p)
    hkey = secrets.token_bytes(32) if hmac_key is None else hmac_key
    if not isinstance(hkey, bytes) or len(hkey) != 32:
        raise SignatureError("key_invalid", "hmac_key must be 32 bytes (VC-DI-ECDSA 3.6.2)")
    pkey = Key.generate("ES256") if proof_key is None else proof_key
    if not isinstance(pkey, Key) or pkey.crv != "P-256" or not pkey.has_private:
        raise SignatureError("key_invalid", "proof_key must be a private P-256 key")
    loader = loader or default_loader()
    proof = build_proof_options(
        cryptosuite=ECDSA_SD,
        verification_method=verification_method,
        proof_purpose=proof_purpose,
        created=created,
    )
    doc = unsecured(document, limits)
    # 3.6.4 proof configuration, 3.6.2 transformation, 3.6.3 hashing
    proof_hash = proof_config_hash(proof, doc["@context"], loader, limits)
    transform = base_transform(doc, pointers, hkey, loader, limits)
    mandatory_hash = _hash_mandatory(transform.mandatory)
    # 3.6.5 serialization
    non_mandatory = [transform.non_mandatory[i] for i in sorted(transform.non_mandatory)]
    signatures = [pkey.sign(nq.encode("utf-8"), deterministic=True) for nq in non_mandatory]
    public_key = _P256_MULTIKEY + pkey.public_bytes(compressed=True)
    base_signature = sign(key, proof_hash + public_key + mandatory_hash)
    proof["proofValue"] = serialize_base_proof_value(
        BaseProofValue(base_signature, public_key, hkey, signatures, pointers)
    )
    doc["proof"] = proof
    return doc


# -- derived proof (3.5.4, 3.6.6) ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DisclosureData:
    """VC-DI-ECDSA 3.5.4 createDisclosureData output (plus indexes, for tests)."""

    base_signature: bytes
    public_key: bytes
    signatures: list[bytes]
    label_map: dict[str, str]
    mandatory_indexes: list[int]
    reveal_document: dict[str, Any]
    signature_indexes: list[int]
    grouped: _Grouped


def create_disclosure_data(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    selective_pointers: Sequence[str],
    loader: OfflineLoader,
    limits: Limits,
) -> DisclosureData:
    """VC-DI-ECDSA 3.5.4 createDisclosureData; ``document`` is without ``proof``."""
    base = parse_base_proof_value(proof.get("proofValue"), limits)
    selective = list(selective_pointers)
    for p in selective:
        parse_pointer(p)
    combined = base.mandatory_pointers + selective
    if not combined:
        raise DisclosureError("nothing_disclosed", "no mandatory or selective pointers to reveal")
    doc = dict(document)
    try:
        select_json_ld(base.mandatory_pointers, doc)
    except DisclosureError as e:
        raise DisclosureError(
            "mandatory_pointer_missing", f"the document lacks a mandatory claim: {e.message}"
        ) from e
    grouped = canonicalize_and_group(
        doc,
        base.hmac_key,
        {"mandatory": base.mandatory_pointers, "selective": selective, "combined": combined},
        loader,
        limits,
    )
    mandatory = grouped.groups["mandatory"].matching
    selected = grouped.groups["selective"].matching
    combined_group = grouped.groups["combined"]
    if len(base.signatures) != len(grouped.nquads) - len(mandatory):
        raise DisclosureError(
            "signature_count_mismatch",
            "the base proof's signature count does not match the document's statements",
        )
    # steps 7-9: mandatory indexes relative to the revealed statements
    mandatory_indexes = [
        rel for rel, absolute in enumerate(sorted(combined_group.matching)) if absolute in mandatory
    ]
    # steps 10-11: keep the signatures of the selectively disclosed statements
    filtered: list[bytes] = []
    kept: list[int] = []
    index = 0
    for position, signature in enumerate(base.signatures):
        while index in mandatory:
            index += 1
        if index in selected:
            filtered.append(signature)
            kept.append(position)
        index += 1
    reveal = select_json_ld(combined, doc)
    assert reveal is not None  # combined is not empty
    # steps 13-14: the labels the verifier's canonicalization will produce
    canonical = canonicalize(combined_group.deskolemized, limits=limits)
    verifier_labels = {c14n: grouped.label_map[old] for old, c14n in canonical.issued.items()}
    return DisclosureData(
        base.base_signature,
        base.public_key,
        filtered,
        verifier_labels,
        mandatory_indexes,
        reveal,
        kept,
        grouped,
    )


def derive_proof_sd(
    signed_document: Mapping[str, Any],
    selective_pointers: Sequence[str],
    *,
    loader: OfflineLoader | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Holder side: reveal the mandatory claims plus ``selective_pointers`` (VC-DI-ECDSA 3.6.6).

    Args:
        signed_document: the credential with its ``ecdsa-sd-2023`` base proof.
        selective_pointers: JSON Pointers of the claims to reveal in addition to the
            issuer's mandatory ones (may be empty). Selecting a claim also reveals the ``id``
            and ``type`` of every object on its path (VC-DI-ECDSA 3.4.11).

    Raises:
        DisclosureError: ``pointer_not_found`` (a selective pointer matches nothing),
            ``mandatory_pointer_missing`` (the document lacks a mandatory claim),
            ``signature_count_mismatch`` (the base proof does not fit the document),
            ``nothing_disclosed``.

    >>> from blauweknop import Key
    >>> vc = {"@context": ["https://www.w3.org/ns/credentials/v2"],
    ...       "type": ["VerifiableCredential"], "issuer": "urn:example:issuer",
    ...       "credentialSubject": {"id": "urn:example:holder", "name": "Jan"}}
    >>> signed = add_base_proof_sd(vc, Key.generate(), verification_method="urn:example:k",
    ...                            mandatory_pointers=["/issuer"])
    >>> shown = derive_proof_sd(signed, ["/credentialSubject/id"])
    >>> shown["credentialSubject"], shown["proof"]["proofValue"][:5]
    ({'id': 'urn:example:holder'}, 'u2V0B')
    """
    if not isinstance(signed_document, Mapping):
        raise MalformedError("malformed_document", "the document must be a JSON object")
    proof = signed_document.get("proof")
    if not isinstance(proof, dict) or proof.get("cryptosuite") != ECDSA_SD:
        raise MalformedError("proof_missing", "the document has no ecdsa-sd-2023 base proof")
    loader = loader or default_loader()
    doc = unsecured(signed_document, limits)
    data = create_disclosure_data(doc, proof, selective_pointers, loader, limits)
    new_proof = dict(proof)
    new_proof["proofValue"] = serialize_derived_proof_value(
        DerivedProofValue(
            data.base_signature,
            data.public_key,
            data.signatures,
            data.label_map,
            data.mandatory_indexes,
        )
    )
    reveal = data.reveal_document
    reveal["proof"] = new_proof
    return reveal


# -- verification (3.5.9, 3.6.7; base proofs as an extension) ---------------------------------
@dataclass(frozen=True, slots=True)
class VerifyData:
    """VC-DI-ECDSA 3.5.9 createVerifyData output (plus the relabelled N-Quads)."""

    base_signature: bytes
    proof_hash: bytes
    public_key: bytes
    signatures: list[bytes]
    non_mandatory: list[str]
    mandatory_hash: bytes
    nquads: list[str]


def create_verify_data(
    document: Mapping[str, Any], proof: Mapping[str, Any], loader: OfflineLoader, limits: Limits
) -> VerifyData:
    """VC-DI-ECDSA 3.5.9 createVerifyData; ``document`` is without ``proof``."""
    derived = parse_derived_proof_value(proof["proofValue"], limits)
    proof_hash = proof_config_hash(proof, document["@context"], loader, limits)
    expanded = expand(document, loader, limits)
    canonical = canonicalize(to_quads(expanded, loader), limits=limits)
    if set(derived.label_map) != set(canonical.issued.values()):
        raise DisclosureError(
            "label_map_mismatch", "the label map does not fit the disclosed document's blank nodes"
        )
    nquads = canonical.nquads(derived.label_map)
    if derived.mandatory_indexes and derived.mandatory_indexes[-1] >= len(nquads):
        raise DisclosureError(
            "mandatory_statement_missing", "a mandatory statement is missing from the document"
        )
    wanted = set(derived.mandatory_indexes)
    mandatory = [nq for i, nq in enumerate(nquads) if i in wanted]
    non_mandatory = [nq for i, nq in enumerate(nquads) if i not in wanted]
    return VerifyData(
        derived.base_signature,
        proof_hash,
        derived.public_key,
        derived.signatures,
        non_mandatory,
        _hash_mandatory(mandatory),
        nquads,
    )


def _check_signatures(
    key: Key,
    proof_hash: bytes,
    public_key: bytes,
    mandatory_hash: bytes,
    base_signature: bytes,
    signatures: Sequence[bytes],
    non_mandatory: Sequence[str],
) -> None:
    """VC-DI-ECDSA 3.6.7 steps 3-8."""
    if len(signatures) != len(non_mandatory):
        raise DisclosureError(
            "signature_count_mismatch",
            f"{len(signatures)} signatures for {len(non_mandatory)} disclosed statements",
        )
    key.verify(proof_hash + public_key + mandatory_hash, base_signature)
    proof_key = Key.from_public_bytes("P-256", public_key[2:])
    for nq, signature in zip(non_mandatory, signatures, strict=True):
        proof_key.verify(nq.encode("utf-8"), signature)


def verify_sd(
    document: dict[str, Any],
    proof: Mapping[str, Any],
    key: Key,
    loader: OfflineLoader,
    limits: Limits,
) -> tuple[dict[str, Any], bool]:
    """Verify an ``ecdsa-sd-2023`` derived proof (VC-DI-ECDSA 3.6.7) or base proof.

    ``document`` is the secured document without ``proof``. Returns it and whether the proof
    was a base proof. Raises on any failure.
    """
    value = proof["proofValue"]
    try:
        header = multibase_decode(value, allowed="u")[:3]
    except MalformedError as e:
        raise _fail(e.message) from e
    if header == BASE_HEADER:
        _verify_base(document, proof, key, loader, limits)
        return document, True
    data = create_verify_data(document, proof, loader, limits)
    _check_signatures(
        key,
        data.proof_hash,
        data.public_key,
        data.mandatory_hash,
        data.base_signature,
        data.signatures,
        data.non_mandatory,
    )
    return document, False


def _verify_base(
    document: dict[str, Any],
    proof: Mapping[str, Any],
    key: Key,
    loader: OfflineLoader,
    limits: Limits,
) -> None:
    """Check a base proof as issued: the base signature and every statement signature."""
    base = parse_base_proof_value(proof["proofValue"], limits)
    proof_hash = proof_config_hash(proof, document["@context"], loader, limits)
    try:
        transform = base_transform(document, base.mandatory_pointers, base.hmac_key, loader, limits)
    except DisclosureError as e:
        raise DisclosureError(
            "mandatory_pointer_missing", f"the document lacks a mandatory claim: {e.message}"
        ) from e
    _check_signatures(
        key,
        proof_hash,
        base.public_key,
        _hash_mandatory(transform.mandatory),
        base.base_signature,
        base.signatures,
        [transform.non_mandatory[i] for i in sorted(transform.non_mandatory)],
    )
