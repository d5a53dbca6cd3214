// Where a pass gets the rows of X: a view of an array in memory (ArrayRowSource), or rows
// regenerated from their address on demand (GaussianRowSource). Every pass walks its source in
// chunks of rows (ChunkedRows), with a per-thread buffer that only a generating source writes.
#pragma once

#include <cstdint>
#include <vector>

#include "chunking.hpp"
#include "gaussian.hpp"

namespace mimkit {

template <typename T>
struct ArrayRowSource {
    static constexpr bool kGenerates = false;
    ConstMatrixRef<T> X;

    Index rows() const { return X.rows(); }
    Index cols() const { return X.cols(); }
    Eigen::Ref<const RowMatrix<T>> chunk(Index r0, Index count, RowMatrix<T>& /*buffer*/) const {
        return X.middleRows(r0, count);
    }
};

// The address of a streamed data set's rows: rows [row_begin, row_begin + n_rows) of the
// standard normal array with `d` columns of data set `seed` (gaussian.hpp). A machine given
// only this can make any of those rows.
struct RowAddress {
    std::uint64_t seed;
    std::int64_t row_begin;
    std::int64_t n_rows;
    std::int64_t d;
};

template <typename T>
struct GaussianRowSource {
    static constexpr bool kGenerates = true;
    RowAddress address;

    Index rows() const { return address.n_rows; }
    Index cols() const { return address.d; }
    Eigen::Ref<const RowMatrix<T>> chunk(Index r0, Index count, RowMatrix<T>& buffer) const {
        for (Index i = 0; i < count; ++i) {
            gaussian_row<T>(address.seed, GaussianStreamId::inputs,
                            std::uint64_t(address.row_begin + r0 + i), address.d,
                            buffer.row(i).data());
        }
        return buffer.topRows(count);
    }

    // All rows into `out` (n_rows x d, row-major), rows split over threads.
    void fill(T* out, int n_threads) const {
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static)
        for (Index i = 0; i < address.n_rows; ++i) {
            gaussian_row<T>(address.seed, GaussianStreamId::inputs,
                            std::uint64_t(address.row_begin + i), address.d, out + i * address.d);
        }
    }
};

// The set-up every chunked pass over a source shares: its chunk plan, its thread count (at most
// one per chunk) and one chunk_rows x d row buffer per thread (allocated for a generating source
// only). A pass runs one parallel region with `n_threads` threads and asks for chunk c of the plan
// from inside it.
template <typename T, typename Source>
class ChunkedRows {
public:
    ChunkedRows(const Source& X, int threads, Index chunk_rows)
        : plan(plan_chunks(X.rows(), X.cols(), sizeof(T), chunk_rows)),
          // No more threads than chunks: a short call (a mini-batch) would otherwise wake
          // threads that have nothing to do, which costs more than the call on a busy machine.
          n_threads(
              int(std::max<Index>(1, std::min<Index>(resolve_threads(threads), plan.n_chunks)))),
          X_(X),
          buffer_(n_threads,
                  Source::kGenerates ? RowMatrix<T>(plan.chunk_rows, X.cols()) : RowMatrix<T>()) {}

    Index rows() const { return X_.rows(); }
    Index cols() const { return X_.cols(); }

    // The rows of chunk c: a view of the array, or generated into the calling thread's buffer.
    Eigen::Ref<const RowMatrix<T>> chunk(Index c) {
        return X_.chunk(plan.begin(c), plan.size(c), buffer_[thread_id()]);
    }

    const ChunkPlan plan;
    const int n_threads;

private:
    const Source& X_;
    std::vector<RowMatrix<T>> buffer_;
};

}  // namespace mimkit
