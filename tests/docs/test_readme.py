"""The code in ``README.md`` and ``docs/*.md`` runs as written.

Convention for fenced code blocks (also in the README, section "How the examples are tested"):

* ```` ```python ````: executed. All Python blocks of one file run in order, in one namespace,
  in a fresh interpreter (the venv's), like a reader pasting them into one session.
* ```` ```sh {.test} ````: executed. All such blocks of one file run in order as one bash script
  (``set -euo pipefail``), like a reader typing them into one terminal. ``{.test}`` is an
  attribute list: GitHub shows the block as ``sh``, MkDocs renders it normally.
* A shell block (``sh``, ``bash``, ``shell``, ``console``, ``zsh``) *without* ``{.test}`` is an
  error: a command that is documented must be tested. Output or fragments go in ``text``.
* A block whose body is a snippet include (``--8<-- "examples/x.py"``) shows an example file;
  the file must exist and is run by ``test_examples.py`` instead.
* ``json`` blocks must parse; every other language (``text``, ``csv``, ...) is shown only.

Both kinds run with the working directory set to a fresh temporary directory that holds
symbolic links ``examples`` (to the repository's) and ``.venv`` (to the venv running the tests),
so paths are written relative to the repository root (``examples/data/...``) and nothing is
written into the checkout. The venv's ``bin`` is first on ``PATH`` and
``BLAUWEKNOP_WALLET_PASSPHRASE`` is set. A ``json`` block that is a trust-list entry must be a
valid one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from docs._clock import HOURS, a_year_ahead, faked

from blauweknop._trust import parse_entry

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: Pages written by others are tested by their owners (docs/security.md: the security review).
NOT_OURS = {"security.md"}
PAGES = [
    ROOT / "README.md",
    *sorted(
        p
        for p in (ROOT / "docs").glob("**/*.md")
        if p.name not in NOT_OURS and "_hooks" not in p.parts
    ),
]
SHELL_LANGS = {"sh", "bash", "shell", "console", "zsh"}
FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
SNIPPET_RE = re.compile(r'^\s*-{1,3}8<-{1,3}\s+"(?P<path>[^"]+)"\s*$')
TIMEOUT = 600
#: A whole page's session (servers started and stopped, the pilot) may take minutes on a
#: loaded 2-core machine: pytest-timeout's default 300 s would stop it before TIMEOUT does.
pytestmark = pytest.mark.timeout(TIMEOUT + 300)


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    classes: frozenset[str]
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_info(info: str) -> tuple[str, frozenset[str]]:
    """``sh {.test}`` -> (``"sh"``, ``{"test"}``)."""
    info = info.strip()
    classes: set[str] = set()
    m = re.search(r"\{([^}]*)\}\s*$", info)
    if m:
        classes = {tok[1:] for tok in m.group(1).split() if tok.startswith(".")}
        info = info[: m.start()].strip()
    lang = info.split()[0].lower() if info else ""
    return lang, frozenset(classes)


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file (CommonMark fences, not nested)."""
    out: list[Block] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m.group("fence"), len(m.group("indent"))
        lang, classes = parse_info(m.group("info"))
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(
            rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[j]
        ):
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        assert j < len(lines), f"{path}:{i + 1}: unclosed code fence"
        out.append(Block(path, i + 1, lang, classes, "\n".join(body) + "\n"))
        i = j + 1
    return out


def snippet_target(block: Block) -> str | None:
    """The file a snippet-include block shows, if the block is one."""
    lines = [ln for ln in block.body.splitlines() if ln.strip()]
    if len(lines) == 1 and (m := SNIPPET_RE.match(lines[0])):
        return m.group("path")
    return None


def sandbox(tmp: Path) -> Path:
    """A working directory that looks like the repository root for reading, empty otherwise."""
    cwd = tmp / "repo"
    cwd.mkdir(parents=True)
    (cwd / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    # The venv running the tests: the repository's .venv under `make test`.
    (cwd / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return cwd


def environment() -> dict[str, str]:
    """The sessions' environment: this one, with the venv first on ``PATH``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["BLAUWEKNOP_WALLET_PASSPHRASE"] = "fictional test passphrase"
    env["NO_COLOR"] = "1"
    return env


_DRIVER = textwrap.dedent(
    """
    import json, sys
    blocks = json.load(open(sys.argv[1], encoding="utf-8"))
    namespace = {"__name__": "__main__"}
    for b in blocks:
        print(f"--- {b['where']}", flush=True)
        exec(compile(b["code"], b["where"], "exec"), namespace)
    """
)


def run_python(
    page_blocks: list[Block], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    payload = cwd.parent / f"{cwd.name}-blocks.json"
    payload.write_text(json.dumps([{"where": b.where, "code": b.body} for b in page_blocks]))
    driver = cwd.parent / f"{cwd.name}-driver.py"
    driver.write_text(_DRIVER)
    return subprocess.run(
        [sys.executable, str(driver), str(payload)],
        cwd=cwd,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def run_shell(
    page_blocks: list[Block], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    parts = ["set -euo pipefail"]
    for b in page_blocks:
        parts.append(f"echo '--- {b.where}' >&2")
        parts.append(b.body)
    script = cwd.parent / f"{cwd.name}-script.sh"
    script.write_text("\n".join(parts) + "\n")
    return run_session(["bash", str(script)], cwd, env or environment())


def run_session(
    args: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run a session in its own process group; when it ends, whatever it left running (a
    server started with ``&``) is stopped. Output goes to files, not pipes: a process left
    behind would hold a pipe open, and reading it would wait until the timeout."""
    out_path, err_path = cwd.parent / f"{cwd.name}.out", cwd.parent / f"{cwd.name}.err"
    with out_path.open("w", encoding="utf-8") as out, err_path.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            returncode = -signal.SIGKILL
        finally:
            _stop_group(proc.pid)
            proc.wait()
    return subprocess.CompletedProcess(
        args,
        returncode,
        out_path.read_text("utf-8", errors="replace"),
        err_path.read_text("utf-8", errors="replace"),
    )


def _stop_group(pgid: int) -> None:
    """SIGTERM to the session's process group, SIGKILL to what is still there after 5 s."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _report(p: subprocess.CompletedProcess[str]) -> str:
    return f"exit {p.returncode}\n--- stdout:\n{p.stdout[-6000:]}\n--- stderr:\n{p.stderr[-6000:]}"


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


# -- the tests ----------------------------------------------------------------------------------
def test_pages_found() -> None:
    assert PAGES[0].name == "README.md" and PAGES[0].exists()
    assert any(b.lang == "python" for b in blocks(PAGES[0])), "the README has Python examples"
    assert any("test" in b.classes for b in blocks(PAGES[0])), "the README has shell examples"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_every_block_is_tested_or_marked(page: Path) -> None:
    """A shell block must carry ``{.test}``; ``json`` must parse; snippets must exist."""
    for b in blocks(page):
        target = snippet_target(b)
        if target is not None:  # shows an example file, which test_examples.py runs
            assert (ROOT / target).is_file(), f"{b.where}: snippet {target} does not exist"
            assert target.startswith("examples/"), f"{b.where}: include only examples/ files"
            continue
        if b.lang in SHELL_LANGS:
            assert "test" in b.classes, (
                f"{b.where}: a ```{b.lang} block must be marked {{.test}} (and so run), "
                "or be a ```text block"
            )
        if "test" in b.classes:
            assert b.lang in SHELL_LANGS, f"{b.where}: {{.test}} is for shell blocks"
        if b.lang == "json":
            try:
                value = json.loads(b.body)
            except ValueError as e:
                pytest.fail(f"{b.where}: not valid JSON: {e}")
            if isinstance(value, dict) and {"id", "name", "roles", "jwks"} <= value.keys():
                parse_entry(value)  # a trust-list entry shown in the docs must be a valid one


def python_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if b.lang == "python" and snippet_target(b) is None]


def shell_blocks(page: Path) -> list[Block]:
    return [b for b in blocks(page) if "test" in b.classes and snippet_target(b) is None]


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=_id)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    p = run_python(python_blocks(page), sandbox(tmp_path))
    assert p.returncode == 0, _report(p)


@pytest.mark.parametrize("page", [p for p in PAGES if shell_blocks(p)], ids=_id)
def test_shell_blocks_run(page: Path, tmp_path: Path) -> None:
    p = run_shell(shell_blocks(page), sandbox(tmp_path))
    assert p.returncode == 0, _report(p)


SESSION_PAGES = [p for p in PAGES if python_blocks(p) or shell_blocks(p)]


@pytest.mark.slow
@pytest.mark.parametrize("hour_minute", HOURS, ids=lambda hm: f"{hm[0]:02d}{hm[1]:02d}Z")
@pytest.mark.parametrize("page", SESSION_PAGES, ids=_id)
def test_sessions_run_a_year_ahead(
    page: Path, hour_minute: tuple[int, int], tmp_path: Path
) -> None:
    """Nothing in a session depends on the day it is run: a year from now, at three hours of the
    day (00:30 UTC is already the next day in Amsterdam at 23:30 UTC the day before), every block
    still runs. The clock of the session's processes is moved with libfaketime."""
    env = faked(environment(), a_year_ahead(*hour_minute))
    for kind, run, selected in (
        ("python", run_python, python_blocks),
        ("sh", run_shell, shell_blocks),
    ):
        page_blocks = selected(page)
        if page_blocks:
            cwd = sandbox(tmp_path / kind)
            p = run(page_blocks, cwd, env)
            assert p.returncode == 0, f"{kind} session, {env['FAKETIME']} s ahead: " + _report(p)


def test_parser_understands_the_convention(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text(
        "text\n\n```sh {.test}\necho a\n```\n\n  ```python\n  x = 1\n  ```\n\n"
        '````text\n```\n````\n\n```python title="e"\n--8<-- "examples/pilot.py"\n```\n'
    )
    got = blocks(page)
    assert [(b.lang, sorted(b.classes)) for b in got] == [
        ("sh", ["test"]),
        ("python", []),
        ("text", []),
        ("python", []),
    ]
    assert got[1].body == "x = 1\n"
    assert got[2].body == "```\n"
    assert snippet_target(got[3]) == "examples/pilot.py"
