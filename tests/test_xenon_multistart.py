"""XENONnT 8B far above the SM: the Newton profile's start rule (one descent from the SM best fit
below ``RESTART_ABOVE_SM`` times the SM rate, the multi-start search above) must find the best
minimum that 37 fully released starts find (the nominal nuisances plus a 6 x 6 grid over
(t_ly, t_qy), tight tolerance): an independent, exhaustive search of the same profile."""

import numpy as np
import pytest

from cevnsfit.datasets.xenonnt import _kernel as _xenon_kernel
from cevnsfit.datasets.xenonnt import experiment as xe
from cevnsfit.datasets.xenonnt.backend import XenonLikelihood
from cevnsfit.models import LmuLtau


@pytest.mark.parametrize("runs", [("sr0", "sr1"), ("sr0", "sr1", "sr2")])
def test_start_rule_finds_the_best_of_37_released_starts(runs):
    exp = xe.build(runs=runs)
    like = XenonLikelihood(exp)
    rng = np.random.default_rng(31)
    m, g = 10 ** rng.uniform(0.5, 3, 3000), 10 ** rng.uniform(-3, -1, 3000)
    pred = exp.predict(LmuLtau(m, g, 1.0))
    rate = pred.sum(-1) / exp.predict().sum()
    # points on both sides of the restart threshold, and far above it (up to ~10^4 x the SM)
    pick = np.concatenate(
        [
            np.flatnonzero((rate > 2) & (rate <= like.RESTART_ABOVE_SM))[:40],
            np.flatnonzero(rate > like.RESTART_ABOVE_SM)[:60],
        ]
    )
    assert pick.size == 100 and rate[pick].max() > 1e3
    p = np.ascontiguousarray(pred[pick])
    got = like.fit(p)["twice_nll"]
    grid = np.array([(a, b) for a in np.linspace(-2.5, 2.5, 6) for b in np.linspace(-2.5, 2.5, 6)])
    x0 = like._start(p, {})
    x0[:, 0] = np.minimum(1.0, 1.0 / rate[pick])
    free = np.ones(len(like.names), bool)
    best = _xenon_kernel.profile(
        p, x0, x0, np.full(len(p), 37), grid, free, like.lower, like.upper, like.centres, like.inv_var,
        like._ktab, 1e-7, 200, tol_inner=1e-9, n_release=37, signal_target=like._sm_signal(),
    )[1]  # fmt: skip
    excess = got - np.minimum(best, got)
    assert excess.max() <= 1e-6, (rate[pick][np.argmax(excess)], excess.max())
