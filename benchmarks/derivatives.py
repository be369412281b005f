"""Cost of one DeepMoD training step: Taylor mode against nested autograd and against the floor.

A step is: the library's derivatives at every point, Theta, the least-squares constraint, the loss, and its
backward pass. Compared on the same 4 x 50 tanh network and the same points (t, x):

- ``taylor``: :mod:`deepmod.derivatives.taylor`, every derivative stream in one forward pass, element-wise
  work in plain PyTorch (``DEEPMOD_FUSE=0``);
- ``fused``: the same with each activation's forward and backward work compiled into one loop
  (``torch.compile``; the default in training; compile time excluded here, it is paid once per process);
- ``autograd``: nested reverse mode (``torch.autograd.grad(..., create_graph=True)`` once per order), as
  DeePyMoD builds its library;
- ``bare``: one forward and backward pass of the network on the values only.

The floor is (number of derivative streams) x bare: each stream is a matrix product per layer, forward and
backward. Printed per derivative order (2, 3, 4): milliseconds per step (median of repeats), the speed-up
of the fused step over autograd and its ratio to the floor.

Usage:  python benchmarks/derivatives.py [--points 2000] [--threads 1] [--repeats 30] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from deepmod.approximators import MLP
from deepmod.derivatives.taylor import JetSpec
from deepmod.library import PolynomialLibrary
from deepmod.neural.constraint import LeastSquares
from deepmod.neural.training import evaluate, jet_spec_for
from deepmod.terms import Symbols


def _loss(values: torch.Tensor, u: torch.Tensor, u_t: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    xi = LeastSquares().solve(theta, u_t[:, 0])
    return torch.mean((values - u) ** 2) + torch.mean((u_t[:, 0] - theta @ xi) ** 2)


def taylor_step(model: MLP, library: PolynomialLibrary, spec: JetSpec, x: torch.Tensor, u: torch.Tensor) -> None:
    values, u_t, theta = evaluate(model, library, spec, x)
    _loss(values, u, u_t, theta).backward()


def autograd_step(model: MLP, library: PolynomialLibrary, order: int, x: torch.Tensor, u: torch.Tensor) -> None:
    x = x.detach().requires_grad_(True)
    values = model(x)
    first = torch.autograd.grad(values.sum(), x, create_graph=True)[0]
    u_t, derivs = first[:, :1], {(0, (1,)): first[:, 1]}
    current = first[:, 1]
    for k in range(2, order + 1):
        current = torch.autograd.grad(current.sum(), x, create_graph=True)[0][:, 1]
        derivs[(0, (k,))] = current
    derivs[(0, (0,))] = values[:, 0]
    theta = library.evaluate(derivs)
    _loss(values, u, u_t, theta).backward()


def bare_step(model: MLP, x: torch.Tensor, u: torch.Tensor) -> None:
    torch.mean((model(x) - u) ** 2).backward()


def _time(step: Callable[[], None], model: MLP, repeats: int) -> float:
    sync = torch.cuda.synchronize if next(model.parameters()).is_cuda else (lambda: None)
    for _ in range(3):  # warm-up (and compilation, for the fused step)
        step()
        model.zero_grad(set_to_none=True)
    samples = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        step()
        sync()
        samples.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    x = (torch.rand(args.points, 2, device=device) * 2 - 1).contiguous()
    u = torch.sin(3 * x[:, :1]) * torch.cos(2 * x[:, 1:])
    model = MLP(2, 1).to(device)
    print(f"{args.points} points, 4 x 50 tanh MLP, {args.threads} thread(s), {device}")
    print(
        f"{'order':>5} {'terms':>5} {'streams':>7} {'bare ms':>8} {'taylor ms':>9} {'fused ms':>8} "
        f"{'autograd ms':>11} {'fused speed-up':>14} {'fused/floor':>11}"
    )
    bare = _time(lambda: bare_step(model, x, u), model, args.repeats)
    for order in (2, 3, 4):
        library = PolynomialLibrary(Symbols(fields=("u",), space=("x",)), poly_order=2, diff_order=order)
        plain, fused = jet_spec_for(library, 2), jet_spec_for(library, 2, fused=True)
        taylor = _time(lambda: taylor_step(model, library, plain, x, u), model, args.repeats)  # noqa: B023
        compiled = _time(lambda: taylor_step(model, library, fused, x, u), model, args.repeats)  # noqa: B023
        nested = _time(lambda: autograd_step(model, library, order, x, u), model, args.repeats)  # noqa: B023
        floor = len(plain) * bare
        print(
            f"{order:>5} {len(library.terms):>5} {len(plain):>7} {bare:8.2f} {taylor:9.2f} {compiled:8.2f} "
            f"{nested:11.2f} {nested / compiled:13.2f}x {compiled / floor:10.2f}x"
        )


if __name__ == "__main__":
    main()
