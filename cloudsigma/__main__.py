"""``python -m cloudsigma``: the ``cloudsigma`` command line."""

import sys

from cloudsigma.cli import main

sys.exit(main())
