// The two-layer network f(x) = sum_j a_j sigma(w_j . x + b_j): fused forward, the gradient of the
// loss with respect to W (phase 1) or to all of W, b and a, and the phase-1 gradient-descent loop
// (docs/theory.md, "Phase 1").
//
// One pass over X per step: for each chunk of rows X_c (kept in cache; read from an array or
// generated, see row_source.hpp),
//   Z_c = X_c W^T + b                       (GEMM, chunk x m)
//   H_c = sigma(Z_c), one row at a time     p_i = H_i . a, g_i = s_i l'(p_i, y_i) / n
//   G_c = g * sigma'(Z_c) * a               (elementwise, in place in Z_c)
//   grad_W_thread += G_c^T X_c              (GEMM, X_c still in cache)
//   grad_b_thread += G_i, grad_a_thread += g_i H_i   (each row, full gradient only)
// and the per-thread buffers are reduced once, in thread order, so a run is bitwise
// reproducible for a fixed thread count. No n x m array is ever allocated.
// s_i is an optional weight per row (1 when absent): the loss is then the weighted mean
// (1/n) sum_i s_i l(p_i, y_i), with s_i of either sign. A gated phase-1 step (a later stage
// of a staged network, docs/theory.md, "Hierarchies") passes s_i = sigma''(c h_i + b).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "activation.hpp"
#include "chunking.hpp"
#include "hidden_features.hpp"
#include "loss.hpp"
#include "row_source.hpp"

namespace mimkit {

// Largest |w_j . x_i + b_j| at which the phase-1 step counts as linear in W
// (docs/theory.md, "Phase 1", scale keeping).
constexpr double kLinearRegimeMaxPreactivation = 1e-4;

enum class KeepScale { off, on, automatic };

inline KeepScale keep_scale_from_name(const std::string& name) {
    if (name == "off") return KeepScale::off;
    if (name == "on") return KeepScale::on;
    if (name == "auto") return KeepScale::automatic;
    throw std::invalid_argument("keep_scale must be 'off', 'on' or 'auto'");
}

inline std::string keep_scale_message(double max_abs_z) {
    char buffer[320];
    std::snprintf(buffer, sizeof(buffer),
                  "keep_scale=True needs the linear regime, but max |X W0^T + b| = %.3g >= %g; "
                  "use a smaller initial scale or keep_scale=False.",
                  max_abs_z, kLinearRegimeMaxPreactivation);
    return buffer;
}

// How a phase-1 run ended.
struct Phase1Outcome {
    bool keep_scale = false;        // whether keep-scale rescaling was active
    std::int64_t diverged_at = -1;  // first step whose loss or update was not finite, or -1
    double diverged_loss = 0.0;     // the mean loss at that step
    double step_seconds = 0.0;      // wall time inside the steps (gradient pass and update)
};

// Per-thread scratch, allocated once per call (never per step).
template <typename T, typename Source>
struct Phase1Workspace {
    ChunkedRows<T, Source> chunks;
    std::vector<RowMatrix<T>> chunk;  // chunk_rows x m: Z_c, then G_c in place
    std::vector<RowMatrix<T>> grad;   // m x d partial gradients
    std::vector<Vector<T>> value;     // m: sigma of one row
    // m: partial gradients of b and a (full gradient only), in float64: a sum over all n rows
    std::vector<Vector<double>> grad_b;
    std::vector<Vector<double>> grad_a;
    std::vector<double> loss_sum;
    std::vector<double> max_abs_z;

    Phase1Workspace(const Source& X, Index m, int n_threads, Index chunk_rows)
        : chunks(X, n_threads, chunk_rows),
          chunk(chunks.n_threads, RowMatrix<T>(chunks.plan.chunk_rows, m)),
          grad(chunks.n_threads, RowMatrix<T>(m, X.cols())),
          value(chunks.n_threads, Vector<T>(m)),
          grad_b(chunks.n_threads, Vector<double>(m)),
          grad_a(chunks.n_threads, Vector<double>(m)),
          loss_sum(chunks.n_threads),
          max_abs_z(chunks.n_threads) {}
};

struct PassSummary {
    double mean_loss;
    double max_abs_z;
};

// Where a gradient pass writes the gradients of b and a (m each), or nowhere (phase 1).
template <typename T>
struct OuterGradients {
    T* b = nullptr;
    T* a = nullptr;
    bool wanted() const { return b != nullptr; }
};

// Rows of Z_c -> G_c in place; returns the chunk's (weighted) loss sum and updates max |z|.
// With grad_b / grad_a (else nullptr) it also adds each row's G_i and g_i H_i to them; with
// weight (else nullptr) row i's loss and slope are multiplied by weight[i].
template <typename T>
double fuse_chunk(Activation act, Eigen::Ref<RowMatrix<T>> Z, const T* y, const T* b, const T* a,
                  const LossSpec& loss, T inv_n, T* value, double& max_abs_z,
                  Vector<double>* grad_b, Vector<double>* grad_a, const T* weight = nullptr) {
    const Index m = Z.cols();
    const Eigen::Map<const Vector<T>> a_vec(a, m);
    const Eigen::Map<const Vector<T>> value_vec(value, m);
    double loss_sum = 0.0;
    for (Index i = 0; i < Z.rows(); ++i) {
        T* z = Z.row(i).data();
        max_abs_z = std::max(max_abs_z, double(activation_row<T>(act, z, b, value, m)));
        const T p = value_vec.dot(a_vec);
        T g;
        const T loss_i = loss_value_and_slope<T>(loss, p, y[i], g);
        if (weight != nullptr) {
            loss_sum += double(weight[i] * loss_i);
            g *= weight[i] * inv_n;
        } else {
            loss_sum += double(loss_i);
            g *= inv_n;
        }
        Eigen::Map<Vector<T>> G_i(z, m);
        G_i.array() *= a_vec.array() * g;
        if (grad_b != nullptr) {
            *grad_b += G_i.template cast<double>();
            *grad_a += double(g) * value_vec.template cast<double>();
        }
    }
    return loss_sum;
}

// grad (m x d) = d/dW (1/n) sum_i s_i l(p_i, y_i) over the rows of ws's source (s_i =
// weight[i], or 1 where weight is nullptr), and where `outer` points somewhere the gradients
// with respect to b and a too; one parallel region, one pass over X. grad is bitwise the same
// with or without `outer`.
template <typename T, typename Source>
PassSummary gradient_pass(Phase1Workspace<T, Source>& ws, const T* y, const ConstMatrixRef<T>& W,
                          const T* b, const T* a, Activation act, const LossSpec& loss,
                          Eigen::Ref<RowMatrix<T>> grad, OuterGradients<T> outer = {},
                          const T* weight = nullptr) {
    const Index n = ws.chunks.rows();
    const Index m = W.rows();
    const T inv_n = T(1) / T(n);
    const ChunkPlan& plan = ws.chunks.plan;
    const int n_threads = ws.chunks.n_threads;
#pragma omp parallel num_threads(n_threads)
    {
        const int tid = thread_id();
        RowMatrix<T>& chunk = ws.chunk[tid];
        RowMatrix<T>& partial = ws.grad[tid];
        partial.setZero();
        Vector<double>* grad_b = outer.wanted() ? &ws.grad_b[tid] : nullptr;
        Vector<double>* grad_a = outer.wanted() ? &ws.grad_a[tid] : nullptr;
        if (outer.wanted()) {
            grad_b->setZero();
            grad_a->setZero();
        }
        double loss_sum = 0.0;
        double max_abs_z = 0.0;
#pragma omp for schedule(static, 1)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            const auto Xc = ws.chunks.chunk(c);
            auto Zc = chunk.topRows(rows);
            Zc.noalias() = Xc * W.transpose();
            loss_sum +=
                fuse_chunk<T>(act, Zc, y + r0, b, a, loss, inv_n, ws.value[tid].data(), max_abs_z,
                              grad_b, grad_a, weight != nullptr ? weight + r0 : nullptr);
            partial.noalias() += Zc.transpose() * Xc;
        }
        ws.loss_sum[tid] = loss_sum;
        ws.max_abs_z[tid] = max_abs_z;
        // implicit barrier of the `omp for` above: all partials are complete here
#pragma omp for schedule(static)
        for (Index j = 0; j < m; ++j) {
            grad.row(j) = ws.grad[0].row(j);
            for (int t = 1; t < n_threads; ++t) grad.row(j) += ws.grad[t].row(j);
        }
    }
    PassSummary summary{0.0, 0.0};
    for (int t = 0; t < n_threads; ++t) {
        summary.mean_loss += ws.loss_sum[t];
        summary.max_abs_z = std::max(summary.max_abs_z, ws.max_abs_z[t]);
    }
    summary.mean_loss /= double(n);
    if (outer.wanted()) {
        Vector<double> sum_b = ws.grad_b[0];
        Vector<double> sum_a = ws.grad_a[0];
        for (int t = 1; t < n_threads; ++t) {
            sum_b += ws.grad_b[t];
            sum_a += ws.grad_a[t];
        }
        Eigen::Map<Vector<T>>(outer.b, m) = sum_b.template cast<T>();
        Eigen::Map<Vector<T>>(outer.a, m) = sum_a.template cast<T>();
    }
    return summary;
}

// p (n) = sigma(X W^T + b) a, chunked: each chunk's hidden features times a.
template <typename T, typename Source>
void forward(const Source& X, const ConstMatrixRef<T>& W, const T* b, const T* a, Activation act,
             int n_threads, Index chunk_rows, T* p) {
    const Eigen::Map<const Vector<T>> a_vec(a, W.rows());
    for_each_hidden_chunk<T>(X, W, b, act, n_threads, chunk_rows, [&](Index r0, const auto& Hc) {
        Eigen::Map<Vector<T>>(p + r0, Hc.rows()).noalias() = Hc * a_vec;
    });
}

struct Phase1Settings {
    Activation activation;
    LossSpec loss;
    double lr;
    double weight_decay;
    std::int64_t n_steps;
    KeepScale keep_scale;
    int n_threads;
    Index chunk_rows;
};

// Where a run writes what it records (all owned by the caller).
template <typename T>
struct Phase1Record {
    const std::vector<std::int64_t>& steps;  // sorted, unique, in [0, n_steps]
    const T* basis;                          // d x k row-major, or nullptr for full W
    Index basis_cols;
    T* recorded;        // steps.size() x m x (k or d)
    double* losses;     // n_steps
    double* log_scale;  // n_steps + 1
};

// After a divergence at step t: NaN for every loss, log scale and record the run never reached.
template <typename T>
void mark_unreached(const Phase1Record<T>& record, std::int64_t t, std::int64_t n_steps,
                    std::size_t next_record, Index record_size) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::fill(record.losses + t + 1, record.losses + n_steps, nan);
    std::fill(record.log_scale + t + 1, record.log_scale + n_steps + 1, nan);
    std::fill(record.recorded + next_record * record_size,
              record.recorded + record.steps.size() * record_size,
              std::numeric_limits<T>::quiet_NaN());
}

// Full-batch GD on W in place: W <- W - lr (grad + weight_decay W), grad that of the loss
// weighted by `weight` per row (nullptr: unweighted). `after_step(t)` runs
// between steps outside the parallel region (signal checks, progress); it may throw.
// If the loss or the update stops being finite at step t, the run stops there with W = W_t
// (the last finite weights); losses after t, log scales after t and later records are NaN.
template <typename T, typename Source, typename AfterStep>
Phase1Outcome phase1_run(const Source& X, const T* y, const T* b, const T* a,
                         const Phase1Settings& settings, Eigen::Ref<RowMatrix<T>> W,
                         const Phase1Record<T>& record, AfterStep&& after_step,
                         const T* weight = nullptr) {
    const Index m = W.rows();
    const Index d = W.cols();
    Phase1Workspace<T, Source> ws(X, m, settings.n_threads, settings.chunk_rows);
    RowMatrix<T> grad(m, d);
    const T lr = T(settings.lr);
    const T weight_decay = T(settings.weight_decay);
    const double norm0 = double(W.norm());
    const Index record_width = record.basis ? record.basis_cols : d;
    Phase1Outcome outcome;
    std::size_t next_record = 0;
    record.log_scale[0] = 0.0;

    for (std::int64_t t = 0;; ++t) {
        if (next_record < record.steps.size() && record.steps[next_record] == t) {
            Eigen::Map<RowMatrix<T>> slot(record.recorded + next_record * m * record_width, m,
                                          record_width);
            if (record.basis) {
                slot.noalias() = W * Eigen::Map<const RowMatrix<T>>(record.basis, d, record_width);
            } else {
                slot = W;
            }
            ++next_record;
        }
        if (t == settings.n_steps) break;

        const auto step_start = std::chrono::steady_clock::now();
        const PassSummary pass = gradient_pass<T, Source>(ws, y, W, b, a, settings.activation,
                                                          settings.loss, grad, {}, weight);
        record.losses[t] = pass.mean_loss;
        if (t == 0) {
            const bool linear = pass.max_abs_z < kLinearRegimeMaxPreactivation;
            if (settings.keep_scale == KeepScale::on && !linear) {
                throw std::invalid_argument(keep_scale_message(pass.max_abs_z));
            }
            outcome.keep_scale = settings.keep_scale == KeepScale::on ||
                                 (settings.keep_scale == KeepScale::automatic && linear);
        }
        // the candidate W_{t+1} goes into the gradient buffer so W_t survives a divergence
        grad.array() = W.array() - lr * (grad.array() + weight_decay * W.array());
        if (!std::isfinite(pass.mean_loss) || !grad.allFinite()) {
            outcome.diverged_at = t;
            outcome.diverged_loss = pass.mean_loss;
            mark_unreached(record, t, settings.n_steps, next_record, m * record_width);
            return outcome;
        }
        W = grad;
        record.log_scale[t + 1] = record.log_scale[t];
        if (outcome.keep_scale) {
            // A zero W (S = 0, e.g. constant labels) stays zero: log_scale becomes -inf.
            const double norm = double(W.norm());
            if (norm > 0.0) W *= T(norm0 / norm);
            record.log_scale[t + 1] += std::log(norm / norm0);
        }
        outcome.step_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
        after_step(t + 1);
    }
    return outcome;
}
}  // namespace mimkit
