"""Point the package at the local copy of the public data unless the caller already did."""

import os
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
os.environ.setdefault("CEVNSFIT_DATA", str(DEFAULT_DATA))
os.environ.setdefault("MPLBACKEND", "Agg")
