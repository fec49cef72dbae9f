"""The arrangement coordinator (Betalingsregeling Rijk): verify a citizen's debt statements,
compute one arrangement across the creditors, issue it, supersede it; and the creditor's side:
read its own share from a verified arrangement.

The coordinator computes nothing about income: the monthly amount available for the creditors
is an input (decided with the citizen or the debt counsellor). The split and schedule rules
are in :mod:`blauweknop.arrangement._split` and ``specs/payment-arrangement.md``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._errors import (
    HolderBindingError,
    InvalidDataError,
    MalformedError,
    PolicyError,
    StorageError,
)
from .._issuer import IssuedCredential, Issuer
from .._keys import Key
from .._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT
from .._verifier import Verifier
from ..debt import Person
from ..formats import VerifiedCredential
from ._credential import (
    PAYMENT_ARRANGEMENT_VCT,
    ArrangementLine,
    Coordinator,
    Pause,
    PaymentArrangement,
)
from ._split import MAX_INSTALLMENTS, due_dates, instalments, split_pro_rata

__all__ = [
    "ArrangementCoordinator",
    "CoveredDebt",
    "CreditorShare",
    "Proposal",
    "compute_arrangement",
    "creditor_request",
    "creditor_share",
    "statements_request",
]

_VC = "https://www.w3.org/2018/credentials#VerifiableCredential"
_VOCAB = "https://w3id.org/blauweknop/vocab#"
_FORMATS = {"sd-jwt": "dc+sd-jwt", "dc+sd-jwt": "dc+sd-jwt", "di": "ldp_vc", "ldp_vc": "ldp_vc"}


def _format_id(fmt: str) -> str:
    try:
        return _FORMATS[fmt]
    except KeyError:
        raise InvalidDataError("invalid_data", f"format: {fmt!r} is not sd-jwt or di") from None


def _query(qid: str, fmt: str, vct: str, w3c_type: str, paths: Sequence[Any]) -> dict[str, Any]:
    fid = _format_id(fmt)
    q: dict[str, Any] = {"id": qid, "format": fid}
    if fid == "dc+sd-jwt":
        q["meta"] = {"vct_values": [vct]}
        q["claims"] = [dict(p) for p in paths]
    else:
        q["meta"] = {"type_values": [[_VC, _VOCAB + w3c_type]]}
        q["claims"] = [{**p, "path": ["credentialSubject", *p["path"]]} for p in paths]
    return q


_SUBJECT = [{"path": ["subject", k]} for k in ("family_name", "given_names", "birthdate")]


def statements_request(*, format: str = "sd-jwt", declaration: bool = True) -> dict[str, Any]:  # noqa: A002
    """The coordinator's DCQL query: every debt statement (creditor, totals, case references
    and outstanding amounts, the subject's name and birth date) and, optionally, a Rode Knop
    declaration (its pause window)."""
    paths = [
        {"path": ["creditor", "name"]},
        {"path": ["creditor", "oin"]},
        {"path": ["statement_id"]},
        {"path": ["balance_at"]},
        {"path": ["is_complete"]},
        {"path": ["currency"]},
        *_SUBJECT,
        *({"path": ["totals", k]} for k in ("imposed", "settled", "outstanding", "in_arrears")),
        {"path": ["totals", "number_of_cases"]},
        {"path": ["cases", None, "case_reference"]},
        {"path": ["cases", None, "amount_outstanding"]},
    ]
    st = _query("debt_statements", format, DEBT_STATEMENT_VCT, "DebtStatement", paths)
    st["multiple"] = True
    out: dict[str, Any] = {"credentials": [st]}
    if declaration:
        decl = [
            {"path": ["declaration_id"]},
            {"path": ["valid_from"]},
            {"path": ["valid_until"]},
            *_SUBJECT,
        ]
        out["credentials"].append(
            _query(
                "payment_incapacity_declaration",
                format,
                RODE_KNOP_VCT,
                "PaymentIncapacityDeclaration",
                decl,
            )
        )
        out["credential_sets"] = [
            {"options": [["debt_statements"]]},
            {"required": False, "options": [["payment_incapacity_declaration"]]},
        ]
    return out


def creditor_request(creditor_oin: str, *, format: str = "sd-jwt") -> dict[str, Any]:  # noqa: A002
    """A creditor's DCQL query for an arrangement: the always-shown totals and schedule, the
    subject's name and birth date, and only the creditor's own line (matched by its OIN)."""
    paths = [
        {"path": ["arrangement_id"]},
        {"path": ["monthly_amount"]},
        {"path": ["total_outstanding"]},
        *_SUBJECT,
        {"path": ["creditors", None, "oin"], "values": [creditor_oin]},
    ]
    return {
        "credentials": [
            _query(
                "payment_arrangement", format, PAYMENT_ARRANGEMENT_VCT, "PaymentArrangement", paths
            )
        ]
    }


@dataclass(frozen=True, kw_only=True)
class CoveredDebt:
    """One creditor's debt, as the coordinator read it from a verified statement.

    Attributes:
        creditor_name / creditor_oin: the creditor (its signer's trust-list name and OIN).
        statement_id: the statement the amount comes from.
        outstanding: outstanding cents (``totals.outstanding``).
        cases: the case references (zaakkenmerken) the statement disclosed.
    """

    creditor_name: str
    creditor_oin: str
    statement_id: str
    outstanding: int
    cases: tuple[str, ...] = ()


def _norm(s: Any) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(s)).casefold().split())


def _cents(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedError("statement_totals_mismatch", f"{where}: not an amount in cents")
    return value


def _covered(cred: VerifiedCredential) -> CoveredDebt:
    """Read and cross-check one verified statement (its totals must add up)."""
    cl = cred.claims
    sid = str(cl.get("statement_id", "?"))
    totals = cl.get("totals")
    if not isinstance(totals, Mapping) or "outstanding" not in totals:
        raise PolicyError("claim_missing", f"statement {sid}: totals.outstanding not disclosed")
    out = _cents(totals["outstanding"], f"{sid}: totals.outstanding")
    if "imposed" in totals and "settled" in totals:
        imposed = _cents(totals["imposed"], f"{sid}: totals.imposed")
        settled = _cents(totals["settled"], f"{sid}: totals.settled")
        if imposed - settled != out:
            raise MalformedError(
                "statement_totals_mismatch",
                f"statement {sid}: outstanding {out} is not imposed {imposed} - settled {settled}",
            )
    if "in_arrears" in totals and _cents(totals["in_arrears"], f"{sid}: in_arrears") > out:
        raise MalformedError(
            "statement_totals_mismatch", f"statement {sid}: in_arrears exceeds outstanding"
        )
    cases = cl.get("cases") or []
    refs = tuple(str(c["case_reference"]) for c in cases if "case_reference" in c)
    amounts = [c.get("amount_outstanding") for c in cases]
    every_case = totals.get("number_of_cases") == len(cases) and cl.get("is_complete") is True
    if cases and every_case and all(a is not None for a in amounts):
        s = sum(_cents(a, f"{sid}: cases.amount_outstanding") for a in amounts)
        if s != out:
            raise MalformedError(
                "statement_totals_mismatch",
                f"statement {sid}: totals.outstanding is {out} but the cases add up to {s}",
            )
    oin = cred.issuer[8:] if cred.issuer.startswith("urn:oin:") else cred.issuer
    return CoveredDebt(
        creditor_name=cred.issuer_name,
        creditor_oin=oin,
        statement_id=sid,
        outstanding=out,
        cases=refs,
    )


def _subject(creds: Sequence[VerifiedCredential]) -> Person:
    """The one person all credentials are about (name and birth date must agree; a BSN
    disclosed by two must be the same)."""
    seen: dict[str, str] = {}
    shown: dict[str, Any] = {}
    for c in creds:
        subj = c.claims.get("subject")
        if not isinstance(subj, Mapping):
            raise PolicyError("claim_missing", f"{c.issuer_name}: the subject is not disclosed")
        for k in ("family_name", "given_names", "birthdate", "bsn"):
            if k not in subj:
                if k != "bsn":
                    raise PolicyError(
                        "claim_missing", f"{c.issuer_name}: subject.{k} not disclosed"
                    )
                continue
            v = _norm(subj[k])
            if seen.setdefault(k, v) != v:
                raise PolicyError(
                    "subject_mismatch",
                    f"the credentials are about different people (subject.{k} differs)",
                )
            shown.setdefault(k, subj[k])
    return Person(
        family_name=str(shown["family_name"]),
        given_names=str(shown["given_names"]),
        birthdate=str(shown["birthdate"]),
        bsn=str(shown["bsn"]) if "bsn" in shown else None,
    )


def compute_arrangement(
    debts: Sequence[CoveredDebt],
    *,
    monthly_amount: int,
    start_date: dt.date,
    subject: Person,
    coordinator: Coordinator,
    arrangement_id: str,
    computed_at: str,
    arrangement_type: str = "standaard",
    pause: Pause | None = None,
    supersedes: str | None = None,
) -> PaymentArrangement:
    """One arrangement over ``debts``: each creditor's share of ``monthly_amount`` pro rata to
    its outstanding amount (largest-remainder method, whole cents adding up exactly), its
    number of instalments (the last one adjusts) and due dates (skipping the pause).

    Debts with nothing outstanding are left out. Raises
    ``InvalidDataError("arrangement_not_feasible")`` when the monthly amount exceeds the
    total outstanding, a share would be 0 cents, or the longest schedule exceeds the
    type's maximum (36 standaard, 72 maatwerk); ``invalid_data`` for other bad input.
    """
    if arrangement_type not in MAX_INSTALLMENTS:
        raise InvalidDataError(
            "invalid_data", "arrangement_type: standaard or maatwerk", field="arrangement_type"
        )
    if (
        isinstance(monthly_amount, bool)
        or not isinstance(monthly_amount, int)
        or monthly_amount < 1
    ):
        raise InvalidDataError(
            "invalid_data", "monthly_amount: whole cents, at least 1", field="monthly_amount"
        )
    owed = [d for d in debts if d.outstanding > 0]
    if not owed:
        raise InvalidDataError("arrangement_not_feasible", "nothing is outstanding")
    oins = [d.creditor_oin for d in owed]
    if len(set(oins)) != len(oins):
        raise PolicyError("duplicate_creditor", "two statements from the same creditor")
    total = sum(d.outstanding for d in owed)
    if monthly_amount > total:
        raise InvalidDataError(
            "arrangement_not_feasible",
            f"the monthly amount {monthly_amount} exceeds the total outstanding {total}",
        )
    shares = split_pro_rata(monthly_amount, {d.creditor_oin: d.outstanding for d in owed})
    window = None
    if pause is not None:
        window = (dt.date.fromisoformat(pause.start_date), dt.date.fromisoformat(pause.end_date))
    lines = []
    # lines in a fixed order: larger outstanding first, then OIN
    for d in sorted(owed, key=lambda d: (-d.outstanding, d.creditor_oin)):
        share = shares[d.creditor_oin]
        if share < 1:
            raise InvalidDataError(
                "arrangement_not_feasible",
                f"{d.creditor_name}'s share of {monthly_amount} cents would be 0 cents",
            )
        n, last = instalments(d.outstanding, share)
        limit = MAX_INSTALLMENTS[arrangement_type]
        if n > limit:
            raise InvalidDataError(
                "arrangement_not_feasible",
                f"{d.creditor_name} would need {n} instalments; a {arrangement_type} "
                f"arrangement has at most {limit}",
            )
        dates = due_dates(start_date, n, pause=window)
        lines.append(
            ArrangementLine(
                name=d.creditor_name,
                oin=d.creditor_oin,
                statement_id=d.statement_id,
                outstanding=d.outstanding,
                installment_amount=share,
                number_of_installments=n,
                last_installment_amount=last,
                first_due_date=dates[0].isoformat(),
                last_due_date=dates[-1].isoformat(),
                covered_cases=d.cases or None,
            )
        )
    arrangement = PaymentArrangement(
        arrangement_id=arrangement_id,
        computed_at=computed_at,
        coordinator=coordinator,
        arrangement_type=arrangement_type,
        currency="EUR",
        monthly_amount=monthly_amount,
        total_outstanding=total,
        start_date=start_date.isoformat(),
        number_of_installments=max(x.number_of_installments for x in lines),
        number_of_creditors=len(lines),
        subject=subject,
        creditors=tuple(lines),
        pause=pause,
        supersedes=supersedes,
    )
    # the model's own rules once more, on exactly the claims that will be signed
    return PaymentArrangement.from_claims(arrangement.to_claims())


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A computed arrangement, not yet issued.

    Attributes:
        arrangement: the credential's claims as a model.
        holder_jwk: the citizen's holder key the statements are bound to (the arrangement
            is issued to it).
        debts: the covered debts as verified.
    """

    arrangement: PaymentArrangement
    holder_jwk: Mapping[str, Any]
    debts: tuple[CoveredDebt, ...]

    def differs_from(self, old: PaymentArrangement) -> bool:
        """Whether the covered statements or amounts changed since ``old`` (then the old
        arrangement should be superseded)."""

        def key(a: PaymentArrangement) -> set[tuple[str, str, int]]:
            return {(c.oin, c.statement_id, c.outstanding) for c in a.creditors}

        return key(self.arrangement) != key(old) or (
            self.arrangement.monthly_amount != old.monthly_amount
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (holds personal data: do not log it)."""
        return {"arrangement": self.arrangement.to_claims(), "holder_jwk": dict(self.holder_jwk)}


class ArrangementCoordinator:
    """The coordinator's service: an :class:`~blauweknop.Issuer` with the trust-list role
    ``arrangement_coordinator`` and a :class:`~blauweknop.Verifier` for the citizen's
    statements.

    Example:
        ```python
        coordinator = ArrangementCoordinator(issuer, verifier)
        proposal = coordinator.propose(vp_token, nonce=n, audience=issuer.issuer_id,
                                       monthly_amount=25000, start_date=date(2027, 1, 1),
                                       arrangement_id="BRR-2026-0001")
        issued = coordinator.issue(proposal)
        ```
    """

    def __init__(self, issuer: Issuer, verifier: Verifier | None = None) -> None:
        self.issuer = issuer
        self.verifier = verifier

    def verify_statements(
        self,
        vp_token: str | bytes | Mapping[str, Any],
        *,
        nonce: str,
        audience: str,
        request: Any | None = None,
        now: float | None = None,
    ) -> tuple[list[CoveredDebt], Person, Mapping[str, Any], tuple[dt.date, dt.date] | None]:
        """Verify the ``vp_token`` fully (signatures, trust and roles, holder binding, validity,
        status; fail closed) and read it: the covered debts, the one subject, the one holder
        key, and the window of a Rode Knop declaration if one was presented."""
        if self.verifier is None:
            raise PolicyError("policy_violation", "this coordinator was given no verifier")
        result = self.verifier.verify(
            vp_token, nonce=nonce, audience=audience, request=request, now=now
        )
        creds = list(result.credentials)
        statements = [c for c in creds if c.vct == DEBT_STATEMENT_VCT]
        others = [c for c in creds if c.vct not in (DEBT_STATEMENT_VCT, RODE_KNOP_VCT)]
        if others:
            raise PolicyError(
                "unexpected_credential", f"{others[0].vct} does not belong in an arrangement"
            )
        if not statements:
            raise PolicyError("claim_missing", "no debt statement was presented")
        holders = set()
        for c in creds:
            if c.holder is None:
                raise HolderBindingError("holder_mismatch", "a credential is not holder-bound")
            holders.add(Key.from_jwk(c.holder).kid)
        if len(holders) != 1:
            raise HolderBindingError(
                "holder_mismatch", "the credentials are bound to different holder keys"
            )
        subject = _subject(creds)
        debts = [_covered(c) for c in statements]
        seen: set[str] = set()
        for d in debts:
            if d.creditor_oin in seen:
                raise PolicyError("duplicate_creditor", f"two statements from {d.creditor_name}")
            seen.add(d.creditor_oin)
        window = None
        decls = [c for c in creds if c.vct == RODE_KNOP_VCT]
        if decls:
            cl = decls[0].claims
            window = (
                dt.date.fromisoformat(cl["valid_from"]),
                dt.date.fromisoformat(cl["valid_until"]),
            )
        holder = statements[0].holder
        assert holder is not None
        return debts, subject, holder, window

    def propose(
        self,
        vp_token: str | bytes | Mapping[str, Any],
        *,
        nonce: str,
        audience: str,
        monthly_amount: int,
        start_date: dt.date,
        arrangement_id: str,
        arrangement_type: str = "standaard",
        pause: tuple[dt.date, dt.date] | None = None,
        supersedes: str | None = None,
        request: Any | None = None,
        now: float | None = None,
    ) -> Proposal:
        """Verify the citizen's statements and compute the arrangement (see
        :func:`compute_arrangement`). Without an explicit ``pause``, a presented Rode Knop
        declaration's window becomes the pause (reason ``rode_knop``)."""
        debts, subject, holder, window = self.verify_statements(
            vp_token, nonce=nonce, audience=audience, request=request, now=now
        )
        p = None
        if pause is not None:
            p = Pause(
                start_date=pause[0].isoformat(),
                end_date=pause[1].isoformat(),
                reason="counsellor_request",
            )
        elif window is not None:
            p = Pause(
                start_date=window[0].isoformat(), end_date=window[1].isoformat(), reason="rode_knop"
            )
        at = dt.datetime.fromtimestamp(
            int(now if now is not None else dt.datetime.now(dt.UTC).timestamp()), dt.UTC
        )
        oin = self.issuer.issuer_id
        arrangement = compute_arrangement(
            debts,
            monthly_amount=monthly_amount,
            start_date=start_date,
            subject=subject,
            coordinator=Coordinator(
                name=self.issuer.name, oin=oin[8:] if oin.startswith("urn:oin:") else oin
            ),
            arrangement_id=arrangement_id,
            computed_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            arrangement_type=arrangement_type,
            pause=p,
            supersedes=supersedes,
        )
        return Proposal(arrangement=arrangement, holder_jwk=dict(holder), debts=tuple(debts))

    def issue(
        self,
        proposal: Proposal,
        *,
        format: str = "sd-jwt",  # noqa: A002 (as Issuer.issue)
        now: float | None = None,
        valid_days: int | None = None,
        write: Callable[[str], None] | None = None,
    ) -> IssuedCredential:
        """Issue the arrangement to the citizen's holder key (``write`` as in
        :meth:`Issuer.issue`). When it ``supersedes`` an earlier arrangement of this
        coordinator, that one is revoked (status list) once the new one is issued; an unknown
        earlier id is refused before anything is issued."""
        old = proposal.arrangement.supersedes
        if old is not None:
            try:
                record = self.issuer.register.get(old)
            except (PolicyError, StorageError) as e:
                raise PolicyError(
                    "unknown_arrangement", f"{old} is not an arrangement of this coordinator"
                ) from e
            if record.type != PAYMENT_ARRANGEMENT_VCT:
                raise PolicyError("unknown_arrangement", f"{old} is not an arrangement")
        issued = self.issuer.issue(
            proposal.arrangement,
            holder_jwk=proposal.holder_jwk,
            format=format,
            now=now,
            valid_days=valid_days,
            write=write,
        )
        if old is not None:
            self.issuer.revoke(
                old, reason=f"superseded by {issued.credential_id}", actor="arrangement coordinator"
            )
        return issued


@dataclass(frozen=True, kw_only=True)
class CreditorShare:
    """What one creditor learns from a verified arrangement: the always-shown totals and
    schedule start, and its own line.

    Attributes:
        arrangement_id / coordinator / arrangement_type / start_date / pause: the arrangement.
        monthly_amount / total_outstanding: the amounts across all creditors (cents).
        line: this creditor's share, schedule and covered cases.
        other_lines: how many other creditors' lines the citizen chose to disclose.
    """

    arrangement_id: str
    coordinator: str
    arrangement_type: str
    monthly_amount: int
    total_outstanding: int
    start_date: str
    pause: Pause | None
    line: ArrangementLine
    other_lines: int


def creditor_share(credential: VerifiedCredential, creditor_oin: str) -> CreditorShare:
    """The creditor's own share of a verified arrangement (from :meth:`Verifier.verify`).

    Raises ``PolicyError("unexpected_credential")`` for another type,
    ``PolicyError("creditor_line_missing")`` when the creditor's line was not disclosed, and
    ``MalformedError("arrangement_inconsistent")`` when the line's numbers do not agree
    (instalments times share, last instalment, due dates, share above the monthly amount).
    """
    if credential.vct != PAYMENT_ARRANGEMENT_VCT:
        raise PolicyError("unexpected_credential", f"{credential.vct} is not an arrangement")
    cl = credential.claims
    lines = [x for x in cl.get("creditors") or [] if isinstance(x, Mapping)]
    mine = [x for x in lines if x.get("oin") == creditor_oin]
    if len(mine) != 1:
        raise PolicyError(
            "creditor_line_missing", f"the arrangement shows no line for OIN {creditor_oin}"
        )
    try:
        line = ArrangementLine._from_json(mine[0])
        pause = Pause._from_json(cl["pause"]) if "pause" in cl else None
        window = (
            (dt.date.fromisoformat(pause.start_date), dt.date.fromisoformat(pause.end_date))
            if pause is not None
            else None
        )
        line.check_schedule("line", dt.date.fromisoformat(cl["start_date"]), window)
        monthly, total = int(cl["monthly_amount"]), int(cl["total_outstanding"])
    except (InvalidDataError, KeyError, TypeError, ValueError) as e:
        raise MalformedError("arrangement_inconsistent", f"the creditor's line: {e}") from e
    if line.installment_amount > monthly or line.outstanding > total:
        raise MalformedError(
            "arrangement_inconsistent", "the line exceeds the arrangement's totals"
        )
    coord = cl.get("coordinator") or {}
    return CreditorShare(
        arrangement_id=str(cl["arrangement_id"]),
        coordinator=str(coord.get("name", credential.issuer_name)),
        arrangement_type=str(cl.get("arrangement_type")),
        monthly_amount=monthly,
        total_outstanding=total,
        start_date=str(cl["start_date"]),
        pause=pause,
        line=replace(line),
        other_lines=len(lines) - 1,
    )
