"""Error types shared by every room: user-facing input errors carry a message that says what to do next."""

from __future__ import annotations

from typing import Any


class DeepmodError(Exception):
    """Base class of all errors raised deliberately by deepmod."""


class InputError(DeepmodError, ValueError):
    """The user's data, file or options cannot be used as given.

    The message is one sentence saying what is wrong and how to fix it; the CLI prints it on one line
    and exits with status 2. ``options`` names the settings (Python parameter names such as
    ``"poly_order"``) that fix it; the CLI adds the matching flags to the message, so library code never
    quotes the command line.
    """

    def __init__(self, message: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class FitFailed(DeepmodError):
    """A method ran but found no model it can stand behind; ``result`` holds the best finite one it has
    (written when an output file was asked for), its warnings saying what it is."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class DeepmodWarning(UserWarning):
    """Something the user should know about a result or an input that deepmod used anyway.

    ``options`` names the settings that would change it, as :class:`InputError`'s do; the CLI prints the
    message on one line of stderr with their flags.
    """

    def __init__(self, message: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.options = options


class MissingDependencyError(DeepmodError, ImportError):
    """An optional dependency is needed for this feature; the message names the extra to install."""


def require(module: str, extra: str) -> Any:
    """Import an optional module, or raise :class:`MissingDependencyError` naming the pip extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this feature needs the optional package '{module}': install it with `pip install 'deepmod[{extra}]'`"
        ) from exc
