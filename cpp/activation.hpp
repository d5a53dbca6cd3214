// Activations sigma and sigma' (SPEC 2). The choice is an enum switched once per chunk,
// outside the elementwise loops.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

namespace mimkit {

enum class Activation { logcosh, quadratic, cos };

inline Activation activation_from_name(const std::string& name) {
    if (name == "logcosh") return Activation::logcosh;
    if (name == "quadratic") return Activation::quadratic;
    if (name == "cos") return Activation::cos;
    throw std::invalid_argument("unknown activation '" + name + "'; choose logcosh, quadratic or cos");
}

// sigma(z) = log cosh z and sigma'(z) = tanh z, together because both need tanh.
// Small |z|: -log(1 - tanh^2 z)/2 has no cancellation (accurate down to denormals);
// large |z|: |z| + log1p(exp(-2|z|)) - log 2 never overflows (accurate up to 1e308).
template <typename T>
inline void logcosh_value_and_slope(T z, T& value, T& slope) {
    const T t = std::tanh(z);
    const T az = std::abs(z);
    slope = t;
    if (az < T(1)) {
        value = T(-0.5) * std::log1p(-t * t);
    } else {
        value = az + std::log1p(std::exp(T(-2) * az)) - T(0.69314718055994530942);
    }
}

template <typename T>
inline void activation_value_and_slope(Activation act, T z, T& value, T& slope) {
    switch (act) {
        case Activation::logcosh:
            logcosh_value_and_slope(z, value, slope);
            return;
        case Activation::quadratic:
            value = T(0.5) * z * z;
            slope = z;
            return;
        case Activation::cos: {
            const T s = std::sin(T(0.5) * z);
            value = T(2) * s * s;  // 1 - cos z without cancellation near 0
            slope = std::sin(z);
            return;
        }
    }
}

}  // namespace mimkit
