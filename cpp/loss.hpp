// Losses l(p, y) and dl/dp (docs/theory.md, "Phase 1"). Every loss depends on r = p - y only;
// l' is 0 at a kink.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

namespace mimkit {

enum class Loss { squared, absolute, huber };

inline Loss loss_from_name(const std::string& name) {
    if (name == "squared") return Loss::squared;
    if (name == "absolute") return Loss::absolute;
    if (name == "huber") return Loss::huber;
    throw std::invalid_argument("unknown loss '" + name + "'; choose squared, absolute or huber");
}

struct LossSpec {
    Loss kind;
    double huber_delta;
};

// Returns l(p, y) and writes dl/dp to `slope`. Squared loss is (p - y)^2 / 2.
template <typename T>
inline T loss_value_and_slope(const LossSpec& loss, T p, T y, T& slope) {
    const T r = p - y;
    switch (loss.kind) {
        case Loss::squared:
            slope = r;
            return T(0.5) * r * r;
        case Loss::absolute:
            slope = T((r > T(0)) - (r < T(0)));
            return std::abs(r);
        case Loss::huber: {
            const T delta = T(loss.huber_delta);
            const T ar = std::abs(r);
            if (ar <= delta) {
                slope = r;
                return T(0.5) * r * r;
            }
            slope = r > T(0) ? delta : -delta;
            return delta * (ar - T(0.5) * delta);
        }
    }
    return T(0);
}

}  // namespace mimkit
