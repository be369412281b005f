"""The argument groups the commands share (the data file and its arrays, the run's seed, device, threads and
output) and the types that check an argument's text; every command's parser is built from them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

RENAMES = "ALIAS=NAME renames"


def csv(text: str) -> list[str]:
    """A comma-separated list of names (at least one)."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def positive(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def order(low: int, high: int) -> Callable[[str], int]:
    """An integer in ``[low, high]`` (a polynomial or derivative order)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from exc
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def data_arguments(
    p: argparse.ArgumentParser,
    data: str | None,
    *,
    coords: str = "coordinate arrays, time first",
    fields: str = "field arrays",
    dims: bool = True,
    required: bool = True,
) -> None:
    """The data file (``data``: its help; ``None``: no positional argument), ``--coords``, ``--fields`` (each
    help followed by how to rename) and, for grids, ``--dims``."""
    if data is not None:
        p.add_argument("data", help=data)
    p.add_argument("--coords", type=csv, required=required, help=f"{coords}; {RENAMES}")
    p.add_argument("--fields", type=csv, required=required, help=f"{fields}; {RENAMES}")
    if dims:
        p.add_argument("--dims", type=csv, help="axis order of grid fields, only when lengths are ambiguous: t,x")


def run_arguments(
    p: argparse.ArgumentParser,
    *,
    device: str = "cpu or cuda",
    output: str | None = "write the result as JSON to this file",
    quiet: str = "no progress bar",
    threads: bool = True,
) -> None:
    """``--seed``, ``--device``, ``--threads`` (where the command trains with PyTorch), ``--output`` (its help;
    ``None``: the command has its own) and ``--quiet``."""
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="cpu", help=device)
    if threads:
        p.add_argument("--threads", type=positive, help="CPU threads for PyTorch (default: PyTorch's choice)")
    if output is not None:
        p.add_argument("--output", help=output)
    p.add_argument("--quiet", action="store_true", help=quiet)


__all__ = ["csv", "data_arguments", "order", "positive", "run_arguments"]
