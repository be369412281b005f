"""Universal PDEs: torch method-of-lines vector fields, learned stencils and network terms trained through the
solver, their symbolic read-back, and learned coarse discretizations."""

from deepmod.pde.lines import EquationLines, Lines, LinesGrid
from deepmod.pde.method import UniversalPDEMethod, read_stencils
from deepmod.pde.universal import LearnedStencil, UniversalPDE

__all__ = [
    "EquationLines",
    "LearnedStencil",
    "Lines",
    "LinesGrid",
    "UniversalPDE",
    "UniversalPDEMethod",
    "read_stencils",
]
