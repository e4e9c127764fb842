"""Every ``crindex`` command in README.md and docs/*.md code blocks is one the CLI accepts.

Each command of a ```sh / ```bash / ```console block is parsed by the CLI as written (the
command exists, every option exists, required options are given, values have the right
type), without running it. Commands added later are picked up: the blocks are read anew.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(sh|bash|console|shell)\s*$")
PREFIX = re.compile(r"^(?:\$\s+)?(?:[A-Z_]+=\S+\s+)*(?:\S*/)?crindex(?:\s|$)")


def doc_commands() -> list[tuple[str, str]]:
    """(``file:line``, the command after ``crindex``) of every command in a shell block."""
    found: list[tuple[str, str]] = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        inside = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("```"):
                inside = bool(FENCE.match(line)) if not inside else False
                i += 1
                continue
            start = i
            while inside and line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            if inside and PREFIX.match(line.strip()):
                # `[--store history.duckdb]`: a synopsis' optional part, parsed as given
                text = re.sub(r"\[(--[^\]]*)\]", r"\1", line.strip())
                words = shlex.split(text, comments=True)
                while words and ("=" in words[0] or words[0] == "$"):
                    words.pop(0)
                rest = " ".join(shlex.quote(w) for w in words[1:])
                for sep in ("|", "&&", ">", ";"):  # the crindex part of a pipeline
                    rest = rest.split(f" {sep} ")[0].split(f"'{sep}'")[0]
                found.append((f"{path.relative_to(ROOT)}:{start + 1}", rest.strip()))
            i += 1
    return found


def _parse(args: list[str]) -> Any:
    import typer

    from crindex.cli import app

    group: Any = typer.main.get_command(app)
    ctx = group.make_context("crindex", list(args), resilient_parsing=False)
    def pending(c: Any) -> list[str]:  # a group's command and its arguments (any click)
        return list(getattr(c, "_protected_args", None) or getattr(c, "protected_args", [])
                    ) + list(c.args)

    while hasattr(group, "list_commands") and pending(ctx):
        name, *rest = pending(ctx)
        sub = group.get_command(ctx, name)
        if sub is None:
            raise LookupError(f"no command `{name}`")
        group, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return ctx


def test_docs_have_commands():
    commands = doc_commands()
    assert len(commands) > 20, commands  # the README and docs show many; the reader works
    assert any(c.startswith("score ") for _, c in commands)


@pytest.mark.parametrize(("where", "command"), doc_commands(), ids=lambda v: str(v)[:60])
def test_doc_command_parses(where: str, command: str):
    args = shlex.split(command)
    if not args or args[0] in ("--version", "--help") or "--help" in args:
        return
    try:
        _parse(args)
    except SystemExit as exc:  # --version and the like
        assert exc.code in (0, None), f"{where}: crindex {command}"
    except Exception as exc:  # noqa: BLE001 - click's usage errors are all reported alike
        pytest.fail(f"{where}: `crindex {command}` is refused by the CLI: "
                    f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("args", [["token", "create", "--scope", "read"],  # --name missing
                                  ["nosuch"], ["score", "--bogus"]])
def test_parse_refuses_what_the_cli_refuses(args: list[str]):
    with pytest.raises(Exception):  # noqa: B017,PT011 - click's usage errors, or no command
        _parse(args)
