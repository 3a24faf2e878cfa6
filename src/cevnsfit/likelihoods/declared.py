"""The declared binned likelihood: channels, samples and modifiers (docs: datasets/format).

The vocabulary is HistFactory's (Cranmer et al., CERN-OPEN-2012-016; pyhf, Heinrich et al.,
JOSS 6 (2021) 2823), with a CEvNS signal computed by the rate engine. In bin b of the
concatenated channels the expected count is

    lam_b(u, alpha) = sum_s Y_s(u) X_sb(alpha),     Y_s = prod_{k on s} y_k,  y_k = e^{u_k},
    X_sb(alpha) = N_sb + sum_{j on s} [f_+(alpha_j) D+_jsb + f_-(alpha_j) D-_jsb] R_sb,

N_s the nominal sample (the model's prediction for the signal ``cevns``, a template for a
background), y_k = 1 + a_k the factor of a normalisation modifier k (``normfactor``,
``normsys``, ``lumi``; one name on several samples is one parameter, e.g. an efficiency),
alpha_j a ``histosys`` shape nuisance with the interpolation rules of
:mod:`cevnsfit.likelihoods.morph` (``linear`` = pyhf code 0, ``quadratic`` = code 2), R = 1 on
a template (additive shifts in counts) and R = N_s on the signal (the release's variation
relative to its nominal template, applied to the model's prediction). With ``shape_only``
the templates are compared at unit sum (times the sample total), so the variation leaves
the total to the normalisation modifiers.

Beyond HistFactory's shape modifiers:

* ``gridsys``: a sample's templates at the anchors of one or two parameters theta, interpolated
  linearly (1D) or bilinearly (2D) per bin (:func:`grid_interpolate`); the sample moves by
  G(theta) - G(theta_nominal) (relative to the release's nominal on the signal), theta is
  bounded to its anchors (no extrapolation) with an optional normal constraint. With
  ``templates: prediction`` the signal's anchor templates are the model's predictions at each
  anchor (the experiment's ``anchor_shape`` axes, :meth:`ProfiledBinned._unpack`).
* ``gridsys`` with ``interpolation: total_shape`` (blueice's rule): the template's total
  and unit-sum shape interpolated separately and multiplied (:func:`grid_total_shape`; its
  curvature inside a cell enters the Hessian); ``templates: {data: key}`` an experiment array of
  all anchors; a section's ``fold`` maps the experiment's prediction into the channels' bins at
  each anchor; ``bounds`` on a normalisation factor; ``restarts`` from declared grid starts
  for large signals (:meth:`ProfiledBinned._restart`).
* ``staterror``/``shapesys``: one factor gamma_b per bin on the templates carrying it (normal
  N(1, delta_b) or Poisson Pois(tau_b; gamma_b tau_b), Barlow-Beeston lite), at its closed-form
  optimum (:func:`stat_optimum`) at every evaluation; the engine profiles
  F(x) = min_gamma F(x, gamma) with the Schur-complement Hessian (:meth:`ProfiledBinned._fun`).
* ``shapefactor`` (HistFactory's free factor, extended): one factor gamma_g >= 0 per **group** of
  bins (``groups``; default one group per bin) on the templates carrying it, free or measured by
  an auxiliary Poisson count A_g = sum_{b in g} aux_b ~ Pois(gamma_g tau_g), tau_g =
  tau sum_{b in g} N_b (``aux``, ``tau``: the auxiliary exposure over the channel's), e.g. a
  steady-state background flat within a group and measured off-beam; at its optimum per group
  (a vectorised monotone Newton root solve, :func:`group_optimum`) at every evaluation, with the
  group Schur-complement Hessian.

The objective, gradient and Hessian of declarations without these run in a compiled kernel
(:mod:`cevnsfit.likelihoods._declared_kernel`) when numba is importable, with this module's
numpy implementation as its twin (the same numbers to rounding).

Constraints (terms of -2 ln L, with their normalisation constants):

* ``normal``: a_k ~ N(0, sigma) -- (a_k / sigma)^2 + 2 ln(sigma sqrt(2 pi));
* ``lognormal``: ln y_k ~ N(0, ln(1 + sigma)) (pyhf's exponential normsys);
* ``gamma``: y_k ~ Gamma(shape 1/sigma^2, mean 1);
* ``normfactor``: none (a free normalisation); ``histosys``: alpha_j ~ N(0, 1).

``treatment: profiled`` (full mode): ln L_p(theta) = max over the nuisances (u, alpha, grid) of
sum_b ln P(n_b; lam_b) + constraints, by :func:`~cevnsfit.likelihoods.profile.projected_newton`
with the exact gradient and Hessian below, vectorised over parameter points; points it does
not converge on are profiled with MIGRAD (:class:`~cevnsfit.likelihoods.profile.ProfileEngine`)
and keep the lower minimum. Normalisations enter through u = ln y (no bound, u <= 30 as a
cap); bin means driven <= 0 by a morph are floored at 1e-12 (no derivative there).

``treatment: marginalised`` (paper mode): every nuisance is a normal normsys, marginalised
per bin; the normalisations enter the mean linearly, so lam_b ~ N(mu_b, s_b^2),
s_b^2 = sum_k sigma_k^2 (sum_{s on k} N_sb)^2, and
L_b = Int_0^inf N(lam; mu_b, s_b^2) P(n_b; lam) dlam
(:func:`~cevnsfit.likelihoods.gaussian_poisson.log_smeared_poisson`).

Nuisances shared between data sets: a modifier with ``shared: KEY`` is one parameter across
every term that opts in with the option ``share=[KEY]``; :func:`merge_shared` joins such
terms into one profiled term (constraints must agree, else
:class:`~cevnsfit.errors.DeclarationError`). By default every data set keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from ..declaration import SOURCE_KEY, fail, import_object, shared_constraints
from ..errors import DeclarationError, ParameterError, UnknownNameError
from . import _declared_kernel as _kernel
from .datasets import DatasetTerm
from .gaussian_poisson import log_smeared_poisson
from .morph import interpolation_slopes, interpolation_weights, mirrored_shape, unit_shape
from .paper import AsimovPoisson
from .profile import ProfileEngine, projected_newton

_U_MAX = 30.0
_LAM_FLOOR = 1e-12
_LN_2PI = float(np.log(2.0 * np.pi))
_EMPTY2, _EMPTY3 = np.empty((0, 0)), np.empty((0, 0, 0))
#: Constraint types of normalisation modifiers (``none`` = normfactor).
CONSTRAINTS = ("none", "normal", "lognormal", "gamma")
#: Per-bin modifiers (one factor per bin, profiled in closed form): normal and Poisson constraints.
STAT_TYPES = ("staterror", "shapesys")
#: Per-group free factors with an optional auxiliary Poisson measurement (profiled by a root solve).
GROUP_TYPES = ("shapefactor",)
#: Likelihood options every declared term accepts.
TERM_OPTIONS = ("share", "engine", "tol", "backend")
#: ``backend`` option: ``auto`` (a compiled fast path when the declaration has its structure) or
#: ``generic`` (always :class:`ProfiledBinned`).
BACKENDS = ("auto", "generic")
ENGINES = ("newton", "migrad")


# ---------------------------------------------------------------------------------------------
# compiling declarations into arrays
# ---------------------------------------------------------------------------------------------


@dataclass
class Part:
    """One declared likelihood section with its experiment: the unit :func:`compile_parts` joins."""

    section: dict
    experiment: Any
    matching: str
    name: str
    source: str
    share: tuple = ()
    prefix: str = ""


@dataclass
class Compiled:
    """The arrays of a declared binned likelihood (module docstring), over B bins."""

    n: np.ndarray  # (B,) observed counts
    asimov: bool
    is_signal: np.ndarray  # (S,)
    nominal: np.ndarray  # (S, B) templates (0 on signal samples)
    mask: np.ndarray  # (S, B) 1 on the sample's channel
    norm_names: tuple
    ctype: np.ndarray  # (K,) index into CONSTRAINTS
    sigma: np.ndarray  # (K,)
    incidence: np.ndarray  # (S, K)
    alpha_names: tuple
    entry_sample: np.ndarray  # (E,)
    entry_alpha: np.ndarray  # (E,)
    dplus: np.ndarray  # (E, B)
    dminus: np.ndarray  # (E, B)
    relative: np.ndarray  # (E,) bool: multiplies the signal
    quadratic: np.ndarray  # (E,) bool: quadratic (code 2) else linear (code 0)
    sample_names: tuple = ()
    channel_slices: dict = field(default_factory=dict)
    doc: dict = field(default_factory=dict)
    entry_shape_only: np.ndarray | None = None  # (E,) histosys on unit-sum templates
    entry_p0: np.ndarray | None = None  # (E, B) the unit-sum nominal of each histosys entry
    grid_names: tuple = ()  # gridsys parameters
    grid_lo: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,) lowest anchor of each
    grid_hi: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,) highest anchor
    grid_nominal: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,)
    grid_sigma: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,) normal constraint width (inf: none)
    grids: tuple = ()  # GridEntry per gridsys modifier
    anchor_shape: tuple = ()  # the signal's prediction anchors (``templates: prediction``)
    anchor_w0: np.ndarray = field(default_factory=lambda: np.ones(1))  # their weights at the nominal
    stat_sample: np.ndarray = field(
        default_factory=lambda: np.zeros(0, bool)
    )  # (S,) bool: carries its channel's per-bin factors
    stat_kind: np.ndarray = field(
        default_factory=lambda: np.zeros(0, int)
    )  # (B,) 0 none, 1 staterror (normal), 2 shapesys (Poisson)
    stat_delta: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (B,) staterror relative width
    stat_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (B,) shapesys auxiliary count (N/sigma)^2
    norm_lo: np.ndarray | None = None  # (K,) lower bound of each normalisation factor y (``bounds``; None: 0)
    norm_hi: np.ndarray | None = None  # (K,) upper bound (None: none)
    anchor_fold: np.ndarray | None = None  # (n_pred, anchors, B): section ``fold``, prediction -> bins per anchor
    restart_above: float = np.inf  # section ``restarts.above``: multiple of the SM signal total
    sm_prediction: np.ndarray | None = None  # the experiment's SM prediction (flattened; set by build_term)
    restart_grid: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n, T) grid-parameter starts
    group_sample: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (S,) carries a shapefactor
    group_index: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # (B,) group of each bin (-1: none)
    group_aux: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (G,) auxiliary count A_g
    group_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (G,) its mean per unit factor tau_g

    @property
    def names(self) -> tuple:
        return self.norm_names + self.alpha_names + self.grid_names

    @property
    def n_bins(self) -> int:
        return int(self.n.size)


@dataclass
class GridEntry:
    """One ``gridsys`` modifier: sample ``sample`` moved by interp(theta) - interp(theta_0), the
    templates ``diff`` (m_1, m_2, B) (m_2 = 1 in 1D) minus their interpolation at the nominal
    parameters, relative to the release's nominal on a signal sample (``relative``)."""

    sample: int
    params: tuple  # indices into Compiled.grid_names (1 or 2)
    anchors: tuple  # anchor arrays, one per parameter
    diff: np.ndarray
    relative: bool
    per_point: bool = False  # templates: prediction (the model's prediction at each anchor, per point)
    rule: str = "bilinear"  # or "total_shape" (:func:`grid_total_shape`)
    g0: np.ndarray | None = None  # total_shape: the interpolation at the nominal parameters (B,)


class _PerPoint:
    """``d[i, j]`` of per-point templates (P, m_1, m_2, B): point p's template at (i_p, j_p)."""

    def __init__(self, diff, rows):
        self.diff, self.rows = diff, rows

    def __getitem__(self, key):
        i, j = key
        return self.diff[self.rows, i, j]


def grid_cell(anchors: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell index i, fraction (t - a_i)/(a_{i+1} - a_i), cell width) of t on the anchors: the cell
    right of an interior anchor (right derivatives there); t is inside [a_0, a_last] (bounds).

    >>> [v.tolist() for v in grid_cell(np.array([-1.0, 0.0, 2.0]), np.array([-1.0, 0.5, 2.0]))]
    [[0, 1, 1], [0.0, 0.25, 1.0], [1.0, 2.0, 2.0]]
    """
    i = np.clip(np.searchsorted(anchors, t, side="right") - 1, 0, anchors.size - 2)
    width = anchors[i + 1] - anchors[i]
    return i, (t - anchors[i]) / width, width


def grid_interpolate(entry: GridEntry, theta: np.ndarray, diff: np.ndarray | None = None):
    """(G, [dG/dtheta_i], d2G/dtheta_1 dtheta_2 or None) of a grid entry at theta (P, 1 or 2),
    each (P, B): linear between the two neighbouring anchors in 1D, bilinear on the cell in 2D,

        G = (1-f_1)(1-f_2) T_00 + f_1 (1-f_2) T_10 + (1-f_1) f_2 T_01 + f_1 f_2 T_11,

    f_i the fractions of :func:`grid_cell` (exact at the anchors, and for templates linear in
    each parameter; d2G/dtheta_i^2 = 0 inside a cell). ``diff`` (P, m_1, m_2, B): templates per
    point (``templates: prediction``) instead of the entry's."""
    d: Any
    if diff is None:
        d = entry.diff
    else:
        rows = np.arange(theta.shape[0])
        d = _PerPoint(diff, rows)
    i, fx, hx = grid_cell(entry.anchors[0], theta[:, 0])
    if len(entry.params) == 1:
        t0, t1 = d[i, 0], d[i + 1, 0]
        return t0 + fx[:, None] * (t1 - t0), [(t1 - t0) / hx[:, None]], None
    j, fy, hy = grid_cell(entry.anchors[1], theta[:, 1])
    t00, t10, t01, t11 = d[i, j], d[i + 1, j], d[i, j + 1], d[i + 1, j + 1]
    fx, fy = fx[:, None], fy[:, None]
    val = (1 - fx) * (1 - fy) * t00 + fx * (1 - fy) * t10 + (1 - fx) * fy * t01 + fx * fy * t11
    d1 = ((1 - fy) * (t10 - t00) + fy * (t11 - t01)) / hx[:, None]
    d2 = ((1 - fx) * (t01 - t00) + fx * (t11 - t10)) / hy[:, None]
    cross = (t11 - t10 - t01 + t00) / (hx * hy)[:, None]
    return val, [d1, d2], cross


def grid_total_shape(entry: GridEntry, theta: np.ndarray, tmpl: np.ndarray | None = None, mask=None):
    """Grid rule ``total_shape`` (blueice's ``GridInterpolator`` morpher, Aalbers et al.): the
    template's total M and its unit-sum shape p_b = T_b / M (0 where M = 0) are each
    interpolated linearly (1D) or bilinearly (2D) on the cell of :func:`grid_cell`, and
    G_b = M(theta) p_b(theta) -- exact at the anchors, not linear in the counts. Returns
    (G, [dG/dtheta_i], d2G/dtheta_1 dtheta_2 or None, [d2G/dtheta_i^2]) (each (P, B); the
    diagonal curvature 2 M_i p_i is not zero inside a cell). ``tmpl``: per-point raw anchor
    templates (P, m_1, m_2, B) of one channel (``templates: prediction``), else the entry's
    ``diff`` (its raw templates (m_1, m_2, B), the sample moving by G - entry.g0); ``mask`` (B,)
    selects the channel's bins of per-point templates. Only the cell's corners are formed."""
    per_point = tmpl is not None
    t = entry.diff if tmpl is None else tmpl
    rows = np.arange(theta.shape[0])

    def corner(i, j):
        """(total (P, 1), shape (P, B)) of the template at anchor (i, j) per point."""
        c = t[rows, i, j] if per_point else t[i, j]
        if mask is not None:
            c = c * mask
        tot = c.sum(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return tot, np.where(tot > 0, c / tot, 0.0)

    i, fx, hx = grid_cell(entry.anchors[0], theta[:, 0])
    if len(entry.params) == 1:
        j = np.zeros_like(i)
        (m0, p0), (m1, p1) = corner(i, j), corner(i + 1, j)
        f = fx[:, None]
        m, p = m0 + f * (m1 - m0), p0 + f * (p1 - p0)
        mx, px = (m1 - m0) / hx[:, None], (p1 - p0) / hx[:, None]
        return m * p, [mx * p + m * px], None, [2.0 * mx * px]
    j, fy, hy = grid_cell(entry.anchors[1], theta[:, 1])
    (m00, p00), (m10, p10), (m01, p01), (m11, p11) = (corner(i + a, j + b) for a, b in ((0, 0), (1, 0), (0, 1), (1, 1)))
    fx, fy, hx, hy = fx[:, None], fy[:, None], hx[:, None], hy[:, None]

    def bil(a00, a10, a01, a11):
        val = (1 - fx) * (1 - fy) * a00 + fx * (1 - fy) * a10 + (1 - fx) * fy * a01 + fx * fy * a11
        dx = ((1 - fy) * (a10 - a00) + fy * (a11 - a01)) / hx
        dy = ((1 - fx) * (a01 - a00) + fx * (a11 - a10)) / hy
        return val, dx, dy, (a11 - a10 - a01 + a00) / (hx * hy)

    m, mx, my, mxy = bil(m00, m10, m01, m11)
    p, px, py, pxy = bil(p00, p10, p01, p11)
    cross = mxy * p + mx * py + my * px + m * pxy
    return m * p, [mx * p + m * px, my * p + m * py], cross, [2.0 * mx * px, 2.0 * my * py]


def _resolve(tmpl, exp, n_bins: int, where: list, src) -> np.ndarray:
    """A template (inline counts, experiment data, flat) as a float array of ``n_bins``."""
    if "counts" in tmpl:
        arr = np.asarray(tmpl["counts"], dtype=float).ravel()
    elif "data" in tmpl:
        if tmpl["data"] not in getattr(exp, "data", {}):
            known = ", ".join(sorted(getattr(exp, "data", {}))) or "none"
            fail(src, where + ["data"], f"the experiment has no data {tmpl['data']!r}; known: {known}")
        arr = np.asarray(exp.data[tmpl["data"]], dtype=float).ravel()
    else:
        if len(exp.axes) != 1 or exp.axes[0].edges.size - 1 != n_bins:
            fail(src, where, "a flat template needs a one-axis experiment binning of the channel's bins")
        edges = np.asarray(exp.axes[0].edges, dtype=float)
        widths = np.diff(edges)
        arr = tmpl["flat"]["total"] * widths / widths.sum()
    if arr.size != n_bins:
        fail(src, where, f"template of {arr.size} bins for a channel of {n_bins} bins (wrong shape)")
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        fail(src, where, "template counts must be finite and >= 0")
    total = template_total(tmpl, where, src)
    if total is not None:
        s = arr.sum()
        if s <= 0:
            fail(src, where, "a template rescaled to a 'total' must have a positive sum")
        arr = arr * (float(total) / s)
    return arr


def _record(key: str, where: list, src):
    """The published record ``key`` (:mod:`cevnsfit.published`: the data sets' ``published``
    lists); an unknown key is a :class:`DeclarationError` naming the declaration's key."""
    from .. import published

    try:
        return published.get(key)
    except UnknownNameError as exc:
        fail(src, where, str(exc))


def template_total(tmpl, where: list, src) -> float | None:
    """The total a template is rescaled to: ``total`` (a number), ``total_record`` (the value of a
    published record), or None (the template as given)."""
    if not isinstance(tmpl, dict):
        return None
    if "total_record" in tmpl:
        return float(_record(tmpl["total_record"], where + ["total_record"], src).value)
    return tmpl.get("total")


def constraint_sigma(c: dict, exp, where: list, src) -> float:
    """The width of a normalisation's constraint (docs: datasets/format): ``sigma`` (a number),
    ``sigma_record`` (the value of a published record), ``relative_record`` (a record's
    uncertainty over its value), or ``sigma_count: {data: KEY}`` (1/sqrt(N), N the sum of the
    experiment's counts ``KEY``: a normalisation measured by the count of a control sample,
    Gaussian limit)."""
    if "sigma_record" in c:
        return float(_record(c["sigma_record"], where + ["sigma_record"], src).value)
    if "relative_record" in c:
        rec = _record(c["relative_record"], where + ["relative_record"], src)
        return float(rec.sigma / rec.value)
    if "sigma_count" in c:
        ref = c["sigma_count"]
        data = getattr(exp, "data", {})
        if ref["data"] not in data:
            known = ", ".join(sorted(data)) or "none"
            fail(src, where + ["sigma_count", "data"], f"the experiment has no data {ref['data']!r}; known: {known}")
        total = float(np.sum(data[ref["data"]]))
        if not total > 0:
            fail(src, where + ["sigma_count"], f"the counts {ref['data']!r} sum to {total:g}: need a positive count")
        return 1.0 / np.sqrt(total)
    return float(c["sigma"])


def _param_name(part: Part, mod: dict) -> str:
    key = mod.get("shared")
    if key is not None and key in part.share:
        return key
    return part.prefix + mod["name"]


def _channel_blocks(parts: list[Part]) -> tuple[list[dict], dict, int]:
    """:func:`compile_parts`' channels in order: (blocks, channel slices, total bins)."""
    blocks: list[dict] = []
    offset = 0
    slices = {}
    for part in parts:
        pred_bins = int(np.prod(part.experiment.shape))
        if "fold" in part.section:  # the prediction folded into the channels' bins
            pred_bins = int(np.shape(_fold_array(part))[-1])
        start = offset
        for c, ch in enumerate(part.section["channels"]):
            n_bins = ch.get("bins", pred_bins if len(part.section["channels"]) == 1 else None)
            if n_bins is None:
                fail(part.source, ["likelihood", "channels", c, "bins"], "give 'bins' when there are several channels")
            blocks.append({"part": part, "channel": ch, "index": c, "start": offset, "bins": int(n_bins)})
            slices[part.prefix + ch["name"]] = slice(offset, offset + int(n_bins))
            offset += int(n_bins)
        if offset - start != pred_bins:
            fail(
                part.source,
                ["likelihood", "channels"],
                f"the channels hold {offset - start} bins, the experiment's prediction {pred_bins} "
                f"(shape {tuple(part.experiment.shape)})",
            )
    return blocks, slices, offset


def _fold_array(part: Part) -> np.ndarray:
    """The section's ``fold``: the experiment data array (prediction bins, anchors..., channel bins)
    mapping the experiment's prediction to the channels' bins at each anchor of the signal's
    ``prediction`` gridsys."""
    key = part.section["fold"]
    data = getattr(part.experiment, "data", {})
    if key not in data:
        fail(
            part.source, ["likelihood", "fold"], f"the experiment has no data {key!r}; known: {', '.join(sorted(data))}"
        )
    arr = np.asarray(data[key], dtype=float)
    n_pred = int(np.prod(part.experiment.shape))
    if arr.ndim < 3 or arr.shape[0] != n_pred:
        fail(
            part.source,
            ["likelihood", "fold"],
            f"fold {key!r} of shape {arr.shape}: needs (prediction bins {n_pred}, anchors..., channel bins)",
        )
    return arr


@dataclass
class _Collected:
    """What :func:`_collect_samples` gathers from the channels (lists in sample order)."""

    n: np.ndarray
    asimov: bool = False
    is_signal: list = field(default_factory=list)
    nominal: list = field(default_factory=list)
    mask: list = field(default_factory=list)
    sample_names: list = field(default_factory=list)
    norm_names: list[str] = field(default_factory=list)
    norm_spec: dict[str, tuple] = field(default_factory=dict)
    incidence_rows: list[dict] = field(default_factory=list)
    alpha_names: list[str] = field(default_factory=list)
    entries: list[tuple] = field(default_factory=list)
    grid_spec: dict[str, tuple] = field(default_factory=dict)
    grid_names: list[str] = field(default_factory=list)
    grid_mods: list[tuple] = field(default_factory=list)
    stat_mods: list[tuple] = field(default_factory=list)
    group_mods: list[tuple] = field(default_factory=list)
    norm_bounds: dict[str, tuple] = field(default_factory=dict)


def _collect_samples(blocks: list[dict], n_total: int) -> _Collected:
    """:func:`compile_parts`' pass over the channels: samples, their modifiers and the data."""
    col = _Collected(n=np.zeros(n_total))
    for blk in blocks:
        part, ch, lo, nb = blk["part"], blk["channel"], blk["start"], blk["bins"]
        sl = slice(lo, lo + nb)
        where = ["likelihood", "channels", blk["index"]]
        for s, smp in enumerate(ch["samples"]):
            spath = where + ["samples", s]
            row = np.zeros(n_total)
            m = np.zeros(n_total)
            m[sl] = 1.0
            if "signal" in smp:
                col.is_signal.append(True)
            else:
                col.is_signal.append(False)
                row[sl] = _resolve(smp["template"], part.experiment, nb, spath + ["template"], part.source)
            col.nominal.append(row)
            col.mask.append(m)
            col.sample_names.append(part.prefix + f"{ch['name']}/{smp['name']}")
            inc: dict[str, float] = {}
            for mi, mod in enumerate(smp.get("modifiers", [])):
                _collect_modifier(col, blk, mod, spath + ["modifiers", mi], sl, nb, inc)
            col.incidence_rows.append(inc)
        # observed data of this channel
        if "asimov" in ch["data"]:
            col.asimov = True
        else:
            cnt = ch["data"]["counts"]
            arr = (
                np.asarray(cnt, dtype=float).ravel()
                if isinstance(cnt, list)
                else _resolve(cnt, part.experiment, nb, where + ["data", "counts"], part.source)
            )
            if arr.size != nb:
                fail(part.source, where + ["data", "counts"], f"{arr.size} counts for a channel of {nb} bins")
            col.n[sl] = arr
    return col


def _collect_modifier(col: _Collected, blk: dict, mod: dict, mpath: list, sl: slice, nb: int, inc: dict) -> None:
    """One modifier of the last sample: a stat, gridsys or histosys entry, or a normalisation."""
    part = blk["part"]
    pname = _param_name(part, mod)
    if mod["type"] in STAT_TYPES:
        col.stat_mods.append((len(col.is_signal) - 1, blk, mod, mpath))
        return
    if mod["type"] in GROUP_TYPES:
        col.group_mods.append((len(col.is_signal) - 1, blk, mod, mpath))
        return
    if mod["type"] == "gridsys":
        params = _grid_params(part, mod, mpath, col.grid_spec, col.grid_names)
        col.grid_mods.append((len(col.is_signal) - 1, params, mod, mpath, part, sl, nb))
        return
    if pname in col.grid_spec:
        fail(part.source, mpath, f"{pname!r} is already a gridsys parameter")
    if mod["type"] == "histosys":
        if pname not in col.alpha_names:
            if pname in col.norm_spec:
                fail(part.source, mpath, f"{pname!r} is already a normalisation parameter")
            col.alpha_names.append(pname)
        col.entries.append((len(col.is_signal) - 1, col.alpha_names.index(pname), mod, mpath, part, sl, nb))
        return
    c = mod.get("constraint", {"type": "none", "sigma": np.inf})
    spec = (c["type"], constraint_sigma(c, part.experiment, mpath + ["constraint"], part.source))
    if pname in col.norm_spec and col.norm_spec[pname] != spec:
        fail(
            part.source,
            mpath,
            f"nuisance {pname!r} has conflicting constraints {spec} and {col.norm_spec[pname]}",
        )
    if pname in col.alpha_names:
        fail(part.source, mpath, f"{pname!r} is already a histosys parameter")
    if pname not in col.norm_spec:
        col.norm_spec[pname] = spec
        col.norm_names.append(pname)
    if "bounds" in mod:
        bounds = (float(mod["bounds"][0]), float(mod["bounds"][1]))
        if col.norm_bounds.setdefault(pname, bounds) != bounds:
            fail(part.source, mpath + ["bounds"], f"nuisance {pname!r} has conflicting bounds {bounds}")
    inc[pname] = inc.get(pname, 0.0) + 1.0


def _histosys_arrays(entries: list[tuple], is_signal_a: np.ndarray, nominal_a: np.ndarray, n_total: int) -> dict:
    """:func:`compile_parts`' histosys entries: differences per bin and their flags (Compiled fields)."""
    dplus, dminus, e_s, e_j, rel, quad, shp, p0s = [], [], [], [], [], [], [], []
    for s_idx, j, mod, mpath, part, sl, nb in entries:
        interp = mod.get("interpolation", part.section.get("interpolation", "linear"))
        data = mod["data"]
        signal = bool(is_signal_a[s_idx])
        if "nominal" in data:
            nom = _resolve(data["nominal"], part.experiment, nb, mpath + ["data", "nominal"], part.source)
        elif signal:
            fail(part.source, mpath + ["data"], "a histosys on the signal needs the release's 'nominal' template")
        else:
            nom = nominal_a[s_idx, sl]
        hi = _resolve(data["hi"], part.experiment, nb, mpath + ["data", "hi"], part.source)
        shape_only = bool(mod.get("shape_only", False))
        if shape_only:
            p0, ph = unit_shape(nom), unit_shape(hi)
            pl = (
                mirrored_shape(p0, ph)
                if data["lo"] == "mirror"
                else unit_shape(_resolve(data["lo"], part.experiment, nb, mpath + ["data", "lo"], part.source))
            )
        else:
            p0, ph = nom, hi
            pl = (
                np.clip(2.0 * nom - hi, 0.0, None)
                if data["lo"] == "mirror"
                else _resolve(data["lo"], part.experiment, nb, mpath + ["data", "lo"], part.source)
            )
        dp, dm = ph - p0, p0 - pl
        if signal:  # relative to the nominal template, applied to the model's prediction
            inv = np.divide(1.0, p0, out=np.zeros_like(p0), where=p0 > 0)
            dp, dm = dp * inv, dm * inv
        elif shape_only:  # unit shapes times the sample's total
            dp, dm = dp * nominal_a[s_idx, sl].sum(), dm * nominal_a[s_idx, sl].sum()
        rowp, rowm = np.zeros(n_total), np.zeros(n_total)
        rowp[sl], rowm[sl] = dp, dm
        dplus.append(rowp)
        dminus.append(rowm)
        e_s.append(s_idx)
        e_j.append(j)
        rel.append(signal)
        quad.append(interp == "quadratic")
        shp.append(shape_only)
        row0 = np.zeros(n_total)
        row0[sl] = unit_shape(nom) if np.sum(nom) > 0 else 0.0
        p0s.append(row0)
    n_e = len(e_s)
    return dict(
        entry_sample=np.array(e_s, dtype=int),
        entry_alpha=np.array(e_j, dtype=int),
        dplus=np.array(dplus).reshape(n_e, n_total),
        dminus=np.array(dminus).reshape(n_e, n_total),
        relative=np.array(rel, bool),
        quadratic=np.array(quad, bool),
        entry_shape_only=np.array(shp, bool),
        entry_p0=np.array(p0s).reshape(n_e, n_total),
    )


def compile_parts(parts: list[Part]) -> Compiled:
    """The arrays of one or several declared likelihood sections (bins concatenated in order;
    shared nuisances one parameter)."""
    shared_constraints([{"likelihood": {"x": p.section}, SOURCE_KEY: p.source, "name": p.name} for p in parts])
    blocks, slices, n_total = _channel_blocks(parts)
    col = _collect_samples(blocks, n_total)
    n_s = len(col.is_signal)
    is_signal_a = np.array(col.is_signal, bool)
    nominal_a = np.array(col.nominal).reshape(n_s, n_total)
    mask_a = np.array(col.mask).reshape(n_s, n_total)
    incidence = np.array([[row.get(k, 0.0) for k in col.norm_names] for row in col.incidence_rows]).reshape(
        n_s, len(col.norm_names)
    )
    # histosys entries: differences per bin
    hist = _histosys_arrays(col.entries, is_signal_a, nominal_a, n_total)
    grid_spec, grid_names = col.grid_spec, col.grid_names
    for gname in grid_names:
        if gname in col.norm_spec or gname in col.alpha_names:
            fail(parts[0].source, ["likelihood"], f"{gname!r} is both a gridsys parameter and another nuisance")
    grids = tuple(
        _grid_entry(s_idx, idx, mod, mpath, part, sl, nb, n_total, grid_spec, grid_names, bool(is_signal_a[s_idx]))
        for s_idx, idx, mod, mpath, part, sl, nb in col.grid_mods
    )
    stat = _stat_arrays(col.stat_mods, is_signal_a, nominal_a, n_total)
    if col.group_mods and col.stat_mods:
        _s, blk, _m, mpath = col.group_mods[0]
        fail(blk["part"].source, mpath, "a declaration takes shapefactor or staterror/shapesys factors, not both")
    stat.update(_group_arrays(col.group_mods, is_signal_a, nominal_a, n_total))
    anchor = _prediction_anchors(grids, col.entries, col.grid_mods, grid_spec, grid_names)
    ctype = np.array([CONSTRAINTS.index(col.norm_spec[k][0]) for k in col.norm_names], dtype=int)
    bounds = np.array([col.norm_bounds.get(k, (0.0, np.inf)) for k in col.norm_names], dtype=float).reshape(-1, 2)
    folds = [_fold_array(p) for p in parts if "fold" in p.section]
    rs = parts[0].section.get("restarts") if len(parts) == 1 else None
    if rs is not None:
        starts = np.array(rs["grid"], dtype=float).reshape(len(rs["grid"]), -1)
        lo = np.array([grid_spec[k][0][0] for k in grid_names])
        hi = np.array([grid_spec[k][0][-1] for k in grid_names])
        if starts.shape[1] != len(grid_names) or np.any(starts < lo) or np.any(starts > hi):
            fail(
                parts[0].source,
                ["likelihood", "restarts", "grid"],
                f"each start needs {len(grid_names)} values of {', '.join(grid_names) or 'the grid parameters'} "
                "inside their anchors",
            )
        anchor["restart_above"], anchor["restart_grid"] = float(rs["above"]), starts
    if folds and len(parts) > 1:
        fail(parts[0].source, ["likelihood", "fold"], "a folded prediction cannot be joined with other data sets")
    if folds:
        anchor["anchor_fold"] = folds[0].reshape(folds[0].shape[0], -1, folds[0].shape[-1])
    sigma = np.array([col.norm_spec[k][1] for k in col.norm_names], dtype=float)
    return Compiled(
        n=col.n,
        asimov=col.asimov,
        is_signal=is_signal_a,
        nominal=nominal_a,
        mask=mask_a,
        norm_names=tuple(col.norm_names),
        ctype=ctype,
        sigma=sigma,
        incidence=incidence,
        alpha_names=tuple(col.alpha_names),
        sample_names=tuple(col.sample_names),
        channel_slices=slices,
        grid_names=tuple(grid_names),
        grid_lo=np.array([grid_spec[k][0][0] for k in grid_names], dtype=float),
        grid_hi=np.array([grid_spec[k][0][-1] for k in grid_names], dtype=float),
        grid_nominal=np.array([grid_spec[k][1] for k in grid_names], dtype=float),
        grid_sigma=np.array([grid_spec[k][2] for k in grid_names], dtype=float),
        grids=grids,
        norm_lo=bounds[:, 0] if col.norm_bounds else None,
        norm_hi=bounds[:, 1] if col.norm_bounds else None,
        **hist,
        **stat,
        **anchor,
    )


def _prediction_anchors(grids, entries, grid_mods, grid_spec, grid_names) -> dict:
    """``anchor_shape`` and the interpolation weights ``anchor_w0`` at the nominal parameters of
    a signal gridsys with ``templates: prediction`` (at most one; the signal then carries no
    other shape modifier, whose relative variation would apply to the nominal prediction only)."""
    pp = [(k, ge) for k, ge in enumerate(grids) if ge.per_point]
    if not pp:
        return {}
    k, ge = pp[0]
    _s, _i, mod, mpath, part, _sl, _nb = grid_mods[k]
    on = {g.sample for _k, g in pp}
    others = [e for e in entries if e[0] in on] + [g for g in grids if g.sample in on and not g.per_point]
    if len(on) < len(pp) or others:
        fail(part.source, mpath, "a signal with 'prediction' anchors carries no other histosys or gridsys")
    if any((g.params, g.rule) != (ge.params, ge.rule) for _k, g in pp):
        fail(part.source, mpath, "the signals' 'prediction' grids (one per channel) need the same parameters and rule")
    dims = tuple(a.size for a in ge.anchors)
    eye = np.eye(int(np.prod(dims))).reshape(dims + ((1,) if len(dims) == 1 else ()) + (-1,))
    theta0 = np.array([[grid_spec[grid_names[i]][1] for i in ge.params]])
    w0 = grid_interpolate(replace(ge, diff=eye), theta0)[0][0]
    return {"anchor_shape": dims, "anchor_w0": w0}


def _stat_arrays(stat_mods, is_signal, nominal, n_total) -> dict:
    """Per-bin factors (``staterror``/``shapesys``) of the compiled channels: one modifier name per
    channel, on templates only; staterror delta_b = sqrt(sum_s sigma_sb^2) / sum_s N_sb and
    shapesys tau_b = (sum_s N_sb)^2 / sum_s sigma_sb^2 over the samples carrying it (bins where
    either sum is 0 get no factor)."""
    if not stat_mods:
        return {}
    per_channel: dict[int, dict] = {}
    stat_sample = np.zeros(is_signal.size, bool)
    for s_idx, blk, mod, mpath in stat_mods:
        part = blk["part"]
        if is_signal[s_idx]:
            fail(part.source, mpath, f"a {mod['type']} modifier acts on templates only (this sample is the signal)")
        key = id(blk)
        ch = per_channel.setdefault(key, {"blk": blk, "name": mod["name"], "type": mod["type"], "s2": 0.0, "n": 0.0})
        if (ch["name"], ch["type"]) != (mod["name"], mod["type"]):
            fail(
                part.source,
                mpath,
                f"one per-bin modifier per channel: {mod['type']} {mod['name']!r} here, "
                f"{ch['type']} {ch['name']!r} on another sample of the channel",
            )
        sl = slice(blk["start"], blk["start"] + blk["bins"])
        err = _resolve(mod["uncertainties"], part.experiment, blk["bins"], mpath + ["uncertainties"], part.source)
        ch["s2"] = ch["s2"] + err**2
        ch["n"] = ch["n"] + nominal[s_idx, sl]
        stat_sample[s_idx] = True
    kind = np.zeros(n_total, int)
    delta = np.zeros(n_total)
    tau = np.zeros(n_total)
    for ch in per_channel.values():
        blk = ch["blk"]
        sl = slice(blk["start"], blk["start"] + blk["bins"])
        ok = (ch["s2"] > 0) & (ch["n"] > 0)
        code = STAT_TYPES.index(ch["type"]) + 1
        kind[sl] = np.where(ok, code, 0)
        safe_n = np.where(ok, ch["n"], 1.0)
        delta[sl] = np.where(ok, np.sqrt(ch["s2"]) / safe_n, 0.0)
        tau[sl] = np.where(ok, safe_n**2 / np.where(ok, ch["s2"], 1.0), 0.0)
    return {"stat_sample": stat_sample, "stat_kind": kind, "stat_delta": delta, "stat_tau": tau}


def stat_optimum(n, a, c, kind, delta, tau):
    """Closed-form per-bin factors gamma_b maximising ln P(n; gamma a + c) + ln pi(gamma) (a: the
    expected counts of the samples carrying the factor, c: the others), with

    * staterror (kind 1), pi = N(gamma; 1, delta): the larger root of
      a g^2 + (a^2 delta^2 + c - a) g - (delta^2 a (n - c) + c) = 0, floored at 0;
    * shapesys (kind 2), pi = Pois(tau; gamma tau) (Barlow-Beeston lite, HistFactory): the positive
      root of a (a + tau) g^2 - (n a - a c + tau a - tau c) g - tau c = 0;
    * no factor (kind 0, or a = 0): gamma = 1.

    Returns (gamma, free (not at the bound 0), -2 ln pi without constants, its second derivative).

    >>> g, *_ = stat_optimum(np.array([12.0]), np.array([8.0]), np.array([0.0]), np.array([2]), np.zeros(1), np.array([4.0]))
    >>> float(g[0])  # c = 0: (n + tau) / (a + tau)
    1.3333333333333333
    """
    gauss, pois = (kind == 1) & (a > 0), (kind == 2) & (a > 0)
    d2 = delta * delta
    qa = np.where(gauss, a, a * (a + tau))
    qb = np.where(gauss, a * a * d2 + c - a, -(n * a - a * c + tau * a - tau * c))
    qc = np.where(gauss, -(d2 * a * (n - c) + c), -tau * c)
    disc = np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))
    safe_a = np.where(gauss | pois, qa, 1.0)
    den = qb + disc
    root = np.where(qb > 0, -2.0 * qc / np.where(den > 0, den, 1.0), (disc - qb) / (2.0 * safe_a))
    gamma = np.where(gauss | pois, np.maximum(root, 0.0), 1.0)
    free = (gauss | pois) & (gamma > 0)
    safe_g = np.where(gamma > 0, gamma, 1.0)
    safe_d2 = np.where(kind == 1, d2, 1.0)
    pen = np.where(
        kind == 1,
        (gamma - 1.0) ** 2 / safe_d2,
        np.where(kind == 2, -2.0 * tau * (np.log(safe_g) - gamma), 0.0),
    )
    pen2 = np.where(kind == 1, 2.0 / safe_d2, np.where(kind == 2, 2.0 * tau / safe_g**2, 0.0))
    return gamma, free, pen, pen2


def _group_arrays(group_mods, is_signal, nominal, n_total) -> dict:
    """The ``shapefactor`` groups of the compiled channels (one modifier name per channel, on
    templates only, declared alike on every sample carrying it): the group of each bin (labels
    ``groups`` per bin, default one group per bin; numbered over the channels in order), the
    auxiliary counts A_g = sum_{b in g} aux_b and tau_g = tau sum_{b in g} sum_s N_sb over the
    samples carrying it (no ``aux``: A_g = tau_g = 0, a free factor)."""
    if not group_mods:
        return {}
    per_channel: dict[int, dict] = {}
    group_sample = np.zeros(is_signal.size, bool)
    for s_idx, blk, mod, mpath in group_mods:
        part = blk["part"]
        if is_signal[s_idx]:
            fail(part.source, mpath, "a shapefactor modifier acts on templates only (this sample is the signal)")
        spec = {k: mod.get(k) for k in ("name", "groups", "aux", "tau")}
        ch = per_channel.setdefault(id(blk), {"blk": blk, "spec": spec, "mpath": mpath, "n": 0.0})
        if ch["spec"] != spec:
            fail(
                part.source,
                mpath,
                f"one shapefactor per channel, declared alike on every sample carrying it: {spec} here, "
                f"{ch['spec']} at {ch['mpath']}",
            )
        sl = slice(blk["start"], blk["start"] + blk["bins"])
        ch["n"] = ch["n"] + nominal[s_idx, sl]
        group_sample[s_idx] = True
    index = np.full(n_total, -1, dtype=int)
    aux_g: list[np.ndarray] = []
    tau_g: list[np.ndarray] = []
    for ch in per_channel.values():
        blk, spec, mpath = ch["blk"], ch["spec"], ch["mpath"]
        part, nb = blk["part"], blk["bins"]
        sl = slice(blk["start"], blk["start"] + nb)
        if spec["groups"] is None:
            local = np.arange(nb)
        else:
            labels = _resolve(spec["groups"], part.experiment, nb, mpath + ["groups"], part.source)
            if np.any(labels != np.round(labels)):
                fail(part.source, mpath + ["groups"], "group labels must be integers (one per bin)")
            local = np.unique(labels, return_inverse=True)[1].ravel()
        n_g = int(local.max()) + 1
        onehot = (local[:, None] == np.arange(n_g)[None, :]).astype(float)  # (bins, groups)
        size = np.asarray(ch["n"], dtype=float) * np.ones(nb)
        n_sum = size @ onehot
        if np.any(n_sum <= 0):
            fail(
                part.source,
                mpath,
                f"shapefactor group {int(np.argmax(n_sum <= 0))} has an empty template (the factor scales nothing)",
            )
        if spec["aux"] is None:
            if spec["tau"] is not None:
                fail(part.source, mpath + ["tau"], "'tau' scales the auxiliary count: give 'aux' too")
            aux = np.zeros(n_g)
            tau = np.zeros(n_g)
        else:
            aux = _resolve(spec["aux"], part.experiment, nb, mpath + ["aux"], part.source) @ onehot
            ratio = 1.0 if spec["tau"] is None else float(spec["tau"])
            if not ratio > 0:
                fail(part.source, mpath + ["tau"], f"tau must be > 0 (the auxiliary exposure ratio), got {ratio}")
            tau = ratio * n_sum
        index[sl] = local + sum(a.size for a in aux_g)
        aux_g.append(aux)
        tau_g.append(tau)
    return {
        "group_sample": group_sample,
        "group_index": index,
        "group_aux": np.concatenate(aux_g),
        "group_tau": np.concatenate(tau_g),
    }


class GroupSums:
    """Sums of per-bin arrays over the ``shapefactor`` groups and their spread back to the bins:
    a reshape when the groups are contiguous blocks of equal size (e.g. PE rows of a PE x time
    channel, or one bin each), else a product with the (bins, groups) incidence matrix."""

    def __init__(self, index: np.ndarray, n_groups: int):
        self.index, self.n_groups, self.n_bins = np.asarray(index, dtype=int), int(n_groups), int(np.size(index))
        pos = np.flatnonzero(self.index >= 0)
        self.block: tuple | None = None
        if pos.size and pos.size % self.n_groups == 0:
            size = pos.size // self.n_groups
            lo = int(pos[0])
            if np.array_equal(pos, np.arange(lo, lo + pos.size)) and np.array_equal(
                self.index[pos], np.repeat(np.arange(self.n_groups), size)
            ):
                self.block = (lo, lo + pos.size, size)
        self.onehot = (self.index[:, None] == np.arange(self.n_groups)[None, :]).astype(float)

    def sum(self, x: np.ndarray) -> np.ndarray:
        """(..., bins) -> (..., groups): the sum over each group's bins."""
        if self.block is None:
            return x @ self.onehot
        lo, hi, size = self.block
        part = x[..., lo:hi]
        return part if size == 1 else part.reshape(x.shape[:-1] + (self.n_groups, size)).sum(-1)

    def spread(self, g: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """(..., groups) -> (..., bins): each group's value on its bins, ``fill`` elsewhere."""
        if self.block is None:
            return np.where(self.index >= 0, g @ self.onehot.T, fill)
        lo, hi, size = self.block
        out = np.full(g.shape[:-1] + (self.n_bins,), fill)
        out[..., lo:hi] = g if size == 1 else np.repeat(g, size, axis=-1)
        return out


def group_optimum(n, a, c, index, aux, tau, groups: GroupSums | None = None):
    """Per group g the factor gamma_g >= 0 maximising

        l_g(gamma) = sum_{b in g} [n_b ln(gamma a_b + c_b) - gamma a_b] + A_g ln(gamma) - tau_g gamma

    (a: the expected counts of the samples carrying the ``shapefactor``, c: the others; arrays
    (P, B); ``index`` (B,) the group of each bin, -1 none; A_g, tau_g (G,)). The stationarity
    condition h(gamma) = sum_b n_b a_b / (gamma a_b + c_b) + A_g / gamma - (sum_b a_b + tau_g) = 0
    has a convex decreasing h, so its root is unique and Newton's method from any point left of it
    increases monotonically to it. The start gamma_lo = (A_g + sum_{b: c_b = 0} n_b) / (sum_b a_b +
    tau_g) has h(gamma_lo) >= 0; the iteration starts at the larger of gamma_lo and the moment estimate
    (A_g + sum_b (n_b - c_b)) / (sum_b a_b + tau_g) (a first step from right of the root lands left of
    it), is clamped to gamma >= gamma_lo and stops at relative
    step 1e-13. If gamma_lo = 0 and h(0) <= 0 the maximum is on the boundary gamma = 0.

    Returns (gamma per bin (P, B) (1 outside the groups), gamma per group (P, G), free (P, G: not
    on the boundary), -2 ln pi_g summed over the groups without constants (P,), d2(-2 ln pi_g)/dgamma^2
    (P, G)), pi_g = Pois(A_g; gamma tau_g).

    >>> g, *_ = group_optimum(np.array([[3.0, 5.0]]), np.ones((1, 2)), np.array([[1.0, 2.0]]), np.array([0, 0]),
    ...                       np.array([6.0]), np.array([2.0]))
    >>> h = 3 / (1 + g[0, 0]) + 5 / (2 + g[0, 0]) + 6 / g[0, 0] - 4
    >>> bool(abs(h) < 1e-12)
    True
    """
    gs = GroupSums(index, aux.size) if groups is None else groups
    n = np.broadcast_to(n, a.shape)
    live = a > 0
    denom = gs.sum(a) + tau
    safe_den = np.where(denom > 0, denom, 1.0)
    zero = live & (c <= 0)
    lo = (aux + gs.sum(np.where(zero, n, 0.0))) / safe_den
    with np.errstate(divide="ignore", invalid="ignore"):
        h0 = gs.sum(np.where(live & ~zero, n * a / c, 0.0)) - denom
    boundary = (lo <= 0.0) & (h0 <= 0.0)
    has_a = aux > 0
    # start at the moment estimate (A_g + sum n - sum c) / (sum a + tau_g) when right of gamma_lo: a
    # Newton step from right of the root lands left of it (h convex), from where it is monotone
    gam = np.maximum(lo, (aux + gs.sum(np.where(live, n - c, 0.0))) / safe_den)
    for _it in range(200):
        lam = gs.spread(gam) * a + c
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(lam > 0, n / lam, 0.0)
            inv = np.where(has_a, 1.0 / gam, 0.0)
            ra = r * a
            h = gs.sum(ra) + aux * inv - denom
            hp = -gs.sum(np.where(lam > 0, ra * a / lam, 0.0)) - aux * inv * inv
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(hp < 0, -h / hp, 0.0)
        new = np.maximum(gam + step, lo)
        done = np.abs(new - gam) <= 1e-13 * np.maximum(new, 1e-300)
        gam = new
        if np.all(done | boundary):
            break
    gam = np.where(boundary, 0.0, gam)
    free = gam > 0
    safe_g = np.where(free, gam, 1.0)
    pen = np.where(has_a, -2.0 * aux * np.log(safe_g), 0.0) + 2.0 * tau * gam
    pen2 = np.where(has_a & free, 2.0 * aux / safe_g**2, 0.0)
    per_bin = gs.spread(gam, 1.0)
    return per_bin, gam, free, pen.sum(-1), pen2


def _grid_params(part: Part, mod: dict, mpath: list, grid_spec: dict, grid_names: list) -> tuple:
    """Register the parameters of a gridsys modifier (one name = one parameter; its anchors,
    nominal and constraint must agree wherever it is used); their indices."""
    idx = []
    for i, prm in enumerate(mod["grid"]["parameters"]):
        ppath = mpath + ["grid", "parameters", i]
        gname = part.prefix + prm["name"]
        anchors = tuple(float(a) for a in prm["anchors"])
        c = prm.get("constraint")
        spec = (anchors, float(prm.get("nominal", 0.0)), float(c["sigma"]) if c else np.inf)
        if gname in grid_spec and grid_spec[gname] != spec:
            fail(
                part.source,
                ppath,
                f"gridsys parameter {gname!r} is declared with other anchors, nominal or constraint "
                f"({spec}) than before ({grid_spec[gname]})",
            )
        if gname not in grid_spec:
            grid_spec[gname] = spec
            grid_names.append(gname)
        idx.append(grid_names.index(gname))
    return tuple(idx)


def _grid_entry(s_idx, idx, mod, mpath, part, sl, nb, n_total, grid_spec, grid_names, signal) -> GridEntry:
    """The :class:`GridEntry` of a gridsys modifier: anchor templates resolved and checked
    against the grid, minus their interpolation at the nominal parameters."""
    grid = mod["grid"]
    anchors = tuple(np.array(grid_spec[grid_names[i]][0]) for i in idx)
    dims = tuple(a.size for a in anchors)
    tmpls = grid["templates"]
    rule = grid.get("interpolation", "bilinear")
    theta0 = np.array([[grid_spec[grid_names[i]][1] for i in idx]])
    if rule == "total_shape" and not all(np.any(a == t) for a, t in zip(anchors, theta0[0])):
        fail(part.source, mpath + ["grid", "interpolation"], "total_shape needs the nominal parameters on an anchor")
    if tmpls == "prediction":
        if not signal:
            fail(part.source, mpath + ["grid", "templates"], "'prediction' anchors belong to the signal sample only")
        shape = tuple(getattr(part.experiment, "anchor_shape", ()))
        if "fold" in part.section:
            shape = tuple(_fold_array(part).shape[1:-1])
        if shape != dims:
            fail(
                part.source,
                mpath + ["grid", "templates"],
                f"'prediction' needs an experiment predicting at the {' x '.join(map(str, dims))} anchors "
                f"(Experiment.anchor_shape), this one has anchor_shape {shape or 'none'}",
            )
        chan = np.zeros(n_total)
        chan[sl] = 1.0  # the channel this entry moves
        return GridEntry(s_idx, tuple(idx), anchors, chan, False, per_point=True, rule=rule)
    if isinstance(tmpls, dict):  # one experiment data array: anchors + (bins,)
        arr = np.asarray(getattr(part.experiment, "data", {}).get(tmpls["data"], np.zeros(0)), dtype=float)
        if arr.shape != dims + (nb,):
            fail(
                part.source,
                mpath + ["grid", "templates", "data"],
                f"experiment data {tmpls['data']!r} of shape {arr.shape}; needs the anchors and bins {dims + (nb,)}",
            )
        if np.any(arr < 0) or not np.all(np.isfinite(arr)):
            fail(part.source, mpath + ["grid", "templates"], "template counts must be finite and >= 0")
        tmpls = list(arr.reshape(-1, nb))
        tmpls = [{"counts": t} for t in tmpls]
    if len(tmpls) != int(np.prod(dims)):
        fail(
            part.source,
            mpath + ["grid", "templates"],
            f"{len(tmpls)} templates for a grid of {' x '.join(map(str, dims))} anchors; give one per anchor "
            "(first parameter slowest)",
        )
    arr = np.array(
        [_resolve(t, part.experiment, nb, mpath + ["grid", "templates", i], part.source) for i, t in enumerate(tmpls)]
    ).reshape(dims + ((1,) if len(dims) == 1 else ()) + (nb,))
    if signal:
        if "nominal" not in grid:
            fail(part.source, mpath + ["grid"], "a gridsys on the signal needs the release's 'nominal' template")
        nom = _resolve(grid["nominal"], part.experiment, nb, mpath + ["grid", "nominal"], part.source)
    elif "nominal" in grid:
        fail(part.source, mpath + ["grid", "nominal"], "'nominal' belongs to a gridsys on the signal sample only")
    entry = GridEntry(s_idx, tuple(idx), anchors, arr, signal, rule=rule)
    if rule == "total_shape":  # raw templates (the rule is not linear in them) and G at the nominal
        if signal:
            fail(part.source, mpath + ["grid", "interpolation"], "total_shape on the signal takes 'prediction' anchors")
        full = np.zeros(arr.shape[:-1] + (n_total,))
        full[..., sl] = arr
        entry = replace(entry, diff=full)
        return replace(entry, g0=grid_total_shape(entry, theta0)[0][0])
    arr = arr - grid_interpolate(entry, theta0)[0][0]
    if signal:
        arr = arr * np.divide(1.0, nom, out=np.zeros_like(nom), where=nom > 0)
    full = np.zeros(arr.shape[:-1] + (n_total,))
    full[..., sl] = arr
    return replace(entry, diff=full)


def _asimov_counts(comp: Compiled, sig_sm: np.ndarray) -> np.ndarray:
    """The SM expectation of every sample at nominal nuisances."""
    base = np.where(comp.is_signal[:, None], sig_sm[None, :] * comp.mask, comp.nominal)
    return base.sum(0)


# ---------------------------------------------------------------------------------------------
# the profiled term
# ---------------------------------------------------------------------------------------------


def _nuisance_records(comp: Compiled) -> tuple:
    """The ``NUISANCES`` records of a :class:`ProfiledBinned` (name, prior, treatment)."""
    ct, sg = comp.ctype, comp.sigma
    g_lo, g_hi = comp.grid_lo, comp.grid_hi
    records = (
        tuple(
            {"name": k, "prior": _prior_text(CONSTRAINTS[t], s), "full": "profiled (Newton or MIGRAD)"}
            for k, t, s in zip(comp.norm_names, ct, sg)
        )
        + tuple({"name": a, "prior": "normal(0, 1)", "full": "profiled (Newton or MIGRAD)"} for a in comp.alpha_names)
        + tuple(
            {
                "name": t,
                "prior": (f"normal({m:g}, {sd:g})" if np.isfinite(sd) else "flat")
                + f" on the anchors [{lo:g}, {hi:g}]",
                "full": "profiled (Newton or MIGRAD)",
            }
            for t, m, sd, lo, hi in zip(comp.grid_names, comp.grid_nominal, comp.grid_sigma, g_lo, g_hi)
        )
    )
    if np.any(comp.stat_kind):
        kinds = sorted({STAT_TYPES[int(k) - 1] for k in comp.stat_kind if k})
        records += (
            {
                "name": f"per-bin factors ({', '.join(kinds)}, {int(np.count_nonzero(comp.stat_kind))} bins)",
                "prior": "staterror normal(1, delta_b); shapesys Poisson(tau_b; gamma tau_b)",
                "full": "profiled per bin in closed form (Barlow-Beeston lite)",
            },
        )
    if comp.group_index.size and np.any(comp.group_index >= 0):
        measured = int(np.count_nonzero(comp.group_aux > 0))
        records += (
            {
                "name": f"shapefactor ({comp.group_aux.size} groups, {measured} measured)",
                "prior": "Poisson(A_g; gamma_g tau_g) (flat where A_g = tau_g = 0), gamma_g >= 0",
                "full": "profiled per group (root solve inside the objective)",
            },
        )
    return records


class ProfiledBinned:
    """Profile likelihood of a compiled declaration (module docstring): ``logl(pred)`` with
    pred of shape ``points + experiment shape`` (flattened to the channels' bins)."""

    chunk = 128
    newton_tol = 1e-10
    max_step = 2.0
    last_fallbacks = 0
    #: compiled kernel for the Newton profile: None = when numba is importable, True/False = force
    use_numba: bool | None = None
    _kargs: tuple | None = None

    def __init__(self, comp: Compiled, reference_total: float | None = None, engine: str = "newton", tol: float = 1e-4):
        if engine not in ENGINES:
            raise UnknownNameError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.c = comp
        self.engine = engine
        self.tol = tol
        self.n = comp.n
        self.bin_shape = (comp.n_bins,)
        self.names = comp.names
        self.K = len(comp.norm_names)
        self.J = len(comp.alpha_names)
        self.T = len(comp.grid_names)
        self.reference_total = reference_total
        ct, sg = comp.ctype, comp.sigma
        self._is = {name: ct == i for i, name in enumerate(CONSTRAINTS)}
        self._s2 = np.where(self._is["normal"], sg, 1.0) ** 2
        self._ls = np.where(self._is["lognormal"], np.log1p(np.where(self._is["lognormal"], sg, 1.0)), 1.0)
        self._kk = np.where(self._is["gamma"], 1.0 / np.where(self._is["gamma"], sg, 1.0) ** 2, 1.0)
        const_k = np.where(
            self._is["normal"],
            2.0 * np.log(np.where(self._is["normal"], sg, 1.0)) + _LN_2PI,
            np.where(
                self._is["lognormal"],
                2.0 * np.log(self._ls) + _LN_2PI,
                np.where(self._is["gamma"], -2.0 * (self._kk * np.log(self._kk) - special.gammaln(self._kk)), 0.0),
            ),
        )
        self.const = float(2.0 * special.gammaln(self.n + 1.0).sum() + const_k.sum() + self.J * _LN_2PI)
        self._n_anchor = int(np.prod(comp.anchor_shape)) if comp.anchor_shape else 0
        self._width = comp.n_bins * max(self._n_anchor, 1)  # values per point of a prediction
        if comp.anchor_fold is not None:  # the prediction folded at the anchors (section ``fold``)
            self._width = comp.anchor_fold.shape[0]
            self._fold = np.ascontiguousarray(comp.anchor_fold.reshape(self._width, -1))
        self._has_stat = bool(np.any(comp.stat_kind))
        if self._has_stat:
            kind, d2, tau = comp.stat_kind, comp.stat_delta**2, comp.stat_tau
            self._stat_sample = np.asarray(comp.stat_sample, bool)
            self.const += float(np.sum(np.log(2.0 * np.pi * d2[kind == 1])))
            self.const += float(-2.0 * np.sum((tau * np.log(tau) - special.gammaln(tau + 1.0))[kind == 2]))
        self._has_group = bool(comp.group_index.size and np.any(comp.group_index >= 0))
        if self._has_group:  # shapefactor groups: -2 ln Pois(A_g; gamma tau_g) = pen_g + this constant
            aux, tau_g = comp.group_aux, comp.group_tau
            self._stat_sample = np.asarray(comp.group_sample, bool)
            self._groups = GroupSums(comp.group_index, aux.size)
            log_tau = np.log(np.where(tau_g > 0, tau_g, 1.0))
            self.const += float(np.sum(2.0 * special.gammaln(aux + 1.0) - 2.0 * aux * log_tau))
        if self.T:
            gs = comp.grid_sigma
            self._g_con = np.isfinite(gs)
            self._g_s2 = np.where(self._g_con, gs, 1.0) ** 2
            self.const += float(np.sum(np.log(self._g_s2[self._g_con]) + _LN_2PI))
        self._onehot_alpha = (comp.entry_alpha[None, :] == np.arange(self.J)[:, None]).astype(float)  # (J, E)
        self._m_entry = comp.incidence[comp.entry_sample]  # (E, K)
        signal_norms = np.flatnonzero(comp.incidence[comp.is_signal].sum(0) > 0)
        self._start_index = int(signal_norms[0]) if signal_norms.size else None
        self._sig = np.flatnonzero(comp.is_signal)
        self._tmpl = np.flatnonzero(~comp.is_signal)
        self._sig_mask = comp.mask[self._sig]
        self._sig_any = comp.mask[comp.is_signal].max(0) if self._sig.size else np.zeros(comp.n_bins)
        self._per_point = [ge for ge in comp.grids if ge.per_point]
        self._tmpl_nominal = comp.nominal[self._tmpl]
        self._rel = comp.relative
        self._dd = comp.dplus - comp.dminus
        self._entries_of = [np.flatnonzero(comp.entry_sample == s) for s in range(comp.is_signal.size)]
        self._alpha_is_entry = bool(comp.entry_alpha.size == self.J and np.all(comp.entry_alpha == np.arange(self.J)))
        g_lo, g_hi = comp.grid_lo, comp.grid_hi
        self.upper = np.concatenate([np.full(self.K, _U_MAX), np.full(self.J, np.inf), g_hi])
        self.lower = np.concatenate([np.full(self.K + self.J, -np.inf), g_lo])
        if comp.norm_lo is not None and comp.norm_hi is not None:  # ``bounds`` of the factors y = e^u
            with np.errstate(divide="ignore"):
                self.lower[: self.K] = np.log(comp.norm_lo)
                self.upper[: self.K] = np.minimum(np.log(comp.norm_hi), _U_MAX)
        self.NUISANCES = _nuisance_records(comp)

    # -- the objective, vectorised over points --
    def _weights(self, al, slopes: bool = False):
        """(f_+, f_-) per entry (or their slopes), each entry with its own interpolation."""
        c = self.c
        fn = interpolation_slopes if slopes else interpolation_weights
        if c.quadratic.all():
            return fn(al, "quadratic")
        if not c.quadratic.any():
            return fn(al, "linear")
        pq, mq = fn(al, "quadratic")
        pl, ml = fn(al, "linear")
        return np.where(c.quadratic, pq, pl), np.where(c.quadratic, mq, ml)

    def _parts(self, x, sig):
        """-2 ln L at x (P, K+J) for signals sig (P, B), and the pieces :meth:`_fun` reuses.
        lam = sig (sum_{signal s} Y_s mask_s + relative shifts) + sum_{templates} Y_s N_s + shifts:
        matrix products only, no (points x samples x bins) array."""
        c = self.c
        sig, pdiff = self._unpack(sig)
        u = np.minimum(x[:, : self.K], _U_MAX)
        y = np.exp(u)
        ys = np.exp(u @ c.incidence.T)  # (P, S)
        on_sig = ys[:, self._sig] @ self._sig_mask  # (P, B)
        lam_raw = ys[:, self._tmpl] @ self._tmpl_nominal
        al = fp = fm = None
        if self.J:
            al = x[:, self.K : self.K + self.J][:, c.entry_alpha]  # (P, E)
            fp, fm = self._weights(al)
            ye = ys[:, c.entry_sample]
            cp, cm = ye * fp, ye * fm
            rel, ab = self._rel, ~self._rel
            if rel.any():
                on_sig = on_sig + cp[:, rel] @ c.dplus[rel] + cm[:, rel] @ c.dminus[rel]
            if ab.any():
                lam_raw = lam_raw + cp[:, ab] @ c.dplus[ab] + cm[:, ab] @ c.dminus[ab]
        grid = self._grid_eval(x, pdiff, sig)
        for ge, (val, _d, _x, _dd) in zip(c.grids, grid):
            if ge.relative:
                on_sig = on_sig + ys[:, ge.sample, None] * val
            else:
                lam_raw = lam_raw + ys[:, ge.sample, None] * val
        lam_raw = lam_raw + sig * on_sig
        st = None
        if self._has_stat:  # per-bin factors at their closed-form optimum
            yx = self._sample_counts(sig, ys, fp, fm, grid)
            a_st = yx[:, self._stat_sample].sum(1)
            c_st = yx[:, ~self._stat_sample].sum(1)
            gamma, free, pen_st, pen2 = stat_optimum(self.n, a_st, c_st, c.stat_kind, c.stat_delta, c.stat_tau)
            lam_raw = gamma * a_st + c_st
            st = {"gamma": gamma, "free": free, "pen2": pen2, "a": a_st, "c": c_st, "pen": pen_st.sum(-1)}
        elif self._has_group:  # shapefactor groups at their optimum (root solve per group)
            yx = self._sample_counts(sig, ys, fp, fm, grid)
            a_st = yx[:, self._stat_sample].sum(1)
            c_st = yx[:, ~self._stat_sample].sum(1)
            gamma, gam_g, free_g, pen_g, pen2_g = group_optimum(
                self.n, a_st, c_st, c.group_index, c.group_aux, c.group_tau, self._groups
            )
            lam_raw = gamma * a_st + c_st
            st = {"gamma": gamma, "gamma_g": gam_g, "free": free_g, "pen2": pen2_g, "a": a_st, "c": c_st, "pen": pen_g}
        lam = np.maximum(lam_raw, _LAM_FLOOR)
        pois = (special.xlogy(self.n, lam) - lam).sum(-1)
        a = y - 1.0
        pen = np.where(
            self._is["normal"],
            a * a / self._s2,
            np.where(
                self._is["lognormal"],
                (u / self._ls) ** 2,
                np.where(self._is["gamma"], -2.0 * ((self._kk - 1.0) * u - self._kk * y), 0.0),
            ),
        ).sum(-1)
        pen_alpha = (x[:, self.K : self.K + self.J] ** 2).sum(-1)
        f = -2.0 * pois + pen + pen_alpha + self.const
        if st is not None:
            f = f + st["pen"]
        if self.T:
            dt = x[:, self.K + self.J :] - self.c.grid_nominal
            f = f + np.where(self._g_con, dt * dt / self._g_s2, 0.0).sum(-1)
        return f, (u, y, ys, al, fp, fm, lam_raw, lam, grid, st)

    def _grid_eval(self, x, pdiff=None, sig0=None) -> list:
        """(value, slopes, cross term, diagonal curvature or None) of every gridsys entry at the
        parameters of x: :func:`grid_interpolate` or :func:`grid_total_shape` (``pdiff``: the
        per-point anchor templates minus the nominal ``sig0`` of ``prediction`` entries, each
        entry on its own channel)."""
        base = self.K + self.J
        out = []
        raw = None
        for ge in self.c.grids:
            theta = x[:, [base + i for i in ge.params]]
            if ge.rule == "total_shape":
                if ge.per_point:
                    if raw is None:  # the per-point anchor templates themselves
                        raw = pdiff + (sig0 * self._sig_any)[:, None, None, :]
                    val, d, cross, diag = grid_total_shape(ge, theta, raw, mask=ge.diff)
                    out.append((val - sig0 * ge.diff, d, cross, diag))
                else:
                    val, d, cross, diag = grid_total_shape(ge, theta)
                    out.append((val - ge.g0, d, cross, diag))
                continue
            own = None
            if ge.per_point:
                own = pdiff if len(self._per_point) == 1 else pdiff * ge.diff
            out.append((*grid_interpolate(ge, theta, own), None))
        return out

    def _unpack(self, sig):
        """(the signal at the nominal anchors (P, B), per-point anchor templates minus it
        (P, m_1, m_2, B) or None) of predictions (P, width) (folded first with a ``fold``)."""
        if not self._n_anchor:
            return sig, None
        c = self.c
        if c.anchor_fold is not None:
            sig = sig @ self._fold
        a = sig.reshape(sig.shape[0], self._n_anchor, c.n_bins)
        sig0 = np.einsum("a,pab->pb", c.anchor_w0, a)
        dims = c.anchor_shape + ((1,) if len(c.anchor_shape) == 1 else ())
        mask = c.mask[c.is_signal].max(0)
        return sig0, ((a - sig0[:, None, :]) * mask).reshape((sig.shape[0],) + dims + (c.n_bins,))

    def _fun(self, x, sig):
        """(-2 ln L, gradient, Hessian) at x (P, K+J+T) for signals sig (P, B): exact derivatives

            F_xy = 2 sum_b [n_b / lam_b^2 dlam_b/dx dlam_b/dy - w_b d2lam_b/dxdy] + constraints,

        w = n / lam - 1, with dlam/du_k = sum_s M_sk Y_s X_s, d2lam/du_k du_l = sum_s M_sk M_sl Y_s X_s,
        d2lam/du_k dalpha_j = sum_{s on k, j} Y_s dX_s/dalpha_j, d2lam/dalpha_j^2 the curvature of
        the quadratic interpolation (|alpha| <= 1; zero for linear), and for a gridsys the slopes
        and the bilinear cross term of :func:`grid_interpolate`. With per-bin factors
        (``staterror``/``shapesys``) the factors gamma_b are at their closed-form optimum
        (:meth:`_stat_optimum`), the derivatives are those at fixed gamma (envelope theorem) and
        the Hessian is the Schur complement H_xx - sum_b H_xg H_gx / H_gg (exact)."""
        c = self.c
        f, parts = self._parts(x, sig)
        u, y, ys, al, fp, fm, lam_raw, lam, grid, st = parts
        sig = self._unpack(sig)[0]
        live = lam_raw > _LAM_FLOOR
        ratio = self.n / lam
        w = np.where(live, ratio - 1.0, 0.0)
        q = np.where(live, ratio / lam, 0.0)
        factor = None if st is None else np.where(self._stat_sample[:, None, None], st["gamma"][None], 1.0)
        jac, curvm = self._derivs(x, sig, ys, al, fp, fm, grid, w, factor)
        g = -2.0 * np.einsum("pkb,pb->pk", jac, w)
        h = 2.0 * np.matmul(jac * q[:, None, :], np.swapaxes(jac, 1, 2)) + curvm
        if st is not None:
            # Schur complement over the per-bin factors: v_b = d2F/dx dgamma_b
            only = np.where(self._stat_sample[:, None, None], 1.0, 0.0)
            jac_a, _ = self._derivs(x, sig, ys, al, fp, fm, grid, None, only)
            v = 2.0 * (q * st["a"])[:, None, :] * jac - 2.0 * w[:, None, :] * jac_a
            if self._has_group:  # one factor per group: sums over its bins
                v = self._groups.sum(v)
                hgg = self._groups.sum(2.0 * q * st["a"] ** 2) + st["pen2"]
            else:
                hgg = 2.0 * q * st["a"] ** 2 + st["pen2"]
            free = st["free"] & (hgg > 0)
            v_s = np.where(free[:, None, :], v / np.where(free, hgg, 1.0)[:, None, :], 0.0)
            h -= np.matmul(v_s, np.swapaxes(v, 1, 2))
        # constraints
        k = self.K
        iu = np.arange(k)
        g_c = np.where(
            self._is["normal"],
            2.0 * (y - 1.0) * y / self._s2,
            np.where(
                self._is["lognormal"],
                2.0 * u / self._ls**2,
                np.where(self._is["gamma"], -2.0 * ((self._kk - 1.0) - self._kk * y), 0.0),
            ),
        )
        h_c = np.where(
            self._is["normal"],
            2.0 * y * (2.0 * y - 1.0) / self._s2,
            np.where(self._is["lognormal"], 2.0 / self._ls**2, np.where(self._is["gamma"], 2.0 * self._kk * y, 0.0)),
        )
        g[:, :k] += g_c
        h[:, iu, iu] += h_c
        if self.J:
            ja = k + np.arange(self.J)
            h[:, ja, ja] += 2.0
            g[:, ja] += 2.0 * x[:, ja]
        if self.T:
            it = k + self.J + np.arange(self.T)
            dt = x[:, it] - c.grid_nominal
            g[:, it] += np.where(self._g_con, 2.0 * dt / self._g_s2, 0.0)
            h[:, it, it] += np.where(self._g_con, 2.0 / self._g_s2, 0.0)
        return f, g, h

    def _sample_counts(self, sig, ys, fp, fm, grid, factor=None):
        """Y_s X_s per sample (P, S, B) (times ``factor`` (S, P or 1, B) when given)."""
        c = self.c
        n_s = c.is_signal.size
        yx = np.empty((sig.shape[0], n_s, sig.shape[1]))
        gshift: dict[int, np.ndarray] = {}
        gabs: dict[int, np.ndarray] = {}  # absolute shifts on a signal (prediction anchors)
        for ge, (val, _d, _x, _dd) in zip(c.grids, grid):
            tgt = gabs if (c.is_signal[ge.sample] and not ge.relative) else gshift
            tgt[ge.sample] = tgt[ge.sample] + val if ge.sample in tgt else val
        for s_idx in range(n_s):
            xs = self._sample_shift(s_idx, fp, fm, sig)
            if s_idx in gshift:
                xs = gshift[s_idx] if xs is None else xs + gshift[s_idx]
            if c.is_signal[s_idx]:
                xs = sig * (c.mask[s_idx] + xs) if xs is not None else sig * c.mask[s_idx]
                if s_idx in gabs:
                    xs = xs + gabs[s_idx]
            else:
                xs = c.nominal[s_idx] + xs if xs is not None else c.nominal[s_idx]
            yx[:, s_idx] = ys[:, s_idx, None] * xs * (1.0 if factor is None else factor[s_idx])
        return yx

    def _derivs(self, x, sig, ys, al, fp, fm, grid, w, factor=None):
        """(dlam/dx (P, n, B), -2 sum_b w_b d2lam_b/dxdy (P, n, n), 0 when ``w`` is None) with each
        sample's contribution multiplied per bin by ``factor`` (S, P or 1, B) when given (the
        per-bin factors gamma, or a 0/1 selection of samples)."""
        c = self.c
        n_p, n_b = sig.shape
        k, n_par = self.K, len(self.names)
        yx = self._sample_counts(sig, ys, fp, fm, grid, factor)
        jac = np.zeros((n_p, n_par, n_b))
        for s_idx, k_idx in zip(*np.nonzero(c.incidence)):  # dlam/du_k = sum_s M_sk Y_s X_s
            jac[:, k_idx] += c.incidence[s_idx, k_idx] * yx[:, s_idx]
        curvm = np.zeros((n_p, n_par, n_par))
        if w is not None and k:
            z = np.einsum("psb,pb->ps", yx, w)
            curvm[:, :k, :k] -= 2.0 * np.einsum("sk,sl,ps->pkl", c.incidence, c.incidence, z)
        if self.J:
            sp, sm = self._weights(al, slopes=True)
            ye = ys[:, c.entry_sample]
            dxe = (ye * sp)[:, :, None] * c.dplus + (ye * sm)[:, :, None] * c.dminus  # (P, E, B)
            if self._rel.any():
                dxe[:, self._rel] *= sig[:, None, :]
            fe = None if factor is None else factor[c.entry_sample]  # (E, P or 1, B)
            if fe is not None:
                dxe *= np.swapaxes(fe, 0, 1)
            jac[:, k : k + self.J] = dxe if self._alpha_is_entry else np.matmul(self._onehot_alpha, dxe)
            if w is not None:
                v = np.einsum("peb,pb->pe", dxe, w)
                hua = np.einsum("ek,je,pe->pkj", self._m_entry, self._onehot_alpha, v)
                curvm[:, :k, k : k + self.J] -= 2.0 * hua
                curvm[:, k : k + self.J, :k] -= 2.0 * np.swapaxes(hua, 1, 2)
                # curvature: Y_e 1(|alpha| <= 1) (D+ - D-) . (w or w sig)
                if fe is None:
                    wr = np.where(self._rel[:, None], (self._dd @ (w * sig).T), (self._dd @ w.T)).T  # (P, E)
                else:
                    wsig = np.where(self._rel[:, None, None], (w * sig)[None], w[None]) * fe  # (E, P, B)
                    wr = np.einsum("eb,epb->pe", self._dd, wsig)
                inside = (np.abs(al) <= 1.0) & c.quadratic
                ja = k + np.arange(self.J)
                curvm[:, ja, ja] -= 2.0 * (ye * inside * wr) @ self._onehot_alpha.T
        if self.T:
            # dlam/dtheta_t = sum_{grid entries on t} Y_s dG/dtheta_t (x sig on the signal)
            base = k + self.J
            for ge, (_v, dg, cross, diag) in zip(c.grids, grid):
                scale = ys[:, ge.sample, None] * (sig if ge.relative else 1.0)
                if factor is not None:
                    scale = scale * factor[ge.sample]
                dgs = [d * scale for d in dg]
                m_s = c.incidence[ge.sample]  # d2lam/du_k dtheta = M_sk dlam_s/dtheta
                for i, t in enumerate(ge.params):
                    jac[:, base + t] += dgs[i]
                    if w is not None:
                        v_t = np.einsum("pb,pb->p", dgs[i], w)
                        curvm[:, :k, base + t] -= 2.0 * m_s * v_t[:, None]
                        curvm[:, base + t, :k] -= 2.0 * m_s * v_t[:, None]
                if diag is not None and w is not None:  # total_shape: curvature inside a cell
                    for i, t in enumerate(ge.params):
                        curvm[:, base + t, base + t] -= 2.0 * np.einsum("pb,pb->p", diag[i] * scale, w)
                if cross is not None and w is not None:  # the bilinear cross term
                    v_x = 2.0 * np.einsum("pb,pb->p", cross * scale, w)
                    t1, t2 = base + ge.params[0], base + ge.params[1]
                    curvm[:, t1, t2] -= v_x
                    curvm[:, t2, t1] -= v_x
        return jac, curvm

    def _sample_shift(self, s_idx, fp, fm, sig):
        """sum over the histosys entries on sample s of f_+ D+ + f_- D- (None if it has none)."""
        rows = self._entries_of[s_idx]
        if fp is None or rows.size == 0:
            return None
        c = self.c
        return fp[:, rows] @ c.dplus[rows] + fm[:, rows] @ c.dminus[rows]

    # -- profiling --
    def _starts(self, flat) -> list[np.ndarray]:
        zero = np.zeros((flat.shape[0], len(self.names)))
        if self.T:
            zero[:, self.K + self.J :] = self.c.grid_nominal
        cands = [zero]
        if self.reference_total and self._start_index is not None:
            total = (self._unpack(flat)[0] * self.c.mask[self.c.is_signal].max(0)).sum(-1)
            resc = zero.copy()
            far = total > 2.0 * self.reference_total
            resc[far, self._start_index] = np.log(self.reference_total / total[far])
            cands.append(resc)
        return cands

    def _kernel_args(self) -> tuple:
        """The arrays :func:`~cevnsfit.likelihoods._declared_kernel.declared_loop` reads (cached)."""
        if self._kargs is None:
            c = self.c
            base = np.where(c.is_signal[:, None], c.mask, c.nominal)
            codes = np.array([_kernel.CTYPE_CODES[CONSTRAINTS[t]] for t in c.ctype], dtype=np.int64)
            self._kargs = (
                self.n,
                np.ascontiguousarray(base),
                c.is_signal.astype(np.int64),
                np.ascontiguousarray(c.incidence, dtype=float),
                codes,
                self._s2,
                self._ls,
                self._kk,
                c.entry_sample.astype(np.int64),
                c.entry_alpha.astype(np.int64),
                np.ascontiguousarray(c.dplus),
                np.ascontiguousarray(c.dminus),
                c.quadratic.astype(np.int64),
                *self._kernel_grids(),
                self.const,
                _LAM_FLOOR,
                _U_MAX,
            )
        return self._kargs

    def _kernel_grids(self) -> tuple:
        """The gridsys arrays of :func:`~cevnsfit.likelihoods._declared_kernel.declared_loop`
        (anchors and templates padded to the largest grid)."""
        c = self.c
        grids = c.grids
        n_g, nb = len(grids), c.n_bins
        m = max([a.size for ge in grids for a in ge.anchors] + [2])
        anch = np.zeros((n_g, 2, m))
        nanch = np.full((n_g, 2), 2, dtype=np.int64)
        diff = np.zeros((n_g, m, m, nb))
        for q, ge in enumerate(grids):
            for d, a in enumerate(ge.anchors):
                anch[q, d, : a.size] = a
                nanch[q, d] = a.size
            diff[q, : ge.diff.shape[0], : ge.diff.shape[1]] = ge.diff
        sample = np.array([ge.sample for ge in grids], dtype=np.int64)
        p1 = np.array([ge.params[0] for ge in grids], dtype=np.int64)
        p2 = np.array([ge.params[1] if len(ge.params) == 2 else -1 for ge in grids], dtype=np.int64)
        con = self._g_con.astype(float) if self.T else np.zeros(0)
        s2 = self._g_s2 if self.T else np.zeros(0)
        return sample, p1, p2, anch, nanch, diff, np.asarray(c.grid_nominal, dtype=float), s2, con

    def _compiled(self) -> bool:
        """Whether the Newton profile runs in the compiled kernel (attribute ``use_numba``:
        None = when numba is importable; True/False force)."""
        if self._n_anchor or self._has_stat or self._has_group:  # anchors, per-bin/group factors: numpy path
            return False
        if any(ge.rule != "bilinear" for ge in self.c.grids):  # total_shape: the numpy path
            return False
        return bool(_kernel.HAVE_NUMBA if self.use_numba is None else self.use_numba)

    def _objective(self, flat):
        """(fun, fval) of :func:`~cevnsfit.likelihoods.profile.projected_newton` for the points
        ``flat``: the compiled kernel (:meth:`_compiled`) or the numpy :meth:`_fun`/:meth:`_parts`
        (the same numbers to rounding)."""
        if not self._compiled():

            def fun(x, idx):
                return self._fun(x, flat[idx])

            def fval(x, idx):
                return self._parts(x, flat[idx])[0]

            return fun, fval
        kernel = _kernel.DECLARED_KERNEL
        if kernel is None:
            raise RuntimeError("numba is not available (use_numba=True)")
        args = self._kernel_args()
        sig = np.ascontiguousarray(flat, dtype=float)
        n_par = len(self.names)

        def fun(x, idx):
            m = len(idx)
            f, g, h = np.empty(m), np.empty((m, n_par)), np.empty((m, n_par, n_par))
            kernel(np.ascontiguousarray(x, dtype=float), sig[idx], *args, True, f, g, h)
            return f, g, h

        def fval(x, idx):
            f = np.empty(len(idx))
            kernel(np.ascontiguousarray(x, dtype=float), sig[idx], *args, False, f, _EMPTY2, _EMPTY3)
            return f

        return fun, fval

    def _newton(self, flat):
        fun, fval = self._objective(flat)
        idx = np.arange(flat.shape[0])
        cands = self._starts(flat)
        x0 = cands[0].copy()
        f0 = fval(x0, idx)
        for cand in cands[1:]:
            fc = fval(cand, idx)
            lower = fc < f0
            x0[lower], f0[lower] = cand[lower], fc[lower]
        x, f, ok, _ = projected_newton(
            fun, fval, x0, self.lower, self.upper, tol=self.newton_tol, max_step=self.max_step
        )
        if self.T and not ok.all():
            self._settle_on_anchors(fun, fval, x, f, ok)
        if self.J and not self.c.quadratic.all():
            self._escape_kinks(fun, fval, x, f, ok)
            if not ok.all():
                self._settle_on_kinks(fun, fval, x, f, ok)
        self._restart(flat, cands[-1], fun, fval, x, f, ok)
        return f, x, ok

    def _escape_kinks(self, fun, fval, x, f, ok) -> None:
        """Converged points with a ``linear`` histosys parameter at its kink alpha = 0 that is not a
        minimum of the kinked function (-2 ln L descends into alpha < 0 or alpha > 0: the one-sided
        derivatives are not left <= 0 <= right; Newton sees one side only) are profiled again from
        alpha = -+0.5 on the descending side (in place, where that gives a lower minimum)."""
        linear = self.K + np.unique(self.c.entry_alpha[~self.c.quadratic])
        for _round in range(len(linear)):
            rows = np.flatnonzero(ok & np.any(np.abs(x[:, linear]) < 1e-7, axis=1))
            if rows.size == 0:
                return
            step = np.zeros((rows.size, len(self.names)))
            step[:, linear] = np.abs(x[rows][:, linear]) < 1e-7
            g_right = fun(x[rows] + step * 1e-9, rows)[1]
            g_left = fun(x[rows] - step * 1e-9, rows)[1]
            start = np.where((step > 0) & (g_left > 1e-6), -0.5, np.where((step > 0) & (g_right < -1e-6), 0.5, 0.0))
            move = np.any(start != 0.0, axis=1)
            if not move.any():
                return
            sub = rows[move]
            x0 = np.where(start[move] != 0.0, start[move], x[sub])

            def fun_sub(xx, i, sub=sub):
                return fun(xx, sub[i])

            def fval_sub(xx, i, sub=sub):
                return fval(xx, sub[i])

            x2, f2, ok2, _ = projected_newton(
                fun_sub, fval_sub, x0, self.lower, self.upper, tol=self.newton_tol, max_step=self.max_step
            )
            better = ok2 & (f2 < f[sub])
            x[sub[better]], f[sub[better]] = x2[better], f2[better]

    def _settle_on_kinks(self, fun, fval, x, f, ok) -> None:
        """Points the Newton engine left unconverged with a ``linear`` histosys parameter near
        alpha = 0 (the kink of piecewise-linear interpolation, where Newton oscillates between
        the two sides): those parameters (|alpha| < 0.05) are held at 0 and the others profiled
        again; the result is accepted (in place) when it is a minimum of the kinked function,
        i.e. in each held parameter the left derivative is <= 0 and the right one >= 0 (to
        1e-6), and no higher than where Newton stopped; other points are left to MIGRAD."""
        linear = self.K + np.unique(self.c.entry_alpha[~self.c.quadratic])
        bad = np.flatnonzero(~ok)
        held = np.zeros((bad.size, len(self.names)), bool)
        held[:, linear] = np.abs(x[bad][:, linear]) < 0.05
        try_ = held.any(1)
        if not try_.any():
            return
        sub, held = bad[try_], held[try_]
        x0 = np.where(held, 0.0, x[sub])
        lo = np.where(held, 0.0, np.broadcast_to(self.lower, x0.shape))
        hi = np.where(held, 0.0, np.broadcast_to(self.upper, x0.shape))

        def fun_sub(xx, i):
            return fun(xx, sub[i])

        def fval_sub(xx, i):
            return fval(xx, sub[i])

        x2, f2, ok2, _ = projected_newton(fun_sub, fval_sub, x0, lo, hi, tol=self.newton_tol, max_step=self.max_step)
        every = np.arange(sub.size)
        g_right = fun_sub(x2 + held * 1e-9, every)[1]
        g_left = fun_sub(x2 - held * 1e-9, every)[1]
        kkt = np.all(~held | ((g_right >= -1e-6) & (g_left <= 1e-6)), axis=1)
        accept = ok2 & kkt & (f2 <= f[sub] + 1e-9)
        x[sub[accept]] = x2[accept]
        f[sub[accept]] = f2[accept]
        ok[sub[accept]] = True

    def _restart(self, flat, base, fun, fval, x, f, ok) -> None:
        """Section ``restarts``: points whose signal exceeds ``above`` x the SM signal total are
        profiled again from each of the declared grid-parameter starts (the other nuisances as in
        ``base``: the signal normalisation rescaled to the SM total), first with the grid
        parameters held there, then released; the lowest -2 ln L is kept (in place). For a profile multimodal in the grid parameters (a large signal can be moved
        out of the analysis region by the yields, docs: datasets/format)."""
        c = self.c
        if not c.restart_grid.size or not self.reference_total:
            return
        total = (self._unpack(flat)[0] * self._sig_any).sum(-1)
        big = np.flatnonzero(total > c.restart_above * self.reference_total)
        if big.size == 0:
            return

        def fun_b(xx, i):
            return fun(xx, big[i])

        def fval_b(xx, i):
            return fval(xx, big[i])

        g = slice(self.K + self.J, None)
        for start in c.restart_grid:
            x0 = base[big].copy()
            x0[:, g] = start
            lo, hi = self.lower.copy(), self.upper.copy()
            lo[g] = hi[g] = start  # first profiled at the start's grid values, then released
            x1, _f1, _ok1, _ = projected_newton(fun_b, fval_b, x0, lo, hi, tol=self.newton_tol, max_step=self.max_step)
            x2, f2, ok2, _ = projected_newton(
                fun_b, fval_b, x1, self.lower, self.upper, tol=self.newton_tol, max_step=self.max_step
            )
            better = ok2 & (f2 < f[big])
            x[big[better]], f[big[better]], ok[big[better]] = x2[better], f2[better], True

    def _settle_on_anchors(self, fun, fval, x, f, ok) -> None:
        """Points the Newton engine left unconverged next to an interior grid anchor (the rule's
        kink, where it oscillates between the two cells): those grid parameters are held at the
        anchor and the others profiled again; the result is accepted (in place) when it is a
        minimum of the kinked function, i.e. the left derivative in each held parameter is <= 0
        and the right one >= 0 (to 1e-6). Tried with every grid parameter within 5% of a cell of
        an interior anchor held, then with the nearest one alone; other points are left to MIGRAD."""
        base = self.K + self.J
        anchors: dict[int, np.ndarray] = {}
        for ge in self.c.grids:
            for t, a in zip(ge.params, ge.anchors):
                anchors[t] = a
        for attempt in range(2):
            bad = np.flatnonzero(~ok)
            if bad.size == 0:
                return
            xb = x[bad].copy()
            dist = np.full((bad.size, len(self.names)), np.inf)
            snap_to = np.zeros_like(xb)
            for t, a in anchors.items():
                col = xb[:, base + t]
                i = np.clip(np.searchsorted(a, col), 1, a.size - 1)
                near = np.where(col - a[i - 1] < a[i] - col, a[i - 1], a[i])
                interior = (near > a[0]) & (near < a[-1])
                rel = np.abs(col - near) / (a[i] - a[i - 1])
                dist[:, base + t] = np.where(interior & (rel < 0.05), rel, np.inf)
                snap_to[:, base + t] = near
            held = np.isfinite(dist)
            if attempt == 1:  # the nearest one alone
                held = held & (dist == dist.min(1, keepdims=True))
            lo = np.broadcast_to(self.lower, xb.shape).copy()
            hi = np.broadcast_to(self.upper, xb.shape).copy()
            lo[held] = hi[held] = xb[held] = snap_to[held]
            try_ = held.any(1)
            if not try_.any():
                return
            sub = bad[try_]

            def fun_sub(xx, i, sub=sub):
                return fun(xx, sub[i])

            def fval_sub(xx, i, sub=sub):
                return fval(xx, sub[i])

            x2, f2, ok2, _ = projected_newton(
                fun_sub, fval_sub, xb[try_], lo[try_], hi[try_], tol=self.newton_tol, max_step=self.max_step
            )
            h2 = held[try_]
            every = np.arange(sub.size)
            g_right = fun_sub(x2, every)[1]  # at an interior anchor: the right cell
            g_left = fun_sub(x2 - h2 * 1e-9 * (1.0 + np.abs(x2)), every)[1]
            kkt = np.all(~h2 | ((g_right >= -1e-6) & (g_left <= 1e-6)), axis=1)
            accept = ok2 & kkt & (f2 <= f[sub] + 1e-9)
            x[sub[accept]] = x2[accept]
            f[sub[accept]] = f2[accept]
            ok[sub[accept]] = True

    def _migrad(self, flat):
        def objective(x, pred):
            f, g, _ = self._fun(x[None, :], pred[None, :])
            return float(f[0]), g[0]

        def starts(pred):
            return [c[0] for c in self._starts(pred[None, :])]

        limits = [
            (None if np.isinf(lo) else lo, None if np.isinf(hi) else hi) for lo, hi in zip(self.lower, self.upper)
        ]
        engine = ProfileEngine(
            objective, starts, self.names, errors=np.full(len(self.names), 0.1), limits=limits, tol=self.tol
        )
        return engine.profile(flat)

    def profile(self, pred) -> tuple[np.ndarray, np.ndarray]:
        """(ln L_p, best-fit nuisances (u for normalisations, alpha for shapes)) per point."""
        pred = np.asarray(pred, dtype=float)
        flat = pred.reshape((-1, self._width)) if pred.size else pred.reshape((0, self._width))
        points = pred.shape[: pred.ndim - 1] if pred.ndim and pred.shape[-1] == self._width else (flat.shape[0],)
        out = np.full(flat.shape[0], np.nan)
        best = np.full((flat.shape[0], len(self.names)), np.nan)
        if not self.names:
            out = self._parts(np.zeros((flat.shape[0], 0)), flat)[0]
            return (-0.5 * out).reshape(points), best.reshape(points + (0,))
        good = np.flatnonzero(np.all(np.isfinite(flat), axis=1))
        failed = []
        if self.engine == "migrad":
            out[good], best[good] = self._migrad(flat[good])
        else:
            for lo in range(0, good.size, self.chunk):
                sl = good[lo : lo + self.chunk]
                out[sl], best[sl], ok = self._newton(flat[sl])
                failed.append(sl[~ok])
            bad = np.concatenate(failed) if failed else np.zeros(0, int)
            self.last_fallbacks = int(bad.size)
            if bad.size:
                f_m, x_m = self._migrad(flat[bad])
                better = ~(out[bad] <= f_m)
                out[bad[better]], best[bad[better]] = f_m[better], x_m[better]
        return (-0.5 * out).reshape(points), best.reshape(points + (len(self.names),))

    def logl(self, pred) -> np.ndarray:
        pred = np.asarray(pred, dtype=float)
        nb = self._width
        lead = _lead_shape(pred, nb)
        return self.profile(pred.reshape(lead + (nb,)))[0]

    def twice_nll(self, pred, x) -> np.ndarray:
        """-2 ln L at fixed nuisances ``x`` (points, n_par) (no profiling)."""
        flat = np.asarray(pred, dtype=float).reshape((-1, self._width))
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if self.T:
            theta = x[:, self.K + self.J :]
            out = (theta < self.c.grid_lo) | (theta > self.c.grid_hi)
            if np.any(out):
                t = int(np.argmax(out.any(0)))
                raise ParameterError(
                    f"gridsys parameter {self.c.grid_names[t]!r} outside its anchors "
                    f"[{self.c.grid_lo[t]:g}, {self.c.grid_hi[t]:g}]: no extrapolation"
                )
        return self._parts(x, flat)[0]

    def pseudo_data(self, expected, rng: np.random.Generator) -> ProfiledBinned:
        """A copy with toy counts: nuisances drawn from their constraints, then Poisson counts."""
        if self.c.asimov:
            raise ParameterError(
                "an Asimov projection (its 'data' are the SM expectation) has nothing to fluctuate: "
                "no toys; drop it from the datasets"
            )
        sig = np.asarray(expected, dtype=float).reshape(1, -1)
        y = np.ones(self.K)
        s = self.c.sigma
        for i, t in enumerate(self.c.ctype):
            kind = CONSTRAINTS[t]
            if kind == "normal":
                y[i] = max(1.0 + rng.normal(0.0, s[i]), 1e-12)
            elif kind == "lognormal":
                y[i] = np.exp(rng.normal(0.0, np.log1p(s[i])))
            elif kind == "gamma":
                y[i] = rng.gamma(1.0 / s[i] ** 2, s[i] ** 2)
        theta = np.zeros(0)
        if self.T:
            c = self.c
            draw = c.grid_nominal + rng.normal(0.0, 1.0, self.T) * np.where(self._g_con, c.grid_sigma, 0.0)
            theta = np.clip(draw, c.grid_lo, c.grid_hi)  # the anchor box (no extrapolation)
        x = np.concatenate([np.log(y), rng.normal(0.0, 1.0, self.J), theta])[None, :]
        parts = self._parts(x, sig)[1]  # (u, y, ys, al, fp, fm, lam_raw, lam, grid, st)
        lam = parts[7][0]
        if parts[9] is not None and self._has_group:  # group factors: gamma_g ~ Gamma(A_g) / tau_g
            c, st = self.c, parts[9]
            tau_g = np.where(c.group_tau > 0, c.group_tau, 1.0)
            gam_g = np.where(c.group_aux > 0, rng.gamma(np.maximum(c.group_aux, 1e-300)) / tau_g, st["gamma_g"][0])
            draw = self._groups.spread(gam_g, 1.0)  # the free ones at their fit
            lam = np.maximum(draw * st["a"][0] + st["c"][0], 0.0)
        elif parts[9] is not None:  # per-bin factors drawn from their constraints
            c, st = self.c, parts[9]
            draw = np.where(
                c.stat_kind == 1,
                np.maximum(1.0 + c.stat_delta * rng.normal(0.0, 1.0, c.n_bins), 0.0),
                np.where(
                    c.stat_kind == 2, rng.gamma(np.maximum(c.stat_tau, 1e-300)) / np.maximum(c.stat_tau, 1e-300), 1.0
                ),
            )
            lam = np.maximum(draw * st["a"][0] + st["c"][0], 0.0)
        toy = replace(self.c, n=rng.poisson(lam).astype(float))
        return ProfiledBinned(toy, self.reference_total, self.engine, self.tol)


def _lead_shape(pred: np.ndarray, nb: int) -> tuple:
    """Leading (points) shape of a prediction whose trailing axes hold ``nb`` bins."""
    size = 1
    for i in range(pred.ndim, 0, -1):
        size *= pred.shape[i - 1]
        if size == nb:
            return pred.shape[: i - 1]
    raise ParameterError(f"prediction of shape {pred.shape} does not end in {nb} bins")


def _prior_text(kind: str, sigma: float) -> str:
    return "flat (normfactor)" if kind == "none" else f"{kind}(sigma={sigma:g})"


class MarginalisedBinned:
    """Per-bin marginalised likelihood of a compiled declaration (module docstring, paper mode)."""

    def __init__(self, comp: Compiled):
        has_stat = bool(np.any(comp.stat_kind))
        if comp.alpha_names or comp.grid_names or has_stat or np.any(comp.ctype != CONSTRAINTS.index("normal")):
            raise DeclarationError("the marginalised likelihood takes normal-constrained normsys modifiers only")
        if np.any(comp.n != np.round(comp.n)):
            raise DeclarationError("the marginalised likelihood needs integer counts")
        self.c = comp
        self.n = comp.n
        self.counts = comp.n.astype(int)
        self.bin_shape = (comp.n_bins,)
        sig_rows = comp.is_signal
        self.sig_mask = comp.mask[sig_rows].sum(0)  # 1 where a signal sample acts
        self.bkg = comp.nominal[~sig_rows].sum(0)
        # per normalisation k: sigma_k (e_k * signal + B_k)
        self.e = np.einsum("sk,sb->kb", comp.incidence[sig_rows], comp.mask[sig_rows])
        self.bk = np.einsum("sk,sb->kb", comp.incidence[~sig_rows], comp.nominal[~sig_rows])
        self.sigma = comp.sigma
        self.NUISANCES = tuple(
            {"name": k, "prior": f"normal(0, {s:g})", "paper": "marginalised per bin (one Gaussian)"}
            for k, s in zip(comp.norm_names, comp.sigma)
        )

    def logl_bins(self, sig: np.ndarray) -> np.ndarray:
        mu = sig * self.sig_mask + self.bkg
        spread = self.sigma[:, None] * (self.e * sig[..., None, :] + self.bk)  # (..., K, B)
        s = np.sqrt((spread * spread).sum(-2))
        s = np.maximum(s, 1e-9 * np.maximum(mu, 1.0))
        return log_smeared_poisson(self.counts, mu, s)

    def logl(self, pred) -> np.ndarray:
        pred = np.asarray(pred, dtype=float)
        nb = self.c.n_bins
        lead = _lead_shape(pred, nb)
        return self.logl_bins(pred.reshape(lead + (nb,))).sum(-1)

    def pseudo_data(self, expected, rng: np.random.Generator) -> MarginalisedBinned:
        """A copy with toy counts: per bin lam ~ N(mu_b, s_b^2) truncated at 0, then Poisson."""
        sig = np.asarray(expected, dtype=float).ravel()
        mu = sig * self.sig_mask + self.bkg
        spread = self.sigma[:, None] * (self.e * sig + self.bk)
        s = np.sqrt((spread * spread).sum(0))
        counts = rng.poisson(np.maximum(mu + rng.normal(0.0, 1.0, mu.shape) * s, 0.0))
        return MarginalisedBinned(replace(self.c, n=counts.astype(float)))


# ---------------------------------------------------------------------------------------------
# data-set terms
# ---------------------------------------------------------------------------------------------


@dataclass
class DeclaredTerm(DatasetTerm):
    """A :class:`~cevnsfit.likelihoods.datasets.DatasetTerm` of a declaration: exposures from the
    declaration, and the parts :func:`merge_shared` needs to join terms sharing nuisances."""

    parts: list = field(default_factory=list, repr=False)
    exposure_ids: tuple = ()

    @property
    def exposures(self) -> tuple:
        return self.exposure_ids or (self.name,)


def _options(decl: dict, mode: str, options: dict) -> dict:
    src = decl.get(SOURCE_KEY, decl["name"])
    unknown = set(options) - set(TERM_OPTIONS)
    if unknown:
        raise DeclarationError(
            f"{src}: options: unknown likelihood option {sorted(unknown)[0]!r} for mode {mode!r}; "
            f"allowed: {', '.join(TERM_OPTIONS)}"
        )
    share = options.get("share", ())
    share = (share,) if isinstance(share, str) else tuple(share)
    keys = shared_constraints([decl])
    for k in share:
        if k not in keys:
            raise DeclarationError(
                f"{src}: options.share: {k!r} is not a sharing key of this data set; allowed: {', '.join(keys) or 'none'}"
            )
    backend = options.get("backend", "auto")
    if backend not in BACKENDS:
        raise DeclarationError(f"{src}: options.backend: {backend!r} is not allowed; allowed: {', '.join(BACKENDS)}")
    return {
        "share": share,
        "engine": options.get("engine", "newton"),
        "tol": float(options.get("tol", 1e-4)),
        "backend": "generic" if share else backend,  # a shared nuisance joins generic terms
    }


def _term_object(
    comp: Compiled, section: dict, reference_total, engine: str, tol: float, backend="generic", shape=None
):
    if section.get("treatment", "profiled") == "marginalised":
        return MarginalisedBinned(comp)
    if comp.asimov and not comp.names and not np.any(comp.nominal):
        # no nuisances, no backgrounds: the Asimov Poisson of the reference analysis
        return AsimovPoisson(comp.n, n_bin_axes=1)
    if backend == "auto":
        fast = None
        if "fast_path" in section:  # the data set's compiled backend, reading this declaration
            fast = import_object(section["fast_path"])(comp, reference_total, engine, tol, shape)
        if fast is None:
            fast = templates_backend(comp, reference_total, engine, tol, shape)
        if fast is not None:
            return fast
    return ProfiledBinned(comp, reference_total, engine, tol)


def templates_backend(comp: Compiled, reference_total, engine: str, tol: float, shape=None):
    """The compiled fast path :class:`~cevnsfit.likelihoods.full.CennsFullLikelihood` for a
    declaration of its structure, else None: one signal over all bins with one normal (or free)
    normalisation; templates with one normal normalisation each; ``shape_only`` quadratic
    histosys, one entry per nuisance (on the signal relative to a declared nominal). It reads the
    same arrays as :class:`ProfiledBinned`, and equals it to 1e-8 in -2 ln L (tests)."""
    from .full import CennsFullLikelihood
    from .morph import TemplateMorph

    c = comp
    sig = np.flatnonzero(c.is_signal)
    inc = c.incidence
    if c.grid_names or np.any(c.stat_kind) or np.any(c.group_index >= 0):
        return None
    if sig.size != 1 or not np.all(c.mask[sig[0]] == 1.0) or not np.all((inc == 0) | (inc == 1)):
        return None
    if np.any(inc.sum(1) != 1) or np.any(inc.sum(0) != 1):
        return None  # every sample exactly one normalisation, every normalisation on one sample
    kinds = np.array(CONSTRAINTS)[c.ctype]
    k_of = inc.argmax(1)  # the normalisation of each sample
    s0 = int(sig[0])
    if kinds[k_of[s0]] not in ("normal", "none") or any(
        kinds[k_of[s]] != "normal" for s in range(inc.shape[0]) if s != s0
    ):
        return None
    if c.alpha_names and not (
        c.quadratic.all()
        and c.entry_shape_only is not None
        and c.entry_shape_only.all()
        and np.array_equal(c.entry_alpha, np.arange(len(c.alpha_names)))
    ):
        return None
    tmpl = [s for s in range(inc.shape[0]) if s != s0]
    if not tmpl:
        return None
    names = [c.sample_names[s] for s in tmpl]
    short = [n.rsplit("/", 1)[-1] for n in names]  # channel/sample: the sample alone when unique
    names = short if len(set(short)) == len(short) else names
    backgrounds = {n: c.nominal[s] for n, s in zip(names, tmpl)}
    sigmas = {n: float(c.sigma[k_of[s]]) for n, s in zip(names, tmpl)}
    morph, nominal = None, None
    if c.alpha_names:
        assert c.entry_p0 is not None
        on_sig = c.entry_sample == s0
        if on_sig.any():
            nominal = c.entry_p0[on_sig][0]
            if not np.allclose(c.entry_p0[on_sig], nominal, rtol=0, atol=0):
                return None
        totals = c.nominal.sum(1)
        scale = np.where(on_sig, 1.0, 1.0 / np.where(on_sig, 1.0, totals[c.entry_sample]))[:, None]
        unit_p = np.where(on_sig[:, None], c.dplus * (nominal if nominal is not None else 0.0), c.dplus * scale)
        unit_m = np.where(on_sig[:, None], c.dminus * (nominal if nominal is not None else 0.0), c.dminus * scale)
        component = np.where(on_sig, 0, np.array([tmpl.index(s) + 1 if s != s0 else 0 for s in c.entry_sample]))
        morph = TemplateMorph(c.alpha_names, component.astype(int), unit_p, unit_m, "quadratic")
    observed = c.n.reshape(shape) if shape is not None else c.n
    sigma0 = float(c.sigma[k_of[s0]]) if kinds[k_of[s0]] == "normal" else None
    return CennsFullLikelihood(
        observed,
        backgrounds,
        sigmas,
        morph,
        cevns_nominal=nominal,
        cevns_sigma=sigma0,
        reference_total=reference_total,
        tol=tol,
        engine=engine,
    )


def build_term(decl: dict, experiment, mode: str = "paper", matching: str | None = None, **options) -> DeclaredTerm:
    """The data-set term of the declared likelihood of ``decl`` in ``mode`` on ``experiment``
    (:func:`cevnsfit.experiments.declared.build_experiment`). Options: ``share`` (sharing keys
    to join with other data sets, default none), ``engine`` ("newton" with the MIGRAD fallback,
    or "migrad"), ``tol`` (MIGRAD)."""
    src = decl.get(SOURCE_KEY, decl["name"])
    if mode not in decl["likelihood"]:
        raise UnknownNameError(
            f"{src}: data set {decl['name']!r} has no {mode!r} likelihood; modes: {', '.join(decl['likelihood'])}"
        )
    section = decl["likelihood"][mode]
    if "channels" not in section:
        raise DeclarationError(
            f"{src}: likelihood.{mode}: a code backend ({section.get('backend')}) is built by the registry"
        )
    matching = matching or mode
    opt = _options(decl, mode, options)
    part = Part(section, experiment, matching, decl["name"], str(src), opt["share"], prefix="")
    comp = compile_parts([part])
    sig_sm = np.asarray(experiment.predict(None, matching=matching), dtype=float).ravel()
    comp.sm_prediction = sig_sm.copy()
    if comp.anchor_fold is not None:  # the prediction folded at the anchors
        sig_sm = sig_sm @ comp.anchor_fold.reshape(comp.anchor_fold.shape[0], -1)
    if comp.anchor_shape:  # predictions at the anchors: the nominal one
        sig_sm = comp.anchor_w0 @ sig_sm.reshape(-1, comp.n_bins)
    if comp.asimov:
        asimov_n = _asimov_counts(comp, sig_sm)
        n = comp.n.copy()
        for ch in section["channels"]:
            if "asimov" in ch["data"]:
                sl = comp.channel_slices[ch["name"]]
                n[sl] = asimov_n[sl]
        comp.n = n
    ref = float(sig_sm.sum())
    term = _term_object(comp, section, ref, opt["engine"], opt["tol"], opt["backend"], tuple(experiment.shape))
    return DeclaredTerm(
        decl["name"],
        experiment,
        term,
        matching=matching,
        info={
            "likelihood": section.get("treatment", "profiled"),
            "declared": src,
            "share": list(opt["share"]),
            "kind": decl["kind"],
        },
        parts=[replace(part, section=_with_counts(section, comp))],
        exposure_ids=tuple(decl.get("exposures", ())),
    )


def _with_counts(section: dict, comp: Compiled) -> dict:
    """The section with each channel's data as resolved counts (Asimov data fixed once)."""
    out = dict(section)
    out["channels"] = []
    for ch in section["channels"]:
        c = dict(ch)
        c["data"] = {"counts": comp.n[comp.channel_slices[ch["name"]]].tolist()}
        out["channels"].append(c)
    return out


class JointExperiment:
    """Several experiments' predictions side by side (flattened): the experiment of a term
    joined by :func:`merge_shared`."""

    def __init__(self, terms):
        self.terms = terms
        self.name = "+".join(t.name for t in terms)
        self.shape = (sum(int(np.prod(t.experiment.shape)) for t in terms),)
        self.info = {"joined": [t.name for t in terms]}
        self.data: dict = {}

    def predict(self, model=None, matching=None, **kw):
        preds = []
        for t in self.terms:
            p = np.asarray(t.experiment.predict(model, matching=t.matching), dtype=float)
            nb = len(t.experiment.shape)
            preds.append(p.reshape(p.shape[: p.ndim - nb] + (-1,)))
        return np.concatenate(preds, axis=-1)


def merge_shared(terms: list) -> list:
    """Join the declared terms that share a nuisance (option ``share``) into one profiled term
    each; other terms pass through unchanged, in order."""
    keys = []
    for t in terms:
        share = set(t.info.get("share", ())) if isinstance(t, DeclaredTerm) else set()
        keys.append(share)
    parent = list(range(len(terms)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(terms)):
        for j in range(i):
            if keys[i] & keys[j]:
                parent[root(i)] = root(j)
    seen: dict[int, list[int]] = {}
    for i in range(len(terms)):
        seen.setdefault(root(i), []).append(i)
    groups = list(seen.values())
    out = []
    for grp in sorted(groups, key=lambda g: g[0]):
        if len(grp) == 1:
            out.append(terms[grp[0]])
            continue
        members = [terms[i] for i in grp]
        parts = []
        for t in members:
            if isinstance(t.term, ProfiledBinned) and t.term.c.anchor_shape:
                raise DeclarationError(
                    f"data set {t.name!r} predicts at anchors ('prediction' gridsys): it cannot share nuisances"
                )
            if not isinstance(t.term, ProfiledBinned) or len(t.parts) != 1:
                raise DeclarationError(
                    f"data set {t.name!r} shares a nuisance but its term ({type(t.term).__name__}) is not profiled: "
                    "shared nuisances need treatment 'profiled' in every data set"
                )
            parts.append(replace(t.parts[0], prefix=t.name + "."))
        comp = compile_parts(parts)
        ref = sum(t.term.reference_total or 0.0 for t in members)
        joint = JointExperiment(members)
        term = ProfiledBinned(comp, ref, members[0].term.engine, members[0].term.tol)
        out.append(
            DeclaredTerm(
                joint.name,
                joint,
                term,
                matching=members[0].matching,
                info={"likelihood": "profiled", "joined": [t.name for t in members], "share": []},
                parts=parts,
                exposure_ids=tuple(e for t in members for e in t.exposures),
            )
        )
    return out


__all__ = [
    "CONSTRAINTS",
    "Compiled",
    "DeclaredTerm",
    "JointExperiment",
    "GridEntry",
    "MarginalisedBinned",
    "ProfiledBinned",
    "STAT_TYPES",
    "build_term",
    "compile_parts",
    "grid_cell",
    "grid_interpolate",
    "merge_shared",
    "stat_optimum",
]
