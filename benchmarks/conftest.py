"""Point the package at the local copy of the public data unless the caller already did
(a relative CEVNSFIT_DATA is made absolute, so tests that change directory still find it)."""

import os
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
os.environ["CEVNSFIT_DATA"] = str(Path(os.environ.get("CEVNSFIT_DATA", DEFAULT_DATA)).resolve())
os.environ.setdefault("MPLBACKEND", "Agg")
