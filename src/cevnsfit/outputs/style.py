"""Figure conventions: colour-blind-safe palette (Okabe-Ito), labelled axes with units,
atomic saving to PDF and PNG."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .._files import apply_umask

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]


@contextlib.contextmanager
def figure_style():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.rc_context(
        {
            "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
            "font.size": 9,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "savefig.dpi": 150,
            "hatch.linewidth": 0.5,  # hatches mark excluded regions in print without hiding what lies under them
        }
    ):
        yield


def save_figure(fig, path) -> None:
    """Save atomically (write to a temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        apply_umask(tmp)  # mkstemp makes 0600; figures get the user's usual mode
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
