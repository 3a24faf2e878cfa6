"""The declared XENONnT S2-only likelihood (docs: datasets, xenonnt_s2only; the format:
docs/datasets/format.md): the unit's ``builder`` writes the likelihood section of the
declaration from the release's alea statistical model (:mod:`.release`) at run time, so no
number of the release is retyped, and the generic engine
(:func:`cevnsfit.likelihoods.declared.build_term`) reads it.

Per run (channel, 7 cS2 bins) and source of the alea file: the CEvNS signal (``signal: cevns``)
with the rate multiplier shared by the runs (``normsys``, or a ``normfactor`` with
``flux="free"``), the run's signal efficiency (``normsys``) and the charge yield ``t_qy`` shared
by the runs (``gridsys`` on the release's anchors with blueice's rule ``total_shape``, the
prediction folded at each anchor by the experiment's ``fold``: response x livetime); the
cathode background with its rate (``normsys``) and its shape parameter ``t_sys_<run>``
(``gridsys``, ``total_shape``, templates ``{data: <source>_templates}``); the ``de``/``ae``
backgrounds with their rates. Widths, bounds and anchors are the alea file's; the templates,
counts and fold are experiment data (:func:`.experiment._declared_arrays`). The section keys that
are analysis choices, not release numbers (``fold``, ``restarts``, ``fast_path``), come from the
unit's ``dataset.yaml`` (``likelihood.<mode>.options``).

The generic engine keeps the Gaussian normalisations 2 ln(sigma sqrt(2 pi)) of every constrained
parameter in -2 ln L; :class:`~.likelihood.S2OnlyLikelihood` leaves them out
(:func:`gaussian_constant` is the difference).
"""

from __future__ import annotations

import copy

import numpy as np

from cevnsfit.errors import DeclarationError, UnknownNameError

from . import release
from .likelihood import FLUX_OPTIONS

NAME = "xenonnt_s2only"
#: Unit options of the term besides the experiment's.
BACKENDS = ("auto", "generic", "code")


def _check_nominal(p, what: str) -> None:
    centres = release.ancillary_centres()
    if p.nominal != (1.0 if what == "rate" else p.nominal) or centres.get(p.name, p.nominal) != p.nominal:
        raise DeclarationError(
            f"{release.MODEL_FILE}: parameter {p.name!r} (nominal {p.nominal}, centre "
            f"{centres.get(p.name)}): the declared {what} needs its constraint centred on the nominal 1"
        )


def _norm(p, free: bool = False) -> dict:
    """A rate or efficiency parameter as a normalisation modifier (y = the multiplier)."""
    _check_nominal(p, "rate")
    mod: dict = {"name": p.name, "bounds": [float(p.bounds[0]), float(p.bounds[1])]}
    if free or p.sigma is None:
        return {**mod, "type": "normfactor"}
    return {**mod, "type": "normsys", "constraint": {"type": "normal", "sigma": float(p.sigma)}}


def _grid(p, templates) -> dict:
    """A shape parameter as a ``gridsys`` modifier with blueice's rule."""
    _check_nominal(p, "shape")
    if (float(p.bounds[0]), float(p.bounds[1])) != (float(p.anchors[0]), float(p.anchors[-1])):
        raise DeclarationError(
            f"{release.MODEL_FILE}: shape parameter {p.name!r} has fit limits {p.bounds} other than its anchors' "
            f"range [{p.anchors[0]}, {p.anchors[-1]}]; a gridsys parameter is bounded to its anchors"
        )
    prm: dict = {"name": p.name, "anchors": [float(a) for a in p.anchors], "nominal": float(p.nominal)}
    if p.sigma is not None:
        prm["constraint"] = {"type": "normal", "sigma": float(p.sigma)}
    return {
        "name": p.name,
        "type": "gridsys",
        "grid": {"parameters": [prm], "interpolation": "total_shape", "templates": templates},
    }


def section(exp, flux: str = "constrained", extra: dict | None = None) -> dict:
    """The declared likelihood section for experiment ``exp`` (its runs) written from the alea
    model in ``exp.data`` (``params``, ``runs``); ``extra``: section keys to add (``fold``,
    ``restarts`` with starts of the charge yield alone, ``fast_path``, ``treatment``)."""
    if flux not in FLUX_OPTIONS:
        raise UnknownNameError(f"{NAME} flux must be one of {', '.join(FLUX_OPTIONS)}, got {flux!r}")
    params = exp.data["params"]
    cevns_rate = f"{release.CEVNS_SOURCE}_rate_multiplier"
    channels = []
    for run in exp.data["runs"]:
        samples = []
        # the CEvNS source first: t_qy is then the first grid parameter
        for s in sorted(run.sources, key=lambda s: s.name != release.CEVNS_SOURCE):
            mods = []
            if s.rate:
                mods.append(_norm(params[s.rate], free=flux == "free" and s.rate == cevns_rate))
            if s.efficiency:
                mods.append(_norm(params[s.efficiency]))
            if s.name == release.CEVNS_SOURCE:
                if s.shape:
                    mods.append(_grid(params[s.shape], "prediction"))
                samples.append({"name": s.name, "signal": "cevns", "modifiers": mods})
                continue
            if s.shape:
                mods.append(_grid(params[s.shape], {"data": f"{s.name}_templates"}))
            samples.append({"name": s.name, "template": {"data": f"{s.name}_nominal"}, "modifiers": mods})
        channels.append(
            {
                "name": run.key,
                "bins": int(run.edges.size - 1),
                "data": {"counts": {"data": f"counts_{run.key}"}},
                "samples": samples,
            }
        )
    out: dict = {"channels": channels}
    extra = copy.deepcopy(extra or {})
    rs = extra.pop("restarts", None)
    if rs is not None:  # starts given for the charge yield: the other grid parameters at their nominal
        grid_params: list[dict] = []
        for ch in channels:
            for smp in ch["samples"]:
                for m in smp["modifiers"]:
                    if m["type"] == "gridsys":
                        p = m["grid"]["parameters"][0]
                        if p["name"] not in [g["name"] for g in grid_params]:
                            grid_params.append(p)
        starts = []
        for t in rs["grid"]:
            starts.append([float(t[0]) if g["name"] == release.CHARGE_YIELD else g["nominal"] for g in grid_params])
        out["restarts"] = {"above": float(rs["above"]), "grid": starts}
    out.update(extra)
    return out


def gaussian_constant(decl_section: dict) -> float:
    """The sum of 2 ln(sigma sqrt(2 pi)) over the constrained parameters of a section: the generic
    engine's -2 ln L minus :class:`~.likelihood.S2OnlyLikelihood`'s."""
    seen: dict = {}
    for ch in decl_section["channels"]:
        for smp in ch["samples"]:
            for m in smp["modifiers"]:
                if m["type"] == "gridsys":
                    for p in m["grid"]["parameters"]:
                        if "constraint" in p:
                            seen[p["name"]] = p["constraint"]["sigma"]
                elif "constraint" in m:
                    seen[m["name"]] = m["constraint"]["sigma"]
    return float(sum(2.0 * np.log(s) + np.log(2.0 * np.pi) for s in seen.values()))


def build(
    mode: str,
    matching: str | None = None,
    flux: str = "constrained",
    backend: str = "auto",
    share=(),
    engine: str = "newton",
    tol: float = 1e-4,
    **options,
):
    """The S2-only term (the unit's ``builder``): the declaration written by :func:`section`
    for the experiment of ``options`` (``runs``, ``source``, ``sin2_theta_w``, ``form_factor``),
    built by the generic engine. ``backend``: ``"auto"`` (the unit's compiled ``fast_path`` when
    the declaration has its structure), ``"generic"`` (the declared engine) or ``"code"`` (the
    hand-written :class:`~.likelihood.S2OnlyLikelihood`, for comparison)."""
    from cevnsfit.likelihoods.declared import build_term

    from .. import get_dataset
    from . import experiment

    if backend not in BACKENDS:
        raise UnknownNameError(f"{NAME} backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if flux not in FLUX_OPTIONS:
        raise UnknownNameError(f"{NAME} flux must be one of {', '.join(FLUX_OPTIONS)}, got {flux!r}")
    if backend == "code":
        from . import term

        return term(mode, matching, flux=flux, **options)
    unit = get_dataset(NAME)
    exp = experiment(mode, **options)
    sec = section(exp, flux, unit.declaration["likelihood"][mode].get("options"))
    decl = {**unit.declaration, "likelihood": {mode: sec}, "_source": unit.origin}
    term_ = build_term(decl, exp, mode, matching or mode, share=share, engine=engine, tol=tol, backend=backend)
    term_.info.update({"runs": list(exp.data["runs"][i].key for i in range(len(exp.data["runs"]))), "flux": flux})
    term_.info["gaussian_constant"] = gaussian_constant(sec)
    return term_


__all__ = ["BACKENDS", "build", "gaussian_constant", "section"]
