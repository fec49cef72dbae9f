"""The wallet's overview ("inzicht en overzicht"): its result types, and the calendar checks
the wallet applies to stored claims. Each credential type contributes to the overview through
its profile (``CredentialProfile.overview``); the debt statement gives creditor lines, the
Rode Knop declaration the pause window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidDataError

__all__ = [
    "CreditorLine",
    "Overview",
    "PauseWindow",
    "cents",
    "check_calendar_dates",
    "parse_date",
    "parse_datetime",
]


@dataclass(frozen=True, kw_only=True)
class CreditorLine:
    """One creditor's line in the overview."""

    creditor: str
    creditor_id: str
    outstanding: int
    in_arrears: int
    cases: int
    cases_in_arrears: int
    balance_at: str
    stale: bool
    arrangement: Mapping[str, Any] | None
    collection_hold: Mapping[str, Any] | None


@dataclass(frozen=True, kw_only=True)
class PauseWindow:
    """The active Rode Knop pause (betalingspauze) and the days left."""

    municipality: str
    declaration_id: str
    valid_from: str
    valid_until: str
    days_left: int
    measures: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Overview:
    """The citizen's aggregated picture across creditors ("inzicht en overzicht").

    Attributes:
        creditors: one line per creditor (latest statement only).
        total_outstanding / total_in_arrears: sums over the creditors, in cents.
        pause: the active Rode Knop pause window, if any.
        as_of: the date the overview was computed for.
    """

    creditors: tuple[CreditorLine, ...]
    total_outstanding: int
    total_in_arrears: int
    pause: PauseWindow | None
    as_of: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (for ``wallet overview --json``)."""
        return {
            "as_of": self.as_of,
            "total_outstanding": self.total_outstanding,
            "total_in_arrears": self.total_in_arrears,
            "currency": "EUR",
            "creditors": [
                {
                    "creditor": c.creditor,
                    "creditor_id": c.creditor_id,
                    "outstanding": c.outstanding,
                    "in_arrears": c.in_arrears,
                    "cases": c.cases,
                    "cases_in_arrears": c.cases_in_arrears,
                    "balance_at": c.balance_at,
                    "stale": c.stale,
                    "arrangement": c.arrangement,
                    "collection_hold": c.collection_hold,
                }
                for c in self.creditors
            ],
            "pause": None
            if self.pause is None
            else {
                "municipality": self.pause.municipality,
                "declaration_id": self.pause.declaration_id,
                "valid_from": self.pause.valid_from,
                "valid_until": self.pause.valid_until,
                "days_left": self.pause.days_left,
                "measures": list(self.pause.measures),
            },
            "notes": list(self.notes),
        }


def cents(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def parse_date(value: Any) -> dt.date:
    """A ``YYYY-MM-DD`` that is a real calendar date (``ValueError`` otherwise)."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ValueError("not a YYYY-MM-DD date")
    return dt.date.fromisoformat(value)


def parse_datetime(value: Any) -> dt.datetime:
    """An RFC 3339 date-time with an offset that is a real moment (``ValueError`` otherwise)."""
    if not isinstance(value, str) or not _DATETIME_RE.fullmatch(value):
        raise ValueError("not an RFC 3339 date-time with an offset")
    return dt.datetime.fromisoformat(value)


def check_calendar_dates(schema: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    """Every claim the type's JSON Schema declares a ``date`` or ``datetime`` must be a real
    calendar date (the schema's patterns accept ``2026-02-30`` and month 13).

    Raises ``InvalidDataError("invalid_data")`` naming the field.
    """
    defs = schema.get("$defs") or {}

    def walk(node: Mapping[str, Any], value: Any, path: str) -> None:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in ("date", "datetime"):
                try:
                    (parse_date if name == "date" else parse_datetime)(value)
                except ValueError:
                    raise InvalidDataError(
                        "invalid_data",
                        f"{path}: {str(value)[:40]!r} is not a real calendar {name}",
                        field=path,
                    ) from None
                return
            node = defs.get(name) or {}
        props = node.get("properties")
        if isinstance(props, Mapping) and isinstance(value, Mapping):
            for k, v in value.items():
                sub = props.get(k)
                if isinstance(sub, Mapping):
                    walk(sub, v, f"{path}.{k}" if path else str(k))
        items = node.get("items")
        if isinstance(items, Mapping) and isinstance(value, list):
            for i, v in enumerate(value):
                walk(items, v, f"{path}[{i}]")

    walk(schema, claims, "")
