// pybind11 bindings: argument checks, dtype dispatch (one overload per dtype, no implicit
// conversion, so arrays arrive without copies), GIL release and Ctrl-C checks. Validation with
// user-facing messages and conversion happen once, in python/mimkit/_validation.py.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "amp_channel.hpp"
#include "cpu_features.hpp"
#include "hidden_features.hpp"
#include "links.hpp"
#include "local_hessian.hpp"
#include "row_source.hpp"
#include "stream_labels.hpp"
#include "two_layer.hpp"

#ifndef MIMKIT_MODULE_NAME
#error "MIMKIT_MODULE_NAME must name the module variant (_core_base, _core_v3, _core_v4)"
#endif
#ifndef MIMKIT_VARIANT
#error "MIMKIT_VARIANT must name the ISA level"
#endif
#ifndef MIMKIT_VERSION
#error "MIMKIT_VERSION must be the package version (CMakeLists.txt passes pyproject.toml's)"
#endif

namespace py = pybind11;
using namespace mimkit;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style>;

void require(bool ok, const std::string& message) {
    if (!ok) throw py::value_error(message);
}

// Every kernel reads X from a row source: an array (no copy) or a streamed data set's address.
template <typename T>
ArrayRowSource<T> source_of(ConstMatrixRef<T> X) {
    return ArrayRowSource<T>{X};
}

template <typename T>
GaussianRowSource<T> source_of(const RowAddress& address) {
    return GaussianRowSource<T>{address};
}

template <typename T, typename Source>
void check_shapes(const Source& X, const ConstMatrixRef<T>& W, const Array<T>& b,
                  const Array<T>& a) {
    require(X.rows() > 0 && X.cols() > 0, "X must be non-empty");
    require(W.cols() == X.cols(), "W must have as many columns as X");
    require(b.ndim() == 1 && b.shape(0) == W.rows(), "b must have length m = W.shape[0]");
    require(a.ndim() == 1 && a.shape(0) == W.rows(), "a must have length m = W.shape[0]");
}

template <typename T, typename Source>
void check_rows(const Source& X, const Array<T>& v, const char* name) {
    require(v.ndim() == 1 && v.shape(0) == X.rows(),
            std::string(name) + " must have length n = X.shape[0]");
}

// An optional weight per row (None: unweighted), held alive by `holder`.
template <typename T, typename Source>
const T* row_weights(const Source& X, const py::object& sample_weight, Array<T>& holder) {
    if (sample_weight.is_none()) return nullptr;
    holder = sample_weight.cast<Array<T>>();
    check_rows<T>(X, holder, "sample_weight");
    return holder.data();
}

template <typename T, typename Input>
Array<T> forward_py(Input X_in, ConstMatrixRef<T> W, const Array<T>& b, const Array<T>& a,
                    const std::string& activation, int n_threads, Index chunk_rows) {
    const auto X = source_of<T>(X_in);
    check_shapes<T>(X, W, b, a);
    const Activation act = activation_from_name(activation);
    Array<T> p(X.rows());
    T* out = p.mutable_data();
    {
        py::gil_scoped_release release;
        forward<T>(X, W, b.data(), a.data(), act, n_threads, chunk_rows, out);
    }
    return p;
}

// The gradient with respect to W (phase1_gradient: grad_W, mean loss, max |z|) or, with `Full`,
// to W, b and a (full_gradient: grad_W, grad_b, grad_a, mean loss), in one pass over X.
template <typename T, typename Input, bool Full>
py::tuple gradient_py(Input X_in, const Array<T>& y, ConstMatrixRef<T> W, const Array<T>& b,
                      const Array<T>& a, const std::string& activation, const std::string& loss,
                      double huber_delta, int n_threads, Index chunk_rows,
                      const py::object& sample_weight) {
    const auto X = source_of<T>(X_in);
    using Source = std::decay_t<decltype(X)>;
    check_shapes<T>(X, W, b, a);
    check_rows<T>(X, y, "y");
    Array<T> weight_holder;
    const T* weight = row_weights<T>(X, sample_weight, weight_holder);
    const Activation act = activation_from_name(activation);
    const LossSpec loss_spec{loss_from_name(loss), huber_delta};
    Array<T> grad({W.rows(), W.cols()});
    Array<T> grad_b(Full ? W.rows() : 0);
    Array<T> grad_a(Full ? W.rows() : 0);
    Eigen::Map<RowMatrix<T>> grad_map(grad.mutable_data(), W.rows(), W.cols());
    const OuterGradients<T> outer =
        Full ? OuterGradients<T>{grad_b.mutable_data(), grad_a.mutable_data()}
             : OuterGradients<T>{};
    PassSummary summary{};
    {
        py::gil_scoped_release release;
        Phase1Workspace<T, Source> ws(X, W.rows(), n_threads, chunk_rows);
        summary = gradient_pass<T, Source>(ws, y.data(), W, b.data(), a.data(), act, loss_spec,
                                           grad_map, outer, weight);
    }
    if constexpr (Full) {
        return py::make_tuple(grad, grad_b, grad_a, summary.mean_loss);
    } else {
        return py::make_tuple(grad, summary.mean_loss, summary.max_abs_z);
    }
}

template <typename T, typename Source>
void check_hidden_shapes(const Source& X, const ConstMatrixRef<T>& V, const Array<T>& b) {
    require(X.rows() > 0 && X.cols() > 0, "X must be non-empty");
    require(V.cols() == X.cols(), "W must have as many columns as X");
    require(b.ndim() == 1 && b.shape(0) == V.rows(), "b must have length m = W.shape[0]");
}

template <typename T, typename Input>
Array<T> hidden_features_py(Input X_in, ConstMatrixRef<T> W, const Array<T>& b,
                            const std::string& activation, int n_threads, Index chunk_rows) {
    const auto X = source_of<T>(X_in);
    check_hidden_shapes<T>(X, W, b);
    const Activation act = activation_from_name(activation);
    Array<T> H({X.rows(), W.rows()});
    T* out = H.mutable_data();
    {
        py::gil_scoped_release release;
        hidden_features<T>(X, W, b.data(), act, n_threads, chunk_rows, out);
    }
    return H;
}

template <typename T, typename Input>
py::tuple hidden_statistics_py(Input X_in, const Array<T>& y, ConstMatrixRef<T> W,
                               const Array<T>& b, const std::string& activation, int n_threads,
                               Index chunk_rows) {
    const auto X = source_of<T>(X_in);
    check_hidden_shapes<T>(X, W, b);
    check_rows<T>(X, y, "y");
    const Activation act = activation_from_name(activation);
    const Index m = W.rows();
    py::array_t<double> sum(m), dot_y(m), gram({m, m});
    {
        py::gil_scoped_release release;
        const HiddenStatistics stats =
            hidden_statistics<T>(X, y.data(), W, b.data(), act, n_threads, chunk_rows);
        Vector<double>::Map(sum.mutable_data(), m) = stats.sum;
        Vector<double>::Map(dot_y.mutable_data(), m) = stats.dot_y;
        Eigen::Map<RowMatrix<double>>(gram.mutable_data(), m, m) = stats.gram;
    }
    return py::make_tuple(sum, gram, dot_y);
}

template <typename T, typename Input>
py::tuple phase1_run_py(Input X_in, const Array<T>& y, ConstMatrixRef<T> W0, const Array<T>& b,
                        const Array<T>& a, const std::string& activation, const std::string& loss,
                        double huber_delta, double lr, double weight_decay, std::int64_t n_steps,
                        const std::vector<std::int64_t>& record_steps,
                        const py::object& record_basis, const std::string& keep_scale,
                        int n_threads, Index chunk_rows, const py::object& progress,
                        const py::object& sample_weight) {
    const auto X = source_of<T>(X_in);
    check_shapes<T>(X, W0, b, a);
    check_rows<T>(X, y, "y");
    Array<T> weight_holder;
    const T* weight = row_weights<T>(X, sample_weight, weight_holder);
    require(n_steps >= 0, "n_steps must be >= 0");
    for (std::size_t s = 0; s < record_steps.size(); ++s) {
        require(record_steps[s] >= 0 && record_steps[s] <= n_steps &&
                    (s == 0 || record_steps[s] > record_steps[s - 1]),
                "record_steps must be sorted, unique and in [0, n_steps]");
    }
    const Index m = W0.rows();
    const Index d = W0.cols();
    const T* basis = nullptr;
    Index basis_cols = 0;
    Array<T> basis_array;
    if (!record_basis.is_none()) {
        basis_array = record_basis.cast<Array<T>>();
        require(basis_array.ndim() == 2 && basis_array.shape(0) == d,
                "record_basis must have shape (d, k)");
        basis = basis_array.data();
        basis_cols = basis_array.shape(1);
    }
    const Index width = basis ? basis_cols : d;
    const Phase1Settings settings{activation_from_name(activation),
                                  LossSpec{loss_from_name(loss), huber_delta},
                                  lr,
                                  weight_decay,
                                  n_steps,
                                  keep_scale_from_name(keep_scale),
                                  n_threads,
                                  chunk_rows};

    Array<T> W({m, d});
    Eigen::Map<RowMatrix<T>> W_map(W.mutable_data(), m, d);
    W_map = W0;
    Array<T> recorded({Index(record_steps.size()), m, width});
    py::array_t<double> losses(n_steps);
    py::array_t<double> log_scale(n_steps + 1);
    const Phase1Record<T> record{record_steps,
                                 basis,
                                 basis_cols,
                                 recorded.mutable_data(),
                                 losses.mutable_data(),
                                 log_scale.mutable_data()};
    // Between steps: re-take the GIL briefly to honour Ctrl-C and report progress.
    auto after_step = [&progress](std::int64_t step) {
        py::gil_scoped_acquire acquire;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!progress.is_none()) progress(step);
    };
    Phase1Outcome outcome;
    {
        py::gil_scoped_release release;
        outcome = phase1_run<T>(X, y.data(), b.data(), a.data(), settings, W_map, record,
                                after_step, weight);
    }
    return py::make_tuple(W, recorded, losses, log_scale, outcome.keep_scale, outcome.diverged_at,
                          outcome.diverged_loss, outcome.step_seconds);
}

template <typename T, typename Input>
Array<T> local_hessian_matvec_py(Input X_in, const Array<T>& t, ConstMatrixRef<T> V, int n_threads,
                                 Index chunk_rows) {
    const auto X = source_of<T>(X_in);
    require(X.rows() > 0 && X.cols() > 0, "X must be non-empty");
    require(V.rows() == X.cols(), "V must have d = X.shape[1] rows");
    require((t.ndim() == 1 || (t.ndim() == 2 && t.shape(1) == V.cols())) && t.shape(0) == X.rows(),
            "t must have shape (n,) or (n, k) with n = X.shape[0] and k = V.shape[1]");
    const Index t_cols = t.ndim() == 1 ? 1 : t.shape(1);
    Array<T> out({X.cols(), V.cols()});
    {
        py::gil_scoped_release release;
        Eigen::Map<RowMatrix<T>> out_map(out.mutable_data(), X.cols(), V.cols());
        local_hessian_matvec<T>(X, t.data(), t_cols, V, n_threads, chunk_rows, out_map);
    }
    return out;
}

template <typename T>
Array<T> local_hessian_py(ConstMatrixRef<T> X, const Array<T>& t, int n_threads, Index chunk_rows) {
    require(X.rows() > 0 && X.cols() > 0, "X must be non-empty");
    check_rows<T>(source_of<T>(X), t, "t");
    Array<T> out({X.cols(), X.cols()});
    {
        py::gil_scoped_release release;
        Eigen::Map<RowMatrix<T>> out_map(out.mutable_data(), X.cols(), X.cols());
        local_hessian<T>(X, t.data(), n_threads, chunk_rows, out_map);
    }
    return out;
}

// Rows of a streamed data set into `out` (n_rows x d, preallocated: its dtype picks T).
template <typename T>
void gaussian_rows_py(const RowAddress& address, py::array_t<T, py::array::c_style> out,
                      int n_threads) {
    require(out.ndim() == 2 && out.shape(0) == address.n_rows && out.shape(1) == address.d,
            "out must have shape (n_rows, d) of the address");
    T* data = out.mutable_data();
    py::gil_scoped_release release;
    GaussianRowSource<T>{address}.fill(data, n_threads);
}

// Z = X U^T (n_rows x r) of a streamed data set, X generated chunk by chunk, never whole.
template <typename T>
Array<T> project_rows_py(const RowAddress& address, ConstMatrixRef<T> U, int n_threads,
                         Index chunk_rows) {
    require(address.n_rows > 0 && address.d > 0, "the data set must be non-empty");
    require(U.cols() == address.d, "U must have d columns");
    Array<T> Z({Index(address.n_rows), U.rows()});
    Eigen::Map<RowMatrix<T>> Z_map(Z.mutable_data(), address.n_rows, U.rows());
    py::gil_scoped_release release;
    project_rows<T>(GaussianRowSource<T>{address}, U, n_threads, chunk_rows, Z_map);
    return Z;
}

// y = g(z) + noise xi of a streamed data set, for a library link: one pass in the core.
template <typename T>
py::array_t<double> stream_labels_py(const RowAddress& address, ConstMatrixRef<T> U,
                                     const std::string& link, double noise, int n_threads,
                                     Index chunk_rows) {
    require(address.n_rows > 0 && address.d > 0, "the data set must be non-empty");
    require(U.cols() == address.d, "U must have d columns");
    const LinkKind kind = link_from_name(link);
    require(U.rows() >= link_min_r(kind), "U has fewer rows than the link has directions");
    py::array_t<double> y(address.n_rows);
    double* out = y.mutable_data();
    py::gil_scoped_release release;
    stream_labels<T>(GaussianRowSource<T>{address}, U, kind, noise, n_threads, chunk_rows, out);
    return y;
}

// g(z) for each row of z (n, r), for a library link.
py::array_t<double> link_values_py(const py::array_t<double, py::array::c_style>& z,
                                   const std::string& link) {
    require(z.ndim() == 2, "z must be 2-D, shape (n, r)");
    const LinkKind kind = link_from_name(link);
    const Index n = z.shape(0);
    const Index r = z.shape(1);
    require(r >= link_min_r(kind), "z has fewer columns than the link has directions");
    py::array_t<double> y(n);
    const double* in = z.data();
    double* out = y.mutable_data();
    py::gil_scoped_release release;
    link_values(kind, in, n, r, out);
    return y;
}

// Phi^{-1}(u) by the generator's own SIMD kernel, in float64 or float32 (`out` picks; tests
// compare it with scipy's ndtri).
template <typename T>
void normal_quantile_py(const py::array_t<double, py::array::c_style>& u,
                        py::array_t<T, py::array::c_style> out) {
    require(u.ndim() == 1 && out.ndim() == 1 && out.shape(0) == u.shape(0),
            "u and out must be 1-D, same length");
    normal_quantiles_of_uniforms<T>(u.data(), u.shape(0), out.mutable_data());
}

// One GAMP pass over X for a channel of the split rule (amp_channel.hpp): the damped g (n, 2),
// X^T g (d, 2), the summed posterior covariance (2, 2) and the summed squares of g_out.
template <typename Likelihood>
py::tuple split_channel_gamp_pass_py(ConstMatrixRef<double> X, const Array<double>& W,
                                     const Array<double>& g_prev, const Array<double>& y,
                                     const Array<double>& C, const Array<double>& P, double damping,
                                     const Array<double>& table,
                                     const Array<double>& side_log_weights, double edge,
                                     double step, double negligible, const Likelihood& likelihood,
                                     int n_threads, Index chunk_rows) {
    const Index n = X.rows();
    const Index d = X.cols();
    require(n > 0 && d > 0, "X must be non-empty");
    require(W.ndim() == 2 && W.shape(0) == d && W.shape(1) == 2, "W must have shape (d, 2)");
    require(g_prev.ndim() == 2 && g_prev.shape(0) == n && g_prev.shape(1) == 2,
            "g_prev must have shape (n, 2)");
    require(y.ndim() == 1 && y.shape(0) == n, "y must have length n = X.shape[0]");
    for (const Array<double>* M : {&C, &P}) {
        require(M->ndim() == 2 && M->shape(0) == 2 && M->shape(1) == 2,
                "C and P must have shape (2, 2)");
    }
    require(C.data()[3] > 0.0, "C[1, 1] must be positive");
    require(table.ndim() == 3 && table.shape(0) > 0 && table.shape(1) == 4 && table.shape(2) > 0,
            "table must have shape (intervals, 4, nodes)");
    require(side_log_weights.ndim() == 1 && side_log_weights.shape(0) == table.shape(2),
            "side_log_weights must have one entry per node of the table");
    const HalfLineTable half_line{table.data(), Index(table.shape(0)), Index(table.shape(2)), edge,
                                  step};
    Array<double> g({n, Index(2)});
    Array<double> back({d, Index(2)});
    Array<double> cov({Index(2), Index(2)});
    double power = 0.0;
    {
        py::gil_scoped_release release;
        split_channel_gamp_pass(
            X, W.data(), g_prev.data(), y.data(), C.data(), P.data(), damping, half_line,
            side_log_weights.data(), negligible, likelihood, n_threads, chunk_rows,
            GampPassOutput{g.mutable_data(), back.mutable_data(), cov.mutable_data(), &power});
    }
    return py::make_tuple(g, back, cov, power);
}

py::tuple conditional_gaussian_gamp_pass_py(ConstMatrixRef<double> X, const Array<double>& W,
                                            const Array<double>& g_prev, const Array<double>& y,
                                            const Array<double>& C, const Array<double>& P,
                                            double damping, const Array<double>& table,
                                            const Array<double>& side_log_weights, double edge,
                                            double step, double a0, double noise, double negligible,
                                            int n_threads, Index chunk_rows) {
    return split_channel_gamp_pass_py(X, W, g_prev, y, C, P, damping, table, side_log_weights, edge,
                                      step, negligible, ConditionalGaussianLikelihood{a0, noise},
                                      n_threads, chunk_rows);
}

py::tuple sign_product_gamp_pass_py(ConstMatrixRef<double> X, const Array<double>& W,
                                    const Array<double>& g_prev, const Array<double>& y,
                                    const Array<double>& C, const Array<double>& P, double damping,
                                    const Array<double>& table,
                                    const Array<double>& side_log_weights, double edge, double step,
                                    double noise, double negligible, int n_threads,
                                    Index chunk_rows) {
    return split_channel_gamp_pass_py(X, W, g_prev, y, C, P, damping, table, side_log_weights, edge,
                                      step, negligible, SignProductLikelihood{noise}, n_threads,
                                      chunk_rows);
}

// log Phi(x) elementwise (amp_channel.hpp; tests compare it with scipy's log_ndtr).
py::array_t<double> log_ndtr_py(const py::array_t<double, py::array::c_style>& x) {
    require(x.ndim() == 1, "x must be 1-D");
    py::array_t<double> out(x.shape(0));
    for (Index i = 0; i < x.shape(0); ++i) out.mutable_data()[i] = log_ndtr(x.data()[i]);
    return out;
}

py::array_t<double> gaussian_noise_py(const RowAddress& address) {
    py::array_t<double> out(address.n_rows);
    gaussian_noise(address.seed, std::uint64_t(address.row_begin), address.n_rows,
                   out.mutable_data());
    return out;
}

// GAMP's channels of the split rule (amp_channel.hpp): posterior means (n, 2) and the summed
// posterior covariance (2, 2) of rows omega (n, 2) with labels y, prior covariance V.
template <typename Likelihood>
py::tuple split_channel_moments_py(const Array<double>& omega, const Array<double>& V,
                                   const Array<double>& y, const Array<double>& table,
                                   const Array<double>& side_log_weights, double edge, double step,
                                   double negligible, const Likelihood& likelihood, int n_threads) {
    require(omega.ndim() == 2 && omega.shape(1) == 2, "omega must have shape (n, 2)");
    const Index n = omega.shape(0);
    require(y.ndim() == 1 && y.shape(0) == n, "y must have length n = omega.shape[0]");
    require(V.ndim() == 2 && V.shape(0) == 2 && V.shape(1) == 2, "V must have shape (2, 2)");
    require(V.data()[3] > 0.0, "V[1, 1] must be positive");
    require(table.ndim() == 3 && table.shape(0) > 0 && table.shape(1) == 4 && table.shape(2) > 0,
            "table must have shape (intervals, 4, nodes)");
    require(side_log_weights.ndim() == 1 && side_log_weights.shape(0) == table.shape(2),
            "side_log_weights must have one entry per node of the table");
    require(edge > 0.0 && step > 0.0, "edge and step must be positive");
    const HalfLineTable half_line{table.data(), Index(table.shape(0)), Index(table.shape(2)), edge,
                                  step};
    Array<double> mean({n, Index(2)});
    Array<double> cov({Index(2), Index(2)});
    {
        py::gil_scoped_release release;
        split_channel_moments(omega.data(), y.data(), n, V.data(), half_line,
                              side_log_weights.data(), negligible, likelihood, n_threads,
                              mean.mutable_data(), cov.mutable_data());
    }
    return py::make_tuple(mean, cov);
}

py::tuple conditional_gaussian_moments_py(const Array<double>& omega, const Array<double>& V,
                                          const Array<double>& y, const Array<double>& table,
                                          const Array<double>& side_log_weights, double edge,
                                          double step, double a0, double noise, double negligible,
                                          int n_threads) {
    return split_channel_moments_py(omega, V, y, table, side_log_weights, edge, step, negligible,
                                    ConditionalGaussianLikelihood{a0, noise}, n_threads);
}

py::tuple sign_product_moments_py(const Array<double>& omega, const Array<double>& V,
                                  const Array<double>& y, const Array<double>& table,
                                  const Array<double>& side_log_weights, double edge, double step,
                                  double noise, double negligible, int n_threads) {
    return split_channel_moments_py(omega, V, y, table, side_log_weights, edge, step, negligible,
                                    SignProductLikelihood{noise}, n_threads);
}

py::dict build_info() {
    py::dict info;
    info["version"] = MIMKIT_VERSION;
    info["variant"] = MIMKIT_VARIANT;
    info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." +
                            std::to_string(EIGEN_MAJOR_VERSION) + "." +
                            std::to_string(EIGEN_MINOR_VERSION);
    info["simd"] = Eigen::SimdInstructionSetsInUse();
#ifdef _OPENMP
    info["openmp"] = _OPENMP;
    info["openmp_max_threads"] = omp_get_max_threads();
#else
    info["openmp"] = 0;
    info["openmp_max_threads"] = 1;
#endif
    info["chunk_bytes"] = kChunkBytes;
    return info;
}

template <typename T, typename Input>
void define_kernels(py::module_& m) {
    m.def("forward", &forward_py<T, Input>, py::arg("X").noconvert(), py::arg("W").noconvert(),
          py::arg("b").noconvert(), py::arg("a").noconvert(), py::arg("activation"),
          py::arg("n_threads"), py::arg("chunk_rows"));
    // phase1_gradient and full_gradient take the same arguments
    for (const auto& [name, kernel] : {std::pair{"phase1_gradient", &gradient_py<T, Input, false>},
                                       std::pair{"full_gradient", &gradient_py<T, Input, true>}}) {
        m.def(name, kernel, py::arg("X").noconvert(), py::arg("y").noconvert(),
              py::arg("W").noconvert(), py::arg("b").noconvert(), py::arg("a").noconvert(),
              py::arg("activation"), py::arg("loss"), py::arg("huber_delta"), py::arg("n_threads"),
              py::arg("chunk_rows"), py::arg("sample_weight") = py::none());
    }
    m.def("phase1_run", &phase1_run_py<T, Input>, py::arg("X").noconvert(),
          py::arg("y").noconvert(), py::arg("W0").noconvert(), py::arg("b").noconvert(),
          py::arg("a").noconvert(), py::arg("activation"), py::arg("loss"), py::arg("huber_delta"),
          py::arg("lr"), py::arg("weight_decay"), py::arg("n_steps"), py::arg("record_steps"),
          py::arg("record_basis"), py::arg("keep_scale"), py::arg("n_threads"),
          py::arg("chunk_rows"), py::arg("progress"), py::arg("sample_weight") = py::none());
    m.def("hidden_features", &hidden_features_py<T, Input>, py::arg("X").noconvert(),
          py::arg("W").noconvert(), py::arg("b").noconvert(), py::arg("activation"),
          py::arg("n_threads"), py::arg("chunk_rows"));
    m.def("hidden_statistics", &hidden_statistics_py<T, Input>, py::arg("X").noconvert(),
          py::arg("y").noconvert(), py::arg("W").noconvert(), py::arg("b").noconvert(),
          py::arg("activation"), py::arg("n_threads"), py::arg("chunk_rows"));
    m.def("local_hessian_matvec", &local_hessian_matvec_py<T, Input>, py::arg("X").noconvert(),
          py::arg("t").noconvert(), py::arg("V").noconvert(), py::arg("n_threads"),
          py::arg("chunk_rows"));
}

template <typename T>
void define_dtype(py::module_& m) {
    define_kernels<T, ConstMatrixRef<T>>(m);
    define_kernels<T, RowAddress>(m);
    m.def("local_hessian", &local_hessian_py<T>, py::arg("X").noconvert(), py::arg("t").noconvert(),
          py::arg("n_threads"), py::arg("chunk_rows"));
    m.def("gaussian_rows", &gaussian_rows_py<T>, py::arg("address"), py::arg("out").noconvert(),
          py::arg("n_threads"));
    m.def("normal_quantile", &normal_quantile_py<T>, py::arg("u").noconvert(),
          py::arg("out").noconvert());
    m.def("stream_labels", &stream_labels_py<T>, py::arg("address"), py::arg("U").noconvert(),
          py::arg("link"), py::arg("noise"), py::arg("n_threads"), py::arg("chunk_rows"));
    m.def("project_rows", &project_rows_py<T>, py::arg("address"), py::arg("U").noconvert(),
          py::arg("n_threads"), py::arg("chunk_rows"));
}

}  // namespace

PYBIND11_MODULE(MIMKIT_MODULE_NAME, m) {
    m.doc() = "mimkit compiled core (one ISA variant); use mimkit.core, not this module.";
    // module_local: each ISA variant registers its own type (the base module is always loaded too)
    py::class_<RowAddress>(m, "RowAddress", py::module_local())
        .def(py::init<std::uint64_t, std::int64_t, std::int64_t, std::int64_t>(), py::arg("seed"),
             py::arg("row_begin"), py::arg("n_rows"), py::arg("d"))
        .def_readonly("seed", &RowAddress::seed)
        .def_readonly("row_begin", &RowAddress::row_begin)
        .def_readonly("n_rows", &RowAddress::n_rows)
        .def_readonly("d", &RowAddress::d)
        .def("__repr__", [](const RowAddress& address) {
            return "RowAddress(seed=" + std::to_string(address.seed) +
                   ", row_begin=" + std::to_string(address.row_begin) +
                   ", n_rows=" + std::to_string(address.n_rows) +
                   ", d=" + std::to_string(address.d) + ")";
        });
    define_dtype<double>(m);
    define_dtype<float>(m);
    m.def("gaussian_noise", &gaussian_noise_py, py::arg("address"));
    m.def("link_values", &link_values_py, py::arg("z").noconvert(), py::arg("link"));
    m.def("log_ndtr", &log_ndtr_py, py::arg("x").noconvert());
    m.def("conditional_gaussian_gamp_pass", &conditional_gaussian_gamp_pass_py,
          py::arg("X").noconvert(), py::arg("W").noconvert(), py::arg("g_prev").noconvert(),
          py::arg("y").noconvert(), py::arg("C").noconvert(), py::arg("P").noconvert(),
          py::arg("damping"), py::arg("table").noconvert(), py::arg("side_log_weights").noconvert(),
          py::arg("edge"), py::arg("step"), py::arg("a0"), py::arg("noise"), py::arg("negligible"),
          py::arg("n_threads"), py::arg("chunk_rows"));
    m.def("conditional_gaussian_moments", &conditional_gaussian_moments_py,
          py::arg("omega").noconvert(), py::arg("V").noconvert(), py::arg("y").noconvert(),
          py::arg("table").noconvert(), py::arg("side_log_weights").noconvert(), py::arg("edge"),
          py::arg("step"), py::arg("a0"), py::arg("noise"), py::arg("negligible"),
          py::arg("n_threads"));
    m.def("sign_product_gamp_pass", &sign_product_gamp_pass_py, py::arg("X").noconvert(),
          py::arg("W").noconvert(), py::arg("g_prev").noconvert(), py::arg("y").noconvert(),
          py::arg("C").noconvert(), py::arg("P").noconvert(), py::arg("damping"),
          py::arg("table").noconvert(), py::arg("side_log_weights").noconvert(), py::arg("edge"),
          py::arg("step"), py::arg("noise"), py::arg("negligible"), py::arg("n_threads"),
          py::arg("chunk_rows"));
    m.def("sign_product_moments", &sign_product_moments_py, py::arg("omega").noconvert(),
          py::arg("V").noconvert(), py::arg("y").noconvert(), py::arg("table").noconvert(),
          py::arg("side_log_weights").noconvert(), py::arg("edge"), py::arg("step"),
          py::arg("noise"), py::arg("negligible"), py::arg("n_threads"));
    m.def("cpu_supports", &cpu_supports, py::arg("level"));
    m.def("build_info", &build_info);
}
