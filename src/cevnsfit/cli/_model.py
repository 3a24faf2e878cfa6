"""Model selection on the command line: ``--model NAME --param KEY=VALUE --poi KEY``.

``--mzp``, ``--gx`` and ``--r`` keep working for the L_mu - L_tau model (the reference
analysis's): they mean ``--param mzp_mev=.. --param gx=.. --param r=..``; with ``b-l`` or
``universal`` ``--gx`` is their coupling ``g``. Without ``--model`` a command that is given
``--mzp``/``--gx`` uses ``lmu-ltau`` (it never silently predicts the SM).
"""

from __future__ import annotations

import click

from ..errors import ParameterError, UnknownNameError

LEGACY_DEFAULT = "lmu-ltau"


def model_options(f):
    """Add --model, --param, --mzp, --gx, --r, --paper-sign to a click command."""
    f = click.option("--paper-sign", is_flag=True, help="lmu-ltau: the printed sign of the loop logarithm")(f)
    f = click.option("--r", type=float, default=None, help="lmu-ltau: r = m_stau/m_smu (default 1)")(f)
    f = click.option("--gx", type=float, default=None, help="lmu-ltau: coupling g_x (b-l, universal: g)")(f)
    f = click.option("--mzp", type=float, default=None, help="mediator mass M_Z' [MeV]")(f)
    f = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="a model parameter (repeatable); see `cevnsfit models`",
    )(f)
    f = click.option(
        "--model",
        "model_name",
        default=None,
        help="model name from `cevnsfit models` ('+' combines: lmu-ltau+neutron-radius)",
    )(f)
    return f


def poi_option(f):
    return click.option(
        "--poi", "poi", multiple=True, metavar="KEY", help="parameter of interest (repeatable, at most two)"
    )(f)


def parse_params(params) -> dict:
    out = {}
    for item in params:
        if "=" not in item:
            raise ParameterError(f"--param takes KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        k = k.strip()
        try:
            out[k] = float(v)
        except ValueError:
            raise ParameterError(f"--param {k}: {v!r} is not a number") from None
    return out


def resolve(model_name, params, mzp, gx, r, paper_sign, default: str | None = None) -> tuple[str, dict, dict]:
    """(model name, parameter values, constructor options) from the CLI words."""
    values = parse_params(params)
    legacy = {k: v for k, v in (("mzp", mzp), ("gx", gx), ("r", r)) if v is not None}
    name = model_name or (LEGACY_DEFAULT if legacy or paper_sign else default)
    if name is None:
        raise click.UsageError("give --model NAME (see `cevnsfit models`)")
    from ..models import ALIASES, parameters_of

    key = ALIASES.get(name, name)
    names = {p.name for p in parameters_of(name)}
    mapping = {"mzp": "mzp_mev", "gx": "gx" if "gx" in names else "g", "r": "r"}
    for k, v in legacy.items():
        target = mapping[k]
        if target not in names:
            raise UnknownNameError(
                f"--{k} does not apply to model {name!r}; its parameters: {', '.join(sorted(names))}"
            )
        if target in values:
            raise ParameterError(f"{target} given twice (--{k} and --param {target}=...)")
        values[target] = v
    options = {}
    if paper_sign:
        if "lmu-ltau" not in key.split("+"):
            raise UnknownNameError(f"--paper-sign applies to lmu-ltau only, not {name!r}")
        options["paper_sign"] = True
    return name, values, options


def check_poi(poi, name: str, at_most: int = 2, at_least: int = 1) -> tuple[str, ...]:
    from ..models import parameters_of

    allowed = [p.name for p in parameters_of(name)]
    for p in poi:
        if p not in allowed:
            raise UnknownNameError(f"--poi {p!r} is not a parameter of {name!r}; allowed: {', '.join(allowed)}")
    if not at_least <= len(poi) <= at_most:
        raise ParameterError(f"give {at_least}..{at_most} --poi (got {len(poi)}); {name!r} has: {', '.join(allowed)}")
    return tuple(poi)
