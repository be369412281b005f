"""``python -m deepmod``: the command-line interface, as the ``deepmod`` command."""

import sys

from deepmod.cli import main

sys.exit(main())
