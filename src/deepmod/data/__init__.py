"""Data: the :class:`Dataset` container, file loaders, synthetic systems with truth, noise and sampling."""

from deepmod.data.dataset import Dataset
from deepmod.data.loaders import from_arrays, load, read_arrays, save_npz
from deepmod.data.sampling import add_noise, subsample
from deepmod.data.synthetic import (
    EXAMPLES,
    SyntheticSystem,
    advection_diffusion_2d,
    burgers_delta,
    kdv_two_soliton,
    lorenz,
    lotka_volterra,
    reaction_diffusion,
)

__all__ = [
    "EXAMPLES",
    "Dataset",
    "SyntheticSystem",
    "add_noise",
    "advection_diffusion_2d",
    "burgers_delta",
    "from_arrays",
    "kdv_two_soliton",
    "load",
    "lorenz",
    "lotka_volterra",
    "reaction_diffusion",
    "read_arrays",
    "save_npz",
    "subsample",
]
