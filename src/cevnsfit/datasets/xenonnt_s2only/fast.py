"""The compiled backend of the declared XENONnT S2-only likelihood (``fast_path`` of the section
the unit's builder writes; docs: datasets, xenonnt_s2only): :class:`~.likelihood.S2OnlyLikelihood`
(the per-point projected Newton of :mod:`._kernel`) built from the arrays of the compiled
declaration (:class:`~cevnsfit.likelihoods.declared.Compiled`): counts, background templates at
the anchors, the fold, constraint widths, bounds, anchors and restarts all come from the
declaration, none from the release's files. The tests show it equals the generic engine
(``backend: generic``) to 1e-8 in -2 ln L."""

from __future__ import annotations

import numpy as np

from ...likelihoods.declared import CONSTRAINTS, Compiled
from .likelihood import S2OnlyLikelihood, _Src
from .release import Parameter


class DeclaredS2Only(S2OnlyLikelihood):
    """:class:`S2OnlyLikelihood` on a compiled declaration: no experiment (the SM prediction is
    the declaration's), and ``logl`` with the generic engine's Gaussian normalisations
    2 ln(sigma sqrt(2 pi)) (``norm_const``) so that the two backends return the same ln L."""

    sm_pred: np.ndarray
    norm_const: float = 0.0

    def _sm_prediction(self) -> np.ndarray:
        return self.sm_pred

    def logl(self, pred) -> np.ndarray:
        return super().logl(pred) - 0.5 * self.norm_const


def _norms_of(c: Compiled, s: int) -> list[int]:
    return [int(k) for k in np.flatnonzero(c.incidence[s])]


def _structure(c: Compiled) -> dict | None:
    """The S2-only structure of ``c``, or None: per channel (run, equal bin counts) one signal with
    a per-point ``total_shape`` grid of one parameter (the same in every channel) on a ``fold``,
    and templates; every sample with at most two normalisations (incidence 1), normal or free;
    every grid of one parameter with the ``total_shape`` rule, a template sample's nominal its
    grid at the nominal parameters; restarts (if any) moving the signal's grid parameter only."""
    if c.anchor_fold is None or c.alpha_names or np.any(c.stat_kind) or c.sm_prediction is None:
        return None
    nb = {sl.stop - sl.start for sl in c.channel_slices.values()}
    if len(nb) != 1 or not c.grids or np.any((c.incidence != 0) & (c.incidence != 1)):
        return None
    if np.any(c.incidence.sum(1) > 2) or any(CONSTRAINTS[t] not in ("normal", "none") for t in c.ctype):
        return None
    if any(ge.rule != "total_shape" or len(ge.params) != 1 for ge in c.grids):
        return None
    sig_grids = [ge for ge in c.grids if ge.per_point]
    qy = {ge.params[0] for ge in sig_grids}
    sig = np.flatnonzero(c.is_signal)
    if len(qy) != 1 or len(sig_grids) != sig.size or len(c.channel_slices) != sig.size:
        return None
    qy_i = qy.pop()
    # the CEvNS rate: the first normalisation on every signal sample
    on_all = [k for k in range(len(c.norm_names)) if np.all(c.incidence[sig, k] == 1)]
    if not on_all:
        return None
    if c.restart_grid.size:
        others = np.delete(c.restart_grid, qy_i, axis=1)
        if not np.all(others == np.delete(c.grid_nominal, qy_i)):
            return None
    return {"nb": nb.pop(), "qy": qy_i, "rate": on_all[0], "signals": sig}


def _sources(c: Compiled, st: dict, runs: list) -> tuple[list[_Src], list[np.ndarray]] | None:
    """The :class:`_Src` of every sample (in channel order) and the per-run signal fold, or None."""
    grid_of = {ge.sample: ge for ge in c.grids}
    fold_all = c.anchor_fold
    assert fold_all is not None  # (_structure)
    sources, folds = [], []
    for s, full in enumerate(c.sample_names):
        name = full.rsplit("/", 1)[-1]  # channel/sample: the source's name
        run = runs.index(next(r for r, sl in c.channel_slices.items() if c.mask[s, sl].all()))
        sl = c.channel_slices[runs[run]]
        norms = _norms_of(c, s)
        ge = grid_of.get(s)
        if c.is_signal[s]:
            if ge is None or not np.array_equal(ge.diff[sl], np.ones(st["nb"])):
                return None
            rate, eff = st["rate"], next((k for k in norms if k != st["rate"]), -1)
            folds.append(fold_all[:, :, sl])
            sources.append(_Src(name, run, rate, eff, st["qy"], np.array(ge.anchors[0]), None, None))
            continue
        rate = norms[0] if norms else -1
        eff = norms[1] if len(norms) > 1 else -1
        if ge is None:
            tpl = c.nominal[s, sl][None]
            anchors, shape = np.array([np.nan]), -1
        else:
            tpl = ge.diff[:, 0, sl]
            anchors, shape = np.array(ge.anchors[0]), ge.params[0]
            assert ge.g0 is not None
            if not np.allclose(c.nominal[s, sl], ge.g0[sl], rtol=1e-12, atol=0):
                return None  # the sample is not its grid
        mu = tpl.sum(-1)
        pmf = np.where(mu[:, None] > 0, tpl / np.where(mu > 0, mu, 1.0)[:, None], 0.0)
        sources.append(_Src(name, run, rate, eff, shape, anchors, mu, pmf))
    return sources, folds


def backend(comp: Compiled, reference_total=None, engine: str = "newton", tol: float = 1e-4, shape=None):
    """:class:`DeclaredS2Only` on the arrays of ``comp``, or None when the declaration does not
    have the S2-only structure (:func:`_structure`) or the MIGRAD engine is asked for."""
    st = _structure(comp) if engine == "newton" else None
    if st is None:
        return None
    c = comp
    runs = list(c.channel_slices)
    K, T = len(c.norm_names), len(c.grid_names)
    got = _sources(c, st, runs)
    if got is None:
        return None
    sources, folds = got
    lo = np.zeros(K) if c.norm_lo is None else c.norm_lo
    hi = np.full(K, np.inf) if c.norm_hi is None else c.norm_hi
    free = np.array([CONSTRAINTS[t] == "none" for t in c.ctype])
    sig_n = np.where(free, np.nan, c.sigma)
    sig_g = np.where(np.isfinite(c.grid_sigma), c.grid_sigma, np.nan)
    anchors: dict[int, np.ndarray] = {}
    for ge in c.grids:
        anchors.setdefault(ge.params[0], np.array(ge.anchors[0]))
    like = object.__new__(DeclaredS2Only)
    like.method, like.exp = "auto", None
    like.flux = "free" if free[st["rate"]] else "constrained"
    like.runs = tuple(runs)
    like.n_bins_run = st["nb"]
    like.n_bins = st["nb"] * len(runs)
    like.names = tuple(c.norm_names) + tuple(c.grid_names)
    like.k = K + T
    like.params = [
        Parameter(n, 1.0, "rate", None if free[k] else float(c.sigma[k]), (float(lo[k]), float(hi[k])), True)
        for k, n in enumerate(c.norm_names)
    ] + [
        Parameter(n, float(c.grid_nominal[t]), "shape", None if not np.isfinite(sig_g[t]) else float(sig_g[t]),
                  (float(c.grid_lo[t]), float(c.grid_hi[t])), True, tuple(anchors[t]))
        for t, n in enumerate(c.grid_names)
    ]  # fmt: skip
    like.nominal = np.concatenate([np.ones(K), c.grid_nominal])
    like.sigma = np.concatenate([sig_n, sig_g])
    like.inv_var = np.where(np.isfinite(like.sigma), 1.0 / np.where(np.isfinite(like.sigma), like.sigma, 1.0) ** 2, 0.0)
    like.lower = np.concatenate([lo, c.grid_lo])
    like.upper = np.concatenate([hi, c.grid_hi])
    like.centres = like.nominal.copy()
    like.shapes = tuple(c.grid_names)
    like.shape_index = K + np.arange(T)
    like.shape_anchors = [anchors[t] for t in range(T)]
    like.charge_yield = c.grid_names[st["qy"]]
    like.cevns_rate = st["rate"]
    like.sources = sources
    like.cevns_src = [j for j, s in enumerate(sources) if s.mu is None]
    like.exposure = np.full(len(runs), np.nan)  # not in the declaration (validation only)
    like.release_cevns = np.zeros((len(runs), 0, st["nb"]))  # the release's CEvNS templates: not declared
    like.n_anchor = folds[0].shape[1]
    like.n_energy = folds[0].shape[0]
    like.fold_matrix = np.ascontiguousarray(np.stack(folds, 1).reshape(like.n_energy, -1))
    like.sm_pred = np.asarray(c.sm_prediction, dtype=float)
    like._sm_cache = None
    like.norm_const = float(np.sum(2.0 * np.log(like.sigma[np.isfinite(like.sigma)]) + np.log(2.0 * np.pi)))
    if c.restart_grid.size:
        like.RESTART_ABOVE_SM = float(c.restart_above)
        like._T_STARTS = tuple(float(v) for v in c.restart_grid[:, st["qy"]])
    like._set_counts(np.asarray(c.n, dtype=float))
    return like
