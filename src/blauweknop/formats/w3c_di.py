"""W3C VC 2.0 + Data Integrity (``ecdsa-sd-2023``) as a
:class:`~blauweknop.formats.CredentialFormat`.

One profile, two encodings: the domain claims sit under ``credentialSubject`` (whose ``id``
is the holder's ``did:jwk``); the claims a profile marks ``sd: never`` become the base
proof's mandatory pointers, together with ``/type``, ``/issuer``, ``/validFrom``,
``/validUntil``, ``/credentialStatus`` and ``/credentialSubject/id``. Verification method
ids are ``<issuer id>#<kid>`` and resolve through the trust list only. After the proofs, the
shared checks of :mod:`blauweknop.formats._checks` apply (issuer and role, validity window,
presentation age, status fail-closed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from .._errors import (
    DisclosureError,
    HolderBindingError,
    MalformedError,
    SignatureError,
    TrustError,
    ValidityError,
)
from .._keys import Key, Signer, did_jwk, key_from_did_jwk
from .._limits import Limits
from .._profile import (
    CredentialProfile,
    get_profile,
    profile_for_w3c_type,
    registered_contexts,
    w3c_type_iris,
)
from .._trust import TrustedOrganisation, TrustList
from ._base import StatusReservation, StatusSource, VerifiedCredential, VerifyPolicy
from ._checks import (
    check_presentation_age,
    check_validity_window,
    resolve_issuer,
    status_state,
    unify_holder_binding,
)
from ._record import WalletRecord

__all__ = [
    "W3C_DI",
    "W3cDiFormat",
    "bitstring_signer",
    "issue_di_credential",
    "mandatory_pointers",
    "present_di",
    "status_credential_verifier",
]

#: The VC 2.0 and the scheme's context URLs, as :mod:`blauweknop._di` pins them (spelled here so
#: that importing the format does not load the JSON-LD stack; a test keeps them equal).
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
BLAUWEKNOP_V1 = "https://w3id.org/blauweknop/v1"
#: The ``@context`` of every credential we issue, pinned at verification: another allowed
#: context could add terms, and the JSON handed out must be the compact form under this one.
CREDENTIAL_CONTEXT = (CREDENTIALS_V2, BLAUWEKNOP_V1)
#: The ``@context`` of a bitstring status list credential (the VC 2.0 context defines its terms).
STATUS_LIST_CONTEXT = (CREDENTIALS_V2,)
#: The core library's own age limit is lifted: the shared check judges the age.
_UNBOUNDED = 2**40

_ALWAYS = (
    "/type",
    "/issuer",
    "/validFrom",
    "/validUntil",
    "/credentialStatus",
    "/credentialSubject/id",
)


def _di() -> ModuleType:
    """The Data Integrity suites, loaded on first use (they pull in the JSON-LD processor,
    which needs ``subprocess``; ``import blauweknop`` must work without it)."""
    from .. import _di

    return _di


def _sd() -> ModuleType:
    from .._di import _sd

    return _sd


def _context(profile: CredentialProfile) -> tuple[str, ...]:
    """The ``@context`` of a credential of ``profile`` (pinned at verification): the VC 2.0
    and scheme contexts, then the contexts a registered profile brings."""
    return (*CREDENTIAL_CONTEXT, *profile.contexts)


_LOADERS: dict[frozenset[str], Any] = {}


def _loader() -> Any:
    """The JSON-LD loader: the bundled pinned contexts, plus those registered profiles bring
    (each pinned by its hash); ``None`` (the default loader) when there are none."""
    extra = registered_contexts()
    if not extra:
        return None
    key = frozenset(extra)
    loader = _LOADERS.get(key)
    if loader is None:
        from .._di._loader import PRODUCTION_CONTEXTS, OfflineLoader

        loader = OfflineLoader(allowed=PRODUCTION_CONTEXTS | key, extra=extra)
        _LOADERS[key] = loader
    return loader


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def mandatory_pointers(profile: CredentialProfile, claims: Mapping[str, Any]) -> list[str]:
    """JSON pointers of everything always shown: the fixed VC members plus, under
    ``/credentialSubject``, each claim the profile marks ``sd: never`` (leaves, or whole
    arrays whose elements are never disclosable on their own)."""
    out = list(_ALWAYS)

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                p = (*path, k)
                if profile.sd_rule(p) == "never":
                    if isinstance(v, Mapping):
                        walk(v, p)
                    else:
                        out.append(_pointer(("credentialSubject", *p)))

    walk(claims, ())
    return out


def _verification_method(issuer_id: str, kid: str) -> str:
    return f"{issuer_id}#{kid}"


def _issuer_resolver(
    trust: TrustList | None, org: TrustedOrganisation, now: float
) -> Callable[[str], Key]:
    def resolve(vm: str) -> Key:
        if not isinstance(vm, str) or not vm.startswith(org.id + "#"):
            raise TrustError("untrusted_key", f"verification method {vm!r} is not one of {org.id}")
        kid = vm[len(org.id) + 1 :]
        if trust is not None:
            return trust.resolve_key(org.id, kid, now=now)
        key = org.keys.get(kid)
        if key is None:
            raise TrustError("untrusted_key", f"key {kid!r} is not registered for {org.id}")
        return key

    return resolve


def issue_di_credential(
    profile: CredentialProfile,
    claims: Mapping[str, Any],
    *,
    signer: Signer,
    issuer_id: str,
    holder: Key,
    iat: int,
    nbf: int | None,
    exp: int,
    status: Sequence[Mapping[str, Any]],
) -> str:
    """Sign a VC 2.0 credential with an ``ecdsa-sd-2023`` base proof; returns JSON text."""
    if signer.alg != "ES256":
        raise SignatureError(
            "algorithm_not_allowed", "ecdsa-sd-2023 needs a P-256 (ES256) issuer key"
        )
    doc: dict[str, Any] = {
        "@context": list(_context(profile)),
        "type": ["VerifiableCredential", profile.w3c_type],
        "issuer": issuer_id,
        "validFrom": _iso(nbf if nbf is not None else iat),
        "validUntil": _iso(exp),
        "credentialSubject": {"id": did_jwk(holder), **claims},
        "credentialStatus": [dict(s) for s in status],
    }
    signed = _di().add_base_proof_sd(
        doc,
        signer,
        verification_method=_verification_method(issuer_id, signer.kid),
        mandatory_pointers=mandatory_pointers(profile, claims),
        created=_iso(iat),
        loader=_loader(),
    )
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def bitstring_signer(signer: Signer, issuer_id: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Signs W3C ``BitstringStatusListCredential`` documents with the issuer's key
    (``ecdsa-rdfc-2019`` for P-256, ``eddsa-rdfc-2022`` for Ed25519)."""
    suite = "eddsa-rdfc-2022" if signer.alg == "EdDSA" else "ecdsa-rdfc-2019"
    vm = _verification_method(issuer_id, signer.kid)

    def sign(document: dict[str, Any]) -> dict[str, Any]:
        signed: dict[str, Any] = _di().add_proof(
            document, signer, cryptosuite=suite, verification_method=vm
        )
        return signed

    return sign


def status_credential_verifier(
    org: TrustedOrganisation, now: float
) -> Callable[[Mapping[str, Any]], str]:
    """``verify(document) -> issuer id`` for a bitstring status list credential of ``org``."""
    resolve = _issuer_resolver(None, org, now)

    def verify(document: Mapping[str, Any]) -> str:
        # The status module reads validFrom, validUntil, ttl, id and the list from the JSON:
        # the compact-form check binds each of them to the signed statements.
        _di().verify_proof(
            document, resolve_key=resolve, now=now, expected_context=STATUS_LIST_CONTEXT
        )
        issuer = document.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if not isinstance(issuer_id, str):
            raise MalformedError("malformed_document", "status list credential has no issuer")
        return issuer_id

    return verify


def _check_base_context(doc: Mapping[str, Any]) -> None:
    """VC Data Model 2.0 section 4.3: ``@context`` is an ordered set whose first item is the
    VC 2.0 context (checked for presentations by ``verify_presentation``; here for the
    credentials they carry, and for credentials a wallet imports)."""
    ctx = doc.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != CREDENTIALS_V2:
        raise MalformedError(
            "malformed_document", "the credential's first @context must be the VC 2.0 context"
        )


def _issuer_id(doc: Mapping[str, Any]) -> str:
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        raise MalformedError("malformed_document", "credential has no issuer")
    return issuer_id


def _types(doc: Mapping[str, Any]) -> list[str]:
    t = doc.get("type")
    types = t if isinstance(t, list) else [t]
    out = [x for x in types if isinstance(x, str)]
    if len(out) != len(types):
        raise MalformedError("malformed_document", "type must be strings")
    return out


def _timestamp(doc: Mapping[str, Any], name: str) -> float | None:
    v = doc.get(name)
    if v is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(v).replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise MalformedError("malformed_datetime", f"{name} is not a date-time") from e


def _all_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterable[tuple[str | int, ...]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield (*path, k)
            yield from _all_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*path, i)
            yield from _all_paths(v, (*path, i))


def _disclosable(doc: Mapping[str, Any], pointers: Sequence[str]) -> list[list[str | int]]:
    """Paths the holder can withhold: neither under nor above a mandatory pointer."""
    mand = [tuple(int(t) if t.isdigit() else t for t in p.split("/")[1:]) for p in pointers]
    out = []
    for p in _all_paths({k: v for k, v in doc.items() if k not in ("@context", "proof")}):
        q = tuple(p)
        if any(q[: len(m)] == m or m[: len(q)] == q for m in mand):
            continue
        out.append(list(p))
    return out


def _disclosure_unit(
    profile: CredentialProfile, path: Sequence[str | int | None]
) -> Sequence[str | int | None]:
    """The shortest prefix of ``path`` (below ``credentialSubject``) that is selectively
    disclosable while everything below it on the path is marked ``never``; else ``path``."""
    if len(path) < 2 or path[0] != "credentialSubject":
        return path
    claim = tuple(path[1:])
    for i in range(1, len(claim)):
        if profile.sd_rule(claim[:i]) in ("always", "allowed") and all(
            profile.sd_rule(claim[:j]) == "never" for j in range(i + 1, len(claim) + 1)
        ):
            return ("credentialSubject", *claim[:i])
    return path


def present_di(
    doc: Mapping[str, Any],
    paths: Sequence[Sequence[str | int | None]],
    *,
    holder_key: Key,
    nonce: str,
    audience: str,
    now: float,
) -> dict[str, Any]:
    """Derive a proof revealing ``paths`` (plus the mandatory claims) and wrap it in a
    presentation signed by the holder (``authentication``, challenge = nonce, domain = audience)."""
    pointers = []
    for p in paths:
        if any(x is None for x in p):
            raise MalformedError("pointer_malformed", "wildcards must be expanded before deriving")
        pointers.append(_pointer(p))  # type: ignore[arg-type]
    derived = _di().derive_proof_sd(doc, pointers or ["/credentialSubject/id"], loader=_loader())
    vp: dict[str, Any] = _di().sign_presentation(
        [derived],
        holder_key,
        challenge=nonce,
        domain=audience,
        created=dt.datetime.fromtimestamp(now, dt.UTC),
        loader=_loader(),
    )
    return vp


def _entries(status: Any) -> list[Mapping[str, Any]]:
    entries = status if isinstance(status, list) else [status]
    if not entries or not all(isinstance(e, Mapping) for e in entries):
        raise MalformedError("malformed_document", "credentialStatus must be objects")
    return entries


class W3cDiFormat:
    """W3C VC 2.0 with an ``ecdsa-sd-2023`` proof; holder-signed presentations;
    ``BitstringStatusListEntry`` status."""

    id = "ldp_vc"
    option = "di"
    file_suffix = ".vc.json"

    def handles(self, credential: object) -> bool:
        """W3C credentials and presentations travel as JSON objects."""
        return isinstance(credential, Mapping)

    def issue(
        self,
        profile: CredentialProfile,
        claims: Mapping[str, Any],
        *,
        signer: Signer,
        issuer_id: str,
        holder: Key,
        iat: int,
        nbf: int | None,
        exp: int,
        status: StatusReservation,
    ) -> str:
        """Sign a VC 2.0 credential with an ``ecdsa-sd-2023`` base proof."""
        return issue_di_credential(
            profile,
            claims,
            signer=signer,
            issuer_id=issuer_id,
            holder=holder,
            iat=iat,
            nbf=nbf,
            exp=exp,
            status=[e.to_claims() for e in status.bitstring_entries()],
        )

    def inspect(
        self,
        credential: Any,
        *,
        trust_list: TrustList,
        now: float,
        limits: Limits,
        holder_known: Callable[[str], bool],
    ) -> tuple[WalletRecord, Mapping[str, Any]]:
        """Verify an issued credential (base proof) for import; returns the wallet record."""
        doc: Mapping[str, Any] = credential
        _check_base_context(doc)
        issuer_id = _issuer_id(doc)
        profile = profile_for_w3c_type(_types(doc))
        org = resolve_issuer(trust_list, issuer_id, profile, now=now)
        res = _di().verify_proof(
            doc,
            resolve_key=_issuer_resolver(trust_list, org, now),
            now=now,
            limits=limits,
            expected_context=_context(profile),
            loader=_loader(),
        )
        if not res.is_base_proof:
            raise MalformedError(
                "malformed_document", "an issued credential carries an ecdsa-sd-2023 base proof"
            )
        subject = doc.get("credentialSubject")
        if not isinstance(subject, Mapping) or not isinstance(subject.get("id"), str):
            raise HolderBindingError(
                "holder_key_missing", "credentialSubject.id (the holder) is missing"
            )
        try:
            holder = key_from_did_jwk(subject["id"])
        except (SignatureError, MalformedError) as e:
            raise HolderBindingError(
                "holder_key_invalid", f"credentialSubject.id: {e.message}"
            ) from e
        if not holder_known(holder.kid):
            raise HolderBindingError("holder_mismatch", "credential is bound to another holder key")
        base = _sd().parse_base_proof_value(doc["proof"]["proofValue"], limits)
        for p in _ALWAYS:
            if p not in base.mandatory_pointers:
                raise DisclosureError(
                    "mandatory_pointer_missing", f"issuer did not make {p} mandatory"
                )
        domain_claims = {k: v for k, v in subject.items() if k != "id"}
        record = WalletRecord(
            format=self.id,
            vct=profile.vct,
            issuer=org.id,
            issuer_name=org.name,
            fingerprint=doc["proof"]["proofValue"][:120],
            claims=dict(doc),
            disclosable=tuple(tuple(p) for p in _disclosable(doc, base.mandatory_pointers)),
            iat=_timestamp(doc, "validFrom"),
            nbf=_timestamp(doc, "validFrom"),
            exp=_timestamp(doc, "validUntil"),
            status_ref=doc.get("credentialStatus"),
            holder_kid=holder.kid,
            received_at=int(now),
        )
        return record, domain_claims

    def query_status(
        self, ref: Any, *, source: StatusSource, issuer: TrustedOrganisation, now: float
    ) -> None:
        """Look up every ``BitstringStatusListEntry``."""
        for entry in _entries(ref):
            source.bitstring_status(entry, issuer=issuer, now=now)

    def domain_claims(self, record: WalletRecord) -> Mapping[str, Any]:
        """The ``credentialSubject`` without the holder ``id``."""
        subject = record.claims.get("credentialSubject", {})
        return {k: v for k, v in subject.items() if k != "id"}

    def candidate(self, record: WalletRecord) -> tuple[tuple[str, ...], Mapping[str, Any]]:
        """DCQL matches the expanded type IRIs and the whole document (no proof)."""
        claims = {k: v for k, v in record.claims.items() if k not in ("@context", "proof")}
        return w3c_type_iris(claims.get("type", ())), claims

    def present(
        self,
        record: WalletRecord,
        paths: Sequence[Sequence[str | int | None]],
        *,
        holder_key: Key,
        nonce: str,
        audience: str,
        now: float,
        limits: Limits,
    ) -> Any:
        """A derived proof in a holder-signed presentation. A claim marked ``sd: never``
        inside a selectively disclosable object is disclosed with its whole object, as in
        SD-JWT, where that object is one disclosure (e.g. an arrangement's creditor line)."""
        profile = get_profile(record.vct)
        units = [_disclosure_unit(profile, p) for p in paths]
        return present_di(
            record.claims, units, holder_key=holder_key, nonce=nonce, audience=audience, now=now
        )

    def verify(
        self,
        presentation: Any,
        *,
        policy: VerifyPolicy,
        nonce: str,
        audience: str,
        now: float,
        query_id: str | None,
    ) -> VerifiedCredential:
        """Holder proof (challenge/domain), the derived credential's issuer proof against the
        trust list, then the shared checks and the holder binding."""
        vp: Mapping[str, Any] = presentation
        try:
            creds = _di().verify_presentation(
                vp,
                challenge=nonce,
                domain=audience,
                now=now,
                max_age=_UNBOUNDED,
                leeway=policy.leeway,
                limits=policy.limits,
                loader=_loader(),
            )
        except HolderBindingError as e:
            unify_holder_binding(e)
        except ValidityError as e:
            if e.code == "created_in_future":
                raise HolderBindingError("presentation_in_future", e.message) from e
            raise
        created = _timestamp(vp["proof"], "created")
        assert created is not None  # verify_presentation demands it
        check_presentation_age(created, now=now, max_age=policy.max_age, leeway=policy.leeway)
        if len(creds) != 1:
            raise MalformedError(
                "vp_token_malformed", "each presentation must carry exactly one credential"
            )
        cred = creds[0]
        _check_base_context(cred)
        issuer_id = _issuer_id(cred)
        profile = profile_for_w3c_type(_types(cred))
        org = resolve_issuer(policy.trust_list, issuer_id, profile, now=now)
        res = _di().verify_proof(
            cred,
            resolve_key=_issuer_resolver(policy.trust_list, org, now),
            now=now,
            leeway=policy.leeway,
            limits=policy.limits,
            expected_context=_context(profile),
            loader=_loader(),
        )
        if res.is_base_proof:
            raise DisclosureError(
                "base_proof_presented", "a base proof must not be presented; derive one"
            )
        doc = res.document
        subject = doc.get("credentialSubject")
        if not isinstance(subject, Mapping) or subject.get("id") != vp.get("holder"):
            raise HolderBindingError(
                "holder_mismatch", "credential subject is not the presenting holder"
            )
        if "validUntil" not in doc:
            raise MalformedError("malformed_document", "credential has no validUntil")
        valid_from, valid_until = _timestamp(doc, "validFrom"), _timestamp(doc, "validUntil")
        check_validity_window(valid_from, valid_until, now=now, leeway=policy.leeway)
        claims = {k: v for k, v in subject.items() if k != "id"}
        profile.check_received(claims, issuer_id=org.id, issuer_name=org.name, issuer_oin=org.oin)
        ref = doc.get("credentialStatus")
        if ref is not None:
            _entries(ref)

        def lookup(source: StatusSource) -> None:
            self.query_status(ref, source=source, issuer=org, now=now)

        status = status_state(
            ref is not None, lookup, policy.status, allow_missing=policy.allow_missing_status
        )
        holder = key_from_did_jwk(subject["id"])
        return VerifiedCredential(
            query_id=query_id,
            format=self.id,
            vct=profile.vct,
            issuer=org.id,
            issuer_name=org.name,
            claims=claims,
            issued_at=res.created.timestamp() if res.created else None,
            valid_from=valid_from,
            valid_until=valid_until,
            status=status,
            holder=holder.public_jwk(with_kid=False),
        )

    def presented(
        self, credential: VerifiedCredential
    ) -> tuple[tuple[str, ...], Mapping[str, Any], frozenset[tuple[Any, ...]] | None]:
        """DCQL sees the expanded type IRIs and the claims under ``credentialSubject``."""
        profile = get_profile(credential.vct)
        types = w3c_type_iris(("VerifiableCredential", profile.w3c_type))
        return types, {"credentialSubject": dict(credential.claims)}, None


#: The W3C VC + Data Integrity format instance the recipes' table holds.
W3C_DI = W3cDiFormat()
"""The W3C VC 2.0 + Data Integrity format (``ldp_vc``), as used by the recipes' format table."""
