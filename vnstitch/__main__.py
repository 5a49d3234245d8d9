"""``python -m vnstitch ...``: the same commands as the ``vnstitch`` script."""

from vnstitch.northbound.cli import main

raise SystemExit(main())
