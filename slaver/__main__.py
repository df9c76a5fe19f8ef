"""``python -m slaver --robot NAME ...``: see ``slaver.cli``."""

from slaver.cli import main

raise SystemExit(main())
