"""Reporting: progress display now; plots and the HTML report later."""
