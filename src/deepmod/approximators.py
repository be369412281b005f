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


class PeriodicMLP(MLP):
    """A tanh MLP that is periodic along some inputs by construction: each periodic input ``s`` in [-1, 1] (one
    period) enters as ``sin(pi s)`` and ``cos(pi s)``, the others as they are. The features' jets are exact
    (``d^n sin(w s) = w^n sin(w s + n pi / 2)``), so derivatives of every order stay periodic and come out of
    the same Taylor-mode pass.

    Args:
        periodic: per input, whether it is periodic (time first, so normally ``(False, True, ...)``).
    """

    def __init__(
        self,
        n_outputs: int,
        periodic: Sequence[bool],
        hidden: Sequence[int] = (50, 50, 50, 50),
        *,
        learning_rate: float = 5e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        fuse: bool = True,
    ) -> None:
        self.periodic = tuple(bool(p) for p in periodic)
        n_features = len(self.periodic) + sum(self.periodic)
        super().__init__(n_features, n_outputs, hidden, learning_rate=learning_rate, betas=betas, fuse=fuse)
        self.n_inputs = len(self.periodic)

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        layers = [(layer.weight.T, layer.bias) for layer in self.linears]
        return _propagate(self._features(x, spec), layers, spec, tanh_derivatives)

    def _features(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        """The features' jets ``(len(spec), n_points, n_features)``."""
        seed = spec.seed(x)
        columns = []
        for k, wrap in enumerate(self.periodic):
            if not wrap:
                columns.append(seed[..., k])
                continue
            for phase in (0.0, math.pi / 2):  # sin, then cos = sin(. + pi / 2)
                streams = []
                for g in spec.indices:
                    n = g[k]
                    if sum(g) != n:  # a derivative along another input
                        streams.append(torch.zeros_like(x[:, k]))
                        continue
                    scale = math.pi**n / math.factorial(n)
                    streams.append(scale * torch.sin(math.pi * x[:, k] + phase + n * math.pi / 2))
                columns.append(torch.stack(streams))
        return torch.stack(columns, dim=-1)


class Subdomains(Approximator):
    """Piecewise in space and time: one small network per box of a regular partition of the inputs.

    A single network fits a long oscillatory or chaotic series, or a field of many cells in space, badly
    (spectral bias: it learns the slow part first and the rest only after very many steps); several
    networks, each seeing about one oscillation on its own rescaled coordinates ``s_i = (x_i - c_i) / h_i``,
    fit it quickly (in the manner of finite-basis PINNs, Moseley, Markham and Nissen-Meyer 2023, here with
    disjoint boxes). Derivatives are taken in local coordinates and mapped back,
    ``d^a/dx^a = prod_i h_i^-a_i d^a/ds^a``. The library is evaluated point by point, so the seams between
    boxes do not matter.

    The boxes' tanh MLPs are evaluated together: their weights are stacked, ``(n_boxes, fan_in, fan_out)``,
    and the points, grouped by box and padded to the largest group, pass through batched matrix products,
    so the cost of a step hardly depends on the number of boxes.

    Args:
        n_inputs, n_outputs: as for any approximator; inputs scaled to [-1, 1].
        cells: number of equal windows of [-1, 1] along each input (time first); boxes are their products,
            time slowest.
        hidden: hidden widths of each box's MLP.

    Each small network sees a short stretch of signal; they train well at a larger step size (1e-2) than a
    single deep MLP: at 2e-3 a chaotic record such as Lorenz's is still far from fitted after 5,000 steps.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        cells: Sequence[int],
        hidden: Sequence[int] = (32, 32, 32),
        *,
        learning_rate: float = 1e-2,
        betas: tuple[float, float] = (0.99, 0.999),
        fuse: bool = True,
    ) -> None:
        super().__init__()
        self._training_settings(learning_rate, betas, fuse)
        cells = tuple(int(c) for c in cells)
        if len(cells) != n_inputs or min(cells, default=0) < 1:
            raise ValueError(f"cells must give a positive number of windows for each of {n_inputs} inputs: {cells}")
        if not hidden or min(hidden) < 1:
            raise ValueError("hidden widths must be positive")
        self.n_inputs, self.n_outputs, self.cells = n_inputs, n_outputs, cells
        n_boxes = math.prod(cells)
        widths = [n_inputs, *hidden, n_outputs]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(widths):
            w = torch.empty(n_boxes, fan_in, fan_out)
            for k in range(n_boxes):  # Xavier normal per box, as for MLP
                nn.init.xavier_normal_(w[k].T)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n_boxes, 1, fan_out)))
        for i, c in enumerate(cells):
            self.register_buffer(_edges_name(i), torch.linspace(-1.0, 1.0, c + 1))
        # each box's window along each axis, boxes in ravelled order (time slowest); derived, so not saved
        windows = torch.tensor(list(np.ndindex(*cells)), dtype=torch.long).reshape(n_boxes, n_inputs)
        self.register_buffer("box_windows", windows, persistent=False)

    @property
    def n_boxes(self) -> int:
        return math.prod(self.cells)

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        box = torch.zeros(len(x), dtype=torch.long, device=x.device)
        centres, halves, along = [], [], []
        for i, c in enumerate(self.cells):
            edges = self.get_buffer(_edges_name(i)).to(x.dtype)
            along.append(torch.bucketize(x[:, i].contiguous(), edges[1:-1]))
            box = box * c + along[-1]
            centres.append((edges[:-1] + edges[1:]) / 2)
            halves.append((edges[1:] - edges[:-1]) / 2)
        windows = torch.stack(along, dim=1)
        order = torch.argsort(box, stable=True)
        counts = torch.bincount(box, minlength=self.n_boxes)
        starts = torch.cumsum(counts, 0) - counts
        slot = torch.arange(len(x), device=x.device) - starts[box[order]]
        b_sorted, w_sorted = box[order], windows[order]
        xs = x[order]
        local = torch.stack(
            [(xs[:, i] - centres[i][w_sorted[:, i]]) / halves[i][w_sorted[:, i]] for i in range(self.n_inputs)], dim=1
        )
        padded = x.new_zeros((self.n_boxes, int(counts.max()), self.n_inputs)).index_put((b_sorted, slot), local)
        z = spec.seed(padded.reshape(-1, self.n_inputs)).reshape(len(spec), *padded.shape)
        z = _propagate(z, list(zip(self.weights, self.biases, strict=True)), spec, tanh_derivatives)
        back = torch.empty_like(order)
        back[order] = torch.arange(len(x), device=x.device)
        scale = x.new_ones((len(spec), self.n_boxes))
        for i, c in enumerate(self.cells):
            if c == 1:
                continue  # a whole axis: scale 1, left out so that time windows alone stay as they were
            power = torch.tensor([g[i] for g in spec.indices], dtype=x.dtype, device=x.device)
            per_window = halves[i].pow(-power.view(-1, 1))  # (len(spec), c)
            scale = scale * per_window[:, self.get_buffer("box_windows")[:, i]]
        return (z * scale.view(len(spec), self.n_boxes, 1, 1))[:, b_sorted[back], slot[back]]


class TimeWindows(Subdomains):
    """One small network per window of the normalised time axis (input 0): :class:`Subdomains` with
    ``n_windows`` cells in time and whole space axes.

    Args:
        n_inputs, n_outputs: as for any approximator; input 0 is time, scaled to [-1, 1].
        n_windows: number of equal windows of [-1, 1].
        hidden: hidden widths of each window's MLP.
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
        if n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {n_windows}")
        cells = (n_windows,) + (1,) * (n_inputs - 1)
        super().__init__(n_inputs, n_outputs, cells, hidden, learning_rate=learning_rate, betas=betas, fuse=fuse)
        self.n_windows = n_windows


def _edges_name(axis: int) -> str:
    """The buffer of an axis's window edges (``edges`` for time, as time windows have always had)."""
    return "edges" if axis == 0 else f"edges_{axis}"


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
