"""Choose the output channel of a link: a closed form where one exists, else quadrature."""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..links import get_link
from .channel import MIN_NOISE, Channel, QuadratureChannel
from .closed_forms import closed_form_channel


def make_channel(
    link, noise: float = 0.0, r: Optional[int] = None, *, min_noise: Optional[float] = None
) -> Channel:
    """The channel of ``y = link(z) + noise * N(0, 1)``: a closed form where one exists.

    Parameters
    ----------
    link : str, Link or callable (a callable needs ``r``).
    noise : float >= 0
    r : int, optional
    min_noise : float, optional
        Regularising noise of a noiseless link without a closed form; default ``MIN_NOISE``
        times the std of ``link(z)``, ``z ~ N(0, I)``.

    Returns
    -------
    Channel
    """
    link = get_link(link, r)
    channel = closed_form_channel(link, noise)
    if channel is not None:
        return channel
    if noise == 0.0:
        if min_noise is None:
            z = np.random.default_rng(0).standard_normal((20_000, link.r))
            min_noise = MIN_NOISE * float(np.std(link(z)))
        noise = float(min_noise)
    return QuadratureChannel(link, noise)
