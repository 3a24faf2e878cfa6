r"""Vector non-standard interactions with quarks (docs: models, NSI).

Effective four-fermion couplings eps^q_{alpha beta} (real, symmetric, q = u, d) in units of
G_F shift the weak charges (Barranco, Miranda, Rashba, JHEP 12 (2005) 021,
hep-ph/0508299; the convention of the COHERENT CsI analyses):

.. math::

    Q_\alpha = Z(g_p + 2\epsilon^u_{\alpha\alpha} + \epsilon^d_{\alpha\alpha})
             + N(g_n + \epsilon^u_{\alpha\alpha} + 2\epsilon^d_{\alpha\alpha}),\qquad
    Q_{\alpha\beta} = Z(2\epsilon^u_{\alpha\beta} + \epsilon^d_{\alpha\beta})
                    + N(\epsilon^u_{\alpha\beta} + 2\epsilon^d_{\alpha\beta}),

g_p = 1/2 - 2 s_W^2, g_n = -1/2, in the normalisation where the SM charge is
Q_V^SM = Z g_p + N g_n. The rate of nu_alpha uses Q_alpha^2 + sum_{beta != alpha}
|Q_{alpha beta}|^2: flavour-changing pieces add incoherently and only ever raise the rate.
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import FLAVOURS, Couplings, Model, check_q2
from .parameters import Parameter

_SHORT = {"nue": "e", "numu": "mu", "nutau": "tau"}
#: Flavour pairs (alpha <= beta) in the parameter names eps_q_{alpha}{beta}.
PAIRS = tuple((a, b) for a, b in itertools.combinations_with_replacement(FLAVOURS, 2))


def _pname(q: str, a: str, b: str) -> str:
    return f"eps_{q}_{_SHORT[a]}{_SHORT[b]}"


class NSI(Model):
    """Vector NSI eps_u_ee, eps_d_ee, eps_u_mumu, ..., eps_u_emu, ... (default 0).

    >>> from cevnsfit.physics.nucleus import Nucleus
    >>> ar = Nucleus.from_table("Ar40", 4.1, "klein_nystrand")
    >>> c = NSI(eps_u_ee=0.1).couplings(ar, np.array([0.0]))
    >>> float(c.dq["nue"][0]) == 18 * 0.2 + 22 * 0.1, sorted(c.dq)
    (True, ['nue'])
    """

    NAME = "nsi"
    STRUCTURES = ("vector",)
    PARAMETERS = tuple(
        Parameter(
            _pname(q, a, b),
            "",
            0.0,
            -10.0,
            10.0,
            "uniform",
            -1.0,
            1.0,
            f"vector NSI of {a}{'' if a == b else '-' + b} with {q} quarks (units of G_F)",
        )
        for q in ("u", "d")
        for a, b in PAIRS
    )

    def __init__(self, **eps):
        self._init_params(eps)

    def _charge(self, nucleus, a, b, q2):
        eu = self._expand(self.values[_pname("u", a, b)], q2)
        ed = self._expand(self.values[_pname("d", a, b)], q2)
        return nucleus.Z * (2.0 * eu + ed) + nucleus.N * (eu + 2.0 * ed)

    def couplings(self, nucleus, q2_mev2, matching: str = "paper", sin2_theta_w=None) -> Couplings:
        """dq[alpha] = the diagonal NSI charge; fc[alpha] = sum_{beta != alpha} Q_{alpha beta}^2."""
        q2 = check_q2(q2_mev2)
        dq: dict = {}
        fc: dict = {}
        for a, b in PAIRS:
            if not (np.any(self.values[_pname("u", a, b)]) or np.any(self.values[_pname("d", a, b)])):
                continue
            qab = self._full(self._charge(nucleus, a, b, q2), q2)
            if a == b:
                dq[a] = qab
            else:
                for f in (a, b):
                    fc[f] = fc[f] + qab**2 if f in fc else qab**2
        return Couplings(dq=dq, fc=fc)
