"""SM inputs as parameters: the weak mixing angle and the neutron radii (docs: models).

Both act through the SM structures: s_W^2 shifts every flavour's vector charge,
Q_V^SM(s) - Q_V^SM(s_0) = Z (-2 (s - s_0)) (the Q_V = Z g_p + N g_n of docs: physics/cross-section, with
g_p = 1/2 - 2 s_W^2), and a neutron radius R_n rescales the weak form factor,
F_w(q; R_n)^2 / F_w(q; R_n0)^2, in the parameterisation (Helm or Klein-Nystrand) the
experiment uses for that nucleus. Both combine with any other model (``"lmu-ltau+neutron-radius"``),
so a neutron radius can be a parameter of interest or a profiled nuisance.
"""

from __future__ import annotations

import numpy as np

from ..constants import SIN2_THETA_W
from ..physics.cross_section import qv_sm
from .base import FLAVOURS, Couplings, Model, check_q2
from .parameters import Parameter


class WeakMixing(Model):
    """The weak mixing angle ``s2w`` (sin^2 theta_W at low energy, MS-bar; default 0.23857).

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> c = WeakMixing(s2w=0.25).couplings(ar, np.array([0.0]), sin2_theta_w=0.23857)
    >>> round(float(c.dq["nue"][0]), 10) == round(-2 * 18 * (0.25 - 0.23857), 10)
    True
    """

    NAME = "weak-mixing"
    PARAMETERS = (
        Parameter("s2w", "", SIN2_THETA_W, 0.0, 1.0, "uniform", 0.1, 0.4, "sin^2 theta_W at low energy (MS-bar)"),
    )

    def __init__(self, s2w=None):
        self._init_params({"s2w": s2w})

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        q2 = check_q2(q2_mev2)
        s0 = SIN2_THETA_W if sin2_theta_w is None else sin2_theta_w
        s = self._expand(self.values["s2w"], q2)
        # Q_V^SM(s) - Q_V^SM(s0) = -2 Z (s - s0) (docs: physics/cross-section normalisation)
        shift = np.asarray(qv_sm(nucleus.Z, nucleus.N, s) - qv_sm(nucleus.Z, nucleus.N, s0))  # type: ignore[arg-type]
        if not np.any(shift):
            return Couplings()
        full = self._full(shift, q2)
        return Couplings(dq={f: full for f in FLAVOURS})


#: Element symbol -> parameter name of its neutron radius.
ELEMENTS = {"Cs": "rn_cs", "I": "rn_i", "Ar": "rn_ar", "Xe": "rn_xe"}


def _element(nucleus) -> str:
    return nucleus.name.rstrip("0123456789")


class NeutronRadius(Model):
    """Neutron (weak) radii ``rn_cs``, ``rn_i``, ``rn_ar``, ``rn_xe`` [fm]; 0 (the default)
    keeps the experiment's own value for that element.

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> cs = Nucleus.from_table("Cs133", 4.7, "helm")
    >>> q2 = 2 * cs.mass_mev * np.array([0.005, 0.02])
    >>> c = NeutronRadius(rn_cs=5.0).couplings(cs, q2)
    >>> er = q2 / (2 * cs.mass_mev)
    >>> ref = Nucleus.from_table("Cs133", 5.0, "helm").form_factor_sq(er) / cs.form_factor_sq(er)
    >>> bool(np.allclose(c.weak_ff_ratio, ref, rtol=1e-12))
    True
    """

    NAME = "neutron-radius"
    PARAMETERS = tuple(
        Parameter(
            name, "fm", 0.0, 0.0, 10.0, "uniform", 3.0, 7.0, f"neutron rms radius of {el} (0: the experiment's value)"
        )
        for el, name in ELEMENTS.items()
    )

    def __init__(self, **radii):
        self._init_params(radii)

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        q2 = check_q2(q2_mev2)
        name = ELEMENTS.get(_element(nucleus))
        if name is None:
            return Couplings()
        rn = self.values[name]
        if not np.any(rn):
            return Couplings()
        er = q2 / (2.0 * nucleus.mass_mev)
        f0 = nucleus.form_factor_sq(er)
        radii = np.where(rn > 0, rn, nucleus.rn_fm)
        num = nucleus.weak_form_factor_sq_at(er, self._expand(radii, q2))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(f0 > 0, num / f0, 1.0)
        return Couplings(weak_ff_ratio=ratio)


class Combined(Model):
    """Several models acting together (``model_from_name("lmu-ltau+neutron-radius", ...)``):
    their parameters are pooled (names must not clash) and their couplings combine by
    :meth:`~cevnsfit.models.base.Couplings.__add__`.
    """

    def __init__(self, models):
        self.models = tuple(models)
        self.NAME = "+".join(m.NAME for m in self.models)
        names = [n for m in self.models for n in m.parameter_names()]
        if len(set(names)) != len(names):
            from ..errors import ParameterError

            raise ParameterError(f"models {self.NAME} share parameter names; cannot combine them")
        self.PARAMETERS = tuple(p for m in self.models for p in m.PARAMETERS)
        self.STRUCTURES = tuple(dict.fromkeys(s for m in self.models for s in m.STRUCTURES))
        shapes = [m.shape for m in self.models]
        self.shape = np.broadcast_shapes(*shapes)
        self.values = {k: np.broadcast_to(v, self.shape) for m in self.models for k, v in m.values.items()}

    def parameter_names(self):
        return tuple(p.name for p in self.PARAMETERS)

    def take(self, index) -> Combined:
        parts = []
        for m in self.models:
            vals = {k: np.broadcast_to(v, self.shape).ravel()[index] for k, v in m.values.items()}
            parts.append(type(m)(**vals, **m._options()))
        return Combined(parts)

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        q2 = check_q2(q2_mev2)
        total = Couplings()
        for m in self.models:
            c = m.couplings(nucleus, q2, matching, sin2_theta_w)
            total = total + _broadcast_couplings(c, self.shape, q2)
        return total


def _broadcast_couplings(c: Couplings, shape, q2) -> Couplings:
    return c.map(lambda x: np.broadcast_to(x, shape + q2.shape))
