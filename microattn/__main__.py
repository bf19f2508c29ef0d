"""``python -m microattn``: the same as the ``microattn`` command."""
import sys

from .cli import main

sys.exit(main())
