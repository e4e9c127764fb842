"""The layers `make lint` checks: import-linter contracts in pyproject.toml [tool.importlinter].

lint-imports runs on a copy of the source tree in which a module of the model package gains
``import ibis``: the model contract must catch it, naming the import. The real tree must keep
every contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts on the ``crindex`` package under ``tree``."""
    if not LINT.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("import-linter must be installed when CI=true (the dev extra has it)")
        pytest.skip("import-linter is not installed (it comes with the dev extra)")
    args = [str(LINT), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")]
    for contract in contracts:
        args += ["--contract", contract]
    # the tree first on the path, so the package analysed is the tree's, not the installed one
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run(args, env=env, cwd=tree, capture_output=True, text=True, timeout=120)


def test_a_model_module_importing_ibis_breaks_the_model_contract(tmp_path):
    shutil.copytree(ROOT / "src" / "crindex", tmp_path / "crindex")
    spec = tmp_path / "crindex" / "model" / "spec.py"
    lines = spec.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(("import ", "from "))
              and "__future__" not in line)
    lines.insert(at, "import ibis")
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = lint(tmp_path, "model-pure")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout
    assert f"crindex.model.spec -> ibis (l.{at + 1})" in done.stdout, done.stdout


def test_the_source_tree_keeps_every_contract():
    done = lint(ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr
