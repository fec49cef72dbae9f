"""Issue 17: area signals. Issuers record a PC4 per credential subject in their register (never
in the credential); the monthly area report counts people per area with small-cell and
secondary suppression (and optional noise), signed and verified offline; the combiner counts
distinct people over keyed pseudonyms. Ground truth comes from the fictional population."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from area_world import AFTER, PARTY, PERIOD, AreaWorld, build_area_world, population
from jwcrypto import jwe, jwk
from scheme import PILOT_NOW, STRANGER_ORG

from blauweknop import (
    BlauweKnopError,
    InvalidDataError,
    Key,
    MalformedError,
    PolicyError,
    SignatureError,
    TrustError,
)
from blauweknop.area import (
    COMBINED_MEASURES,
    MEASURES,
    TOTAL,
    Pseudonymiser,
    area_report,
    combine,
    period_snapshot,
    render_chart,
    signed_extract,
    verify_area_report,
)
from blauweknop.debt import DebtStatement


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AreaWorld]:
    yield build_area_world(tmp_path_factory.mktemp("area"), 120)


def truth(world: AreaWorld, slot: str) -> dict[str, dict[str, int]]:
    """People per area and measure as the population says (before suppression)."""
    out: dict[str, dict[str, int]] = {}
    for p in world.people:
        row = out.setdefault(p.pc4, dict.fromkeys(MEASURES, 0))
        if slot == "gem" and p.rode_knop:
            row["rode_knop"] += 1
        amount, arrears = {"cjib": (p.cjib, p.cjib_arrears), "duo": (p.duo, p.duo_arrears)}.get(
            slot, (0, False)
        )
        if amount:
            row["outstanding"] += 1
            row["arrears"] += arrears
            band = next(
                b
                for b, lo, hi in (
                    ("band_lt_1000", 1, 100_000),
                    ("band_1000_5000", 100_000, 500_000),
                    ("band_5000_20000", 500_000, 2_000_000),
                    ("band_ge_20000", 2_000_000, 10**12),
                )
                if lo <= amount < hi
            )
            row[band] += 1
    return out


def groups_hold(areas: dict[str, dict[str, int | None]], measures: tuple[str, ...]) -> None:
    """No sum has exactly one withheld cell (so none can be recovered by subtraction)."""
    rows = [r for r in areas if r != TOTAL]
    sums = [[(r, m) for r in (*rows, TOTAL)] for m in measures]
    if "band_lt_1000" in measures:
        bands = [m for m in measures if m.startswith("band_")]
        sums += [[(r, b) for b in bands] + [(r, "outstanding")] for r in (*rows, TOTAL)]
    for cells in sums:
        hidden = sum(1 for r, m in cells if areas[r][m] is None)
        assert hidden != 1, cells


@pytest.mark.parametrize("slot", ["gem", "cjib", "duo"])
def test_published_counts_are_the_true_counts_and_small_cells_are_withheld(
    world: AreaWorld, slot: str
) -> None:
    report = area_report(world.issuers[slot], PERIOD, now=AFTER)
    expected = truth(world, slot)
    assert set(report.areas) == {*expected, TOTAL}
    withheld = 0
    for pc4, row in expected.items():
        for m, n in row.items():
            got = report.areas[pc4][m]
            if got is None:
                withheld += 1
                continue
            assert got == n
            assert n == 0 or n >= report.k  # nothing below k is published
    for m in MEASURES:
        total = sum(r[m] for r in expected.values())
        assert report.areas[TOTAL][m] in (None, total)
    groups_hold(report.areas, MEASURES)
    assert withheld > 0  # the fixture has small cells: the test can fail


def test_a_report_is_of_a_stable_snapshot(world: AreaWorld, tmp_path: Path) -> None:
    """Two reports of the same period are identical even when people were added and a
    credential revoked after the snapshot: nothing to difference."""
    w = build_area_world(tmp_path, 40)
    before = area_report(w.scheme.cjib, PERIOD, now=AFTER)
    later = period_snapshot(PERIOD) + 3600
    for issuer in w.issuers.values():
        issuer.register._clock = lambda: later  # type: ignore[attr-defined]
    extra = population(15, seed=99)
    holder = Key.generate().public_jwk()
    from area_world import statement
    from scheme import CJIB_ORG

    for n, p in enumerate(extra, start=5000):
        w.scheme.cjib.issue(
            statement(CJIB_ORG, p, n, 150_000, True),
            holder_jwk=holder,
            now=PILOT_NOW,
            area="5611",
            valid_days=90,
        )
    first = next(n for n, p in enumerate(w.people) if p.cjib)
    w.scheme.cjib.revoke(f"CJIB-P{first:05d}", reason="test", actor="t")
    again = area_report(w.scheme.cjib, PERIOD, now=AFTER + 86400)
    assert again.areas == before.areas
    # the next period sees the 15 added people (the others' statements have expired by then)
    december = area_report(w.scheme.cjib, "2026-12", now=period_snapshot("2026-12") + 1)
    assert december.areas["5611"]["outstanding"] == 15


def test_a_period_that_has_not_ended_is_refused(world: AreaWorld) -> None:
    with pytest.raises(InvalidDataError) as info:
        area_report(world.scheme.cjib, PERIOD, now=period_snapshot(PERIOD) - 1)
    assert info.value.code == "period_not_ended"
    with pytest.raises(InvalidDataError) as info:
        period_snapshot("2026-13")
    assert info.value.field == "period"


def _payload(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _with_payload(token: str, payload: dict[str, object]) -> str:
    h, _, s = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{h}.{body}.{s}"


def test_a_signed_report_verifies_offline_and_an_altered_one_is_refused(world: AreaWorld) -> None:
    report = area_report(world.scheme.duo, PERIOD, now=AFTER)
    token = report.sign(world.scheme.duo)
    got = verify_area_report(token, world.scheme.trust, now=AFTER)
    assert got.areas == report.areas and got.issuer_name == "DUO"
    payload = _payload(token)
    areas = payload["areas"]
    assert isinstance(areas, dict)
    pc4 = next(a for a in areas if a != TOTAL and areas[a]["outstanding"] is not None)
    areas[pc4]["outstanding"] += 1
    with pytest.raises(SignatureError):
        verify_area_report(_with_payload(token, payload), world.scheme.trust, now=AFTER)
    # another typ, or a report by an organisation the trust list does not hold
    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert head["typ"] == "area-report+jwt"
    with pytest.raises(MalformedError) as info:
        verify_area_report("a.b.c", world.scheme.trust, now=AFTER)
    from blauweknop._jws import sign_compact

    wrong = sign_compact(
        {"typ": "statuslist+jwt", "kid": world.scheme.duo.signer.kid},
        json.dumps(_payload(token)).encode(),
        world.scheme.duo.signer,
    )
    with pytest.raises(MalformedError) as info:
        verify_area_report(wrong, world.scheme.trust, now=AFTER)
    assert info.value.code == "typ_mismatch"
    stranger = STRANGER_ORG.init(world.scheme.root / "stranger-area")
    forged = area_report(stranger, PERIOD, now=AFTER).sign(stranger)
    with pytest.raises(TrustError):
        verify_area_report(forged, world.scheme.trust, now=AFTER)


def test_a_trusted_issuer_cannot_publish_a_cell_below_k(world: AreaWorld) -> None:
    from dataclasses import replace

    report = area_report(world.scheme.cjib, PERIOD, now=AFTER)
    pc4 = next(a for a in report.areas if a != TOTAL)
    bad = replace(
        report, areas={**report.areas, pc4: {**report.areas[pc4], "outstanding": 3}}
    ).sign(world.scheme.cjib)
    with pytest.raises(MalformedError) as info:
        verify_area_report(bad, world.scheme.trust, now=AFTER)
    assert info.value.code == "area_report_malformed"


def _bsn_candidates(bsn: str) -> set[str]:
    """What a BSN could leak as: itself, unkeyed hashes, HMACs under keys other than the
    party's (the old shared scheme link key among them), in hex and base64url."""
    raw = bsn.encode()
    digests = [
        hashlib.sha256(raw).digest(),
        hashlib.sha256(b"bsn:" + raw).digest(),
        hashlib.sha1(raw).digest(),  # noqa: S324 (looked for, not used)
        hmac.new(bytes(range(32)), b"bsn:" + raw, hashlib.sha256).digest(),
        hmac.new(b"", raw, hashlib.sha256).digest(),
    ]
    out = {bsn}
    for d in digests:
        out |= {d.hex(), base64.urlsafe_b64encode(d).rstrip(b"=").decode()}
    return out


def _area_signal_rows(world: AreaWorld) -> list[str]:
    """The register's area_signals table as stored (every column)."""
    out = []
    for issuer in world.issuers.values():
        with sqlite3.connect(issuer.home / "register.sqlite") as c:
            out.append(json.dumps(c.execute("SELECT * FROM area_signals").fetchall()))
    return out


def test_no_bsn_or_hash_of_a_bsn_appears_in_any_report(world: AreaWorld) -> None:
    pp = PARTY
    reports = [area_report(i, PERIOD, now=AFTER).sign(i) for i in world.issuers.values()]
    extracts = [signed_extract(i, PERIOD, now=AFTER) for i in world.issuers.values()]
    combined = combine([pp.apply(e, world.scheme.trust, now=AFTER) for e in extracts])
    public = "\n".join(
        [*(json.dumps(_payload(r)) for r in reports), json.dumps(combined.to_json())]
    )
    pseudonymised = json.dumps(
        [
            [r[0], sorted(r[1]), r[2]]
            for e in extracts
            for r in pp.apply(e, world.scheme.trust, now=AFTER).rows
        ]
    )
    register = _area_signal_rows(world)
    sealed = {
        row["sealed_bsn"]
        for i in world.issuers.values()
        for row in i.register.area_snapshot(period_snapshot(PERIOD))
    }
    assert None not in sealed  # every person had a BSN and the issuers the party's key
    assert all(str(v).count(".") == 4 for v in sealed)  # compact JWEs
    register_hashes = {
        row["bsn_hash"]
        for i in world.issuers.values()
        for row in i.register.area_snapshot(period_snapshot(PERIOD))
    }
    extract_texts = [json.dumps(_payload(e)) for e in extracts]
    for p in world.people:
        for f in _bsn_candidates(p.bsn):
            for text in (public, *register, *extract_texts, pseudonymised):
                assert f not in text
        # the party's pseudonym exists only after the party: not in the register or extract
        mine = pp.pseudonym(p.bsn)
        assert all(mine not in text for text in (*register, *extract_texts, public))
    for h in register_hashes | sealed:
        assert h not in public  # the public figures hold no per-person value at all
        assert h not in pseudonymised  # the combiner sees pseudonyms only
    for h in register_hashes:
        assert all(h not in text for text in extract_texts)


def test_an_issuer_with_its_register_and_a_bsn_list_cannot_link(world: AreaWorld) -> None:
    """Sealing is randomised: one BSN sealed in several records (at one issuer or several)
    gives unrelated values, and sealing a guessed BSN again never reproduces a stored one."""
    at = period_snapshot(PERIOD)
    by_issuer = {s: i.register.area_snapshot(at) for s, i in world.issuers.items()}
    values = [str(r["sealed_bsn"]) for rows in by_issuer.values() for r in rows]
    assert len(values) == len(set(values))  # every record different
    both = [p for p in world.people if p.cjib and p.duo]
    assert both  # the same BSN at CJIB and DUO
    # the same BSN twice at one issuer: a second statement
    p = both[0]
    cjib = world.scheme.cjib
    again = statement_for(p, 9999)
    cjib.issue(again, holder_jwk=Key.generate().public_jwk(), now=PILOT_NOW, area=p.pc4)
    rows = [r for r in cjib.register.area_snapshot(2**40) if r["bsn_hash"] is not None]
    per_bsn: dict[str, list[str]] = {}
    for r in rows:
        per_bsn.setdefault(str(r["bsn_hash"]), []).append(str(r["sealed_bsn"]))
    twice = [v for v in per_bsn.values() if len(v) >= 2]
    assert twice and all(len(set(v)) == len(v) for v in twice)
    # an issuer sealing its BSN list again (all it can do with the public key) matches nothing
    from blauweknop._register._areas import seal_bsn

    guesses = {seal_bsn(q.bsn, PARTY.public_jwk()) for q in world.people}
    assert not guesses & {str(r["sealed_bsn"]) for r in rows}
    # and it cannot open them with any key it holds
    stored = str(rows[0]["sealed_bsn"])
    with pytest.raises(PolicyError) as info:
        Pseudonymiser.generate().apply(_extract_with(world, stored), world.scheme.trust, now=AFTER)
    assert info.value.code == "jwe_key_unknown"


def statement_for(p: object, n: int) -> DebtStatement:
    from area_world import statement
    from scheme import CJIB_ORG

    return statement(CJIB_ORG, p, n, 25_000, True)  # type: ignore[arg-type]


def _extract_with(world: AreaWorld, *sealed: object) -> str:
    """A CJIB extract (signed by CJIB, so trusted) whose first rows carry ``sealed``."""
    from blauweknop._jws import sign_compact

    cjib = world.scheme.cjib
    payload = _payload(signed_extract(cjib, PERIOD, now=AFTER))
    rows = payload["rows"]
    assert isinstance(rows, list)
    for n, v in enumerate(sealed):
        rows[n]["sealed_bsn"] = v
    header = {"typ": "area-extract+jwt", "kid": cjib.signer.kid}
    return sign_compact(header, json.dumps(payload).encode(), cjib.signer)


def _seal(plain: bytes, alg: str, enc: str, party: Pseudonymiser = PARTY) -> str:
    pub = party.public_jwk()
    key = jwk.JWK(kty="EC", crv="P-256", x=pub["x"], y=pub["y"])
    box = jwe.JWE(plain, protected=json.dumps({"alg": alg, "enc": enc, "kid": pub["kid"]}))
    box.add_recipient(key)
    out: str = box.serialize(compact=True)
    return out


@pytest.mark.parametrize(
    ("sealed", "code"),
    [
        (lambda: _seal(b"999999990", "ECDH-ES+A256KW", "A256GCM"), "jwe_alg_not_allowed"),
        (lambda: _seal(b"999999990", "ECDH-ES", "A128CBC-HS256"), "jwe_enc_not_allowed"),
        (lambda: _seal(b"123456789", "ECDH-ES", "A256GCM"), "area_report_malformed"),
        (lambda: _seal(b"99999999", "ECDH-ES", "A256GCM"), "area_report_malformed"),
        (lambda: _seal(b"999999990 ", "ECDH-ES", "A256GCM"), "area_report_malformed"),
        # sealed to another party's key: its own kid, or our kid on another key
        (
            lambda: _seal(b"999999990", "ECDH-ES", "A256GCM", Pseudonymiser.generate()),
            "jwe_key_unknown",
        ),
        (lambda: _forged_kid(), "jwe_invalid"),
        (lambda: "not.a.jwe", "jwe_invalid"),
        (lambda: 42, "jwe_invalid"),
    ],
)
def test_the_party_refuses_what_is_not_a_bsn_sealed_to_it(
    world: AreaWorld, sealed: Callable[[], object], code: str
) -> None:
    token = _extract_with(world, sealed())
    with pytest.raises(BlauweKnopError) as info:
        PARTY.apply(token, world.scheme.trust, now=AFTER)
    assert info.value.code == code
    # A128GCM is accepted, and the same extract with a good value passes
    ok = PARTY.apply(
        _extract_with(world, _seal(b"999999990", "ECDH-ES", "A128GCM")),
        world.scheme.trust,
        now=AFTER,
    )
    assert ok.rows[0][2] == PARTY.pseudonym("999999990") or any(
        r[2] == PARTY.pseudonym("999999990") for r in ok.rows
    )


def _forged_kid() -> str:
    other = Pseudonymiser.generate()
    token = _seal(b"999999990", "ECDH-ES", "A256GCM", other)
    h, *rest = token.split(".")
    head = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    head["kid"] = PARTY.public_jwk()["kid"]
    # the header is the AAD: rewriting it also breaks the tag, and the key is not ours anyway
    h2 = base64.urlsafe_b64encode(json.dumps(head).encode()).rstrip(b"=").decode()
    return ".".join([h2, *rest])


def test_an_altered_extract_is_refused(world: AreaWorld) -> None:
    token = signed_extract(world.scheme.duo, PERIOD, now=AFTER)
    payload = _payload(token)
    rows = payload["rows"]
    assert isinstance(rows, list)
    rows[0]["measures"] = sorted({*rows[0]["measures"], "arrears"} ^ {"rode_knop"})
    with pytest.raises(SignatureError):
        PARTY.apply(_with_payload(token, payload), world.scheme.trust, now=AFTER)
    rows.append(dict(rows[1]))  # a person counted twice
    with pytest.raises(SignatureError):
        PARTY.apply(_with_payload(token, payload), world.scheme.trust, now=AFTER)


def test_an_issuer_refuses_a_private_party_key_and_issues_nothing(tmp_path: Path) -> None:
    w = build_area_world(tmp_path, 0)
    cjib = w.scheme.cjib
    (cjib.home / "area-party.pub.jwk").write_text(json.dumps(PARTY.private_jwk()))
    p = population(1)[0]
    with pytest.raises(InvalidDataError) as info:
        cjib.issue(
            statement_for(p, 1), holder_jwk=Key.generate().public_jwk(), now=PILOT_NOW, area="5611"
        )
    assert "private" in info.value.message
    assert cjib.register.area_snapshot(2**40) == []
    assert list(cjib.register.list()) == []


def test_the_combiner_counts_distinct_people_and_arrears_at_two_creditors(
    world: AreaWorld,
) -> None:
    pp = PARTY
    extracts = [
        pp.apply(signed_extract(i, PERIOD, now=AFTER), world.scheme.trust, now=AFTER)
        for i in world.issuers.values()
    ]
    combined = combine(extracts, k=2)
    for pc4 in {p.pc4 for p in world.people}:
        here = [p for p in world.people if p.pc4 == pc4]
        want = {
            "rode_knop": sum(p.rode_knop for p in here),
            "outstanding": sum(bool(p.cjib or p.duo) for p in here),
            "arrears": sum(
                bool((p.cjib and p.cjib_arrears) or (p.duo and p.duo_arrears)) for p in here
            ),
            "arrears_2plus": sum(
                bool(p.cjib and p.cjib_arrears and p.duo and p.duo_arrears) for p in here
            ),
        }
        for m, n in want.items():
            assert combined.areas[pc4][m] in (None, n)
    assert any(combined.areas[a]["arrears_2plus"] for a in combined.areas if a != TOTAL)
    groups_hold(combined.areas, COMBINED_MEASURES)


def test_differencing_an_issuer_report_and_the_combined_report_reveals_no_small_count(
    world: AreaWorld,
) -> None:
    """Overlapping populations: the combined report covers CJIB's people and DUO's. Where DUO
    contributes 1..k-1 people to a cell, the combined cell is withheld, so combined minus
    CJIB's published figure never yields DUO's small count."""
    pp = PARTY
    k = 10
    ex = {
        s: pp.apply(signed_extract(i, PERIOD, now=AFTER), world.scheme.trust, now=AFTER)
        for s, i in world.issuers.items()
    }
    combined = combine([ex["cjib"], ex["duo"]], k=k)
    duo_truth = truth(world, "duo")
    checked = 0
    for pc4, row in duo_truth.items():
        for m in ("outstanding", "arrears"):
            if 0 < row[m] < k:
                assert combined.areas[pc4][m] is None, (pc4, m)
                checked += 1
    assert checked > 0


def test_noise_is_seedable_and_stated_and_still_suppressed(world: AreaWorld) -> None:
    a = area_report(world.scheme.cjib, PERIOD, now=AFTER, epsilon=0.5, rng=random.Random(1))
    b = area_report(world.scheme.cjib, PERIOD, now=AFTER, epsilon=0.5, rng=random.Random(1))
    exact = area_report(world.scheme.cjib, PERIOD, now=AFTER)
    assert a.areas == b.areas and a.epsilon == 0.5
    assert a.areas != exact.areas
    groups_hold(a.areas, MEASURES)
    token = a.sign(world.scheme.cjib)
    assert verify_area_report(token, world.scheme.trust, now=AFTER).epsilon == 0.5
    with pytest.raises(InvalidDataError):
        area_report(world.scheme.cjib, PERIOD, now=AFTER, epsilon=-1)


def test_the_area_is_never_in_the_credential_and_a_bad_area_issues_nothing(
    world: AreaWorld,
) -> None:
    holder = Key.generate().public_jwk()
    claims = json.loads((Path("examples/data/debt-statement.json")).read_text())
    claims["statement_id"] = "CJIB-AREA-1"
    cred = world.scheme.cjib.issue(
        DebtStatement.from_claims(claims), holder_jwk=holder, now=PILOT_NOW, area="5611"
    )
    assert "5611" not in cred.text and "pc4" not in cred.text
    claims["statement_id"] = "CJIB-AREA-2"
    with pytest.raises(InvalidDataError) as info:
        world.scheme.cjib.issue(
            DebtStatement.from_claims(claims), holder_jwk=holder, now=PILOT_NOW, area="0611"
        )
    assert info.value.field == "area"
    with pytest.raises(PolicyError):  # the register knows no such credential
        world.scheme.cjib.register.get("CJIB-AREA-2")


def test_the_chart_is_written_as_png_and_svg(world: AreaWorld, tmp_path: Path) -> None:
    pp = PARTY
    combined = combine(
        [
            pp.apply(signed_extract(i, PERIOD, now=AFTER), world.scheme.trust, now=AFTER)
            for i in world.issuers.values()
        ]
    )
    png, svg = render_chart(combined, tmp_path / "areas")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in svg.read_bytes()


def test_a_batch_row_records_its_pc4_and_a_bad_one_is_rejected(tmp_path: Path) -> None:
    import csv
    import shutil

    from scheme import GEMEENTE_EINDHOVEN

    from rodeknop_vc import issue_batch, read_batch

    src = Path("examples/data/batch")
    shutil.copytree(src / "holders", tmp_path / "holders")
    with (src / "admissions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:2]
    rows[0]["pc4"], rows[1]["pc4"] = "5612", "561"
    today = dt.date.today()  # issue_batch reads the real clock: a window around today
    for r in rows:
        r["trajectory_start"] = r["valid_from"] = str(today)
        r["valid_until"] = str(today + dt.timedelta(days=119))
        r["application_date"] = r["admission_decision_date"] = str(today)
    with (tmp_path / "rows.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    gem = GEMEENTE_EINDHOVEN.init(tmp_path / "gem")
    gem.register._clock = lambda: PILOT_NOW  # type: ignore[attr-defined]
    good, rejected = read_batch(tmp_path / "rows.csv", gem, now=PILOT_NOW)
    assert [r.field for r in rejected] == ["pc4"]
    assert [r.area for r in good] == ["5612"]
    issued, _, failed = issue_batch(gem, good, tmp_path / "out")
    assert issued and not failed
    (row,) = gem.register.area_snapshot(int(AFTER))
    assert (row["credential_id"], row["pc4"]) == (good[0].key, "5612")
    assert "5612" not in (tmp_path / "out" / f"{good[0].key}.sd-jwt").read_text()


def test_the_pilot_population_combines_to_the_same_figures(tmp_path: Path) -> None:
    """The pilot's people (examples/data/area-population.csv) issued with sealed BSNs: the
    party's pseudonyms link exactly the people the CSV says, so ``arrears_2plus`` per area is
    the population's (14 in all, what the pilot printed with the earlier link values)."""
    import csv

    from area_world import Person, install_party_key, issue_population
    from scheme import Scheme

    csv_path = Path(__file__).resolve().parents[2] / "examples" / "data" / "area-population.csv"
    with csv_path.open(newline="") as fh:
        people = [
            Person(
                bsn=r["bsn"],
                pc4=r["pc4"],
                cjib=int(r["cjib_outstanding"]),
                cjib_arrears=int(r["cjib_in_arrears"]) > 0,
                duo=int(r["duo_outstanding"]),
                duo_arrears=int(r["duo_in_arrears"]) > 0,
                rode_knop=r["rode_knop"] == "1",
            )
            for r in csv.DictReader(fh)
        ]
    scheme = Scheme.build(tmp_path, status_cache=False)
    for issuer in (scheme.gem, scheme.cjib, scheme.duo):
        install_party_key(issuer)
    issue_population(scheme, people)
    done = [
        PARTY.apply(signed_extract(i, PERIOD, now=AFTER), scheme.trust, now=AFTER)
        for i in (scheme.gem, scheme.cjib, scheme.duo)
    ]
    want: dict[str, int] = {}
    for p in people:
        both = bool(p.cjib and p.cjib_arrears and p.duo and p.duo_arrears)
        want[p.pc4] = want.get(p.pc4, 0) + both
    assert sum(want.values()) == 14
    # exact, before suppression: distinct pseudonyms with arrears at two issuers per area
    at: dict[tuple[str, str], set[str]] = {}
    for e in done:
        for pc4, measures, pseudonym in e.rows:
            assert pseudonym is not None
            if "arrears" in measures:
                at.setdefault((pc4, pseudonym), set()).add(e.issuer)
    got: dict[str, int] = dict.fromkeys(want, 0)
    for (pc4, _), issuers in at.items():
        got[pc4] += len(issuers) >= 2
    assert got == want
    combined = combine(done, k=5)
    assert combined.areas[TOTAL]["arrears_2plus"] == 14
    for pc4, n in want.items():
        assert combined.areas[pc4]["arrears_2plus"] in (None, n)
