"""Shared machinery for the typed domain models (frozen, keyword-only dataclasses).

Each model maps 1:1 onto the profile's JSON claims: ``to_claims()`` gives plain JSON types
(``None`` fields left out), ``from_claims()`` validates (JSON Schema first, then the model's
semantic rules) and builds the typed object. Semantic errors name the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ._errors import InvalidDataError
from ._profile import CredentialProfile, get_profile

__all__ = ["CredentialModel", "DomainModel", "check_bsn", "parse_date", "parse_datetime"]


def parse_date(value: str, field: str) -> dt.date:
    """A ``YYYY-MM-DD`` calendar date; impossible dates (``2026-02-30``) name the field."""
    try:
        return dt.date.fromisoformat(value)
    except (ValueError, TypeError) as e:
        raise InvalidDataError(
            "invalid_data", f"{field}: {value!r} is not a valid date", field=field
        ) from e


def parse_datetime(value: str, field: str) -> dt.datetime:
    """An RFC 3339 date-time with offset."""
    try:
        d = dt.datetime.fromisoformat(value)
    except (ValueError, TypeError) as e:
        raise InvalidDataError(
            "invalid_data", f"{field}: {value!r} is not an RFC 3339 date-time", field=field
        ) from e
    if d.tzinfo is None:
        raise InvalidDataError(
            "invalid_data", f"{field}: date-time needs a UTC offset", field=field
        )
    return d


def check_bsn(bsn: str, field: str) -> None:
    """The BSN eleven-test (elfproef): sum(d_i * w_i) with weights 9..2 and -1 divisible by 11.

    >>> check_bsn("999999990", "subject.bsn")
    >>> check_bsn("123456789", "subject.bsn")
    Traceback (most recent call last):
    ...
    blauweknop._errors.InvalidDataError: invalid_data: subject.bsn: fails the eleven-test
    """
    if len(bsn) != 9 or not bsn.isdigit():
        raise InvalidDataError("invalid_data", f"{field}: must be 9 digits", field=field)
    total = sum(int(d) * w for d, w in zip(bsn, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    if total % 11 != 0 or bsn == "000000000":
        raise InvalidDataError("invalid_data", f"{field}: fails the eleven-test", field=field)


#: The public field names of each dataclass type met by :func:`_to_json`, in field order.
_PUBLIC_FIELDS: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _to_json(value: Any) -> Any:
    t = type(value)
    if t in _LEAVES:  # most of a model: no dataclass or sequence test for them
        return value
    names = _PUBLIC_FIELDS.get(t)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(f.name for f in dataclasses.fields(value) if not f.name.startswith("_"))
        _PUBLIC_FIELDS[t] = names
    if names is not None:
        out = {}
        for name in names:
            v = getattr(value, name)
            if v is not None:
                out[name] = _to_json(v)
        return out
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


class DomainModel:
    """Base of the typed models: JSON mapping and nested construction."""

    #: nested model classes by field name (a tuple field holds a sequence of them)
    _nested: ClassVar[Mapping[str, type[Any]]] = {}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; ``None`` fields are left out."""
        out = _to_json(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def _from_json(cls, data: Mapping[str, Any]) -> Self:
        kwargs: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for k, v in data.items():
            if k not in names:
                continue  # schema validation already refused unknown members
            sub = cls._nested.get(k)
            if sub is not None and isinstance(v, list):
                kwargs[k] = tuple(sub._from_json(x) if isinstance(x, Mapping) else x for x in v)
            elif sub is not None and isinstance(v, Mapping):
                kwargs[k] = sub._from_json(v)
            elif isinstance(v, list):
                kwargs[k] = tuple(v)
            else:
                kwargs[k] = v
        return cls(**kwargs)


class CredentialModel(DomainModel):
    """A whole credential's domain claims (a top-level model with a profile)."""

    vct: ClassVar[str]

    @classmethod
    def profile(cls) -> CredentialProfile:
        """The credential profile this model follows."""
        return get_profile(cls.vct)

    def to_claims(self) -> dict[str, Any]:
        """The domain claims, as they appear in the credential."""
        return self.to_json()

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Self:
        """Validate (schema, then semantic rules) and build. Raises :class:`InvalidDataError`."""
        cls.profile().validate(claims)
        obj = cls._from_json(claims)
        obj.check()
        return obj

    def check(self) -> None:
        """Semantic rules beyond the schema; overridden per model."""
