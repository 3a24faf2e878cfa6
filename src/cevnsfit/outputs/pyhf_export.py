"""Full-mode data sets as pyhf (HistFactory JSON) workspaces, and pyhf as a cross-check (docs: interop).

:func:`export_pyhf` writes the likelihood of a `full`-mode data set at one model point (the
CEvNS prediction of that point is the signal sample) as a HistFactory workspace, schema
1.0.0 (Cranmer et al., CERN-OPEN-2012-016; pyhf, JOSS 6 (2021) 2823), wherever each of its
nuisances has a HistFactory modifier that is the same function:

* a Gaussian-constrained linear normalisation (1 + a), a ~ N(0, s), of a sample WITHOUT shape
  variations: a ``histosys`` whose +-1 sigma variants are (1 +- s) times the nominal; with
  theta = a / s ~ N(0, 1) the piecewise-linear (code 0) and the quadratic (code 2)
  interpolations of a symmetric variation are both exactly nominal x (1 + s theta);
* the same normalisation of a sample WITH shape variations (the product (1 + a) x (nominal +
  shape shifts) has a cross term no sum of histosys has): the ``lumi`` modifier (parameter
  lumi = 1 + a, Gaussian constraint of width s around 1, multiplying the morphed sample);
  HistFactory has one lumi parameter per workspace, so only one such sample can be exact. A
  second one becomes a ``normsys`` (pyhf code 4, the smooth one; hi/lo = 1 +- s), the same
  function only to first order in a: the workspace's metadata names it and the test measures
  the difference;
* a +-1 sigma shape variation: ``histosys`` with code 0 (our "linear" morphs) or code 2 (our
  "quadratic" ones; module :mod:`cevnsfit.likelihoods.morph`), the same functions;
  multiplicative variations of the signal (relative to the nominal template) become absolute
  ones at the exported point;
* a free normalisation (no constraint): ``normfactor``.

The interpolation codes are not part of the JSON schema: they are pyhf options
(``modifier_settings``), recorded in the metadata and applied by :func:`pyhf_model`.

The offset between the two -2 ln L conventions is exact and recorded: both include the
Poisson terms with ln n!; pyhf adds, for every constrained parameter, the normalisation of its
unit Gaussian (ln 2 pi to -2 ln L) and for lumi ln(2 pi s^2); our `full` terms include
(CENNS-10, and the declared likelihoods such as CsI 2021's) the Gaussian normalisations of their
nuisances, in their own units. The metadata holds our -2 ln L at the best fit, the offset and the twice_nll pyhf
should find (ours + offset), and the best-fit nuisances in the workspace's parameters.

Nuisances without a HistFactory equivalent are refused with :class:`~cevnsfit.errors.ExportError`
naming them: the per-bin marginalisation of the `paper` terms, the XENONnT (t_ly, t_qy)
two-dimensional anchor interpolation, chi-square totals. The HistFactory JSON schema admits
no extra keys, so the metadata is returned beside the workspace (and written beside the file
by ``cevnsfit export pyhf``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import CevnsfitError, ParameterError, UnknownNameError

#: pyhf options the exported workspaces need (the codes are not part of the JSON).
LOG_2PI = math.log(2.0 * math.pi)


class ExportError(CevnsfitError, ValueError):
    """A likelihood with a nuisance that has no HistFactory equivalent (the message names it)."""


def _hist(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


def _histosys(name: str, hi, lo) -> dict:
    return {"name": name, "type": "histosys", "data": {"hi_data": _hist(hi), "lo_data": _hist(lo)}}


def _param(name: str, bounds, init: float = 0.0, **extra) -> dict:
    return {"name": name, "bounds": [[float(bounds[0]), float(bounds[1])]], "inits": [float(init)], **extra}


class _Spec:
    """Accumulates one channel's samples and the measurement's parameter settings."""

    def __init__(self, channel: str):
        self.channel = channel
        self.samples: list[dict] = []
        self.params: list[dict] = []
        self.constrained = 0  # unit-Gaussian constrained parameters (histosys, normsys)
        self.lumi_sigma: float | None = None
        self.inexact: list[str] = []
        self.codes: dict[str, str] = {}

    def sample(self, name: str, nominal, modifiers: list[dict]) -> None:
        self.samples.append({"name": name, "data": _hist(nominal), "modifiers": modifiers})

    def normalisation(
        self, name: str, nominal, sigma: float | None, shaped: bool, bounds_a, lumi: bool = True
    ) -> tuple[dict, str]:
        """The modifier of a normalisation (1 + a) of a sample (module docstring) and the kind
        of its parameter ("theta": a / sigma, "lumi": 1 + a, "normfactor": 1 + a); ``lumi``
        False keeps the lumi parameter for another sample."""
        lo_a, hi_a = bounds_a
        if sigma is None or not np.isfinite(sigma):
            self.params.append(_param(name, (1.0 + lo_a, 1.0 + hi_a), 1.0))
            return {"name": name, "type": "normfactor", "data": None}, "normfactor"
        if not shaped:
            self.constrained += 1
            self.params.append(_param(name, (lo_a / sigma, hi_a / sigma)))
            nom = np.asarray(nominal, dtype=float)
            return _histosys(name, nom * (1.0 + sigma), nom * (1.0 - sigma)), "theta"
        if self.lumi_sigma is None and lumi:
            self.lumi_sigma = float(sigma)
            self.params.append(_param("lumi", (1.0 + lo_a, 1.0 + hi_a), 1.0, auxdata=[1.0], sigmas=[float(sigma)]))
            return {"name": "lumi", "type": "lumi", "data": None}, "lumi"
        self.constrained += 1
        self.codes["normsys"] = "code4"
        self.inexact.append(
            f"{name}: normalisation of a sample with shape variations as a normsys (code 4, hi/lo = 1 +- {sigma:g}); "
            "the same as ours (1 + sigma theta) to first order in theta only"
        )
        self.params.append(_param(name, (max(lo_a / sigma, -5.0), min(hi_a / sigma, 5.0))))
        return {"name": name, "type": "normsys", "data": {"hi": 1.0 + sigma, "lo": 1.0 - sigma}}, "theta"

    def workspace(self, observed, poi: str) -> dict:
        params = sorted(self.params, key=lambda p: p["name"])
        if not any(p["name"] == poi for p in params):
            raise ExportError(f"parameter of interest {poi!r} is not a parameter of the workspace")
        return {
            "channels": [{"name": self.channel, "samples": self.samples}],
            "measurements": [{"name": "cevnsfit", "config": {"poi": poi, "parameters": params}}],
            "observations": [{"name": self.channel, "data": _hist(observed)}],
            "version": "1.0.0",
        }

    def pyhf_constant(self) -> float:
        """pyhf's Gaussian normalisations in its twice_nll: ln 2 pi per unit-Gaussian parameter,
        ln(2 pi s^2) for lumi."""
        out = self.constrained * LOG_2PI
        if self.lumi_sigma is not None:
            out += LOG_2PI + 2.0 * math.log(self.lumi_sigma)
        return out


# ---------------------------------------------------------------------------------------------
# one translation per kind of full-mode term
# ---------------------------------------------------------------------------------------------


def _cenns_full(name: str, term, pred: np.ndarray) -> tuple[dict, dict]:
    """:class:`~cevnsfit.likelihoods.full.CennsFullLikelihood`: CEvNS and the background
    templates at their totals, four normalisations, the release's shape variations."""
    from ..likelihoods.full import CennsFullLikelihood

    assert isinstance(term, CennsFullLikelihood)
    spec = _Spec(name)
    components = ("cevns",) + tuple(term.bkg_names)
    sig = np.asarray(pred, dtype=float).ravel()
    morph = term.morph
    comp = np.asarray(morph.component_of) if morph is not None else np.zeros(0, int)
    if morph is not None:
        spec.codes["histosys"] = {"linear": "code0", "quadratic": "code2"}[morph.interpolation]
    nominals = [sig] + [term._x_bkg0[k] for k in range(len(term.bkg_names))]
    # the one exact lumi goes to the signal (measured: giving it to the prompt BRN instead, the
    # widest constraint, and a code-4 normsys to the signal triples the difference to pyhf)
    shaped = [k for k in range(len(components)) if bool(np.any(comp == k)) and bool(np.isfinite(term.sig[k]))]
    lumi_k = int(shaped[0]) if shaped else -1
    kinds = {}
    for k, comp_name in enumerate(components):
        nom = nominals[k]
        mods = []
        for j in np.flatnonzero(comp == k):
            assert morph is not None
            if k == 0:  # relative to the nominal CEvNS template: absolute at this point
                hi, lo = nom * (1.0 + term._dplus[j]), nom * (1.0 - term._dminus[j])
            else:
                hi, lo = nom + term._dplus[j], nom - term._dminus[j]
            mods.append(_histosys(morph.names[j], hi, lo))
            spec.params.append(_param(morph.names[j], (-5.0, 5.0)))
            spec.constrained += 1
        s = float(term.sig[k])
        mod, kind = spec.normalisation(
            f"norm_{comp_name}", nom, s if np.isfinite(s) else None, bool(mods), (-1.0, 5.0), lumi=k == lumi_k
        )
        kinds[comp_name] = kind
        spec.sample(comp_name, nom, [*mods, mod])
    poi = "lumi" if kinds["cevns"] == "lumi" else "norm_cevns"
    ws = spec.workspace(term.n, poi)

    lnl, best = term.profile(sig.reshape(term.bin_shape))
    ours = -2.0 * float(lnl)
    # ours: Gaussian normalisations -ln(s sqrt(2 pi)) per finite normalisation, -ln sqrt(2 pi) per morph
    finite = [float(s) for s in term.sig if np.isfinite(s)]
    ours_const = sum(2.0 * math.log(s) + LOG_2PI for s in finite) + len(comp) * LOG_2PI
    fitted = {}
    for jj, pname in enumerate(term.names):
        if pname.startswith("ln1p_"):
            c = pname[5:]
            a = math.expm1(float(best[jj]))
            kc = components.index(c)
            kind = kinds[c]
            key = "lumi" if kind == "lumi" else f"norm_{c}"
            fitted[key] = 1.0 + a if kind in ("lumi", "normfactor") else a / float(term.sig[kc])
        else:
            fitted[pname] = float(best[jj])
    return ws, _meta(spec, ours, ours_const, fitted)


def _declared_full(name: str, term, pred: np.ndarray) -> tuple[dict, dict]:
    """:class:`~cevnsfit.likelihoods.declared.ProfiledBinned` (a declared `full` likelihood, one
    channel): each sample with its histosys entries and its one normal (or free) normalisation;
    refused (naming the piece) for gridsys, per-bin factors, a normalisation on several samples,
    lognormal/gamma constraints, several channels or mixed interpolations."""
    from ..likelihoods.declared import CONSTRAINTS

    c = term.c
    why = (
        "gridsys anchors"
        if c.grid_names
        else "per-bin factors"
        if np.any(c.stat_kind)
        else "per-group factors with an auxiliary count (shapefactor groups; not translated yet)"
        if np.any(c.group_index >= 0)
        else "several channels"
        if len(c.channel_slices) != 1
        else "a normalisation on several samples or a sample with several"
        if np.any(c.incidence.sum(0) != 1)
        or np.any(c.incidence.sum(1) > 1)
        or np.any((c.incidence != 0) & (c.incidence != 1))
        else "mixed histosys interpolations"
        if c.quadratic.any() and not c.quadratic.all()
        else None
    )
    kinds = [CONSTRAINTS[t] for t in c.ctype]
    if why is None and any(k not in ("normal", "none") for k in kinds):
        why = "a lognormal or gamma normalisation"
    if why is not None:
        raise ExportError(f"{name} (full) cannot be exported as a pyhf workspace: {why} (ProfiledBinned)")
    spec = _Spec(name)
    if c.alpha_names:
        spec.codes["histosys"] = "code2" if c.quadratic.all() else "code0"
    sig = np.asarray(pred, dtype=float).ravel()
    kind_of: dict[str, str] = {}
    for s_idx, sname in enumerate(c.sample_names):
        sname = sname.split("/")[-1]
        nom = sig * c.mask[s_idx] if c.is_signal[s_idx] else c.nominal[s_idx]
        mods = []
        for e in np.flatnonzero(c.entry_sample == s_idx):
            scale = nom if c.relative[e] else 1.0  # relative on the signal: absolute at this point
            mods.append(_histosys(c.alpha_names[c.entry_alpha[e]], nom + c.dplus[e] * scale, nom - c.dminus[e] * scale))
            spec.params.append(_param(c.alpha_names[c.entry_alpha[e]], (-5.0, 5.0)))
            spec.constrained += 1
        for k in np.flatnonzero(c.incidence[s_idx]):
            sigma = float(c.sigma[k]) if kinds[k] == "normal" else None
            mod, kind = spec.normalisation(c.norm_names[k], nom, sigma, bool(mods), (-1.0, 5.0))
            kind_of[c.norm_names[k]] = kind
            mods.append(mod)
        spec.sample(sname, nom, mods)
    sig_norm = [c.norm_names[k] for k in np.flatnonzero(c.incidence[c.is_signal].sum(0))]
    poi = "lumi" if sig_norm and kind_of[sig_norm[0]] == "lumi" else (sig_norm or list(c.alpha_names))[0]
    ws = spec.workspace(term.n, poi)
    lnl, best = term.profile(sig[None, :])
    ours = -2.0 * float(lnl[0])
    ours_const = sum(2.0 * math.log(float(c.sigma[k])) + LOG_2PI for k in range(len(kinds)) if kinds[k] == "normal")
    ours_const += len(c.alpha_names) * LOG_2PI
    fitted = {}
    for j, pname in enumerate(term.names):
        if j < len(c.norm_names):
            a = math.expm1(float(best[0, j]))
            kind = kind_of[pname]
            key = "lumi" if kind == "lumi" else pname
            fitted[key] = 1.0 + a if kind in ("lumi", "normfactor") else a / float(c.sigma[j])
        else:
            fitted[pname] = float(best[0, j])
    return ws, _meta(spec, ours, ours_const, fitted)


#: Full-mode term class name -> translation (one per kind of term; a declared likelihood maps
#: onto the same functions through :func:`_declared_full`).
TRANSLATIONS = {
    "CennsFullLikelihood": _cenns_full,
    "ProfiledBinned": _declared_full,
}

#: Terms without a HistFactory equivalent and the nuisance that prevents it (a data set's own
#: backend class says so itself, in its attribute ``PYHF_REFUSAL``).
REFUSED = {
    "CsiPaperLikelihood": "the per-bin marginalisation of the steady state and the normalisation (paper mode)",
    "CennsPaperLikelihood": "the per-bin marginalisation of the normalisation and the backgrounds (paper mode)",
    "Csi2021PaperLikelihood": "the per-bin marginalisation of the steady state and the normalisations (paper mode)",
    "TotalsChi2": "a chi-square of totals with a profiled normalisation in closed form",
}


def _meta(spec: _Spec, ours: float, ours_const: float, fitted: dict) -> dict:
    """Metadata: our -2 ln L at the best fit, the offset to pyhf's convention, pyhf's expected
    twice_nll, the best-fit parameters in the workspace's names, the pyhf options."""
    offset = spec.pyhf_constant() - ours_const
    return {
        "twice_nll_cevnsfit": ours,
        "offset": offset,
        "offset_formula": (
            "pyhf twice_nll - cevnsfit -2 ln L = (ln 2 pi per unit-Gaussian parameter, ln(2 pi s^2) for lumi) "
            "- (the Gaussian normalisations our term includes)"
        ),
        "twice_nll_pyhf_expected": ours + offset,
        "bestfit": {k: fitted[k] for k in sorted(fitted)},
        "modifier_settings": {k: {"interpcode": v} for k, v in sorted(spec.codes.items())},
        "inexact_modifiers": list(spec.inexact),
    }


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


def _names(datasets) -> list[str]:
    if isinstance(datasets, str):
        return [d.strip() for d in datasets.split(",") if d.strip()]
    if isinstance(datasets, Iterable):
        return [str(d) for d in datasets]
    raise UnknownNameError(f"datasets must be a name or a list of names, got {datasets!r}")


def export_pyhf(datasets, model=None, params: dict | None = None, mode: str = "full", options=None) -> dict:
    """The pyhf workspace of ``datasets`` (one data set; a name or a one-element list) at the
    model point ``model`` (a catalogue name with ``params``, a model object, or None: the SM)
    and its metadata: ``{"workspace": ..., "metadata": ...}`` (module docstring).

    Raises :class:`ExportError` for a mode other than ``full`` or a data set whose nuisances
    have no HistFactory equivalent (naming the nuisance), and the model's own errors
    (:class:`~cevnsfit.errors.ParameterError`, :class:`~cevnsfit.errors.UnknownNameError`) for
    a point outside its range or an unknown model or parameter.
    """
    from ..likelihoods import likelihood

    names = _names(datasets)
    if len(names) != 1:
        raise ExportError(f"export one data set per workspace, got {len(names)}: {names}")
    if mode != "full":
        raise ExportError(
            f"mode {mode!r} cannot be exported: its terms marginalise their nuisances per bin, which has no "
            "HistFactory equivalent; use mode='full'"
        )
    if isinstance(model, str):
        from ..models import model_from_name

        model_name = model
        model = model_from_name(model, **(params or {}))
    elif model is None:
        if params:
            raise ParameterError(f"params {sorted(params)} given without a model")
        model_name = "sm"
    else:
        if params:
            raise ParameterError("params apply to a model name, not to a model object")
        model_name = type(model).__name__
    like = likelihood(names, mode=mode, options={names[0]: options} if options else None)
    term = like.terms[0]
    kind = type(term.term).__name__
    if kind not in TRANSLATIONS:
        why = getattr(term.term, "PYHF_REFUSAL", None) or REFUSED.get(kind, "no translation to HistFactory modifiers")
        raise ExportError(f"{names[0]} ({mode}) cannot be exported as a pyhf workspace: {why} ({kind})")
    pred = np.asarray(term.prediction(model), dtype=float)
    if pred.ndim != len(term.experiment.shape):
        raise ParameterError("export_pyhf takes one model point, not an array of points")
    if not np.all(np.isfinite(pred)):
        raise ParameterError(f"the prediction of {names[0]} at this point is not finite")
    ws, meta = TRANSLATIONS[kind](names[0], term.term, pred)
    meta = {
        "cevnsfit_version": __version__,
        "dataset": names[0],
        "mode": mode,
        "model": model_name,
        "params": {k: float(v) for k, v in sorted((params or {}).items())},
        "signal_events": float(pred.sum()),
        **meta,
    }
    return {"workspace": ws, "metadata": meta}


def dumps(obj) -> str:
    """Deterministic JSON (sorted keys, shortest round-trip floats)."""
    return json.dumps(obj, sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_pyhf(export: dict, out: str | Path) -> tuple[Path, Path]:
    """Write the workspace to ``out`` and the metadata to ``<out stem>.metadata.json`` beside it."""
    out = Path(out)
    meta_path = out.with_name(out.stem + ".metadata.json")
    if out.is_dir():
        raise ParameterError(f"--out {out} is a directory; give a file name")
    if not out.parent.is_dir():
        raise ParameterError(f"cannot write {out}: the directory {out.parent} does not exist")
    try:
        out.write_text(dumps(export["workspace"]))
        meta_path.write_text(dumps(export["metadata"]))
    except OSError as exc:
        raise ParameterError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    return out, meta_path


def pyhf_model(workspace: dict, metadata: dict):
    """The pyhf model of an exported workspace with the interpolation codes of its metadata."""
    import pyhf

    ws = pyhf.Workspace(workspace)
    return ws, ws.model(modifier_settings=metadata.get("modifier_settings") or None)


def pyhf_fit(workspace: dict, metadata: dict) -> tuple[float, dict]:
    """pyhf's best-fit twice_nll and parameters (by name) of an exported workspace (numpy
    backend, MINUIT with tolerance 1e-6 and strategy 2; the caller's pyhf backend is restored)."""
    import pyhf

    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-6, strategy=2))
    try:
        ws, model = pyhf_model(workspace, metadata)
        data = ws.data(model)
        pars, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    finally:
        pyhf.set_backend(*previous)  # leave the caller's backend as it was
    named = {}
    for pname in model.config.parameters:
        sl = model.config.par_slice(pname)
        vals = np.atleast_1d(pars[sl])
        named[pname] = float(vals[0]) if vals.size == 1 else [float(v) for v in vals]
    return float(twice_nll), named


__all__ = ["REFUSED", "TRANSLATIONS", "ExportError", "dumps", "export_pyhf", "pyhf_fit", "pyhf_model", "write_pyhf"]
