"""Typed results of :class:`cevnsfit.Analysis` (docs: getting started, the library).

Each result is a small dataclass holding the main numbers as attributes, with a readable
``repr``, ``to_dict()`` returning exactly the dict of the function that computed it (what the
CLI writes as JSON: :func:`~cevnsfit.inference.fits.fit`,
:func:`~cevnsfit.inference.exclusion.exclusion`, ...), item access ``result["key"]`` into that
dict, and ``plot()`` where a figure fits (exclusion map, posterior, likelihood scan).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np


def _g(v) -> str:
    if v is None:
        return "None"
    try:
        return f"{float(v):.4g}"
    except (TypeError, ValueError):
        return repr(v)


def _values(d) -> str:
    return "{" + ", ".join(f"{k}: {_g(v)}" for k, v in (d or {}).items()) + "}"


def _where(data: dict) -> str:
    ds = "+".join(data.get("datasets") or [])
    mode = data.get("mode")
    return f"{data.get('model')!s} | {ds or '?'} [{mode}]" if mode else f"{data.get('model')!s} | {ds or '?'}"


@dataclass(repr=False)
class Result:
    """Base: the computing function's dict in ``data``; subclasses lift the main numbers."""

    data: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict):
        names = [f.name for f in dataclasses.fields(cls) if f.name != "data"]
        return cls(data=data, **{k: data.get(k) for k in names})

    def to_dict(self) -> dict:
        """The dict the underlying function returned (the CLI's JSON)."""
        return self.data

    def __getitem__(self, key):
        return self.data[key]

    def __contains__(self, key) -> bool:
        return key in self.data

    def keys(self):
        return self.data.keys()

    def _summary(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_where(self.data)}: {self._summary()})"


@dataclass(repr=False)
class FitResult(Result):
    """Maximum-likelihood fit (:func:`cevnsfit.inference.fits.fit`)."""

    mle: dict | None = None
    t: float | None = None
    p: float | None = None
    z_sigma: float | None = None
    logl_max: float | None = None
    logl_null: float | None = None
    dof: int | None = None

    def _summary(self) -> str:
        return f"mle={_values(self.mle)}, t={_g(self.t)}, p={_g(self.p)}, Z={_g(self.z_sigma)} sigma (Wilks, dof={self.dof})"


@dataclass(repr=False)
class IntervalResult(Result):
    """Profile-likelihood interval (:func:`cevnsfit.inference.fits.profile_interval`)."""

    poi: str | None = None
    mle: float | None = None
    delta: float | None = None
    segments: list | None = None
    upper_limit: float | None = None

    def _summary(self) -> str:
        segs = ", ".join(f"[{_g(s['low'])}, {_g(s['high'])}]" for s in self.segments or [])
        up = f", upper limit {_g(self.upper_limit)}" if self.upper_limit is not None else ""
        poi = ", ".join(self.poi) if isinstance(self.poi, list) else self.poi
        return f"{poi}: t <= {_g(self.delta)} on {segs or 'nothing'}; mle {_g(self.mle)}{up}"


@dataclass(repr=False)
class ExclusionResult(Result):
    """Exclusion map in two POIs (:func:`cevnsfit.inference.exclusion.exclusion`, Wilks, or
    :func:`cevnsfit.inference.neyman.neyman_exclusion`)."""

    method: str | None = None
    z: float | None = None
    axes: list | None = None
    t_null: float | None = None
    contours: list | None = None

    def _summary(self) -> str:
        n = np.asarray(self.data.get("t", [])).shape
        level = f"CL = {_g(self.data['cl'])}" if self.data.get("cl") is not None else f"Z = {_g(self.z)}"
        return (
            f"{self.method} at {level} in ({', '.join(self.axes or [])}), grid {n}, "
            f"{len(self.contours or [])} contour line(s), t_null = {_g(self.t_null)}"
        )

    def plot(self, ax=None):
        """t over the grid (colour) and the exclusion contour(s); returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5.5, 4.2))[1]
        x, y = (np.asarray(self.data[a]) for a in self.axes)
        t = np.asarray(self.data["t"])
        mesh = ax.pcolormesh(x, y, np.minimum(t, 25.0).T, shading="auto", cmap="Greys_r")
        ax.figure.colorbar(mesh, ax=ax, label="t = -2 ln(L / L_max) (clipped at 25)")
        for k, line in enumerate(self.contours or []):
            arr = np.asarray(line)
            ax.plot(
                arr[:, 0], arr[:, 1], color="C3", lw=1.5, label=f"excluded at {_g(self.z)} sigma" if k == 0 else None
            )
        ax.set_xlabel(self.axes[0])
        ax.set_ylabel(self.axes[1])
        ax.set_title(_where(self.data), fontsize=8)
        if self.contours:
            ax.legend(fontsize=8)
        return ax


@dataclass(repr=False)
class PosteriorResult(Result):
    """Posterior of one or two POIs (:func:`cevnsfit.inference.sampling.posterior`)."""

    sampler: str | None = None
    internal: list | None = None
    prior: dict | None = None
    log_evidence: float | None = None
    mle: dict | None = None
    hpd_68: list | None = None
    equal_tailed_68: list | None = None

    def _summary(self) -> str:
        if self.hpd_68 is not None:
            return (
                f"{self.sampler}: mle={_values(self.mle)}, 68.3 % HPD [{_g(self.hpd_68[0])}, {_g(self.hpd_68[1])}], "
                f"ln Z = {_g(self.log_evidence)}"
            )
        return (
            f"{self.sampler}: 68 % / 95 % regions in ({', '.join(self.internal or [])}), ln Z = {_g(self.log_evidence)}"
        )

    def plot(self, ax=None):
        """1D: the posterior density over the internal coordinate with the 68.3 % HPD interval;
        2D: the 68 % and 95 % regions. Returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5.5, 4.0))[1]
        names = self.internal or []
        if len(names) == 1:
            if "density" in self.data:
                ax.plot(self.data["grid"], self.data["density"], color="C0")
            else:
                ax.hist(np.asarray(self.data.get("samples", [])), bins=60, density=True, color="C0", alpha=0.6)
            lo, hi = self.data["hpd_68_internal"]
            ax.axvspan(lo, hi, color="C0", alpha=0.15, label="68.3 % HPD")
            ax.set_xlabel(names[0])
            ax.set_ylabel("posterior density")
            ax.legend(fontsize=8)
        else:
            for key, colour in (("region_95", "C1"), ("region_68", "C0")):
                for k, ring in enumerate(self.data.get(key) or []):
                    arr = np.asarray(ring)
                    ax.plot(
                        arr[:, 0], arr[:, 1], color=colour, label=key.replace("region_", "") + " %" if k == 0 else None
                    )
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
            ax.legend(fontsize=8)
        ax.set_title(_where(self.data), fontsize=8)
        return ax


@dataclass(repr=False)
class ToysResult(Result):
    """Toy-calibrated test of the null (:func:`cevnsfit.inference.toys.toys`)."""

    t_obs: float | None = None
    n_toys: int | None = None
    p_toys: float | None = None
    p_toys_err: float | None = None
    z_toys: float | None = None
    p_wilks: float | None = None
    z_wilks: float | None = None

    def _summary(self) -> str:
        return (
            f"t_obs={_g(self.t_obs)}, p_toys={_g(self.p_toys)} +- {_g(self.p_toys_err)} ({self.n_toys} toys, "
            f"Z={_g(self.z_toys)}), Wilks p={_g(self.p_wilks)} (Z={_g(self.z_wilks)})"
        )


@dataclass(repr=False)
class NeymanResult(Result):
    """Neyman construction (:func:`cevnsfit.inference.neyman.neyman_interval`, one POI)."""

    cl: float | None = None
    internal: list | None = None
    n_toys: int | None = None
    segments: list | None = None

    def _summary(self) -> str:
        segs = ", ".join(f"[{_g(s['low'])}, {_g(s['high'])}]" for s in self.segments or [])
        return f"{_g(self.cl)} CL in {', '.join(self.internal or [])}: {segs or 'empty'} ({self.n_toys} toys per point)"


@dataclass(repr=False)
class ScanResult(Result):
    """ln L on a grid of the POIs (internal coordinates) (:meth:`cevnsfit.Analysis.scan`)."""

    axes: dict | None = None
    logl: np.ndarray | None = None

    @classmethod
    def from_dict(cls, data: dict):
        axes = {n: np.asarray(data[n], dtype=float) for n in data.get("axes", [])}
        return cls(data=data, axes=axes, logl=np.asarray(data["logl"], dtype=float))

    def _summary(self) -> str:
        ll = np.asarray(self.logl if self.logl is not None else self.data.get("logl", []), dtype=float)
        top = _g(np.max(ll)) if ll.size else "n/a"
        return f"ln L on {' x '.join(map(str, ll.shape))} points of ({', '.join(self.axes or {})}), max {top}"

    def plot(self, ax=None):
        """1 POI: t = 2 (ln L_max - ln L) against the coordinate (the profile); 2 POIs: t as a
        map. Returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5.5, 4.0))[1]
        names = list(self.axes or {})
        ll = np.asarray(self.logl)
        t = 2.0 * (np.max(ll) - ll)
        if len(names) == 1:
            ax.plot(self.axes[names[0]], t, color="C0")
            ax.set_xlabel(names[0])
            ax.set_ylabel("t = 2 (ln L_max - ln L)")
        else:
            mesh = ax.pcolormesh(self.axes[names[0]], self.axes[names[1]], np.minimum(t, 25.0).T, shading="auto")
            ax.figure.colorbar(mesh, ax=ax, label="t (clipped at 25)")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
        ax.set_title(_where(self.data), fontsize=8)
        return ax


@dataclass(repr=False)
class PredictionResult(Result):
    """Expected counts of each data set at one model point (:meth:`cevnsfit.Analysis.predict`)."""

    values: dict | None = None
    totals: dict | None = None
    sm_totals: dict | None = None

    def _summary(self) -> str:
        tot = ", ".join(
            f"{k}: {_g(v)} (SM {_g((self.sm_totals or {}).get(k))})" for k, v in (self.totals or {}).items()
        )
        return f"at {_values(self.values)}: {tot}"


__all__ = [
    "ExclusionResult",
    "FitResult",
    "IntervalResult",
    "NeymanResult",
    "PosteriorResult",
    "PredictionResult",
    "Result",
    "ScanResult",
    "ToysResult",
]
