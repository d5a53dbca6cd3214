// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11): a counter-based generator. Its output is a
// pure function of (counter, key), so any entry of a random array can be made on its own, by
// any thread or machine, in any order, and always comes out the same.
#pragma once

#include <cstdint>

namespace mimkit {

struct PhiloxKey {
    std::uint32_t lo;
    std::uint32_t hi;
};

inline PhiloxKey philox_key(std::uint64_t seed) {
    return PhiloxKey{std::uint32_t(seed), std::uint32_t(seed >> 32)};
}

// Up to kSize counters (word k of counter p in w[k][p]), encrypted in place into their outputs.
// Structure of arrays, all ten rounds of a SIMD lane's counter in registers: the loop over
// counters vectorises (the 32 x 32 -> 64-bit products map to vpmuludq).
struct PhiloxBlock {
    static constexpr int kSize = 128;
    alignas(64) std::uint32_t w[4][kSize];
};

inline void philox4x32_10(PhiloxBlock& block, int count, PhiloxKey key) {
    constexpr std::uint32_t kMul0 = 0xD2511F53u;
    constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
    constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;
    constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;
    std::uint32_t* __restrict c0 = block.w[0];
    std::uint32_t* __restrict c1 = block.w[1];
    std::uint32_t* __restrict c2 = block.w[2];
    std::uint32_t* __restrict c3 = block.w[3];
#pragma omp simd
    for (int p = 0; p < count; ++p) {
        std::uint32_t x0 = c0[p], x1 = c1[p], x2 = c2[p], x3 = c3[p];
        std::uint32_t k0 = key.lo, k1 = key.hi;
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = std::uint64_t(kMul0) * x0;
            const std::uint64_t p1 = std::uint64_t(kMul1) * x2;
            const std::uint32_t next0 = std::uint32_t(p1 >> 32) ^ x1 ^ k0;
            const std::uint32_t next2 = std::uint32_t(p0 >> 32) ^ x3 ^ k1;
            x1 = std::uint32_t(p1);
            x3 = std::uint32_t(p0);
            x0 = next0;
            x2 = next2;
            k0 += kWeyl0;
            k1 += kWeyl1;
        }
        c0[p] = x0;
        c1[p] = x1;
        c2[p] = x2;
        c3[p] = x3;
    }
}

// A uniform in (0, 1) from 64 random bits: (k + 1/2) 2^-52 with k their top 52 bits. Both u and
// 1 - u are exact doubles, never 0 or 1, so the normal quantile of either is finite.
inline double uniform_open01(std::uint32_t high, std::uint32_t low) {
    const std::uint64_t bits = (std::uint64_t(high) << 32) | low;
    return (double(bits >> 12) + 0.5) * 0x1.0p-52;
}

}  // namespace mimkit
