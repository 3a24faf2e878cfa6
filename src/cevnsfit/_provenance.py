"""Which source produced a result: the package version and, where it can be known, the git
revision, whatever the install mode (recorded in ``results.json``, ``versions``).

- running from a git checkout (editable install, ``PYTHONPATH=src``): ``git rev-parse HEAD``
  of the repository that tracks this very file, and whether the package folder has
  uncommitted changes (``git_dirty``);
- installed from a VCS URL (``pip install git+https://...``): the commit pip recorded in
  ``direct_url.json`` (PEP 610);
- any other install (``pip install .``, a wheel): the revision is not knowable honestly
  (the source folder may have changed since), so ``git_commit`` is ``None`` and
  ``revision_note`` says why; ``cevnsfit_version`` identifies the release.
"""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path


def _git(here: Path, *args: str) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def source_revision() -> dict:
    """``{"cevnsfit_version", "git_commit", "git_dirty", "revision_source", "revision_note"}``.

    >>> sorted(source_revision())
    ['cevnsfit_version', 'git_commit', 'git_dirty', 'revision_note', 'revision_source']
    """
    from . import __version__

    here = Path(__file__).resolve().parent
    out: dict = {
        "cevnsfit_version": __version__,
        "git_commit": None,
        "git_dirty": None,
        "revision_source": None,
        "revision_note": "",
    }
    # a git checkout only if git tracks this file (a venv inside some other repository does not count)
    if _git(here, "ls-files", "--error-unmatch", "__init__.py") is not None:
        commit = _git(here, "rev-parse", "HEAD")
        if commit:
            status = _git(here, "status", "--porcelain", "--", ".")
            out.update(
                git_commit=commit,
                git_dirty=bool(status) if status is not None else None,
                revision_source="git checkout",
            )
            if out["git_dirty"]:
                out["revision_note"] = "the package folder has uncommitted changes"
            return out
    try:
        direct = metadata.distribution("cevnsfit").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    info = json.loads(direct) if direct else {}
    commit = info.get("vcs_info", {}).get("commit_id")
    if commit:
        out.update(git_commit=commit, revision_source=f"pip install from {info.get('url')}")
        return out
    out["revision_note"] = (
        "installed without version-control information (not a git checkout, not a "
        f"VCS install): the source revision is unknown; cevnsfit {__version__} identifies it"
    )
    return out
