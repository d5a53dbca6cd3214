"""The link library: functions ``g: R^r -> R`` of a Gaussian multi-index model.

A link is a library name (see :data:`LINKS`), a :class:`Link`, or any vectorised Python
callable on an ``(n, r)`` array returning ``(n,)``; :func:`get_link` turns all three into a
:class:`Link`.

``theory_covers`` marks the links the layer-wise theory applies to (docs/theory.md, "The model").
Small-init phase 1 with ``sigma'(0) = 0`` is power iteration on the local Hessian
``E[T(y) (z z^T - I)]`` (docs/theory.md, "Phase 1"), so the theory needs (i) no linear Hermite
component (``E[g(z) z] = 0``: a linear part is invisible to phase 1, and the theory's expansion
assumes it vanishes) and (ii) some label preprocessing ``T`` for which that Hessian has rank
``r`` on the index subspace (generative exponent 2). For ``z1*z2*z3`` (ii) needs an *even*
``T`` (e.g. ``|y|``): every odd ``T`` (squared, l1, Huber losses) gives a zero Hessian by the
symmetry ``z1 -> -z1``.

Links outside the theory in a structured way (docs/theory.md, "Hierarchies"): ``z1_plus_z1z2``
and ``sign_committee`` have a first-order part (a *trivial* subspace, ``E[z|y] != 0``);
``sq_sign3`` is a *grand staircase*: every T gives a Hessian of rank 1 (z1 only), and z2, z3
become learnable once z1 is known; ``parity3`` is *hard* for every first- or second-order method.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from ._native import native
from ._validation import check_count, real_output


@dataclass(frozen=True)
class Link:
    """A link function ``g: R^r -> R`` with its metadata.

    Attributes
    ----------
    name : str
        Library name, or the callable's ``__name__`` for a user link.
    r : int
        Number of index directions (the width of ``z``).
    description : str
        One line, with the formula.
    theory_covers : bool or None
        Whether the layer-wise theory applies (module docstring); None for a user callable.
    fn : callable
        ``fn(z)`` with ``z`` of shape (n, r), returning shape (n,).
    in_core : bool
        Whether ``fn`` is the compiled core's implementation of the library link ``name`` (so a
        streamed data set can make its labels in the core, :mod:`mimkit.stream`).
    """

    name: str
    r: int
    description: str
    theory_covers: Optional[bool]
    fn: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    in_core: bool = field(default=False, repr=False, compare=False)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Evaluate ``g`` on the rows of ``z``.

        Parameters
        ----------
        z : (n, r) array

        Returns
        -------
        (n,) array
        """
        z = np.asarray(z)
        if not (np.issubdtype(z.dtype, np.number) or z.dtype == np.bool_) or np.iscomplexobj(z):
            raise TypeError(f"z has non-real dtype {z.dtype}; pass a float array.")
        if z.ndim != 2 or z.shape[1] != self.r:
            raise ValueError(f"link {self.name!r} takes z of shape (n, {self.r}), got {z.shape}.")
        out = real_output(self.fn(z), f"link {self.name!r}", "link")
        if out.shape == (z.shape[0], 1):
            out = out[:, 0]
        if out.shape != (z.shape[0],):
            raise ValueError(
                f"link {self.name!r} returned shape {out.shape} for z of shape {z.shape}; "
                f"it must return one value per row, shape ({z.shape[0]},)."
            )
        return out


def he2(z: np.ndarray) -> np.ndarray:
    """Second (probabilists') Hermite polynomial ``He2(z) = z^2 - 1``."""
    return z * z - 1.0


class _CoreLink:
    """The core's implementation of library link ``name`` (cpp/links.hpp), on float64 rows.

    A module-level class, not a closure, so that links, models and streams pickle (by name).
    """

    def __init__(self, name: str):
        self.__name__ = name

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return native.link_values(np.ascontiguousarray(z, dtype=np.float64), self.__name__)


def _fixed(name: str, r: int, description: str, covers: bool) -> Callable[[Optional[int]], Link]:
    def factory(r_req: Optional[int]) -> Link:
        if r_req is not None and _check_r(r_req) != r:
            raise ValueError(
                f"link {name!r} has r = {r}; got r={r_req}. Omit r for library links "
                f"with a fixed r."
            )
        return Link(name, r, description, covers, _CoreLink(name), in_core=True)

    return factory


def _sized(
    name: str, default_r: int, description: Callable[[int], str], covers: bool
) -> Callable[[Optional[int]], Link]:
    def factory(r_req: Optional[int]) -> Link:
        r = default_r if r_req is None else _check_r(r_req)
        return Link(name, r, description(r), covers, _CoreLink(name), in_core=True)

    return factory


def _check_r(r) -> int:
    return check_count(r, "r", minimum=1, hint="r is the number of index directions.")


# The formulas live in the core (cpp/links.hpp), one implementation for arrays and streams.
_FACTORIES: dict[str, Callable[[Optional[int]], Link]] = {
    "z1z2": _fixed("z1z2", 2, "z1*z2: the product of two directions", True),
    "he2_sum": _sized("he2_sum", 3, lambda r: f"He2(z1)+...+He2(z{r}) with He2(z) = z^2-1", True),
    "norm2": _sized("norm2", 2, lambda r: f"|z|^2/{r}: squared norm in the {r}-dim subspace", True),
    "sign_z1z2": _fixed("sign_z1z2", 2, "sign(z1*z2): the quadrant sign (sign(0) = 1)", True),
    "z1z2z3": _fixed(
        "z1z2z3",
        3,
        "z1*z2*z3: triple product (needs an even label preprocessing such as |y|)",
        True,
    ),
    "z1_plus_z1z2": _fixed(
        "z1_plus_z1z2",
        2,
        "z1 + z1*z2: linear part plus a product; both directions first-order (E[z2 y^2] = 2), "
        "outside the theory",
        False,
    ),
    "tanh_committee": _sized(
        "tanh_committee",
        2,
        lambda r: (
            "+".join(f"tanh(z{k})" for k in range(1, r + 1))
            + ": committee with a linear part (outside the theory)"
        ),
        False,
    ),
    "parity3": _fixed(
        "parity3", 3, "sign(z1*z2*z3): parity, generative exponent 3 (hard for every method)", False
    ),
    "sq_sign3": _fixed(
        "sq_sign3",
        3,
        "z1^2 + sign(z1*z2*z3): grand staircase, z2 and z3 learnable only once z1 is known "
        "(outside the theory: every T gives a rank-1 Hessian)",
        False,
    ),
    "sign_committee": _fixed(
        "sign_committee",
        3,
        "sign(z1)+sign(z2)+sign(z3): first-order direction (1,1,1)/sqrt(3), then its "
        "complement (outside the theory: a linear part)",
        False,
    ),
}

#: Former names of library links: still accepted by :func:`get_link`, with a DeprecationWarning.
#: ``staircase`` was no staircase for label-transform methods (both directions are first-order).
DEPRECATED_NAMES: dict[str, str] = {"staircase": "z1_plus_z1z2"}

#: Library links by name, each at its default ``r`` (use :func:`get_link` for another r).
LINKS: dict[str, Link] = {name: make(None) for name, make in _FACTORIES.items()}


def get_link(
    link: Union[str, Link, Callable[[np.ndarray], np.ndarray]], r: Optional[int] = None
) -> Link:
    """Resolve a link given by name, as a :class:`Link`, or as a callable.

    Parameters
    ----------
    link : str, Link or callable
        A name from :data:`LINKS`; a ``Link`` (returned as is); or a vectorised callable taking
        ``z`` of shape (n, r) and returning (n,).
    r : int, optional
        Number of index directions. Required for a callable; for ``he2_sum``, ``norm2`` and
        ``tanh_committee`` it sets the size (defaults 3, 2, 2); for other library links it must
        be omitted or equal their fixed r.

    Returns
    -------
    Link
    """
    if isinstance(link, Link):
        if r is not None and _check_r(r) != link.r:
            raise ValueError(f"link {link.name!r} has r = {link.r}, but r={r} was given.")
        return link
    if isinstance(link, str):
        if link in DEPRECATED_NAMES:
            warnings.warn(
                f"link {link!r} is deprecated; use {DEPRECATED_NAMES[link]!r} (the same "
                f"function under an honest name).",
                DeprecationWarning,
                stacklevel=2,
            )
            link = DEPRECATED_NAMES[link]
        if link not in _FACTORIES:
            raise ValueError(
                f"unknown link {link!r}; choose one of {', '.join(_FACTORIES)}, "
                f"or pass a callable on (n, r) arrays with r."
            )
        return _FACTORIES[link](r)
    if callable(link):
        if r is None:
            raise ValueError(
                "a callable link needs r, the number of index directions "
                "(the width of the (n, r) array it takes); pass r=..."
            )
        name = getattr(link, "__name__", type(link).__name__)
        return Link(name, _check_r(r), "user-supplied callable", None, link)
    raise TypeError(
        f"link must be a library name, a Link or a callable, got {type(link).__name__}."
    )
