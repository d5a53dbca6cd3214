// Activations sigma and sigma' (docs/theory.md, "The network"). The choice is an enum switched
// once per row (activation_row), outside the elementwise loops.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mimkit {

enum class Activation { logcosh, quadratic, cos };

inline Activation activation_from_name(const std::string& name) {
    if (name == "logcosh") return Activation::logcosh;
    if (name == "quadratic") return Activation::quadratic;
    if (name == "cos") return Activation::cos;
    throw std::invalid_argument("unknown activation '" + name +
                                "'; choose logcosh, quadratic or cos");
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

// sigma and sigma' of one entry, for the activations without a SIMD row kernel of their own.
template <Activation A, typename T>
inline void activation_value_and_slope(T z, T& value, T& slope) {
    if constexpr (A == Activation::quadratic) {
        value = T(0.5) * z * z;
        slope = z;
    } else {
        static_assert(A == Activation::cos, "log cosh rows have their own kernel");
        const T s = std::sin(T(0.5) * z);
        value = T(2) * s * s;  // 1 - cos z without cancellation near 0
        slope = std::sin(z);
    }
}

// One row of pre-activations: z[j] += b[j], then value[j] = sigma(z[j]) and z[j] = sigma'(z[j]).
// Returns max_j |z[j] + b[j]|. The generic loop suits quadratic and cos (the compiler
// vectorises it); logcosh has an explicit SIMD kernel below because Eigen 3.4 vectorises only
// exp and log for double, not tanh / log1p / expm1.
template <Activation A, typename T>
struct ActivationRow {
    static T apply(T* z, const T* b, T* value, Eigen::Index m) {
        T zmax = T(0);
#pragma omp simd reduction(max : zmax)
        for (Eigen::Index j = 0; j < m; ++j) {
            const T zj = z[j] + b[j];
            zmax = std::max(zmax, std::abs(zj));
            activation_value_and_slope<A, T>(zj, value[j], z[j]);
        }
        return zmax;
    }
};

// Below this |z| the degree-9 (tanh) and degree-10 (log cosh) Taylor polynomials are exact to
// rounding: the first omitted terms are < 1e-17 relative at |z| = 1/32.
constexpr double kLogcoshTaylorRange = 1.0 / 32.0;

// log cosh on packets. Packets entirely inside the Taylor range (the usual case in phase 1,
// where weights are tiny) take the polynomial; others the same two branches as the scalar
// version, built only from exp,
// log and selects. tanh|z| = -e/(2 + e) with e = expm1(-2|z|) (no cancellation at small |z|);
// expm1 and log1p use Kahan's tricks (u - 1) x / log u and log(v) x / (v - 1), with the exact
// cases u == 1, u - 1 == -1 and v == 1 selected explicitly (pexp clamps its argument, so
// u never reaches 0 for huge |z|).
template <typename T>
struct ActivationRow<Activation::logcosh, T> {
    static T apply(T* z, const T* b, T* value, Eigen::Index m) {
        namespace ei = Eigen::internal;
        using Packet = typename ei::packet_traits<T>::type;
        constexpr Eigen::Index P = ei::packet_traits<T>::size;  // lanes of Packet
        const Packet zero = ei::pset1<Packet>(T(0));
        const Packet one = ei::pset1<Packet>(T(1));
        const Packet two = ei::pset1<Packet>(T(2));
        const Packet minus_one = ei::pset1<Packet>(T(-1));
        const Packet minus_two = ei::pset1<Packet>(T(-2));
        const Packet minus_half = ei::pset1<Packet>(T(-0.5));
        const Packet ln2 = ei::pset1<Packet>(T(0.69314718055994530942));
        Packet zmax_packet = zero;
        Eigen::Index j = 0;
        for (; j + P <= m; j += P) {
            const Packet zj = ei::padd(ei::ploadu<Packet>(z + j), ei::ploadu<Packet>(b + j));
            const Packet az = ei::pabs(zj);
            zmax_packet = ei::pmax(zmax_packet, az);
            if (ei::predux_max(az) < T(kLogcoshTaylorRange)) {
                // Phase 1's small-weight regime: Taylor series, no transcendental calls.
                const Packet z2 = ei::pmul(zj, zj);
                Packet th = ei::pset1<Packet>(T(62.0 / 2835.0));
                th = ei::pmadd(th, z2, ei::pset1<Packet>(T(-17.0 / 315.0)));
                th = ei::pmadd(th, z2, ei::pset1<Packet>(T(2.0 / 15.0)));
                th = ei::pmadd(th, z2, ei::pset1<Packet>(T(-1.0 / 3.0)));
                th = ei::pmadd(th, z2, one);
                Packet val = ei::pset1<Packet>(T(31.0 / 14175.0));
                val = ei::pmadd(val, z2, ei::pset1<Packet>(T(-17.0 / 2520.0)));
                val = ei::pmadd(val, z2, ei::pset1<Packet>(T(1.0 / 45.0)));
                val = ei::pmadd(val, z2, ei::pset1<Packet>(T(-1.0 / 12.0)));
                val = ei::pmadd(val, z2, ei::pset1<Packet>(T(0.5)));
                ei::pstoreu(value + j, ei::pmul(val, z2));
                ei::pstoreu(z + j, ei::pmul(th, zj));
                continue;
            }
            const Packet x = ei::pmul(minus_two, az);
            const Packet u = ei::pexp(x);
            const Packet um1 = ei::psub(u, one);
            Packet em1 = ei::pdiv(ei::pmul(um1, x), ei::plog(u));
            em1 = ei::pselect(ei::pcmp_eq(u, one), x, em1);
            em1 = ei::pselect(ei::pcmp_eq(um1, minus_one), minus_one, em1);
            const Packet th = ei::pdiv(ei::pnegate(em1), ei::padd(two, em1));
            const Packet small = ei::pcmp_lt(az, one);
            const Packet arg = ei::pselect(small, ei::pnegate(ei::pmul(th, th)), u);
            const Packet v = ei::padd(one, arg);
            Packet l1p = ei::pdiv(ei::pmul(ei::plog(v), arg), ei::psub(v, one));
            l1p = ei::pselect(ei::pcmp_eq(v, one), arg, l1p);
            const Packet val =
                ei::pselect(small, ei::pmul(minus_half, l1p), ei::psub(ei::padd(az, l1p), ln2));
            ei::pstoreu(value + j, val);
            ei::pstoreu(z + j, ei::pselect(ei::pcmp_lt(zj, zero), ei::pnegate(th), th));
        }
        T zmax = ei::predux_max(zmax_packet);
        for (; j < m; ++j) {
            const T zj = z[j] + b[j];
            zmax = std::max(zmax, std::abs(zj));
            logcosh_value_and_slope(zj, value[j], z[j]);
        }
        return zmax;
    }
};

// The one dispatch from an activation's name to its row kernel, once per row (a row is m entries).
template <typename T>
T activation_row(Activation act, T* z, const T* b, T* value, Eigen::Index m) {
    switch (act) {
        case Activation::logcosh:
            return ActivationRow<Activation::logcosh, T>::apply(z, b, value, m);
        case Activation::quadratic:
            return ActivationRow<Activation::quadratic, T>::apply(z, b, value, m);
        case Activation::cos:
            return ActivationRow<Activation::cos, T>::apply(z, b, value, m);
    }
    return T(0);
}

}  // namespace mimkit
