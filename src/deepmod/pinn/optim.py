"""L-BFGS with a long history at little cost: the compact representation of the inverse Hessian.

PyTorch's L-BFGS computes each direction by the two-loop recursion, ``4 m`` small vector operations from
Python per step; with a history of ``m = 300`` pairs that overhead took a step on Raissi's Burgers from 24 to
34 ms and ate the gain in steps. The compact form (Byrd, Nocedal and Schnabel, Math. Program. 63, 1994)
gives the same direction from four matrix-vector products with the stacked pairs ``S``, ``Y`` and two
triangular solves of size ``m``:

    H g = gamma g + S^T R^-T ((D + gamma Y Y^T) R^-1 S g - gamma Y g) - gamma Y^T R^-1 S g,

with ``R`` the upper triangle of ``S Y^T``, ``D`` its diagonal and ``gamma = s^T y / y^T y`` of the newest
pair. The step length comes from PyTorch's strong-Wolfe line search (torch pinned, so its private function
is stable here). The optimiser's own arithmetic is float64, whatever the model's type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.optim.lbfgs import _strong_wolfe


class CompactLBFGS:
    """L-BFGS over ``params`` with ``history`` pairs and a strong-Wolfe line search.

    Args:
        params: the tensors to optimise.
        max_iter: at most this many iterations; at most ``max_iter * 5 / 4`` evaluations of the closure.
        history: the pairs kept.
        tolerance_grad: stop once the gradient's largest entry is below this.
        tolerance_change: stop once a step, or the loss's change, is below this (no progress is left).
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        max_iter: int,
        history: int = 500,
        tolerance_grad: float = 1e-12,
        tolerance_change: float = 1e-15,
    ) -> None:
        self.params = list(params)
        self.max_iter, self.max_eval, self.history = max_iter, max_iter * 5 // 4, history
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        n = sum(p.numel() for p in self.params)
        # the pairs in a ring (no copy of the history per step); sy, yy in chronological order
        self.s_ring = torch.zeros(history, n, dtype=torch.float64, device=self.params[0].device)
        self.y_ring = torch.zeros_like(self.s_ring)
        self.count, self.start = 0, 0
        self.sy = torch.zeros(0, 0, dtype=torch.float64, device=self.s_ring.device)  # s_i . y_j
        self.yy = self.sy.clone()

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _order(self) -> torch.Tensor:
        """The ring slots of the stored pairs, oldest first."""
        return (self.start + torch.arange(self.count, device=self.s_ring.device)) % self.history

    def direction(self, g: torch.Tensor) -> torch.Tensor:
        """``-H g`` (module docstring); ``-g`` before the first pair."""
        if not self.count:
            return -g
        slots = self._order()  # chronological position -> slot
        rank = torch.empty_like(slots)  # slot -> chronological position
        rank[slots] = torch.arange(self.count, device=slots.device)
        s, y = self.s_ring[: self.count], self.y_ring[: self.count]  # products in slot order, then reordered
        r, d = torch.triu(self.sy), torch.diagonal(self.sy)
        gamma = d[-1] / self.yy[-1, -1]
        c = torch.linalg.solve_triangular(r, (s @ g)[slots][:, None], upper=True)[:, 0]
        rhs = d * c + gamma * (self.yy @ c) - gamma * (y @ g)[slots]
        top = torch.linalg.solve_triangular(r.T, rhs[:, None], upper=False)[:, 0]
        return -(gamma * g + s.T @ top[rank] - gamma * (y.T @ c[rank]))

    def remember(self, s: torch.Tensor, y: torch.Tensor) -> None:
        """Add the pair ``(s, y)``, in the slot of the oldest beyond ``history``."""
        filled = self.count
        if self.count == self.history:
            self.sy, self.yy = self.sy[1:, 1:], self.yy[1:, 1:]
            self.start, self.count = (self.start + 1) % self.history, self.count - 1
        slots = self._order()
        k = self.count
        with_y, with_s = (self.s_ring[:filled] @ y)[slots], (self.y_ring[:filled] @ s)[slots]
        yy_new = (self.y_ring[:filled] @ y)[slots]
        sy = self.sy.new_zeros(k + 1, k + 1)
        yy = self.yy.new_zeros(k + 1, k + 1)
        sy[:k, :k], sy[:k, k], sy[k, :k], sy[k, k] = self.sy, with_y, with_s, s @ y
        yy[:k, :k], yy[:k, k], yy[k, :k], yy[k, k] = self.yy, yy_new, yy_new, y @ y
        slot = (self.start + k) % self.history
        self.s_ring[slot], self.y_ring[slot] = s, y
        self.sy, self.yy, self.count = sy, yy, k + 1

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> float:
        """Iterate from the parameters' values; ``closure`` clears the gradients, returns the loss and
        back-propagates it. Returns the last loss."""
        x = self._flat([p.detach() for p in self.params])
        loss, g = self._evaluate(closure, x)
        evaluations = 1
        for _ in range(self.max_iter):
            if float(g.abs().max()) <= self.tolerance_grad:
                break
            d = self.direction(g)
            slope = float(g @ d)
            if slope > -self.tolerance_change:
                break
            t = min(1.0, 1.0 / float(g.abs().sum())) if not self.count else 1.0

            def along(x0: torch.Tensor, step: float, d: torch.Tensor) -> tuple[float, torch.Tensor]:
                return self._evaluate(closure, x0 + step * d)

            new_loss, new_g, t, n = _strong_wolfe(along, x, t, d, loss, g, slope)
            evaluations += n
            s = t * d
            x = x + s
            self._set(x)
            if float(s @ (new_g - g)) > 1e-10:
                self.remember(s, new_g - g)
            change, loss, g = abs(new_loss - loss), new_loss, new_g
            if evaluations >= self.max_eval or float(s.abs().max()) <= self.tolerance_change:
                break
            if change < self.tolerance_change:
                break
        return loss

    def _evaluate(self, closure: Callable[[], torch.Tensor], x: torch.Tensor) -> tuple[float, torch.Tensor]:
        self._set(x)
        with torch.enable_grad():
            loss = float(closure().detach())
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        return loss, self._flat(grads)

    def _flat(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.reshape(-1) for t in tensors]).to(torch.float64)

    def _set(self, x: torch.Tensor) -> None:
        i = 0
        for p in self.params:
            p.copy_(x[i : i + p.numel()].view_as(p))
            i += p.numel()


__all__ = ["CompactLBFGS"]
