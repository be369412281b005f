"""``python -m deepmod.cli``: the command line."""

import sys

from deepmod.cli import main

sys.exit(main())
