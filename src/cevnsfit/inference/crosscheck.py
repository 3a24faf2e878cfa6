"""CENNS-10 argon cross-check: the release's own template fit (docs: datasets/cenns10, the argon cross-check).

The CENNS-10 Analysis A data (12 x 8 x 10 bins in energy, F90, t_trig) are fitted with one
global normalisation per component k in (CEvNS, SS, prompt BRN, delayed BRN),

    mu_i(N, alpha) = sum_k N_k p_ki(alpha),      sum_i p_ki = 1,

where p_k is the release's template of component k normalised to unit sum (so N_k is the
fitted total number of events of k in the whole grid). The test statistic minimised is

    -2 ln L(N, alpha) = -2 sum_i [ n_i ln mu_i - mu_i - ln Gamma(n_i + 1) ]
                        + sum_{k != CEvNS} ((N_k - c_k) / sigma_k)^2 + sum_j alpha_j^2,

with flat (unconstrained) CEvNS, Gaussian constraints on the backgrounds centred on the
release's central values (SS 3152 +- 25, prompt BRN 497 +- 30 %, delayed BRN 33 +- 100 %;
companion document arXiv:2006.12659, Table 2) and, optionally, one unit-Gaussian nuisance
alpha_j per shape systematic of the release. The result is compared with COHERENT's own fit
(companion Table 2: CEvNS 159 +- 43, SS 3131 +- 23, prompt BRN 553 +- 34, delayed BRN 10 +- 11).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from iminuit import Minuit

from ..datasets.cenns10.templates import COMPONENTS, RELATIVE_WIDTHS, SHAPE_SYSTEMATICS, TEMPLATE_KEYS, release_morph
from ..errors import ParameterError, UnknownNameError
from ..experiments import get_experiment
from ..likelihoods.morph import TemplateMorph, interpolation_weights, mirrored_shape, unit_shape
from ..likelihoods.profile import minimise
from ..likelihoods.stats import log_poisson

#: ln P(n | mu) (kept under its old name; :func:`cevnsfit.likelihoods.stats.log_poisson`).
poisson_logpmf = log_poisson

CEVNS_TEMPLATES = ("release", "computed")
_TINY = 1e-300  # floor on mu: a morph that drives a bin negative is (heavily) disfavoured, not NaN


@dataclass(frozen=True)
class CrosscheckModel:
    """Binned template model mu_i(N, alpha) with Gaussian constraints (module docstring).

    ``shapes``: (4, n_bins) unit-sum templates in :data:`COMPONENTS` order. ``centres``/``sigmas``:
    (4,) constraint centres and widths (NaN/inf for the free CEvNS total). ``morph``: the shape
    nuisances (:class:`cevnsfit.likelihoods.morph.TemplateMorph`, "linear" rule = pyhf histosys
    code 0), each acting on the component ``morph.component_of[j]``:

        p_k(alpha) = p_k + sum_{j on k} [ alpha_j (p_j^+ - p_k)  if alpha_j >= 0
                                          alpha_j (p_k - p_j^-)  if alpha_j < 0 ].

    Every variant is renormalised to unit sum, i.e. to its nominal total, so p_k(alpha) keeps
    unit sum and N_k stays the component total.
    """

    shapes: np.ndarray
    centres: np.ndarray
    sigmas: np.ndarray
    morph: TemplateMorph | None = None

    @property
    def nuisances(self) -> tuple:
        return self.morph.names if self.morph is not None else ()

    @property
    def parameters(self) -> tuple:
        return COMPONENTS + self.nuisances

    def expected(self, totals, alphas=()) -> np.ndarray:
        """mu_i for totals N (4,) and nuisances alpha (n_nuisances,); shape (n_bins,)."""
        totals = np.asarray(totals, dtype=float)
        mu = totals @ self.shapes
        if self.nuisances:
            mu = mu + self.morph.shift(alphas, scale=totals[self.morph.component_of])
        return mu

    @property
    def aux(self) -> np.ndarray:
        """Nominal auxiliary data a = (c_ss, c_prompt, c_delayed, 0, ..., 0): the constraint centres."""
        return np.concatenate([self.centres[1:], np.zeros(len(self.nuisances))])

    def asimov(self, totals, alphas=()) -> tuple[np.ndarray, np.ndarray]:
        """Asimov dataset at (N, alpha): counts mu_i(N, alpha) and auxiliary data set to the truth."""
        totals = np.asarray(totals, dtype=float)
        alphas = np.zeros(len(self.nuisances)) if len(alphas) == 0 else np.asarray(alphas, dtype=float)
        return self.expected(totals, alphas), np.concatenate([totals[1:], alphas])

    def twice_nll(self, params, counts, aux=None) -> float:
        """-2 ln L at ``params`` = (N_cevns, N_ss, N_prompt, N_delayed, alpha_1, ...).

        ``aux`` overrides the auxiliary data (the centres of the Gaussian constraints on
        N_ss, N_prompt, N_delayed, alpha_1, ...), e.g. for an Asimov dataset.
        """
        params = np.asarray(params, dtype=float)
        totals, alphas = params[:4], params[4:]
        mu = np.maximum(self.expected(totals, alphas), _TINY)
        a = self.aux if aux is None else np.asarray(aux, dtype=float)
        pulls = (totals[1:] - a[:3]) / self.sigmas[1:]
        shifts = alphas - a[3:]
        return float(-2.0 * np.sum(log_poisson(counts, mu)) + pulls @ pulls + shifts @ shifts)

    def grad_twice_nll(self, params, counts, aux=None) -> np.ndarray:
        """Gradient of :meth:`twice_nll`: d/dtheta = -2 sum_i (n_i/mu_i - 1) dmu_i/dtheta + constraints,
        with dmu_i/dN_k = p_ki(alpha) and dmu_i/dalpha_j = N_k(j) delta^+-_ji (side of alpha_j)."""
        params = np.asarray(params, dtype=float)
        totals, alphas = params[:4], params[4:]
        mu = np.maximum(self.expected(totals, alphas), _TINY)
        w = -2.0 * (np.asarray(counts, dtype=float) / mu - 1.0)  # (n_bins,)
        a = self.aux if aux is None else np.asarray(aux, dtype=float)
        g_tot = self.shapes @ w
        if self.nuisances:
            comp = self.morph.component_of
            dw = self.morph.jacobian(alphas) @ w  # (J,)
            # d shift / d N_k = sum_{j on k} [f_+ D^+ + f_- D^-]_j (= alpha_j delta_j for the linear rule)
            fp, fm = interpolation_weights(alphas, self.morph.interpolation)
            g_tot = g_tot + np.bincount(
                comp, weights=fp * (self.morph.delta_plus @ w) + fm * (self.morph.delta_minus @ w), minlength=4
            )
            g_alpha = totals[comp] * dw + 2.0 * (alphas - a[3:])
        else:
            g_alpha = np.zeros(0)
        g_tot[1:] += 2.0 * (totals[1:] - a[:3]) / self.sigmas[1:] ** 2
        return np.concatenate([g_tot, g_alpha])


def build_model(exp, shape_systematics: bool = False, cevns_template: str = "release") -> CrosscheckModel:
    """The cross-check model of an experiment holding the CENNS-10 release templates.

    ``cevns_template="computed"`` takes the CEvNS shape from ``exp.predict()`` (our SM
    prediction) instead of the release's template; the release's CEvNS shape variations are
    then applied as the same additive shifts p^+- - p_release around it.
    """
    if cevns_template not in CEVNS_TEMPLATES:
        raise UnknownNameError(f"cevns_template must be one of {CEVNS_TEMPLATES}, got {cevns_template!r}")
    release = {k: unit_shape(exp.data[TEMPLATE_KEYS[k]]) for k in COMPONENTS}
    shapes = dict(release)
    if cevns_template == "computed":
        shapes["cevns"] = unit_shape(exp.predict())
    cv = exp.info["cv"]
    centres = np.array([np.nan] + [cv[k][0] for k in COMPONENTS[1:]])
    sigmas = np.array([np.inf, cv["ss"][1]] + [RELATIVE_WIDTHS[k] * cv[k][0] for k in COMPONENTS[2:]])
    model = dict(shapes=np.stack([shapes[k] for k in COMPONENTS]), centres=centres, sigmas=sigmas)
    if shape_systematics:
        model["morph"] = release_morph(exp.data, COMPONENTS, SHAPE_SYSTEMATICS, interpolation="linear")
    return CrosscheckModel(**model)


def _minuit(model, counts, aux, start, tol, fixed=None) -> Minuit:
    """MIGRAD (strategy 2) on -2 ln L through the project's one minimiser."""
    return minimise(
        lambda p: model.twice_nll(p, counts, aux),
        start,
        grad=lambda p: model.grad_twice_nll(p, counts, aux),
        names=model.parameters,
        errors=[10.0, 25.0, 30.0, 10.0] + [0.5] * len(model.nuisances),
        fixed=fixed,
        tol=tol,
        strategy=2,
        retry=False,
    )


def _hessian_errors(model, counts, aux, x, scale) -> np.ndarray:
    """Standard errors sqrt(diag 2 H^-1) of -2 ln L at its minimum ``x``, with H the central
    difference of the exact gradient (:meth:`CrosscheckModel.grad_twice_nll`) over steps of 1e-4
    of HESSE's errors ``scale``. HESSE's own numerical second derivatives move at the 1e-6 level
    between iminuit versions (2.33 moved the CEvNS error by 1.5e-6); these do not."""
    h = 1e-4 * np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    hess = np.empty((x.size, x.size))
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h[i]
        hess[:, i] = (model.grad_twice_nll(x + step, counts, aux) - model.grad_twice_nll(x - step, counts, aux)) / (
            2.0 * h[i]
        )
    hess = 0.5 * (hess + hess.T)
    return np.sqrt(np.diag(2.0 * np.linalg.inv(hess)))


def fit_model(
    model: CrosscheckModel, counts, aux=None, minos: bool = True, significance: bool = True, tol: float = 1e-6
) -> dict:
    """Minimise -2 ln L with MIGRAD (strategy 2), errors from the exact gradient's Hessian
    (:func:`_hessian_errors`), MINOS for N_cevns.

    Starts from the release's central values (CEvNS: data total minus backgrounds, alpha = 0);
    ``aux`` overrides the constraint centres (:meth:`CrosscheckModel.twice_nll`); ``tol`` is
    MIGRAD's (EDM < 2e-3 tol; tight because it is cheap here and makes Asimov closure exact to
    ~1e-6 rather than ~1e-4).
    ``significance_cevns`` = sqrt(t) with t = -2 ln L(N_cevns = 0, rest profiled) - min(-2 ln L)
    (Wilks, one degree of freedom, one-sided: Z = sqrt(t)). Returns a JSON-ready dict: each
    component and ``pulls[nuisance]`` as [best, hesse_error], ``cevns_minos`` [low, high].
    """
    counts = np.asarray(counts, dtype=float).ravel()
    if counts.shape != model.shapes.shape[1:]:
        raise ParameterError(f"counts must have {model.shapes.shape[1]} bins, got {counts.size}")
    if aux is not None and np.shape(aux) != model.aux.shape:
        raise ParameterError(f"aux must have {model.aux.size} entries, got {np.size(aux)}")
    start = np.concatenate(
        [[max(counts.sum() - model.centres[1:].sum(), 1.0)], model.aux[:3], np.zeros(len(model.nuisances))]
    )
    m = _minuit(model, counts, aux, start, tol)
    m.hesse()
    valid = bool(m.valid)
    x = np.array(m.values)
    err = _hessian_errors(model, counts, aux, x, np.array(m.errors))
    out = {k: [float(m.values[k]), float(err[i])] for i, k in enumerate(COMPONENTS)}
    if minos:
        m.minos("cevns")
        me = m.merrors["cevns"]
        out["cevns_minos"] = [float(me.lower), float(me.upper)]
        valid = valid and bool(me.is_valid)
    if model.nuisances:
        out["pulls"] = {k: [float(m.values[k]), float(err[4 + j])] for j, k in enumerate(model.nuisances)}
    out["valid"] = valid
    out["nll_min"] = float(m.fval)
    if significance:
        m0 = _minuit(model, counts, aux, np.array(m.values), tol, fixed={"cevns": 0.0})
        t = max(float(m0.fval) - float(m.fval), 0.0)
        out["significance_cevns"] = float(np.sqrt(t))
    return out


def argon_crosscheck(mode: str = "paper", shape_systematics: bool = False, cevns_template: str = "release") -> dict:
    """Fit the CENNS-10 Analysis A data as COHERENT did (docs: datasets/cenns10, the argon cross-check).

    Minimises, over N = (N_cevns, N_ss, N_prompt, N_delayed) and shape nuisances alpha,

        -2 ln L = -2 sum_i [n_i ln mu_i - mu_i - ln Gamma(n_i + 1)]
                  + ((N_ss - 3152)/25)^2 + ((N_prompt - 497)/(0.3 * 497))^2
                  + ((N_delayed - 33)/33)^2 + sum_j alpha_j^2,
        mu_i = sum_k N_k p_ki(alpha),

    over all 960 bins, p_k the release templates at unit sum (see :class:`CrosscheckModel` for
    the shape morphing). Returns a JSON-ready dict: ``cevns``, ``ss``, ``prompt_brn``,
    ``delayed_brn`` as [best, hesse_error]; ``cevns_minos`` [low, high]; ``published``
    (companion Table 2); ``valid``; ``nll_min``; ``significance_cevns``. With
    ``shape_systematics`` the same fit with the five shape nuisances of the release is added
    under ``systematics`` (shifted best fits and ``pulls``). ``cevns_template="computed"`` uses
    our SM prediction ``exp.predict()`` for the CEvNS shape.
    """
    exp = get_experiment("cenns10", mode)
    counts = exp.data["data"]
    out = fit_model(build_model(exp, False, cevns_template), counts)
    out["published"] = {k: [float(v) for v in exp.info["best_fit"][k]] for k in COMPONENTS}
    out["cevns_template"] = cevns_template
    out["mode"] = mode
    if shape_systematics:
        out["systematics"] = fit_model(build_model(exp, True, cevns_template), counts)
    return out


__all__ = [
    "COMPONENTS",
    "SHAPE_SYSTEMATICS",
    "CrosscheckModel",
    "argon_crosscheck",
    "build_model",
    "fit_model",
    "mirrored_shape",
    "poisson_logpmf",
    "unit_shape",
]
