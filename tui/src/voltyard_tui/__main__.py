"""Allow ``python -m voltyard_tui``."""

import sys

from voltyard_tui.app import main

if __name__ == "__main__":
    sys.exit(main())
