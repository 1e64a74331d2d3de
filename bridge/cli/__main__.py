"""``python -m bridge.cli``: the ``bridge`` command, for a checkout without the console script."""

from bridge.cli import main

raise SystemExit(main())
