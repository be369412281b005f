"""The command line's exit codes, besides 0 (done) and 1 (a fit failed)."""

EXIT_USAGE = 2
"""Bad input: a wrong option, a file that is not data, a term that cannot be evaluated."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C or SIGTERM (the state saved where the command checkpoints)."""
