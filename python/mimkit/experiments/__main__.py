"""``python -m mimkit.experiments sweep|plot|list``."""

import sys

from .cli import main

sys.exit(main())
