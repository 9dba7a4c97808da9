"""`python -m graphkeras`: the same command as `graphkeras`."""

import sys

from .cli import main

sys.exit(main())
