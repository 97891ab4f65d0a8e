"""`python -m faqbot`: the command line."""

import sys

from faqbot.cli import app

sys.exit(app())
