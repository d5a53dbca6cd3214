// Z = X U^T for the labels of a streamed data set (z_i = U x_i, then y_i = g(z_i)): one pass
// over the rows, chunk by chunk, so X is never held whole.
#pragma once

#include <vector>

#include "chunking.hpp"
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

}  // namespace mimkit
