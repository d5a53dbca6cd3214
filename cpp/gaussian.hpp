// Standard normal numbers addressed by (seed, stream, row, column): the rows of a streamed data
// set, regenerated on demand, bit for bit the same on every pass, thread and machine (of the
// same ISA variant; FMA contraction may move the last bit between variants).
//
// Method: two Philox4x32-10 blocks per four columns give each entry a 52-bit uniform u in
// (0, 1) (philox.hpp; the layout is at gaussian_row), and each u goes through the normal
// quantile function of Wichura's AS 241 (Appl. Statist. 37, 1988; relative error ~1e-16):
// exact inversion, the method R's rnorm uses by default. Inversion takes a fixed number of
// uniforms per normal, so every entry is a pure function of its address, and it vectorises (no
// rejection loop). float32 rows evaluate the same formulas in float32 arithmetic, mostly from
// the high 32 bits of u alone (within a few ulps of the float64 value).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

#include "philox.hpp"

namespace mimkit {

// Philox counter word 3: which random array of a data set an entry belongs to.
enum class GaussianStreamId : std::uint32_t { inputs = 0, label_noise = 1 };

namespace as241 {
// Coefficients of AS 241 (PPND16), highest degree first for Horner's rule.
constexpr double kCentralNum[8] = {2.5090809287301226727e+3, 3.3430575583588128105e+4,
                                   6.7265770927008700853e+4, 4.5921953931549871457e+4,
                                   1.3731693765509461125e+4, 1.9715909503065514427e+3,
                                   1.3314166789178437745e+2, 3.3871328727963666080e+0};
constexpr double kCentralDen[8] = {5.2264952788528545610e+3, 2.8729085735721942674e+4,
                                   3.9307895800092710610e+4, 2.1213794301586595867e+4,
                                   5.3941960214247511077e+3, 6.8718700749205790830e+2,
                                   4.2313330701600911252e+1, 1.0};
constexpr double kNearNum[8] = {7.74545014278341407640e-4, 2.27238449892691845833e-2,
                                2.41780725177450611770e-1, 1.27045825245236838258e+0,
                                3.64784832476320460504e+0, 5.76949722146069140550e+0,
                                4.63033784615654529590e+0, 1.42343711074968357734e+0};
constexpr double kNearDen[8] = {1.05075007164441684324e-9, 5.47593808499534494600e-4,
                                1.51986665636164571966e-2, 1.48103976427480074590e-1,
                                6.89767334985100004550e-1, 1.67638483018380384940e+0,
                                2.05319162663775882187e+0, 1.0};
constexpr double kFarNum[8] = {2.01033439929228813265e-7, 2.71155556874348757815e-5,
                               1.24266094738807843860e-3, 2.65321895265761230930e-2,
                               2.96560571828504891230e-1, 1.78482653991729133580e+0,
                               5.46378491116411436990e+0, 6.65790464350110377720e+0};
constexpr double kFarDen[8] = {2.04426310338993978564e-15, 1.42151175831644588870e-7,
                               1.84631831751005468180e-5,  7.86869131145613259100e-4,
                               1.48753612908506148525e-2,  1.36929880922735805310e-1,
                               5.99832206555887937690e-1,  1.0};
constexpr double kCentralRange = 0.425;     // |u - 1/2| up to here: the central rational
constexpr double kCentralShift = 0.180625;  // 0.425^2
constexpr double kNearShift = 1.6;
constexpr double kFarStart = 5.0;  // sqrt(-log(min(u, 1 - u))) beyond here: the far tail

template <typename Packet>
inline Packet horner(const double (&c)[8], const Packet& x) {
    namespace ei = Eigen::internal;
    using Scalar = typename ei::unpacket_traits<Packet>::type;
    Packet acc = ei::pset1<Packet>(Scalar(c[0]));
    for (int i = 1; i < 8; ++i) acc = ei::pmadd(acc, x, ei::pset1<Packet>(Scalar(c[i])));
    return acc;
}

}  // namespace as241

// The inputs of the quantile kernel: q = u - 1/2 and t = min(u, 1 - u), both exact in double
// for the uniforms of philox.hpp, then rounded to Scalar. Working from q and t (not u) keeps
// float32's relative precision in both tails.
template <typename Scalar>
struct QuantileInput {
    Scalar q;
    Scalar t;
};

template <typename Scalar>
inline QuantileInput<Scalar> quantile_input(double u) {
    return {Scalar(u - 0.5), Scalar(std::min(u, 1.0 - u))};
}

// Phi^{-1} for a packet of uniforms in the central region |u - 1/2| <= 0.425, from q = u - 1/2.
template <typename Packet>
inline Packet central_quantile(const Packet& q) {
    namespace ei = Eigen::internal;
    using namespace as241;
    using Scalar = typename ei::unpacket_traits<Packet>::type;
    const Packet r = ei::psub(ei::pset1<Packet>(Scalar(kCentralShift)), ei::pmul(q, q));
    return ei::pdiv(ei::pmul(q, horner(kCentralNum, r)), horner(kCentralDen, r));
}

// Phi^{-1} for a packet of uniforms in the tails, from q = u - 1/2 (its sign) and
// t = min(u, 1 - u).
template <typename Packet>
inline Packet tail_quantile(const Packet& q, const Packet& t) {
    namespace ei = Eigen::internal;
    using namespace as241;
    using Scalar = typename ei::unpacket_traits<Packet>::type;
    const Packet far_start = ei::pset1<Packet>(Scalar(kFarStart));
    const Packet s = ei::psqrt(ei::pnegate(ei::plog(t)));
    const Packet sn = ei::psub(s, ei::pset1<Packet>(Scalar(kNearShift)));
    Packet tail = ei::pdiv(horner(kNearNum, sn), horner(kNearDen, sn));
    const Packet in_far_tail = ei::pcmp_lt(far_start, s);
    if (ei::predux_any(in_far_tail)) {  // u or 1 - u below 1.4e-11 in some lane
        const Packet sf = ei::psub(s, far_start);
        tail = ei::pselect(in_far_tail, ei::pdiv(horner(kFarNum, sf), horner(kFarDen, sf)), tail);
    }
    return ei::pselect(ei::pcmp_lt(q, ei::pset1<Packet>(Scalar(0))), ei::pnegate(tail), tail);
}

// The entries i < size with |q_i| > 0.425 (AS 241's tails), appended in order of i to at (i),
// tail_q and tail_t; returns how many. Branch-free scalar loop, whose dependence on the running
// count costs ~1.5 ns per entry; with AVX-512 a compress-store per packet does the same (same
// result) about ten times faster.
template <typename Scalar>
inline int gather_tail_scalar(const Scalar* q, const Scalar* t, int begin, int size, int n_tail,
                              int* at, Scalar* tail_q, Scalar* tail_t) {
    for (int i = begin; i < size; ++i) {
        at[n_tail] = i;
        tail_q[n_tail] = q[i];
        tail_t[n_tail] = t[i];
        n_tail += std::abs(q[i]) > Scalar(as241::kCentralRange);
    }
    return n_tail;
}

#if defined(__AVX512F__) && defined(__AVX512VL__)
// float and double twins: the same loop with each type's own intrinsics and lane count.
inline int gather_tail(const float* q, const float* t, int size, int* at, float* tail_q,
                       float* tail_t) {
    const __m512 range = _mm512_set1_ps(float(as241::kCentralRange));
    __m512i index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int n_tail = 0;
    int i = 0;
    for (; i + 16 <= size; i += 16) {
        const __mmask16 tail =
            _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(q + i)), range, _CMP_GT_OQ);
        _mm512_mask_compressstoreu_epi32(at + n_tail, tail, index);
        _mm512_mask_compressstoreu_ps(tail_q + n_tail, tail, _mm512_loadu_ps(q + i));
        _mm512_mask_compressstoreu_ps(tail_t + n_tail, tail, _mm512_loadu_ps(t + i));
        n_tail += __builtin_popcount(tail);
        index = _mm512_add_epi32(index, _mm512_set1_epi32(16));
    }
    return gather_tail_scalar(q, t, i, size, n_tail, at, tail_q, tail_t);
}

inline int gather_tail(const double* q, const double* t, int size, int* at, double* tail_q,
                       double* tail_t) {
    const __m512d range = _mm512_set1_pd(as241::kCentralRange);
    __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int n_tail = 0;
    int i = 0;
    for (; i + 8 <= size; i += 8) {
        const __mmask8 tail =
            _mm512_cmp_pd_mask(_mm512_abs_pd(_mm512_loadu_pd(q + i)), range, _CMP_GT_OQ);
        _mm256_mask_compressstoreu_epi32(at + n_tail, tail, index);
        _mm512_mask_compressstoreu_pd(tail_q + n_tail, tail, _mm512_loadu_pd(q + i));
        _mm512_mask_compressstoreu_pd(tail_t + n_tail, tail, _mm512_loadu_pd(t + i));
        n_tail += __builtin_popcount(tail);
        index = _mm256_add_epi32(index, _mm256_set1_epi32(8));
    }
    return gather_tail_scalar(q, t, i, size, n_tail, at, tail_q, tail_t);
}
#else
template <typename Scalar>
inline int gather_tail(const Scalar* q, const Scalar* t, int size, int* at, Scalar* tail_q,
                       Scalar* tail_t) {
    return gather_tail_scalar(q, t, 0, size, 0, at, tail_q, tail_t);
}
#endif

// Phi^{-1} of `count` uniforms given as (q, t), float32 in float32 packets (twice the lanes of
// float64 ones, so about half the cost). The central formula runs on every entry; the tail
// entries (15% of them, but in nearly every packet) are gathered into whole packets of their
// own for the costlier tail formula. Partial packets are padded, so every value comes from the
// same SIMD operations, the same bits wherever it sits in the input.
template <typename Scalar>
void normal_quantiles(const Scalar* q, const Scalar* t, Eigen::Index count, Scalar* out) {
    namespace ei = Eigen::internal;
    using Packet = typename ei::packet_traits<Scalar>::type;
    constexpr int P = ei::packet_traits<Scalar>::size;  // lanes of Packet
    constexpr int kBlock = 256;
    alignas(64) Scalar tail_q[kBlock + P];
    alignas(64) Scalar tail_t[kBlock + P];
    alignas(64) Scalar tail_value[kBlock + P];
    alignas(64) Scalar last[P];
    int tail_at[kBlock];
    for (Eigen::Index j0 = 0; j0 < count; j0 += kBlock) {
        const int size = int(std::min<Eigen::Index>(kBlock, count - j0));
        const Scalar* qb = q + j0;
        Scalar* ob = out + j0;
        int j = 0;
        for (; j + P <= size; j += P) {
            ei::pstoreu(ob + j, central_quantile(ei::ploadu<Packet>(qb + j)));
        }
        if (j < size) {  // padding: q = 0 (u = 1/2)
            for (int i = 0; i < P; ++i) last[i] = j + i < size ? qb[j + i] : Scalar(0);
            ei::pstore(last, central_quantile(ei::pload<Packet>(last)));
            for (int i = 0; j + i < size; ++i) ob[j + i] = last[i];
        }
        const int n_tail = gather_tail(qb, t + j0, size, tail_at, tail_q, tail_t);
        for (int i = n_tail; i % P != 0; ++i) {  // padding: u = 0.95, a harmless tail value
            tail_q[i] = Scalar(0.45);
            tail_t[i] = Scalar(0.05);
        }
        for (int i = 0; i < n_tail; i += P) {
            ei::pstore(tail_value + i,
                       tail_quantile(ei::pload<Packet>(tail_q + i), ei::pload<Packet>(tail_t + i)));
        }
        for (int i = 0; i < n_tail; ++i) ob[tail_at[i]] = tail_value[i];
    }
}

// Phi^{-1} of `count` uniforms u in (0, 1) (label noise; tests of the kernel).
template <typename Scalar>
void normal_quantiles_of_uniforms(const double* u, Eigen::Index count, Scalar* out) {
    constexpr Eigen::Index kBlock = 256;
    alignas(64) Scalar q[kBlock];
    alignas(64) Scalar t[kBlock];
    for (Eigen::Index j0 = 0; j0 < count; j0 += kBlock) {
        const Eigen::Index size = std::min(kBlock, count - j0);
        for (Eigen::Index j = 0; j < size; ++j) {
            const QuantileInput<Scalar> in = quantile_input<Scalar>(u[j0 + j]);
            q[j] = in.q;
            t[j] = in.t;
        }
        normal_quantiles<Scalar>(q, t, size, out + j0);
    }
}

// Counter word 3 of the blocks that hold the low bits of an array's uniforms (gaussian_row).
constexpr std::uint32_t kLowWords = 0x80000000u;

inline void set_counters(PhiloxBlock& block, int count, std::uint64_t first, std::uint64_t row,
                         std::uint32_t word3) {
    for (int c = 0; c < count; ++c) {
        block.w[0][c] = std::uint32_t(first + std::uint64_t(c));
        block.w[1][c] = std::uint32_t(row);
        block.w[2][c] = std::uint32_t(row >> 32);
        block.w[3][c] = word3;
    }
}

// Whether a float32 entry needs the low bits of its uniform: the top byte of the high word is
// 0x00 or 0xFF (min(u, 1 - u) < 2^-8, the tails) or 0x7F or 0x80 (|u - 1/2| < 2^-8, where
// float32 resolves z far more finely than 2^-32).
inline bool needs_low_bits(std::uint32_t high) {
    const std::uint32_t top = high >> 24;
    return (top == 0x00u) | (top == 0xFFu) | (top == 0x7Fu) | (top == 0x80u);
}

// Row `row` of the standard normal array (stream `id`, `d` columns) of the data set `seed`.
// Columns go in blocks of 4 x 128: column 512 b + 128 k + c (k = 0..3, c < 128) is Phi^{-1}(u)
// of the 52-bit uniform u (philox.hpp) whose high 32 bits are word k of the Philox block with
// counter (128 b + c, row, id) and whose low 20 bits are the top of word k of the block with
// counter (128 b + c, row, id | kLowWords). (Words to columns by k-major slices, so every loop
// below runs over contiguous memory.)
// float64 rows make both blocks. float32 rows make the high block only and take u to the middle
// of the 2^-32-wide interval it fixes, except for the counters where some word needs_low_bits
// (6% of them): those make their low block and use the full u. Elsewhere the 2^-33 error in u
// is below 2^-25 of q and of t, at most one rounding in float32. So float32 rows are the
// float64 rows to a few float32 ulps, for half the Philox work.
template <typename T>
void gaussian_row(std::uint64_t seed, GaussianStreamId id, std::uint64_t row, Eigen::Index d,
                  T* out) {
    constexpr int kSize = PhiloxBlock::kSize;
    constexpr Eigen::Index kBlock = 4 * kSize;  // columns per block of counters
    PhiloxBlock high;
    PhiloxBlock low;
    alignas(64) T q[kBlock];
    alignas(64) T t[kBlock];
    const PhiloxKey key = philox_key(seed);
    const std::uint32_t stream = std::uint32_t(id);
    for (Eigen::Index j0 = 0; j0 < d; j0 += kBlock) {
        const Eigen::Index count = std::min(kBlock, d - j0);
        const int counters = int(std::min<Eigen::Index>(kSize, count));
        const std::uint64_t first = std::uint64_t(j0 / 4);
        set_counters(high, counters, first, row, stream);
        philox4x32_10(high, counters, key);
        if constexpr (std::is_same_v<T, double>) {
            set_counters(low, counters, first, row, stream | kLowWords);
            philox4x32_10(low, counters, key);
            for (int k = 0; k < 4; ++k) {
#pragma omp simd
                for (int c = 0; c < counters; ++c) {
                    const QuantileInput<T> in =
                        quantile_input<T>(uniform_open01(high.w[k][c], low.w[k][c]));
                    q[k * kSize + c] = in.q;
                    t[k * kSize + c] = in.t;
                }
            }
        } else {
            alignas(64) std::uint32_t refine[kSize] = {};
            for (int k = 0; k < 4; ++k) {
#pragma omp simd
                for (int c = 0; c < counters; ++c) {
                    const QuantileInput<T> in =
                        quantile_input<T>((double(high.w[k][c]) + 0.5) * 0x1.0p-32);
                    q[k * kSize + c] = in.q;
                    t[k * kSize + c] = in.t;
                    refine[c] |= std::uint32_t(needs_low_bits(high.w[k][c]));
                }
            }
            int at[kSize];
            int n_refine = 0;
            for (int c = 0; c < counters; ++c) {
                at[n_refine] = c;
                n_refine += int(refine[c]);
            }
            if (n_refine > 0) {
                for (int r = 0; r < n_refine; ++r) {
                    low.w[0][r] = std::uint32_t(first + std::uint64_t(at[r]));
                    low.w[1][r] = std::uint32_t(row);
                    low.w[2][r] = std::uint32_t(row >> 32);
                    low.w[3][r] = stream | kLowWords;
                }
                philox4x32_10(low, n_refine, key);
                for (int r = 0; r < n_refine; ++r) {
                    for (int k = 0; k < 4; ++k) {
                        const int j = k * kSize + at[r];
                        const QuantileInput<T> in =
                            quantile_input<T>(uniform_open01(high.w[k][at[r]], low.w[k][r]));
                        q[j] = in.q;
                        t[j] = in.t;
                    }
                }
            }
        }
        normal_quantiles<T>(q, t, count, out + j0);
    }
}

// Label noise of rows [row0, row0 + count) of data set `seed`: one normal per row, words 0-1 of
// the Philox block with counter (0, row, label_noise).
inline void gaussian_noise(std::uint64_t seed, std::uint64_t row0, Eigen::Index count,
                           double* out) {
    PhiloxBlock block;
    alignas(64) double uniforms[PhiloxBlock::kSize];
    const PhiloxKey key = philox_key(seed);
    for (Eigen::Index i0 = 0; i0 < count; i0 += PhiloxBlock::kSize) {
        const int rows = int(std::min<Eigen::Index>(PhiloxBlock::kSize, count - i0));
        for (int p = 0; p < rows; ++p) {
            const std::uint64_t row = row0 + std::uint64_t(i0 + p);
            block.w[0][p] = 0u;
            block.w[1][p] = std::uint32_t(row);
            block.w[2][p] = std::uint32_t(row >> 32);
            block.w[3][p] = std::uint32_t(GaussianStreamId::label_noise);
        }
        philox4x32_10(block, rows, key);
        for (int p = 0; p < rows; ++p) uniforms[p] = uniform_open01(block.w[0][p], block.w[1][p]);
        normal_quantiles_of_uniforms<double>(uniforms, rows, out + i0);
    }
}

}  // namespace mimkit
