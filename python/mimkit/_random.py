"""One way to turn a ``random_state`` argument into a numpy Generator."""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np

RandomState = Union[None, int, np.random.Generator, np.random.RandomState]


def as_generator(random_state: RandomState, name: str = "random_state") -> np.random.Generator:
    """``np.random.Generator`` from None (fresh entropy), an int seed, a Generator (returned
    as is, so draws advance it) or a legacy RandomState (seeded from one of its draws)."""
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        if random_state is not None and random_state < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        f"{name} must be None, an int seed or a numpy Generator, got {type(random_state).__name__}."
    )
