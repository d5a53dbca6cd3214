// The labels of a streamed data set, y_i = g(U x_i) + noise xi_i, in one pass over its rows,
// chunk by chunk, so X is never held whole: all in the core for a library link (stream_labels),
// or Z = X U^T here (project_rows) and g in Python for a user's callable.
#pragma once

#include <cstdint>

#include "chunking.hpp"
#include "links.hpp"
#include "row_source.hpp"

namespace mimkit {

template <typename T, typename Source>
void project_rows(const Source& X, const ConstMatrixRef<T>& U, int n_threads, Index chunk_rows,
                  Eigen::Ref<RowMatrix<T>> Z) {
    ChunkedRows<T, Source> chunks(X, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
#pragma omp parallel for num_threads(chunks.n_threads) schedule(static)
    for (Index c = 0; c < plan.n_chunks; ++c) {
        // a coefficient-wise product: each z_ij is one dot product in a fixed order, so a row's
        // labels are the same bits whichever chunk or subset it is computed in
        Z.middleRows(plan.begin(c), plan.size(c)).noalias() =
            chunks.chunk(c).lazyProduct(U.transpose());
    }
}

// y (n_rows, float64) = g(z_i) + noise xi_i with z_i = U x_i in T (as project_rows), then in
// float64, and xi the data set's label-noise stream (gaussian_noise).
template <typename T>
void stream_labels(const GaussianRowSource<T>& X, const ConstMatrixRef<T>& U, LinkKind link,
                   double noise, int n_threads, Index chunk_rows, double* y) {
    ChunkedRows<T, GaussianRowSource<T>> chunks(X, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
    const Index r = U.rows();
#pragma omp parallel num_threads(chunks.n_threads)
    {
        RowMatrix<T> Z(plan.chunk_rows, r);
        RowMatrix<double> z(plan.chunk_rows, r);
        Vector<double> xi(plan.chunk_rows);
#pragma omp for schedule(static)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            Z.topRows(rows).noalias() = chunks.chunk(c).lazyProduct(U.transpose());
            z.topRows(rows) = Z.topRows(rows).template cast<double>();
            link_values(link, z.data(), rows, r, y + r0);
            if (noise != 0.0) {
                gaussian_noise(X.address.seed, std::uint64_t(X.address.row_begin + r0), rows,
                               xi.data());
                for (Index i = 0; i < rows; ++i) y[r0 + i] += noise * xi[i];
            }
        }
    }
}

}  // namespace mimkit
