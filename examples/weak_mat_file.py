"""The weak-form method on a MATLAB file: fast, no network, robust to heavy noise.

Given a ``.mat`` file with arrays ``t``, ``x`` and ``usol`` (the PDE-FIND layout, space-major), run the weak
method on it; without one, the script writes such a file from the built-in Burgers example at 25 % noise.

Run:  python examples/weak_mat_file.py [FILE.mat]
      python examples/weak_mat_file.py ../shared/data/kdv.mat
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import scipy.io

import deepmod
from deepmod.data import burgers_delta


def write_example(path: Path) -> None:
    """Burgers on a fine grid at 25 % noise, written as PDE-FIND writes its files."""
    system = burgers_delta(x=np.linspace(-3, 4, 256), t=np.linspace(0.5, 5, 101))
    data = deepmod.add_noise(system.data, 0.25, seed=0)
    scipy.io.savemat(path, {"t": data.coords["t"], "x": data.coords["x"], "usol": data.fields["u"].T})
    print(f"wrote {path}: {system.description}, 25 % noise; true {system.truth}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", help="a .mat file with t, x and usol")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "burgers.mat"
        if not args.file:
            write_example(path)
        data = deepmod.load(path, coords=["t", "x"], fields=["u=usol"])
        result = deepmod.discover(data, deepmod.WeakForm())
    print(result)
    print(f"{result.seconds:.2f} s; test functions: {result.settings['test_functions']}")


if __name__ == "__main__":
    main()
