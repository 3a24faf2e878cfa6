"""The posterior of an inference problem as a plain log density, for external samplers
(docs: samplers).

A :class:`LogDensity` is a function of a named, bounded vector x: the parameters of interest
in their *internal* coordinates (log10 of a parameter whose declared prior is log-uniform,
the value itself for a uniform prior: :meth:`~cevnsfit.models.parameters.Parameter.to_internal`).
In those coordinates every declared prior is flat over its box, so

    ln p(x) = ln L(x) + ln pi(x),   ln pi(x) = -sum_i ln(high_i - low_i) inside the box, -inf outside,

the density :func:`cevnsfit.inference.sampling.posterior` integrates on a grid or samples with
nested sampling. It takes one point (shape (d,)) or a batch (shape (n, d)) and returns a float
or an (n,) array: emcee's ``EnsembleSampler(..., vectorize=True)`` uses it as it is;
:meth:`LogDensity.bilby` and :meth:`LogDensity.cobaya` adapt it for bilby and cobaya (imported
only there). Points outside the box get -inf without evaluating the likelihood.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


class LogDensity:
    """ln posterior of ``problem``'s POIs (see the module doc). Attributes: ``names`` (internal
    coordinate names), ``bounds`` ((low, high) per name), ``parameters`` (the declarations)."""

    def __init__(self, problem):
        self.problem = problem
        self.parameters = problem.poi_parameters
        self.names = tuple(problem.internal_names)
        self.bounds = tuple(problem.internal_box)
        self._lo = np.array([b[0] for b in self.bounds])
        self._hi = np.array([b[1] for b in self.bounds])
        self._log_volume = float(np.sum(np.log(self._hi - self._lo)))

    @property
    def ndim(self) -> int:
        return len(self.names)

    def _points(self, x) -> tuple[np.ndarray, bool]:
        arr = np.asarray(x, dtype=float)
        single = arr.ndim == 1
        arr = np.atleast_2d(arr)
        if arr.ndim != 2 or arr.shape[1] != self.ndim:
            raise ParameterError(
                f"expected points of shape ({self.ndim},) or (n, {self.ndim}) for {self.names}, got {np.shape(x)}"
            )
        return arr, single

    def inside(self, x) -> np.ndarray:
        """Whether each point lies in the prior box (closed)."""
        arr, _ = self._points(x)
        return np.all((arr >= self._lo) & (arr <= self._hi) & np.isfinite(arr), axis=1)

    def log_prior(self, x):
        """ln pi(x): -ln(box volume) inside the box, -inf outside."""
        arr, single = self._points(x)
        out = np.where(self.inside(arr), -self._log_volume, -np.inf)
        return float(out[0]) if single else out

    def log_likelihood(self, x):
        """ln L(x) (the problem's, profiled parameters maximised); -inf outside the box."""
        arr, single = self._points(x)
        ok = self.inside(arr)
        out = np.full(arr.shape[0], -np.inf)
        if np.any(ok):
            out[ok] = np.asarray(self.problem.logl_internal(arr[ok]), dtype=float)
        return float(out[0]) if single else out

    def __call__(self, x):
        """ln L(x) + ln pi(x) (unnormalised log posterior); -inf outside the box."""
        arr, single = self._points(x)
        out = self.log_likelihood(arr) - self._log_volume
        return float(out[0]) if single else out

    def to_values(self, x) -> dict:
        """Internal coordinates -> {parameter name: value in its unit}."""
        arr, single = self._points(x)
        vals = {p.name: p.from_internal(arr[:, i]) for i, p in enumerate(self.parameters)}
        return {k: float(v[0]) for k, v in vals.items()} if single else vals

    def sample_prior(self, n: int, rng=None) -> np.ndarray:
        """``n`` points drawn from the prior (uniform in the box), shape (n, d): e.g. walkers' starts."""
        rng = np.random.default_rng(rng)
        return self._lo + (self._hi - self._lo) * rng.random((int(n), self.ndim))

    def __repr__(self) -> str:
        box = ", ".join(f"{n} in [{lo:g}, {hi:g}]" for n, (lo, hi) in zip(self.names, self.bounds))
        return f"LogDensity({self.problem.model_name}: {box})"

    # -- adapters -------------------------------------------------------------------------
    def bilby(self):
        """(likelihood, priors) for ``bilby.run_sampler``: a ``bilby.Likelihood`` whose
        ``parameters`` are :attr:`names` and a ``PriorDict`` of ``Uniform`` priors over
        :attr:`bounds`. Needs bilby (imported here)."""
        try:
            import bilby
        except ImportError as exc:
            raise ImportError("LogDensity.bilby() needs bilby: pip install bilby") from exc
        density = self

        class CevnsfitLikelihood(bilby.Likelihood):
            def __init__(self):
                super().__init__(parameters={n: None for n in density.names})

            def log_likelihood(self):
                return density.log_likelihood(np.array([self.parameters[n] for n in density.names], dtype=float))

        priors = bilby.core.prior.PriorDict(
            {n: bilby.core.prior.Uniform(lo, hi, name=n) for n, (lo, hi) in zip(self.names, self.bounds)}
        )
        return CevnsfitLikelihood(), priors

    def cobaya(self, sampler: dict | None = None) -> dict:
        """A cobaya input dict (``cobaya.run(info)``): one external likelihood ``cevnsfit``
        taking :attr:`names` as input parameters and returning ln L, uniform priors over
        :attr:`bounds`, and ``sampler`` (default ``{"mcmc": {}}``). Plain Python: cobaya is
        only needed to run it."""
        density = self

        def cevnsfit_logl(**values) -> float:
            return density.log_likelihood(np.array([values[n] for n in density.names], dtype=float))

        return {
            "likelihood": {"cevnsfit": {"external": cevnsfit_logl, "input_params": list(self.names)}},
            "params": {n: {"prior": {"min": lo, "max": hi}} for n, (lo, hi) in zip(self.names, self.bounds)},
            "sampler": sampler if sampler is not None else {"mcmc": {}},
        }


__all__ = ["LogDensity"]
