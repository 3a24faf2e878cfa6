"""The compiled backend of the declared XENONnT likelihood (``fast_path`` of the unit's
``dataset.yaml``; docs: datasets, xenonnt): :class:`~cevnsfit.datasets.xenonnt.backend.XenonLikelihood`
(per-point projected Newton with the exact Hessian in :mod:`cevnsfit.datasets.xenonnt._kernel`)
built from the arrays of the compiled declaration (:class:`~cevnsfit.likelihoods.declared.Compiled`):
observed counts, templates, anchor grids, fold, constraint widths, bounds and restarts all come
from the declaration, none from the release or the published records. The tests show it equals
the generic engine (``backend: generic``) to 1e-8 in -2 ln L."""

from __future__ import annotations

import numpy as np

from ...likelihoods.declared import CONSTRAINTS, Compiled
from .backend import N_ANCHORS, Nuisance, XenonLikelihood

_ANCHORS = np.arange(N_ANCHORS, dtype=float) - (N_ANCHORS - 1) / 2.0
_BINS = 81


def _structure(c: Compiled) -> dict | None:
    """The sample and parameter indices of the XENONnT structure, or None when the declaration
    has another: per channel (run) samples cevns (signal: phi x eps, prediction grid), ac (a_run),
    er (r_er), neutron (r_n, total_shape grid), every normalisation normal or (phi) free, the
    (t_ly, t_qy) grid on the integer anchors -3..3 with N(0, 1) constraints."""
    if c.anchor_fold is None or c.alpha_names or np.any(c.stat_kind) or c.sm_prediction is None:
        return None
    if tuple(c.grid_names) != ("t_ly", "t_qy") or c.anchor_shape != (N_ANCHORS, N_ANCHORS):
        return None
    if not (np.all(c.grid_nominal == 0.0) and np.all(c.grid_sigma == 1.0)):
        return None
    runs = tuple(c.channel_slices)
    kinds = ("cevns", "ac", "er", "neutron")
    if c.sample_names != tuple(f"{r}/{k}" for r in runs for k in kinds):
        return None
    if any(sl.stop - sl.start != _BINS for sl in c.channel_slices.values()):
        return None
    norm = list(c.norm_names)
    want = {"cevns": ("eps", "phi"), "er": ("r_er",), "neutron": ("r_n",)}
    for s, name in enumerate(c.sample_names):
        run, kind = name.split("/")
        on = tuple(sorted(norm[k] for k in np.flatnonzero(c.incidence[s])))
        if on != want.get(kind, (f"a_{run}",)) or np.any(c.incidence[s][c.incidence[s] != 0] != 1.0):
            return None
    ctypes = dict(zip(norm, np.array(CONSTRAINTS)[c.ctype]))
    if any(t != "normal" for k, t in ctypes.items() if k != "phi") or ctypes["phi"] not in ("normal", "none"):
        return None
    grids = {c.sample_names[ge.sample]: ge for ge in c.grids}
    for r in runs:
        sig, neu = grids.get(f"{r}/cevns"), grids.get(f"{r}/neutron")
        if sig is None or neu is None or len(c.grids) != 2 * len(runs):
            return None
        if not (sig.per_point and sig.rule == "total_shape" and neu.rule == "total_shape" and not neu.per_point):
            return None
        if any(not np.array_equal(a, _ANCHORS) for a in sig.anchors + neu.anchors):
            return None
    return {"runs": runs, "norm": norm, "grids": grids}


def backend(comp: Compiled, reference_total=None, engine: str = "newton", tol: float = 1e-4, shape=None):
    """:class:`XenonLikelihood` on the arrays of ``comp`` (the declared XENONnT likelihood), or
    None when the declaration does not have its structure (:func:`_structure`) or the MIGRAD
    engine is asked for."""
    st = _structure(comp) if engine == "newton" else None
    if st is None:
        return None
    c, runs, norm = comp, st["runs"], st["norm"]
    sl = [c.channel_slices[r] for r in runs]
    idx = {name: i for i, name in enumerate(c.sample_names)}
    ac = np.concatenate([c.nominal[idx[f"{r}/ac"], s] for r, s in zip(runs, sl)])
    er = np.concatenate([c.nominal[idx[f"{r}/er"], s] for r, s in zip(runs, sl)])
    nn = np.concatenate([st["grids"][f"{r}/neutron"].diff[..., s] for r, s in zip(runs, sl)], axis=-1)
    assert c.anchor_fold is not None  # (_structure)
    fold = c.anchor_fold.reshape((c.anchor_fold.shape[0], N_ANCHORS, N_ANCHORS, -1))
    lo = np.zeros(len(norm)) if c.norm_lo is None else c.norm_lo
    hi = np.full(len(norm), np.inf) if c.norm_hi is None else c.norm_hi

    def nuisance(name):
        k = norm.index(name)
        sigma = None if CONSTRAINTS[c.ctype[k]] == "none" else float(c.sigma[k])
        return Nuisance(name, 1.0, sigma, (float(lo[k]), float(hi[k])))

    nus = [nuisance("phi"), nuisance("eps")] + [nuisance(f"a_{r}") for r in runs]
    nus += [nuisance("r_er"), nuisance("r_n")]
    nus += [Nuisance(t, 0.0, 1.0, (float(a), float(b))) for t, a, b in zip(c.grid_names, c.grid_lo, c.grid_hi)]
    like = object.__new__(XenonLikelihood)
    like.method, like.exp = "newton", None
    like._sm_pred = np.asarray(c.sm_prediction, dtype=float)
    like.phi_sigma = nus[0].sigma
    like.sr2_ac_sigma = nuisance("a_sr2").sigma if "a_sr2" in norm else None
    # the generic engine's Gaussian normalisations 2 ln(sigma sqrt(2 pi)), kept in -2 ln L
    like._norm_const = float(sum(2.0 * np.log(n.sigma) + np.log(2.0 * np.pi) for n in nus if n.sigma is not None))
    like._setup(runs, c.n, ac, er, nn, fold, nus, None)
    if c.restart_grid.size:  # the declaration's restarts (else the class defaults)
        starts = tuple(tuple(float(v) for v in row) for row in c.restart_grid)
        like.RESTART_ABOVE_SM = float(c.restart_above)
        like._T_STARTS = starts
        like._T_CORNER = min(starts, key=lambda t: (sum(t), t))  # the lowest yields: always released
    return like
