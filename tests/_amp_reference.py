"""Numpy references of the channels whose moments run in the compiled core (cpp/amp_channel.hpp):
the library's former numpy split-quadrature rule (z2 by Gauss-Legendre on each side of a split,
z1 integrated exactly given z2), vectorised over rows x nodes, with the likelihoods of
``y = z1 (z2 + a0) + noise`` and ``y = sign(z1 z2) + noise``."""

import numpy as np
from scipy import special

from mimkit.amp._quadrature import normalised, split_normal_nodes
from mimkit.amp.channel import Channel, summed_product
from mimkit.amp.closed_forms import ConditionalGaussianChannel


class _NumpyConditionalOnZ2(Channel):
    """z2 ~ N(omega2, V22) by split quadrature, z1 | z2 ~ N(m, s2) by :meth:`_given_z2`; the
    numpy twin of a core channel (same split, nodes and noise)."""

    def __init__(self, channel):
        self.r, self.noise, self.split = 2, channel.noise, channel.split
        self.side_nodes, self.n_nodes = channel.side_nodes, channel.n_nodes
        self.kind = "numpy reference"

    def moments(self, omega, V, y):
        sd2 = np.sqrt(V[1, 1])
        c, s2 = V[0, 1] / V[1, 1], V[0, 0] - V[0, 1] ** 2 / V[1, 1]
        t, logw = split_normal_nodes(omega[:, 1], sd2, self.split, self.side_nodes)
        m = t - omega[:, 1:]
        m *= c
        m += omega[:, :1]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            loglik, mu1, var1 = self._given_z2(t, m, s2, y[:, None])
        logw += loglik
        live = np.isfinite(logw[:, :1]) & np.isfinite(logw[:, -1:])
        if not live.all():
            # Nodes of a side with probability zero sit on the split, where the likelihood may
            # be singular: their weight is zero whatever it says.
            dead = np.isneginf(logw) | ~np.isfinite(mu1)
            logw[dead], mu1[dead] = -np.inf, 0.0
            if var1 is not None:
                var1[dead] = 0.0
        p = normalised(logw)
        # Moments of (z1, z2) = (E[z1 | z2, y], t) plus the conditional variance of z1.
        p_mu1, p_t = p * mu1, p * t
        mean = np.stack([p_mu1.sum(axis=1), p_t.sum(axis=1)], axis=1)
        s11 = summed_product(p_mu1, mu1) + (0.0 if var1 is None else summed_product(p, var1))
        s12, s22 = summed_product(p_mu1, t), summed_product(p_t, t)
        second = np.array([[s11, s12], [s12, s22]])
        return mean, second - mean.T @ mean

    def _given_z2(self, t, m, s2, y):
        """log P(y | z2), E[z1 | z2, y], Var[z1 | z2, y], each (n, nodes); the variance may be
        None, meaning 0 (z1 is then determined by z2 and y)."""
        raise NotImplementedError


class NumpyConditionalGaussian(_NumpyConditionalOnZ2):
    """The numpy twin of a :class:`ConditionalGaussianChannel` (same a0, noise and nodes)."""

    def __init__(self, channel: ConditionalGaussianChannel):
        super().__init__(channel)
        self.a0 = channel.a0

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


class NumpySignProduct(_NumpyConditionalOnZ2):
    """The numpy twin of a :class:`SignProductChannel` (same noise and nodes): given z2, the
    event ``sign(z1) = e`` is a truncated normal (moments by ``Phi`` and the inverse Mills
    ratio)."""

    def _log_label(self, s: float, y: np.ndarray) -> np.ndarray:
        """log P(y | sign(z1 z2) = s), up to a constant in s."""
        if self.noise == 0.0:
            return np.where(np.where(y >= 0, 1.0, -1.0) == s, 0.0, -np.inf)
        return -((y - s) ** 2) / (2.0 * self.noise**2)

    def _given_z2(self, t, m, s2, y):
        sd1 = np.sqrt(s2)
        side = np.where(t >= 0, 1.0, -1.0)
        # log P(sign(z1) = +-1 | z2) = log Phi(+-m / sd1): log_ndtr for the smaller of the two,
        # the larger as log(1 - exp(smaller)), exact since exp(smaller) <= 1/2.
        a_pos = m / sd1
        smaller = special.log_ndtr(-np.abs(a_pos))
        larger = np.log1p(-np.exp(smaller))
        positive = a_pos >= 0
        log_masses = (np.where(positive, larger, smaller), np.where(positive, smaller, larger))
        logs, means, seconds = [], [], []
        for e, log_mass in zip((1.0, -1.0), log_masses):  # the sign of z1
            a = e * a_pos
            lam = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_mass)
            mean = m + e * sd1 * lam
            var = np.maximum(s2 * (1.0 - lam * (lam + a)), 0.0)
            label = np.where(side > 0, self._log_label(e, y), self._log_label(-e, y))
            logs.append(label + log_mass)
            means.append(mean)
            seconds.append(var + mean**2)
        logs = np.stack(logs)
        loglik = np.logaddexp(logs[0], logs[1])
        with np.errstate(invalid="ignore"):
            w = np.exp(logs - loglik)
        w = np.nan_to_num(w)
        mean = w[0] * means[0] + w[1] * means[1]
        return loglik, mean, w[0] * seconds[0] + w[1] * seconds[1] - mean * mean
