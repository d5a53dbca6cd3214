// The local-Hessian operator S = (1/n) sum_i t_i x_i x_i^T (docs/theory.md, "Spectral methods"):
// a blocked matvec that never forms S, and the explicit S (chunked, lower triangle only) for
// when d is small.
#pragma once

#include <vector>

#include "chunking.hpp"
#include "row_source.hpp"

namespace mimkit {

// Up to this many vectors the matvec runs one GEMV pair per vector on each chunk: GEMVs read
// the chunk in place from cache, whereas a GEMM first packs (copies) it, which costs more than
// the arithmetic when k is small (measured: ~1.8x faster at k = 4 in float32).
constexpr Index kGemvMaxVectors = 4;

// out (d x k) = X^T (t * (X V)) / n, one pass over X from memory. Per chunk X_c (sized to stay
// in cache): XV_c = X_c V, scaled by t_c, then acc_thread += X_c^T XV_c. Column-major V and
// accumulators keep every column contiguous (faster for both the GEMVs and the GEMMs).
// Per-thread partials are reduced once in thread order: bitwise reproducible for a fixed
// thread count.
// t is row-major n x t_cols: one weight per row (t_cols = 1), or one per row and column of V
// (t_cols = k: column j is X^T (t[:, j] * (X v_j)) / n), so that k different weightings of the
// same X -- several Krylov processes in lock-step -- share one pass over X.
template <typename T, typename Source>
void local_hessian_matvec(const Source& X, const T* t, Index t_cols, const ConstMatrixRef<T>& V,
                          int n_threads, Index chunk_rows, Eigen::Ref<RowMatrix<T>> out) {
    using ColMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    const Index n = X.rows();
    const Index d = X.cols();
    const Index k = V.cols();
    ChunkedRows<T, Source> chunks(X, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
    const int threads = chunks.n_threads;
    const ColMatrix V_columns = V;
    std::vector<ColMatrix> partial(threads);
    const T inv_n = T(1) / T(n);
#pragma omp parallel num_threads(threads)
    {
        ColMatrix& acc = partial[thread_id()];
        acc.setZero(d, k);
        ColMatrix projected(plan.chunk_rows, k);
#pragma omp for schedule(static)
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            const auto Xc = chunks.chunk(c);
            const auto tc = Eigen::Map<const RowMatrix<T>>(t + r0 * t_cols, rows, t_cols);
            auto XVc = projected.topRows(rows);
            if (k <= kGemvMaxVectors) {
                for (Index j = 0; j < k; ++j) {
                    XVc.col(j).noalias() = Xc * V_columns.col(j);
                    XVc.col(j).array() *= tc.col(t_cols == 1 ? 0 : j).array();
                    acc.col(j).noalias() += Xc.transpose() * XVc.col(j);
                }
            } else {
                XVc.noalias() = Xc * V_columns;
                if (t_cols == 1) {
                    XVc.array().colwise() *= tc.col(0).array();
                } else {
                    XVc.array() *= tc.array();
                }
                acc.noalias() += Xc.transpose() * XVc;
            }
        }
#pragma omp for schedule(static)
        for (Index j = 0; j < d; ++j) {
            for (Index col = 0; col < k; ++col) {
                T sum = partial[0](j, col);
                for (int p = 1; p < threads; ++p) sum += partial[p](j, col);
                out(j, col) = sum * inv_n;
            }
        }
    }
}

// out (d x d) = X^T diag(t) X / n. Chunks are visited in order by all threads together, each
// thread owning whole column blocks of the lower triangle, so every entry is summed in the same
// order whatever the thread count (bitwise reproducible); the upper triangle is mirrored last.
template <typename T>
void local_hessian(const ConstMatrixRef<T>& X, const T* t, int n_threads, Index chunk_rows,
                   Eigen::Ref<RowMatrix<T>> out) {
    const Index n = X.rows();
    const Index d = X.cols();
    constexpr Index kBlock = 64;
    const Index n_blocks = (d + kBlock - 1) / kBlock;
    const ArrayRowSource<T> source{X};
    ChunkedRows<T, ArrayRowSource<T>> chunks(source, n_threads, chunk_rows);
    const ChunkPlan& plan = chunks.plan;
    out.setZero();
#pragma omp parallel num_threads(chunks.n_threads)
    {
        RowMatrix<T> weighted(plan.chunk_rows, kBlock);
        for (Index c = 0; c < plan.n_chunks; ++c) {
            const Index r0 = plan.begin(c);
            const Index rows = plan.size(c);
            const auto Xc = chunks.chunk(c);
            const auto tc = Eigen::Map<const Vector<T>>(t + r0, rows);
            // cyclic assignment balances the triangle's uneven block sizes
#pragma omp for schedule(static, 1)
            for (Index blk = 0; blk < n_blocks; ++blk) {
                const Index j0 = blk * kBlock;
                const Index width = std::min(kBlock, d - j0);
                auto Yc = weighted.topLeftCorner(rows, width);
                Yc.noalias() = tc.asDiagonal() * Xc.middleCols(j0, width);
                out.block(j0, j0, d - j0, width).noalias() += Xc.rightCols(d - j0).transpose() * Yc;
            }
        }
#pragma omp for schedule(static)
        for (Index i = 0; i < d; ++i) {
            out.row(i).head(i + 1) *= T(1) / T(n);
        }
#pragma omp for schedule(static)
        for (Index i = 0; i < d; ++i) {
            for (Index j = i + 1; j < d; ++j) out(i, j) = out(j, i);
        }
    }
}

}  // namespace mimkit
