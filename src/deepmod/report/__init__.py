"""Reporting: progress bars, TensorBoard logging and the self-contained HTML report (:func:`write`)."""

from deepmod.report.html import build_report, write

__all__ = ["build_report", "write"]
