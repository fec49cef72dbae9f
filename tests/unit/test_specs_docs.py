"""The field tables in ``specs/*.md`` stay true to the type metadata and JSON Schemas.

Each credential page has one Markdown table whose first header cell is ``Claim path``. Its
rows are parsed and compared with ``specs/type-metadata/*.json`` (every claim path, its ``sd``
value as disclosure class A/SD, its Dutch label) and ``specs/schemas/*.schema.json`` (every
property, its JSON type and whether it is required). Rows for claims that exist in neither file
are refused, so a renamed claim cannot linger in the docs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rodeknop_vc._batch import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"

#: page -> (type metadata, schema)
PAGES = {
    "debt-statement.md": ("debt-statement.json", "debt-statement.schema.json"),
    "rode-knop-declaration.md": ("rode-knop-declaration.json", "rode-knop-declaration.schema.json"),
}
SD_CLASS = {"never": "A", "always": "SD", "allowed": "SD"}
IN_PARENT = "in parent"
TECHNICAL = {"iss", "iat", "nbf", "exp", "vct", "cnf", "status"}

Path_ = tuple[str | None, ...]


# -- Markdown parsing -----------------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    """Split a table row on unescaped pipes; strip the outer pipes and whitespace."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip() for p in parts[1:-1]]


def tables(text: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Every Markdown table outside fenced code blocks: (header cells, body rows)."""
    lines = text.splitlines()
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif (
            not in_fence
            and line.lstrip().startswith("|")
            and i + 1 < len(lines)
            and re.fullmatch(r"\s*\|(\s*:?-+:?\s*\|)+\s*", lines[i + 1])
        ):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            yield header, rows
            continue
        i += 1


def table_with(text: str, first_header: str) -> tuple[list[str], list[list[str]]]:
    found = [t for t in tables(text) if t[0] and t[0][0] == first_header]
    assert len(found) == 1, (
        f"expected exactly one table headed {first_header!r}, found {len(found)}"
    )
    return found[0]


def code_cell(cell: str) -> str:
    m = re.fullmatch(r"`([^`]+)`", cell)
    assert m, f"first cell must be one `code` span: {cell!r}"
    return m.group(1)


# -- the JSON files -------------------------------------------------------------------------------
def dotted(path: Path_) -> str:
    """``("cases", None, "components")`` -> ``cases[].components``."""
    out = ""
    for p in path:
        out += "[]" if p is None else ("." if out else "") + p
    return out


def load(name: str, folder: str) -> dict[str, Any]:
    data = json.loads((SPECS / folder / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def schema_paths(schema: dict[str, Any]) -> dict[Path_, tuple[dict[str, Any], bool | None]]:
    """Every property (and array element) path: (resolved schema node, required in parent).

    Array elements get ``None`` for "required": they are not properties.
    """
    out: dict[Path_, tuple[dict[str, Any], bool | None]] = {}

    def walk(node: dict[str, Any], path: Path_) -> None:
        node = _resolve(schema, node)
        required = set(node.get("required", ()))
        for name, sub in node.get("properties", {}).items():
            p = (*path, name)
            out[p] = (_resolve(schema, sub), name in required)
            walk(sub, p)
        if "items" in node:
            p = (*path, None)
            out[p] = (_resolve(schema, node["items"]), None)
            walk(node["items"], p)

    walk(schema, ())
    return out


def json_type(node: dict[str, Any]) -> str:
    if "type" in node:
        return str(node["type"])
    values = [node["const"]] if "const" in node else node.get("enum", [])
    kinds = {
        "boolean" if isinstance(v, bool) else "integer" if isinstance(v, int) else "string"
        for v in values
    }
    assert len(kinds) == 1, f"cannot name one JSON type for {node}"
    return kinds.pop()


def metadata_claims(md: dict[str, Any]) -> dict[Path_, dict[str, Any]]:
    return {tuple(c["path"]): c for c in md["claims"]}


def nl_label(claim: dict[str, Any]) -> str:
    labels = [d["label"] for d in claim.get("display", []) if d.get("locale") == "nl-NL"]
    assert labels, f"claim {claim['path']} has no nl-NL label"
    return str(labels[0])


def field_rows(page: str) -> dict[str, dict[str, str]]:
    header, rows = table_with((SPECS / page).read_text("utf-8"), "Claim path")
    assert header == ["Claim path", "Dutch term", "JSON type", "Required", "Disclosure", "Rule"], (
        header
    )
    out: dict[str, dict[str, str]] = {}
    for r in rows:
        assert len(r) == len(header), f"{page}: row has {len(r)} cells: {r}"
        path = code_cell(r[0])
        assert path not in out, f"{page}: {path} is listed twice"
        out[path] = dict(zip(header, r, strict=True))
    return out


CASES = sorted(PAGES)


@pytest.fixture(params=CASES)
def page(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], dict[str, Any]]:
    md_name, schema_name = PAGES[request.param]
    return request.param, load(md_name, "type-metadata"), load(schema_name, "schemas")


# -- tests ----------------------------------------------------------------------------------------
def test_every_metadata_claim_is_documented_with_its_class(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    name, md, _ = page
    rows = field_rows(name)
    problems = []
    for path, claim in metadata_claims(md).items():
        key = dotted(path)
        row = rows.get(key)
        if row is None:
            problems.append(f"{key}: missing from the table")
            continue
        want = SD_CLASS[claim["sd"]]
        if row["Disclosure"] != want:
            problems.append(f"{key}: disclosure {row['Disclosure']!r}, metadata says {want}")
        if nl_label(claim).casefold() not in row["Dutch term"].casefold():
            problems.append(f"{key}: Dutch term {row['Dutch term']!r} lacks {nl_label(claim)!r}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_every_schema_property_is_documented_with_type_and_required(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    name, md, schema = page
    rows = field_rows(name)
    claims = metadata_claims(md)
    problems = []
    for path, (node, required) in schema_paths(schema).items():
        key = dotted(path)
        row = rows.get(key)
        if row is None:
            problems.append(f"{key}: missing from the table")
            continue
        want_type = json_type(node)
        if row["JSON type"].split()[0] != want_type:
            problems.append(f"{key}: JSON type {row['JSON type']!r}, schema says {want_type}")
        want_req = "—" if required is None else "yes" if required else "no"
        if row["Required"] != want_req:
            problems.append(f"{key}: required {row['Required']!r}, schema says {want_req}")
        if path not in claims and row["Disclosure"] != IN_PARENT:
            problems.append(f"{key}: not in the type metadata, so disclosure must be {IN_PARENT!r}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_no_rows_for_claims_that_do_not_exist(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    name, md, schema = page
    known = {dotted(p) for p in metadata_claims(md)} | {dotted(p) for p in schema_paths(schema)}
    extra = sorted(set(field_rows(name)) - known)
    assert not extra, f"{name} documents claims that exist in neither JSON file: {extra}"


def test_type_metadata_claims_exist_in_the_schema(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    """The two JSON files agree with each other (a typo in either would split the docs)."""
    _, md, schema = page
    props = schema_paths(schema)
    missing = [dotted(p) for p in metadata_claims(md) if p not in props]
    assert not missing, f"type metadata claims not in the schema: {missing}"
    no_sd = [dotted(p) for p, c in metadata_claims(md).items() if "sd" not in c]
    assert not no_sd, (
        f"claims without an explicit sd value (default 'allowed' is ambiguous): {no_sd}"
    )


def test_page_names_type_roles_and_technical_claims(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    name, md, _ = page
    text = (SPECS / name).read_text("utf-8")
    ext = md["x-blauweknop"]
    assert f"`{md['vct']}`" in text
    assert ext["w3c_type"] in text
    for role in ext["issuer_roles"]:
        assert f"**`{role}`**" in text, f"{name} must name the issuer role {role}"
    _, rows = table_with(text, "Technical claim")
    assert {code_cell(r[0]) for r in rows} == TECHNICAL


def _mandatory_pointers(md: dict[str, Any]) -> list[str]:
    """The ``ecdsa-sd-2023`` claim pointers the page must list: every always-shown claim that is
    not an object (a pointer reveals the whole subtree, so objects get pointers to their
    members), below always-shown ancestors only."""
    claims = metadata_claims(md)

    def is_object(p: Path_) -> bool:
        return any(len(q) > len(p) and q[: len(p)] == p and q[len(p)] is not None for q in claims)

    def shown(p: Path_) -> bool:
        return all(claims[p[:n]]["sd"] == "never" for n in range(1, len(p) + 1))

    return [
        "/credentialSubject/" + "/".join(str(x) for x in p)
        for p in claims
        if None not in p and shown(p) and not is_object(p)
    ]


def test_w3c_mandatory_pointers_are_listed(
    page: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    name, md, _ = page
    text = (SPECS / name).read_text("utf-8")
    missing = [ptr for ptr in _mandatory_pointers(md) if f"`{ptr}`" not in text]
    assert not missing, f"{name} does not list the mandatory pointers {missing}"


@pytest.mark.parametrize(
    ("name", "data_file"),
    [
        ("debt-statement.md", "debt-statement.json"),
        ("rode-knop-declaration.md", "rode-knop-declaration.json"),
    ],
)
def test_w3c_mandatory_pointers_match_the_issuer(name: str, data_file: str) -> None:
    """What the DI issuer really makes mandatory for the example data is on the page, and the
    page's rule agrees with it."""
    from di_compat import mandatory_pointers

    from blauweknop._profile import get_profile

    md = load(PAGES[name][0], "type-metadata")
    data = json.loads((ROOT / "examples" / "data" / data_file).read_text("utf-8"))
    actual = mandatory_pointers(get_profile(md["vct"]), data)
    text = (SPECS / name).read_text("utf-8")
    missing = [ptr for ptr in actual if f"`{ptr}`" not in text]
    assert not missing, f"{name} does not list {missing}"
    claim_ptrs = {
        p for p in actual if p.startswith("/credentialSubject/") and p != "/credentialSubject/id"
    }
    assert claim_ptrs <= set(_mandatory_pointers(md))


def test_batch_page_lists_exactly_the_csv_columns() -> None:
    header, rows = table_with((SPECS / "rode-knop-batch.md").read_text("utf-8"), "Column")
    assert header[:2] == ["Column", "Required"]
    documented = {code_cell(r[0]): r[1] for r in rows}
    expected = dict.fromkeys(REQUIRED_COLUMNS, "required")
    expected |= dict.fromkeys(OPTIONAL_COLUMNS, "optional")
    assert documented == expected
    assert [code_cell(r[0]) for r in rows] == [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]


def test_readme_indexes_every_spec_file() -> None:
    text = (SPECS / "README.md").read_text("utf-8")
    files = [p.relative_to(SPECS).as_posix() for p in SPECS.rglob("*") if p.is_file()]
    missing = [f for f in files if f != "README.md" and f"]({f})" not in text]
    assert not missing, f"specs/README.md does not link {missing}"


def test_relative_links_resolve() -> None:
    problems = []
    for md in SPECS.glob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", md.read_text("utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (md.parent / file_part).resolve()
            if not dest.exists():
                problems.append(f"{md.name}: {target} does not exist")
            elif (
                anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text("utf-8"))
            ):
                problems.append(f"{md.name}: {target}: no heading with anchor #{anchor}")
    assert not problems, "\n".join(problems)


def _anchors(text: str) -> set[str]:
    """GitHub-style heading anchors."""
    out = set()
    for line in text.splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out
