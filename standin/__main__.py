"""``python -m standin``: serve CBS mirror folders on a loopback address (see :mod:`standin`)."""

import sys

from .v3 import main

sys.exit(main())
