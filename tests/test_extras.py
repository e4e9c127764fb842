"""Install extras: a command whose extra is missing says what to install (exit 2, no traceback).

The extras are not uninstalled: each case runs ``crindex`` in a fresh interpreter whose import
system refuses the extra's modules (a finder first on ``sys.meta_path``), which is what Python
does when they are not installed.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from crindex.examples import example_path
from crindex.extras import EXTRAS, missing_modules
from crindex.synth import generate

# an interpreter that cannot import the modules named in argv[1]
NOT_INSTALLED = """
import sys

BLOCKED = set(sys.argv.pop(1).split(","))


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""
# ... running the ``crindex`` console script's body
WITHOUT = NOT_INSTALLED + """
sys.argv[0] = "crindex"
from crindex.cli import main

main()
"""


def crindex_without(modules, *args, cwd):
    done = subprocess.run([sys.executable, "-c", WITHOUT, ",".join(modules), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def says_install(code, text, extra, *needles):
    assert code == 2, text
    assert "Traceback" not in text, text
    flat = " ".join(text.split())
    assert f"pip install 'crindex[{extra}]'" in flat, text
    for needle in needles:
        assert needle in flat, (needle, text)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny data folder (the demo's generator) to point commands at."""
    folder = tmp_path_factory.mktemp("extras")


    generate(profile="ecommerce", customers=40, start=dt.date(2024, 1, 1), months=12, seed=3,
             out=folder / "data", fmt="parquet", progress=False)
    return folder


def test_serve_without_the_service_extra(world):
    code, text = crindex_without(EXTRAS["service"], "serve", "--model",
                                 str(example_path("b2b")), cwd=world)
    says_install(code, text, "service", "`crindex serve` needs", "fastapi", "uvicorn")


def test_tokens_need_no_service_extra(world):
    code, text = crindex_without(EXTRAS["service"], "token", "create", "--name", "etl",
                                 "--store", str(world / "tokens.duckdb"), cwd=world)
    assert code == 0, text
    assert "copy it now" in text


def test_postgres_store_without_psycopg(world):
    code, text = crindex_without(["psycopg"], "trend", "--store",
                                 "postgresql://postgres@127.0.0.1:5432/test", cwd=world)
    says_install(code, text, "postgres", "a PostgreSQL history store needs psycopg", "--store")


def test_score_checks_the_store_before_scoring(world):
    out = world / "results-pg"
    code, text = crindex_without(
        ["psycopg"], "score", "--model", str(example_path("ecommerce")), "--data",
        str(world / "data"), "--as-of", "2024-12-31", "--out", str(out), "--store",
        "postgresql://postgres@127.0.0.1:5432/test", cwd=world)
    says_install(code, text, "postgres", "psycopg")
    assert not out.exists()  # failed before scoring, nothing written


def test_spark_engine_without_pyspark(world):
    code, text = crindex_without(
        ["pyspark"], "score", "--engine", "spark", "--model", str(example_path("ecommerce")),
        "--data", str(world / "data"), "--as-of", "2024-12-31", "--out",
        str(world / "results-spark"), cwd=world)
    says_install(code, text, "spark", "pyspark")


def test_postgres_data_without_psycopg(world):
    code, text = crindex_without(
        ["psycopg"], "score", "--model", str(example_path("ecommerce")), "--data",
        "postgresql://postgres@127.0.0.1:5432/test", "--out", str(world / "results-pgdata"),
        cwd=world)
    says_install(code, text, "postgres", "PostgreSQL")


def test_the_blocker_is_what_missing_looks_like():
    """The finder above makes :func:`missing_modules` see the extra as absent, as pip would."""
    assert missing_modules("postgres") == []  # dev installs every extra
    code = NOT_INSTALLED + "from crindex.extras import missing_modules\nprint(missing_modules('postgres'))"
    done = subprocess.run([sys.executable, "-c", code, "psycopg"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.strip() == "['psycopg']", done.stderr


def test_extras_table_matches_pyproject():
    """Each module of an extra comes from a distribution that extra installs, not the base."""
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                            .read_text(encoding="utf-8"))["project"]
    base = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    distributions = packages_distributions()
    for extra, modules in EXTRAS.items():
        wanted = [Requirement(r) for r in project["optional-dependencies"][extra]]
        installs = {canonicalize_name(r.name) for r in wanted}
        for req in wanted:  # what a listed requirement's own extras bring (uvicorn[standard])
            for dep in map(Requirement, requires(req.name) or []):
                if dep.marker is not None and any(
                        dep.marker.evaluate({"extra": e}) for e in req.extras):
                    installs.add(canonicalize_name(dep.name))
        for module in modules:
            dist = canonicalize_name(distributions[module][0])
            assert dist in installs, (extra, module, dist)
            assert dist not in base, (extra, module, "is in the base install")
