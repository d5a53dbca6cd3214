"""Type stub of the compiled core (_core_base; _core_v3 and _core_v4 are the same sources built
for other ISA levels). Use mimkit.core, not this module. Every kernel takes float32 or float64
arrays (one dtype per call: ``F``) and, where it reads rows, a RowAddress of a streamed data set
instead of X. tests/test_code_health.py checks that this stub names what the module defines."""

from typing import Any, Callable, Optional, Sequence, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

F = TypeVar("F", np.float32, np.float64)
Rows = Union[NDArray[F], "RowAddress"]

class RowAddress:
    """The address of a stream's rows: (seed, first row, number of rows, d)."""

    def __init__(self, seed: int, row_begin: int, n_rows: int, d: int) -> None: ...
    @property
    def seed(self) -> int: ...
    @property
    def row_begin(self) -> int: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def d(self) -> int: ...

def build_info() -> dict[str, Any]: ...
def cpu_supports(level: str) -> bool: ...
def forward(
    X: Rows[F],
    W: NDArray[F],
    b: NDArray[F],
    a: NDArray[F],
    activation: str,
    n_threads: int,
    chunk_rows: int,
) -> NDArray[F]: ...
def hidden_features(
    X: Rows[F], W: NDArray[F], b: NDArray[F], activation: str, n_threads: int, chunk_rows: int
) -> NDArray[F]: ...
def hidden_statistics(
    X: Rows[F],
    y: NDArray[F],
    W: NDArray[F],
    b: NDArray[F],
    activation: str,
    n_threads: int,
    chunk_rows: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def phase1_gradient(
    X: Rows[F],
    y: NDArray[F],
    W: NDArray[F],
    b: NDArray[F],
    a: NDArray[F],
    activation: str,
    loss: str,
    huber_delta: float,
    n_threads: int,
    chunk_rows: int,
    sample_weight: Optional[NDArray[F]] = None,
) -> tuple[NDArray[F], float, float]: ...

# full_gradient takes phase1_gradient's arguments (one binding serves both)
def full_gradient(
    X: Rows[F],
    y: NDArray[F],
    W: NDArray[F],
    b: NDArray[F],
    a: NDArray[F],
    activation: str,
    loss: str,
    huber_delta: float,
    n_threads: int,
    chunk_rows: int,
    sample_weight: Optional[NDArray[F]] = None,
) -> tuple[NDArray[F], NDArray[F], NDArray[F], float]: ...
def phase1_run(
    X: Rows[F],
    y: NDArray[F],
    W0: NDArray[F],
    b: NDArray[F],
    a: NDArray[F],
    activation: str,
    loss: str,
    huber_delta: float,
    lr: float,
    weight_decay: float,
    n_steps: int,
    record_steps: Sequence[int],
    record_basis: Optional[NDArray[F]],
    keep_scale: str,
    n_threads: int,
    chunk_rows: int,
    progress: Optional[Callable[[int], None]],
    sample_weight: Optional[NDArray[F]] = None,
) -> tuple[Any, ...]: ...
def local_hessian(X: NDArray[F], t: NDArray[F], n_threads: int, chunk_rows: int) -> NDArray[F]: ...
def local_hessian_matvec(
    X: Rows[F], t: NDArray[F], V: NDArray[F], n_threads: int, chunk_rows: int
) -> NDArray[F]: ...
def gaussian_rows(address: RowAddress, out: NDArray[F], n_threads: int) -> None: ...
def gaussian_noise(address: RowAddress) -> NDArray[np.float64]: ...
def normal_quantile(u: NDArray[np.float64], out: NDArray[F]) -> None: ...
def project_rows(
    address: RowAddress, U: NDArray[F], n_threads: int, chunk_rows: int
) -> NDArray[F]: ...
def stream_labels(
    address: RowAddress, U: NDArray[F], link: str, noise: float, n_threads: int, chunk_rows: int
) -> NDArray[np.float64]: ...
def link_values(z: NDArray[np.float64], link: str) -> NDArray[np.float64]: ...
def conditional_gaussian_moments(
    omega: NDArray[np.float64],
    V: NDArray[np.float64],
    y: NDArray[np.float64],
    table: NDArray[np.float64],
    side_log_weights: NDArray[np.float64],
    edge: float,
    step: float,
    a0: float,
    noise: float,
    negligible: float,
    n_threads: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def sign_product_moments(
    omega: NDArray[np.float64],
    V: NDArray[np.float64],
    y: NDArray[np.float64],
    table: NDArray[np.float64],
    side_log_weights: NDArray[np.float64],
    edge: float,
    step: float,
    noise: float,
    negligible: float,
    n_threads: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def log_ndtr(x: NDArray[np.float64]) -> NDArray[np.float64]: ...
def conditional_gaussian_gamp_pass(
    X: NDArray[np.float64],
    W: NDArray[np.float64],
    g_prev: NDArray[np.float64],
    y: NDArray[np.float64],
    C: NDArray[np.float64],
    P: NDArray[np.float64],
    damping: float,
    table: NDArray[np.float64],
    side_log_weights: NDArray[np.float64],
    edge: float,
    step: float,
    a0: float,
    noise: float,
    negligible: float,
    n_threads: int,
    chunk_rows: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]: ...
def sign_product_gamp_pass(
    X: NDArray[np.float64],
    W: NDArray[np.float64],
    g_prev: NDArray[np.float64],
    y: NDArray[np.float64],
    C: NDArray[np.float64],
    P: NDArray[np.float64],
    damping: float,
    table: NDArray[np.float64],
    side_log_weights: NDArray[np.float64],
    edge: float,
    step: float,
    noise: float,
    negligible: float,
    n_threads: int,
    chunk_rows: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]: ...
