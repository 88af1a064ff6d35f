"""``python -m sqlml_dagster.cli …``: the same as the ``sqlml`` console script."""

import sys

from . import main

sys.exit(main())
