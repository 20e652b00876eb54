"""``python -m portfolio.cli``: the same as the ``portfolio`` command."""

import sys

from portfolio.cli import main

sys.exit(main())
