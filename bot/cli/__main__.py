"""`python -m bot.cli …` runs the `cppcc-bot` command."""

import sys

from bot.cli.main import main

sys.exit(main())
