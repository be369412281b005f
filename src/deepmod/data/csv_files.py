"""CSV files: one sample per row under a header of names, or a wide table of one field (a header row of one
coordinate's values after a corner cell, the other coordinate down the first column). Lines that start with
``#`` are comments; spaces after the separators are ignored."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from deepmod.errors import InputError


def read_csv(p: Path) -> dict[str, np.ndarray]:
    """The named columns of a CSV file, or a wide table's arrays under :data:`WIDE` keys."""
    try:
        with open(p, newline="", encoding="utf-8") as fh:
            lines = [line for line in fh if not line.lstrip().startswith("#")]  # comment lines
            rows = list(csv.reader(lines, skipinitialspace=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"'{p.name}' is not a readable CSV text file: {exc}") from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputError(f"'{p.name}' needs a header row of column names and at least one data row")
    header = [h.strip() for h in rows[0]]
    if len(header) > 3 and all(_is_number(h) for h in header[1:]):
        return _read_wide_csv(p, header, rows[1:])
    if len(set(header)) != len(header) or any(not h for h in header):
        raise InputError(f"'{p.name}' has empty or repeated column names in its header: {header}")
    ragged = [i for i, r in enumerate(rows[1:], start=2) if len(r) != len(header)]
    if ragged:
        raise InputError(f"'{p.name}' row {ragged[0]} has a different number of columns than the header")
    try:
        values = np.array([[float(c) for c in r] for r in rows[1:]], dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"'{p.name}' has a non-numeric value ({exc}): every data cell must be a number") from exc
    return {h: values[:, i] for i, h in enumerate(header)}


WIDE = "\0wide"
"""Key prefix of a wide CSV's arrays until :func:`load` names them after the user's coordinates and field."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_wide_csv(p: Path, header: list[str], rows: list[list[str]]) -> dict[str, np.ndarray]:
    """A field as a table: the header row holds one coordinate's values after a corner cell, each row the
    other coordinate's value and then the field's values. The corner may name both, rows first (``t\\x``)."""
    ragged = [i for i, r in enumerate(rows, start=2) if len(r) != len(header)]
    if ragged:
        raise InputError(f"'{p.name}' row {ragged[0]} has a different number of columns than the header")
    try:
        table = np.array([[float(c) for c in r] for r in rows], dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"'{p.name}' has a non-numeric value ({exc}): every data cell must be a number") from exc
    columns = np.array([float(h) for h in header[1:]])
    return {
        f"{WIDE}rows": table[:, 0],
        f"{WIDE}columns": columns,
        f"{WIDE}values": table[:, 1:],
        f"{WIDE}corner": np.array(header[0]),
    }


def name_wide(
    arrays: dict[str, np.ndarray], cmap: dict[str, str], fmap: dict[str, str], source: str
) -> dict[str, np.ndarray]:
    """A wide CSV's arrays under the user's names: rows and columns are the two coordinates (the corner cell's
    first name, ``t`` in ``t\\x``, says which runs down the rows; else the first coordinate), the table the
    one field."""
    if len(cmap) != 2 or len(fmap) != 1:
        raise InputError(
            f"'{source}' is a wide table (one coordinate along its header row, one down its first column, one "
            "field): give two coordinates and one field",
            options=("coords", "fields"),
        )
    names = list(cmap.values())
    corner = str(arrays[f"{WIDE}corner"]).replace("/", "\\").split("\\")[0].strip()
    rows_name = corner if corner in names else names[0]
    columns_name = next((n for n in names if n != rows_name), names[1])
    return {
        rows_name: arrays[f"{WIDE}rows"],
        columns_name: arrays[f"{WIDE}columns"],
        next(iter(fmap.values())): arrays[f"{WIDE}values"],
    }
