"""An experiment is data plus a response: axes, a spectrum engine, how energy spectra spread
over the other observables, and the observed counts and background templates on the same bins.

Adding a detector means writing a builder that returns an :class:`Experiment`; the likelihood
code only sees ``predict`` and ``data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..constants import N_A
from ..errors import UnknownNameError, check_finite_result
from ..rates.binned import SpectrumEngine

MODES = ("paper", "full")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UnknownNameError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def n_targets(mass_kg: float, molar_mass_g: float, atoms_per_molecule: int = 1) -> float:
    """N_T = g m N_A / M_mol (docs: physics/nuclei)."""
    return atoms_per_molecule * mass_kg * 1e3 * N_A / molar_mass_g


@dataclass(frozen=True)
class Axis:
    """A binned observable: name, bin edges and unit."""

    name: str
    edges: np.ndarray
    unit: str

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def size(self) -> int:
        return len(self.edges) - 1


@dataclass
class Experiment:
    """A detector with its binned response and data.

    ``layout(energy_counts)`` maps per-group energy spectra, shape ``(..., 3, n_e)``, to per-group
    counts on all axes, shape ``(..., 3, *axes)``. The default is an outer product with
    ``group_shapes[g]`` (the distribution of group g over the non-energy axes).
    """

    name: str
    mode: str
    axes: tuple
    engine: SpectrumEngine
    group_shapes: dict | None = None
    layout: Callable | None = None
    data: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    matching: str = "paper"
    _shape_matrix: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple:
        return tuple(a.size for a in self.axes)

    def _layout(self, energy: np.ndarray) -> np.ndarray:
        if self.layout is not None:
            return self.layout(energy)
        if not self.group_shapes:
            return energy
        rest = self.shape[1:]
        shapes = np.stack([np.asarray(self.group_shapes[g], dtype=float) for g in self.engine.group_names])
        return energy.reshape(energy.shape + (1,) * len(rest)) * shapes[:, None, ...]

    def predict(self, model=None, *, by_flavour: bool = False, matching: str | None = None) -> np.ndarray:
        """Expected CEvNS counts per bin, shape ``model.shape + self.shape``
        (``model.shape + (3,) + self.shape`` with ``by_flavour``, groups in
        ``("numu_prompt", "nue", "numubar")``). ``model=None`` is the SM.
        """
        energy = self.engine.energy_counts(model, matching or self.matching)
        if by_flavour or self.layout is not None or not self.group_shapes:
            full = self._layout(energy)
            out = full if by_flavour else full.sum(axis=-len(self.shape) - 1)
        else:
            # sum over flavour groups inside one matrix product: (..., n_e, 3) @ (3, other bins)
            if self._shape_matrix is None:
                self._shape_matrix = np.stack(
                    [np.asarray(self.group_shapes[g], dtype=float).ravel() for g in self.engine.group_names]
                )
            out = (np.swapaxes(energy, -1, -2) @ self._shape_matrix).reshape(energy.shape[:-2] + self.shape)
        return check_finite_result(
            f"the {self.name} prediction",
            out,
            f"{model!r} lies so far outside the perturbative range that the expected counts overflow float64",
        )

    def total(self, model=None, **kw) -> np.ndarray:
        """Total expected counts over all bins."""
        pred = self.predict(model, **kw)
        return pred.reshape(pred.shape[: pred.ndim - len(self.shape)] + (-1,)).sum(-1)
