"""Function approximators: networks u(t, x, ...) whose input derivatives come out in one forward pass."""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from deepmod.derivatives.taylor import JetActivation, JetSpec, sin_derivatives, tanh_derivatives


class Approximator(nn.Module, abc.ABC):
    """A network from coordinates ``(n_points, n_inputs)`` to fields ``(n_points, n_outputs)``.

    Contract: :meth:`jets` returns the stacked normalised Taylor coefficients of the outputs for every
    multi-index of ``spec``, shape ``(len(spec), n_points, n_outputs)``, value first. Gradients with respect
    to the parameters flow through it. Each instance carries its training settings: ``learning_rate`` and
    ``betas``, the Adam step size and moment decays the architecture trains well with (DeepMoD uses them unless
    told otherwise), and ``fuse``, whether its derivative work is compiled
    (:class:`~deepmod.derivatives.taylor.JetSpec`).
    """

    n_inputs: int
    n_outputs: int
    learning_rate: float
    betas: tuple[float, float]
    fuse: bool

    def _training_settings(self, learning_rate: float, betas: tuple[float, float], fuse: bool) -> None:
        self.learning_rate, self.betas, self.fuse = float(learning_rate), (float(betas[0]), float(betas[1])), fuse

    @abc.abstractmethod
    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        """Taylor coefficients of the outputs at ``x`` for every multi-index in ``spec``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs at ``x``, shape ``(n_points, n_outputs)``."""
        return self.jets(x, JetSpec([], self.n_inputs))[0]


def _propagate(
    z: torch.Tensor,
    layers: Sequence[tuple[torch.Tensor, torch.Tensor]],
    spec: JetSpec,
    activation: Callable[[torch.Tensor, int], list[torch.Tensor]],
) -> torch.Tensor:
    """Stacked jets through dense layers ``z @ matrix + bias``, the activation after each but the last.

    Every stream maps through a layer's matrix in one product; the bias enters the value stream only.
    """
    last = len(layers) - 1
    for i, (matrix, bias) in enumerate(layers):
        z = z @ matrix
        if i == last:
            z = torch.cat([(z[0] + bias).unsqueeze(0), z[1:]])
        elif len(spec) == 1:
            z = activation(z[0] + bias, 0)[0].unsqueeze(0)
        else:
            z = JetActivation.apply(z, bias, spec, activation)
    return z


class _LayeredNetwork(Approximator):
    """Dense layers with one element-wise activation, propagated in Taylor mode."""

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden: Sequence[int],
        activation_derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]],
        training: tuple[float, tuple[float, float], bool],
    ) -> None:
        super().__init__()
        self._training_settings(*training)
        if n_inputs < 1 or n_outputs < 1 or not hidden or min(hidden) < 1:
            raise ValueError("a network needs >= 1 input, >= 1 output and positive hidden widths")
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        widths = [n_inputs, *hidden, n_outputs]
        self.linears = [nn.Linear(a, b) for a, b in itertools.pairwise(widths)]
        self.layers = nn.ModuleList(self.linears)
        self._activation = activation_derivatives

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        layers = [(layer.weight.T, layer.bias) for layer in self.linears]
        return _propagate(spec.seed(x), layers, spec, self._activation)


class MLP(_LayeredNetwork):
    """A tanh multilayer perceptron (the DeepMoD default), Xavier-initialised, four layers of 50 by default.

    Trained with Adam's usual momentum (0.9) at a step of 5e-3: it reaches the same fits and selections in
    about half the iterations of a step of 2e-3 with momentum 0.99 (DeePyMoD's Burgers task 1,200 against
    2,700; the Burgers and KdV benchmark cases 1,000-2,200 against 1,900-3,700). Steps this large can throw
    a fit out of its basin when a mask changes the loss; the trainer then rolls back and halves the step
    (:class:`~deepmod.neural.training.Trainer`).
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden: Sequence[int] = (50, 50, 50, 50),
        *,
        learning_rate: float = 5e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        fuse: bool = True,
    ) -> None:
        super().__init__(n_inputs, n_outputs, hidden, tanh_derivatives, (learning_rate, betas, fuse))
        for layer in self.linears:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)


class Siren(_LayeredNetwork):
    """A sine-activated network (Sitzmann et al. 2020, "Implicit Neural Representations with Periodic
    Activation Functions"): good at fitting oscillatory signals. ``omega_0`` scales the first layer and is
    folded into the weights, with the paper's initialisation and learning rate.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        hidden: Sequence[int] = (50, 50, 50, 50),
        omega_0: float = 30.0,
        *,
        learning_rate: float = 1e-4,
        betas: tuple[float, float] = (0.99, 0.999),
        fuse: bool = True,
    ) -> None:
        super().__init__(n_inputs, n_outputs, hidden, sin_derivatives, (learning_rate, betas, fuse))
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

    The windows' tanh MLPs are evaluated together: their weights are stacked, ``(n_windows, fan_in,
    fan_out)``, and the points, grouped by window and padded to the largest group, pass through batched
    matrix products, so the cost of a step hardly depends on the number of windows.

    Args:
        n_inputs, n_outputs: as for any approximator; input 0 is time, scaled to [-1, 1].
        n_windows: number of equal windows of [-1, 1].
        hidden: hidden widths of each window's MLP.

    Each small network sees a short stretch of signal; they train well at a larger step size (1e-2) than a
    single deep MLP: at 2e-3 a chaotic record such as Lorenz's is still far from fitted after 5,000 steps.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        n_windows: int,
        hidden: Sequence[int] = (32, 32, 32),
        *,
        learning_rate: float = 1e-2,
        betas: tuple[float, float] = (0.99, 0.999),
        fuse: bool = True,
    ) -> None:
        super().__init__()
        self._training_settings(learning_rate, betas, fuse)
        if n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {n_windows}")
        if not hidden or min(hidden) < 1:
            raise ValueError("hidden widths must be positive")
        self.n_inputs, self.n_outputs, self.n_windows = n_inputs, n_outputs, n_windows
        widths = [n_inputs, *hidden, n_outputs]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(widths):
            w = torch.empty(n_windows, fan_in, fan_out)
            for k in range(n_windows):  # Xavier normal per window, as for MLP
                nn.init.xavier_normal_(w[k].T)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n_windows, 1, fan_out)))
        self.register_buffer("edges", torch.linspace(-1.0, 1.0, n_windows + 1))

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        edges = self.get_buffer("edges").to(x.dtype)
        window = torch.bucketize(x[:, 0].contiguous(), edges[1:-1])
        order = torch.argsort(window, stable=True)
        counts = torch.bincount(window, minlength=self.n_windows)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(x), device=x.device) - starts[window[order]]
        w_sorted = window[order]
        padded = x.new_zeros((self.n_windows, int(counts.max()), self.n_inputs))
        centre, half = (edges[:-1] + edges[1:]) / 2, (edges[1:] - edges[:-1]) / 2
        xs = x[order]
        local = torch.cat([((xs[:, 0] - centre[w_sorted]) / half[w_sorted]).unsqueeze(1), xs[:, 1:]], dim=1)
        padded = padded.index_put((w_sorted, slot), local)
        z = spec.seed(padded.reshape(-1, self.n_inputs)).reshape(len(spec), *padded.shape)
        z = _propagate(z, list(zip(self.weights, self.biases, strict=True)), spec, tanh_derivatives)
        time_order = torch.tensor([g[0] for g in spec.indices], dtype=x.dtype, device=x.device)
        scale = half.pow(-time_order.view(-1, 1)).view(len(spec), self.n_windows, 1, 1)
        back = torch.empty_like(order)
        back[order] = torch.arange(len(x), device=x.device)
        return (z * scale)[:, w_sorted[back], slot[back]]


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
