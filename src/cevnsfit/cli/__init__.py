"""Command-line interface: a thin layer, each command one library call.

Subcommands live in sibling modules and register themselves on :data:`main`.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """cevnsfit's own warnings as one ``warning: ...`` line on stderr (each text once)."""
    from cevnsfit.inference.checks import CevnsfitWarning

    text = str(message)
    if not issubclass(category, CevnsfitWarning):
        _ORIGINAL_SHOWWARNING(message, category, filename, lineno, file, line)
        return
    if text not in _SHOWN:
        _SHOWN.add(text)
        click.echo(f"warning: {text}", err=True)


_ORIGINAL_SHOWWARNING: Any = None
_SHOWN: set[str] = set()


def _interrupted_message() -> str:
    """One line after Ctrl-C: what a checkpointed scan left on disk, if one was running."""
    from cevnsfit.inference.scan import INTERRUPTED

    if INTERRUPTED:
        i = INTERRUPTED
        return (
            f"interrupted: checkpoint {i['folder']} holds {i['done']} of {i['total']} {i['unit']}; "
            "run the same command again to resume"
        )
    return "interrupted: nothing was saved (use --checkpoint DIR where offered to make a run resumable)"


class _Group(click.Group):
    """Turns the errors cevnsfit raises on purpose (and OS errors such as an unwritable output
    path) into ``error: ...`` on stderr and exit code 2, never a traceback; cevnsfit's warnings
    into ``warning: ...`` lines; Ctrl-C into one line with the checkpoint's state (exit 130)."""

    def invoke(self, ctx: click.Context):
        import warnings

        from cevnsfit.errors import CevnsfitError

        global _ORIGINAL_SHOWWARNING
        try:
            with warnings.catch_warnings():
                _ORIGINAL_SHOWWARNING = warnings.showwarning
                warnings.showwarning = _show_warning
                _SHOWN.clear()
                from cevnsfit.inference.checks import CevnsfitWarning

                warnings.simplefilter("always", CevnsfitWarning)
                from cevnsfit.progress import heartbeat

                words = [*getattr(ctx, "_protected_args", []), *ctx.args]  # the subcommand's name first
                with heartbeat(f"cevnsfit {words[0] if words else ''}".strip()):
                    return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo(_interrupted_message(), err=True)
            ctx.exit(130)
        except ImportError as exc:
            if "optional extra" not in str(exc):  # a broken installation: keep the traceback
                raise
            click.echo(f"error: {exc}", err=True)  # e.g. "sampler='dynesty' needs the optional extra: ..."
            ctx.exit(2)
        except (CevnsfitError, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, CevnsfitError) and exc.filename:
                msg = f"cannot access {exc.filename}: {exc.strerror or exc}"
            else:
                msg = str(exc)
            click.echo(f"error: {msg}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cevnsfit")
def main() -> None:
    """cevnsfit: new-physics models against CEvNS data (COHERENT CsI and argon, XENONnT solar 8B)."""


# Each module adds its commands to `main` on import.
for _mod in ("data", "datasets", "physics", "crosscheck", "inference", "reproduce", "warmup", "export"):
    try:
        importlib.import_module(f"cevnsfit.cli.{_mod}")
    except ModuleNotFoundError as exc:  # a layer not built yet
        if exc.name != f"cevnsfit.cli.{_mod}":
            raise
