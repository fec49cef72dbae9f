"""``specs/error-codes.md`` lists every error code raised in ``src/``, under its class.

The codes are found by reading the source (``ast``), not by running it: every call of an error
class from ``blauweknop._errors`` (``SignatureError("signature_invalid", ...)``), with the code
taken from its first argument (or ``code=``). A code that is not a string literal is resolved
where that is mechanical:

* ``"a" if cond else "b"`` gives both;
* a local variable gives every value assigned to it in the function, including the values of a
  module-level ``dict`` it is looked up in (``_SQLITE_CODES.get(...)``);
* a parameter, or an f-string over parameters (``f"{name}_missing"``), gives the arguments of
  every call of that function in the same module;
* ``x.code`` gives the codes of every construction of a class whose first field is ``code``
  (``ClaimFailure("claim_missing", ...)``), in the same module and, for a class imported with
  ``from .module import Class``, in the module that defines it.

Anything else fails the test, so a new way of passing codes cannot hide an undocumented one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from blauweknop import _errors

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "specs" / "error-codes.md"
ERROR_CLASSES: dict[str, type[_errors.BlauweKnopError]] = {
    name: obj
    for name, obj in vars(_errors).items()
    if isinstance(obj, type) and issubclass(obj, _errors.BlauweKnopError)
}
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Unresolved(Exception):
    pass


@dataclass(frozen=True)
class Site:
    file: str
    line: int
    cls: str


# -- scanning -------------------------------------------------------------------------------------
class Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text("utf-8"))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def module_dict(self, name: str) -> ast.Dict | None:
        for stmt in self.tree.body:
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
            if isinstance(value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == name for t in targets
            ):
                return value
        return None

    def calls_of(self, func_name: str) -> Iterator[ast.Call]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = (
                    f.id
                    if isinstance(f, ast.Name)
                    else f.attr
                    if isinstance(f, ast.Attribute)
                    else None
                )
                if name == func_name:
                    yield node

    def imported_from(self, name: str) -> Module | None:
        """The sibling module that ``from .module import name`` takes ``name`` from."""
        for stmt in self.tree.body:
            if (
                isinstance(stmt, ast.ImportFrom)
                and stmt.level == 1
                and stmt.module
                and any(a.name == name and a.asname is None for a in stmt.names)
            ):
                path = self.path.parent.joinpath(*stmt.module.split(".")).with_suffix(".py")
                return Module(path) if path.is_file() else None
        return None

    def code_classes(self) -> list[str]:
        """Same-module classes whose first field is ``code`` (NamedTuple / dataclass)."""
        out = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                fields = [s for s in node.body if isinstance(s, ast.AnnAssign)]
                if (
                    fields
                    and isinstance(fields[0].target, ast.Name)
                    and fields[0].target.id == "code"
                ):
                    out.append(node.name)
        return out


def _argument(
    call: ast.Call, func: ast.FunctionDef | ast.AsyncFunctionDef, param: str
) -> ast.expr | None:
    names = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    for kw in call.keywords:
        if kw.arg == param:
            return kw.value
    if param in names:
        i = names.index(param)
        if (
            isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
            and names
            and names[0] in ("self", "cls")
        ):
            i -= 1 if isinstance(call.func, ast.Attribute) else 0
        if 0 <= i < len(call.args):
            return call.args[i]
    return None


def resolve(mod: Module, expr: ast.expr | None, at: ast.AST, depth: int = 0) -> set[str]:
    if depth > 5 or expr is None:
        raise Unresolved
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return resolve(mod, expr.body, at, depth + 1) | resolve(mod, expr.orelse, at, depth + 1)
    func = mod.enclosing_function(at)
    if isinstance(expr, ast.Name) and func is not None:
        params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
        if expr.id in params:
            return _from_callers(mod, func, lambda call: _argument(call, func, expr.id), depth)
        found: set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == expr.id for t in node.targets
            ):
                found |= _assigned(mod, func, node.value, depth)
        if found:
            return found
        raise Unresolved
    if isinstance(expr, ast.JoinedStr) and func is not None:
        return _from_callers(mod, func, lambda call: _render(mod, expr, call, func, depth), depth)
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        table = _dict_named(mod, func, expr.value.id)
        if table is not None:
            return _dict_values(table)
    if isinstance(expr, ast.Attribute) and expr.attr == "code" and isinstance(expr.value, ast.Name):
        out: set[str] = set()
        for cls in _annotated_classes(func, expr.value.id):
            home = mod if cls in mod.code_classes() else mod.imported_from(cls)
            if home is None or cls not in home.code_classes():
                continue
            for where in {mod, home}:
                for call in where.calls_of(cls):
                    arg = (
                        call.args[0]
                        if call.args
                        else next((k.value for k in call.keywords if k.arg == "code"), None)
                    )
                    out |= resolve(where, arg, call, depth + 1)
        if out:
            return out
    raise Unresolved


def _annotated_classes(func: ast.FunctionDef | ast.AsyncFunctionDef | None, var: str) -> set[str]:
    """Class names in the annotation of local variable ``var`` (``first: _ClaimFailure | None``)."""
    if func is None:
        return set()
    out: set[str] = set()
    for node in ast.walk(func):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == var
        ):
            out |= {n.id for n in ast.walk(node.annotation) if isinstance(n, ast.Name)}
    return out


def _dict_named(
    mod: Module, func: ast.FunctionDef | ast.AsyncFunctionDef | None, name: str
) -> ast.Dict | None:
    """A dict literal assigned to ``name`` in ``func``, else at module level."""
    if func is not None:
        for node in ast.walk(func):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            ):
                return node.value
    return mod.module_dict(name)


def _dict_values(d: ast.Dict) -> set[str]:
    if not all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in d.values):
        raise Unresolved
    return {v.value for v in d.values if isinstance(v, ast.Constant) and isinstance(v.value, str)}


def _assigned(
    mod: Module, func: ast.FunctionDef | ast.AsyncFunctionDef, value: ast.expr, depth: int
) -> set[str]:
    """Codes a local variable can hold: literals, both arms of a conditional, or a lookup
    ``TABLE.get(key, "default")`` in a dict literal (all its values and the default)."""
    if isinstance(value, ast.IfExp):
        return _assigned(mod, func, value.body, depth) | _assigned(mod, func, value.orelse, depth)
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "get"
        and isinstance(value.func.value, ast.Name)
    ):
        table = _dict_named(mod, func, value.func.value.id)
        if table is None:
            raise Unresolved
        out = _dict_values(table)
        if len(value.args) > 1:
            out |= resolve(mod, value.args[1], value, depth + 1)
        return out
    return resolve(mod, value, value, depth + 1)


def _from_callers(
    mod: Module,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    arg_of: Callable[[ast.Call], ast.expr | set[str] | None],
    depth: int,
) -> set[str]:
    """Resolve a parameter (or a string built from parameters) at every call of ``func``."""
    out: set[str] = set()
    calls = list(mod.calls_of(func.name))
    if not calls:
        raise Unresolved
    for call in calls:
        value = arg_of(call)
        if isinstance(value, set):
            out |= value
        else:
            out |= resolve(mod, value, call, depth + 1)
    return out


def _render(
    mod: Module,
    fstr: ast.JoinedStr,
    call: ast.Call,
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    depth: int,
) -> set[str]:
    text = ""
    for part in fstr.values:
        if isinstance(part, ast.Constant):
            text += str(part.value)
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
            values = resolve(mod, _argument(call, func, part.value.id), call, depth + 1)
            if len(values) != 1:
                raise Unresolved
            text += values.pop()
        else:
            raise Unresolved
    return {text}


def raised_codes() -> tuple[dict[tuple[str, str], list[Site]], list[Site]]:
    """{(code, class): sites} for every error-class call in src/, and the unresolved sites."""
    found: dict[tuple[str, str], list[Site]] = {}
    unresolved: list[Site] = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        mod = Module(path)
        for call in ast.walk(mod.tree):
            if not isinstance(call, ast.Call):
                continue
            f = call.func
            cls = (
                f.id
                if isinstance(f, ast.Name)
                else f.attr
                if isinstance(f, ast.Attribute)
                else None
            )
            if cls not in ERROR_CLASSES:
                continue
            site = Site(str(path.relative_to(ROOT)), call.lineno, cls)
            arg = (
                call.args[0]
                if call.args
                else next((k.value for k in call.keywords if k.arg == "code"), None)
            )
            if arg is None:
                codes = {ERROR_CLASSES[cls].default_code}
            else:
                try:
                    codes = resolve(mod, arg, call)
                except Unresolved:
                    unresolved.append(site)
                    continue
            for code in codes:
                found.setdefault((code, cls), []).append(site)
    return found, unresolved


def cli_codes() -> set[str]:
    """Codes the CLI prints itself: ``fail("code", ...)``."""
    out = set()
    for path in sorted((ROOT / "cli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "fail"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                out.add(node.args[0].value)
    return out


# -- the page -------------------------------------------------------------------------------------
def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def documented() -> tuple[dict[str, set[str]], set[str]]:
    """({code: classes} from the "Code | Class | Meaning" tables, codes of the "Code | Meaning"
    table of CLI-only codes)."""
    by_class: dict[str, set[str]] = {}
    cli: set[str] = set()
    header: list[str] | None = None
    for line in DOC.read_text("utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        m = re.fullmatch(r"`([a-z0-9_]+)`", cells[0])
        if header[:3] == ["Code", "Class", "Meaning"]:
            assert m, f"bad code cell {cells[0]!r}"
            by_class.setdefault(m.group(1), set()).update(c.strip() for c in cells[1].split(","))
        elif header[:2] == ["Code", "Meaning"]:
            assert m, f"bad code cell {cells[0]!r}"
            cli.add(m.group(1))
    return by_class, cli


RAISED, UNRESOLVED = raised_codes()
DOCUMENTED, CLI_DOCUMENTED = documented()


# -- tests ----------------------------------------------------------------------------------------
def test_every_code_site_could_be_read() -> None:
    assert not UNRESOLVED, (
        "cannot tell which code these raise; pass a literal or extend the scanner: "
        + ", ".join(f"{s.file}:{s.line} ({s.cls})" for s in UNRESOLVED)
    )


def test_scanner_finds_literal_and_indirect_codes() -> None:
    """Guard the scanner itself: one code of each kind it has to resolve."""
    keys = set(RAISED)
    assert ("signature_invalid", "SignatureError") in keys  # literal
    assert ("status_unavailable", "StatusError") in keys  # literal and conditional
    assert ("challenge_missing", "HolderBindingError") in keys  # f"{name}_missing" over callers
    assert ("value_mismatch", "PolicyError") in keys  # PolicyError(first.code)
    assert len(keys) > 100


def test_every_raised_code_is_documented_under_its_class() -> None:
    missing = sorted(
        f"{code} ({cls}) raised at {sites[0].file}:{sites[0].line}"
        for (code, cls), sites in RAISED.items()
        if cls not in DOCUMENTED.get(code, set())
    )
    assert not missing, "add these to specs/error-codes.md:\n" + "\n".join(missing)


def test_every_documented_code_is_raised() -> None:
    defaults = {(c.default_code, name) for name, c in ERROR_CLASSES.items()}
    stale = sorted(
        f"{code} ({cls})"
        for code, classes in DOCUMENTED.items()
        for cls in classes
        if (code, cls) not in RAISED and (code, cls) not in defaults
    )
    assert not stale, "specs/error-codes.md lists codes that src/ no longer raises:\n" + "\n".join(
        stale
    )


def test_documented_classes_exist() -> None:
    unknown = sorted(
        {cls for classes in DOCUMENTED.values() for cls in classes} - set(ERROR_CLASSES)
    )
    assert not unknown


@pytest.mark.parametrize("name", sorted(n for n in ERROR_CLASSES if n != "BlauweKnopError"))
def test_default_code_of_each_class_is_documented(name: str) -> None:
    code = ERROR_CLASSES[name].default_code
    assert name in DOCUMENTED.get(code, set()), f"{name}.default_code {code!r} is not documented"


def test_codes_are_snake_case() -> None:
    bad = sorted({code for code, _ in RAISED if not CODE_RE.match(code)})
    assert not bad


def test_cli_codes_are_documented() -> None:
    missing = sorted(cli_codes() - CLI_DOCUMENTED - set(DOCUMENTED))
    assert not missing, f"CLI codes missing from specs/error-codes.md: {missing}"
