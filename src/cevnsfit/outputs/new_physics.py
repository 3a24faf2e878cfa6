"""New physics from the same data (docs: gallery, new physics): neutrino magnetic moments, a
universal light scalar, the weak mixing angle, vector NSI, neutrino charge radii and
millicharges, and the Z' of the U(1) family (le-lmu, le-ltau, b-3l_alpha) in the (M_Z', g)
plane, each from CsI 2017 + Ar and from CsI 2021 + Ar, through the model-independent inference
of :mod:`cevnsfit.inference`.

Conventions (stated in the report): 90 % CL limits and allowed regions use Wilks thresholds
Delta chi^2 = 2.706 (one parameter) and 4.605 (two), the usual convention of the CEvNS
literature these numbers are compared with; the weak mixing angle gets its 1 sigma
(Delta chi^2 = 1) interval. Paper-mode likelihoods.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..inference.exclusion import exclusion
from ..inference.fits import profile_interval
from ..inference.problem import Problem
from ..likelihoods import likelihood
from . import figures

#: Data combinations of the section.
COMBINATIONS = {"CsI 2017 + Ar": "csi2017,cenns10", "CsI 2021 + Ar": "csi2021,cenns10"}
DELTA_90_1D = float(stats.chi2.ppf(0.90, 1))
DELTA_90_2D = float(stats.chi2.ppf(0.90, 2))
NSI_PAIRS = {"ee": ("eps_u_ee", "eps_d_ee"), "mumu": ("eps_u_mumu", "eps_d_mumu")}
#: Photon-exchange parameters with 1-D 90 % CL intervals (others fixed at 0) and their scan
#: ranges (8 n_grid + 1 points: 489 in the full run, 169 with --quick).
PHOTON_LIMITS = {
    "charge-radius": {p: (-100.0, 100.0) for p in ("r2_ee", "r2_mumu")},
    "millicharge": {p: (-1e-6, 1e-6) for p in ("q_ee", "q_mumu")},
}
#: U(1)-family presets excluded in the (M_Z', g) plane (eps = 0 where it is a constant; b-3ltau has
#: no effect on a stopped-pion beam, which carries no nu_tau, so it is left out).
U1_EXCLUSIONS = ("le-lmu", "le-ltau", "b-3le", "b-3lmu")  # b-3ltau: no nu_tau at a stopped-pion source


def _z_for_delta(delta: float, dof: int) -> float:
    """Z whose Wilks threshold with ``dof`` is ``delta`` (for :func:`exclusion`'s ``z``)."""
    return float(stats.norm.isf(stats.chi2.sf(delta, dof) / 2.0))


def new_physics(mode: str = "paper", n_grid: int = 61, fig_paths=None) -> dict:
    """Every result of the section; ``fig_paths(name)`` gives the figure files to write."""
    out, figs = new_physics_numbers(mode, n_grid)
    if fig_paths is not None:
        new_physics_figures(figs, fig_paths)
    return out


def new_physics_figures(figs: list, fig_paths) -> None:
    """Draw the section's figures (``figs`` from :func:`new_physics_numbers`)."""
    for maps, stem, title in figs:
        figures.plot_exclusion_generic(maps, fig_paths(stem), title=title)


def _scan_combination(like, n_grid: int) -> dict:
    """Every new-physics scan of one data-set combination (the section's entries)."""
    z2 = _z_for_delta(DELTA_90_2D, 2)
    return {
        "mag": {p: _limit(Problem(like, "magnetic-moment", [p])) for p in ("mu_nue", "mu_numu")},
        "mag2d": exclusion(Problem(like, "magnetic-moment", ["mu_nue", "mu_numu"]), (n_grid, n_grid), z=z2, dof=2),
        "scal": exclusion(Problem(like, "scalar", ["ms_mev", "gs"]), (n_grid, n_grid), z=z2, dof=2),
        "s2w": profile_interval(Problem(like, "weak-mixing", ["s2w"]), delta=1.0, grid=np.linspace(0.1, 0.4, 601)),
        "nsi": {
            k: exclusion(Problem(like, "nsi", list(v)), (n_grid, n_grid), z=z2, dof=2) for k, v in NSI_PAIRS.items()
        },
        "photon": {
            model: {
                p: profile_interval(
                    Problem(like, model, [p]), delta=DELTA_90_1D, grid=np.linspace(lo, hi, 8 * n_grid + 1)
                )
                for p, (lo, hi) in ranges.items()
            }
            for model, ranges in PHOTON_LIMITS.items()
        },
        "u1": {
            name: exclusion(Problem(like, name, ["mzp_mev", "g"]), (n_grid, n_grid), z=z2, dof=2)
            for name in U1_EXCLUSIONS
        },
    }


def _figure_list(mag2d, scal, nsi, u1) -> list:
    """The section's figures as (maps by combination, file stem, title)."""
    return (
        [
            (dict(mag2d), "newphys_magnetic_moment", "magnetic moments: 90 % CL (region outside excluded)"),
            (scal, "newphys_scalar", "universal scalar: 90 % CL exclusion"),
        ]
        + [
            (
                {lab: d[k] for lab, d in nsi.items()},
                f"newphys_nsi_{k}",
                f"vector NSI ({k}): excluded at 90 % CL (allowed: unshaded)",
            )
            for k in NSI_PAIRS
        ]
        + [
            (
                {lab: d[name] for lab, d in u1.items()},
                f"newphys_u1_{name.replace('-', '_')}",
                f"U(1) {name} Z' (M_Z', g): excluded at 90 % CL",
            )
            for name in U1_EXCLUSIONS
        ]
    )


def new_physics_numbers(mode: str = "paper", n_grid: int = 61) -> tuple[dict, list]:
    """The section's results and its figures as (maps, file stem, title), without drawing them
    (no matplotlib: safe to run beside other work in a thread)."""
    out: dict = {
        "conventions": {
            "limits_1d": "90 % CL, Delta chi2 = 2.706 (Wilks, 1 dof)",
            "regions_2d": "90 % CL, Delta chi2 = 4.605 (Wilks, 2 dof)",
            "s2w": "MLE with the Delta chi2 = 1 interval",
            "mode": mode,
        }
    }
    per = {label: _scan_combination(likelihood(ds, mode=mode), n_grid) for label, ds in COMBINATIONS.items()}
    mag, mag2d, scal, s2w, nsi, photon, u1 = (
        {lab: r[k] for lab, r in per.items()} for k in ("mag", "mag2d", "scal", "s2w", "nsi", "photon", "u1")
    )
    out["magnetic_moment_90cl"] = {
        lab: {
            p: {"upper_limit_mu_B": v["upper_limit"], "mle": v["mle"], "segments": v["segments"]} for p, v in d.items()
        }
        for lab, d in mag.items()
    }
    out["magnetic_moment_2d"] = {lab: _slim(m) for lab, m in mag2d.items()}
    out["scalar_exclusion"] = {lab: _slim(m) for lab, m in scal.items()}
    out["weak_mixing"] = {
        lab: {
            "s2w_mle": v["mle"],
            "interval_1sigma": [(s["low"], s["high"]) for s in v["segments"]],
            "t_vs_sm_value": v["t_null"],
        }
        for lab, v in s2w.items()
    }
    out["nsi_allowed"] = {lab: {k: _slim(m) for k, m in d.items()} for lab, d in nsi.items()}
    out["photon_exchange_90cl"] = {
        lab: {
            model: {
                p: {"mle": v["mle"], "intervals": [(s["low"], s["high"]) for s in v["segments"]], "unit": unit}
                for p, v in d.items()
            }
            for model, d in by_model.items()
            for unit in [PHOTON_UNITS[model]]
        }
        for lab, by_model in photon.items()
    }
    out["photon_exchange_published"] = PHOTON_PUBLISHED
    out["u1_exclusion"] = {lab: {k: _slim(m) for k, m in d.items()} for lab, d in u1.items()}
    figs = _figure_list(mag2d, scal, nsi, u1)
    return out, figs


#: Units of the photon-exchange parameters.
PHOTON_UNITS = {"charge-radius": "1e-32 cm^2", "millicharge": "e"}
#: Published CEvNS results the photon-exchange limits are compared with (docs: physics/models,
#: photon exchange, where the comparison is made): the references, by data combination.
PHOTON_PUBLISHED = {
    "CsI 2017 + Ar": "Cadeddu et al., PRD 102 (2020) 015030, arXiv:2005.01645 (COHERENT CsI 2017 + CENNS-10)",
    "CsI 2021 + Ar": "Atzori Corona et al., JHEP 09 (2022) 164, arXiv:2205.09484 (COHERENT CsI 2021 + CENNS-10)",
}


def _limit(problem) -> dict:
    return profile_interval(problem, delta=DELTA_90_1D)


def _slim(m: dict) -> dict:
    keep = ("model", "poi", "datasets", "method", "dof", "t_threshold", "axes", "contours", "t_null", "units")
    return {k: m[k] for k in keep if k in m}


__all__ = ["COMBINATIONS", "PHOTON_LIMITS", "U1_EXCLUSIONS", "new_physics"]
