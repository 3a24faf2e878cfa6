import os
from pathlib import Path

os.environ.setdefault("CEVNSFIT_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
os.environ.setdefault("MPLBACKEND", "Agg")
