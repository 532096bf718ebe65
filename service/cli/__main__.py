"""`python -m service.cli`: the `footnote` command without the installed script."""

import sys

from service.cli.commands import main

sys.exit(main())
