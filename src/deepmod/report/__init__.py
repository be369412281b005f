"""Reporting: progress bars, TensorBoard logging and the self-contained HTML report."""
