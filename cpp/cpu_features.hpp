// Which ISA levels the running CPU supports, so that python/mimkit/_native.py loads the fastest
// core variant it can run (x86-64-v3: AVX2, FMA, BMI2; x86-64-v4: AVX-512 F/BW/DQ/VL).
#pragma once

#include <stdexcept>
#include <string>

namespace mimkit {

inline bool cpu_supports(const std::string& level) {
    if (level != "base" && level != "v3" && level != "v4") {
        throw std::invalid_argument("unknown ISA level '" + level + "'; choose base, v3 or v4");
    }
    if (level == "base") return true;
#if defined(__x86_64__) || defined(_M_X64)
    __builtin_cpu_init();
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi2");
    if (level == "v3") return v3;
    return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return false;
#endif
}

}  // namespace mimkit
