"""Shipped experiments as data: a point function, default and ``--full`` grids, a plot, a table.

Every parameter of an experiment has a default; the defaults say which parameters are swept
(lists) and which are fixed (scalars). ``--set key=v1,v2`` replaces a swept list or turns a
fixed parameter into a swept one; values are parsed by the type of the parameter's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from .backends import PointFunction
from .grid import Grid

if TYPE_CHECKING:  # pandas loads with the experiment that uses it
    import pandas as pd

#: ``plot(df, manifest) -> matplotlib Figure``.
PlotFunction = Callable[["pd.DataFrame", dict], Any]
#: ``table(df) -> DataFrame`` summarising the records (means and spreads over seeds).
TableFunction = Callable[["pd.DataFrame"], "pd.DataFrame"]


@dataclass(frozen=True)
class Experiment:
    """One shipped experiment.

    Attributes
    ----------
    name : str
        Command-line name (``mimkit sweep NAME``).
    summary : str
        One line for ``mimkit list``.
    point : callable ``(params, seed) -> record(s)``
        Importable point function.
    swept, fixed : dict
        Default grid: swept parameters (lists of values) and fixed ones (scalars).
    seeds : int
        Default repetitions per combination.
    full_swept, full_fixed, full_seeds
        Replacements for ``--full`` (a real study; hours rather than minutes).
    plot, table : callables
        Figure and summary table from the loaded records.
    """

    name: str
    summary: str
    point: PointFunction
    swept: dict
    fixed: dict
    seeds: int
    plot: PlotFunction
    table: TableFunction
    full_swept: dict = field(default_factory=dict)
    full_fixed: dict = field(default_factory=dict)
    full_seeds: Optional[int] = None

    def __post_init__(self):
        both = sorted(set(self.swept) & set(self.fixed))
        if both:
            raise ValueError(f"experiment {self.name!r}: {both} are both swept and fixed")

    @property
    def parameters(self) -> dict:
        """Every parameter with its default (a list for swept ones)."""
        return {**self.fixed, **self.swept}

    def grid(
        self,
        overrides: Optional[Mapping[str, Sequence[Any]]] = None,
        seeds: Optional[int] = None,
        full: bool = False,
        base_seed: int = 0,
    ) -> Grid:
        """The grid of a run: defaults (or ``--full`` sizes), then ``overrides``.

        Parameters
        ----------
        overrides : mapping of name to list of values, optional
            Already parsed values (see :func:`parse_set`). One value fixes a parameter,
            several sweep it.
        seeds : int, optional
            Repetitions; default ``self.seeds`` (or ``full_seeds`` with ``full``).
        full : bool
            Start from the ``--full`` sizes.

        Raises
        ------
        ValueError
            For a parameter the experiment does not have.
        """
        swept = {k: list(v) for k, v in self.swept.items()}
        fixed = dict(self.fixed)
        if full:
            for k, v in self.full_swept.items():
                fixed.pop(k, None)
                swept[k] = list(v)
            for k, v in self.full_fixed.items():
                swept.pop(k, None)
                fixed[k] = v
        for name, values in (overrides or {}).items():
            if name not in self.parameters:
                raise ValueError(
                    f"experiment {self.name!r} has no parameter {name!r}; "
                    f"it has: {', '.join(sorted(self.parameters))}"
                )
            swept.pop(name, None)
            fixed.pop(name, None)
            if len(values) == 1:
                fixed[name] = values[0]
            else:
                swept[name] = list(values)
        if seeds is None:
            seeds = self.full_seeds if full and self.full_seeds else self.seeds
        return Grid(swept, fixed, seeds=seeds, base_seed=base_seed)


def _default_type(default: Any) -> type:
    sample = default[0] if isinstance(default, list) else default
    return type(sample)


def _parse_value(text: str, kind: type, name: str) -> Any:
    text = text.strip()
    if kind is bool:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"--set {name}: {text!r} is not a boolean (true/false)")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"--set {name}: {text!r} is not an integer") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"--set {name}: {text!r} is not a number") from None
    if not text:
        raise ValueError(f"--set {name}: empty value")
    return text


def parse_set(items: Sequence[str], experiment: Experiment) -> dict:
    """Parse ``--set key=v1,v2`` items into ``{key: [values]}`` for ``experiment``.

    Raises
    ------
    ValueError
        Naming the item, for bad syntax, an unknown parameter, a value of the wrong type or
        a parameter set twice.
    """
    out: dict[str, list] = {}
    params = experiment.parameters
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not key or not rest.strip():
            raise ValueError(f"bad --set {item!r}: expected key=value or key=v1,v2,...")
        if key not in params:
            raise ValueError(
                f"experiment {experiment.name!r} has no parameter {key!r}; "
                f"it has: {', '.join(sorted(params))}"
            )
        if key in out:
            raise ValueError(f"--set {key} given twice; list all values once: {key}=v1,v2")
        kind = _default_type(params[key])
        values = [_parse_value(v, kind, key) for v in rest.split(",")]
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"--set {key}: repeated values in {rest!r}")
        out[key] = values
    return out
