"""One object for an analysis: data sets, a model, its parameters of interest, and every
statistical method as a method (docs: getting started, the library).

>>> import cevnsfit
>>> a = cevnsfit.Analysis("csi2017,cenns10", "lmu-ltau", poi="gx", fixed={"mzp_mev": 20.0})  # doctest: +SKIP
>>> a.fit()                                                                                     # doctest: +SKIP
FitResult(lmu-ltau | csi2017+cenns10 [paper]: mle={gx: 0.000...}, t=..., p=..., Z=... sigma (Wilks, dof=1))

:class:`Analysis` builds a :class:`~cevnsfit.inference.problem.Problem` once and hands it to
the functions of :mod:`cevnsfit.inference` (:func:`~cevnsfit.inference.fits.fit`,
:func:`~cevnsfit.inference.fits.profile_interval`, :func:`~cevnsfit.inference.exclusion.exclusion`,
:func:`~cevnsfit.inference.sampling.posterior`, :func:`~cevnsfit.inference.toys.toys`,
:func:`~cevnsfit.inference.neyman.neyman_interval` / ``neyman_exclusion``,
:func:`~cevnsfit.inference.scan.grid_scan`); it computes nothing itself. Results are the typed
objects of :mod:`cevnsfit.inference.results`; ``result.to_dict()`` is the function's dict.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np

from .errors import ParameterError
from .inference.problem import Problem, ProblemSpec
from .inference.results import (
    ExclusionResult,
    FitResult,
    IntervalResult,
    NeymanResult,
    PosteriorResult,
    PredictionResult,
    ScanResult,
    ToysResult,
)

#: ``scheduler`` value of :meth:`Analysis.exclusion` / :meth:`Analysis.scan` that evaluates the
#: grid in this process in one vectorised call (no Dask, no files).
IN_PROCESS = "in-process"


class Analysis:
    """An inference problem built in one step from names or objects.

    ``datasets``: data-set names (a list or a comma-separated string, e.g. ``"csi2017,cenns10"``)
    or a :class:`~cevnsfit.likelihoods.Likelihood`. ``model``: a catalogue name (``"lmu-ltau"``),
    a '+' combination, a :class:`~cevnsfit.models.base.Model` subclass (e.g. defined in a
    notebook), an instance of one (one point: its values become the defaults) or a list of these.
    ``poi``: the parameter(s) of interest (a name or a list; default: the model's parameters not
    fixed or profiled, if there are one or two). ``fixed``: values of other parameters;
    ``profile``: parameters maximised over at every point. ``mode``: ``"paper"`` or ``"full"``;
    ``options``: data-set builder options by data set (as :func:`cevnsfit.likelihood`);
    ``model_options``: model constructor options that are not parameters (``paper_sign``);
    ``matching``: the BSM normalisation (default: the mode's).

    With data-set names the analysis can also run on Dask (``scheduler=`` of :meth:`scan`,
    :meth:`exclusion`, :meth:`toys`, :meth:`neyman`): only the names and the model (pickled by
    value if it is not part of cevnsfit) travel to the workers.
    """

    def __init__(
        self,
        datasets,
        model,
        poi: str | Sequence[str] | None = None,
        fixed: dict | None = None,
        profile: Sequence[str] = (),
        mode: str = "paper",
        options: dict | None = None,
        *,
        model_options: dict | None = None,
        matching: str | None = None,
    ):
        from .likelihoods import Likelihood, _parse, likelihood
        from .models import parameters_of

        if isinstance(profile, str):
            profile = (profile,)
        fixed = dict(fixed or {})
        if poi is None:
            free = [p.name for p in parameters_of(model) if p.name not in fixed and p.name not in profile]
            if len(free) not in (1, 2):
                raise ParameterError(
                    f"give poi=: the model has {len(free)} free parameters ({', '.join(free) or 'none'}); "
                    "methods take one or two parameters of interest"
                )
            poi = free
        if isinstance(datasets, Likelihood):
            like, self.spec = datasets, None
            if options or matching:
                raise ParameterError("options/matching apply to data-set names; this Likelihood is already built")
        else:
            names = tuple(_parse(datasets))
            if matching is None:
                from .inference.scan import cached_likelihood

                like = cached_likelihood(list(names), mode, options)
            else:
                like = likelihood(list(names), mode=mode, matching=matching, options=options)
            self.spec = None
        self.problem = Problem(like, model, poi, fixed, profile, model_options)
        if not isinstance(datasets, Likelihood) and matching is None:
            p = self.problem
            self.spec = ProblemSpec(names, mode, dict(options or {}), model, p.poi, p.fixed, p.profile, p.options)

    # -- what it is -----------------------------------------------------------------------
    @property
    def likelihood(self):
        """The :class:`~cevnsfit.likelihoods.Likelihood` (a product of data-set terms)."""
        return self.problem.like

    @property
    def parameters(self):
        """The model's declared parameters (:class:`~cevnsfit.models.parameters.Parameter`)."""
        return self.problem.parameters

    @property
    def poi(self) -> tuple[str, ...]:
        return self.problem.poi

    def describe(self) -> dict:
        return self.problem.describe()

    def __repr__(self) -> str:
        d = self.problem.describe()
        extra = "".join(f", {k}={d[k]!r}" for k in ("fixed", "profile") if d[k])
        return f"Analysis({'+'.join(d['datasets'])} [{d['mode']}], {d['model']}, poi={list(d['poi'])}{extra})"

    def _distributable(self, scheduler):
        """The spec (names travel) for a Dask scheduler, else the problem itself."""
        if scheduler == "synchronous" or scheduler == IN_PROCESS:
            return self.problem
        if self.spec is None:
            raise ParameterError(
                "a Dask scheduler needs an Analysis built from data-set names (and the mode's matching): "
                "workers rebuild the likelihood from them; this one was given a Likelihood object"
            )
        return self.spec

    # -- evaluation -----------------------------------------------------------------------
    def logl(self, *values) -> np.ndarray:
        """ln L at POI values (in the order of ``poi``, natural units, broadcasting)."""
        return self.problem.logl(*values)

    def model(self, **values):
        """The model object at POI (and profiled) ``values``, the other parameters fixed."""
        return self.problem.model(**values)

    def predict(self, **values) -> PredictionResult:
        """Expected counts per bin of every data set at ``values`` (POIs; missing ones at their
        declared defaults) and in the SM (each term's ``expected``)."""
        point = {**self.problem.null_values(), **values}
        model = self.problem.model(**point)
        like = self.problem.like
        counts = {dt.name: np.asarray(dt.expected(model), dtype=float) for dt in like.terms}
        sm = {dt.name: np.asarray(dt.expected(None), dtype=float) for dt in like.terms}
        data = {
            **self.problem.describe(),
            "values": {k: float(v) for k, v in point.items()},
            "expected": {k: v.tolist() for k, v in counts.items()},
            "expected_sm": {k: v.tolist() for k, v in sm.items()},
            "totals": {k: float(v.sum()) for k, v in counts.items()},
            "sm_totals": {k: float(v.sum()) for k, v in sm.items()},
        }
        return PredictionResult.from_dict(data)

    # -- methods --------------------------------------------------------------------------
    def fit(self, grid=None, dof: int | None = None, scheduler=IN_PROCESS) -> FitResult:
        """Maximum-likelihood fit and Wilks test of the null (:func:`cevnsfit.inference.fits.fit`),
        here or, with a Dask ``scheduler`` (see :meth:`scan`), as one task on a worker."""
        from .inference.fits import fit

        if scheduler == IN_PROCESS:
            return FitResult.from_dict(fit(self.problem, grid=grid, dof=dof))
        from .inference.scan import run_tasks

        target = self._distributable(scheduler)
        out = run_tasks(_on_worker, [(target, "fits:fit", {"grid": grid, "dof": dof})], scheduler=scheduler)[0]
        return FitResult.from_dict(out)

    def interval(self, delta: float = 1.0, grid=None) -> IntervalResult:
        """Profile-likelihood interval {t <= ``delta``} of one POI (1.0: 68.3 %; 2.706: 90 % CL)
        (:func:`cevnsfit.inference.fits.profile_interval`)."""
        from .inference.fits import profile_interval

        return IntervalResult.from_dict(profile_interval(self.problem, delta=delta, grid=grid))

    def scan(
        self,
        n=None,
        axes=None,
        scheduler=IN_PROCESS,
        out_dir=None,
        chunk_size: int = 2000,
        n_workers: int | None = None,
        progress: bool = False,
    ) -> ScanResult:
        """ln L on a grid of the POIs in internal coordinates (``axes``, or ``n`` points per POI
        over the declared prior box: 401 for one POI, (101, 121) for two).

        ``scheduler``: :data:`IN_PROCESS` (default: one vectorised call here), or the checkpointed
        Dask scan (:func:`cevnsfit.inference.scan.grid_scan`): ``None`` (embedded LocalCluster),
        ``"synchronous"``, a scheduler address or a ``distributed.Client``; ``out_dir`` holds its
        chunks (a temporary directory if not given) and makes it resumable."""
        pars = self.problem.poi_parameters
        names = self.problem.internal_names
        if axes is None:
            n = n or ((401,) if len(pars) == 1 else (101, 121))
            n = (int(n),) * len(pars) if np.ndim(n) == 0 else tuple(int(k) for k in n)
            if len(n) != len(pars) or min(n) < 2:
                raise ParameterError(f"n must give >= 2 points for each of {names}, got {n}")
            axes = [np.linspace(*p.internal_range, k) for p, k in zip(pars, n)]
        axes = [np.asarray(a, dtype=float) for a in axes]
        if len(axes) != len(pars):
            raise ParameterError(f"axes must give one 1D array per parameter of interest {names}, got {len(axes)}")
        if scheduler == IN_PROCESS:
            mesh = np.meshgrid(*axes, indexing="ij")
            logl = np.asarray(self.problem.logl_internal(np.stack(mesh, axis=-1)), dtype=float)
        else:
            from .inference.scan import ProblemEvaluator, grid_scan

            target = self._distributable(scheduler)
            spec = target if isinstance(target, ProblemSpec) else self.spec
            if spec is None:  # synchronous with a Likelihood object: evaluate here
                mesh = np.meshgrid(*axes, indexing="ij")
                logl = np.asarray(self.problem.logl_internal(np.stack(mesh, axis=-1)), dtype=float)
            else:
                logl = grid_scan(
                    ProblemEvaluator(spec),
                    dict(zip(names, axes)),
                    out_dir or tempfile.mkdtemp(prefix="cevnsfit-scan-"),
                    chunk_size=chunk_size,
                    scheduler=scheduler,
                    progress=progress,
                    n_workers=n_workers,
                )
        data = {
            **self.problem.describe(),
            "axes": list(names),
            **{k: a.tolist() for k, a in zip(names, axes)},
            "logl": logl.tolist(),
        }
        return ScanResult(data=data, axes=dict(zip(names, axes)), logl=logl)

    def exclusion(
        self,
        n=None,
        z: float = 2.0,
        dof: int = 2,
        axes=None,
        method: str = "wilks",
        scheduler=IN_PROCESS,
        out_dir=None,
        chunk_size: int = 2000,
        n_workers: int | None = None,
        progress: bool = False,
        **neyman_options,
    ) -> ExclusionResult:
        """Exclusion map of two POIs at ``z`` sigma.

        ``n``: points per POI over the declared prior box (default (101, 121)), or ``axes``: the
        grid itself (internal coordinates); not both.
        ``method="wilks"``: :func:`cevnsfit.inference.exclusion.exclusion` (t against the chi2
        quantile with ``dof``), ln L from :meth:`scan` on ``scheduler`` (default in-process; see
        :meth:`scan` for Dask). ``method="neyman"``: the toy-calibrated map
        (:func:`cevnsfit.inference.neyman.neyman_exclusion`, its options as keywords; ``n`` is
        then its fine grid and ``construction_n`` the grid of the toy construction)."""
        if method == "neyman":
            from .inference.neyman import neyman_exclusion

            target = self._distributable(scheduler if scheduler != IN_PROCESS else "synchronous")
            sched = "synchronous" if scheduler == IN_PROCESS else scheduler
            kw = {
                "fine_n": tuple(n or (101, 121)),
                "scheduler": sched,
                "out_dir": out_dir,
                "progress": progress,
                **neyman_options,
            }
            if "construction_n" in kw:  # the coarse grid of the construction (neyman_exclusion's n)
                kw["n"] = kw.pop("construction_n")
            return ExclusionResult.from_dict(neyman_exclusion(target, z=z, n_workers=n_workers, **kw))
        if method != "wilks":
            raise ParameterError(f"method must be 'wilks' or 'neyman', got {method!r}")
        if neyman_options:
            raise ParameterError(f"unknown option(s) for the Wilks map: {', '.join(sorted(neyman_options))}")
        from .inference.exclusion import exclusion

        if len(self.problem.poi) != 2:
            raise ParameterError(f"an exclusion map needs two parameters of interest, got {self.problem.poi}")
        logl_grid, ax = None, axes
        if scheduler != IN_PROCESS:
            s = self.scan(n, axes, scheduler, out_dir, chunk_size, n_workers, progress)
            logl_grid, ax = s.logl, list((s.axes or {}).values())
        if n is not None and axes is not None:
            raise ParameterError("give n (points per axis over the prior box) or axes (the grid itself), not both")
        grid_n = None if ax is not None else tuple(n or (101, 121))
        return ExclusionResult.from_dict(exclusion(self.problem, grid_n, z, dof, logl_grid, ax))

    def posterior(self, sampler: str = "grid", **options) -> PosteriorResult:
        """Posterior of the POIs with the declared priors (:func:`cevnsfit.inference.sampling.posterior`;
        ``sampler``: ``"grid"``, ``"ultranest"`` or ``"dynesty"``; options: ``seed``, ``n_grid``, ...)."""
        from .inference.sampling import posterior

        return PosteriorResult.from_dict(posterior(self.problem, sampler=sampler, **options))

    def toys(self, n_toys: int = 200, seed: int = 1, scheduler=IN_PROCESS, **options) -> ToysResult:
        """Toy-MC p-value of the null for one POI (:func:`cevnsfit.inference.toys.toys`; ``scheduler``
        as in :meth:`scan`, the in-process default running the chunks one after the other)."""
        from .inference.toys import toys

        sched = "synchronous" if scheduler == IN_PROCESS else scheduler
        return ToysResult.from_dict(toys(self._distributable(sched), n_toys, seed, sched, **options))

    def neyman(self, cl: float = 0.6827, scheduler=IN_PROCESS, **options):
        """Neyman construction: one POI, the interval (:func:`cevnsfit.inference.neyman.neyman_interval`,
        a :class:`NeymanResult`); two POIs, the exclusion map at ``cl`` (an :class:`ExclusionResult`)."""
        from .inference.neyman import neyman_exclusion, neyman_interval

        sched = "synchronous" if scheduler == IN_PROCESS else scheduler
        target = self._distributable(sched)
        if len(self.problem.poi) == 1:
            return NeymanResult.from_dict(neyman_interval(target, cl=cl, scheduler=sched, **options))
        return ExclusionResult.from_dict(neyman_exclusion(target, cl=cl, scheduler=sched, **options))

    def log_density(self):
        """The log posterior over the POIs' internal coordinates with the declared priors, for
        external samplers (emcee, bilby, cobaya): a :class:`~cevnsfit.inference.density.LogDensity`."""
        from .inference.density import LogDensity

        return LogDensity(self.problem)


def _on_worker(problem_or_spec, function: str, kwargs: dict):
    """One task: ``cevnsfit.inference.<module>.<function>(problem, **kwargs)`` on a worker, the
    problem built there from its spec (names and the model, shipped by value)."""
    import importlib

    module, name = function.split(":")
    problem = problem_or_spec.build() if isinstance(problem_or_spec, ProblemSpec) else problem_or_spec
    return getattr(importlib.import_module(f"cevnsfit.inference.{module}"), name)(problem, **kwargs)


__all__ = ["IN_PROCESS", "Analysis"]
