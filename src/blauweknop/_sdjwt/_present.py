"""Parsing and presentation of an SD-JWT (RFC 9901 sections 4 and 4.3; holder side, 7.2).

:class:`SDJWT` splits the compact form ``<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`` (section 4) and
decodes each disclosure; nothing is verified here. The holder chooses the disclosures to
show (:meth:`SDJWT.select`, an ancestor of a shown claim is shown too: section 6) and binds
the presentation to its key with a KB-JWT (:func:`make_kb_jwt`, section 4.3): ``typ
kb+jwt``, ``iat``, ``aud``, ``nonce`` and ``sd_hash`` over the presented SD-JWT (4.3.1).

Example:
    >>> from blauweknop._keys import Key
    >>> from ._issue import issue_sd_jwt
    >>> from ._disclosures import SD
    >>> sd = SDJWT.parse(issue_sd_jwt({"a": SD(1), "b": SD(2)}, Key.generate(), decoys=0))
    >>> len(sd.select([["a"]]).disclosures)
    1
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import DisclosureError, HolderBindingError, MalformedError
from .._jws import parse_compact, sign_compact
from .._keys import Signer
from .._limits import DEFAULT_LIMITS, Limits
from ._disclosures import ClaimPath, Disclosure, _digest, _parse_disclosure

__all__ = ["SDJWT", "make_kb_jwt", "sd_hash"]

_KB_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SDJWT:
    """A parsed SD-JWT or SD-JWT+KB, before verification.

    Attributes:
        jwt: the issuer-signed JWT (compact).
        disclosures: disclosures in the order received.
        kb_jwt: the key-binding JWT, or ``None``.
    """

    jwt: str
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None
    # (limits, disclosure_paths(limits)): worked out once per parsed object, which a holder
    # keeps to present many times (the disclosures are decoded once, when parsed)
    _paths: Any = field(default=None, compare=False, repr=False)
    _index: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, token: str, *, limits: Limits = DEFAULT_LIMITS) -> SDJWT:
        """Split ``<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`` (RFC 9901 section 4) and decode disclosures."""
        if not isinstance(token, str):
            raise MalformedError("malformed_sd_jwt", "SD-JWT must be a string")
        if len(token) > limits.max_token_bytes:
            raise MalformedError(
                "too_large", f"SD-JWT is larger than {limits.max_token_bytes} bytes"
            )
        if not token.isascii():
            raise MalformedError("malformed_sd_jwt", "SD-JWT contains non-ASCII characters")
        parts = token.split("~")
        if len(parts) < 2:
            raise MalformedError("malformed_sd_jwt", "SD-JWT must contain '~' separators")
        jwt, *middle, last = parts
        if not jwt:
            raise MalformedError("malformed_sd_jwt", "SD-JWT has no issuer-signed JWT")
        if len(middle) > limits.max_disclosures:
            raise MalformedError("too_large", f"more than {limits.max_disclosures} disclosures")
        disclosures = []
        for enc in middle:
            if not enc:
                raise DisclosureError("disclosure_malformed", "empty disclosure between '~'")
            disclosures.append(_parse_disclosure(enc, limits))
        return cls(jwt, tuple(disclosures), last or None)

    def serialize(self, *, without_kb: bool = False) -> str:
        """Compact form; with ``without_kb`` the part the ``sd_hash`` covers."""
        s = "~".join([self.jwt, *[d.encoded for d in self.disclosures], ""])
        return s if without_kb or self.kb_jwt is None else s + self.kb_jwt

    def unverified_payload(self, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """The JWT payload as signed (``_sd`` digests still in place). Not verified."""
        return parse_compact(self.jwt, limits=limits, allow_x5c=True).payload_json(limits)

    def disclosure_paths(
        self, limits: Limits = DEFAULT_LIMITS
    ) -> list[tuple[ClaimPath, Disclosure]]:
        """Each disclosure with the claim path it discloses, as if every disclosure were shown.

        Array indices are those of the full (all-disclosed) array.
        """
        memo = self._paths
        if memo is not None and memo[0] is limits:
            return list(memo[1])
        out = self._disclosure_paths(limits)
        object.__setattr__(self, "_paths", (limits, tuple(out)))
        return out

    def _disclosure_paths(self, limits: Limits) -> list[tuple[ClaimPath, Disclosure]]:
        by_digest = {d.digest: d for d in self.disclosures}
        out: list[tuple[ClaimPath, Disclosure]] = []

        def walk(node: Any, path: ClaimPath) -> None:
            if isinstance(node, dict):
                for dg in node.get("_sd", []) if isinstance(node.get("_sd"), list) else []:
                    d = by_digest.get(dg) if isinstance(dg, str) else None
                    if d is not None and d.name is not None:
                        out.append(((*path, d.name), d))
                        walk(d.value, (*path, d.name))
                for k, v in node.items():
                    if k not in ("_sd", "_sd_alg"):
                        walk(v, (*path, k))
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    if isinstance(item, dict) and len(item) == 1 and "..." in item:
                        d = by_digest.get(item["..."]) if isinstance(item["..."], str) else None
                        if d is not None and d.name is None:
                            out.append(((*path, i), d))
                            walk(d.value, (*path, i))
                    else:
                        walk(item, (*path, i))

        walk(self.unverified_payload(limits), ())
        return out

    def select(self, paths: Iterable[Sequence[str | int | None]]) -> SDJWT:
        """Keep only the disclosures needed to reveal ``paths`` (and everything under them).

        A path element is a claim name, an array index, or ``None`` for every array element
        (DCQL claims-path semantics). Ancestors of a revealed claim are revealed too.
        """
        pats = [tuple(p) for p in paths]
        wild = [None in pat for pat in pats]
        keep: set[str] = set()
        if not any(wild):
            try:
                return self._select_plain(pats)
            except TypeError:  # an unhashable path element: the element-wise loop below
                pass
        for dpath, d in self.disclosure_paths():
            for pat, has_wildcard in zip(pats, wild, strict=True):
                n = min(len(pat), len(dpath))
                # Without a None wildcard the element test is plain equality: compare tuples.
                if (
                    (pat[:n] == dpath[:n])
                    if not has_wildcard
                    else all(
                        (p is None and isinstance(q, int)) or p == q
                        for p, q in zip(pat[:n], dpath[:n], strict=True)
                    )
                ):
                    # dpath is an ancestor of pat (needed to reach it) or lies under it.
                    keep.add(d.digest)
                    break
        return SDJWT(self.jwt, tuple(d for d in self.disclosures if d.digest in keep), None)

    def _select_plain(self, pats: list[tuple[Any, ...]]) -> SDJWT:
        """:meth:`select` for paths without wildcards: "one path is a prefix of the other"
        looked up in two maps built once per parsed object: the disclosures at each path,
        and those at or below each path."""
        memo = self._index
        if memo is None:
            at: dict[tuple[Any, ...], set[str]] = {}
            under: dict[tuple[Any, ...], set[str]] = {}
            for dpath, d in self.disclosure_paths():
                at.setdefault(dpath, set()).add(d.digest)
                for i in range(len(dpath) + 1):
                    under.setdefault(dpath[:i], set()).add(d.digest)
            memo = (at, under)
            object.__setattr__(self, "_index", memo)
        at, under = memo
        keep: set[str] = set()
        for pat in pats:
            for i in range(1, len(pat)):  # ancestors, needed to reach pat
                found = at.get(pat[:i])
                if found:
                    keep |= found
            below = under.get(pat)  # pat itself and everything under it
            if below:
                keep |= below
        return SDJWT(self.jwt, tuple(d for d in self.disclosures if d.digest in keep), None)

    def present(
        self,
        paths: Iterable[Sequence[str | int | None]] | None,
        *,
        holder_key: Signer | None,
        nonce: str | None = None,
        audience: str | None = None,
        iat: int | None = None,
    ) -> str:
        """Make a presentation: the selected disclosures plus, with ``holder_key``, a KB-JWT
        (``typ kb+jwt``; ``iat``, ``aud``, ``nonce``, ``sd_hash``; RFC 9901 section 4.3).

        ``paths=None`` keeps every disclosure.
        """
        chosen = self if paths is None else self.select(paths)
        chosen = SDJWT(chosen.jwt, chosen.disclosures, None)
        if holder_key is None:
            return chosen.serialize()
        if nonce is None or audience is None:
            raise HolderBindingError(
                "key_binding_missing", "key binding needs a nonce and an audience"
            )
        shown = chosen.serialize()
        return shown + make_kb_jwt(shown, holder_key, nonce=nonce, audience=audience, iat=iat)


def make_kb_jwt(
    sd_jwt_without_kb: str, holder_key: Signer, *, nonce: str, audience: str, iat: int | None = None
) -> str:
    """Key-binding JWT over ``<JWT>~<D1>~...~<Dn>~`` (RFC 9901 section 4.3)."""
    payload = {
        "iat": int(time.time()) if iat is None else iat,
        "aud": audience,
        "nonce": nonce,
        "sd_hash": sd_hash(sd_jwt_without_kb),
    }
    return sign_compact({"typ": "kb+jwt"}, _KB_JSON.encode(payload).encode(), holder_key)


def sd_hash(sd_jwt_without_kb: str) -> str:
    """The KB-JWT ``sd_hash`` of ``<JWT>~<D1>~...~<Dn>~`` (RFC 9901 section 4.3.1): base64url
    of its SHA-256, the ``_sd_alg`` digest of section 4.2.3 applied to the whole string."""
    return _digest(sd_jwt_without_kb)
