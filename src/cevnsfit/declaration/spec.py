"""A declared data set as an object: experiment and likelihood term from one ``dataset.yaml``
(docs: datasets/format).

:func:`dataset_from_spec` reads a declaration from any path (a projection is one file);
:func:`unit` reads a built-in unit folder ``cevnsfit/datasets/<name>/dataset.yaml``.
:func:`register` makes a unit known by name to ``get_experiment``, ``cevnsfit.likelihood`` and
the CLI in this process (``--dataset-spec FILE``).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import DeclarationError, ParameterError
from . import SOURCE_KEY, load


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


class SpecUnit:
    """One declared data set: ``experiment(mode, **options)``, ``term(mode, matching,
    **options)``, and ``name``, ``kind``, ``modes``, ``options``, ``exposures``,
    ``declaration`` (the parsed dict), ``path``."""

    def __init__(self, declaration: dict):
        self.declaration = declaration
        self.name: str = declaration["name"]
        self.kind: str = declaration["kind"]
        self.modes = tuple(declaration["modes"])
        self.options = dict(declaration.get("options", {}))
        self.exposures = tuple(declaration["exposures"])
        self.path = declaration.get(SOURCE_KEY)
        self._experiments: dict = {}

    def __repr__(self) -> str:
        return f"SpecUnit({self.name!r}, kind={self.kind!r}, modes={self.modes}, path={self.path!r})"

    def _check_mode(self, mode: str) -> None:
        if mode not in self.modes:
            raise ParameterError(
                f"data set {self.name!r} ({self.path}) has no mode {mode!r}; modes: {', '.join(self.modes)}"
            )

    def _split(self, options: dict) -> tuple[dict, dict]:
        from ..likelihoods.declared import TERM_OPTIONS

        term = {k: v for k, v in options.items() if k in TERM_OPTIONS}
        exp = {k: v for k, v in options.items() if k not in TERM_OPTIONS}
        return exp, term

    def experiment(self, mode: str = "paper", **options):
        """The data set's :class:`~cevnsfit.experiments.base.Experiment` (built once per options)."""
        from ..experiments.declared import build_experiment

        self._check_mode(mode)
        key = (mode, tuple(sorted((k, _freeze(v)) for k, v in options.items())))
        if key not in self._experiments:
            self._experiments[key] = build_experiment(self.declaration, mode, **options)
        return self._experiments[key]

    def term(self, mode: str = "paper", matching: str | None = None, **options):
        """The data set's :class:`~cevnsfit.likelihoods.declared.DeclaredTerm` in ``mode``."""
        from ..likelihoods.declared import build_term

        exp_opt, term_opt = self._split(options)
        experiment = self.experiment(mode, **exp_opt)
        term = build_term(self.declaration, experiment, mode, matching or mode, **term_opt)
        if term.name != self.name:  # pragma: no cover - build_term names the term after the declaration
            raise DeclarationError(f"{self.path}: term name {term.name!r} differs from {self.name!r}")
        return term


def dataset_from_spec(path) -> SpecUnit:
    """The declared data set in the file ``path`` (validated on load; errors name the file and key)."""
    return SpecUnit(load(Path(path)))


@cache
def unit(name: str) -> SpecUnit:
    """The built-in declared unit ``cevnsfit.datasets.<name>`` (its ``dataset.yaml``)."""
    ref = resources.files(f"cevnsfit.datasets.{name}").joinpath("dataset.yaml")
    with resources.as_file(ref) as path:
        return SpecUnit(load(path, source=f"cevnsfit/datasets/{name}/dataset.yaml"))


def experiment_builder(name: str):
    """``build(mode="paper", **options)`` of a built-in unit (for ``experiments.BUILDERS``)."""

    def build(mode: str = "paper", **options):
        return unit(name).experiment(mode, **options)

    build.__doc__ = f"The declared experiment of cevnsfit/datasets/{name}/dataset.yaml."
    return build


def term_builder(name: str):
    """``build(mode, matching, **options)`` of a built-in unit (for the likelihood builders)."""

    def build(mode: str, matching: str, **options):
        return unit(name).term(mode, matching, **options)

    build.__doc__ = f"The declared likelihood of cevnsfit/datasets/{name}/dataset.yaml."
    return build


def register(spec: SpecUnit) -> str:
    """Make ``spec`` known by name to ``get_experiment``, ``cevnsfit.likelihood`` and the overlap
    check in this process; returns its name. A name already taken by another data set is an
    error (the same file may be registered again)."""
    from .. import experiments
    from ..likelihoods import datasets as lds

    name = spec.name
    prev = experiments.BUILDERS.get(name)
    if prev is not None and getattr(prev, "_spec_path", None) != spec.path:
        raise DeclarationError(
            f"{spec.path}: name: data set name {name!r} is already taken; choose another name "
            f"(known: {', '.join(experiments.BUILDERS)})"
        )

    def build_exp(mode: str = "paper", **options):
        return spec.experiment(mode, **options)

    def build_term(mode: str, matching: str, **options):
        return spec.term(mode, matching, **options)

    build_exp._spec_path = spec.path  # type: ignore[attr-defined]
    experiments.BUILDERS[name] = build_exp
    if name not in experiments.EXPERIMENTS:
        experiments.EXPERIMENTS = experiments.EXPERIMENTS + (name,)
    lds.EXPOSURES[name] = spec.exposures
    for mode, table in (("paper", lds.PAPER_BUILDERS), ("full", lds.FULL_BUILDERS)):
        if mode in spec.modes:
            table[name] = build_term
    return name


def unregister(name: str) -> None:
    """Undo :func:`register` for ``name`` (a data set registered from a file; built-ins stay)."""
    from .. import experiments
    from ..likelihoods import datasets as lds

    if getattr(experiments.BUILDERS.get(name), "_spec_path", None) is None:
        return
    del experiments.BUILDERS[name]
    experiments.EXPERIMENTS = tuple(n for n in experiments.EXPERIMENTS if n != name)
    experiments._cached.cache_clear()
    for table in (lds.EXPOSURES, lds.PAPER_BUILDERS, lds.FULL_BUILDERS):
        table.pop(name, None)


__all__ = ["SpecUnit", "dataset_from_spec", "experiment_builder", "register", "term_builder", "unit", "unregister"]
