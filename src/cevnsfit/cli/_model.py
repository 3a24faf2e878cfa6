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


def poi_option(f=None, at_most: int = 2):
    """``--poi KEY`` (repeatable up to ``at_most`` times); ``@poi_option`` or ``@poi_option(at_most=1)``."""

    def deco(g):
        text = "exactly one" if at_most == 1 else f"repeatable, at most {at_most}"
        return click.option(
            "--poi",
            "poi",
            multiple=True,
            metavar="KEY",
            help=f"parameter of interest ({text}); a POI is estimated, so it takes no value",
        )(g)

    return deco(f) if f is not None else deco


#: Factor outside a log-uniform prior range beyond which a given value draws a warning.
ABSURD_FACTOR = 1e3


def parse_params(params) -> dict:
    out: dict = {}
    raw: dict = {}
    for item in params:
        if "=" not in item:
            raise ParameterError(f"--param takes KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        k = k.strip()
        if k in out:
            raise ParameterError(
                f"--param {k} given twice ({k}={raw[k]} and {k}={v.strip()}); give each parameter once"
            )
        try:
            out[k] = float(v)
        except ValueError:
            raise ParameterError(f"--param {k}: {v!r} is not a number") from None
        raw[k] = v.strip()
    return out


def source_of(key: str, mzp, gx, r) -> str:
    """The option that gave parameter ``key`` (for messages)."""
    for opt, value, targets in (("--mzp", mzp, ("mzp_mev",)), ("--gx", gx, ("gx", "g")), ("--r", r, ("r",))):
        if value is not None and key in targets:
            return f"{opt} {value:g}"
    return f"--param {key}=..."


def refuse_poi_values(values: dict, poi, mzp=None, gx=None, r=None, explicit: bool = True) -> None:
    """A parameter of interest is estimated: a value given for it would be ignored, so refuse,
    naming the option that gave the value and the POI (``explicit``: the user gave ``--poi``)."""
    given = [k for k in poi if k in values]
    if given:
        k = given[0]
        src = source_of(k, mzp, gx, r).replace("=...", f"={values[k]:g}")
        why = f"--poi {k}" if explicit else "the command's default parameter of interest; choose others with --poi"
        raise click.UsageError(
            f"{src} sets {k}, which is a parameter of interest ({why}): it is estimated, so the value "
            f"would be ignored; drop {src.split(' ')[0]}" + (f" or --poi {k}" if explicit else "")
        )


def fill_defaults(name: str, values: dict, poi) -> dict:
    """``values`` plus the declared default of every parameter the model needs and nobody gave
    (not a POI), announced on stderr (issue 22: declared defaults mean what `cevnsfit models` says)."""
    from ..inference.checks import declared_defaults, describe_defaults

    filled = declared_defaults(name, tuple(poi), values)
    if filled:
        click.echo(
            f"note: not given: {', '.join(filled)}; using the declared default"
            f"{'s' if len(filled) > 1 else ''} {describe_defaults(name, filled)} (see `cevnsfit models`)",
            err=True,
        )
    return {**values, **filled}


def warn_absurd(name: str, values: dict) -> None:
    """Warn on stderr about an allowed value more than :data:`ABSURD_FACTOR` outside the declared
    prior range of a log-uniform parameter (e.g. ``--r 1e-300``)."""
    from ..models import parameters_of
    from ..models.parameters import lookup

    pars = parameters_of(name)
    for k, v in values.items():
        try:
            p = lookup(pars, k)
        except UnknownNameError:
            continue
        if not p.log_scale or v == 0:
            continue
        a = abs(v)
        if a < p.prior_low / ABSURD_FACTOR or a > p.prior_high * ABSURD_FACTOR:
            unit = f" {p.unit}" if p.unit else ""
            click.echo(
                f"warning: {k} = {v:g}{unit} is more than {ABSURD_FACTOR:g} times outside its prior range "
                f"[{p.prior_low:g}, {p.prior_high:g}]{unit} ({p.description}); allowed, but check the value",
                err=True,
            )


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
    unknown = sorted(set(values) - names)
    if unknown:
        raise UnknownNameError(
            f"--param {unknown[0]}: not a parameter of model {name!r}"
            + (f" (parameters: {', '.join(sorted(names))})" if names else " (it has no parameters)")
            + ("; give --model NAME" if model_name is None else "")
        )
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
    warn_absurd(name, values)
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
