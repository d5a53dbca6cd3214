// The library's link functions g: R^r -> R (python/mimkit/links.py gives their names, sizes and
// descriptions). This is their one implementation: Link.__call__ evaluates them here on arrays,
// and a streamed data set's label pass (stream_labels.hpp) inside the core, row by row.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

#include "chunking.hpp"

namespace mimkit {

enum class LinkKind {
    z1z2,
    he2_sum,
    norm2,
    sign_z1z2,
    z1z2z3,
    z1_plus_z1z2,
    tanh_committee,
    parity3,
    sq_sign3,
    sign_committee
};

inline LinkKind link_from_name(const std::string& name) {
    if (name == "z1z2") return LinkKind::z1z2;
    if (name == "he2_sum") return LinkKind::he2_sum;
    if (name == "norm2") return LinkKind::norm2;
    if (name == "sign_z1z2") return LinkKind::sign_z1z2;
    if (name == "z1z2z3") return LinkKind::z1z2z3;
    if (name == "z1_plus_z1z2") return LinkKind::z1_plus_z1z2;
    if (name == "tanh_committee") return LinkKind::tanh_committee;
    if (name == "parity3") return LinkKind::parity3;
    if (name == "sq_sign3") return LinkKind::sq_sign3;
    if (name == "sign_committee") return LinkKind::sign_committee;
    throw std::invalid_argument("unknown link '" + name + "'");
}

// The smallest r a link reads (the sized ones take any r >= 1).
inline Index link_min_r(LinkKind kind) {
    switch (kind) {
        case LinkKind::z1z2z3:
        case LinkKind::parity3:
        case LinkKind::sq_sign3:
        case LinkKind::sign_committee:
            return 3;
        case LinkKind::z1z2:
        case LinkKind::sign_z1z2:
        case LinkKind::z1_plus_z1z2:
            return 2;
        default:
            return 1;
    }
}

// sign(0) := 1, so sign links take values in {-1, +1} only (0 has probability 0).
inline double sign_of(double v) { return v >= 0.0 ? 1.0 : -1.0; }

// g(z) of one row z (r entries).
inline double link_value(LinkKind kind, const double* z, Index r) {
    double sum = 0.0;
    switch (kind) {
        case LinkKind::z1z2:
            return z[0] * z[1];
        case LinkKind::he2_sum:  // sum of He2(z_k) = z_k^2 - 1
            for (Index k = 0; k < r; ++k) sum += z[k] * z[k] - 1.0;
            return sum;
        case LinkKind::norm2:
            for (Index k = 0; k < r; ++k) sum += z[k] * z[k];
            return sum / double(r);
        case LinkKind::sign_z1z2:
            return sign_of(z[0] * z[1]);
        case LinkKind::z1z2z3:
            return z[0] * z[1] * z[2];
        case LinkKind::z1_plus_z1z2:
            return z[0] + z[0] * z[1];
        case LinkKind::tanh_committee:
            for (Index k = 0; k < r; ++k) sum += std::tanh(z[k]);
            return sum;
        case LinkKind::parity3:
            return sign_of(z[0] * z[1] * z[2]);
        case LinkKind::sq_sign3:
            return z[0] * z[0] + sign_of(z[0] * z[1] * z[2]);
        case LinkKind::sign_committee:
            return sign_of(z[0]) + sign_of(z[1]) + sign_of(z[2]);
    }
    return 0.0;
}

// g of each row of z (n x r, row-major) into out (n).
inline void link_values(LinkKind kind, const double* z, Index n, Index r, double* out) {
    for (Index i = 0; i < n; ++i) out[i] = link_value(kind, z + i * r, r);
}

}  // namespace mimkit
