"""Allow ``python -m voltyard_tui``."""

import sys

from voltyard_tui.cli import main

if __name__ == "__main__":
    sys.exit(main())
