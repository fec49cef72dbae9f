"""Freshness of a status list (when a cached copy may still be used offline), and the other
checks both list formats share: its issuer, and its issue time on admission.

IETF Token Status List, section "Validation Rules" step 4 (``exp`` MUST be checked; ``iat``
against local freshness policy; re-fetch when ``time resolved + ttl < now``), section
"Expiration and Caching" (clamp ``exp``/``ttl`` to reasonable bounds, docs/security.md),
and W3C Bitstring Status List section 2.2 (``validUntil``, ``ttl`` in milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import StatusError

__all__ = [
    "DEFAULT_FRESHNESS",
    "DEFAULT_MAX_AGE",
    "FreshnessPolicy",
    "check_fresh",
    "check_issued",
    "check_list_issuer",
    "check_list_times",
]

#: Default verifier-side bound on a status list's age, counted from its own issue time
#: (``iat`` / ``validFrom``): one day, the issuers' default publishing period.
DEFAULT_MAX_AGE = 24 * 3600


@dataclass(frozen=True, kw_only=True, slots=True)
class FreshnessPolicy:
    """How old a status list may be before it is *stale* (``status_unavailable``).

    Attributes:
        max_age: seconds a list may be used after its ``iat``/``validFrom``, whatever its own
            ``exp`` and ``ttl`` say (default :data:`DEFAULT_MAX_AGE`, one day); ``None``
            for no extra bound beyond ``exp`` and the clamped ``ttl``.
        min_ttl: lower clamp for the list's ``ttl`` (a ``ttl`` of 0 would mean "refetch on
            every check", which an offline verifier cannot do).
        max_ttl: upper clamp for ``ttl``; also used when a list has neither ``ttl`` nor ``exp``
            (a list that never expires would hide a revocation forever).
        leeway: clock skew tolerated on ``iat``, ``exp`` and ``ttl``, in seconds.

    Example:
        >>> FreshnessPolicy(max_age=3600).max_ttl
        86400
    """

    max_age: float | None = DEFAULT_MAX_AGE
    min_ttl: int = 60
    max_ttl: int = 24 * 3600
    leeway: int = 60

    def __post_init__(self) -> None:
        if self.min_ttl < 0 or self.max_ttl < self.min_ttl or self.leeway < 0:
            raise ValueError("FreshnessPolicy needs 0 <= min_ttl <= max_ttl and leeway >= 0")
        if self.max_age is not None and self.max_age < 0:
            raise ValueError("FreshnessPolicy.max_age must not be negative")


DEFAULT_FRESHNESS = FreshnessPolicy()


def check_issued(
    *, now: float, issued_at: float, policy: FreshnessPolicy, what: str = "status list"
) -> None:
    """``status_invalid`` when the list is issued in the future (beyond the leeway): such a
    list must neither be used nor enter a cache, where it would outrank the genuine one.

    >>> check_issued(now=100, issued_at=90, policy=FreshnessPolicy(leeway=0))
    """
    if issued_at > now + policy.leeway:
        raise StatusError("status_invalid", f"{what} is issued in the future (iat {issued_at:g})")


def check_fresh(
    *,
    now: float,
    issued_at: float,
    expires_at: float | None,
    ttl: float | None,
    policy: FreshnessPolicy,
    max_age: float | None = None,
    what: str = "status list",
) -> float:
    """Raise ``StatusError`` unless the list is fresh at ``now``; return the time it goes stale.

    Everything counts from the list's own issue time, never from when a copy was fetched:
    re-serving an old list must not make it fresh again. ``ttl`` is clamped to
    ``policy.min_ttl`` .. ``policy.max_ttl``; ``max_age`` (the caller's bound) and
    ``policy.max_age`` bound the age. Issued in the future beyond the leeway is
    ``status_invalid``; every other failure is ``status_unavailable`` with "stale" in the
    message.

    >>> check_fresh(now=100, issued_at=90, expires_at=200, ttl=300,
    ...             policy=FreshnessPolicy(leeway=0))
    200
    >>> check_fresh(now=300, issued_at=90, expires_at=200, ttl=None,
    ...             policy=FreshnessPolicy(leeway=0))
    Traceback (most recent call last):
    ...
    blauweknop._errors.StatusError: status_unavailable: status list is stale: expired at 200
    """
    lw = policy.leeway
    check_issued(now=now, issued_at=issued_at, policy=policy, what=what)
    limits: list[float] = []
    if expires_at is not None:
        if now > expires_at + lw:
            raise StatusError("status_unavailable", f"{what} is stale: expired at {expires_at:g}")
        limits.append(expires_at)
    if ttl is None and expires_at is None:
        ttl = policy.max_ttl
    if ttl is not None:
        eff_ttl = min(max(ttl, policy.min_ttl), policy.max_ttl)
        if now > issued_at + eff_ttl + lw:
            raise StatusError(
                "status_unavailable",
                f"{what} is stale: its time to live ({eff_ttl:g} s) ended at "
                f"{issued_at + eff_ttl:g}",
            )
        limits.append(issued_at + eff_ttl)
    for bound in (policy.max_age, max_age):
        if bound is not None:
            if now - issued_at > bound:
                raise StatusError(
                    "status_unavailable",
                    f"{what} is stale: issued {now - issued_at:g} s ago, more than {bound:g} s",
                )
            limits.append(issued_at + bound)
    return min(limits)


def check_list_times(
    *,
    fresh: bool,
    now: float,
    issued_at: float,
    expires_at: float | None,
    ttl: float | None,
    policy: FreshnessPolicy,
    max_age: float | None,
    what: str,
) -> float:
    """The time checks of a verified list, either format: with ``fresh`` those of
    :func:`check_fresh` (verification time), else only :func:`check_issued` (admission into a
    cache; freshness is checked when the list is used). Returns when the list goes stale
    (on admission: its issue time).

    >>> check_list_times(fresh=False, now=100, issued_at=90, expires_at=None, ttl=None,
    ...                  policy=FreshnessPolicy(leeway=0), max_age=None, what="list")
    90.0
    """
    if fresh:
        return check_fresh(
            now=now,
            issued_at=issued_at,
            expires_at=expires_at,
            ttl=ttl,
            policy=policy,
            max_age=max_age,
            what=what,
        )
    check_issued(now=now, issued_at=issued_at, policy=policy, what=what)
    return float(issued_at)


def check_list_issuer(issuer: str | None, expected_issuer: str | None, *, what: str) -> None:
    """``status_invalid`` unless the list is issued by ``expected_issuer`` (the credential's
    issuer; ``None`` skips the check): a list of another organisation says nothing about
    this credential.

    >>> check_list_issuer("urn:oin:1", "urn:oin:1", what="status list")
    """
    if expected_issuer is not None and issuer != expected_issuer:
        raise StatusError(
            "status_invalid",
            f"{what} is issued by {issuer!r}, not by the credential's issuer {expected_issuer!r}",
        )
