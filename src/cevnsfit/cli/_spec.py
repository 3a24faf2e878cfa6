"""``--dataset-spec FILE``: a data set declared in one file (a projection, docs: datasets/format),
for ``cevnsfit predict``, ``fit`` and ``exclusion``.

The option reads and validates each file (errors name the file, the key and the allowed values),
registers the data set by its ``name`` for this process and passes the names on; each command
adds them to its ``--datasets`` combination(s) unless a combination already names them.
"""

from __future__ import annotations

import click


def _register(ctx, param, values) -> tuple[str, ...]:
    from ..datasets.registry import dataset_from_spec, register
    from ..errors import DeclarationError, ParameterError

    names = []
    for path in values or ():
        try:
            names.append(register(dataset_from_spec(path)))
        except (DeclarationError, ParameterError) as exc:
            raise click.BadParameter(str(exc), param_hint="--dataset-spec") from None
    return tuple(names)


def dataset_spec_option(f):
    """Add the repeatable ``--dataset-spec FILE`` to a click command (its value: the names)."""
    return click.option(
        "--dataset-spec",
        "dataset_specs",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        callback=_register,
        is_eager=True,  # registered before the EXPERIMENT argument is checked against the registry
        help="a data set declared in one file (e.g. a projection; docs: datasets/format); repeatable, "
        "added to the --datasets combination",
    )(f)


def with_specs(datasets: str, names) -> str:
    """``datasets`` (comma-separated) plus the spec names it does not list yet.

    >>> with_specs("csi2017,cenns10", ("coh_ar_750",))
    'csi2017,cenns10,coh_ar_750'
    >>> with_specs("coh_ar_750", ("coh_ar_750",))
    'coh_ar_750'
    """
    listed = [d.strip() for d in (datasets or "").split(",") if d.strip()]
    return ",".join(listed + [n for n in names if n not in listed])


def with_specs_sets(dataset_sets, names) -> tuple[str, ...]:
    """Each combination with the spec names, unless some combination already names a spec (then
    the user placed them: unchanged)."""
    named = {d.strip() for ds in dataset_sets for d in ds.split(",")}
    if not names or named & set(names):
        return tuple(dataset_sets)
    return tuple(with_specs(ds, names) for ds in dataset_sets)
