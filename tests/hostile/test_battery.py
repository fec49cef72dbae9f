"""Run the hostile battery (``cases.py``): every row refused with the library's own error and
its specific code, within a time bound, and for storage rows with nothing lost afterwards.

The time bound is a wall-clock assertion around the attacked call only (2 s unless the row
says otherwise: parse-level rows are bounded tighter, storage rows with a wallet's key
derivation looser); ``pytest-timeout`` stops a row that hangs outright.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile._world import NOW, world
from hostile.cases import (
    CASES,
    CATEGORIES,
    ENTRIES,
    STORAGE,
    Case,
    Ctx,
    register_intact,
    register_with_rows,
    wallet_intact,
    wallet_with_records,
)

from blauweknop import BlauweKnopError

#: A row that hangs is stopped here (the wall-clock bounds below are much tighter).
HANG_GUARD_SECONDS = 60


def _missing_capability(name: str, tmp: Path) -> str | None:
    """Why ``name`` is unavailable here, or ``None`` when it works."""
    if name == "chattr":
        if shutil.which("chattr") is None:
            return "chattr is not installed"
        probe = tmp / "chattr-probe"
        probe.write_bytes(b"x")
        res = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, check=False)
        if res.returncode != 0:
            return f"chattr +i does not work here: {res.stderr.decode(errors='replace').strip()}"
        subprocess.run(["chattr", "-i", str(probe)], check=False)
        return None
    raise AssertionError(f"unknown capability {name!r}")


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=pytest.mark.timeout(HANG_GUARD_SECONDS)) for c in CASES],
)
def test_hostile_input_is_refused(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if case.needs is not None and (reason := _missing_capability(case.needs, tmp_path)):
        pytest.skip(reason)
    if case.category != STORAGE:
        # verification is offline: any socket use at all fails the row (conftest.no_network)
        request.getfixturevalue("no_network")
    ctx = Ctx(world(), tmp_path)
    try:
        hostile = case.build(ctx)
        attack = ENTRIES[case.entry]
        started = time.monotonic()
        with pytest.raises(BlauweKnopError) as caught:
            attack(ctx, hostile)
        elapsed = time.monotonic() - started
        err = caught.value
        assert (type(err), err.code) == (case.error, case.code), (
            f"{case.id}: got {type(err).__name__}({err.code}): {err.message}"
        )
        assert err.message, "every refusal explains itself"
        assert elapsed < case.seconds, f"{case.id}: refused only after {elapsed:.2f} s"
        if case.after is not None:
            case.after(ctx, hostile)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()


# ------------------------------------------------------------------------------------------
# The table itself, and controls showing the refusals do not come from a broken baseline
# ------------------------------------------------------------------------------------------
def test_battery_covers_every_category() -> None:
    counts = Counter(c.category for c in CASES)
    assert len(CASES) >= 60
    assert set(counts) == set(CATEGORIES), counts
    assert min(counts.values()) >= 5, counts
    assert len({c.id for c in CASES}) == len(CASES)
    for c in CASES:
        assert c.description and c.source and c.entry in ENTRIES, c.id
        assert c.code and issubclass(c.error, BlauweKnopError), c.id


def test_control_honest_presentations_verify() -> None:
    w = world()
    for name in ("stmt", "stmt_duo", "decl"):
        (cred,) = w.verify(w.vp(w.present(name))).credentials
        assert cred.status == "valid"
    (di,) = w.verify({"q": [w.di["vp"]]}).credentials
    assert di.status == "valid" and di.format == "ldp_vc"
    both = {
        "payment_incapacity_declaration": [w.present("decl")],
        "debt_statements": [w.present("stmt"), w.present("stmt_duo")],
    }
    assert len(w.verify(both, request=w.request).credentials) == 3


def test_control_resigned_but_unchanged_token_verifies() -> None:
    """The re-signing helper alone breaks nothing: faults come from the change under test."""
    w = world()
    token = w.resign("stmt", payload=lambda p: None, header=lambda h: None)
    assert token != w.creds["stmt"]  # a fresh signature
    w.verify(w.vp(w.bind(token)))


def test_control_storage_states_pass_their_checks(tmp_path: Path) -> None:
    ctx = Ctx(world(), tmp_path)
    wallet = wallet_with_records(ctx)
    assert len(wallet.records) == 2
    wallet_intact(ctx, wallet)
    register = register_with_rows(ctx)
    register_intact(ctx, register)


def test_user_chosen_output_paths_are_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decision: ``--out`` is the operator's own path, so ``--out ../x`` writes there (the CLI
    runs with the operator's rights; refusing '..' would add nothing). Names the library
    *generates* inside ``--out-dir`` never escape it (rows ``batch-generated-name-*``)."""
    from blauweknop_cli.main import blauweknop

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    res = CliRunner().invoke(blauweknop, ["keys", "generate", "--out", "../chosen.jwk"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "chosen.jwk").exists() and (tmp_path / "chosen.pub.jwk").exists()
    assert (tmp_path / "chosen.jwk").stat().st_mode & 0o077 == 0


def test_now_is_the_pilot_day() -> None:
    assert time.strftime("%Y-%m-%d", time.gmtime(NOW)) == "2026-11-22"
