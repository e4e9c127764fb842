"""Benchmark: how long ``crindex --help`` and ``crindex --version`` take to answer.

Baseline in the same run: ``python -c pass`` (the interpreter's own start) and ``python -c
"import typer"`` (the floor under any typer command line). Each command runs in a fresh
process, as the ``crindex`` console script does (``from crindex.cli import main; main()``),
with this checkout's ``src`` first on the path. Rounds are interleaved (every command once per
round, the order rotating) so a busy machine slows all of them alike; a few warm-up rounds
fill the OS file cache first. Reports median, p10-p90 spread, min and max wall time.

    .venv/bin/python bench/bench_cli.py [--rounds 40] [--before OTHER/src] [--write]

``--write`` replaces the section "Command line start-up" of docs/BENCHMARKS.md with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Command line start-up (bench/bench_cli.py)"
TARGET = 0.3  # seconds, for --help and --version (issue 13)

CRINDEX = "import sys; sys.argv[0] = 'crindex'; from crindex.cli import main; main()"
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    'python -c "import typer"': ["-c", "import typer"],
    "crindex --help": ["-c", CRINDEX, "--help"],
    "crindex --version": ["-c", CRINDEX, "--version"],
}
BASELINE = "python -c pass"


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``python ARGS``."""
    cpu = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args} failed ({done.returncode}): {done.stderr}")
    return elapsed, cpu_of_children() - cpu


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(rounds: int, warmup: int, before: Path | None
            ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU times per command, interleaved rounds after ``warmup`` rounds."""

    def env_for(src: Path) -> dict[str, str]:
        env = dict(os.environ, COLUMNS="100", PYTHONPATH=os.pathsep.join(
            [str(src), *filter(None, [os.environ.get("PYTHONPATH")])]))
        # as on a user's machine: bytecode (and crindex's command index) kept after a first run
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    runs = {name: (args, env_for(ROOT / "src")) for name, args in COMMANDS.items()}
    if before is not None:
        runs["crindex --help, before this change"] = (COMMANDS["crindex --help"],
                                                      env_for(before))
    names = list(runs)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + rounds):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            elapsed, used = run_once(*runs[name])
            if i >= warmup:
                wall[name].append(elapsed)
                cpu[name].append(used)
    return wall, cpu


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def table(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> str:
    base = statistics.median(wall[BASELINE])
    lines = ["| command | wall median | wall p10-p90 | wall min | minus `python -c pass` "
             "| CPU median |", "|---|---|---|---|---|---|"]
    for name, values in wall.items():
        med = statistics.median(values)
        lines.append(f"| `{name}` | {ms(med)} | {ms(percentile(values, 0.1))}-"
                     f"{ms(percentile(values, 0.9))} | {ms(min(values))} | "
                     + ("-" if name == BASELINE else ms(med - base))
                     + f" | {ms(statistics.median(cpu[name]))} |")
    return "\n".join(lines)


def load_average() -> str:
    """The 1-minute load average (other work on this shared machine), if the OS says it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def section(wall: dict[str, list[float]], cpu: dict[str, list[float]], rounds: int,
            load: str, before_label: str | None) -> str:
    from importlib.metadata import version

    def verdict(name: str) -> str:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        return (f"`{name}`: {ms(w)} wall, {ms(c)} CPU ("
                + ("under" if w < TARGET else "over") + " the 0.3 s target in wall time, "
                + ("under" if c < TARGET else "over") + " in CPU time)")

    before = "" if before_label is None else (
        f" The row `crindex --help, before this change` runs the same command on the tree "
        f"before it ({before_label}), in the same rounds.")
    text = f"""{SECTION}

`.venv/bin/python bench/bench_cli.py --write` runs each command in a fresh process, as the
`crindex` console script does, {rounds} interleaved rounds after warm-up (the order rotates
every round, so load on this shared machine hits all commands alike), with bytecode kept
as on a user's machine (the warm-up writes it, and crindex's index of commands beside it).
Baselines in the same
run: `python -c pass` (the interpreter's start) and `python -c "import typer"` (the floor of
any typer command line).{before} Wall time is what a user waits; CPU time (user + system of
the child) is the work itself, which other load on the machine does not inflate.

Machine: {os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()},
typer {version("typer")}, rich {version("rich")}; 1-minute load average {load} before and
{load_average()} after the run.

{table(wall, cpu)}

{verdict("crindex --help")}; {verdict("crindex --version")}. The listing reads each
`crindex.<package>.commands` module's source (names and help) instead of importing it, so
`--help` imports typer and rich but none of ibis, pandas, numpy, scipy, pyarrow or duckdb
(tests/test_cli_commands.py checks that, without timing); a command imports its own module
when it runs. What remains above `import typer` is typer's rich help renderer (it imports
rich's Markdown and Traceback support) and reading the index of commands kept beside the
bytecode (the sources are read again only when a commands module changes).
"""
    # one paragraph per line group, wrapped like the rest of the file; tables stay as they are
    return "\n\n".join(p if p.startswith(("|", "#")) else textwrap.fill(" ".join(p.split()), 96)
                       for p in text.strip("\n").split("\n\n")) + "\n"


def write(text: str) -> None:
    path = ROOT / "docs" / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8")
    if SECTION in doc:
        start = doc.index(SECTION)
        end = doc.find("\n## ", start + len(SECTION))
        rest = doc[end + 1:] if end != -1 else ""
        doc = doc[:start] + text + ("\n" + rest if rest else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another tree's src folder (the code "
                        "before a change) whose `crindex --help` runs in the same rounds")
    parser.add_argument("--before-label", help="what --before is, for the text")
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    opts = parser.parse_args()
    load = load_average()
    wall, cpu = measure(opts.rounds, opts.warmup, opts.before)
    print(table(wall, cpu))
    if opts.write:
        label = None if opts.before is None else (opts.before_label or str(opts.before))
        write(section(wall, cpu, opts.rounds, load, label))
        print("wrote docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
