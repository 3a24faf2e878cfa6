"""File-system helpers shared by every layer.

Atomic writes go through :func:`tempfile.mkstemp`, which creates files with mode 0600
whatever the umask; :func:`apply_umask` gives the final file the mode an ordinary
``open(path, "w")`` would (``0o666 & ~umask``), so results can be shared as usual.
"""

from __future__ import annotations

import os
import threading

_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _LOCK:  # elsewhere: set and restore (the only portable way to read it)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """``0o666 & ~umask``: the mode of a file created by ``open(path, "w")``.

    >>> default_file_mode() & ~0o666
    0
    """
    return 0o666 & ~current_umask()


def apply_umask(fd_or_path) -> None:
    """Give a file made by :func:`tempfile.mkstemp` (mode 0600) the umask's default mode."""
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, default_file_mode())
    else:
        os.chmod(fd_or_path, default_file_mode())
