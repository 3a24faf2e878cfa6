"""Experiments declared without code (docs: datasets/format): source, targets, binning and a
response assembled from named components implemented once here.

A declared experiment is the same :class:`~cevnsfit.experiments.base.Experiment` a code builder
returns: a :class:`~cevnsfit.rates.binned.SpectrumEngine` on a recoil quadrature grid per
isotope, with a response matrix R[i, e] (:func:`~cevnsfit.rates.response.response_matrix`)
built from the declared components, applied in this order:

* ``quenching``: the mean observable of a recoil E_nr [keVnr]: ``none`` (E_obs = E_nr, unit
  keVnr), ``linear`` (E_ee = qf E_nr), ``polynomial`` (E_ee = sum_i c_i E_nr^(i+1), e.g. the
  argon quenching (0.246 + 7.8e-4 E_nr) E_nr of COHERENT's CENNS-10 release);
* ``smearing``: ``none`` or ``gaussian`` with sigma^2 = stochastic^2 E + (linear E)^2 + noise^2;
* ``efficiency``: ``step`` (1 above ``threshold``) or ``table`` (piecewise constant on
  ``edges``, 0 below the first edge, the last value above the last one: a plateau), evaluated on observed-space sub-bins of width ``sub_bin_width``.

Without smearing the recoil quadrature has a breakpoint at the recoil image of every observed
(sub-)bin edge, so no node straddles an edge and the binning is exact; with smearing the
segments are at most ``max_width_kev`` (default 4) wide.
"""

from __future__ import annotations

import numpy as np

from ..constants import ISOTOPES, SIN2_THETA_W
from ..declaration import fail, observable_edges
from ..errors import DeclarationError
from ..physics.flux import StoppedPionSource
from ..physics.nucleus import Nucleus
from ..rates.binned import SpectrumEngine
from ..rates.kernels import er_endpoints
from ..rates.response import gauss_legendre_grid, response_matrix
from .base import Axis, Experiment, check_mode

#: Response components: component -> model -> its parameters (required, optional).
COMPONENTS: dict[str, dict[str, tuple[tuple, tuple]]] = {
    "quenching": {"none": ((), ()), "linear": (("qf",), ()), "polynomial": (("coefficients",), ())},
    "smearing": {"none": ((), ()), "gaussian": ((), ("stochastic", "linear", "noise", "sub_bin_width"))},
    "efficiency": {"step": (("threshold",), ("sub_bin_width",)), "table": (("edges", "values"), ("sub_bin_width",))},
}
_ORDER = tuple(COMPONENTS)
#: Options every declared experiment accepts (overrides of its declared values).
OPTIONS = ("rn_fm", "sin2_theta_w", "nodes_per_segment", "max_width_kev")


def check_response(components: list, unit: str, src, base: list) -> None:
    """Validate a declared response list (known components and models, their parameters, the
    order quenching -> smearing -> efficiency, the observable unit); :class:`DeclarationError`."""
    seen: list[str] = []
    for i, comp in enumerate(components):
        name = comp["component"]
        if name not in COMPONENTS:
            fail(src, base + [i, "component"], f"unknown response component {name!r}; known: {', '.join(COMPONENTS)}")
        if name in seen:
            fail(src, base + [i, "component"], f"response component {name!r} is given twice")
        if seen and _ORDER.index(name) < _ORDER.index(seen[-1]):
            fail(
                src,
                base + [i],
                f"components apply in the order {' -> '.join(_ORDER)}; {name!r} comes after {seen[-1]!r}",
            )
        seen.append(name)
        models = COMPONENTS[name]
        model = comp.get("model", "none" if "none" in models else None)
        if model not in models:
            fail(src, base + [i, "model"], f"unknown {name} model {model!r}; known: {', '.join(models)}")
        required, optional = models[model]
        for key in required:
            if key not in comp:
                fail(
                    src,
                    base + [i],
                    f"{name} model {model!r} needs {key!r}; parameters: {', '.join(required + optional)}",
                )
        extra = set(comp) - {"component", "model", "source"} - set(required) - set(optional)
        if extra:
            fail(
                src,
                base + [i, sorted(extra)[0]],
                f"{name} model {model!r} takes no {sorted(extra)[0]!r}; parameters: {', '.join(required + optional) or 'none'}",
            )
        if name == "efficiency" and model == "table":
            if len(comp["values"]) != len(comp["edges"]) - 1 or np.any(np.diff(comp["edges"]) <= 0):
                fail(
                    src,
                    base + [i],
                    "a table efficiency has increasing 'edges' and one value per bin (len(values) = len(edges) - 1)",
                )
    quench = next((c for c in components if c["component"] == "quenching"), {"model": "none"})
    want = "keVnr" if quench.get("model", "none") == "none" else "keVee"
    if unit != want:
        fail(
            src,
            base[:-1] + ["observable", "unit"],
            f"with quenching {quench.get('model', 'none')!r} the observable is in {want}, not {unit}",
        )


def check_anchors(exp_decl: dict, src, base: list) -> None:
    """``experiment.anchors``: each ``set`` names a scalar parameter of a declared response
    component; :class:`DeclarationError` otherwise."""
    comps = {c["component"]: c for c in exp_decl.get("response", [])}
    for i, anc in enumerate(exp_decl.get("anchors", [])):
        comp, key = anc["set"].split(".", 1)
        if comp not in comps:
            fail(
                src,
                base + ["anchors", i, "set"],
                f"no {comp!r} component in the response; declared: {', '.join(comps) or 'none'}",
            )
        model = comps[comp].get("model", "none")
        required, optional = COMPONENTS[comp][model]
        scalars = [k for k in required + optional if k not in ("coefficients", "edges", "values")]
        if key not in scalars:
            fail(
                src,
                base + ["anchors", i, "set"],
                f"{comp} model {model!r} has no scalar parameter {key!r}; allowed: {', '.join(scalars) or 'none'}",
            )


class AnchoredExperiment:
    """A declared experiment whose response is evaluated at a grid of parameter values
    (``experiment.anchors``): one :class:`~cevnsfit.experiments.base.Experiment` per anchor (first
    axis slowest); ``predict`` returns ``points + anchor_shape + shape`` (the anchor axes just
    before the bin axes), which a signal ``gridsys`` with ``templates: prediction`` interpolates."""

    def __init__(self, experiments: list, anchor_shape: tuple, settings: list):
        self.experiments = experiments
        self.anchor_shape = tuple(anchor_shape)
        base = experiments[0]
        self.name, self.mode, self.axes, self.matching = base.name, base.mode, base.axes, base.matching
        self.data = base.data
        self.info = dict(base.info, anchors=settings)

    @property
    def shape(self) -> tuple:
        return self.experiments[0].shape

    def predict(self, model=None, **kw) -> np.ndarray:
        preds = [e.predict(model, **kw) for e in self.experiments]
        axis = preds[0].ndim - len(self.shape)
        out = np.stack(preds, axis=axis)
        return out.reshape(out.shape[:axis] + self.anchor_shape + out.shape[axis + 1 :])


def _components(decl_exp: dict) -> dict:
    out = {"quenching": {"model": "none"}, "smearing": {"model": "none"}, "efficiency": None}
    for comp in decl_exp.get("response", []):
        c = dict(comp)
        c.setdefault("model", "none")
        out[c["component"]] = c
    return out


def quench(comp: dict, enr_kev):
    """Mean observable of recoils ``enr_kev`` [keVnr] under a ``quenching`` component.

    >>> float(quench({"model": "polynomial", "coefficients": [0.246, 7.8e-4]}, 20.0))
    5.232
    """
    e = np.asarray(enr_kev, dtype=float)
    model = comp.get("model", "none")
    if model == "none":
        return e
    if model == "linear":
        return comp["qf"] * e
    return sum(c * e ** (i + 1) for i, c in enumerate(comp["coefficients"]))


def _recoil_images(comp: dict, obs) -> np.ndarray:
    """Recoil energies whose mean observable is ``obs`` (monotone quenching), by bisection-free
    inversion: exact for none/linear, Newton for a polynomial."""
    obs = np.asarray(obs, dtype=float)
    model = comp.get("model", "none")
    if model == "none":
        return obs
    if model == "linear":
        return obs / comp["qf"]
    c = comp["coefficients"]
    e = obs / c[0]
    for _ in range(50):
        f = quench(comp, e) - obs
        fp = sum((i + 1) * ci * e**i for i, ci in enumerate(c))
        e = e - f / fp
    return e


def _efficiency(comp: dict | None):
    if comp is None:
        return None
    if comp["model"] == "step":
        thr = float(comp["threshold"])
        return lambda e: (np.asarray(e) >= thr).astype(float)
    edges = np.asarray(comp["edges"], dtype=float)
    values = np.asarray(comp["values"], dtype=float)

    def table(e):
        e = np.asarray(e, dtype=float)
        idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, values.size - 1)
        return np.where(e < edges[0], 0.0, values[idx])  # the last value holds above the table

    return table


def _source(decl_src: dict) -> StoppedPionSource:
    return StoppedPionSource(float(decl_src["pot"]), float(decl_src["nu_per_pot"]), float(decl_src["distance_m"]))


def _anchored_experiment(decl: dict, src, mode: str, options: dict) -> AnchoredExperiment:
    """:func:`build_experiment` at every combination of the declared anchors."""
    import copy
    import itertools

    check_anchors(decl["experiment"], src, ["experiment"])
    axes = decl["experiment"]["anchors"]
    exps, settings = [], []
    for combo in itertools.product(*(a["values"] for a in axes)):
        d = copy.deepcopy(decl)
        d["experiment"].pop("anchors")
        for anc, value in zip(axes, combo):
            comp, key = anc["set"].split(".", 1)
            next(c for c in d["experiment"]["response"] if c["component"] == comp)[key] = float(value)
        exps.append(build_experiment(d, mode, **options))
        settings.append({a["set"]: float(v) for a, v in zip(axes, combo)})
    return AnchoredExperiment(exps, tuple(len(a["values"]) for a in axes), settings)


def _sub_edges(edges, smeared: bool, eff_comp, comps: dict) -> np.ndarray:
    """:func:`build_experiment`'s fine bins of the observable (the response's columns)."""
    sub_w = (eff_comp or {}).get("sub_bin_width") or comps["smearing"].get("sub_bin_width")
    if sub_w is None:
        sub_edges = edges
        if smeared:  # a fine grid below, through and above the observed range
            width = float(np.min(np.diff(edges))) / 10.0
            sub_edges = np.arange(0.0, edges[-1] + width * 0.5, width)
    else:
        sub_edges = np.arange(0.0 if smeared else edges[0], edges[-1] + 0.5 * sub_w, sub_w)
    return sub_edges


def _target_isotopes(tgt, options, comps, bins, smeared, nodes, max_width, isotopes, targets_info) -> None:
    """One declared target's isotopes (nucleus, targets, recoil nodes, response) appended to the lists."""
    edges, sub_edges = bins
    eff_comp = comps["efficiency"]
    comp = tgt["composition"]
    molar = sum(c * ISOTOPES[iso]["atomic_mass_u"] for iso, c in comp.items())
    for iso, count in comp.items():
        rn = options.get("rn_fm", tgt.get("rn_fm", ISOTOPES[iso]["charge_radius_fm"]))
        rn = rn[iso] if isinstance(rn, dict) else rn
        nuc = Nucleus.from_table(iso, float(rn), tgt.get("form_factor", "helm"))
        nt = count * float(tgt["mass_kg"]) * 1e3 * _N_A() / molar
        ends = er_endpoints(nuc)
        hi_kev = ends["delayed"] * 1e3
        extra = [ends["prompt"] * 1e3, hi_kev]
        if smeared:
            bps = [0.0] + extra
        else:
            images = _recoil_images(comps["quenching"], sub_edges)
            bps = [b for b in images if b < hi_kev] + extra
        er_kev, w_kev = gauss_legendre_grid(sorted(bps), nodes, max_width=max_width)
        mean = quench(comps["quenching"], er_kev)
        sm = comps["smearing"]
        a, b, c = (float(sm.get(k, 0.0)) for k in ("stochastic", "linear", "noise"))
        resp = response_matrix(
            mean,
            sub_edges,
            edges,
            "gaussian" if smeared else "none",
            efficiency=_efficiency(eff_comp),
            width=lambda e, a=a, b=b, c=c: np.sqrt(a * a * np.maximum(e, 0.0) + (b * e) ** 2 + c * c),
        )
        isotopes.append((nuc, nt, er_kev * 1e-3, w_kev * 1e-3, resp))
        targets_info.append({"isotope": iso, "n_targets": nt, "rn_fm": float(rn), "form_factor": nuc.form_factor})


def build_experiment(decl: dict, mode: str = "paper", **options) -> Experiment:
    """The :class:`~cevnsfit.experiments.base.Experiment` of a loaded declaration
    (:func:`cevnsfit.declaration.load`) whose ``experiment`` section is declared (a code
    ``builder`` is imported and called with ``mode`` and ``options``).

    Options: those of the declaration's ``options`` section that concern the experiment, and
    :data:`OPTIONS` (``rn_fm`` for every isotope, ``sin2_theta_w``, ``nodes_per_segment``,
    ``max_width_kev``); anything else is a :class:`~cevnsfit.errors.DeclarationError`.
    """
    check_mode(mode)
    src = decl.get("_source", decl.get("name"))
    exp_decl = decl["experiment"]
    if "builder" in exp_decl:
        from ..declaration import import_object

        return import_object(exp_decl["builder"])(mode=mode, **options)
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise DeclarationError(
            f"{src}: options: unknown experiment option {sorted(unknown)[0]!r}; allowed: {', '.join(OPTIONS)}"
        )
    if exp_decl.get("anchors"):
        return _anchored_experiment(decl, src, mode, options)  # type: ignore[return-value]
    quad = exp_decl.get("quadrature", {})
    nodes = int(options.get("nodes_per_segment", quad.get("nodes_per_segment", 8)))
    sin2 = float(options.get("sin2_theta_w", exp_decl.get("sin2_theta_w", SIN2_THETA_W)))
    comps = _components(exp_decl)
    smeared = comps["smearing"]["model"] != "none"
    max_width = options.get("max_width_kev", quad.get("max_width_kev", 4.0 if smeared else None))
    edges = observable_edges(exp_decl["observable"]["binning"])
    eff_comp = comps["efficiency"]
    sub_edges = _sub_edges(edges, smeared, eff_comp, comps)
    source = _source(exp_decl["source"])
    isotopes, targets_info = [], []
    for tgt in exp_decl["targets"]:
        _target_isotopes(tgt, options, comps, (edges, sub_edges), smeared, nodes, max_width, isotopes, targets_info)
    engine = SpectrumEngine(source, isotopes, sin2)
    obs = exp_decl["observable"]
    info = {
        "declared": True,
        "source": dict(exp_decl["source"]),
        "targets": targets_info,
        "mass_kg": float(sum(t["mass_kg"] for t in exp_decl["targets"])),
        "response": [dict(c) for c in exp_decl.get("response", [])],
        "binning": f"{edges[0]:g}-{edges[-1]:g} {obs['unit']}, {edges.size - 1} bins",
    }
    return Experiment(decl["name"], mode, (Axis(obs["name"], edges, obs["unit"]),), engine, info=info, matching=mode)


def _N_A() -> float:
    from ..constants import N_A

    return N_A


__all__ = [
    "COMPONENTS",
    "OPTIONS",
    "AnchoredExperiment",
    "build_experiment",
    "check_anchors",
    "check_response",
    "quench",
]
