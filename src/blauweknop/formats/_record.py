"""The wallet's record of one stored credential: typed and frozen, built in one place (a
format's ``inspect``), stored as the same JSON object as before (existing wallets open)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import StorageError

__all__ = ["WalletRecord"]


@dataclass(frozen=True, kw_only=True)
class WalletRecord:
    """A credential as the wallet keeps it.

    Attributes:
        format: the format id (``dc+sd-jwt``, ``ldp_vc``): which implementation reads it.
        vct: the credential type.
        issuer / issuer_name: the issuing organisation, as the trust list named it.
        fingerprint: what makes two copies of the same credential equal (duplicate check).
        claims: as the format keeps them (SD-JWT VC: the domain claims; W3C: the document).
        disclosable: claim paths the holder may withhold.
        iat / nbf / exp: Unix times (``None`` when absent).
        status_ref: the status reference in the format's encoding, or ``None``.
        holder_kid: the holder key it is bound to.
        received_at: when it was added.
        state: ``active``, ``revoked``, ``suspended`` or ``superseded``.
        text: the issued text, for formats that present from it (SD-JWT VC).
        presented: how many times it was presented.
    """

    format: str
    vct: str
    issuer: str
    issuer_name: str
    fingerprint: str
    claims: Mapping[str, Any]
    disclosable: tuple[tuple[Any, ...], ...]
    iat: float | None
    nbf: float | None
    exp: float | None
    status_ref: Any
    holder_kid: str
    received_at: float
    state: str = "active"
    text: str | None = None
    presented: int = 0

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> WalletRecord:
        """Read a stored record (``StorageError("storage_corrupt")`` when it is not one)."""
        try:
            return cls(
                format=str(obj["format"]),
                vct=str(obj["vct"]),
                issuer=str(obj["issuer"]),
                issuer_name=str(obj["issuer_name"]),
                fingerprint=str(obj["fingerprint"]),
                claims=dict(obj["claims"]),
                disclosable=tuple(tuple(p) for p in obj["disclosable"]),
                iat=obj.get("iat"),
                nbf=obj.get("nbf"),
                exp=obj.get("exp"),
                status_ref=obj.get("status_ref"),
                holder_kid=str(obj["holder_kid"]),
                received_at=obj["received_at"],
                state=str(obj.get("state", "active")),
                text=obj.get("text"),
                presented=int(obj.get("presented", 0)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise StorageError("storage_corrupt", f"a stored credential is unreadable: {e}") from e

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object (the same members as before the records were typed)."""
        out: dict[str, Any] = {
            "format": self.format,
            "vct": self.vct,
            "issuer": self.issuer,
            "issuer_name": self.issuer_name,
            "fingerprint": self.fingerprint,
            "claims": dict(self.claims),
            "disclosable": [list(p) for p in self.disclosable],
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "status_ref": self.status_ref,
            "holder_kid": self.holder_kid,
            "received_at": self.received_at,
            "state": self.state,
        }
        if self.text is not None:
            out["text"] = self.text
        if self.presented:
            out["presented"] = self.presented
        return out

    def replace(self, **changes: Any) -> WalletRecord:
        """A copy with ``changes`` (records are frozen)."""
        return dataclasses.replace(self, **changes)
