"""The CUDA path: jets (plain and compiled) against the CPU, and a small discovery on the GPU.

Skipped where no CUDA GPU is present (CI has none); run on a GPU machine with ``pytest tests/test_cuda.py``.
"""

from __future__ import annotations

import pytest
import torch

import deepmod
from deepmod.approximators import MLP
from deepmod.data import burgers_delta
from deepmod.derivatives.taylor import JetSpec

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


@pytest.mark.parametrize("fused", [False, True])
def test_jets_on_the_gpu_equal_the_cpu(fused: bool) -> None:
    """Jets and parameter gradients on CUDA (plain, or compiled to GPU kernels) equal the CPU's, float64."""
    indices = [(1, 0, 0), (0, 4, 0), (0, 2, 1), (0, 0, 2)]
    x = torch.rand(300, 3, dtype=torch.float64) * 2 - 1
    results = []
    for device, fuse in (("cpu", False), ("cuda", fused)):
        torch.manual_seed(3)
        net = MLP(3, 2, (32, 32)).double().to(device)
        jets = net.jets(x.to(device), JetSpec(indices, 3, fused=fuse))
        (jets**2).sum().backward()
        grads = [p.grad.detach().cpu() for p in net.parameters() if p.grad is not None]
        results.append((jets.detach().cpu(), grads))
    (cpu, cpu_grads), (gpu, gpu_grads) = results
    torch.testing.assert_close(gpu, cpu, rtol=1e-10, atol=1e-12)
    for a, b in zip(gpu_grads, cpu_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_small_burgers_discovery_on_the_gpu() -> None:
    """The default method with device="cuda" (fused kernels on): exact terms, coefficients within 5 %."""
    system = burgers_delta()
    data = deepmod.subsample(deepmod.add_noise(system.data, 0.02, seed=1), 1000, seed=1)
    result = deepmod.discover(data, deepmod.DeepMoD(network=deepmod.DefaultNetwork(fuse=True)), seed=0, device="cuda")
    assert set(result.coefficients["u_t"]) == set(system.truth["u_t"]), str(result)
    for term, true in system.truth["u_t"].items():
        assert abs(result.coefficients["u_t"][term] - true) < 0.05 * abs(true), str(result)
    assert result.status == "converged"
