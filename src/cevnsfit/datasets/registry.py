"""The registry of data sets: one unit per data set, one list of them (docs: datasets).

A data set is one folder ``src/cevnsfit/datasets/<name>/`` holding its declaration
``dataset.yaml`` (format ``cevnsfit-dataset/1``: release, exposures, modes, options,
experiment, likelihood, nuisances, published numbers, validation rows, docs page) and the code
the declaration names by ``"module:attribute"`` paths. Built-in units are found by their
``dataset.yaml``; other packages add data sets with an entry point of group
``cevnsfit.datasets`` whose object is a :class:`DatasetUnit`, the path of a ``dataset.yaml``,
or a callable returning either (or a list of them). An entry point that fails to load gives a
warning naming its package, and the other data sets keep working; a second data set under a
name already taken is refused (warning naming both origins).

This module imports no data-set code: the declarations are read as files, and a unit's code
is imported when its experiment or likelihood is first built.

>>> list(registry())[:3]
['ccm', 'cenns10', 'cenns10_totals']
>>> get_dataset("csi2017").exposures
('coherent-csi-run-2015-2016',)
>>> check_exposures(["csi2017", "cenns10"])
>>> check_exposures(["csi2017", "csi2021"])
Traceback (most recent call last):
...
cevnsfit.errors.ParameterError: datasets 'csi2017' and 'csi2021' both use the exposure 'coherent-csi-run-2015-2016': combining them counts the same events twice (choose one; experts: allow_overlap=True)
"""

from __future__ import annotations

import importlib
import importlib.metadata
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data.registry import builtin_declarations
from ..errors import DataFileError, ParameterError, UnknownNameError

FORMAT = "cevnsfit-dataset/1"
ENTRY_POINT_GROUP = "cevnsfit.datasets"
KINDS = ("measurement", "projection")
MODES = ("paper", "full")
#: Keys every declaration has (the rest are optional).
REQUIRED = ("format", "name", "title", "kind", "exposures", "modes", "experiment", "likelihood")


def import_object(path: str, where: str = "") -> Any:
    """The object named by ``"package.module:attribute"``; errors name the declaration."""
    if not isinstance(path, str) or ":" not in path:
        raise DataFileError(f"{where}: {path!r} is not a 'package.module:attribute' path")
    module, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise DataFileError(f"{where}: cannot import {path!r}: {exc}") from exc
    return obj


def _check(decl: dict, where: str) -> dict:
    """Minimal structural checks of a declaration (each error names the file and the key)."""
    missing = [k for k in REQUIRED if k not in decl]
    if missing:
        raise DataFileError(f"{where}: missing key(s) {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    if decl["format"] != FORMAT:
        raise DataFileError(f"{where}: key 'format' must be {FORMAT!r}, got {decl['format']!r}")
    if not isinstance(decl["name"], str) or not decl["name"].isidentifier():
        raise DataFileError(f"{where}: key 'name' must be an identifier (letters, digits, _), got {decl['name']!r}")
    if decl["kind"] not in KINDS:
        raise DataFileError(f"{where}: key 'kind' must be one of {', '.join(KINDS)}, got {decl['kind']!r}")
    for key in ("exposures", "modes"):
        if not isinstance(decl[key], list) or not decl[key] or not all(isinstance(x, str) for x in decl[key]):
            raise DataFileError(f"{where}: key {key!r} must be a non-empty list of strings, got {decl[key]!r}")
    bad = [m for m in decl["modes"] if m not in MODES]
    if bad:
        raise DataFileError(f"{where}: key 'modes' has {bad[0]!r}; allowed: {', '.join(MODES)}")
    like = decl["likelihood"]
    if not isinstance(like, dict) or any(m not in like for m in decl["modes"]):
        raise DataFileError(f"{where}: key 'likelihood' must have an entry for each mode of {decl['modes']}")
    if not isinstance(decl.get("options", {}), dict):
        raise DataFileError(f"{where}: key 'options' must be a mapping of option name -> {{default, doc, ...}}")
    return decl


class DatasetUnit:
    """One data set: its parsed declaration and where it was declared.

    ``experiment(mode, **options)`` builds (and caches, :func:`cevnsfit.experiments.get_experiment`)
    its :class:`~cevnsfit.experiments.base.Experiment`; ``term(mode, matching, **options)`` its
    :class:`~cevnsfit.likelihoods.datasets.DatasetTerm`.
    """

    def __init__(self, declaration: dict, origin: str, root: Path | None = None):
        self.origin = origin
        self.root = None if root is None else Path(root)
        self.path: Path | None = None  # the dataset.yaml, when read from a file
        self.declaration = _check(declaration, origin)

    @classmethod
    def from_yaml(cls, path, origin: str | None = None) -> DatasetUnit:
        """The unit declared by the ``dataset.yaml`` at ``path``, validated against the format's
        JSON Schema and semantic checks (:func:`cevnsfit.declaration.load`: errors name the file,
        the key and the allowed values) before anything is built."""
        from ..declaration import SOURCE_KEY, load

        path = Path(path)
        decl = load(path.resolve(), source=str(path))
        decl.pop(SOURCE_KEY, None)
        unit = cls(decl, origin or str(path), path.parent)
        unit.path = path.resolve()
        return unit

    # -- the declaration, by its names --
    name = property(lambda self: self.declaration["name"])
    title = property(lambda self: self.declaration["title"])
    kind = property(lambda self: self.declaration["kind"])
    release = property(lambda self: self.declaration.get("release"))
    exposures = property(lambda self: tuple(self.declaration["exposures"]))
    modes = property(lambda self: tuple(self.declaration["modes"]))

    @property
    def options(self) -> dict[str, dict]:
        """Every option a user may pass: name -> {default, type, allowed, modes, doc}."""
        return {k: dict(v or {}) for k, v in (self.declaration.get("options") or {}).items()}

    @property
    def experiment_of(self) -> str | None:
        """The data set whose experiment this one uses (``experiment: {of: <name>}``), if any."""
        return self.declaration["experiment"].get("of")

    def __repr__(self) -> str:
        return f"DatasetUnit({self.name!r}, {self.origin})"

    def _where(self, key: str) -> str:
        return f"{self.origin}, key {key!r}"

    def check_mode(self, mode: str) -> str:
        if mode not in self.modes:
            raise UnknownNameError(f"data set {self.name!r} has no mode {mode!r}; its modes: {', '.join(self.modes)}")
        return mode

    @property
    def declared_likelihood(self) -> bool:
        """True when the likelihood is declared (channels, samples, modifiers) rather than code."""
        return all("channels" in spec for spec in self.declaration["likelihood"].values())

    def check_options(self, mode: str, options: dict) -> None:
        """Refuse an option the declaration does not list for ``mode`` or a value outside its
        ``allowed`` list (the builders check numeric ranges). A declared likelihood also takes
        the engine's options (``share``, ``engine``, ``tol``, ``backend``: docs/datasets/format)."""
        known = {k: v for k, v in self.options.items() if mode in v.get("modes", self.modes)}
        if self.declared_likelihood:
            from ..likelihoods.declared import TERM_OPTIONS

            known.update({k: {} for k in TERM_OPTIONS})
        for key, value in options.items():
            if key not in known:
                raise UnknownNameError(
                    f"data set {self.name!r} ({mode} mode) has no option {key!r}; "
                    f"its options: {', '.join(known) or 'none'}"
                )
            allowed = known[key].get("allowed")
            if allowed is not None and value not in allowed:
                raise UnknownNameError(
                    f"option {key!r} of data set {self.name!r} must be one of {allowed}, got {value!r}"
                )

    # -- building --
    def build_experiment(self, mode: str = "paper", **options):
        """A new experiment (uncached; :meth:`experiment` caches)."""
        spec = self.declaration["experiment"]
        if "builder" in spec:
            return import_object(spec["builder"], self._where("experiment"))(mode=mode, **options)
        if "of" in spec:
            return get_dataset(spec["of"]).experiment(mode, **options)
        from ..experiments.declared import build_experiment  # the declarative engine

        return build_experiment({**self.declaration, "_source": self.origin}, mode, **options)

    def experiment(self, mode: str = "paper", **options):
        """The experiment in ``mode`` (cached per process, per options; a unit that is not in the
        registry, e.g. a file read with :func:`dataset_from_spec` and not registered, is built
        anew)."""
        if registry().get(self.name) is not self:
            return self.build_experiment(mode, **options)
        from ..experiments import get_experiment

        return get_experiment(self.name, mode, **options)

    def term(self, mode: str = "paper", matching: str | None = None, **options):
        """The likelihood term in ``mode`` with the declared exposures and nuisances attached."""
        self.check_mode(mode)
        self.check_options(mode, options)
        spec = self.declaration["likelihood"][mode]
        if "builder" in spec:
            term = import_object(spec["builder"], self._where(f"likelihood.{mode}.builder"))(
                mode, matching or mode, **options
            )
        else:
            from ..likelihoods.declared import TERM_OPTIONS, build_term  # the declarative engine

            exp_opt = {k: v for k, v in options.items() if k not in TERM_OPTIONS}
            term_opt = {k: v for k, v in options.items() if k in TERM_OPTIONS}
            decl = {**self.declaration, "_source": self.origin}
            term = build_term(decl, self.experiment(mode, **exp_opt), mode, matching or mode, **term_opt)
        term.exposure_ids = self.exposures
        term.kind = self.kind
        term.nuisance_decl = tuple(self.nuisances(mode))
        return term

    def nuisances(self, mode: str) -> list[dict]:
        """Declared nuisances of ``mode``: name, constraint (record widths resolved), treatment,
        and ``prior`` (the constraint as one line)."""
        from .. import published

        out = []
        for n in self.declaration.get("nuisances") or []:
            if mode not in n:
                continue
            c = dict(n.get("constraint") or {})
            if "sigma_record" in c:  # the width is a published record
                c["sigma"] = published.get(c.pop("sigma_record")).value
            if "relative_record" in c:  # the relative uncertainty of a published record
                rec = published.get(c.pop("relative_record"))
                c["sigma"] = rec.sigma / rec.value
            out.append({"name": n["name"], "constraint": c, mode: n[mode], "prior": _prior_text(c)})
        return out

    def published_records(self) -> list[dict]:
        return list(self.declaration.get("published") or [])

    def validation_rows(self) -> list[dict]:
        """The unit's validation rows (``cevnsfit validate``), each with a ``group``."""
        from .. import published

        rows = []
        for spec in self.declaration.get("validation") or []:
            group = spec.get("group", "prediction")
            if "rows" in spec:
                for r in import_object(spec["rows"], self._where("validation"))():
                    rows.append({**r, "group": group})
                continue
            rec = published.get(spec["published"])
            ours = float(import_object(spec["ours"], self._where("validation"))())
            note = spec.get("note", f"{rec.source}: {rec.value:g}" + (f" +- {rec.sigma:g}" if rec.plus else ""))
            tol = float(spec["tolerance"])
            rows.append(
                {
                    "name": spec["quantity"],
                    "ours": ours,
                    "published": rec.value,
                    "tolerance": tol,
                    "pass": bool(abs(ours / rec.value - 1.0) <= tol),
                    "note": note,
                    "group": group,
                }
            )
        return rows

    def docs_text(self) -> str:
        doc = self.declaration.get("docs")
        if not doc or self.root is None:
            return ""
        return (self.root / doc).read_text(encoding="utf-8")

    def summary(self) -> dict:
        """What ``cevnsfit datasets --json`` prints for this unit."""
        rel = self.release or {}
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "release": {k: rel.get(k) for k in ("name", "source", "licence")} if rel else None,
            "exposures": list(self.exposures),
            "modes": list(self.modes),
            "options": {
                k: {
                    "default": v.get("default"),
                    "allowed": v.get("allowed"),
                    "modes": v.get("modes", list(self.modes)),
                    "doc": v.get("doc", ""),
                }
                for k, v in self.options.items()
            },
            "declared_in": self.origin,
        }


def _prior_text(c: dict) -> str:
    kind = c.get("type", "?")
    if kind in ("normal", "lognormal", "gamma") and "sigma" in c:
        text = f"{kind}({c.get('mean', 0.0):g}, {c['sigma']:g})"
        return text + (f", truncated at {c['truncate']}" if "truncate" in c else "")
    if kind == "flat" and "measured_by" in c:
        return f"flat, measured by the {c['measured_by']}"
    return ", ".join(f"{k}={v}" for k, v in c.items())


_REGISTRY: dict[str, DatasetUnit] | None = None
_BUILDING = False


def _entry_points():
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _units_of(obj, origin: str) -> list[DatasetUnit]:
    if isinstance(obj, DatasetUnit):
        return [obj]
    if isinstance(obj, (str, Path)):
        return [DatasetUnit.from_yaml(obj, origin)]
    if isinstance(obj, (list, tuple)):
        return [u for o in obj for u in _units_of(o, origin)]
    if callable(obj):
        return _units_of(obj(), origin)
    raise DataFileError(f"{origin}: gives a {type(obj).__name__}, not a DatasetUnit, a dataset.yaml path or a callable")


def _add(table: dict, unit: DatasetUnit) -> None:
    if unit.name in table:
        warnings.warn(
            f"data set {unit.name!r} declared in {unit.origin} is refused: the name is taken by "
            f"{table[unit.name].origin}",
            UserWarning,
            stacklevel=3,
        )
        return
    table[unit.name] = unit


def _discover() -> dict[str, DatasetUnit]:
    table: dict[str, DatasetUnit] = {}
    for folder, path in builtin_declarations().items():
        unit = DatasetUnit.from_yaml(path, f"folder src/cevnsfit/datasets/{folder}")
        if unit.name != folder:
            raise DataFileError(f"{path}: key 'name' is {unit.name!r} but the unit folder is {folder!r}")
        _add(table, unit)
    for ep in _entry_points():
        package = getattr(getattr(ep, "dist", None), "name", None) or ep.value.split(":")[0].split(".")[0]
        origin = f"entry point {ep.name!r} ({ENTRY_POINT_GROUP}: {ep.value}) of package {package!r}"
        try:
            units = _units_of(ep.load(), origin)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the others
            warnings.warn(
                f"cevnsfit: the data set entry point {ep.name!r} of package {package!r} failed to load "
                f"({type(exc).__name__}: {exc}); the other data sets are available",
                UserWarning,
                stacklevel=3,
            )
            continue
        for unit in units:
            if unit.release and unit.root is not None:
                from ..data.registry import register_release

                register_release(unit.release, unit.root, unit.origin)
            _add(table, unit)
    return table


def registry(refresh: bool = False) -> dict[str, DatasetUnit]:
    """Every data set by name: the built-in unit folders, then the entry points."""
    global _REGISTRY, _BUILDING
    if _REGISTRY is None or refresh:
        if _BUILDING:  # a plugin importing cevnsfit while it is being registered
            raise ParameterError("the data-set registry is being built; do not query it at import time of a plugin")
        _BUILDING = True
        try:
            _REGISTRY = _discover()
        finally:
            _BUILDING = False
    return _REGISTRY


def dataset_from_spec(path) -> DatasetUnit:
    """The data set declared in the one file ``path`` (e.g. a projection; docs: datasets/format),
    validated on load (errors name the file, the key and the allowed values). Pass it to
    :func:`register` to use it by name, or use its ``experiment``/``term`` directly."""
    return DatasetUnit.from_yaml(path, origin=f"file {Path(path)}")


def register(unit: DatasetUnit) -> str:
    """Add ``unit`` (e.g. :func:`cevnsfit.dataset_from_spec` of a projection file) to the registry
    of this process, so that ``get_experiment``, ``cevnsfit.likelihood``, the overlap check and the
    CLI know it by name; returns the name. The same file may be registered again; a name taken by
    another data set is refused, naming both origins."""
    table = registry()
    old = table.get(unit.name)
    if old is not None and old.path is not None and old.path == unit.path:
        return unit.name  # the file of a unit already registered (e.g. a built-in unit's own dataset.yaml)
    if old is not None and old.origin != unit.origin:
        raise ParameterError(
            f"data set {unit.name!r} declared in {unit.origin} is refused: the name is taken by {old.origin} "
            "(choose another 'name' in the declaration)"
        )
    table[unit.name] = unit
    _RUNTIME.add(unit.name)
    _clear_caches(unit.name)
    return unit.name


#: Names added by :func:`register` in this process (not found by discovery).
_RUNTIME: set[str] = set()


def runtime_units(names) -> tuple[DatasetUnit, ...]:
    """The units among ``names`` that were added by :func:`register` in this process (e.g. by
    ``--dataset-spec``): what another process (a Dask worker) must register before it can build a
    likelihood of these names (:func:`ensure_registered`)."""
    table = registry()
    return tuple(table[n] for n in dict.fromkeys(names) if n in _RUNTIME and n in table)


def ensure_registered(units) -> None:
    """Register each unit of :func:`runtime_units` sent from another process, unless this process
    already knows its name (the same declaration: nothing to do; another one: refused by
    :func:`register`)."""
    for unit in units:
        old = registry().get(unit.name)
        if old is None or old.declaration != unit.declaration:
            register(unit)


def unregister(name: str) -> None:
    """Undo :func:`register` for a data set registered in this process (built-in units stay)."""
    unit = registry().get(name)
    if unit is None or unit.origin.startswith("folder src/cevnsfit/datasets/"):
        return
    del registry()[name]
    _RUNTIME.discard(name)
    _clear_caches(name)


def _clear_caches(name: str) -> None:
    from ..experiments import _cached

    _cached.cache_clear()


def names() -> tuple[str, ...]:
    return tuple(registry())


def get_dataset(name: str) -> DatasetUnit:
    """The data set ``name``; the error lists the known ones."""
    table = registry()
    try:
        return table[name]
    except (KeyError, TypeError):
        raise UnknownNameError(f"unknown dataset {name!r}; known: {', '.join(table)}") from None


def experiment_names() -> tuple[str, ...]:
    """Data sets with an experiment of their own (not ``experiment: {of: ...}``)."""
    return tuple(n for n, u in registry().items() if u.experiment_of is None)


def exposures_of(name: str) -> tuple[str, ...]:
    unit = registry().get(name)
    return unit.exposures if unit is not None else (name,)


def check_exposures(names: Any, allow_overlap: bool = False) -> None:
    """Refuse a combination of data sets that uses one detector exposure twice (each unit's
    ``exposures``; two data sets sharing one may not be multiplied: the same events would count
    twice). See the module docstring for an example."""
    seen: dict = {}
    for n in names:
        for e in exposures_of(n):
            if e in seen and not allow_overlap:
                first = seen[e]
                what = (
                    f"dataset {n!r} is listed twice (exposure {e!r})"
                    if first == n
                    else f"datasets {first!r} and {n!r} both use the exposure {e!r}"
                )
                raise ParameterError(
                    f"{what}: combining them counts the same events twice (choose one; experts: allow_overlap=True)"
                )
            seen[e] = n


Builder = Callable[..., Any]

__all__ = [
    "DatasetUnit",
    "ENTRY_POINT_GROUP",
    "FORMAT",
    "check_exposures",
    "dataset_from_spec",
    "experiment_names",
    "get_dataset",
    "import_object",
    "register",
    "registry",
    "unregister",
]
