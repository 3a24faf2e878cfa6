"""Data-set declarations: load, validate and check a ``dataset.yaml`` (docs: datasets/format).

A declaration (format ``cevnsfit-dataset/1``) is validated against the JSON Schema
``dataset.schema.json`` (draft 2020-12) and then by semantic checks the schema cannot express
(binning against data length, template shapes, modifier requirements, conflicting constraints
of one nuisance name, known isotopes and response components). Every problem raises
:class:`~cevnsfit.errors.DeclarationError` naming the file, the key path and the allowed
values, before anything is computed.

>>> load({"format": "cevnsfit-dataset/1", "nme": "demo"}, source="demo.yaml")
Traceback (most recent call last):
...
cevnsfit.errors.DeclarationError: demo.yaml: (top level): unknown key 'nme'; allowed: docs, experiment, exposures, format, kind, likelihood, modes, name, nuisances, options, published, references, release, title, validation
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..data.registry import yaml_loader
from ..errors import DeclarationError

FORMAT = "cevnsfit-dataset/1"
#: Key under which :func:`load` records where a declaration came from (not part of the format).
SOURCE_KEY = "_source"


@cache
def schema() -> dict:
    """The JSON Schema of the format (read once)."""
    text = resources.files(__package__).joinpath("dataset.schema.json").read_text()
    return json.loads(text)


def import_object(spec: str):
    """The object named by ``"package.module:attribute"`` (a code builder or backend).

    >>> import_object("cevnsfit.declaration:load") is load
    True
    """
    import importlib

    module, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise DeclarationError(f"cannot import {spec!r} (module:attribute): {exc}") from None


def key_path(parts) -> str:
    """``["likelihood", "full", "channels", 0]`` -> ``likelihood.full.channels[0]``.

    >>> key_path(["likelihood", "full", "modifiers", 2, "constraint", "type"])
    'likelihood.full.modifiers[2].constraint.type'
    """
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def fail(source, path, message: str):
    """Raise :class:`DeclarationError` ``"<file>: <key path>: <message>"``."""
    where = key_path(path) if not isinstance(path, str) else path
    raise DeclarationError(f"{source or '<declaration>'}: {where}: {message}")


def _deepest(error):
    """The most specific error of a oneOf/anyOf failure: the branch that got furthest."""
    from jsonschema.exceptions import best_match

    while error.context:
        # prefer the branch whose failure lies deepest in the instance (it matched the most)
        deepest = max(len(e.absolute_path) for e in error.context)
        cands = [e for e in error.context if len(e.absolute_path) == deepest]
        nxt = best_match(cands)
        if nxt is None or (len(nxt.absolute_path) <= len(error.absolute_path) and nxt.validator in ("const",)):
            break
        error = nxt
    return error


def _schema_message(error) -> str:
    v, val, inst = error.validator, error.validator_value, error.instance
    if v == "enum":
        return f"{inst!r} is not allowed; allowed: {', '.join(map(repr, val))}"
    if v == "const":
        return f"{inst!r} is not allowed; allowed: {val!r}"
    if v == "required":
        missing = [k for k in val if k not in inst]
        return f"missing required key {missing[0]!r}; required: {', '.join(val)}"
    if v == "additionalProperties" and val is False:
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(inst) - set(allowed))
        return f"unknown key {extra[0]!r}; allowed: {', '.join(allowed)}"
    if v == "propertyNames":
        return f"{error.message}; allowed: {', '.join(map(repr, error.schema['propertyNames'].get('enum', [])))}"
    if v == "type":
        return f"must be of type {val}, got {type(inst).__name__} {inst!r}"
    if v in ("exclusiveMinimum", "minimum"):
        op = ">" if v == "exclusiveMinimum" else ">="
        return f"must be {op} {val}, got {inst!r}"
    if v in ("exclusiveMaximum", "maximum"):
        op = "<" if v == "exclusiveMaximum" else "<="
        return f"must be {op} {val}, got {inst!r}"
    if v == "pattern":
        return f"{inst!r} does not match the pattern {val!r}"
    if v == "oneOf":
        return f"{inst!r} matches none of the allowed forms: {error.schema.get('description', '')}"
    return error.message


def validate_schema(decl: dict, source=None) -> None:
    """Validate ``decl`` against the JSON Schema; the first error as :class:`DeclarationError`."""
    import jsonschema
    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(schema())
    error = best_match(validator.iter_errors(decl))
    if error is None:
        return
    error = _deepest(error)
    fail(source, list(error.absolute_path), _schema_message(error))


def _read(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise DeclarationError(f"{path}: cannot read the declaration ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=yaml_loader()) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise DeclarationError(f"{path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DeclarationError(f"{path}: (top level): must be a mapping of keys, got {type(data).__name__}")
    return data


def load(path_or_dict, source=None) -> dict:
    """Read (a path) or take (a dict) a declaration, validate it and return it as a dict.

    The returned dict is a deep copy with ``"_source"`` set to the file (or ``source``);
    errors are :class:`~cevnsfit.errors.DeclarationError` naming the file, the key path and
    the allowed values.
    """
    if isinstance(path_or_dict, dict):
        decl = copy.deepcopy(path_or_dict)
        src = source or decl.pop(SOURCE_KEY, None) or "<declaration>"
    else:
        path = Path(path_or_dict)
        decl = _read(path)
        src = source or str(path)
    decl.pop(SOURCE_KEY, None)
    validate_schema(decl, src)
    check(decl, src)
    decl[SOURCE_KEY] = str(src)
    return decl


# ---------------------------------------------------------------------------------------------
# semantic checks
# ---------------------------------------------------------------------------------------------


def observable_edges(binning: dict) -> np.ndarray:
    """Bin edges of a declared ``binning`` (explicit ``edges`` or ``start``/``stop``/``width``).

    >>> observable_edges({"start": 25, "stop": 40, "width": 5}).tolist()
    [25.0, 30.0, 35.0, 40.0]
    """
    if "edges" in binning:
        return np.asarray(binning["edges"], dtype=float)
    start, stop, width = (float(binning[k]) for k in ("start", "stop", "width"))
    return np.arange(start, stop + 1e-9 * width, width)


def template_length(tmpl: Any) -> int | None:
    """Bins of an inline template (None for a reference resolved at build time)."""
    if isinstance(tmpl, dict) and "counts" in tmpl and isinstance(tmpl["counts"], list):
        return len(tmpl["counts"])
    return None


def constraint_key(mod: dict) -> tuple:
    """What must agree between two uses of one nuisance name: type and constraint."""
    c = mod.get("constraint") or {}
    kind = (
        mod["type"]
        if mod["type"] in ("histosys", "normfactor", "gridsys", "staterror", "shapesys", "shapefactor")
        else "norm"
    )
    return (kind, c.get("type"), constraint_width(c))


#: The ways a constraint gives its width (docs: datasets/format).
WIDTH_KEYS = ("sigma", "sigma_record", "relative_record", "sigma_count")


def constraint_width(c: dict):
    """A constraint's width as declared: the number ``sigma``, else ``key=value`` of the other
    width keys (a record or a count, resolved when the likelihood is built), or None."""
    for k in WIDTH_KEYS:
        if k in c:
            return c[k] if k == "sigma" else f"{k}={c[k]}"
    return None


def _check_grid_widths(mod: dict, mpath: list, src) -> None:
    """A gridsys parameter's constraint is in the parameter's units: a number ``sigma`` only."""
    for i, prm in enumerate(mod.get("grid", {}).get("parameters", [])):
        c = prm.get("constraint") or {}
        other = [k for k in WIDTH_KEYS[1:] if k in c]
        if other:
            fail(
                src,
                mpath + ["grid", "parameters", i, "constraint", other[0]],
                "a gridsys parameter's constraint takes a number 'sigma' (allowed: sigma)",
            )


def _check_experiment(exp: dict, src) -> int | None:
    """Semantic checks of a declared experiment; returns its number of bins (None for code)."""
    from ..constants import ISOTOPES

    if "builder" in exp or "of" in exp:
        return None
    base = ["experiment"]
    for i, tgt in enumerate(exp["targets"]):
        for iso in tgt["composition"]:
            if iso not in ISOTOPES:
                fail(
                    src,
                    base + ["targets", i, "composition", iso],
                    f"unknown nucleus {iso!r}; known: {', '.join(sorted(ISOTOPES))}",
                )
        rn = tgt.get("rn_fm")
        if isinstance(rn, dict):
            for iso in rn:
                if iso not in tgt["composition"]:
                    fail(
                        src,
                        base + ["targets", i, "rn_fm", iso],
                        f"{iso!r} is not in the composition; allowed: {', '.join(tgt['composition'])}",
                    )
    edges = observable_edges(exp["observable"]["binning"])
    if edges.size < 2 or not np.all(np.diff(edges) > 0):
        fail(
            src,
            base + ["observable", "binning"],
            f"bin edges must be strictly increasing with at least one bin, got {edges.tolist()}",
        )
    from ..experiments.declared import check_response

    check_response(exp.get("response", []), exp["observable"]["unit"], src, base + ["response"])
    from ..experiments.declared import check_anchors

    check_anchors(exp, src, base)
    return edges.size - 1


def _check_likelihood(mode: str, lk: dict, n_exp_bins: int | None, src, kind: str) -> None:
    base = ["likelihood", mode]
    uses: dict[str, tuple] = {}
    stat_of: dict[int, tuple] = {}
    total_bins = 0
    for c, ch in enumerate(lk["channels"]):
        cpath = base + ["channels", c]
        n_bins = ch.get("bins")
        if n_bins is None and len(lk["channels"]) == 1:
            n_bins = n_exp_bins
        n_bins = _check_channel_data(lk, ch, cpath, n_bins, src)
        signals = [s for s in ch["samples"] if "signal" in s]
        if len(signals) > 1:
            fail(src, cpath + ["samples"], "at most one signal sample per channel")
        names = [s["name"] for s in ch["samples"]]
        if len(set(names)) != len(names):
            fail(src, cpath + ["samples"], f"sample names must be unique, got {names}")
        for s, smp in enumerate(ch["samples"]):
            spath = cpath + ["samples", s]
            if ("signal" in smp) == ("template" in smp):
                fail(src, spath, "a sample has exactly one of 'signal' (allowed: cevns) or 'template'")
            if "template" in smp:
                n_t = template_length(smp["template"])
                if n_t is not None and n_bins is not None and n_t != n_bins:
                    fail(
                        src,
                        spath + ["template", "counts"],
                        f"template of {n_t} bins for a channel of {n_bins} bins (wrong shape)",
                    )
            for m, mod in enumerate(smp.get("modifiers", [])):
                _check_modifier(lk, smp, mod, spath + ["modifiers", m], c, n_bins, stat_of, uses, src)
        total_bins += n_bins or 0
    if n_exp_bins is not None and all("bins" in ch for ch in lk["channels"]) and total_bins != n_exp_bins:
        fail(src, base + ["channels"], f"the channels hold {total_bins} bins, the experiment's binning {n_exp_bins}")


def _check_channel_data(lk: dict, ch: dict, cpath: list, n_bins: int | None, src) -> int | None:
    """A channel's observed data: one count per bin, integers (or no Asimov data) when marginalised."""
    data_len = template_length(ch["data"]) if "counts" in ch["data"] else None
    if data_len is not None:
        counts = np.asarray(ch["data"]["counts"], dtype=float)
        if n_bins is not None and data_len != n_bins:
            fail(
                src,
                cpath + ["data", "counts"],
                f"{data_len} counts for a binning of {n_bins} bins; give one count per bin",
            )
        if lk.get("treatment") == "marginalised" and np.any(counts != np.round(counts)):
            fail(
                src,
                cpath + ["data", "counts"],
                "the marginalised (per-bin Gaussian-smeared Poisson) likelihood needs integer counts",
            )
        n_bins = n_bins or data_len
    if "asimov" in ch["data"] and lk.get("treatment") == "marginalised":
        fail(
            src,
            cpath + ["data"],
            "Asimov data are not integer counts: use treatment 'profiled' (allowed: profiled, marginalised with integer counts)",
        )
    return n_bins


def _check_modifier(
    lk: dict, smp: dict, mod: dict, mpath: list, c: int, n_bins: int | None, stat_of: dict, uses: dict, src
) -> None:
    """One modifier of a sample: the keys its type takes, template shapes, consistent constraints."""
    t = mod["type"]
    if t in ("normsys", "lumi") and "constraint" not in mod:
        fail(src, mpath, f"a {t} modifier needs 'constraint' (type: normal, lognormal or gamma; sigma)")
    if t in ("normfactor", "histosys", "gridsys", "staterror", "shapesys", "shapefactor") and "constraint" in mod:
        fail(
            src,
            mpath + ["constraint"],
            f"a {t} modifier takes no 'constraint' (normfactor: unconstrained; histosys: normal(0, 1); "
            "gridsys: one per parameter, under grid.parameters; shapefactor: its 'aux' count)",
        )
    _check_stat_modifier(smp, mod, mpath, c, n_bins, stat_of, src)
    _check_group_modifier(smp, mod, mpath, n_bins, src)
    _check_bounds(mod, mpath, src)
    if t == "gridsys":
        _check_grid(mod, mpath, n_bins, "signal" in smp, src)
        _check_grid_widths(mod, mpath, src)
    elif "grid" in mod:
        fail(src, mpath + ["grid"], f"'grid' belongs to gridsys modifiers only (this one is {t})")
    if t == "histosys":
        if "data" not in mod:
            fail(src, mpath, "a histosys modifier needs 'data' with 'hi' and 'lo' templates")
        for side in ("hi", "lo", "nominal"):
            n_t = template_length(mod["data"].get(side))
            if n_t is not None and n_bins is not None and n_t != n_bins:
                fail(
                    src,
                    mpath + ["data", side, "counts"],
                    f"template of {n_t} bins for a channel of {n_bins} bins (wrong shape)",
                )
    elif "data" in mod or "shape_only" in mod or "interpolation" in mod:
        bad = next(k for k in ("data", "shape_only", "interpolation") if k in mod)
        fail(src, mpath + [bad], f"{bad!r} belongs to histosys modifiers only (this one is {t})")
    if lk.get("treatment") == "marginalised" and not (
        t in ("normsys", "lumi") and mod["constraint"]["type"] == "normal"
    ):
        fail(
            src,
            mpath,
            "the marginalised likelihood takes normsys/lumi modifiers with normal constraints only (allowed: normsys normal)",
        )
    key = constraint_key(mod)
    if mod["name"] in uses and uses[mod["name"]][0] != key:
        fail(
            src,
            mpath,
            f"nuisance {mod['name']!r} is declared with conflicting constraints: {_fmt_key(key)} here, "
            f"{_fmt_key(uses[mod['name']][0])} at {key_path(uses[mod['name']][1])}",
        )
    uses.setdefault(mod["name"], (key, mpath))


def _check_stat_modifier(smp: dict, mod: dict, mpath: list, c: int, n_bins: int | None, stat_of: dict, src) -> None:
    """'uncertainties' only on staterror/shapesys, on a template, one per bin; one per channel."""
    t = mod["type"]
    if t in ("staterror", "shapesys"):
        if "uncertainties" not in mod:
            fail(src, mpath, f"a {t} modifier needs 'uncertainties' (absolute, one per bin)")
        if "signal" in smp:
            fail(src, mpath, f"a {t} modifier acts on templates only (this sample is the signal)")
        n_t = template_length(mod["uncertainties"])
        if n_t is not None and n_bins is not None and n_t != n_bins:
            fail(
                src,
                mpath + ["uncertainties", "counts"],
                f"{n_t} uncertainties for a channel of {n_bins} bins (wrong shape)",
            )
        other = stat_of.setdefault(c, (mod["name"], t))
        if other != (mod["name"], t):
            fail(
                src,
                mpath,
                f"one per-bin modifier per channel: {t} {mod['name']!r} here, {other[1]} {other[0]!r} before",
            )
    elif "uncertainties" in mod:
        fail(
            src,
            mpath + ["uncertainties"],
            f"'uncertainties' belongs to staterror/shapesys only (this one is {t})",
        )


def _check_group_modifier(smp: dict, mod: dict, mpath: list, n_bins: int | None, src) -> None:
    """'groups', 'aux', 'tau' only on shapefactor (a template; 'tau' with 'aux'), one value per bin."""
    t = mod["type"]
    keys = ("groups", "aux", "tau")
    if t != "shapefactor":
        bad = next((k for k in keys if k in mod), None)
        if bad is not None:
            fail(src, mpath + [bad], f"{bad!r} belongs to shapefactor modifiers only (this one is {t})")
        return
    if "signal" in smp:
        fail(src, mpath, "a shapefactor modifier acts on templates only (this sample is the signal)")
    if "tau" in mod and "aux" not in mod:
        fail(src, mpath + ["tau"], "'tau' scales the auxiliary count: give 'aux' too (allowed: aux, or neither)")
    for k in ("groups", "aux"):
        n_t = template_length(mod.get(k))
        if n_t is not None and n_bins is not None and n_t != n_bins:
            fail(src, mpath + [k, "counts"], f"{n_t} values for a channel of {n_bins} bins (wrong shape)")


def _check_bounds(mod: dict, mpath: list, src) -> None:
    """``bounds`` [lo, hi] of a normalisation factor: on normfactor/normsys/lumi only, lo < hi,
    with the nominal factor 1 inside."""
    if "bounds" not in mod:
        return
    if mod["type"] not in ("normfactor", "normsys", "lumi"):
        fail(
            src,
            mpath + ["bounds"],
            f"'bounds' belongs to normfactor/normsys/lumi modifiers (this one is {mod['type']})",
        )
    lo, hi = (float(v) for v in mod["bounds"])
    if not lo <= 1.0 <= hi or lo >= hi:
        fail(src, mpath + ["bounds"], f"bounds [{lo:g}, {hi:g}] must hold the nominal factor 1 with lo < hi")


def _check_grid(mod: dict, mpath: list, n_bins: int | None, signal: bool, src) -> None:
    """A gridsys modifier: strictly increasing anchors with the nominal inside, normal constraints,
    one template per anchor of the declared bins, the release nominal exactly on the signal."""
    if "grid" not in mod:
        fail(src, mpath, "a gridsys modifier needs 'grid' with 'parameters' and 'templates'")
    grid = mod["grid"]
    dims = []
    for i, prm in enumerate(grid["parameters"]):
        ppath = mpath + ["grid", "parameters", i]
        a = np.asarray(prm["anchors"], dtype=float)
        if not np.all(np.diff(a) > 0):
            fail(src, ppath + ["anchors"], f"anchors must be strictly increasing, got {a.tolist()}")
        nominal = prm.get("nominal", 0.0)
        if not a[0] <= nominal <= a[-1]:
            fail(src, ppath + ["nominal"], f"nominal {nominal} outside the anchors [{a[0]:g}, {a[-1]:g}]")
        c = prm.get("constraint")
        if c is not None and c["type"] != "normal":
            fail(
                src,
                ppath + ["constraint", "type"],
                f"{c['type']!r} is not allowed for a grid parameter; allowed: normal",
            )
        dims.append(a.size)
    names = [p["name"] for p in grid["parameters"]]
    if len(set(names)) != len(names):
        fail(src, mpath + ["grid", "parameters"], f"the grid's parameters must differ, got {names}")
    if grid["templates"] == "prediction":
        if not signal:
            fail(src, mpath + ["grid", "templates"], "'prediction' anchors belong to the signal sample only")
        if "nominal" in grid:
            fail(src, mpath + ["grid", "nominal"], "with 'prediction' anchors the nominal is the model's own")
        return
    if grid.get("interpolation") == "total_shape" and signal:
        fail(src, mpath + ["grid", "interpolation"], "total_shape on the signal takes 'prediction' anchors")
    if isinstance(grid["templates"], dict):  # one experiment data array (shape checked when built)
        if signal:
            fail(src, mpath + ["grid", "templates"], "an anchor data array belongs to a template sample")
        return
    if len(grid["templates"]) != int(np.prod(dims)):
        fail(
            src,
            mpath + ["grid", "templates"],
            f"{len(grid['templates'])} templates for a grid of {' x '.join(map(str, dims))} anchors; "
            "give one per anchor (first parameter slowest)",
        )
    for i, tmpl in enumerate(grid["templates"] + ([grid["nominal"]] if "nominal" in grid else [])):
        n_t = template_length(tmpl)
        if n_t is not None and n_bins is not None and n_t != n_bins:
            where = ["nominal"] if i == len(grid["templates"]) else ["templates", i]
            fail(
                src,
                mpath + ["grid"] + where + ["counts"],
                f"template of {n_t} bins for a channel of {n_bins} bins (wrong shape)",
            )
    if signal and "nominal" not in grid:
        fail(src, mpath + ["grid"], "a gridsys on the signal needs the release's 'nominal' template (grid.nominal)")
    if not signal and "nominal" in grid:
        fail(src, mpath + ["grid", "nominal"], "'nominal' belongs to a gridsys on the signal sample only")


def _fmt_key(key: tuple) -> str:
    kind, ctype, sigma = key
    return kind if ctype is None else f"{ctype}(sigma={sigma})"


def check(decl: dict, source=None) -> None:
    """Semantic checks beyond the schema (module docstring); raises :class:`DeclarationError`."""
    src = source or decl.get(SOURCE_KEY)
    n_exp = _check_experiment(decl["experiment"], src)
    for mode in decl["modes"]:
        if mode not in decl["likelihood"]:
            fail(
                src,
                ["likelihood"],
                f"mode {mode!r} is listed in 'modes' but has no likelihood; declared: {', '.join(decl['likelihood'])}",
            )
    for mode in decl["likelihood"]:
        if mode not in decl["modes"]:
            fail(
                src,
                ["likelihood", mode],
                f"a likelihood for mode {mode!r}, which 'modes' does not list ({', '.join(decl['modes'])})",
            )
        lk = decl["likelihood"][mode]
        if "channels" in lk:
            _check_likelihood(mode, lk, n_exp, src, decl["kind"])
    for name, opt in decl.get("options", {}).items():
        if "allowed" in opt and opt["default"] not in opt["allowed"]:
            fail(
                src,
                ["options", name, "default"],
                f"{opt['default']!r} is not among its allowed values {opt['allowed']}",
            )
    if decl["kind"] == "measurement" and "release" not in decl and not decl.get("published"):
        fail(
            src,
            ["release"],
            "a measurement names its release (name, source, licence), or its data are published "
            "records (key 'published'); only projections omit both",
        )


def shared_constraints(decls) -> dict:
    """``{sharing key: constraint key}`` over several declarations; conflicting constraints of
    one key raise :class:`DeclarationError` naming both files."""
    seen: dict[str, tuple] = {}
    for decl in decls:
        src = decl.get(SOURCE_KEY, decl.get("name"))
        for mode, lk in decl["likelihood"].items():
            for c, ch in enumerate(lk.get("channels", [])):
                for s, smp in enumerate(ch["samples"]):
                    for m, mod in enumerate(smp.get("modifiers", [])):
                        key = mod.get("shared")
                        if key is None:
                            continue
                        ck = constraint_key(mod)
                        where = f"{src}: {key_path(['likelihood', mode, 'channels', c, 'samples', s, 'modifiers', m])}"
                        if key in seen and seen[key][0] != ck:
                            raise DeclarationError(
                                f"{where}: shared nuisance {key!r} has conflicting constraints: {_fmt_key(ck)} here, "
                                f"{_fmt_key(seen[key][0])} in {seen[key][1]}"
                            )
                        seen.setdefault(key, (ck, where))
    return {k: v[0] for k, v in seen.items()}


__all__ = [
    "FORMAT",
    "SOURCE_KEY",
    "check",
    "fail",
    "key_path",
    "load",
    "observable_edges",
    "schema",
    "shared_constraints",
]
