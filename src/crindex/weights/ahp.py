"""The analytic hierarchy process: weights from pairwise comparisons on Saaty's 1-9 scale.

A comparison ``a/b: 3`` says "a is 3 times as important as b". The weights are the principal
eigenvector of the comparison matrix; ``lambda_max``, the consistency index
``CI = (lambda_max - n) / (n - 1)`` and the consistency ratio ``CR = CI / RI`` say how far the
judgements are from agreeing with each other. A matrix with ``CR >= 0.10`` is refused, naming
the comparison that disagrees most with the weights and the value that would agree.

Incomplete matrices (some pairs not compared) use Harker's method: a missing entry becomes 0
and the diagonal of its row is raised by the number of entries missing in that row; the
principal eigenvector of that matrix gives the weights.

The file format (hierarchical: dimensions, then metrics within each) is documented in
``docs/weights.md``.

References
----------
.. [1] T. L. Saaty, "Decision making with the analytic hierarchy process", Int. J. Services
   Sciences 1(1), 2008, pp. 83-98 (the drink-consumption example, the random indices).
.. [2] P. T. Harker, "Incomplete pairwise comparisons in the analytic hierarchy process",
   Mathematical Modelling 9(11), 1987, pp. 837-848.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from crindex.errors import FitError, ModelError, Problem, Reason, raise_if

#: Saaty's random consistency index by matrix size (n = 1, 2 are always consistent)
RANDOM_INDEX: dict[int, float] = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32,
                                  8: 1.41, 9: 1.45, 10: 1.49}

#: the consistency ratio from which a matrix is refused
MAX_CR = 0.10

#: Saaty's fundamental scale: 1/9 .. 1/2, 1, 2 .. 9
SAATY_SCALE: tuple[Fraction, ...] = tuple(
    [Fraction(1, k) for k in range(9, 1, -1)] + [Fraction(k) for k in range(1, 10)]
)

#: relative slack on the scale's ends and on reciprocity (0.33 for 1/3 is accepted)
_TOL = 0.02


def scale_text(value: float) -> str:
    """A judgement as people write it: ``3``, ``1/3``, or ``2.5`` off the integer scale."""
    if value >= 1:
        return f"{value:g}" if abs(value - round(value)) > 1e-9 else str(round(value))
    inverse = 1.0 / value
    if abs(inverse - round(inverse)) < 1e-6:
        return f"1/{round(inverse)}"
    return f"{value:.3g}"


def snap_to_scale(ratio: float) -> Fraction:
    """The value of Saaty's scale nearest to ``ratio`` (nearest in log terms)."""
    return min(SAATY_SCALE, key=lambda s: abs(math.log(float(s)) - math.log(ratio)))


def parse_judgement(value: Any) -> float:
    """A judgement as written in a file: a number, or text such as ``"1/3"``, ``"3"``.

    Raises
    ------
    ValueError
        When the value is not a positive number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(Fraction(value.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{value!r} is not a number or a fraction such as 1/3") from None
    elif isinstance(value, dict | list):
        raise ValueError("a YAML mapping or list is not a number (an unquoted ? starts a "
                         "mapping: write ~ or \"?\" for a pair not compared)")
    else:
        raise ValueError(f"{value!r} is not a number or a fraction such as 1/3")
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{value!r} is not a positive number")
    return number


def on_scale(value: float) -> bool:
    """True when ``value`` lies within Saaty's range 1/9 .. 9."""
    return (1 / 9) * (1 - _TOL) <= value <= 9 * (1 + _TOL)


@dataclass(frozen=True)
class Suggestion:
    """The comparison that disagrees most with the weights, and a value that would agree."""

    row: str
    column: str
    given: float
    consistent: float
    snapped: Fraction
    cr_after: float
    where: str = ""

    def __str__(self) -> str:
        return (
            f"`{self.row}/{self.column}: {scale_text(self.given)}` disagrees most with the "
            f"other judgements, which imply {self.row}/{self.column} = "
            f"{self.consistent:.2f}, on Saaty's scale {scale_text(float(self.snapped))} "
            f"(CR would be {self.cr_after:.3f})"
        )


@dataclass
class AHPResult:
    """Weights and consistency figures of one comparison matrix.

    Attributes
    ----------
    items
        The compared items, in matrix order.
    weights
        The principal eigenvector, summing to 1.
    lambda_max, ci, cr, ri
        Principal eigenvalue, consistency index, consistency ratio, random index used.
    matrix
        The judgements as given (``nan`` where a pair was not compared).
    missing
        Pairs not compared (upper triangle).
    """

    items: list[str]
    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float
    ri: float
    matrix: np.ndarray
    missing: int = 0
    name: str = ""
    places: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def consistent(self) -> bool:
        return self.cr < MAX_CR

    def weight_of(self) -> dict[str, float]:
        """Item -> weight (summing to 1)."""
        return {item: float(w) for item, w in zip(self.items, self.weights, strict=True)}

    def errors(self) -> np.ndarray:
        """``|ln(a_ij * w_j / w_i)|`` for every given judgement (``nan`` where missing)."""
        w = self.weights
        with np.errstate(invalid="ignore"):
            return np.abs(np.log(self.matrix * w[None, :] / w[:, None]))

    def most_inconsistent(self) -> Suggestion | None:
        """The given comparison farthest from the weights, with the value that would agree.

        The comparison named is the one with the largest ``|ln(a_ij * w_j / w_i)|``. The
        value suggested is ``w_i / w_j`` with the weights the *other* judgements give (that
        comparison left out, Harker's method; all weights if leaving it out unlinks the
        items), snapped to Saaty's scale; when that is the value given, the next value on the
        scale towards ``w_i / w_j`` is suggested.
        """
        if self.n < 3:
            return None
        err = self.errors()
        upper = np.triu(np.ones_like(err, dtype=bool), k=1) & ~np.isnan(err)
        if not upper.any():
            return None
        masked = np.where(upper, err, -np.inf)
        i, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
        given = float(self.matrix[i, j])
        ratio = self._implied(int(i), int(j))
        snapped = snap_to_scale(ratio)
        if abs(float(snapped) - given) < 1e-9 * max(1.0, given):
            pos = SAATY_SCALE.index(snapped)
            step = 1 if ratio > given else -1
            snapped = SAATY_SCALE[min(max(pos + step, 0), len(SAATY_SCALE) - 1)]
        changed = self.matrix.copy()
        changed[i, j], changed[j, i] = float(snapped), 1.0 / float(snapped)
        after = ahp(changed, self.items)
        return Suggestion(self.items[i], self.items[j], given, ratio, snapped, after.cr,
                          self.places.get((int(i), int(j)), ""))


    def _implied(self, i: int, j: int) -> float:
        """``w_i / w_j`` from the judgements other than (i, j)."""
        without = self.matrix.copy()
        without[i, j] = without[j, i] = np.nan
        try:
            w = ahp(without, self.items).weights
        except ModelError:  # (i, j) was the only link between two groups
            w = self.weights
        return float(w[i] / w[j])


def _check_matrix(matrix: np.ndarray, items: list[str], places: dict[tuple[int, int], str],
                  name: str) -> list[Problem]:
    """Squareness, diagonal, range, reciprocity and connectedness of a comparison matrix."""
    problems: list[Problem] = []
    n = len(items)
    label = f"{name}: " if name else ""

    def at(i: int, j: int) -> str:
        return places.get((i, j)) or places.get((j, i)) or places.get((-1, -1), "")

    if matrix.shape != (n, n):
        return [Problem(f"{label}the matrix is {matrix.shape[0]}x{matrix.shape[1]} for {n} items "
                        f"({', '.join(items)})", at(-1, -1),
                        "give one row per item and one column per item", Reason.BAD_PARAMETER)]
    if n > max(RANDOM_INDEX):
        problems.append(Problem(
            f"{label}{n} items are compared; AHP's random index is published for at most "
            f"{max(RANDOM_INDEX)}", at(-1, -1),
            "group the items (e.g. metrics into dimensions) and compare within each group",
            Reason.BAD_PARAMETER))
    for i in range(n):
        d = matrix[i, i]
        if not np.isnan(d) and abs(d - 1) > 1e-9:
            problems.append(Problem(
                f"{label}{items[i]}/{items[i]} is {scale_text(d)}; an item compared with itself "
                "is 1", at(i, i), "write 1 on the diagonal", Reason.BAD_PARAMETER))
    for i in range(n):
        for j in range(n):
            v = matrix[i, j]
            if i == j or np.isnan(v):
                continue
            if not on_scale(v):
                problems.append(Problem(
                    f"{label}{items[i]}/{items[j]} is {v:g}, outside Saaty's scale 1/9 .. 9",
                    at(i, j), "use 1 (equal), 3 (moderately), 5 (strongly), 7 (very strongly), "
                    "9 (extremely more important), the values between, or their reciprocals",
                    Reason.BAD_PARAMETER))
            back = matrix[j, i]
            if i < j and not np.isnan(back) and abs(v * back - 1) > _TOL:
                problems.append(Problem(
                    f"{label}the matrix is not reciprocal: {items[i]}/{items[j]} is "
                    f"{scale_text(v)} but {items[j]}/{items[i]} is {scale_text(back)} (they must "
                    f"multiply to 1)", at(j, i),
                    f"set {items[j]}/{items[i]} to {scale_text(1 / v)}, or give only one of "
                    "the two", Reason.BAD_PARAMETER))
    if not problems and n > 1:
        known = ~np.isnan(matrix) | ~np.isnan(matrix.T)
        reached = {0}
        frontier = [0]
        while frontier:
            i = frontier.pop()
            for j in np.flatnonzero(known[i]).tolist():
                if j not in reached:
                    reached.add(j)
                    frontier.append(j)
        if len(reached) < n:
            apart = [items[k] for k in range(n) if k not in reached]
            problems.append(Problem(
                f"{label}{', '.join(apart)} {'is' if len(apart) == 1 else 'are'} not linked by "
                f"any chain of comparisons to {items[0]}, so their weights are undetermined",
                at(-1, -1), "compare at least one of them with an item of the other group",
                Reason.BAD_PARAMETER))
    return problems


def ahp(matrix: Any, items: list[str] | None = None, *, name: str = "",
        places: dict[tuple[int, int], str] | None = None) -> AHPResult:
    """Weights, ``lambda_max``, CI and CR of a (possibly incomplete) comparison matrix.

    Parameters
    ----------
    matrix
        Square array, ``matrix[i][j]`` = importance of item i over item j; ``nan`` or ``None``
        where a pair was not compared (the reciprocal is filled in when only one side is given).
    items
        Names of the rows (default ``x1 .. xn``).
    name
        What the matrix compares, used in messages ("dimensions", "metrics of value").
    places
        ``(i, j) -> file:line`` of each judgement, for messages; ``(-1, -1)`` for the matrix.

    Returns
    -------
    AHPResult

    Raises
    ------
    ModelError
        When the matrix is not square, has a diagonal other than 1, values outside 1/9..9, is
        not reciprocal, or has items that no chain of comparisons links.

    Notes
    -----
    Consistency is not enforced here; see :func:`require_consistent`.
    """
    a = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix],
                 dtype=float) if not isinstance(matrix, np.ndarray) else matrix.astype(float)
    if a.ndim != 2:
        raise ModelError.single(Reason.BAD_PARAMETER, "a comparison matrix must be a square "
                                "table of numbers", (places or {}).get((-1, -1), ""))
    n = a.shape[0]
    items = list(items) if items is not None else [f"x{k + 1}" for k in range(n)]
    places = dict(places or {})
    raise_if(_check_matrix(a, items, places, name), ModelError,
             f"comparisons of {name} are not usable" if name else "")
    given = a.copy()
    np.fill_diagonal(given, 1.0)
    # a pair given on one side only: the other side is its reciprocal
    fill = np.isnan(given) & ~np.isnan(given.T)
    given[fill] = 1.0 / given.T[fill]
    missing_cells = np.isnan(given)
    harker = np.where(missing_cells, 0.0, given)
    harker[np.diag_indices(n)] += missing_cells.sum(axis=1)
    eigenvalues, vectors = np.linalg.eig(harker)
    k = int(np.argmax(eigenvalues.real))
    lambda_max = float(eigenvalues[k].real)
    weights = np.abs(vectors[:, k].real)
    weights = weights / weights.sum()
    ci = (lambda_max - n) / (n - 1) if n > 1 else 0.0
    ci = max(ci, 0.0) if abs(ci) < 1e-12 else ci
    ri = RANDOM_INDEX.get(n, RANDOM_INDEX[max(RANDOM_INDEX)])
    cr = ci / ri if ri > 0 else 0.0
    return AHPResult(items, weights, lambda_max, ci, cr, ri, given, int(missing_cells.sum() // 2),
                     name, places)


def require_consistent(results: list[AHPResult], max_cr: float = MAX_CR) -> None:
    """Refuse every matrix whose CR reaches ``max_cr``, with its most inconsistent comparison.

    Raises
    ------
    FitError
        Reason ``inconsistent``, one problem per refused matrix.
    """
    problems = []
    for r in results:
        if r.cr < max_cr:
            continue
        tip = r.most_inconsistent()
        label = f"comparisons of {r.name}" if r.name else "the comparisons"
        problems.append(Problem(
            f"{label} are inconsistent: CR {r.cr:.3f} >= {max_cr:.2f} (lambda_max "
            f"{r.lambda_max:.3f}, CI {r.ci:.3f}, RI {r.ri:.2f})",
            tip.where if tip and tip.where else r.places.get((-1, -1), ""),
            (str(tip) + "; revise that judgement") if tip else "revise the judgements",
            Reason.INCONSISTENT))
    raise_if(problems, FitError, "AHP weights refused")


# --------------------------------------------------------------------------------------------
# the file


@dataclass
class Block:
    """One comparison matrix of an AHP file, with the file:line of each judgement."""

    name: str
    items: list[str]
    matrix: np.ndarray
    places: dict[tuple[int, int], str]

    def solve(self) -> AHPResult:
        return ahp(self.matrix, self.items, name=self.name, places=self.places)


@dataclass
class AHPFile:
    """A parsed AHP file: one level (``comparisons``/``matrix``) or dimensions then metrics."""

    path: str
    top: Block
    metrics: dict[str, Block] = field(default_factory=dict)
    hierarchical: bool = False


_BLOCK_KEYS = {"items", "comparisons", "matrix"}
_TOP_KEYS = {"name", "description"}


def load_ahp(path: str | Path) -> AHPFile:
    """Read an AHP comparisons file (format in ``docs/weights.md``).

    Raises
    ------
    ModelError
        Every problem of the file at once (syntax, unknown keys, values off the scale,
        non-reciprocal pairs), each with its file:line.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError.single(Reason.DATA_NOT_FOUND, f"AHP file {path} does not exist",
                                hint="give the path of a YAML file of pairwise comparisons "
                                "(see docs/weights.md)")
    return parse_ahp(path.read_text(encoding="utf-8-sig"), str(path))


def parse_ahp(text: str, file: str = "<ahp>") -> AHPFile:
    """Parse the text of an AHP file; see :func:`load_ahp`."""
    from ruamel.yaml.error import MarkedYAMLError

    from crindex.model.loader import Locator, _lines, _yaml

    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ModelError.single(Reason.MODEL_SYNTAX, f"not valid YAML: {exc.problem or exc}",
                                f"{file}:{mark.line + 1}" if mark else file,
                                "fix the indentation or quoting on that line") from None
    except Exception as exc:  # duplicate keys and other constructor errors
        raise ModelError.single(Reason.MODEL_SYNTAX, f"not valid YAML: {exc}", file) from None
    lines: dict[tuple[str | int, ...], int] = {}
    _lines(doc, (), lines)
    where = Locator(file, lines)
    problems: list[Problem] = []
    shape_hint = ("an AHP file has `comparisons: {a/b: 3, ...}` (one level), or `dimensions:` "
                  "with comparisons of dimensions and `metrics:` with comparisons per dimension")
    if not isinstance(doc, dict):
        raise ModelError.single(Reason.MODEL_SCHEMA, "an AHP file must be a mapping",
                                f"{file}:1", shape_hint)
    hierarchical = "dimensions" in doc or "metrics" in doc
    allowed = _TOP_KEYS | ({"dimensions", "metrics"} if hierarchical else _BLOCK_KEYS)
    for key in doc:
        if key not in allowed:
            problems.append(Problem(f"unknown key `{key}`", where((str(key),)),
                                    "allowed here: " + ", ".join(sorted(allowed)),
                                    Reason.MODEL_SCHEMA))
    metric_blocks: dict[str, Block] = {}
    top: Block | None
    if hierarchical:
        if "dimensions" not in doc:
            problems.append(Problem("`metrics:` needs `dimensions:` (the comparisons of the "
                                    "dimensions) beside it", f"{file}:1", shape_hint,
                                    Reason.MODEL_SCHEMA))
            top = None
        else:
            top = _block(doc["dimensions"], ("dimensions",), "dimensions", where, problems)
        metrics = doc.get("metrics") or {}
        if not isinstance(metrics, dict):
            problems.append(Problem("`metrics` must map each dimension id to its comparisons",
                                    where(("metrics",)), "e.g. metrics: {value: {comparisons: "
                                    "{annual_spend/recency: 2}}}", Reason.MODEL_SCHEMA))
            metrics = {}
        for dim, node in metrics.items():
            block = _block(node, ("metrics", str(dim)), f"metrics of {dim}", where, problems)
            if block is not None:
                metric_blocks[str(dim)] = block
    else:
        top = _block(doc, (), "", where, problems)
    raise_if(problems, ModelError, f"AHP file {file} has {len(problems)} problem(s)")
    assert top is not None
    return AHPFile(file, top, metric_blocks, hierarchical)


def _block(node: Any, path: tuple[str, ...], name: str, where: Any,
           problems: list[Problem]) -> Block | None:
    """One matrix from ``{items?, comparisons}`` or ``{items, matrix}``."""
    from crindex.model.spec import IDENT

    here = where(path) if path else where(("comparisons",))
    label = f"{name}: " if name else ""
    if not isinstance(node, dict) or not ({"comparisons", "matrix"} & set(node)):
        problems.append(Problem(
            f"{label}expected `comparisons: {{a/b: 3, ...}}` or `items` with `matrix`", here,
            "see docs/weights.md for the format", Reason.MODEL_SCHEMA))
        return None
    for key in node:
        if path and key not in _BLOCK_KEYS:
            problems.append(Problem(f"{label}unknown key `{key}`", where((*path, str(key))),
                                    "allowed: items, comparisons, matrix", Reason.MODEL_SCHEMA))
    if "comparisons" in node and "matrix" in node:
        problems.append(Problem(f"{label}give `comparisons` or `matrix`, not both", here, "",
                                Reason.MODEL_SCHEMA))
        return None
    items_node = node.get("items")
    items: list[str] = []
    if items_node is not None:
        if not isinstance(items_node, list) or not all(isinstance(x, str) for x in items_node):
            problems.append(Problem(f"{label}`items` must be a list of ids",
                                    where((*path, "items")), "e.g. items: [value, loyalty]",
                                    Reason.MODEL_SCHEMA))
            return None
        items = [str(x) for x in items_node]
        dupes = sorted({x for x in items if items.count(x) > 1})
        if dupes:
            problems.append(Problem(f"{label}`items` lists {', '.join(dupes)} twice",
                                    where((*path, "items")), "", Reason.DUPLICATE_ID))
            return None
    before = len(problems)
    places: dict[tuple[int, int], str] = {(-1, -1): here}
    if "matrix" in node:
        rows = node["matrix"]
        mpath = (*path, "matrix")
        if not items:
            problems.append(Problem(f"{label}a `matrix` needs `items` (the row and column "
                                    "order)", where(mpath), "e.g. items: [a, b, c]",
                                    Reason.MODEL_SCHEMA))
            return None
        n = len(items)
        if not isinstance(rows, list) or len(rows) != n or not all(
                isinstance(r, list) and len(r) == n for r in rows):
            problems.append(Problem(f"{label}`matrix` must have {n} rows of {n} values (one per "
                                    f"item: {', '.join(items)})", where(mpath), "",
                                    Reason.BAD_PARAMETER))
            return None
        matrix = np.full((n, n), np.nan)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                places[(i, j)] = where((*mpath, i))
                if value is None or value == "?":
                    continue
                try:
                    matrix[i, j] = parse_judgement(value)
                except ValueError as exc:
                    problems.append(Problem(f"{label}{items[i]}/{items[j]}: {exc}",
                                            where((*mpath, i)),
                                            "write a number such as 3 or a fraction such as 1/3; "
                                            "~ or ? for a pair not compared",
                                            Reason.BAD_PARAMETER))
    else:
        comps = node["comparisons"]
        cpath = (*path, "comparisons")
        if not isinstance(comps, dict) or not comps:
            problems.append(Problem(f"{label}`comparisons` must map `a/b` to a judgement",
                                    where(cpath), "e.g. comparisons: {value/loyalty: 3}",
                                    Reason.MODEL_SCHEMA))
            return None
        pairs: list[tuple[str, str, float, str]] = []
        order = list(items)
        for key, value in comps.items():
            at = where((*cpath, str(key)))
            parts = [p.strip() for p in str(key).split("/")]
            if len(parts) != 2 or not all(re.match(IDENT, p) for p in parts) \
                    or parts[0] == parts[1]:
                problems.append(Problem(f"{label}`{key}` is not a pair of two different ids",
                                        at, "write row/column, e.g. value/loyalty: 3 (value is "
                                        "moderately more important than loyalty)",
                                        Reason.BAD_PARAMETER))
                continue
            try:
                number = parse_judgement(value)
            except ValueError as exc:
                problems.append(Problem(f"{label}{key}: {exc}", at, "write a number such as 3 "
                                        "or a fraction such as 1/3", Reason.BAD_PARAMETER))
                continue
            for p in parts:
                if p not in order:
                    if items:
                        problems.append(Problem(
                            f"{label}`{p}` in `{key}` is not in `items`", at,
                            "items: " + ", ".join(items), Reason.BAD_PARAMETER))
                    else:
                        order.append(p)
            pairs.append((parts[0], parts[1], number, at))
        if len(problems) > before:
            return None
        n = len(order)
        matrix = np.full((n, n), np.nan)
        index = {item: k for k, item in enumerate(order)}
        for a, b, number, at in pairs:
            i, j = index[a], index[b]
            matrix[i, j] = number
            places[(i, j)] = at
        items = order
    if len(problems) > before:
        return None
    return Block(name, items, matrix, places)


# --------------------------------------------------------------------------------------------
# a whole file, and a model's weights from it


@dataclass
class AHPSolution:
    """The results of every matrix of an AHP file."""

    file: AHPFile
    top: AHPResult
    metrics: dict[str, AHPResult] = field(default_factory=dict)

    @property
    def results(self) -> list[AHPResult]:
        return [self.top, *self.metrics.values()]

    def overall(self) -> dict[str, float]:
        """Final weights in percent: one level's items, or each metric's share of the total.

        In a hierarchy, a dimension without metric comparisons keeps its own entry.
        """
        out: dict[str, float] = {}
        for item, w in self.top.weight_of().items():
            sub = self.metrics.get(item)
            if sub is None:
                out[item] = 100.0 * w
            else:
                out.update({m: 100.0 * w * s for m, s in sub.weight_of().items()})
        return out


def solve(file: AHPFile, max_cr: float = MAX_CR) -> AHPSolution:
    """Solve every matrix of ``file`` and refuse inconsistent ones (all problems at once).

    Raises
    ------
    ModelError
        A matrix that is not usable (range, reciprocity, links).
    FitError
        Reason ``inconsistent``: a matrix with ``CR >= max_cr``.
    """
    problems: list[Problem] = []
    solved: dict[str, AHPResult] = {}
    blocks = {"": file.top, **file.metrics}
    for key, block in blocks.items():
        try:
            solved[key] = block.solve()
        except ModelError as exc:
            problems += exc.problems
    raise_if(problems, ModelError, f"AHP file {file.path} has {len(problems)} problem(s)")
    top = solved.pop("")
    stray = [Problem(f"`metrics` compares the metrics of `{dim}`, which the dimension "
                     "comparisons do not include", res.places.get((-1, -1), file.path),
                     "dimensions compared: " + ", ".join(top.items), Reason.BAD_PARAMETER)
             for dim, res in solved.items() if dim not in top.items]
    raise_if(stray, ModelError, f"AHP file {file.path} has {len(stray)} problem(s)")
    solution = AHPSolution(file, top, solved)
    require_consistent(solution.results, max_cr)
    return solution


def model_weights(solution: AHPSolution, model: Any) -> tuple[Any, list[str]]:
    """The :class:`~crindex.weights.rewrite.WeightSet` an AHP solution gives ``model``.

    A hierarchical file compares the model's dimensions, then the metrics of each; a dimension
    left out of ``metrics:`` keeps the model's current shares (one metric: 100). A one-level
    file compares either every metric of the model (weights of the total) or every dimension
    (metric shares kept).

    Returns
    -------
    (WeightSet, notes)
        ``notes`` say which shares were kept from the model.

    Raises
    ------
    ModelError
        Items that are not the model's dimensions or metrics, or some left out.
    """
    from crindex.weights.rewrite import WeightSet, _current_shares

    dim_ids = [d.id for d in model.dimensions]
    metric_ids = {d.id: [m.id for m in d.metrics] for d in model.dimensions}
    all_metrics = [m for ms in metric_ids.values() for m in ms]
    problems: list[Problem] = []
    notes: list[str] = []
    top = solution.top
    top_at = top.places.get((-1, -1), solution.file.path)

    def match(items: list[str], wanted: list[str], what: str, at: str) -> None:
        unknown = [x for x in items if x not in wanted]
        absent = [x for x in wanted if x not in items]
        if unknown or absent:
            problems.append(Problem(
                f"{what}: " + "; ".join(
                    ([f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
                      f"among them"] if unknown else [])
                    + ([f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not "
                        "compared"] if absent else [])),
                at, f"{what}: {', '.join(wanted)}", Reason.BAD_PARAMETER))

    if solution.file.hierarchical:
        match(top.items, dim_ids, f"dimensions of model {model.name}", top_at)
        for dim, res in solution.metrics.items():
            at = res.places.get((-1, -1), solution.file.path)
            if dim not in metric_ids:
                problems.append(Problem(f"`metrics` names `{dim}`, not a dimension of model "
                                        f"{model.name}", at, "dimensions: " + ", ".join(dim_ids),
                                        Reason.BAD_PARAMETER))
                continue
            match(res.items, metric_ids[dim], f"metrics of dimension {dim}", at)
        raise_if(problems, ModelError, "the AHP file does not fit the model")
        dims = {d: 100.0 * w for d, w in top.weight_of().items()}
        shares: dict[str, dict[str, float]] = {}
        for d in dim_ids:
            if d in solution.metrics:
                shares[d] = {m: 100.0 * w for m, w in solution.metrics[d].weight_of().items()}
            else:
                shares[d] = _current_shares(model, d)
                if len(metric_ids[d]) > 1:
                    notes.append(f"dimension {d}: no metric comparisons, the model's shares are "
                                 "kept")
        return WeightSet(dims, shares), notes
    if set(top.items) <= set(dim_ids) and not set(top.items) & set(all_metrics):
        match(top.items, dim_ids, f"dimensions of model {model.name}", top_at)
        raise_if(problems, ModelError, "the AHP file does not fit the model")
        notes.append("the file compares dimensions: the metric shares within each are kept")
        return WeightSet({d: 100.0 * w for d, w in top.weight_of().items()},
                         {d: _current_shares(model, d) for d in dim_ids}), notes
    match(top.items, all_metrics, f"metrics of model {model.name}", top_at)
    raise_if(problems, ModelError, "the AHP file does not fit the model")
    return WeightSet.from_overall(model, solution.overall()), notes
