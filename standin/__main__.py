"""``python -m standin``: serve CBS mirror folders on a loopback address (see :mod:`standin.cli`)."""

import sys

from .cli import main

sys.exit(main())
