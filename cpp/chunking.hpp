// Shared types and the row-chunk plan: every pass walks X in chunks of rows small enough to
// stay in cache while both products of the chunk use it.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mimkit {

using Index = Eigen::Index;  // 64-bit: n * d beyond 2^31 elements is fine

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMatrixRef = Eigen::Ref<const RowMatrix<T>>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using ConstVectorRef = Eigen::Ref<const Vector<T>>;

// Bytes of X one chunk may occupy; tuned so the chunk survives in L2 between the two products.
constexpr std::size_t kChunkBytes = std::size_t(1) << 20;

struct ChunkPlan {
    Index n_rows;
    Index chunk_rows;
    Index n_chunks;

    Index begin(Index c) const { return c * chunk_rows; }
    Index size(Index c) const { return std::min(chunk_rows, n_rows - begin(c)); }
};

// `chunk_rows` > 0 forces a size (benchmarks, tests); 0 picks from kChunkBytes.
inline ChunkPlan plan_chunks(Index n_rows, Index n_cols, std::size_t scalar_bytes,
                             Index chunk_rows = 0) {
    if (chunk_rows <= 0) {
        const Index fit = Index(kChunkBytes / (std::max<Index>(n_cols, 1) * scalar_bytes));
        chunk_rows = std::max<Index>(16, fit / 16 * 16);
    }
    chunk_rows = std::max<Index>(1, std::min(chunk_rows, n_rows));
    return ChunkPlan{n_rows, chunk_rows, (n_rows + chunk_rows - 1) / chunk_rows};
}

// 0 means every thread OpenMP offers.
inline int resolve_threads(int n_threads) {
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

}  // namespace mimkit
