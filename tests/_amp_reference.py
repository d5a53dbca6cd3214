"""Numpy reference of the conditional-Gaussian channel, whose moments run in the compiled core
(cpp/amp_channel.hpp): the library's numpy split-quadrature rule (_ConditionalOnZ2.moments,
which SignProductChannel uses) with the likelihood of ``y = z1 (z2 + a0) + noise``, vectorised
over rows x nodes."""

import numpy as np

from mimkit.amp.closed_forms import ConditionalGaussianChannel, _ConditionalOnZ2


class NumpyConditionalGaussian(_ConditionalOnZ2):
    """The numpy twin of a :class:`ConditionalGaussianChannel` (same a0, noise and nodes)."""

    def __init__(self, channel: ConditionalGaussianChannel):
        self.r, self.noise, self.a0, self.split = 2, channel.noise, channel.a0, channel.split
        self.side_nodes, self.n_nodes = channel.side_nodes, channel.n_nodes
        self.kind = "numpy reference"

    def _given_z2(self, t, m, s2, y):
        a = t + self.a0 if self.a0 else t
        precision = a * a  # 1 / tau^2, tau^2 = a^2 s2 + noise^2 the variance of y given z2
        precision *= s2
        if self.noise:
            precision += self.noise**2
        np.reciprocal(precision, out=precision)
        resid = a * m
        np.subtract(y, resid, out=resid)
        scaled = resid * precision
        loglik = np.log(precision)
        resid *= scaled
        loglik -= resid
        loglik *= 0.5
        mu1 = a * scaled
        mu1 *= s2
        mu1 += m
        return loglik, mu1, (precision * (s2 * self.noise**2) if self.noise else None)
