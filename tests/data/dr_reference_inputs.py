"""Write the data sets of the R dr reference (tests/data/dr_reference.R) as CSV files.

Usage: python tests/data/dr_reference_inputs.py DIR
Each file has the response in its first column ``y`` and the predictors after it.
"""

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_iris


def datasets() -> dict:
    """name -> (X, y): the data sets the reference numbers are computed on."""
    diabetes = load_diabetes()
    iris = load_iris()
    return {
        # Continuous response with ties (integer-valued), 10 predictors.
        "diabetes": (diabetes.data, diabetes.target.astype(np.float64)),
        # Heavily tied response (22 distinct values in 150), 3 predictors.
        "iris_width": (iris.data[:, :3], iris.data[:, 3]),
        # A 3-level class label: one slice per level.
        "iris_species": (iris.data, iris.target.astype(np.float64)),
    }


def main(directory: str) -> None:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, (X, y) in datasets().items():
        table = np.column_stack([y, X])
        header = ",".join(["y"] + [f"x{j + 1}" for j in range(X.shape[1])])
        np.savetxt(
            out / f"{name}.csv", table, delimiter=",", header=header, comments="", fmt="%.17g"
        )


if __name__ == "__main__":
    main(sys.argv[1])
