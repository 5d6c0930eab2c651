"""``python -m collapse_utils``: see :mod:`collapse_utils.cli`."""

from .cli import main

raise SystemExit(main())
