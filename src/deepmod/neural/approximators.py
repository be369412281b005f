"""Function approximators: networks u(t, x, ...) whose input derivatives come out in one forward pass."""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from deepmod.derivatives.taylor import JetSpec, compose, sin_derivatives, tanh_derivatives


class Approximator(nn.Module, abc.ABC):
    """A network from coordinates ``(n_points, n_inputs)`` to fields ``(n_points, n_outputs)``.

    Contract: :meth:`jets` returns the stacked normalised Taylor coefficients of the outputs for every
    multi-index of ``spec``, shape ``(len(spec), n_points, n_outputs)``, value first. Gradients with respect
    to the parameters flow through it.
    """

    n_inputs: int
    n_outputs: int

    @abc.abstractmethod
    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        """Taylor coefficients of the outputs at ``x`` for every multi-index in ``spec``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs at ``x``, shape ``(n_points, n_outputs)``."""
        return self.jets(x, JetSpec([], self.n_inputs))[0]


class _LayeredNetwork(Approximator):
    """Dense layers with one element-wise activation, propagated in Taylor mode."""

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden: Sequence[int],
        activation_derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]],
    ) -> None:
        super().__init__()
        if n_inputs < 1 or n_outputs < 1 or not hidden or min(hidden) < 1:
            raise ValueError("a network needs >= 1 input, >= 1 output and positive hidden widths")
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        widths = [n_inputs, *hidden, n_outputs]
        self.linears = [nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
        self.layers = nn.ModuleList(self.linears)
        self._activation = activation_derivatives

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        z = spec.seed(x)
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            streams = list((z @ layer.weight.T).unbind(0))
            streams[0] = streams[0] + layer.bias
            if i < last:
                if len(spec) == 1:
                    streams = [self._activation(streams[0], 0)[0]]
                else:
                    streams = compose(self._activation(streams[0], spec.max_order), streams, spec)
            z = torch.stack(streams)
        return z


class MLP(_LayeredNetwork):
    """A tanh multilayer perceptron (the DeepMoD default), Xavier-initialised, four layers of 50 by default."""

    def __init__(self, n_inputs: int, n_outputs: int, hidden: Sequence[int] = (50, 50, 50, 50)) -> None:
        super().__init__(n_inputs, n_outputs, hidden, tanh_derivatives)
        for layer in self.linears:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)


class Siren(_LayeredNetwork):
    """A sine-activated network (Sitzmann et al. 2020, "Implicit Neural Representations with Periodic
    Activation Functions"): good at fitting oscillatory signals. ``omega_0`` scales the first layer and is
    folded into the weights, with the paper's initialisation.
    """

    def __init__(
        self, n_inputs: int, n_outputs: int, hidden: Sequence[int] = (50, 50, 50, 50), omega_0: float = 30.0
    ) -> None:
        super().__init__(n_inputs, n_outputs, hidden, sin_derivatives)
        with torch.no_grad():
            for i, layer in enumerate(self.linears):
                fan_in = layer.in_features
                bound = omega_0 / fan_in if i == 0 else math.sqrt(6.0 / fan_in)
                layer.weight.uniform_(-bound, bound)
                layer.bias.uniform_(-1.0 / math.sqrt(fan_in), 1.0 / math.sqrt(fan_in))


class TimeWindows(Approximator):
    """Piecewise in time: one small network per window of the normalised time axis (input 0).

    A single network fits a long oscillatory or chaotic series badly (spectral bias: it learns the slow
    part first and the rest only after very many steps); a few networks, each seeing about one oscillation
    on its own rescaled time ``s = (t - c_k) / h_k``, fit it quickly. Derivatives are taken in local time and
    mapped back, ``d^j/dt^j = h_k^-j d^j/ds^j``. Windows are disjoint; the library is evaluated point by
    point, so the seams between windows do not matter.

    Args:
        n_inputs, n_outputs: as for any approximator; input 0 is time, scaled to [-1, 1].
        n_windows: number of equal windows of [-1, 1].
        hidden: hidden widths of each window's MLP.
    """

    def __init__(self, n_inputs: int, n_outputs: int, n_windows: int, hidden: Sequence[int] = (32, 32, 32)) -> None:
        super().__init__()
        if n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {n_windows}")
        self.n_inputs, self.n_outputs, self.n_windows = n_inputs, n_outputs, n_windows
        self.windows = [MLP(n_inputs, n_outputs, hidden) for _ in range(n_windows)]
        self.nets = nn.ModuleList(self.windows)
        self.register_buffer("edges", torch.linspace(-1.0, 1.0, n_windows + 1))

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        edges = self.get_buffer("edges").to(x.dtype)
        window = torch.bucketize(x[:, 0].contiguous(), edges[1:-1])
        time_order = torch.tensor([g[0] for g in spec.indices], dtype=x.dtype, device=x.device)
        out = x.new_zeros((len(spec), x.shape[0], self.n_outputs))
        for k, net in enumerate(self.windows):
            rows = torch.nonzero(window == k).squeeze(1)
            if rows.numel() == 0:
                continue
            centre, half = (edges[k] + edges[k + 1]) / 2, (edges[k + 1] - edges[k]) / 2
            local = torch.cat([((x[rows, 0] - centre) / half).unsqueeze(1), x[rows, 1:]], dim=1)
            scale = half.pow(-time_order).view(-1, 1, 1)
            out = out.index_copy(1, rows, net.jets(local, spec) * scale)
        return out


def oscillations(t: np.ndarray, u: np.ndarray) -> float:
    """Number of oscillations of the fastest field over the record: its dominant frequency times the duration.

    Args:
        t: sample times ``(n,)``, sorted.
        u: values ``(n, n_fields)``.

    The series is interpolated to a uniform grid, detrended linearly and windowed (Hann) before the FFT.
    """
    n = len(t)
    grid = np.linspace(t[0], t[-1], n)
    best = 0.0
    for f in u.T:
        g = np.interp(grid, t, f)
        g = g - np.polyval(np.polyfit(grid, g, 1), grid)
        power = np.abs(np.fft.rfft(g * np.hanning(n))) ** 2
        freqs = np.fft.rfftfreq(n, d=(grid[-1] - grid[0]) / (n - 1))
        best = max(best, float(freqs[1:][np.argmax(power[1:])]) * float(grid[-1] - grid[0]))
    return best
