"""blauweknop: verifiable credentials for Dutch public-debt relief.

Blauwe Knop debt statements and Rode Knop payment-incapacity declarations as SD-JWT VC
(RFC 9901, ``dc+sd-jwt``) and as W3C VC 2.0 with Data Integrity (``ecdsa-sd-2023``); a
citizen's wallet answering OpenID4VP DCQL requests; offline verification against a signed
trust list and cached status lists.

The doors:

* issuing organisations: :class:`Issuer` (and the ``blauweknop`` / ``rodeknop`` CLIs);
* app developers: :class:`Wallet`;
* creditors' back offices: :class:`Verifier`;
* the scheme authority: :func:`build_trust_list` and :class:`TrustList`;
* everyone who verifies offline: :func:`sync_status` fills the :class:`StatusCache`.

For untrusted JSON input, :func:`parse_json` parses strictly (no duplicate keys, bounded
size and depth). Crash-safe output files: :mod:`blauweknop.files`.

Errors all derive from :class:`BlauweKnopError` and carry a stable ``code``.

Example:
    >>> import blauweknop
    >>> issubclass(blauweknop.TrustError, blauweknop.BlauweKnopError)
    True
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from . import _profile
from ._codec import parse_json
from ._dcql import DCQLQuery, DisclosurePlan
from ._errors import (
    BlauweKnopError,
    ContextError,
    DisclosureError,
    HolderBindingError,
    InvalidDataError,
    MalformedError,
    PolicyError,
    SignatureError,
    StatusError,
    StorageError,
    TrustError,
    ValidityError,
)
from ._issuer import IssuedCredential, Issuer
from ._keys import Key, Signer, did_jwk, key_from_did_jwk
from ._limits import Limits
from ._profile import CredentialProfile, get_profile, load_profile, register_profile
from ._sdjwt import SD, SDJWT, KeyBindingPolicy, VerifiedSDJWT, issue_sd_jwt, verify_sd_jwt
from ._status_recipes import StatusCache, sync_status
from ._trust import TrustedOrganisation, TrustList, build_trust_list
from ._verifier import (
    CredentialOutcome,
    PresentationResult,
    StatusSource,
    VerifiedCredential,
    Verifier,
)
from ._wallet import ImportResult, Overview, StoredCredential, Wallet

DEBT_STATEMENT_VCT: str = _profile.DEBT_STATEMENT_VCT
"""The credential type (SD-JWT VC ``vct``) of the Blauwe Knop debt statement."""

RODE_KNOP_VCT: str = _profile.RODE_KNOP_VCT
"""The credential type (SD-JWT VC ``vct``) of the Rode Knop payment-incapacity declaration."""

try:
    __version__: str = _version("blauweknop")
    """The installed distribution's version (``blauweknop`` ships ``rodeknop_vc`` too)."""
except _PackageNotFoundError:  # pragma: no cover - run from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
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
]

# The bundled debt statement registers its wallet rules with its profile (the Rode Knop
# declaration does so on ``import rodeknop_vc``).
from . import debt as _debt  # noqa: E402, F401  (registration on import, after the names it uses)
