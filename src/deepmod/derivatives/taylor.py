"""Taylor-mode (jet) propagation: all input derivatives a network needs, in one forward pass.

A *jet* holds, for each multi-index gamma in a down-closed set S, the normalised Taylor coefficient
``f_gamma = d^gamma f / gamma!`` of a quantity with respect to the network inputs. Jets are stacked in one
tensor of shape ``(len(S), n_points, width)`` with the value (gamma = 0) first, so a linear layer maps every
stream with one batched matrix product (the bias enters the value stream only). An element-wise activation
``s`` is composed with Faa di Bruno's formula in truncated-polynomial form,

    s(z0 + d) = sum_k s^(k)(z0) / k! * d^k,

where ``d`` is the jet without its value and ``d^k`` is a truncated product (coefficient gamma sums
``a_alpha * b_beta`` over alpha + beta = gamma). Because S is down-closed, truncation is exact: each
coefficient depends only on coefficients of lower multi-indices (Griewank & Walther, *Evaluating
Derivatives*, ch. 13). Mixed derivatives such as u_xy come out of the same algebra.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.autograd.function import once_differentiable

MultiIndex = tuple[int, ...]


class JetSpec:
    """A down-closed set of multi-indices over the network inputs and its product table.

    Args:
        indices: the multi-indices wanted (over all inputs, time first); their lower sets are added.
        n_inputs: number of network inputs.
        fused: compile the element-wise work of each activation with ``torch.compile`` (one fused loop per
            pass; the first use in a process costs seconds of compilation, each step is then about three times
            cheaper on a CPU). Falls back to plain PyTorch, with a warning, where compiling fails.
    """

    def __init__(self, indices: Iterable[Sequence[int]], n_inputs: int, fused: bool = False) -> None:
        wanted = {tuple(int(i) for i in idx) for idx in indices} | {(0,) * n_inputs}
        if any(len(idx) != n_inputs or min(idx) < 0 for idx in wanted):
            raise ValueError(f"every multi-index needs {n_inputs} non-negative entries")
        closed: set[MultiIndex] = set()
        for idx in wanted:
            closed.update(itertools.product(*(range(k + 1) for k in idx)))
        self.n_inputs, self.fused = n_inputs, fused
        self.fusion_error: str | None = None
        self.indices: list[MultiIndex] = sorted(closed, key=lambda g: (sum(g), tuple(-k for k in g)))
        self.position = {g: i for i, g in enumerate(self.indices)}
        self.max_order = max(sum(g) for g in self.indices)
        order = [sum(g) for g in self.indices]
        # products[g] lists (a, b) with a + b = g, both non-constant; ordered so a has the higher order
        self.products: list[list[tuple[int, int]]] = [
            [
                (self.position[a], self.position[b])
                for a in self.indices
                if any(a) and all(x <= y for x, y in zip(a, g, strict=True)) and sum(a) < sum(g)
                for b in [tuple(y - x for x, y in zip(a, g, strict=True))]
            ]
            for g in self.indices
        ]
        self.order = order
        self.factorials = torch.tensor(
            [math.prod(math.factorial(k) for k in g) for g in self.indices], dtype=torch.float64
        )

    def __len__(self) -> int:
        return len(self.indices)

    def seed(self, x: torch.Tensor) -> torch.Tensor:
        """The jets of the inputs themselves: value ``x`` and unit first derivatives.

        Args:
            x: inputs of shape ``(n_points, n_inputs)``.

        Returns:
            Tensor of shape ``(len(self), n_points, n_inputs)``.
        """
        unit = x.new_zeros((len(self) - 1, 1, self.n_inputs))
        for i in range(self.n_inputs):
            e = tuple(int(j == i) for j in range(self.n_inputs))
            if e in self.position:
                unit[self.position[e] - 1, 0, i] = 1.0
        return torch.cat([x.unsqueeze(0), unit.expand(-1, x.shape[0], -1)])

    def derivative(self, jets: torch.Tensor, index: Sequence[int]) -> torch.Tensor:
        """The derivative ``d^index`` (not normalised) from stacked Taylor coefficients."""
        pos = self.position[tuple(index)]
        return jets[pos] * float(self.factorials[pos])


def _powers(z: torch.Tensor, spec: JetSpec) -> list[list[torch.Tensor | None]]:
    """``levels[k - 1][g]``: coefficient ``g`` of ``d^k``, the k-th truncated power of the non-constant part
    ``d`` of the stacked jet ``z`` (``None`` where it is zero)."""
    n = len(spec)
    levels: list[list[torch.Tensor | None]] = [[None, *z[1:].unbind(0)]]
    for k in range(2, spec.max_order + 1):
        prev = levels[-1]
        level: list[torch.Tensor | None] = [None] * n
        for g in range(1, n):
            if spec.order[g] < k:
                continue
            total: torch.Tensor | None = None
            for a, b in spec.products[g]:
                p = prev[a]
                if p is not None:
                    total = p * z[b] if total is None else total + p * z[b]
            level[g] = total
        levels.append(level)
    return levels


def _stream_terms(grad: torch.Tensor, level: list[torch.Tensor | None]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(dL/dout_g, P_k[g])`` for the non-zero powers of one level: their products sum to ``dL/dc_k``."""
    return [(grad[g], p) for g, p in enumerate(level) if g and p is not None]


def _reverse_products(
    spec: JetSpec, above: list[torch.Tensor | None], level: list[torch.Tensor | None]
) -> list[tuple[torch.Tensor, int, int, torch.Tensor]]:
    """``(dL/dP_{k+1}[h], a, b, P_k[a])`` for every product ``P_k[a] d_b`` in ``P_{k+1}[h]`` with non-zero
    factors: the backward pass sends ``dL/dP_{k+1}[h] d_b`` to ``P_k[a]`` and ``dL/dP_{k+1}[h] P_k[a]`` to
    stream ``b``."""
    return [
        (bh, a, b, p)
        for h, bh in enumerate(above)
        if bh is not None
        for a, b in spec.products[h]
        if (p := level[a]) is not None
    ]


def _jet_forward(
    z: torch.Tensor, bias: torch.Tensor, spec: JetSpec, derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]]
) -> torch.Tensor:
    """``out_g = sum_k c_k P_k[g]`` with ``c_k = s^(k)(z0)/k!`` (Faa di Bruno, module docstring), stacked."""
    c = derivatives(z[0] + bias, spec.max_order)
    levels = _powers(z, spec)
    out = [c[0]]
    for g in range(1, len(spec)):
        total = c[1] * z[g]
        for k in range(2, spec.order[g] + 1):
            p = levels[k - 1][g]
            if p is not None:
                total = total + c[k] * p
        out.append(total)
    return torch.stack(out)


def _jet_backward(
    z: torch.Tensor,
    bias: torch.Tensor,
    grad: torch.Tensor,
    spec: JetSpec,
    derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The vector-Jacobian product of :func:`_jet_forward`: gradients of ``z`` (stacked) and of the value stream.

    ``c_k`` and the powers are recomputed from ``z`` rather than stored (cheaper than the memory traffic of
    keeping them). The value stream gets ``sum_k dL/dc_k (k+1) c_{k+1}``; the other streams run the power
    recursion ``P_k[g] = sum_{a+b=g} P_{k-1}[a] d_b`` backwards.
    """
    n, top = len(spec), spec.max_order
    c = derivatives(z[0] + bias, top + 1)
    levels = _powers(z, spec)
    dz0 = grad[0] * c[1]
    for k in range(1, top + 1):
        terms = _stream_terms(grad, levels[k - 1])
        if terms:
            dz0 = dz0 + (k + 1) * sum(gr * p for gr, p in terms) * c[k + 1]
    direct: list[torch.Tensor | None] = [None] * n
    above: list[torch.Tensor | None] = []
    for k in range(top, 0, -1):
        level = levels[k - 1]
        bar = [None if level[g] is None else grad[g] * c[k] for g in range(n)]
        for bh, a, b, p in _reverse_products(spec, above, level):
            bar[a] = cast(torch.Tensor, bar[a]) + bh * z[b]
            old = direct[b]
            direct[b] = bh * p if old is None else old + bh * p
        above = bar
    streams = [dz0]
    for g in range(1, n):
        first, extra = above[g], direct[g]
        assert first is not None
        streams.append(first if extra is None else first + extra)
    return torch.stack(streams), dz0


def _kernels(
    spec: JetSpec, derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]]
) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """The compiled forward and backward kernels for this jet set and activation, or ``None`` when
    ``spec.fused`` is off or compiling has failed for this spec (``spec.fusion_error``)."""
    if not spec.fused or spec.fusion_error is not None:
        return None
    return _compiled(tuple(spec.indices), spec.n_inputs, derivatives)


@functools.cache
def _compiled(
    indices: tuple[MultiIndex, ...], n_inputs: int, derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]]
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``torch.compile`` of the two passes for one jet set and activation: a memo of pure functions (the
    same arguments always give the same kernels), so that every network with this jet set shares one
    compilation per process instead of recompiling, which the compiler would stop doing after a few times.

    Compiled for the first shape seen (a training run keeps its points: loops of known length vectorise,
    steps about 20 % cheaper than shape-generic code on a CPU); a second shape recompiles shape-generic code.
    """
    spec = JetSpec(indices, n_inputs)

    def forward(z: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return _jet_forward(z, bias, spec, derivatives)

    def backward(z: torch.Tensor, bias: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _jet_backward(z, bias, grad, spec, derivatives)

    # The CPU's vector instructions are taken from what it reports, not probed: the probe builds and loads a
    # test library per instruction set in child processes, two seconds of CPU in every process even when the
    # kernels come from the compile cache. Should the compiler fail after all, the plain kernels run.
    options: dict[str, str | int | bool | Callable[..., Any]] = {"cpp.vec_isa_ok": True}
    return torch.compile(forward, fullgraph=True, options=options), torch.compile(
        backward, fullgraph=True, options=options
    )


def _run(spec: JetSpec, kernel: Callable[..., Any] | None, plain: Callable[..., Any], *args: torch.Tensor) -> Any:
    """Call the compiled kernel if there is one; if compiling fails (no C++ compiler, say), warn, record the
    failure on ``spec`` and run the plain kernel for this spec from then on (same results, slower)."""
    if kernel is None:
        return plain(*args)
    try:
        with warnings.catch_warnings():  # the compiler's own deprecation notices are not the user's business
            warnings.simplefilter("ignore")
            return kernel(*(a.detach() for a in args))  # no autograd metadata for the compiler to inspect
    except Exception as exc:  # any compiler failure means: run unfused
        spec.fusion_error = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            f"deepmod: fused Taylor-mode kernels are unavailable ({spec.fusion_error}); running unfused",
            RuntimeWarning,
            stacklevel=3,
        )
        return plain(*args)


class JetActivation(torch.autograd.Function):
    """An element-wise activation applied to a stacked jet, with a hand-written backward pass.

    ``apply(z, bias, spec, derivatives)``: ``z`` is the stacked output of a linear layer without its bias,
    shape ``(len(spec), ...)``; the bias enters the value stream; ``derivatives(z0, K)`` returns the scaled
    derivatives ``[s, s'/1!, ..., s^(K)/K!]`` of the activation. Returns the stacked jet of ``s(z + bias)``.

    Both passes are written out (:func:`_jet_forward`, :func:`_jet_backward`) instead of letting autograd
    record every product: only ``z`` is kept for the backward pass, nothing is recorded
    per element-wise operation, and with ``spec.fused`` each pass is compiled into a single loop over the
    points (the element-wise work, not the matrix products, dominates a step on a CPU). Once
    differentiable: a training step needs first derivatives of the loss only.
    """

    @staticmethod
    def forward(
        ctx: Any,
        z: torch.Tensor,
        bias: torch.Tensor,
        spec: JetSpec,
        derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]],
    ) -> torch.Tensor:
        ctx.save_for_backward(z, bias)
        ctx.spec, ctx.derivatives, ctx.kept = spec, derivatives, None
        kernels = _kernels(spec, derivatives)
        if kernels is not None:
            out = _run(spec, kernels[0], functools.partial(_jet_forward, spec=spec, derivatives=derivatives), z, bias)
            if spec.fusion_error is None:  # compiled and ran (else it has just failed: keep what the plain pass needs)
                return cast(torch.Tensor, out)
        out, ctx.kept = _jet_forward_kept(z, bias, spec, derivatives)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        z, bias = ctx.saved_tensors
        spec, derivatives = ctx.spec, ctx.derivatives
        if ctx.kept is not None:
            grad_z, dz0 = _jet_backward_kept(z, grad, spec, *ctx.kept)
        else:
            kernels = _kernels(spec, derivatives)
            plain = functools.partial(_jet_backward, spec=spec, derivatives=derivatives)
            grad_z, dz0 = _run(spec, None if kernels is None else kernels[1], plain, z, bias, grad.contiguous())
        return grad_z, dz0.sum_to_size(bias.shape), None, None


def _jet_forward_kept(
    z: torch.Tensor, bias: torch.Tensor, spec: JetSpec, derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]]
) -> tuple[torch.Tensor, tuple[list[torch.Tensor], list[list[torch.Tensor | None]]]]:
    """:func:`_jet_forward` for unfused runs: written into one preallocated stack, in place, keeping ``c_k``
    (to order K + 1) and the powers for the backward pass (recomputing them costs more without fusion)."""
    c = derivatives(z[0] + bias, spec.max_order + 1)
    levels = _powers(z, spec)
    out = torch.empty_like(z)
    out[0] = c[0]
    torch.mul(z[1:], c[1], out=out[1:])
    for g in range(1, len(spec)):
        for k in range(2, spec.order[g] + 1):
            p = levels[k - 1][g]
            if p is not None:
                out[g].addcmul_(c[k], p)
    return out, (c, levels)


def _jet_backward_kept(
    z: torch.Tensor,
    grad: torch.Tensor,
    spec: JetSpec,
    c: list[torch.Tensor],
    levels: list[list[torch.Tensor | None]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_jet_backward` from kept ``c_k`` and powers, accumulating in place."""
    n, top = len(spec), spec.max_order
    grad_z = torch.empty_like(z)
    dz0 = grad[0] * c[1]
    dz0.addcmul_((grad[1:] * z[1:]).sum(0), c[2], value=2.0)
    for k in range(2, top + 1):
        terms = _stream_terms(grad, levels[k - 1])
        if terms:
            dck = terms[0][0] * terms[0][1]
            for gr, p in terms[1:]:
                dck.addcmul_(gr, p)
            dz0.addcmul_(dck, c[k + 1], value=float(k + 1))
    grad_z[0] = dz0
    torch.mul(grad[1:], c[1], out=grad_z[1:])
    above: list[torch.Tensor | None] = []
    for k in range(top, 0, -1):
        level = levels[k - 1]
        if k == 1:
            bar: list[torch.Tensor | None] = [None, *grad_z[1:].unbind(0)]
        else:
            bar = [None if level[g] is None else grad[g] * c[k] for g in range(n)]
        for bh, a, b, p in _reverse_products(spec, above, level):
            cast(torch.Tensor, bar[a]).addcmul_(bh, z[b])
            grad_z[b].addcmul_(bh, p)
        above = bar
    return grad_z, dz0


def _tanh_coefficients(order: int) -> tuple[tuple[float, ...], ...]:
    """For k = 1..order, the coefficients of ``tanh^(k)/k!`` in powers of ``y^2`` (see :func:`tanh_derivatives`)."""
    poly = np.polynomial.Polynomial([0.0, 1.0])
    one_minus_y2 = np.polynomial.Polynomial([1.0, 0.0, -1.0])
    table = []
    for k in range(1, order + 1):
        poly = poly.deriv() * one_minus_y2
        coef = np.asarray(poly.coef, dtype=np.float64) / math.factorial(k)
        table.append(tuple(float(v) for v in coef[(k + 1) % 2 :: 2]))
    return tuple(table)


_TANH = _tanh_coefficients(12)  # a constant table (traceable by torch.compile); orders beyond it are computed


def tanh_derivatives(z: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[tanh(z), tanh'(z)/1!, ..., tanh^(order)(z)/order!]`` as polynomials in ``y = tanh(z)``.

    With ``p_0(y) = y`` and ``p_{k+1}(y) = p_k'(y) (1 - y^2)``; ``p_k`` has the parity of ``k + 1``, so each is
    a polynomial in ``y^2`` (times ``y`` for even ``k``), evaluated by Horner's rule in ``y^2``.
    """
    y = torch.tanh(z)
    out = [y]
    if order == 0:
        return out
    y2 = y * y
    for k, coef in enumerate(_TANH[:order] if order <= len(_TANH) else _tanh_coefficients(order), start=1):
        val = y2 * coef[-1] + coef[-2]  # degree k + 1 >= 2: at least two coefficients
        for v in reversed(coef[:-2]):
            val = val * y2 + v
        out.append(val if k % 2 else val * y)
    return out


def sin_derivatives(z: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[sin(z), cos(z)/1!, -sin(z)/2!, -cos(z)/3!, ...]`` up to ``order``."""
    s, c = torch.sin(z), torch.cos(z)
    cycle = [(s, 1.0), (c, 1.0), (s, -1.0), (c, -1.0)]
    return [cycle[k % 4][0] * (cycle[k % 4][1] / math.factorial(k)) if k else s for k in range(order + 1)]
