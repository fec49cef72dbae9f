"""``rodeknop issue --batch`` end to end, as subprocesses (DESIGN §6, specs/rode-knop-batch.md).

The example CSVs in ``examples/data/batch/`` are dated around 2026-11-22; every test copies them
with all dates shifted by the days passed since then, so a pause window never lies in the past.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blauweknop import Key, key_from_did_jwk, verify_sd_jwt

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = ROOT / "examples" / "data" / "batch"
GEM = "urn:oin:00000001001234567000"
EXAMPLES_DATED = dt.date(2026, 11, 22)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
VALID_IDS = [f"GM0772-RK-2026-{i:04d}" for i in range(901, 911)]


def run(*args: str, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    prog = BIN / args[0]
    assert prog.exists(), f"{prog} missing: is the package installed?"
    p = subprocess.run(
        [str(prog), *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert p.returncode == expect, (
        f"{args}: exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    )
    return p


def shift(value: str, days: int) -> str:
    if days and DATE.fullmatch(value):
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


def copy_examples(dst: Path) -> Path:
    """The example folder (CSV files and holder keys) with every date shifted to stay current."""
    days = max(0, (dt.date.today() - EXAMPLES_DATED).days)
    shutil.copytree(EXAMPLES / "holders", dst / "holders")
    for src in EXAMPLES.glob("*.csv"):
        rows = list(csv.reader(io.StringIO(src.read_text("utf-8"), newline="")))
        buf = io.StringIO(newline="")
        csv.writer(buf, lineterminator="\n").writerows([[shift(v, days) for v in r] for r in rows])
        (dst / src.name).write_text(buf.getvalue(), encoding="utf-8")
    return dst


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"), newline="")))


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def init_home(d: Path, name: str = "gem") -> Path:
    run(
        "rodeknop",
        "init",
        "--home",
        name,
        "--id",
        GEM,
        "--name",
        "Gemeente Eindhoven",
        "--municipality-code",
        "GM0772",
        "--status-uri",
        "https://status.eindhoven.example/rk",
        cwd=d,
    )
    return d / name


def issuer_key(home: Path) -> Key:
    entry = json.loads((home / "trust-entry.json").read_text())
    return Key.from_jwk(entry["jwks"]["keys"][0])


def registered(d: Path, home: str = "gem") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(
        run("rodeknop", "list", "--home", home, "--json", cwd=d).stdout
    )["credentials"]
    return out


def credential_files(out: Path, suffix: str = ".sd-jwt") -> dict[str, Path]:
    return {f.name.removesuffix(suffix): f for f in out.iterdir() if f.name.endswith(suffix)}


def holder_of(row: dict[str, str], base: Path) -> Key:
    value = row["holder_key"]
    if value.startswith("did:jwk:"):
        return key_from_did_jwk(value)
    return Key.from_jwk(json.loads((base / value).read_text()))


def batch(
    d: Path, csv_name: str, out: str, *extra: str, expect: int = 0, home: str = "gem"
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run the batch (text mode, as an operator would) and return the report it wrote."""
    p = run(
        "rodeknop",
        "issue",
        "--home",
        home,
        "--batch",
        csv_name,
        "--out-dir",
        out,
        *extra,
        cwd=d,
        expect=expect,
    )
    return json.loads((d / out / "batch-report.json").read_text()), p


# -- the valid example, first run and rerun -------------------------------------------------
@pytest.fixture(scope="module")
def valid_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = copy_examples(tmp_path_factory.mktemp("batch-valid"))
    home = init_home(d)
    first, p1 = batch(d, "admissions.csv", "out")
    files_after_first = {k: f.read_bytes() for k, f in credential_files(d / "out").items()}
    listed_after_first = registered(d)
    second, p2 = batch(d, "admissions.csv", "out")
    p3 = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--batch",
        "admissions.csv",
        "--out-dir",
        "out",
        "--json",
        cwd=d,
    )
    return {
        "d": d,
        "home": home,
        "first": first,
        "stdout1": p1.stdout,
        "stderr1": p1.stderr,
        "files1": files_after_first,
        "listed1": listed_after_first,
        "second": second,
        "stdout2": p2.stdout,
        "json3": json.loads(p3.stdout),
    }


def test_every_valid_row_is_issued_once(valid_run: dict[str, Any]) -> None:
    d: Path = valid_run["d"]
    assert valid_run["first"] == {
        "issued": VALID_IDS,
        "already_done": [],
        "rejected": [],
        "failed": [],
    }
    assert "issued 10, already done 0, rejected 0, failed 0" in valid_run["stdout1"]
    assert "10 valid row(s), 0 rejected before signing" in valid_run["stderr1"]
    names = sorted(f.name for f in (d / "out").iterdir())
    assert names == sorted([f"{i}.sd-jwt" for i in VALID_IDS] + ["batch-report.json"])


def test_register_lists_each_row_once(valid_run: dict[str, Any]) -> None:
    listed = valid_run["listed1"]
    assert sorted(r["credential_id"] for r in listed) == VALID_IDS
    for r in listed:
        assert (r["state"], r["format"], r["batch_row_key"]) == (
            "valid",
            "dc+sd-jwt",
            r["credential_id"],
        )
        assert r["type"] == "urn:rodeknop:payment-incapacity-declaration:1"
    assert len({(r["list_id"], r["idx"]) for r in listed}) == len(VALID_IDS)
    # BSNs are kept as keyed hashes only
    bsns = [row["bsn"] for row in rows_of(valid_run["d"] / "admissions.csv") if row["bsn"]]
    assert len(bsns) == 5
    assert not any(b in json.dumps(listed) for b in bsns)


def test_each_file_verifies_and_carries_its_row(valid_run: dict[str, Any]) -> None:
    d: Path = valid_run["d"]
    key = issuer_key(valid_run["home"])
    by_id = {r["credential_id"]: r for r in valid_run["listed1"]}
    for row in rows_of(d / "admissions.csv"):
        text = (d / "out" / f"{row['declaration_id']}.sd-jwt").read_text().strip()
        v = verify_sd_jwt(text, issuer_key=key, typ="dc+sd-jwt")
        c = v.claims
        assert c["declaration_id"] == row["declaration_id"]
        assert c["iss"] == GEM
        assert c["municipality"] == {
            "name": "Gemeente Eindhoven",
            "code": "GM0772",
            "oin": "00000001001234567000",
        }
        assert (c["subject"]["family_name"], c["subject"]["given_names"]) == (
            row["family_name"],
            row["given_names"],
        )
        assert c["valid_until"] == row["valid_until"]
        assert c["requested_measures"] == row["requested_measures"].split(";")
        assert c["executing_organisation"]["name"] == row["executing_organisation"]
        assert c["subject"].get("bsn", "") == row["bsn"]
        assert Key.from_jwk(v.holder_jwk or {}) == holder_of(row, d)
        reg = by_id[row["declaration_id"]]
        assert c["status"]["status_list"] == {"idx": reg["idx"], "uri": reg["list_uri"]}
    # UTF-8 names come through intact
    ozturk = verify_sd_jwt(
        (d / "out" / "GM0772-RK-2026-0906.sd-jwt").read_text().strip(),
        issuer_key=key,
        typ="dc+sd-jwt",
    )
    assert ozturk.claims["subject"]["family_name"] == "Öztürk"


def test_rerun_issues_nothing_new(valid_run: dict[str, Any]) -> None:
    d: Path = valid_run["d"]
    assert valid_run["second"] == {
        "issued": [],
        "already_done": VALID_IDS,
        "rejected": [],
        "failed": [],
    }
    assert "issued 0, already done 10" in valid_run["stdout2"]
    again = {k: f.read_bytes() for k, f in credential_files(d / "out").items()}
    assert again == valid_run["files1"]  # nothing signed again
    assert registered(d) == valid_run["listed1"]
    j = valid_run["json3"]
    assert j["ok"] is True and j["issued"] == [] and j["already_done"] == VALID_IDS
    assert j["report"] == str(Path("out") / "batch-report.json")


# -- a file with valid and bad rows -----------------------------------------------------------
EXPECTED_REJECTIONS = {
    3: ("GM0772-RK-2026-0952", "bsn", "bsn: fails the eleven-test"),
    4: ("GM0772-RK-2026-0953", "valid_until", "valid_until: lies before valid_from"),
    5: ("GM0772-RK-2026-0954", "requested_measures", "'stop_all_letters' is not one of"),
    6: ("GM0772-RK-2026-0955", "family_name", "family_name: starts with a formula character"),
    7: ("GM0772-RK-2026-0956", "given_names", "given_names: starts with a formula character"),
    8: (
        "GM0772-RK-2026-0957",
        "executing_organisation",
        "executing_organisation: starts with a formula character",
    ),
    10: ("GM0772-RK-2026-0951", "declaration_id", "declaration_id: duplicate of line 2"),
    11: ("../../etc/x", "declaration_id", "is not an identifier of 1 to 100"),
    12: ("GM0772/../../etc/x", "declaration_id", "must not contain '/'"),
    13: ("GM0772-RK-2026-0962", "holder_key", "path inside the batch folder"),
    14: ("GM0772-RK-2026-0963", "holder_key", "path inside the batch folder"),
    15: (
        "GM0772-RK-2026-0964",
        "counsellor_organisation_phone",
        "counsellor_organisation_phone: starts with a formula character",
    ),
    16: ("GM0772-RK-2026-0965", "family_name", "family_name: required"),
    18: ("GM0772-RK-2026-0967", "postal_code", "postal_code: '56 XX' is not a Dutch postal code"),
    19: ("GM0772-RK-2026-0968", None, "4 fields where the header has 25 columns"),
}


@pytest.fixture(scope="module")
def error_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = copy_examples(tmp_path_factory.mktemp("batch-errors"))
    home = init_home(d)
    report, p = batch(d, "admissions-with-errors.csv", "out", expect=2)
    return {"d": d, "home": home, "report": report, "stdout": p.stdout, "stderr": p.stderr}


def test_bad_rows_are_rejected_and_valid_rows_issued(error_run: dict[str, Any]) -> None:
    r = error_run["report"]
    assert r["issued"] == ["GM0772-RK-2026-0951", "GM0772-RK-2026-0958", "GM0772-RK-2026-0966"]
    assert r["already_done"] == [] and r["failed"] == []
    got = {x["line"]: x for x in r["rejected"]}
    assert sorted(got) == sorted(EXPECTED_REJECTIONS)
    for line, (key, field, text) in EXPECTED_REJECTIONS.items():
        assert (got[line]["row_key"], got[line]["field"]) == (key, field), got[line]
        assert text in got[line]["message"], got[line]
    assert sorted(x["credential_id"] for x in registered(error_run["d"])) == r["issued"]


def test_operator_sees_line_id_field_and_reason(error_run: dict[str, Any]) -> None:
    err, out = error_run["stderr"], error_run["stdout"]
    assert "3 valid row(s), 15 rejected before signing" in err
    assert re.search(r"line 3 +GM0772-RK-2026-0952 +bsn: fails the eleven-test", err)
    assert re.search(r"line 6 +GM0772-RK-2026-0955 +family_name: starts with a formula", err)
    assert re.search(r"line 19 +GM0772-RK-2026-0968 +4 fields where the header has 25", err)
    assert "issued 3, already done 0, rejected 15, failed 0" in out


def test_injection_payloads_are_never_echoed(error_run: dict[str, Any]) -> None:
    report_text = (error_run["d"] / "out" / "batch-report.json").read_text()
    for payload in ("HYPERLINK", "cmd|", "@SUM"):
        assert payload not in report_text
        assert payload not in error_run["stderr"] + error_run["stdout"]


def test_the_first_of_duplicate_rows_wins(error_run: dict[str, Any]) -> None:
    d: Path = error_run["d"]
    text = (d / "out" / "GM0772-RK-2026-0951.sd-jwt").read_text().strip()
    v = verify_sd_jwt(text, issuer_key=issuer_key(error_run["home"]), typ="dc+sd-jwt")
    assert v.claims["counsellor"]["client_reference"] == "SHV-95101"


def test_nothing_is_written_outside_the_out_dir(error_run: dict[str, Any]) -> None:
    d: Path = error_run["d"]
    assert sorted(f.name for f in (d / "out").iterdir()) == [
        "GM0772-RK-2026-0951.sd-jwt",
        "GM0772-RK-2026-0958.sd-jwt",
        "GM0772-RK-2026-0966.sd-jwt",
        "batch-report.json",
    ]
    assert not list(d.rglob("x.sd-jwt")) and not (d / "etc").exists()
    assert not (d.parent / "etc").exists() and not (d.parent.parent / "etc").exists()


# -- whole file refused ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("drop valid_until", "missing column(s): valid_until"),
        ("drop declaration_id", "missing column(s): declaration_id"),
        ("add nickname", "unknown column(s): nickname"),
        ("repeat bsn", "repeated column(s): bsn"),
        ("unclosed quote", "CSV syntax error"),
    ],
)
def test_bad_header_refuses_the_whole_file(tmp_path: Path, change: str, message: str) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    text = (d / "admissions.csv").read_text("utf-8")
    header, body = text.split("\n", 1)
    cols = header.split(",")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    if change.startswith("drop "):
        i = cols.index(change.removeprefix("drop "))
        cols.pop(i)
        for r in rows:
            r.pop(i)
    elif change == "add nickname":
        cols.append("nickname")
        for r in rows:
            r.append("Evi")
    elif change == "repeat bsn":
        cols.append("bsn")
        for r in rows:
            r.append(r[cols.index("bsn")])
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows([cols, *rows])
    data = buf.getvalue()
    if change == "unclosed quote":
        data = data.replace("Bakker", '"Bakker', 1)
    (d / "bad.csv").write_text(data, encoding="utf-8")
    p = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--batch",
        "bad.csv",
        "--out-dir",
        "out",
        cwd=d,
        expect=2,
    )
    assert "error [invalid_data]" in p.stderr and message in p.stderr
    assert not (d / "out").exists()
    assert registered(d) == []
    pj = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--batch",
        "bad.csv",
        "--out-dir",
        "out",
        "--json",
        cwd=d,
        expect=2,
    )
    j = json.loads(pj.stdout)
    assert j["ok"] is False and j["code"] == "invalid_data" and message in j["message"]


def test_usage_errors(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    p = run("rodeknop", "issue", "--home", "gem", "--batch", "admissions.csv", cwd=d, expect=2)
    assert "[bad_usage]" in p.stderr and "--out-dir" in p.stderr
    p = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--batch",
        "admissions.csv",
        "--out-dir",
        "o",
        "--data",
        "x.json",
        cwd=d,
        expect=2,
    )
    assert "[bad_usage]" in p.stderr
    p = run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--batch",
        "missing.csv",
        "--out-dir",
        "o",
        cwd=d,
        expect=2,
    )
    assert "[file_unreadable]" in p.stderr and "cannot read" in p.stderr
    assert registered(d) == [] and not (d / "o").exists()


# -- encodings, line numbers ----------------------------------------------------------------
def test_latin1_row_is_rejected_and_utf8_rows_issued(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:3]
    rows[2]["given_names"] = "Zoë"
    lines = csv_bytes(rows).split(b"\n")
    # line 3 (the second row) re-encoded as Latin-1, the way a spreadsheet saves "ANSI"
    lines[2] = lines[2].replace(b"Yusuf", "André".encode("latin-1"))
    assert b"Andr\xe9" in lines[2]
    (d / "mixed.csv").write_bytes(b"\n".join(lines))
    report, p = batch(d, "mixed.csv", "out", expect=2)
    assert report["issued"] == [VALID_IDS[0], VALID_IDS[2]]
    assert report["rejected"] == [
        {
            "line": 3,
            "row_key": VALID_IDS[1],
            "field": "given_names",
            "message": "given_names: not valid UTF-8 (save the file as UTF-8, not Latin-1/ANSI)",
        }
    ]
    assert "line 3" in p.stderr and "not valid UTF-8" in p.stderr
    v = verify_sd_jwt(
        (d / "out" / f"{VALID_IDS[2]}.sd-jwt").read_text().strip(),
        issuer_key=issuer_key(d / "gem"),
        typ="dc+sd-jwt",
    )
    assert v.claims["subject"]["given_names"] == "Zoë"


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + csv_bytes(rows_of(d / "admissions.csv")[:2]))
    report, _ = batch(d, "bom.csv", "out")
    assert report["issued"] == VALID_IDS[:2]


def test_lines_are_physical_lines(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:3]
    rows[1]["executing_organisation"] = "Schuldhulp Eindhoven\nteam Strijp (fictief)"
    rows[2]["bsn"] = "123456789"
    data = csv_bytes(rows).replace(b"\nGM0772-RK-2026-0902", b"\n\nGM0772-RK-2026-0902", 1)
    (d / "multi.csv").write_bytes(data)
    # line 1 header, 2 row 0901, 3 blank, 4-5 row 0902 (quoted line break), 6 row 0903
    report, _ = batch(d, "multi.csv", "out", expect=2)
    assert report["issued"] == VALID_IDS[:2]
    assert [(r["line"], r["row_key"], r["field"]) for r in report["rejected"]] == [
        (6, VALID_IDS[2], "bsn")
    ]


# -- rows already in the register -----------------------------------------------------------
def test_rerun_into_another_format_or_holder_is_refused(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    home = init_home(d)
    rows = rows_of(d / "admissions.csv")[:3]
    (d / "three.csv").write_bytes(csv_bytes(rows))
    report, _ = batch(d, "three.csv", "out")
    assert report["issued"] == VALID_IDS[:3]
    before = registered(d)
    # the same rows as DI: refused, nothing signed
    report, p = batch(d, "three.csv", "out-di", "--format", "di", expect=2)
    assert report["issued"] == [] and report["already_done"] == []
    assert [(f["row_key"], f["field"]) for f in report["failed"]] == [
        (i, "declaration_id") for i in VALID_IDS[:3]
    ]
    assert all(
        "credential_exists: " in f["message"] and "--format sd-jwt" in f["message"]
        for f in report["failed"]
    )
    assert "failed while issuing" in p.stderr
    assert credential_files(d / "out-di", ".vc.json") == {}
    # a row re-bound to another holder key (its file gone): refused, never re-signed
    rows[1]["holder_key"] = "holders/claes.pub.jwk"
    (d / "three.csv").write_bytes(csv_bytes(rows))
    (d / "out" / f"{VALID_IDS[1]}.sd-jwt").unlink()
    report, _ = batch(d, "three.csv", "out", expect=2)
    assert report["already_done"] == [VALID_IDS[0], VALID_IDS[2]]
    assert [(f["line"], f["row_key"], f["field"]) for f in report["failed"]] == [
        (3, VALID_IDS[1], "holder_key")
    ]
    assert "another holder key" in report["failed"][0]["message"]
    assert not (d / "out" / f"{VALID_IDS[1]}.sd-jwt").exists()
    assert registered(d) == before
    assert issuer_key(home)  # the home is intact


def test_missing_file_is_resigned_with_the_same_index_but_a_revoked_row_is_not(
    tmp_path: Path,
) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    (d / "two.csv").write_bytes(csv_bytes(rows_of(d / "admissions.csv")[:2]))
    batch(d, "two.csv", "out")
    before = {r["credential_id"]: r for r in registered(d)}
    run("rodeknop", "revoke", "--home", "gem", "--reason", "moved away", VALID_IDS[1], cwd=d)
    report, _ = batch(d, "two.csv", "elsewhere", expect=2)
    assert report["issued"] == [VALID_IDS[0]]
    assert [(f["row_key"], f["message"].split(":")[0]) for f in report["failed"]] == [
        (VALID_IDS[1], "illegal_transition")
    ]
    assert sorted(credential_files(d / "elsewhere")) == [VALID_IDS[0]]
    v = verify_sd_jwt(
        (d / "elsewhere" / f"{VALID_IDS[0]}.sd-jwt").read_text().strip(),
        issuer_key=issuer_key(d / "gem"),
        typ="dc+sd-jwt",
    )
    assert v.claims["status"]["status_list"]["idx"] == before[VALID_IDS[0]]["idx"]
    after = {r["credential_id"]: r for r in registered(d)}
    assert after[VALID_IDS[0]]["idx"] == before[VALID_IDS[0]]["idx"]
    assert after[VALID_IDS[1]]["state"] == "revoked"
    assert len(after) == 2


def test_an_id_issued_outside_the_batch_is_refused(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:2]
    decl = json.loads((ROOT / "examples" / "data" / "rode-knop-declaration.json").read_text())
    decl["declaration_id"] = VALID_IDS[1]
    decl["valid_from"] = decl["trajectory_start"] = rows[1]["valid_from"]
    decl["valid_until"] = rows[1]["valid_until"]
    (d / "one.json").write_text(json.dumps(decl))
    run(
        "rodeknop",
        "issue",
        "--home",
        "gem",
        "--holder-key",
        "holders/bakker.pub.jwk",
        "--data",
        "one.json",
        "--out",
        "one.sd-jwt",
        cwd=d,
    )
    (d / "two.csv").write_bytes(csv_bytes(rows))
    report, _ = batch(d, "two.csv", "out", expect=2)
    assert report["issued"] == [VALID_IDS[0]]
    assert report["failed"][0]["row_key"] == VALID_IDS[1]
    assert report["failed"][0]["message"].startswith("credential_exists: ")
    assert "outside a batch" in report["failed"][0]["message"]


# -- path traversal through the library (defence in depth) ------------------------------------
def test_a_slash_id_fails_only_its_row_in_issue_batch(tmp_path: Path) -> None:
    """read_batch rejects '/' in ids; issue_batch must still refuse such a row on its own (via
    safe_output_path) without stopping the other rows or writing outside the out-dir."""
    from blauweknop import Issuer, StorageError
    from blauweknop._files import safe_output_path
    from rodeknop_vc import PaymentIncapacityDeclaration
    from rodeknop_vc._batch import BatchRow, issue_batch, read_batch

    d = copy_examples(tmp_path)
    home = init_home(d)
    with pytest.raises(StorageError) as e:
        safe_output_path(d / "out", "GM0772/../../etc/x.sd-jwt")
    assert e.value.code == "path_traversal"
    iss = Issuer.open(home)
    good, rejected = read_batch(d / "admissions.csv", iss)
    assert rejected == []
    claims = good[0].declaration.to_claims()
    evil = PaymentIncapacityDeclaration.from_claims({**claims, "declaration_id": "GM0772/../../x"})
    rows = [BatchRow(line=2, declaration=evil, holder_jwk=good[0].holder_jwk), good[1]]
    issued, done, failed = issue_batch(iss, rows, d / "out")
    assert (issued, done) == ([VALID_IDS[1]], [])
    assert [(f.row_key, f.message.split(":")[0]) for f in failed] == [
        ("GM0772/../../x", "path_traversal")
    ]
    assert sorted(p.name for p in d.rglob("*.sd-jwt")) == [f"{VALID_IDS[1]}.sd-jwt"]
    assert [r.credential_id for r in iss.register.list()] == [VALID_IDS[1]]


# -- Data Integrity -------------------------------------------------------------------------
def test_di_batch(tmp_path: Path) -> None:
    from blauweknop._di import verify_proof

    d = copy_examples(tmp_path)
    home = init_home(d)
    report, _ = batch(d, "admissions.csv", "out", "--format", "di")
    assert report["issued"] == VALID_IDS
    files = credential_files(d / "out", ".vc.json")
    assert sorted(files) == VALID_IDS
    key = issuer_key(home)
    listed = {r["credential_id"]: r for r in registered(d)}
    for row in rows_of(d / "admissions.csv"):
        doc = json.loads(files[row["declaration_id"]].read_text())
        res = verify_proof(doc, resolve_key=lambda _vm: key)
        assert res.is_base_proof
        assert doc["proof"]["cryptosuite"] == "ecdsa-sd-2023"
        assert doc["issuer"] == GEM
        subject = doc["credentialSubject"]
        assert subject["declaration_id"] == row["declaration_id"]
        assert key_from_did_jwk(subject["id"]) == holder_of(row, d)
        entries = {s["statusPurpose"]: s for s in doc["credentialStatus"]}
        assert set(entries) == {"revocation", "suspension"}
        assert {int(s["statusListIndex"]) for s in entries.values()} == {
            listed[row["declaration_id"]]["idx"]
        }
        assert listed[row["declaration_id"]]["format"] == "ldp_vc"
    report, _ = batch(d, "admissions.csv", "out", "--format", "di")
    assert (report["issued"], report["already_done"]) == ([], VALID_IDS)


def test_international_phone_numbers_are_accepted(tmp_path: Path) -> None:
    """`+31 ...` is a phone number, not a formula; `+` followed by anything else is refused."""
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:2]
    rows[0]["counsellor_organisation_phone"] = "+31 40 238 6000"
    rows[1]["counsellor_organisation_phone"] = "+31+1"
    (d / "phones.csv").write_bytes(csv_bytes(rows))
    report, _ = batch(d, "phones.csv", "out", expect=2)
    assert report["issued"] == [VALID_IDS[0]]
    assert [(r["row_key"], r["field"]) for r in report["rejected"]] == [
        (VALID_IDS[1], "counsellor_organisation_phone")
    ]
    v = verify_sd_jwt(
        (d / "out" / f"{VALID_IDS[0]}.sd-jwt").read_text().strip(),
        issuer_key=issuer_key(d / "gem"),
        typ="dc+sd-jwt",
    )
    assert v.claims["counsellor"]["organisation_phone"] == "+31 40 238 6000"


def test_semicolon_export_from_dutch_excel_is_issued(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:3]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    (d / "excel.csv").write_text(buf.getvalue(), encoding="utf-8")
    report, _ = batch(d, "excel.csv", "out")
    assert report["issued"] == VALID_IDS[:3]
    v = verify_sd_jwt(
        (d / "out" / f"{VALID_IDS[0]}.sd-jwt").read_text().strip(),
        issuer_key=issuer_key(d / "gem"),
        typ="dc+sd-jwt",
    )
    assert v.claims["requested_measures"] == rows[0]["requested_measures"].split(";")


def test_a_window_in_the_past_is_rejected_before_signing(tmp_path: Path) -> None:
    """Issue 11.2: the pre-check runs the issuer's checks; nothing 'fails while issuing'."""
    d = copy_examples(tmp_path)
    init_home(d)
    rows = rows_of(d / "admissions.csv")[:3]
    past = {
        "trajectory_start": (dt.date.today() - dt.timedelta(days=200)).isoformat(),
        "valid_from": (dt.date.today() - dt.timedelta(days=200)).isoformat(),
        "valid_until": (dt.date.today() - dt.timedelta(days=2)).isoformat(),
        "application_date": (dt.date.today() - dt.timedelta(days=230)).isoformat(),
        "admission_decision_date": (dt.date.today() - dt.timedelta(days=210)).isoformat(),
    }
    rows[1].update(past)
    (d / "late.csv").write_bytes(csv_bytes(rows))
    report, p = batch(d, "late.csv", "out", expect=2)
    assert report["issued"] == [VALID_IDS[0], VALID_IDS[2]]
    assert report["failed"] == []
    assert [(r["line"], r["field"]) for r in report["rejected"]] == [(3, "valid_until")]
    assert "lies in the past" in report["rejected"][0]["message"]
    assert "2 valid row(s), 1 rejected before signing" in p.stderr
    assert "failed while issuing" not in p.stderr


def test_credential_files_and_report_are_private(tmp_path: Path) -> None:
    d = copy_examples(tmp_path)
    init_home(d)
    (d / "two.csv").write_bytes(csv_bytes(rows_of(d / "admissions.csv")[:2]))
    batch(d, "two.csv", "new/out")
    out = d / "new" / "out"
    assert oct(out.stat().st_mode & 0o777) == oct(0o700)
    for f in out.iterdir():
        assert oct(f.stat().st_mode & 0o777) == oct(0o600), f


def test_a_symlink_in_the_out_dir_is_never_followed(tmp_path: Path) -> None:
    """Group commit writes the chunk's files without resolving each path: a symbolic link
    planted at a row's output name (pointing outside the out-dir) fails that row
    (``path_traversal``); the link's target is untouched and the other rows are issued."""
    from blauweknop import Issuer
    from rodeknop_vc._batch import issue_batch, read_batch

    d = copy_examples(tmp_path)
    home = init_home(d)
    iss = Issuer.open(home)
    rows, rejected = read_batch(d / "admissions.csv", iss)
    assert rejected == []
    out = d / "out"
    out.mkdir(mode=0o700)
    victim = d / "victim.txt"
    victim.write_text("keep me\n")
    (out / f"{VALID_IDS[0]}.sd-jwt").symlink_to(victim)
    issued, done, failed = issue_batch(iss, rows, out)
    assert issued == VALID_IDS[1:] and done == []
    assert [(f.row_key, f.message.split(":")[0]) for f in failed] == [
        (VALID_IDS[0], "path_traversal")
    ]
    assert victim.read_text() == "keep me\n"
    assert (out / f"{VALID_IDS[0]}.sd-jwt").is_symlink()
    assert [r.credential_id for r in iss.register.list()] == VALID_IDS[1:]  # no index burned


def test_a_failed_sync_confirms_nothing_of_its_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: when the chunk's sync reports a write-back error (EIO, a disk that
    filled while flushing), no row of the chunk is confirmed or reported issued; they stay
    pending and the next run issues them with the same index."""
    import errno

    from blauweknop import Issuer
    from blauweknop._register import _durable
    from rodeknop_vc._batch import issue_batch, read_batch

    d = copy_examples(tmp_path)
    home = init_home(d)
    iss = Issuer.open(home)
    rows, _ = read_batch(d / "admissions.csv", iss)
    monkeypatch.setattr(_durable, "_syncfs", lambda: lambda fd: errno.EIO)
    issued, done, failed = issue_batch(iss, rows, d / "out")
    assert (issued, done) == ([], [])
    assert {f.message.split(":")[0] for f in failed} == {"storage_write_failed"}
    pending = {r.credential_id: r.idx for r in iss.register.list(state="pending")}
    assert sorted(pending) == sorted(VALID_IDS)
    monkeypatch.undo()
    issued, done, failed = issue_batch(iss, rows, d / "out")
    assert (issued, failed) == (VALID_IDS, [])
    assert {r.credential_id: r.idx for r in iss.register.list(state="valid")} == pending
