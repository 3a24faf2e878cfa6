"""Validation of command-line input, done before any work starts (issue 13).

Each helper raises :class:`click.BadParameter` / :class:`click.UsageError` naming the option
and what would have been accepted, so the user sees a one-line error and exit code 2, never
a traceback and never a long computation that fails at the end.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
from pathlib import Path

import click

#: Figure formats the ``--plot`` options accept (matplotlib writes each of them).
PLOT_EXTENSIONS = (".pdf", ".png", ".svg", ".eps", ".ps", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

#: Ratio to the SM above which ``predict`` warns: no perturbative model changes the CEvNS rate
#: by a factor of a million.
ABSURD_RATIO = 1e6

#: Seconds allowed to reach a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 5.0

_SCHEDULER_WORDS = ("local", "synchronous")
_ADDRESS = re.compile(
    r"^(?:(?P<proto>tcp|tls|ws|wss)://)?(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$"
)


def explicit(*names: str) -> list[str]:
    """The options among ``names`` (click parameter names) that the user gave on the command
    line or through the environment, as ``--option`` words (not those left at their defaults)."""
    ctx = click.get_current_context()
    out = []
    for name in names:
        src = ctx.get_parameter_source(name)
        if src is not None and src not in (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP):
            out.append("--" + name.replace("_", "-"))
    return out


#: Samplers that need an optional extra, and the extra's name (pyproject.toml).
SAMPLER_EXTRAS = {"dynesty": "dynesty"}


def sampler_extra(sampler: str, param: str = "--sampler") -> None:
    """Refuse, before any work, a sampler whose optional extra is not installed."""
    extra = SAMPLER_EXTRAS.get(sampler)
    if extra is None:
        return
    try:
        __import__(sampler)
    except ImportError:
        raise click.BadParameter(
            f"{sampler!r} needs the optional extra {extra!r}, which is not installed: pip install 'cevnsfit[{extra}]'",
            param_hint=param,
        ) from None


def large_grid(points: int, what: str) -> None:
    """Warn on stderr, before the work starts, about a grid of more than
    :data:`cevnsfit.progress.LARGE_GRID_POINTS` likelihood evaluations."""
    from ..progress import warn_large

    warn_large(points, what)


def large_toys(n: int, what: str) -> None:
    """Warn on stderr, before the work starts, about more than
    :data:`cevnsfit.progress.LARGE_TOYS` toy fits."""
    from .. import progress

    progress.warn_large(n, what, progress.LARGE_TOYS, unit="toy fits")


def datasets_option(value: str, param: str = "--datasets") -> str:
    """A comma-separated dataset list with at least one name (unknown names are refused by
    :func:`cevnsfit.likelihood`, which knows each mode's names)."""
    from ..likelihoods import DATASETS

    names = [d.strip() for d in (value or "").split(",") if d.strip()]
    if not names:
        raise click.BadParameter(
            f"no dataset given (got {value!r}); choose one or more of: {', '.join(DATASETS)} (comma-separated)",
            param_hint=param,
        )
    return ",".join(names)


def plot_path(path: str | None, param: str = "--plot") -> str | None:
    """``path`` if its suffix is a supported figure format and its folder can be written."""
    if path is None:
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_EXTENSIONS:
        raise click.BadParameter(
            f"unsupported figure format {suffix or '(no extension)'!r} in {path!r}; "
            f"use one of: {', '.join(PLOT_EXTENSIONS)}",
            param_hint=param,
        )
    _writable_dir(Path(path).resolve().parent, param)
    return path


def _writable_dir(folder: Path, param: str) -> None:
    """``folder`` exists and is writable, or it can be created (its nearest existing parent is a
    writable directory)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise click.BadParameter(f"{probe} is not a directory, so {folder} cannot be created", param_hint=param)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{probe} is not writable, so nothing can be written to {folder}", param_hint=param)


def scheduler_address(
    value: str | None, param: str = "--scheduler", timeout: float = SCHEDULER_TIMEOUT_S
) -> str | None:
    """A Dask scheduler address that answers within ``timeout`` seconds.

    Accepts ``None`` (embedded cluster), ``local``, ``synchronous`` and ``[tcp|tls|ws|wss://]host:port``
    (``docs/cluster.md``); a bare ``host:port`` becomes ``tcp://host:port``. The TCP port is
    opened once to check that something listens there.
    """
    if value is None or value in _SCHEDULER_WORDS:
        return value
    m = _ADDRESS.match(value.strip())
    if not m or not 0 < int(m["port"]) < 65536:
        raise click.BadParameter(
            f"{value!r} is not a scheduler address; expected tcp://HOST:PORT (also tls://, "
            f"ws://, wss://), or one of {', '.join(_SCHEDULER_WORDS)} (see docs/cluster.md)",
            param_hint=param,
        )
    host, port = m["host"].strip("[]"), int(m["port"])
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise click.BadParameter(
            f"cannot reach a scheduler at {value!r} within {timeout:g} s ({reason}); is "
            "`dask scheduler` running there and is the port open? (see docs/cluster.md)",
            param_hint=param,
        ) from None
    address = value.strip() if m["proto"] else f"tcp://{value.strip()}"
    try:  # something listens: check that it speaks the Dask protocol (a proxy or web server does not)
        import distributed

        distributed.Client(address, timeout=timeout).close()
    except Exception as exc:  # noqa: BLE001 - whatever answers there, it is not a usable scheduler
        raise click.BadParameter(
            f"{value!r} answers but is not a usable Dask scheduler within {timeout:g} s "
            f"({type(exc).__name__}: {str(exc)[:200]}); see docs/cluster.md",
            param_hint=param,
        ) from None
    return address


def bound_files(paths, param: str = "--bound") -> tuple:
    """Parse every user limit curve now, so a garbage file fails before any work."""
    from ..data.loaders import load_limit_curve
    from ..errors import CevnsfitError

    for p in paths:
        try:
            mass, g = load_limit_curve(Path(p))
        except CevnsfitError as exc:
            raise click.BadParameter(
                f"{p}: {exc} (expected the DarkCast .lmt format: '#' header lines, then "
                "two columns: mass [GeV] and the smallest excluded g_x)",
                param_hint=param,
            ) from None
        if mass.size == 0 or not (mass > 0).all() or not (g[~(g != g)] > 0).all():
            raise click.BadParameter(
                f"{p}: masses and couplings must be > 0 (DarkCast .lmt format: mass [GeV], g_x)", param_hint=param
            )
    return tuple(paths)


#: Files and folders written by ``cevnsfit reproduce`` into its output folder.
REPRODUCE_OUTPUTS = ("results.json", "report.md", "report.html", "figures", "checkpoints", "run.json")


def reproduce_out_dir(out_dir: str, overwrite: bool, resume: bool, settings: dict) -> Path:
    """Prepare ``reproduce``'s output folder before any work.

    - a missing or empty folder is created (its parent must be writable);
    - a non-empty folder needs ``--resume`` (reuse finished steps; refused if the folder holds
      a run with other settings) or ``--overwrite`` (delete the previous results first;
      refused if the folder does not look like a ``reproduce`` output, so that a mistyped
      ``--out $HOME`` never deletes anything).

    ``settings`` (quick, mode, sampler, seed) are written to ``run.json``.
    """
    if overwrite and resume:
        raise click.UsageError(
            "--overwrite and --resume exclude each other: --resume reuses the results in "
            "--out, --overwrite deletes them"
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise click.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
    _writable_dir(out, "--out")
    contents = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if contents:
        ours = [c for c in contents if c in REPRODUCE_OUTPUTS]
        if not (overwrite or resume):
            raise click.UsageError(
                f"--out {out} is not empty ({len(contents)} entries, e.g. {contents[0]!r}); "
                "pass --resume to reuse its finished steps, --overwrite to delete the previous "
                "results first, or choose another folder"
            )
        if overwrite:
            foreign = [c for c in contents if c not in REPRODUCE_OUTPUTS]
            if not ours or foreign:
                raise click.UsageError(
                    f"--overwrite refused: {out} holds files that `cevnsfit reproduce` did not "
                    f"write ({', '.join(map(repr, foreign[:5]))}); delete them yourself or "
                    "choose another folder"
                )
            for c in ours:
                p = out / c
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        if resume:
            previous = _previous_settings(out)
            if previous is not None:
                diff = {k: (previous.get(k), v) for k, v in settings.items() if previous.get(k) != v}
                if diff:
                    what = ", ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in diff.items())
                    raise click.UsageError(
                        f"--resume refused: {out} holds a run with other settings ({what}); "
                        "use the same settings, --overwrite, or another folder"
                    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        from ..outputs.io import write_json_atomic

        write_json_atomic(out / "run.json", {"command": "reproduce", **settings})
    except OSError as exc:
        raise click.BadParameter(f"cannot write to {out}: {exc.strerror or exc}", param_hint="--out") from None
    return out


def _previous_settings(out: Path) -> dict | None:
    for name, key in (("run.json", None), ("results.json", "settings")):
        try:
            data = json.loads((out / name).read_text())
        except (OSError, ValueError):
            continue
        if key is not None:
            data = data.get(key, {})
        if isinstance(data, dict):
            return data
    return None


def warn_absurd_prediction(summary: dict) -> None:
    """Warn on stderr when a prediction is ``ABSURD_RATIO`` times the SM or more."""
    ratio = summary.get("ratio_to_sm")
    if ratio is not None and math.isfinite(ratio) and ratio >= ABSURD_RATIO:
        click.echo(
            f"warning: the prediction is {ratio:.3g} times the SM; a change of the CEvNS rate by more than "
            f"{ABSURD_RATIO:.0e} lies outside any perturbative model (check --gx and --mzp)",
            err=True,
        )
