"""`python -m alert_sink [PORT]` (in its image) or `python -m monitoring.alert_sink [PORT]`."""

from __future__ import annotations

import sys

from . import main

main(sys.argv)
