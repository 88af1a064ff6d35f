"""``python -m sqlml_dagster.runtime SPEC_URI`` — see :mod:`sqlml_dagster.runtime`."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
