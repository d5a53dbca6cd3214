"""A declarative sweep grid: parameters x values x seeds.

Every point of a :class:`Grid` is one combination of parameter values plus a seed index. A
point carries everything needed to compute it (its parameters and an integer seed), so it is a
pure function of itself: the same point gives the same record on any machine or backend.

Seeds are derived, not drawn: ``numpy.random.SeedSequence(base_seed, spawn_key=...)`` with a
spawn key made from the point's seed index and a hash of its parameters. Adding values to a
grid therefore never changes the seed (or the stored key) of an existing point, which is what
lets a rerun skip finished points.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .._validation import check_count


def _canonical(value: Any, name: str) -> Any:
    """Return ``value`` as a plain JSON scalar (numpy scalars become Python ones).

    Parameter values must be JSON scalars so that point keys are canonical and records flat.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"parameter {name!r}: value {value!r} is not finite")
        return value
    raise TypeError(
        f"parameter {name!r}: value {value!r} of type {type(value).__name__} is not a "
        f"bool, int, float, str or None"
    )


def point_key(params: Mapping[str, Any], seed_index: int, base_seed: int) -> str:
    """Canonical text of a point: sorted-key JSON of its parameters, seed index and base seed."""
    body = {
        "params": {k: params[k] for k in sorted(params)},
        "seed_index": int(seed_index),
        "base_seed": int(base_seed),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def point_id(key: str) -> str:
    """Short stable identifier of a point key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def derive_seed(params: Mapping[str, Any], seed_index: int, base_seed: int) -> int:
    """The integer seed of a point, a pure function of its parameters and seed index.

    The parameters enter as four 32-bit words of a SHA-256 of their canonical JSON, so two
    points that differ in any parameter draw independent data.
    """
    digest = hashlib.sha256(point_key(params, 0, 0).encode()).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    ss = np.random.SeedSequence(int(base_seed), spawn_key=(int(seed_index), *words))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Point:
    """One grid point.

    Attributes
    ----------
    params : dict
        Parameter name -> JSON scalar, swept and fixed parameters alike.
    seed_index : int
        Which repetition (0 .. n_seeds - 1).
    seed : int
        Derived integer seed (non-negative, < 2**63); pass it as ``random_state``.
    key : str
        Canonical text of the point (see :func:`point_key`).
    id : str
        Short hash of ``key``; the file name of the point in a results store.
    """

    params: dict
    seed_index: int
    seed: int
    key: str
    id: str


class Grid:
    """Cartesian grid of swept parameters, fixed parameters and seeds.

    Parameters
    ----------
    swept : mapping of str to sequence
        Parameter name -> values to sweep (each a JSON scalar). Order is kept: the first
        parameter varies slowest.
    fixed : mapping of str to scalar, optional
        Parameters held constant; they are part of every point (and of its key).
    seeds : int
        Number of repetitions per parameter combination (seed indices ``0 .. seeds - 1``).
    base_seed : int
        Root of every derived seed.

    Examples
    --------
    >>> g = Grid({"d": [128, 256], "alpha": [1.0, 2.0]}, fixed={"link": "z1*z2"}, seeds=3)
    >>> len(g)
    12
    """

    def __init__(
        self,
        swept: Mapping[str, Sequence[Any]],
        fixed: Mapping[str, Any] | None = None,
        seeds: int = 1,
        base_seed: int = 0,
    ):
        fixed = dict(fixed or {})
        overlap = sorted(set(swept) & set(fixed))
        if overlap:
            raise ValueError(f"parameters {overlap} are both swept and fixed")
        check_count(seeds, "seeds", minimum=1)
        check_count(base_seed, "base_seed")
        self.swept: dict[str, list] = {}
        for name, values in swept.items():
            if isinstance(values, np.ndarray):
                values = values.tolist()
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(f"swept parameter {name!r} needs a list of values, got {values!r}")
            vals = [_canonical(v, name) for v in values]
            if not vals:
                raise ValueError(f"swept parameter {name!r} has no values")
            if len(set(map(repr, vals))) != len(vals):
                raise ValueError(f"swept parameter {name!r} has repeated values: {vals}")
            self.swept[name] = vals
        self.fixed: dict[str, Any] = {k: _canonical(v, k) for k, v in fixed.items()}
        self.seeds = int(seeds)
        self.base_seed = int(base_seed)

    def __len__(self) -> int:
        return self.seeds * int(np.prod([len(v) for v in self.swept.values()], dtype=np.int64))

    def __iter__(self) -> Iterator[Point]:
        names = list(self.swept)
        for seed_index in range(self.seeds):
            for combo in itertools.product(*(self.swept[n] for n in names)):
                params = {**self.fixed, **dict(zip(names, combo))}
                key = point_key(params, seed_index, self.base_seed)
                yield Point(
                    params=params,
                    seed_index=seed_index,
                    seed=derive_seed(params, seed_index, self.base_seed),
                    key=key,
                    id=point_id(key),
                )

    def to_dict(self) -> dict:
        """JSON-ready description (what a results store's manifest records)."""
        return {
            "swept": self.swept,
            "fixed": self.fixed,
            "seeds": self.seeds,
            "base_seed": self.base_seed,
        }

    def __repr__(self) -> str:
        return (
            f"Grid(swept={self.swept!r}, fixed={self.fixed!r}, seeds={self.seeds}, "
            f"base_seed={self.base_seed})"
        )
