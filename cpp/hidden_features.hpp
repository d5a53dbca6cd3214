// Hidden features H = sigma(X V^T + b) of the network, and phase 2's sufficient statistics of
// (H, y) accumulated chunk by chunk (docs/theory.md, "Phase 2"), so the n x m feature matrix
// is never held:
//   sum_i h_i,   H^T H,   H^T y          (float64 whatever the dtype of X)
// Per chunk: Z_c = X_c V^T (GEMM in X's dtype), sigma row by row, then a rank update of the
// thread's m x m Gram (SYRK, lower triangle) and its H_c^T y_c. Per-thread sums are reduced
// in thread order, so a result is bitwise reproducible for a fixed thread count.
#pragma once

#include <vector>

#include "activation.hpp"
#include "chunking.hpp"
#include "row_source.hpp"

namespace mimkit {

// sigma of one chunk's pre-activations, row by row: Z_c (rows x m) in, H (rows x m) out.
template <typename T, typename Out>
void activation_chunk(Activation act, Eigen::Ref<RowMatrix<T>> Z, const T* b, Vector<T>& value,
                      Out& H) {
    for (Index i = 0; i < Z.rows(); ++i) {
        activation_row<T>(act, Z.row(i).data(), b, value.data(), Z.cols());  // Z's row gets sigma'
        H.row(i) = value.transpose().template cast<typename Out::Scalar>();
    }
}

// For every chunk of rows, its hidden features H_c = sigma(X_c V^T + b) (rows x m, a view of a
// per-thread buffer) passed to use(r0, H_c); chunks split over threads.
template <typename T, typename Source, typename UseChunk>
void for_each_hidden_chunk(const Source& X, const ConstMatrixRef<T>& V, const T* b, Activation act,
                           int n_threads, Index chunk_rows, UseChunk&& use) {
    const Index m = V.rows();
    ChunkedRows<T, Source> chunks(X, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
#pragma omp parallel num_threads(chunks.n_threads)
    {
        RowMatrix<T> Z(plan.chunk_rows, m);
        RowMatrix<T> H(plan.chunk_rows, m);
        Vector<T> value(m);
#pragma omp for schedule(static)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            auto Zc = Z.topRows(rows);
            Zc.noalias() = chunks.chunk(c) * V.transpose();
            auto Hc = H.topRows(rows);
            activation_chunk<T>(act, Zc, b, value, Hc);
            use(r0, Hc);
        }
    }
}

// H (n x m, row-major, caller-owned) = sigma(X V^T + b).
template <typename T, typename Source>
void hidden_features(const Source& X, const ConstMatrixRef<T>& V, const T* b, Activation act,
                     int n_threads, Index chunk_rows, T* out) {
    const Index m = V.rows();
    for_each_hidden_chunk<T>(X, V, b, act, n_threads, chunk_rows, [&](Index r0, const auto& Hc) {
        Eigen::Map<RowMatrix<T>>(out + r0 * m, Hc.rows(), m) = Hc;
    });
}

struct HiddenStatistics {
    Vector<double> sum;    // m: sum_i h_i
    Eigen::MatrixXd gram;  // m x m: H^T H
    Vector<double> dot_y;  // m: H^T y

    explicit HiddenStatistics(Index m)
        : sum(Vector<double>::Zero(m)),
          gram(Eigen::MatrixXd::Zero(m, m)),
          dot_y(Vector<double>::Zero(m)) {}
};

// Raw (uncentred) statistics of H = sigma(X V^T + b) and y (n); one pass over X. Its chunk loop
// repeats for_each_hidden_chunk's on purpose: H is float64 here (the Gram is accumulated in
// float64) and chunks go to threads round-robin so that partial sums reduce in a fixed order.
template <typename T, typename Source>
HiddenStatistics hidden_statistics(const Source& X, const T* y, const ConstMatrixRef<T>& V,
                                   const T* b, Activation act, int n_threads, Index chunk_rows) {
    const Index m = V.rows();
    ChunkedRows<T, Source> chunks(X, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
    std::vector<HiddenStatistics> partial(chunks.n_threads, HiddenStatistics(m));
#pragma omp parallel num_threads(chunks.n_threads)
    {
        HiddenStatistics& mine = partial[thread_id()];
        RowMatrix<T> Z(plan.chunk_rows, m);
        RowMatrix<double> H(plan.chunk_rows, m);
        Vector<T> value(m);
#pragma omp for schedule(static, 1)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            auto Zc = Z.topRows(rows);
            Zc.noalias() = chunks.chunk(c) * V.transpose();
            auto Hc = H.topRows(rows);
            activation_chunk<T>(act, Zc, b, value, Hc);
            const Eigen::Map<const Vector<T>> yc(y + r0, rows);
            mine.sum.noalias() += Hc.colwise().sum().transpose();
            mine.gram.selfadjointView<Eigen::Lower>().rankUpdate(Hc.transpose());
            mine.dot_y.noalias() += Hc.transpose() * yc.template cast<double>();
        }
    }
    HiddenStatistics total = partial[0];
    for (int t = 1; t < chunks.n_threads; ++t) {
        total.sum += partial[t].sum;
        total.gram += partial[t].gram;
        total.dot_y += partial[t].dot_y;
    }
    total.gram.triangularView<Eigen::StrictlyUpper>() = total.gram.transpose();
    return total;
}

}  // namespace mimkit
