"""Benchmark: how long ``crindex --help`` and ``crindex --version`` take to answer.

Baseline in the same run: ``python -c pass`` (the interpreter's own start) and ``python -c
"import typer"`` (the floor under any typer command line). Each command runs in a fresh
process, as the ``crindex`` console script does (``from crindex.cli import main; main()``),
with this checkout's ``src`` first on the path. Rounds are interleaved (every command once per
round, the order rotating) so a busy machine slows all of them alike; a few warm-up rounds
fill the OS file cache first. Reports median, p10-p90 spread, min and max wall time.

    .venv/bin/python bench/bench_cli.py [--rounds 40] [--write]

``--write`` replaces the section "Command line start-up" of docs/BENCHMARKS.md with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
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


def run_once(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args} failed ({done.returncode}): {done.stderr}")
    return elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(rounds: int, warmup: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]), COLUMNS="100")
    names = list(COMMANDS)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i in range(warmup + rounds):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            elapsed = run_once(COMMANDS[name], env)
            if i >= warmup:
                times[name].append(elapsed)
    return times


def table(times: dict[str, list[float]]) -> str:
    base = statistics.median(times[BASELINE])
    lines = ["| command | median | p10-p90 | min | max | minus `python -c pass` |",
             "|---|---|---|---|---|---|"]
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"| `{name}` | {med * 1000:.0f} ms | {percentile(values, 0.1) * 1000:.0f}-"
                     f"{percentile(values, 0.9) * 1000:.0f} ms | {min(values) * 1000:.0f} ms | "
                     f"{max(values) * 1000:.0f} ms | "
                     + ("-" if name == BASELINE else f"{(med - base) * 1000:.0f} ms") + " |")
    return "\n".join(lines)


def load_average() -> str:
    """The 1-minute load average (other work on this shared machine), if the OS says it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def section(times: dict[str, list[float]], rounds: int, load: str) -> str:
    from importlib.metadata import version

    verdict = ", ".join(
        f"`{n}` {statistics.median(times[n]) * 1000:.0f} ms "
        + ("(under the 0.3 s target)" if statistics.median(times[n]) < TARGET else
           "(OVER the 0.3 s target)") for n in ("crindex --help", "crindex --version"))
    return f"""{SECTION}

`.venv/bin/python bench/bench_cli.py --write` runs each command in a fresh process, as the
`crindex` console script does, {rounds} interleaved rounds after warm-up (the order rotates
every round, so load on this shared machine hits all commands alike). Baselines in the same
run: `python -c pass` (the interpreter's start) and `python -c "import typer"` (the floor of
any typer command line).

Machine: {os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()},
typer {version("typer")}, rich {version("rich")}; 1-minute load average {load} before and
{load_average()} after the run (other work on the machine slows every row alike).

{table(times)}

{verdict}. The listing reads each `crindex.<package>.commands` module's source (names and
help) instead of importing it, so `--help` imports typer and rich but none of ibis, pandas,
numpy, scipy, pyarrow or duckdb (tests/test_cli_commands.py checks that, without timing);
a command imports its own module when it runs. Before this change every commands module, and
with it ibis, scipy and fastapi, was imported for `--help` (1.6 s on this machine).
"""


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
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    opts = parser.parse_args()
    load = load_average()
    times = measure(opts.rounds, opts.warmup)
    print(table(times))
    if opts.write:
        write(section(times, opts.rounds, load))
        print("wrote docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
