"""A made-up data set for cevnsfit, registered through the ``cevnsfit.datasets`` entry point."""

from pathlib import Path

#: The entry point's object: the path of the declaration.
DATASET = Path(__file__).resolve().parent / "dataset.yaml"
