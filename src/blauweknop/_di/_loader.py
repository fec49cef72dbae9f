"""Offline JSON-LD document loader: bundled, SHA-256-pinned context files only.

VC Data Integrity 1.0 section 2.4 requires the context URLs it names to be treated as
"already resolved" with fixed hashes, and section 2.4.1 / 4.6 asks verifiers to accept only
known contexts. pyld's default loader fetches over the network (docs/security.md), so this module
replaces it: a URL is served only if it is in the loader's allow-list, from a file shipped in
``blauweknop/contexts/``, and only if the file's SHA-256 matches the pin table below. Anything
else raises :class:`~blauweknop.ContextError` (``context_not_allowed``) without any network
attempt.

Each loader also owns the pyld resolved-context cache it uses, so a test loader serving a
tampered file can never poison the cache of the production loader (pyld's own cache is a
process-wide global keyed by URL).

Example:
    >>> loader = OfflineLoader()
    >>> "https://www.w3.org/ns/credentials/v2" in loader.allowed_urls()
    True
    >>> try:
    ...     loader("https://example.com/evil/v1")
    ... except ContextError as e:
    ...     print(e.code)
    context_not_allowed
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pyld.context_resolver import ContextResolver

from .._errors import ContextError

__all__ = [
    "BLAUWEKNOP_V1",
    "CREDENTIALS_V2",
    "DATA_INTEGRITY_V2",
    "PINS",
    "PRODUCTION_CONTEXTS",
    "VECTOR_CONTEXTS",
    "OfflineLoader",
    "default_loader",
]

CREDENTIALS_V2: Final = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1: Final = "https://www.w3.org/2018/credentials/v1"
CREDENTIALS_EXAMPLES_V2: Final = "https://www.w3.org/ns/credentials/examples/v2"
DATA_INTEGRITY_V2: Final = "https://w3id.org/security/data-integrity/v2"
DATA_INTEGRITY_V1: Final = "https://w3id.org/security/data-integrity/v1"
MULTIKEY_V1: Final = "https://w3id.org/security/multikey/v1"
STATUS_LIST_V1: Final = "https://www.w3.org/ns/credentials/status/v1"
CITIZENSHIP_V4RC1: Final = "https://w3id.org/citizenship/v4rc1"
ED25519_2020_V1: Final = "https://w3id.org/security/suites/ed25519-2020/v1"
#: Our vocabulary context (``specs/contexts/blauweknop-v1.jsonld``). The w3id.org redirect is
#: not registered yet: the URL is a stable placeholder, served only from the bundled file.
BLAUWEKNOP_V1: Final = "https://w3id.org/blauweknop/v1"


class _BoundedCache(dict[Any, Any]):
    """A dict that forgets its oldest entries beyond ``maxsize`` (what pyld's caches need:
    ``get`` and item assignment)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.maxsize:
            del self[next(iter(self))]


@dataclass(frozen=True, slots=True)
class _Pin:
    filename: str
    sha256: str


#: URL -> bundled file and its SHA-256. Hashes of the W3C files are the ones published in the
#: specifications (VC-DATA-MODEL-2.0 appendix B.1, VC-DATA-INTEGRITY 2.4, BITSTRING-STATUS-LIST
#: 5.2) or, for the example/test contexts, those of the copies used by the W3C test vectors.
PINS: Final[Mapping[str, _Pin]] = {
    CREDENTIALS_V2: _Pin(
        "credentials-v2.jsonld", "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
    ),
    DATA_INTEGRITY_V2: _Pin(
        "data-integrity-v2.jsonld",
        "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4",
    ),
    MULTIKEY_V1: _Pin(
        "multikey-v1.jsonld", "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597"
    ),
    STATUS_LIST_V1: _Pin(
        "bitstring-status-list-v1.jsonld",
        "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7",
    ),
    BLAUWEKNOP_V1: _Pin(
        "blauweknop-v1.jsonld", "c942c9522c25dc55bb24c20fce7211abe7b9c74b4f3e6524b674d985b5df45ed"
    ),
    # Only for the W3C test vectors; not in the production allow-list.
    CREDENTIALS_EXAMPLES_V2: _Pin(
        "credentials-examples-v2.jsonld",
        "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c",
    ),
    CITIZENSHIP_V4RC1: _Pin(
        "citizenship-v4rc1.jsonld",
        "5038c7383afd7ab2158f1b997913a8f60978a0abcf96e0b0d08e29f146d2db1e",
    ),
    CREDENTIALS_V1: _Pin(
        "credentials-v1.jsonld", "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc"
    ),
    DATA_INTEGRITY_V1: _Pin(
        "data-integrity-v1.jsonld",
        "b5d829bd09aa7c42abc6efa0c8ed7635313b5487f37ccfce3ecd149ca9418554",
    ),
    ED25519_2020_V1: _Pin(
        "ed25519-2020-v1.jsonld", "3db5c19efb0047a6edfd3b36e24346a8a3caad369d749e3c2d69e862696403e5"
    ),
}

#: What a production verifier accepts: VC 2.0, Data Integrity 2, Multikey, Bitstring Status
#: List and our own vocabulary.
PRODUCTION_CONTEXTS: Final[frozenset[str]] = frozenset(
    {CREDENTIALS_V2, DATA_INTEGRITY_V2, MULTIKEY_V1, STATUS_LIST_V1, BLAUWEKNOP_V1}
)
#: Everything bundled, including the contexts only the W3C test vectors use (one of which,
#: ``examples/v2``, sets ``@vocab`` and so makes every term "defined": never use in production).
VECTOR_CONTEXTS: Final[frozenset[str]] = frozenset(PINS)

_XSD = "http://www.w3.org/2001/XMLSchema#"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: Datatypes pyld produces on its own (plain, language-tagged and JSON literals).
_BUILTIN_DATATYPES: Final = frozenset(
    {
        _XSD + "string",
        _XSD + "boolean",
        _XSD + "integer",
        _XSD + "double",
        _RDF + "langString",
        _RDF + "JSON",
        "@json",
    }
)


class OfflineLoader:
    """A pyld ``documentLoader`` that serves only allow-listed, bundled, hash-pinned contexts.

    Args:
        allowed: context URLs to serve (default :data:`PRODUCTION_CONTEXTS`). Each must be in
            :data:`PINS` or in ``extra``.
        extra: additional contexts ``{url: file bytes}`` the caller vouches for (the bytes are
            pinned by their own hash at construction); for tests and deliberate extensions.
        context_dir: read the bundled files from this directory instead of the package (the
            pins still apply; used by tests to prove that a swapped file is refused).

    The loader is callable as ``loader(url, options)`` (pyld's loader protocol). Files are read
    and checked once, then kept parsed; pyld's processed-context cache lives in the loader, so
    repeated expansions reuse processed contexts. Thread-safe: JSON-LD work on one loader is
    serialised by :attr:`lock`.

    >>> OfflineLoader(allowed=["https://example.org/unknown"])
    Traceback (most recent call last):
    ...
    blauweknop._errors.ContextError: context_not_allowed: no bundled, pinned file for https://example.org/unknown
    """

    def __init__(
        self,
        *,
        allowed: Iterable[str] | None = None,
        extra: Mapping[str, bytes] | None = None,
        context_dir: str | Path | None = None,
    ) -> None:
        self._extra: dict[str, bytes] = dict(extra or {})
        allowed_set = frozenset(PRODUCTION_CONTEXTS if allowed is None else allowed) | frozenset(
            self._extra
        )
        for url in allowed_set:
            if url not in PINS and url not in self._extra:
                raise ContextError("context_not_allowed", f"no bundled, pinned file for {url}")
        self._allowed = allowed_set
        self._dir = Path(context_dir) if context_dir is not None else None
        self._docs: dict[str, dict[str, Any]] = {}
        self._pins: dict[str, str] = {u: p.sha256 for u, p in PINS.items()}
        for url, data in self._extra.items():
            self._pins[url] = hashlib.sha256(data).hexdigest()
        #: pyld's per-loader resolved-context cache (never pyld's process-wide one).
        self.resolved_cache = _BoundedCache(256)
        #: serialises pyld calls: its caches are not thread-safe.
        self.lock = threading.RLock()
        #: memo of processed contexts: (active uuid, local context key, flags) -> result
        self.context_memo = _BoundedCache(4096)
        #: ids of context objects this loader handed to pyld (kept alive in ``_served``)
        self.stable_ids: set[int] = set()
        self._served: list[dict[str, Any]] = []
        self._vocab: tuple[str, ...] | None = None
        self._defined: frozenset[str] | None = None

    def allowed_urls(self) -> frozenset[str]:
        """The context URLs this loader serves.

        >>> sorted(OfflineLoader().allowed_urls())[0]
        'https://w3id.org/blauweknop/v1'
        """
        return self._allowed

    def _raw(self, url: str) -> bytes:
        if url in self._extra:
            return self._extra[url]
        pin = PINS[url]
        try:
            if self._dir is not None:
                return (self._dir / pin.filename).read_bytes()
            return resources.files("blauweknop").joinpath("contexts", pin.filename).read_bytes()
        except OSError as e:
            raise ContextError(
                "context_unavailable", f"bundled context for {url} unreadable"
            ) from e

    def document(self, url: str) -> dict[str, Any]:
        """The parsed context document for ``url`` (checked against its pin on first use).

        Raises ``context_not_allowed`` for URLs outside the allow-list and
        ``context_pin_mismatch`` when the bundled bytes do not match the pin.
        """
        if not isinstance(url, str) or url not in self._allowed:
            raise ContextError("context_not_allowed", f"context {url} is not in the allow-list")
        doc = self._docs.get(url)
        if doc is None:
            raw = self._raw(url)
            digest = hashlib.sha256(raw).hexdigest()
            if digest != self._pins[url]:
                raise ContextError(
                    "context_pin_mismatch",
                    f"context file for {url} has SHA-256 {digest}, pinned {self._pins[url]}",
                )
            try:
                parsed = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise ContextError("context_unavailable", f"context {url} is not JSON") from e
            if not isinstance(parsed, dict) or "@context" not in parsed:
                raise ContextError("context_unavailable", f"context {url} has no @context")
            self._docs[url] = parsed
            doc = parsed
        return doc

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """pyld ``documentLoader`` protocol: return a remote-document dict; never network."""
        doc = copy.deepcopy(self.document(url))
        # pyld may rewrite relative context URLs in place: it gets a copy, ours stays pristine.
        # The copy's context objects are registered as stable so processed contexts derived
        # from them can be memoised (see _jsonld._Processor); keeping a reference keeps their
        # ids from being reused.
        with self.lock:
            self._served.append(doc)
            stack: list[Any] = [doc]
            while stack:
                v = stack.pop()
                if isinstance(v, dict):
                    self.stable_ids.add(id(v))
                    stack.extend(v.values())
                elif isinstance(v, list):
                    stack.extend(v)
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": doc,
            "contentType": "application/ld+json",
            # 'static' lets pyld keep the resolved context in this loader's cache.
            "tag": "static",
        }

    def jsonld_options(self) -> dict[str, Any]:
        """pyld options for one operation: this loader, its cache, null base (DI 2.4.3)."""
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self.resolved_cache, self),
            "base": None,
            "processingMode": "json-ld-1.1",
        }

    # -- what the allowed contexts define ----------------------------------------------------
    def _scan(self) -> None:
        defined: set[str] = set(_BUILTIN_DATATYPES)
        vocab: set[str] = set()
        prefixes: dict[str, str] = {}
        pending: list[tuple[str, str | None]] = []  # (value, term) for compact-IRI expansion

        def visit(ctx: Any) -> None:
            if isinstance(ctx, list):
                for c in ctx:
                    visit(c)
                return
            if not isinstance(ctx, dict):
                return
            v = ctx.get("@vocab")
            if isinstance(v, str):
                vocab.add(v)
            for term, d in ctx.items():
                if term.startswith("@"):
                    continue
                if isinstance(d, str):
                    if not d.startswith("@"):
                        pending.append((d, term))
                        if d.endswith(("#", "/", ":")):
                            prefixes[term] = d
                elif isinstance(d, dict):
                    iri = d.get("@id")
                    if isinstance(iri, str) and not iri.startswith("@"):
                        pending.append((iri, term))
                        if d.get("@prefix") is True or iri.endswith(("#", "/")):
                            prefixes[term] = iri
                    elif iri is None and ":" in term:
                        pending.append((term, None))
                    t = d.get("@type")
                    if isinstance(t, str) and not t.startswith("@"):
                        pending.append((t, None))
                    if "@context" in d:
                        visit(d["@context"])

        for url in sorted(self._allowed):
            visit(self.document(url)["@context"])
        for value, _term in pending:
            head, sep, tail = value.partition(":")
            if sep and head in prefixes and not tail.startswith("//"):
                defined.add(prefixes[head] + tail)
            else:
                defined.add(value)
        self._defined = frozenset(defined)
        self._vocab = tuple(sorted(vocab))

    def defined_iris(self) -> frozenset[str]:
        """Every IRI a term, type or datatype of an allowed context maps to."""
        if self._defined is None:
            self._scan()
        assert self._defined is not None
        return self._defined

    def vocab_namespaces(self) -> tuple[str, ...]:
        """``@vocab`` values set by allowed contexts (only the W3C examples context has one)."""
        if self._vocab is None:
            self._scan()
        assert self._vocab is not None
        return self._vocab

    def is_defined(self, iri: str) -> bool:
        """Whether ``iri`` is defined by an allowed context (a term, type, or ``@vocab`` use)."""
        if iri in self.defined_iris():
            return True
        return any(iri.startswith(v) and len(iri) > len(v) for v in self.vocab_namespaces())


@cache
def default_loader() -> OfflineLoader:
    """The shared production loader (:data:`PRODUCTION_CONTEXTS`), created on first use."""
    return OfflineLoader()
