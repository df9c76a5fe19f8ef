"""`python -m brain.server`: the same as `roboos brain serve`."""

import sys

from brain.server.cli import main

sys.exit(main())
