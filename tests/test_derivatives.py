"""Finite differences (weights, convergence order) and Taylor-mode jets (against nested autograd)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepmod.approximators import MLP, Siren, Subdomains, TimeWindows
from deepmod.derivatives import differentiate, fornberg_weights
from deepmod.derivatives.taylor import JetSpec


def test_fornberg_weights_match_known_tables() -> None:
    np.testing.assert_allclose(fornberg_weights(0, np.array([-1.0, 0.0, 1.0]), 2), [1, -2, 1], atol=1e-14)
    np.testing.assert_allclose(fornberg_weights(0, np.arange(-2.0, 3.0), 1) * 12, [1, -8, 0, 8, -1], atol=1e-13)
    np.testing.assert_allclose(fornberg_weights(0, np.arange(-2.0, 3.0), 4), [1, -4, 6, -4, 1], atol=1e-12)
    np.testing.assert_allclose(fornberg_weights(0, np.arange(0.0, 3.0), 1) * 2, [-3, 4, -1], atol=1e-14)


@pytest.mark.parametrize(("order", "accuracy"), [(1, 2), (1, 4), (2, 2), (2, 4), (3, 2), (4, 2)])
def test_finite_difference_convergence_order(order: int, accuracy: int) -> None:
    """Error slope on log-log axes equals the requested accuracy (within 0.3) on sin(x), interior points."""
    errors, steps = [], []
    for n in (40, 80, 160):
        x = np.linspace(0, 2 * np.pi, n)
        d = differentiate(np.sin(x), x, order, accuracy=accuracy)
        exact = np.sin(x + order * np.pi / 2)
        interior = slice(n // 4, 3 * n // 4)
        errors.append(np.max(np.abs(d - exact)[interior]))
        steps.append(x[1] - x[0])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - accuracy) < 0.3


def test_finite_difference_on_non_uniform_grid() -> None:
    x = np.sort(np.random.default_rng(0).uniform(0, 1, 200))
    d = differentiate(x**3, x, 2, accuracy=4)
    np.testing.assert_allclose(d, 6 * x, atol=1e-8)  # exact for cubics: stencils of width 5 are exact to degree 4


def _nested_autograd(net: torch.nn.Module, x: torch.Tensor, index: tuple[int, ...], out: int) -> torch.Tensor:
    y = net(x)[:, out]
    for axis, count in enumerate(index):
        for _ in range(count):
            y = torch.autograd.grad(y.sum(), x, create_graph=True)[0][:, axis]
    return y


NETWORKS = {
    "mlp": lambda: MLP(3, 2, (16, 16)),
    "siren": lambda: Siren(3, 2, (16, 16), omega_0=2.0),
    "time-windows": lambda: TimeWindows(3, 2, 3, (16, 16)),
    "subdomains": lambda: Subdomains(3, 2, (2, 3, 2), (16, 16)),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_taylor_mode_equals_nested_autograd(name: str) -> None:
    """All streams up to order 4, mixed derivatives included, to relative 1e-10 in float64."""
    net = NETWORKS[name]().double()
    spec = JetSpec([(2, 0, 0), (0, 4, 0), (0, 2, 1), (0, 1, 2), (0, 0, 3), (1, 1, 0)], 3)
    x = (torch.rand(12, 3, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    jets = net.jets(x, spec)
    for index in spec.indices:
        for out in range(2):
            ours = spec.derivative(jets, index)[:, out]
            ref = _nested_autograd(net, x, index, out)
            scale = ref.abs().max().clamp_min(1e-12)
            assert ((ours - ref).abs().max() / scale) < 1e-10, index


class _Jets(torch.nn.Module):
    def __init__(self, net: MLP, spec: JetSpec) -> None:
        super().__init__()
        self.inner, self.spec = net, spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.jets(x, self.spec)


def test_taylor_mode_gradients_pass_gradcheck() -> None:
    """Gradients of every stream with respect to a weight matrix and to the inputs, float64."""
    wrapper = _Jets(MLP(2, 1, (6, 6)).double(), JetSpec([(1, 0), (0, 3)], 2))
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    w0 = wrapper.inner.layers[1].weight.detach().clone().requires_grad_(True)

    def by_weight(w: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(wrapper, {"inner.layers.1.weight": w}, (x.detach(),), strict=False)

    assert torch.autograd.gradcheck(by_weight, (w0,))
    assert torch.autograd.gradcheck(wrapper, (x,))


def test_fused_kernels_match_the_plain_ones() -> None:
    """The compiled (fused) element-wise kernels give the same jets and parameter gradients, float64.

    Compiling takes tens of seconds on a cold machine; it is what every default training run does first.
    """
    net = MLP(3, 2, (16, 16)).double()
    indices = [(1, 0, 0), (0, 4, 0), (0, 2, 1), (0, 0, 2)]
    x = torch.rand(40, 3, dtype=torch.float64) * 2 - 1
    results = []
    for fused in (False, True):
        spec = JetSpec(indices, 3, fused=fused)
        net.zero_grad()
        jets = net.jets(x, spec)
        (jets**2).sum().backward()
        results.append((jets.detach(), [p.grad.clone() for p in net.parameters() if p.grad is not None]))
    (plain, plain_grads), (fused_jets, fused_grads) = results
    torch.testing.assert_close(fused_jets, plain, rtol=1e-10, atol=1e-12)
    for a, b in zip(fused_grads, plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
