"""``python -m skills.sim``: run one simulated robot's skill server (see skills/sim/cli.py)."""

import sys

from skills.sim.cli import main

sys.exit(main())
