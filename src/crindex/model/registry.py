"""Registries of the pluggable pieces of a model: aggregates, normalisers, validation rules.

The model package holds only the registry *types* and the descriptions' shapes. The pieces
themselves register from their own modules, which carry their name, their parameters (a
frozen pydantic schema checked when a model is loaded), their own error text and how they are
computed:

- aggregates: :mod:`crindex.engine.aggregates` (built in), :mod:`crindex.clv.metrics`
  (``p_alive``, ``expected_purchases``, ``clv``);
- normalisers: :mod:`crindex.engine.normalisers`;
- validation rules: :mod:`crindex.model.rules` (built in), and the plug-ins above and
  :mod:`crindex.alerts.rules` add their own.

Plug-in modules are found by name, when a registry is first read (:func:`discover`): the
modules of :data:`PLUGINS`, then any module named by an entry point of the group
``crindex.plugins``. A plug-in module imports its engine (Ibis, numpy) only inside the
functions that build or fit, so loading and checking a model never loads an engine.

Adding an aggregate or a normaliser therefore touches its own module (and its test) only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler
from pydantic_core import core_schema

if TYPE_CHECKING:
    from crindex.errors import Problem
    from crindex.model.rules import Checking
    from crindex.model.spec import RawDomain

#: modules that register built-in pieces, imported by name when a registry is first read
PLUGINS: tuple[str, ...] = (
    "crindex.model.rules",
    "crindex.model.partition",
    "crindex.model.groups",
    "crindex.engine.aggregates",
    "crindex.engine.normalisers",
    "crindex.clv.metrics",
    "crindex.alerts.rules",
)
#: entry point group through which other packages add plug-in modules
ENTRY_POINT_GROUP = "crindex.plugins"

_discovered = False


def discover() -> None:
    """Import every plug-in module once, so that each registers what it contributes.

    Called by every registry read; registering never triggers it, so a plug-in module being
    imported can register freely.
    """
    global _discovered
    if _discovered:
        return
    _discovered = True  # first, so a plug-in that reads a registry while loading is no loop
    try:
        for name in PLUGINS:
            importlib.import_module(name)
        from importlib.metadata import entry_points

        for point in entry_points(group=ENTRY_POINT_GROUP):
            importlib.import_module(point.value.split(":")[0])
    except BaseException:
        _discovered = False  # a plug-in that failed to load must not leave a partial registry
        raise


T = TypeVar("T")


class Registry(Generic[T]):
    """Named items registered by plug-in modules; read like a read-only mapping."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name``; a second item with the same name is a bug."""
        if name in self._items and self._items[name] is not item:
            raise KeyError(f"{self.kind} `{name}` is registered twice")
        self._items[name] = item
        return item

    def _all(self) -> dict[str, T]:
        discover()
        return self._items

    def __getitem__(self, name: str) -> T:
        return self._all()[name]

    def get(self, name: str, default: T | None = None) -> T | None:
        return self._all().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._all())

    def items(self) -> list[tuple[str, T]]:
        return list(self._all().items())

    def values(self) -> list[T]:
        return list(self._all().values())


# --------------------------------------------------------------------------------------------
# aggregates


@dataclass(frozen=True)
class AggregateInfo:
    """One aggregate: which table it reads, which keys and params it takes, how it computes.

    ``build(ctx, metric)`` returns the engine plan (see :mod:`crindex.engine.aggregates`);
    ``fit(ctx, metric, shared)``, where given, learns from the data before compiling and
    returns an object whose ``table`` the plan joins (see :mod:`crindex.engine.fit`).
    ``params`` is the schema of the metric's ``params:`` (no params by default).
    """

    name: str
    summary: str
    default_table: str | None = None
    fixed_table: str | None = None
    needs_column: bool = False
    #: False: the aggregate reads no column of the model's choosing, so a ``column`` is refused
    takes_column: bool = True
    #: its value is the column's own value, of the column's contract type (``latest``,
    #: ``attribute``): a column that is not numeric is scored by the ``map`` normaliser only
    passes_column: bool = False
    needs_kind: bool = False
    numeric: bool = True
    #: the aggregates allowed as the numerator and denominator (a ``ratio``)
    parts: tuple[str, ...] = ()
    #: columns it always reads besides ``column``, ``kind`` and ``where`` (data checks need them)
    reads: tuple[str, ...] = ()
    params: type[BaseModel] | None = None
    build: Callable[..., Any] | None = None
    fit: Callable[..., Any] | None = None
    #: the values it can take: a whole number (rows, days) and its bounds, where known
    whole: bool = False
    lowest: float | None = None
    highest: float | None = None
    #: how many back-to-back windows of the metric's length it reads (``change`` reads the
    #: previous one too); a function of the metric, one window when not given
    lookback: Callable[[Any], int] | None = None

    @property
    def ratio(self) -> bool:
        """True for an aggregate of two sides (``numerator`` / ``denominator``)."""
        return bool(self.parts)


AGGREGATES: Registry[AggregateInfo] = Registry("aggregate")


def register_aggregate(info: AggregateInfo) -> AggregateInfo:
    """Register an aggregate (from the module that implements it)."""
    return AGGREGATES.add(info.name, info)


def raw_domain(metric: Any) -> RawDomain:
    """The values a metric's raw value can take, from its aggregate (see :class:`RawDomain`)."""
    from crindex.model.spec import RawDomain

    info = AGGREGATES[metric.aggregate]
    return RawDomain(info.lowest, info.highest, info.whole)


def params_of(metric: Any) -> BaseModel:
    """A metric's ``params`` checked against its aggregate's schema (already checked on load)."""
    info = AGGREGATES[metric.aggregate]
    schema = info.params or NoParams
    return schema.model_validate(dict(getattr(metric, "params", None) or {}))


class NoParams(BaseModel):
    """The params of an aggregate that takes none: any key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------
# normalisers


#: normaliser settings classes by ``method`` (subclasses of :class:`crindex.model.spec.Normaliser`)
NORMALISERS: Registry[type[BaseModel]] = Registry("normaliser")


def register_normaliser(cls: type[BaseModel]) -> type[BaseModel]:
    """Register a normaliser's settings class under the one value of its ``method`` field."""
    names: tuple[Any, ...] = getattr(cls.model_fields["method"].annotation, "__args__", ())
    if len(names) != 1:
        raise TypeError(f"{cls.__name__}.method must be a Literal of one name")
    return NORMALISERS.add(str(names[0]), cls)


class RegisteredUnion:
    """``Annotated`` marker: validate as whichever registered class the ``method`` key names.

    The union is built when the owning model's schema is first built (specs defer it), so
    every plug-in has registered by then; errors keep their path (the tag is part of it) and
    the JSON Schema lists every registered normaliser.
    """

    def __init__(self, registry: Registry[type[BaseModel]], key: str):
        self.registry = registry
        self.key = key

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        choices: dict[Any, core_schema.CoreSchema] = {
            name: handler.generate_schema(cls) for name, cls in self.registry.items()}
        return core_schema.tagged_union_schema(choices, discriminator=self.key)


# --------------------------------------------------------------------------------------------
# validation rules

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class ModelRule:
    """A validation rule: a function returning every problem it finds, and their level.

    Problems of an ``error`` rule stop the model from loading; ``warning`` problems are kept on
    the model (``CRIModel.warnings``) and printed by ``validate`` and ``score``.
    """

    name: str
    check: Callable[[Checking], Iterable[Problem]]
    level: Level = "error"


RULES: Registry[ModelRule] = Registry("validation rule")


def register_rule(name: str, level: Level = "error"
                  ) -> Callable[[Callable[[Checking], Iterable[Problem]]],
                                Callable[[Checking], Iterable[Problem]]]:
    """Register ``check(checking)`` as the validation rule ``name`` (decorator)."""

    def wrap(check: Callable[[Checking], Iterable[Problem]]
             ) -> Callable[[Checking], Iterable[Problem]]:
        RULES.add(name, ModelRule(name, check, level))
        return check

    return wrap


def metric_table(metric: Any) -> str:
    """The canonical table a metric reads: its aggregate's fixed table, ``table``, or default."""
    info = AGGREGATES[metric.aggregate]
    return info.fixed_table or metric.table or info.default_table or "orders"
