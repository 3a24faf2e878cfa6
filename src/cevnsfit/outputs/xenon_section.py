"""The XENONnT solar-8B section of the reproduction (docs: datasets, xenonnt): validation,
the 8B flux measurement (asymptotic and toy-calibrated), how the unpublished SR2
accidental-coincidence uncertainty moves it, and new physics with xenon alone and combined
with CsI + Ar: L_mu - L_tau, the universal vector and the universal scalar.

All fits use the generic inference (:mod:`cevnsfit.inference`); the 8B flux is a nuisance with
the SNO constraint whenever the model is the target.
"""

from __future__ import annotations

from scipy import stats

from ..datasets.xenonnt.analysis import b8_measurement, b8_toy_pvalue, validation
from ..inference.exclusion import exclusion
from ..inference.fits import fit
from ..inference.problem import Problem
from ..likelihoods import likelihood
from . import figures
from .refine import with_refined

#: Data combinations with xenon.
COMBINATIONS = {
    "XENONnT SR0-SR2": "xenonnt",
    "CsI 2017 + Ar + Xe": "csi2017,cenns10,xenonnt",
    "CsI 2021 + Ar + Xe": "csi2021,cenns10,xenonnt",
}
#: Without xenon, for the side-by-side maps.
WITHOUT = {"CsI 2017 + Ar": "csi2017,cenns10", "CsI 2021 + Ar": "csi2021,cenns10"}
SR2_AC_OPTIONS = (0.03, 0.0576, 0.10)
MASSES = (20.0, 100.0)


def _map(problem, n_grid: int, z: float) -> dict:
    """A 2 dof Wilks exclusion map of ``problem``, refined near its contour for the figures."""
    return with_refined(exclusion(problem, (n_grid, n_grid), z=z, dof=2), problem)


def _slim(m: dict) -> dict:
    keep = (
        "model", "poi", "datasets", "method", "dof", "z", "t_threshold", "axes", "contours", "contours_refined",
        "t_null", "units",
    )  # fmt: skip
    return {k: m[k] for k in keep if k in m}


def xenon_section(n_grid: int = 41, n_toys: int = 300, seed: int = 1, fig_paths=None, log=print) -> dict:
    """The XENONnT section of the reproduction: validation rows, the 8B measurement with toys,
    L_mu - L_tau significances and the exclusion maps (figures through ``fig_paths``)."""
    out, maps = xenon_numbers(n_grid, n_toys, seed, log)
    if fig_paths is not None:
        xenon_figures(maps, fig_paths)
    return out


def xenon_numbers(n_grid: int = 41, n_toys: int = 300, seed: int = 1, log=print) -> tuple[dict, dict]:
    """The section's results and its exclusion maps, without figures (no matplotlib: safe to
    run beside other work in a thread); :func:`xenon_figures` draws the maps."""
    out: dict = {}
    log("XENONnT: validation against the published SR0+SR1 numbers")
    v = validation(("sr0", "sr1"))
    out["validation"] = {
        k: v[k]
        for k in (
            "exposure_ty",
            "exposure_published",
            "observed",
            "observed_published",
            "background",
            "background_published",
            "sm_rate_045_10kev",
            "sm_rate_published",
            "b8_expected",
            "b8_expected_by_run",
        )
    }
    log("XENONnT: the 8B flux measurement (flux free), asymptotic and toy-calibrated")
    meas = {}
    for label, runs in (("SR0+SR1", ("sr0", "sr1")), ("SR0-SR2", ("sr0", "sr1", "sr2"))):
        m = b8_measurement(runs)
        toys = b8_toy_pvalue(runs, n_toys=n_toys, seed=seed, q0_obs=m["q0"])
        meas[label] = {
            "flux": m["flux"],
            "flux_68": list(m["flux_68"]),
            "phi_hat": m["phi_hat"],
            "q0": m["q0"],
            "z_asymptotic": m["z_asymptotic"],
            "p_toys": toys["p"],
            "p_toys_err": toys["p_err"],
            "z_toys": toys["z"],
            "z_toys_is_lower_bound": toys["z_is_lower_bound"],
            "n_toys": n_toys,
        }
    out["b8_measurement"] = meas
    out["sr2_ac_sigma_dependence"] = {
        f"{s:g}": {
            k: v
            for k, v in b8_measurement(("sr0", "sr1", "sr2"), sr2_ac_sigma=s).items()
            if k in ("flux", "flux_68", "z_asymptotic")
        }
        for s in SR2_AC_OPTIONS
    }

    log("XENONnT: L_mu - L_tau, universal vector and scalar, alone and with CsI + Ar")
    likes = {lab: likelihood(ds) for lab, ds in {**COMBINATIONS, **WITHOUT}.items()}
    sig = {}
    for lab, like in likes.items():
        sig[lab] = []
        for m in MASSES:
            r = fit(Problem(like, "lmu-ltau", ["gx"], fixed={"mzp_mev": m, "r": 1.0}))
            sig[lab].append({"mzp_mev": m, "gx_mle": r["mle"]["gx"], "t": r["t"], "z_sigma": r["z_sigma"]})
    out["lmu_ltau_significance"] = sig
    z2 = 2.0
    maps = {"lmu-ltau": {}, "universal": {}, "scalar": {}}
    for lab in ("XENONnT SR0-SR2", "CsI 2017 + Ar", "CsI 2017 + Ar + Xe", "CsI 2021 + Ar", "CsI 2021 + Ar + Xe"):
        like = likes[lab]
        maps["lmu-ltau"][lab] = _map(Problem(like, "lmu-ltau", ["mzp_mev", "gx"], fixed={"r": 1.0}), n_grid, z2)
    for lab in ("XENONnT SR0-SR2", "CsI 2017 + Ar", "CsI 2017 + Ar + Xe"):
        like = likes[lab]
        maps["universal"][lab] = _map(Problem(like, "universal", ["mzp_mev", "g"]), n_grid, z2)
        maps["scalar"][lab] = _map(Problem(like, "scalar", ["ms_mev", "gs"]), n_grid, z2)
    out["exclusions"] = {k: {lab: _slim(m) for lab, m in d.items()} for k, d in maps.items()}
    out["conventions"] = {
        "exclusions": f"{z2:g} sigma, Wilks with 2 dof (t > {stats.chi2.isf(2 * stats.norm.sf(z2), 2):.3f})",
        "b8_flux": "nuisance N(1, 0.0381) (SNO) in the new-physics fits; free in the measurement",
        "sr2_ac_sigma": "0.0576 assumed (unpublished)",
    }
    return out, maps


def xenon_figures(maps: dict, fig_paths) -> None:
    """The exclusion figures of the section (``maps`` from :func:`xenon_numbers`)."""
    titles = {
        "lmu-ltau": "L_mu - L_tau (r = 1): excluded at 2 sigma",
        "universal": "universal vector: 2 sigma",
        "scalar": "universal scalar: 2 sigma",
    }
    for k, d in maps.items():
        figures.plot_exclusion_generic(d, fig_paths(f"xenon_{k.replace('-', '_')}"), title=titles[k])


__all__ = ["COMBINATIONS", "xenon_figures", "xenon_numbers", "xenon_section"]
