// Philox4x32-10 (Salmon, Moraes, Dror & Shaw, SC'11): a counter-based generator. Its output is a
// pure function of (counter, key), so any entry of a random array can be made on its own, by
// any thread or machine, in any order, and always comes out the same.
#pragma once

#include <array>
#include <cstdint>

namespace mimkit {

using PhiloxWords = std::array<std::uint32_t, 4>;

struct PhiloxKey {
    std::uint32_t lo;
    std::uint32_t hi;
};

inline PhiloxKey philox_key(std::uint64_t seed) {
    return PhiloxKey{std::uint32_t(seed), std::uint32_t(seed >> 32)};
}

// Ten rounds of the Philox S-box; written on plain 32-bit words so that a loop over many
// counters vectorises (the 32 x 32 -> 64-bit products map to vpmuludq).
inline PhiloxWords philox4x32_10(PhiloxWords ctr, PhiloxKey key) {
    constexpr std::uint32_t kMul0 = 0xD2511F53u;
    constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
    constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;
    constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;
    std::uint32_t k0 = key.lo;
    std::uint32_t k1 = key.hi;
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = std::uint64_t(kMul0) * ctr[0];
        const std::uint64_t p1 = std::uint64_t(kMul1) * ctr[2];
        ctr = PhiloxWords{std::uint32_t(p1 >> 32) ^ ctr[1] ^ k0, std::uint32_t(p1),
                          std::uint32_t(p0 >> 32) ^ ctr[3] ^ k1, std::uint32_t(p0)};
        k0 += kWeyl0;
        k1 += kWeyl1;
    }
    return ctr;
}

// A uniform in (0, 1) from 64 random bits: (k + 1/2) 2^-52 with k their top 52 bits. Both u and
// 1 - u are exact doubles, never 0 or 1, so the normal quantile of either is finite.
inline double uniform_open01(std::uint32_t high, std::uint32_t low) {
    const std::uint64_t bits = (std::uint64_t(high) << 32) | low;
    return (double(bits >> 12) + 0.5) * 0x1.0p-52;
}

}  // namespace mimkit
