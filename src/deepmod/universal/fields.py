"""Vector fields du/dt = f(u) as torch modules: symbolic (polynomial), neural, and their sum (universal ODE).

Every field is an ``nn.Module`` with ``forward(t, u) -> du/dt`` for states ``u`` of shape ``(..., n_states)``,
the signature torchdiffeq's solvers call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from deepmod.equation import Equation
from deepmod.library import TermEvaluator
from deepmod.terms import Symbols, Term


def state_monomials(terms: Sequence[Term], u: Any) -> Any:
    """Theta(u): ``(..., n_terms)`` values of monomial ``terms`` at states ``u`` ``(..., n_states)`` (torch or
    numpy), by the shared :class:`~deepmod.library.TermEvaluator`.

    Raises:
        ValueError: if a term has a spatial derivative (ODE terms are monomials of the states).
    """
    if any(any(f.derivative) for t in terms for f in t.factors):
        raise ValueError("ODE terms are products of powers of the states; a term has a spatial derivative")
    evaluator = TermEvaluator(terms)
    values = {key: u[..., key[0]] for key in evaluator.required()}
    return evaluator.matrix(values, like=u[..., 0], axis=-1)


class PolynomialField(nn.Module):
    """``du_k/dt = sum_j W[j, k] Theta_j(u)``: a symbolic model whose terms are monomials of the states.

    ``free`` marks the coefficients that are parameters (refitted against data); the others are fixed
    buffers, such as the known physics of a universal ODE.

    Args:
        terms: the monomials, shape ``(n_terms,)``.
        coefficients: ``(n_terms, n_states)`` values of ``W``.
        free: ``(n_terms, n_states)`` booleans; ``None``: none are free.
    """

    fixed: torch.Tensor
    free_index: torch.Tensor

    def __init__(self, terms: Sequence[Term], coefficients: np.ndarray, free: np.ndarray | None = None) -> None:
        super().__init__()
        coefficients = np.asarray(coefficients, dtype=np.float64)
        n_states = coefficients.shape[1]
        self.terms = list(terms)
        free = np.zeros(coefficients.shape, dtype=bool) if free is None else np.asarray(free, dtype=bool)
        state_monomials(self.terms, torch.zeros(1, n_states))  # refuses terms with a spatial derivative
        self.register_buffer("fixed", torch.as_tensor(np.where(free, 0.0, coefficients)))
        self.register_buffer("free_index", torch.as_tensor(np.flatnonzero(free.ravel())))
        self.free = nn.Parameter(torch.as_tensor(coefficients.ravel()[free.ravel()]))

    @classmethod
    def from_equations(
        cls, equations: Sequence[Equation], symbols: Symbols, free: Mapping[str, Sequence[str]] | None = None
    ) -> PolynomialField:
        """The field of ``equations`` (one per state, any order); ``free``: lhs -> names of free terms."""
        names: list[str] = []
        for eq in equations:
            names += [n for n in eq.coefficients if n not in names]
        terms = [symbols.parse(n) for n in names]
        n_states = len(symbols.fields)
        coef = np.zeros((len(terms), n_states))
        mask = np.zeros_like(coef, dtype=bool)
        for eq in equations:
            k = [symbols.lhs(i) for i in range(n_states)].index(eq.lhs)
            for name, c in eq.coefficients.items():
                coef[names.index(name), k] = c
                mask[names.index(name), k] = name in (free or {}).get(eq.lhs, ())
        return cls(terms, coef, mask)

    @property
    def coefficients(self) -> torch.Tensor:
        """The full ``(n_terms, n_states)`` coefficient matrix, fixed and free parts together."""
        if not len(self.free_index):
            return self.fixed
        flat = self.fixed.flatten().index_put((self.free_index,), self.free.to(self.fixed.dtype), accumulate=True)
        return flat.view_as(self.fixed)

    def equations(self, symbols: Symbols) -> list[Equation]:
        """One :class:`Equation` per state with the non-zero terms, in term order."""
        w = self.coefficients.detach().cpu().numpy()
        names = [symbols.name(t) for t in self.terms]
        return [
            Equation(symbols.lhs(k), {n: float(w[j, k]) for j, n in enumerate(names) if w[j, k] != 0.0})
            for k in range(w.shape[1])
        ]

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        theta = state_monomials(self.terms, u)
        return theta @ self.coefficients.to(u.dtype)


def tanh_mlp(
    n_inputs: int, n_outputs: int, width: int, depth: int, dtype: torch.dtype = torch.float32
) -> nn.Sequential:
    """``depth`` hidden tanh layers of ``width`` units and a linear output layer, PyTorch's default init."""
    layers: list[nn.Module] = []
    fan_in = n_inputs
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width, dtype=dtype), nn.Tanh()]
        fan_in = width
    layers.append(nn.Linear(fan_in, n_outputs, dtype=dtype))
    return nn.Sequential(*layers)


class NeuralField(nn.Module):
    """A tanh MLP ``u -> du/dt`` that works in normalised units.

    Inputs are shifted and scaled by ``center`` and ``scale`` (the data's mean and spread); the output is
    multiplied by ``rate_scale`` (a typical size of du/dt). The last layer starts at zero, so a universal
    ODE starts as its known physics.

    Args:
        n_states: number of states.
        center, scale: ``(n_states,)`` input normalisation.
        rate_scale: ``(n_states,)`` output scale.
        width, depth: hidden layer size and count.
    """

    center: torch.Tensor
    scale: torch.Tensor
    rate_scale: torch.Tensor

    def __init__(
        self,
        n_states: int,
        center: Sequence[float],
        scale: Sequence[float],
        rate_scale: Sequence[float],
        width: int = 32,
        depth: int = 2,
    ) -> None:
        super().__init__()
        self.net = tanh_mlp(n_states, n_states, width, depth)
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("rate_scale", torch.as_tensor(rate_scale, dtype=torch.float32))

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        z = (u - self.center.to(u.dtype)) / self.scale.to(u.dtype)
        return self.net(z).to(u.dtype) * self.rate_scale.to(u.dtype)


class NeuralODE(nn.Module):
    """``du/dt = network(u)``: a neural ODE (Chen et al. 2018)."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.network(t, u)


class UniversalODE(nn.Module):
    """``du/dt = known(u) + network(u)``: known physics plus a network for what is missing.

    Rackauckas et al. 2020, "Universal Differential Equations for Scientific Machine Learning".
    """

    def __init__(self, known: nn.Module, network: nn.Module) -> None:
        super().__init__()
        self.known = known
        self.network = network

    def forward(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.known(t, u) + self.network(t, u)
