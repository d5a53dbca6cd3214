// Where a pass gets the rows of X: a view of an array in memory (ArrayRows), or rows regenerated
// from (seed, row index) on demand (GaussianRows). Every pass asks a source for one chunk of rows
// at a time, with a per-thread buffer that only a generating source writes into.
#pragma once

#include <cstdint>
#include <vector>

#include "chunking.hpp"
#include "gaussian.hpp"

namespace mimkit {

template <typename T>
struct ArrayRows {
    static constexpr bool kGenerates = false;
    ConstMatrixRef<T> X;

    Index rows() const { return X.rows(); }
    Index cols() const { return X.cols(); }
    Eigen::Ref<const RowMatrix<T>> chunk(Index r0, Index count, RowMatrix<T>& /*buffer*/) const {
        return X.middleRows(r0, count);
    }
};

// The address of a streamed data set: rows [row_begin, row_begin + n_rows) of the standard normal
// array with `d` columns of data set `seed` (gaussian.hpp). A machine given only this can make
// any of its rows.
struct GaussianRowsSpec {
    std::uint64_t seed;
    std::int64_t row_begin;
    std::int64_t n_rows;
    std::int64_t d;
};

template <typename T>
struct GaussianRows {
    static constexpr bool kGenerates = true;
    GaussianRowsSpec spec;

    Index rows() const { return spec.n_rows; }
    Index cols() const { return spec.d; }
    Eigen::Ref<const RowMatrix<T>> chunk(Index r0, Index count, RowMatrix<T>& buffer) const {
        for (Index i = 0; i < count; ++i) {
            gaussian_row<T>(spec.seed, GaussianStreamId::inputs, std::uint64_t(spec.row_begin + r0 + i),
                            spec.d, buffer.row(i).data());
        }
        return buffer.topRows(count);
    }

    // All rows into `out` (n_rows x d, row-major), rows split over threads.
    void fill(T* out, int n_threads) const {
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static)
        for (Index i = 0; i < spec.n_rows; ++i) {
            gaussian_row<T>(spec.seed, GaussianStreamId::inputs, std::uint64_t(spec.row_begin + i), spec.d,
                            out + i * spec.d);
        }
    }
};

// Per-thread chunk buffers: chunk_rows x d for a generating source, empty for an array.
template <typename T, typename Source>
std::vector<RowMatrix<T>> row_buffers(int n_threads, Index chunk_rows, Index d) {
    return Source::kGenerates ? std::vector<RowMatrix<T>>(n_threads, RowMatrix<T>(chunk_rows, d))
                              : std::vector<RowMatrix<T>>(n_threads);
}

}  // namespace mimkit
