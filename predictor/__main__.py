"""``python -m predictor ...``: the predictor commands without the rest of the CLI."""

import sys

from predictor.cli import main

sys.exit(main())
