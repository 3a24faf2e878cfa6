"""The object API's cost over the functions it wraps (issue 20: at most 5 %).

Two comparisons, each timed as the minimum over interleaved repeats (the least disturbed run;
other processes on the machine only ever add time):

1. ``cevnsfit.Analysis(...).fit()`` against ``fit(Problem(like, ...))`` with the same, already
   built likelihood (the L_mu - L_tau coupling at M_Z' = 20 MeV, CsI 2017 + CENNS-10);
2. a batched log-density call, ``Analysis.log_density()(X)`` for X of shape (n, 1), against
   ``Problem.logl_internal(X)`` (the prior's bookkeeping is the only extra work).

Run: ``python benchmarks/bench_analysis.py`` (prints the table, exits 1 if an overhead exceeds
5 %), or ``pytest benchmarks/bench_analysis.py``.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import cevnsfit
from cevnsfit.inference.fits import fit
from cevnsfit.inference.problem import Problem

DATA = "csi2017,cenns10"
LIMIT = 0.05


def _min_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _interleaved(a, b, rounds: int, repeats: int) -> tuple[float, float]:
    ta, tb = np.inf, np.inf
    for _ in range(rounds):
        ta = min(ta, _min_time(a, repeats))
        tb = min(tb, _min_time(b, repeats))
    return ta, tb


def measure(rounds: int = 5, n_points: int = 2000) -> dict:
    like = cevnsfit.likelihood(DATA)
    cevnsfit.Analysis(DATA, "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0}).fit()  # warm the caches

    def by_object():
        return cevnsfit.Analysis(DATA, "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0}).fit()

    def by_function():
        return fit(Problem(like, "lmu-ltau", poi=["gx"], fixed={"mzp_mev": 20.0}))

    assert by_object().to_dict() == by_function()
    t_obj, t_fun = _interleaved(by_object, by_function, rounds, 3)

    a = cevnsfit.Analysis(DATA, "magnetic-moment", poi="mu_numu")
    density = a.log_density()
    x = density.sample_prior(n_points, rng=1)
    assert np.allclose(density(x), a.problem.logl_internal(x) - np.log(4.0), rtol=1e-13)
    t_dens, t_logl = _interleaved(lambda: density(x), lambda: a.problem.logl_internal(x), rounds, 3)
    return {
        "fit": {"object_s": t_obj, "function_s": t_fun, "overhead": t_obj / t_fun - 1.0},
        "log_density": {"object_s": t_dens, "function_s": t_logl, "overhead": t_dens / t_logl - 1.0, "n": n_points},
    }


def test_object_api_overhead_below_5_percent():
    res = measure(rounds=3)
    for key, r in res.items():
        assert r["overhead"] < LIMIT, (key, r)


def main() -> int:
    res = measure()
    print(f"{'comparison':<34}{'object [ms]':>12}{'function [ms]':>15}{'overhead':>10}")
    labels = {
        "fit": "Analysis(...).fit() vs fit(Problem)",
        "log_density": f"log density, {res['log_density']['n']} points",
    }
    for key, r in res.items():
        print(
            f"{labels[key]:<34}{1e3 * r['object_s']:>12.2f}{1e3 * r['function_s']:>15.2f}{100 * r['overhead']:>9.1f}%"
        )
    return 0 if all(r["overhead"] < LIMIT for r in res.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
