// The labels of a streamed data set, y_i = g(U x_i) + noise xi_i, in one pass over its rows,
// chunk by chunk, so X is never held whole: all in the core for a library link, or
// Z = X U^T here and g in Python for a user's callable.
#pragma once

#include <vector>

#include "chunking.hpp"
#include "links.hpp"
#include "row_source.hpp"

namespace mimkit {

template <typename T, typename Source>
void project_rows(const Source& X, const ConstMatrixRef<T>& U, int n_threads, Index chunk_rows,
                  Eigen::Ref<RowMatrix<T>> Z) {
    const ChunkPlan plan = plan_chunks(X.rows(), X.cols(), sizeof(T), chunk_rows);
    const int threads = resolve_threads(n_threads);
    std::vector<RowMatrix<T>> row_buffer = row_buffers<T, Source>(threads, plan.chunk_rows, X.cols());
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index c = 0; c < plan.n_chunks; ++c) {
        const Index r0 = plan.begin(c);
        const Index rows = plan.size(c);
        // a coefficient-wise product: each z_ij is one dot product in a fixed order, so a row's
        // labels are the same bits whichever chunk or subset it is computed in
        Z.middleRows(r0, rows).noalias() = X.chunk(r0, rows, row_buffer[thread_id()]).lazyProduct(U.transpose());
    }
}

// y (n_rows, float64) = g(z_i) + noise xi_i with z_i = U x_i in T (as project_rows), then in
// float64, and xi the data set's label-noise stream (gaussian_noise).
template <typename T>
void stream_labels(const GaussianRows<T>& X, const ConstMatrixRef<T>& U, LinkKind link, double noise,
                   int n_threads, Index chunk_rows, double* y) {
    const ChunkPlan plan = plan_chunks(X.rows(), X.cols(), sizeof(T), chunk_rows);
    const int threads = resolve_threads(n_threads);
    const Index r = U.rows();
    std::vector<RowMatrix<T>> row_buffer = row_buffers<T, GaussianRows<T>>(threads, plan.chunk_rows, X.cols());
#pragma omp parallel num_threads(threads)
    {
        RowMatrix<T> Z(plan.chunk_rows, r);
        Vector<double> z(r);
        Vector<double> xi(plan.chunk_rows);
#pragma omp for schedule(static)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            Z.topRows(rows).noalias() = X.chunk(r0, rows, row_buffer[thread_id()]).lazyProduct(U.transpose());
            for (Index i = 0; i < rows; ++i) {
                z = Z.row(i).transpose().template cast<double>();
                y[r0 + i] = link_value(link, z.data(), r);
            }
            if (noise != 0.0) {
                gaussian_noise(X.spec.seed, std::uint64_t(X.spec.row_begin + r0), rows, xi.data());
                for (Index i = 0; i < rows; ++i) y[r0 + i] += noise * xi[i];
            }
        }
    }
}

}  // namespace mimkit
