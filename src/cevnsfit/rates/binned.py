"""Binned predictions from precomputed kernels: the hot path of the project.

For isotope k, flux group g and interaction structure s (docs: physics, the rate engine;
physics/cross-section) the binned observed-energy spectrum is

    S_g[e] = sum_k sum_s sum_i C_{s,k,f(g)}(q_i^2; theta) M_{s,g,k}[i, e],
    M_{s,g,k}[i, e] = w_i K_{s,g,k}(E_i) F_s(E_i)^2 R_k[i, e],

with quadrature nodes E_i, weights w_i, R the detector response and f(g) the flavour of
group g. M does not depend on theta, so it is built once (the vector matrices at
construction, the others the first time a model needs them). Writing the vector
coefficient as C = (Q_V^SM + d)^2 + fc gives

    S_g = (Q_V^SM)^2 colsum(M_vector) + [(2 Q_V^SM + d) d + fc] @ M_vector + C_scalar @ M_scalar + ...,

so a model with no new couplings reproduces the SM bit for bit, and parameter points are a
batched matrix product: no Python loop over points, nodes or bins. The engine only sees the
structure coefficients a model returns (:class:`~cevnsfit.models.base.Couplings`); it never
names a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..physics.cross_section import incoherent_structures, qv_sm
from ..physics.flux import Source
from ..physics.nucleus import Nucleus
from .kernels import kernel


@dataclass
class IsotopeBlock:
    """Precomputed, theta-independent pieces for one target isotope."""

    nucleus: Nucleus
    er_mev: np.ndarray  # quadrature nodes (n_i,)
    weights: np.ndarray  # quadrature weights (n_i,)
    n_targets: float
    response: np.ndarray | None = None  # R (n_i, n_e)
    matrices: dict = field(default_factory=dict)  # group -> M_vector (n_i, n_e)
    colsums: dict = field(default_factory=dict)  # group -> colsum(M_vector) (n_e,)
    other: dict = field(default_factory=dict)  # structure -> {group -> M_s}

    _q2: np.ndarray | None = None

    @property
    def q2_mev2(self) -> np.ndarray:
        """Q^2 = 2 m_N E_r at the nodes [MeV^2], computed and validated once, read-only."""
        if self._q2 is None:
            q2 = 2.0 * self.nucleus.mass_mev * np.asarray(self.er_mev, dtype=float)
            if not np.all(np.isfinite(q2)) or np.any(q2 < 0):
                raise ValueError("recoil nodes must be finite and >= 0")
            q2.setflags(write=False)
            self._q2 = q2
        return self._q2


def _full(c, full: tuple):
    """``c`` broadcast to ``full`` (a view; no copy when it already has that shape)."""
    if c is None or np.shape(c) == full:
        return c
    return np.broadcast_to(c, full)


class SpectrumEngine:
    """Binned observed-energy spectra per flux group for any model.

    Parameters
    ----------
    source : :class:`~cevnsfit.physics.flux.Source` (its ``groups`` order the output)
    isotopes : list of (Nucleus, n_targets, er_nodes_mev, weights, response R (n_i, n_e))
    sin2_theta_w : weak mixing angle used for Q_V^SM
    """

    def __init__(self, source: Source, isotopes, sin2_theta_w: float):
        self.source = source
        self.groups = tuple(source.groups)
        self.group_names = tuple(g.name for g in self.groups)
        self.sin2_theta_w = sin2_theta_w
        self.blocks: list[IsotopeBlock] = []
        n_e = None
        for nucleus, n_targets, er, w, resp in isotopes:
            blk = IsotopeBlock(nucleus, np.asarray(er), np.asarray(w), n_targets, np.asarray(resp))
            for g in self.group_names:
                m = self._matrix(blk, g, "vector")
                blk.matrices[g] = m
                blk.colsums[g] = m.sum(axis=0)
            n_e = resp.shape[1]
            self.blocks.append(blk)
        self.n_e = n_e

    def _matrix(self, blk: IsotopeBlock, group: str, structure: str) -> np.ndarray:
        k = kernel(group, blk.er_mev, blk.nucleus, self.source, blk.n_targets, structure=structure)
        return np.ascontiguousarray((blk.weights * k)[:, None] * blk.response)

    def structure_matrices(self, blk: IsotopeBlock, structure: str) -> dict:
        """{group: M_s} for ``structure``, built on first use and kept."""
        if structure == "vector":
            return blk.matrices
        if structure not in blk.other:
            blk.other[structure] = {g: self._matrix(blk, g, structure) for g in self.group_names}
        return blk.other[structure]

    @staticmethod
    def _vector_extra(qsm: float, cp, flavour: str):
        """C_vector - (Q_V^SM)^2 for one flavour, or None if it vanishes identically."""
        d = cp.dq.get(flavour)
        fc = cp.fc.get(flavour)
        ff = cp.weak_ff_ratio
        if d is not None and not np.any(d):
            d = None
        if ff is None:
            extra = None if d is None else (2.0 * qsm + d) * d
        else:
            q = qsm if d is None else qsm + d
            extra = q * q * ff - qsm * qsm
        if fc is not None and np.any(fc):
            fcw = fc if ff is None else fc * ff
            extra = fcw if extra is None else extra + fcw
        return extra

    def energy_counts(self, model=None, matching: str = "paper") -> np.ndarray:
        """Counts per flux group and observed-energy bin, shape ``model.shape + (n_groups, n_e)``.

        ``model=None`` is the Standard Model.
        """
        shape = () if model is None else tuple(model.shape)
        out = np.zeros(shape + (len(self.groups), self.n_e))
        for blk in self.blocks:
            qsm = qv_sm(blk.nucleus.Z, blk.nucleus.N, self.sin2_theta_w)
            for j, g in enumerate(self.group_names):
                out[..., j, :] += qsm * qsm * blk.colsums[g]
            if model is None:
                continue
            cp = model.couplings(blk.nucleus, blk.q2_mev2, matching, self.sin2_theta_w)
            full = shape + blk.er_mev.shape
            cache: dict = {}
            others = [(rec, cp.coefficient(rec.coefficient)) for rec in incoherent_structures()]
            others = [(rec, table) for rec, table in others if table]
            for j, grp in enumerate(self.groups):
                fl = grp.flavour
                if fl not in cache:
                    cache[fl] = _full(self._vector_extra(qsm, cp, fl), full)
                if cache[fl] is not None:
                    out[..., j, :] += cache[fl] @ blk.matrices[grp.name]
                for rec, table in others:
                    c = table.get(fl)
                    if c is None or not np.any(c):
                        continue
                    if rec.form_factor == "weak" and cp.weak_ff_ratio is not None:
                        c = c * cp.weak_ff_ratio
                    out[..., j, :] += _full(c, full) @ self.structure_matrices(blk, rec.name)[grp.name]
        return out

    def recoil_spectrum(self, er_mev, model=None, matching: str = "paper") -> np.ndarray:
        """dN/dE_r [events/MeV] per flux group at recoil energies ``er_mev`` (no detector response).

        Shape ``model.shape + (n_groups, len(er_mev))``; summed over isotopes.
        """
        er = np.asarray(er_mev, dtype=float)
        shape = () if model is None else tuple(model.shape)
        out = np.zeros(shape + (len(self.groups),) + er.shape)
        for blk in self.blocks:
            qsm = qv_sm(blk.nucleus.Z, blk.nucleus.N, self.sin2_theta_w)
            q2 = 2.0 * blk.nucleus.mass_mev * er
            cp = None if model is None else model.couplings(blk.nucleus, q2, matching, self.sin2_theta_w)
            for j, grp in enumerate(self.groups):
                kv = kernel(grp.name, er, blk.nucleus, self.source, blk.n_targets)
                c = qsm * qsm
                if cp is not None:
                    extra = self._vector_extra(qsm, cp, grp.flavour)
                    c = c if extra is None else c + extra
                out[..., j, :] += c * kv
                if cp is None:
                    continue
                for rec in incoherent_structures():
                    cs = cp.coefficient(rec.coefficient).get(grp.flavour)
                    if cs is None or not np.any(cs):
                        continue
                    if rec.form_factor == "weak" and cp.weak_ff_ratio is not None:
                        cs = cs * cp.weak_ff_ratio
                    out[..., j, :] += cs * kernel(
                        grp.name, er, blk.nucleus, self.source, blk.n_targets, structure=rec.name
                    )
        return out
