// GAMP's output channels of two indices whose z1 is exact given z2 (python/mimkit/amp/
// closed_forms.py): the conditional-Gaussian y = z1 (z2 + a0) + noise xi
// (ConditionalGaussianChannel) and the sign product y = sign(z1 z2) + noise xi
// (SignProductChannel). Per row, the posterior mean of z = (z1, z2) given y under the prior
// N(omega_i, V), and the sum over rows of the posterior covariance.
//
// Given z2, z1 is Gaussian, integrated exactly by each channel's per-node likelihood (below);
// z2 ~ N(omega_i2, V22) by Gauss-Legendre on each side of the channel's split, in the quantile
// of the normal restricted to that side (python/mimkit/amp/_quadrature.py, split_normal_nodes).
// The quantiles come from the cubic table that Python builds (_half_line_table), passed in, so
// both evaluate the same nodes.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "chunking.hpp"

namespace mimkit {

// log Phi(x), accurate in both tails (as scipy.special.log_ndtr): log1p of the small upper tail
// above -1; log of erfc between -20 and -1; below -20, where erfc heads for underflow, the
// asymptotic series Phi(x) = phi(x) / |x| * sum_k (-1)^k (2k - 1)!! / x^(2k).
inline double log_ndtr(double x) {
    const double t = x * 0.70710678118654752440;  // x / sqrt(2)
    if (x > -1.0) return std::log1p(-0.5 * std::erfc(t));
    if (x > -20.0) return std::log(0.5 * std::erfc(-t));
    const double inv_x2 = 1.0 / (x * x);
    double term = 1.0;
    double series = 1.0;
    for (int k = 1; k < 100; ++k) {
        term *= -(2.0 * k - 1.0) * inv_x2;
        series += term;
        if (std::abs(term) < 1e-17 * std::abs(series)) break;
    }
    return -0.5 * x * x - std::log(-x) - 0.91893853320467274178 + std::log(series);
}

// The cubic pieces of T_j(a) = Phi^{-1}(u_j Phi(a)) on a grid of a: coefficients (intervals, 4,
// nodes) of 1, f, f^2, f^3 in the fraction f of an interval; a is clipped to [-edge, edge].
struct HalfLineTable {
    const double* coefficients;
    Index intervals;
    Index nodes;
    double edge;
    double step;

    // T_j(a) for j < nodes into out.
    void evaluate(double a, double* out) const {
        const double pos = (std::clamp(a, -edge, edge) + edge) / step;
        const Index i = std::min(Index(pos), intervals - 1);
        const double f = pos - double(i);
        const double* c = coefficients + i * 4 * nodes;
        for (Index j = 0; j < nodes; ++j) {
            double v = c[3 * nodes + j] * f;
            v += c[2 * nodes + j];
            v *= f;
            v += c[nodes + j];
            v *= f;
            out[j] = v + c[j];
        }
    }
};

// Rows per chunk of the moment pass: the covariance is summed per chunk, then over chunks in
// order, so the result is the same bits on any number of threads.
constexpr Index kChannelChunkRows = 256;

using Nodes = Eigen::ArrayXd;

// Per-node constants of the split rule (n_side nodes on the left, then n_side on the right): the
// sign that mirrors the table's nodes onto the right side and the Gauss-Legendre log weights,
// reversed on the right side with its nodes (the mirror image keeps t sorted); relative weights
// below exp(-negligible) count as exactly 0 (no subnormal numbers).
struct SplitRule {
    Nodes sign;
    Nodes log_w;
    double negligible;
    SplitRule(const double* side_log_w, Index n_side, double negligible_)
        : sign(2 * n_side), log_w(2 * n_side), negligible(negligible_) {
        for (Index j = 0; j < n_side; ++j) {
            sign[j] = 1.0;
            sign[n_side + j] = -1.0;
            log_w[j] = side_log_w[j];
            log_w[n_side + j] = side_log_w[n_side - 1 - j];
        }
    }
};

// Scratch of one thread: per node of a row, z2 = t, the log weight (then the weight),
// E[z1 | z2, y], Var[z1 | z2, y] and three temporaries of the likelihoods (named for the
// conditional-Gaussian one's).
struct ChannelScratch {
    Nodes t, log_w, mu1, var1, slope, precision, resid;
    explicit ChannelScratch(Index nodes)
        : t(nodes),
          log_w(nodes),
          mu1(nodes),
          var1(nodes),
          slope(nodes),
          precision(nodes),
          resid(nodes) {}
};

// The per-node likelihoods. Each has the split point of z2 and given_z2, which takes the nodes
// t = z2 and the prior means m = E[z1 | z2] (in s.t, s.mu1), the label y and the prior variance
// s2 of z1 given z2, and writes log P(y | z2) (up to a constant) into s.log_w and the posterior
// E[z1 | z2, y] and Var[z1 | z2, y] into s.mu1 and s.var1.

// y = z1 (z2 + a0) + noise: given z2, y ~ N(slope m, slope^2 s2 + noise^2), slope = z2 + a0.
struct ConditionalGaussianLikelihood {
    double a0;
    double noise;

    double split() const { return -a0; }

    void given_z2(double y, double s2, ChannelScratch& s) const {
        const double noise2 = noise * noise;
        s.slope = s.t + a0;
        s.precision = (s.slope * s.slope * s2 + noise2).inverse();
        s.resid = y - s.slope * s.mu1;
        s.log_w = s.precision.log() - s.resid * s.resid * s.precision;
        s.log_w *= 0.5;
        s.mu1 += s.slope * s.resid * s.precision * s2;
        s.var1 = s.precision * (s2 * noise2);
    }
};

// y = sign(z1 z2) + noise (sign(0) = 1): given z2, z1 ~ N(m, s2) is a truncated normal on each
// sign e of z1, with mass Phi(e a), a = m / sd1, and, in the inverse Mills ratio
// lambda = phi(a) / Phi(e a), mean m + e sd1 lambda and variance s2 (1 - lambda (lambda + e a)).
struct SignProductLikelihood {
    double noise;

    // Up to |a| = kDirectTail the masses, phi(a) and their products with the labels'
    // likelihoods are normal numbers (the smaller mass is above 1e-197): a row within it is
    // computed in probabilities (an erfc, a vectorised exp and log per node); a row beyond, in
    // logarithms (log Phi by log_ndtr).
    static constexpr double kDirectTail = 30.0;

    double split() const { return 0.0; }

    // log P(y | sign(z1 z2) = sign), up to a constant in sign.
    double log_label(double y, double sign) const {
        if (noise == 0.0) {
            return (y >= 0.0 ? 1.0 : -1.0) == sign ? 0.0 : -std::numeric_limits<double>::infinity();
        }
        return -(y - sign) * (y - sign) / (2.0 * noise * noise);
    }

    void given_z2(double y, double s2, ChannelScratch& s) const {
        const double sd1 = std::sqrt(s2);
        Nodes& a = s.slope;
        Nodes& smaller = s.precision;  // the smaller of the two masses, Phi(-|a|)
        a = s.mu1 / sd1;
        double widest = 0.0;
        for (Index j = 0; j < a.size(); ++j) {
            smaller[j] = 0.5 * std::erfc(std::abs(a[j]) * 0.70710678118654752440);
            widest = std::max(widest, std::abs(a[j]));
        }
        if (!(widest <= kDirectTail)) {
            given_z2_in_logs(y, s2, s);
            return;
        }
        // the labels' likelihoods relative to the larger one (1 and a ratio, or 0 if noiseless)
        const double label_pos = log_label(y, 1.0);
        const double label_neg = log_label(y, -1.0);
        const double label_top = std::max(label_pos, label_neg);
        const double like_pos = std::exp(label_pos - label_top);
        const double like_neg = std::exp(label_neg - label_top);
        Nodes& phi = s.resid;
        phi = (-0.5 * a * a).exp() * 0.39894228040143267794;  // 1 / sqrt(2 pi)
        for (Index j = 0; j < a.size(); ++j) {
            const double mass_pos = a[j] >= 0.0 ? 1.0 - smaller[j] : smaller[j];
            const double mass_neg = a[j] >= 0.0 ? smaller[j] : 1.0 - smaller[j];
            const double lam_pos = phi[j] / mass_pos;
            const double lam_neg = phi[j] / mass_neg;
            const double mean_pos = s.mu1[j] + sd1 * lam_pos;
            const double mean_neg = s.mu1[j] - sd1 * lam_neg;
            const double var_pos = std::max(s2 * (1.0 - lam_pos * (lam_pos + a[j])), 0.0);
            const double var_neg = std::max(s2 * (1.0 - lam_neg * (lam_neg - a[j])), 0.0);
            // z1 > 0 gives the product the sign of z2 (sign(0) = 1)
            const bool right = s.t[j] >= 0.0;
            const double q_pos = (right ? like_pos : like_neg) * mass_pos;
            const double q_neg = (right ? like_neg : like_pos) * mass_neg;
            const double total = q_pos + q_neg;  // 0: y is impossible given z2
            const double w_pos = q_pos / total;
            const double w_neg = q_neg / total;
            const double mean = w_pos * mean_pos + w_neg * mean_neg;
            s.mu1[j] = mean;
            s.var1[j] = w_pos * (var_pos + mean_pos * mean_pos) +
                        w_neg * (var_neg + mean_neg * mean_neg) - mean * mean;
            s.log_w[j] = total;
        }
        s.log_w = s.log_w.log() + label_top;
    }

    // given_z2 in logarithms, for any a.
    void given_z2_in_logs(double y, double s2, ChannelScratch& s) const {
        constexpr double kLogRootTwoPi = 0.91893853320467274178;
        const double sd1 = std::sqrt(s2);
        const double label_pos = log_label(y, 1.0);
        const double label_neg = log_label(y, -1.0);
        for (Index j = 0; j < s.t.size(); ++j) {
            const double m = s.mu1[j];
            const double a = m / sd1;
            // The smaller of the two masses by log Phi, the larger as log(1 - smaller mass),
            // exact since that mass is at most 1/2.
            const double smaller = log_ndtr(-std::abs(a));
            const double larger = std::log1p(-std::exp(smaller));
            const double log_mass_pos = a >= 0.0 ? larger : smaller;
            const double log_mass_neg = a >= 0.0 ? smaller : larger;
            const double log_phi = -0.5 * a * a - kLogRootTwoPi;
            const double lam_pos = std::exp(log_phi - log_mass_pos);
            const double lam_neg = std::exp(log_phi - log_mass_neg);
            const double mean_pos = m + sd1 * lam_pos;
            const double mean_neg = m - sd1 * lam_neg;
            const double var_pos = std::max(s2 * (1.0 - lam_pos * (lam_pos + a)), 0.0);
            const double var_neg = std::max(s2 * (1.0 - lam_neg * (lam_neg - a)), 0.0);
            const bool right = s.t[j] >= 0.0;
            const double log_pos = (right ? label_pos : label_neg) + log_mass_pos;
            const double log_neg = (right ? label_neg : label_pos) + log_mass_neg;
            const double top = std::max(log_pos, log_neg);
            if (!(top > -std::numeric_limits<double>::infinity())) {  // y impossible given z2
                s.log_w[j] = top;
                s.mu1[j] = s.var1[j] = 0.0;
                continue;
            }
            // log(e^log_pos + e^log_neg) and the two signs' posterior weights
            const double ratio = std::exp(std::min(log_pos, log_neg) - top);
            const double w_top = 1.0 / (1.0 + ratio);
            const double w_pos = log_pos >= log_neg ? w_top : ratio * w_top;
            const double w_neg = log_pos >= log_neg ? ratio * w_top : w_top;
            s.log_w[j] = top + std::log1p(ratio);
            const double mean = w_pos * mean_pos + w_neg * mean_neg;
            s.mu1[j] = mean;
            s.var1[j] = w_pos * (var_pos + mean_pos * mean_pos) +
                        w_neg * (var_neg + mean_neg * mean_neg) - mean * mean;
        }
    }
};

// One row: its posterior mean (2) and centred posterior second moments, added to sum (3:
// c11, c12, c22).
template <typename Likelihood>
void split_channel_row(double omega1, double omega2, double y, double sd2, double c, double s2,
                       const HalfLineTable& table, const SplitRule& rule,
                       const Likelihood& likelihood, ChannelScratch& s, double* mean, double* sum) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const Index n_side = table.nodes;
    // the split in units of the prior of z2
    const double a = (likelihood.split() - omega2) / sd2;
    // Left side: nodes T_j(a); right side: the mirror image -T_j(-a) (reversed). A side beyond
    // the table's edge has probability below 1e-299: weight 0.
    table.evaluate(a, s.t.data());
    table.evaluate(-a, s.t.data() + n_side);
    s.t.tail(n_side).reverseInPlace();
    const double log_left = a >= -table.edge ? log_ndtr(a) : -kInf;
    const double log_right = a <= table.edge ? log_ndtr(-a) : -kInf;
    s.t = s.t * rule.sign * sd2 + omega2;
    s.mu1 = (s.t - omega2) * c + omega1;  // E[z1 | z2], until given_z2 conditions on y
    likelihood.given_z2(y, s2, s);
    s.log_w += rule.log_w;
    s.log_w.head(n_side) += log_left;
    s.log_w.tail(n_side) += log_right;
    // A node of a dead side, or whose likelihood or conditional mean is not finite (on the
    // split of a noiseless channel), has weight 0.
    double top = -kInf;
    for (Index j = 0; j < s.t.size(); ++j) {
        if (!(s.log_w[j] > -kInf) || !std::isfinite(s.mu1[j])) {
            s.log_w[j] = -kInf;
            s.mu1[j] = s.var1[j] = 0.0;
        }
        top = std::max(top, s.log_w[j]);
    }
    // Relative weights below exp(-negligible) are exactly 0 (no subnormal numbers). A loop, not
    // Eigen's select, which evaluates exp one coefficient at a time.
    s.resid = s.log_w - top;
    s.log_w = s.resid.exp();
    for (Index j = 0; j < s.t.size(); ++j) {
        if (s.resid[j] < -rule.negligible) s.log_w[j] = 0.0;
    }
    s.log_w /= s.log_w.sum();
    const Nodes& p = s.log_w;
    const double m1 = (p * s.mu1).sum();
    const double m2 = (p * s.t).sum();
    s.mu1 -= m1;
    s.t -= m2;
    mean[0] = m1;
    mean[1] = m2;
    sum[0] += (p * (s.mu1 * s.mu1 + s.var1)).sum();
    sum[1] += (p * s.mu1 * s.t).sum();
    sum[2] += (p * s.t * s.t).sum();
}

// Posterior means (n x 2, row-major, into mean) and the summed posterior covariance (2 x 2,
// row-major, into cov) for rows omega (n x 2) and labels y under the prior covariance V (2 x 2).
template <typename Likelihood>
void split_channel_moments(const double* omega, const double* y, Index n, const double* V,
                           const HalfLineTable& table, const double* side_log_w, double negligible,
                           const Likelihood& likelihood, int n_threads, double* mean, double* cov) {
    const double sd2 = std::sqrt(V[3]);
    const double c = V[1] / V[3];
    const double s2 = V[0] - V[1] * V[1] / V[3];
    const Index n_chunks = (n + kChannelChunkRows - 1) / kChannelChunkRows;
    std::vector<double> partial(3 * std::size_t(n_chunks), 0.0);
    [[maybe_unused]] const int threads = resolve_threads(n_threads);
#pragma omp parallel num_threads(threads)
    {
        ChannelScratch scratch(2 * table.nodes);
        const SplitRule rule(side_log_w, table.nodes, negligible);
        // dynamic: a thread the machine's load holds back takes fewer chunks (the sums are per
        // chunk, so the bits do not depend on which thread took which)
#pragma omp for schedule(dynamic)
        for (Index chunk = 0; chunk < n_chunks; ++chunk) {
            const Index end = std::min(n, (chunk + 1) * kChannelChunkRows);
            for (Index i = chunk * kChannelChunkRows; i < end; ++i) {
                split_channel_row(omega[2 * i], omega[2 * i + 1], y[i], sd2, c, s2, table, rule,
                                  likelihood, scratch, mean + 2 * i, partial.data() + 3 * chunk);
            }
        }
    }
    double sum[3] = {0.0, 0.0, 0.0};
    for (Index chunk = 0; chunk < n_chunks; ++chunk) {
        for (int k = 0; k < 3; ++k) sum[k] += partial[3 * chunk + k];
    }
    cov[0] = sum[0];
    cov[1] = cov[2] = sum[1];
    cov[3] = sum[2];
}

// Row groups of the fused GAMP pass: each sums its own X^T g and covariance, and the groups are
// added in order, so the result is the same bits on any number of threads.
constexpr Index kPassGroups = 16;

using Thin = Eigen::Matrix<double, Eigen::Dynamic, 2, Eigen::RowMajor>;  // n x 2
using Wide = Eigen::Matrix<double, 2, Eigen::Dynamic, Eigen::RowMajor>;  // 2 x d

// The thin products of a chunk of rows (X_c, rows x d, row-major), four rows per sweep over d
// with independent sums: Eigen's general product is several times slower at two columns, where
// the work is reading X, not arithmetic.
//
// om = X_c W (rows x 2), from W^T (2 x d, row-major).
template <typename Rows>
void project_chunk(const Rows& X_c, const Wide& W_t, Thin& om) {
    const Index rows = X_c.rows();
    const Index d = X_c.cols();
    const double* w0 = W_t.row(0).data();
    const double* w1 = W_t.row(1).data();
    Index i = 0;
    for (; i + 4 <= rows; i += 4) {
        const double* x0 = X_c.row(i).data();
        const double* x1 = X_c.row(i + 1).data();
        const double* x2 = X_c.row(i + 2).data();
        const double* x3 = X_c.row(i + 3).data();
        double a00 = 0.0, a01 = 0.0, a10 = 0.0, a11 = 0.0;
        double a20 = 0.0, a21 = 0.0, a30 = 0.0, a31 = 0.0;
#pragma omp simd reduction(+ : a00, a01, a10, a11, a20, a21, a30, a31)
        for (Index k = 0; k < d; ++k) {
            a00 += x0[k] * w0[k];
            a01 += x0[k] * w1[k];
            a10 += x1[k] * w0[k];
            a11 += x1[k] * w1[k];
            a20 += x2[k] * w0[k];
            a21 += x2[k] * w1[k];
            a30 += x3[k] * w0[k];
            a31 += x3[k] * w1[k];
        }
        om(i, 0) = a00;
        om(i, 1) = a01;
        om(i + 1, 0) = a10;
        om(i + 1, 1) = a11;
        om(i + 2, 0) = a20;
        om(i + 2, 1) = a21;
        om(i + 3, 0) = a30;
        om(i + 3, 1) = a31;
    }
    for (; i < rows; ++i) {
        om(i, 0) = X_c.row(i).dot(W_t.row(0));
        om(i, 1) = X_c.row(i).dot(W_t.row(1));
    }
}

// back += g_c^T X_c (2 x d) for g_c (rows x 2).
template <typename Rows, typename Outputs>
void add_back_projection(const Rows& X_c, const Outputs& g_c, Wide& back) {
    const Index rows = X_c.rows();
    const Index d = X_c.cols();
    double* b0 = back.row(0).data();
    double* b1 = back.row(1).data();
    Index i = 0;
    for (; i + 4 <= rows; i += 4) {
        const double* x0 = X_c.row(i).data();
        const double* x1 = X_c.row(i + 1).data();
        const double* x2 = X_c.row(i + 2).data();
        const double* x3 = X_c.row(i + 3).data();
        const double g00 = g_c(i, 0), g10 = g_c(i + 1, 0), g20 = g_c(i + 2, 0), g30 = g_c(i + 3, 0);
        const double g01 = g_c(i, 1), g11 = g_c(i + 1, 1), g21 = g_c(i + 2, 1), g31 = g_c(i + 3, 1);
#pragma omp simd
        for (Index k = 0; k < d; ++k) {
            b0[k] += g00 * x0[k] + g10 * x1[k] + g20 * x2[k] + g30 * x3[k];
            b1[k] += g01 * x0[k] + g11 * x1[k] + g21 * x2[k] + g31 * x3[k];
        }
    }
    for (; i < rows; ++i) {
        for (Index k = 0; k < 2; ++k) back.row(k) += g_c(i, k) * X_c.row(i);
    }
}

// What one GAMP pass hands back (python/mimkit/amp/gamp.py, gamp_step): the damped channel
// outputs g (n x 2, row-major), X^T g (d x 2, row-major), the summed posterior covariance
// (2 x 2) and the summed squares of the undamped g_out.
struct GampPassOutput {
    double* g;
    double* back;
    double* cov;
    double* power;
};

// One GAMP iteration's pass over X (n x d) for a channel of the split rule, reading each
// chunk of rows once while it is in cache: omega = X W / sqrt(d) - g_prev C, the channel's
// posterior means, g_out = (mean - omega) P (P = C^{-1}), the damped g = (1 - damping) g_out +
// damping g_prev, and X^T g. W (d x 2), g_prev (n x 2), C and P (2 x 2) are row-major.
template <typename Likelihood>
void split_channel_gamp_pass(const ConstMatrixRef<double>& X, const double* W, const double* g_prev,
                             const double* y, const double* C, const double* P, double damping,
                             const HalfLineTable& table, const double* side_log_w,
                             double negligible, const Likelihood& likelihood, int n_threads,
                             Index chunk_rows, const GampPassOutput& out) {
    using Small = Eigen::Matrix<double, 2, 2, Eigen::RowMajor>;
    const Index n = X.rows();
    const Index d = X.cols();
    const Eigen::Map<const Thin> W_map(W, d, 2);
    const Eigen::Map<const Thin> g_prev_map(g_prev, n, 2);
    const Eigen::Map<const Small> C_map(C), P_map(P);
    const double root_d = std::sqrt(double(d));
    const double sd2 = std::sqrt(C[3]);
    const double c = C[1] / C[3];
    const double s2 = C[0] - C[1] * C[1] / C[3];
    const ChunkPlan plan = plan_chunks(n, d, sizeof(double), chunk_rows);
    const Index n_groups = std::min(kPassGroups, plan.n_chunks);
    const Wide W_t = W_map.transpose();
    std::vector<Wide> group_back(n_groups, Wide::Zero(2, d));        // (X^T g)^T per group
    std::vector<double> group_sums(4 * std::size_t(n_groups), 0.0);  // c11, c12, c22, power
    [[maybe_unused]] const int threads = resolve_threads(n_threads);
#pragma omp parallel num_threads(threads)
    {
        ChannelScratch scratch(2 * table.nodes);
        const SplitRule rule(side_log_w, table.nodes, negligible);
        Thin omega(plan.chunk_rows, 2), mean(plan.chunk_rows, 2), g(plan.chunk_rows, 2);
#pragma omp for schedule(dynamic)
        for (Index group = 0; group < n_groups; ++group) {
            double* sums = group_sums.data() + 4 * group;
            for (Index chunk = plan.n_chunks * group / n_groups;
                 chunk < plan.n_chunks * (group + 1) / n_groups; ++chunk) {
                const Index r0 = plan.begin(chunk);
                const Index rows = plan.size(chunk);
                const auto X_c = X.middleRows(r0, rows);
                project_chunk(X_c, W_t, omega);
                auto om = omega.topRows(rows);
                om /= root_d;
                om.noalias() -= g_prev_map.middleRows(r0, rows) * C_map;
                for (Index i = 0; i < rows; ++i) {
                    split_channel_row(om(i, 0), om(i, 1), y[r0 + i], sd2, c, s2, table, rule,
                                      likelihood, scratch, mean.row(i).data(), sums);
                }
                auto g_c = g.topRows(rows);
                g_c.noalias() = (mean.topRows(rows) - om) * P_map;
                sums[3] += g_c.squaredNorm();
                g_c = (1.0 - damping) * g_c + damping * g_prev_map.middleRows(r0, rows);
                Eigen::Map<Thin>(out.g + 2 * r0, rows, 2) = g_c;
                add_back_projection(X_c, g_c, group_back[group]);
            }
        }
    }
    Wide back = Wide::Zero(2, d);
    double sums[4] = {0.0, 0.0, 0.0, 0.0};
    for (Index group = 0; group < n_groups; ++group) {
        back += group_back[group];
        for (int k = 0; k < 4; ++k) sums[k] += group_sums[4 * group + k];
    }
    Eigen::Map<Thin>(out.back, d, 2) = back.transpose();
    out.cov[0] = sums[0];
    out.cov[1] = out.cov[2] = sums[1];
    out.cov[3] = sums[2];
    *out.power = sums[3];
}

}  // namespace mimkit
