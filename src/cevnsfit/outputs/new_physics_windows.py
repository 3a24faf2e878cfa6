"""How the new-physics bounds depend on the CsI 2017 PE window (docs: gallery, new physics), and
the B-L exclusion of the new-physics section with the existing B-L bounds.

The magnetic-moment signal (dsigma/dE_r ~ 1/E_r) sits in the lowest CsI PE bins, where the
acceptance and the quenching are least known, so a one-parameter 90 % CL limit from
CsI 2017 + Ar moves with the low edge of the PE window. :func:`window_limits` recomputes every
one-parameter limit of the section (:data:`LIMITS_1D`, or the section's own declaration
``new_physics.LIMITS_1D`` where it has one) for the PE windows of the reference analysis's
Table II study (6-30, 8-30 and 16-30 PE), with the same conventions as the section
(Wilks, Delta chi2 = 2.706, paper-mode likelihoods).
"""

from __future__ import annotations

from ..inference.exclusion import exclusion
from ..inference.fits import profile_interval
from ..inference.problem import Problem
from ..likelihoods import likelihood
from . import new_physics
from .refine import with_refined

#: One-parameter limits recomputed per window, as (model, parameter) pairs; the section's own
#: ``new_physics.LIMITS_1D`` replaces this default when it declares one.
LIMITS_1D = (("magnetic-moment", "mu_nue"), ("magnetic-moment", "mu_numu"))
#: The data whose CsI part has a PE window (the reference analysis's combination).
WINDOW_DATA = ("CsI 2017 + Ar", "csi2017,cenns10")
#: The B-L exclusion: model, its two parameters of interest, and the combinations drawn.
B_L = ("b-l", ("mzp_mev", "g"))


def _declared_limits() -> tuple:
    return tuple(getattr(new_physics, "LIMITS_1D", LIMITS_1D))


def window_limits(mode: str = "paper", windows=((6, 30), (8, 30), (16, 30))) -> dict:
    """90 % CL one-parameter limits of the new-physics section from CsI 2017 + Ar for each CsI
    PE window: ``{"data", "conventions", "limits": {"lo-hi PE": {"model:poi": {...}}}}``, each
    limit with its upper limit (None where the 90 % CL set is not an upper limit), MLE, the
    set's segments and t of the null."""
    label, ds = WINDOW_DATA
    out: dict = {
        "data": label,
        "conventions": f"90 % CL, Delta chi2 = {new_physics.DELTA_90_1D:.3f} (Wilks, 1 dof), mode {mode}",
        "limits": {},
    }
    for lo, hi in windows:
        like = likelihood(ds, mode=mode, options={"csi2017": {"pe_window": (lo, hi)}})
        per = {}
        for model, poi in _declared_limits():
            v = profile_interval(Problem(like, model, [poi]), delta=new_physics.DELTA_90_1D)
            per[f"{model}:{poi}"] = {
                "model": model,
                "poi": poi,
                "unit": v.get("units", {}).get(poi, ""),
                "upper_limit": v["upper_limit"],
                "mle": v["mle"],
                "segments": v["segments"],
                "t_null": v["t_null"],
            }
        out["limits"][f"{lo}-{hi} PE"] = per
    return out


def b_l_exclusion(mode: str = "paper", n_grid: int = 61) -> tuple[dict | None, tuple | None]:
    """The 90 % CL (Wilks, 2 dof) exclusion of the B-L boson in (M_Z', g) from each combination
    of the section, as (slim results, figure entry (maps, stem, title)); the figure draws the
    existing B-L bounds (DarkCast recasts, :mod:`cevnsfit.data.limits`)."""
    model, poi = B_L
    z = new_physics._z_for_delta(new_physics.DELTA_90_2D, 2)
    maps = {}
    for label, ds in new_physics.COMBINATIONS.items():
        problem = Problem(likelihood(ds, mode=mode), model, list(poi))
        maps[label] = with_refined(exclusion(problem, (n_grid, n_grid), z=z, dof=2), problem)
    slim = {label: {**new_physics._slim(m), "contours_refined": m["contours_refined"]} for label, m in maps.items()}
    return slim, (
        maps,
        "newphys_b_l",
        "B-L boson: excluded at 90 % CL (Wilks, 2 dof); grey: existing bounds (DarkCast B-L recasts)",
    )


__all__ = ["LIMITS_1D", "b_l_exclusion", "window_limits"]
