"""Registry of the curated data files: checksums, release sources, and :func:`fetch`.

Every file is listed in :data:`FILES` with its path relative to the data tree, its sha256 and
its release. The releases are *declared*, not written here: each data set's unit declares its
release in the ``release:`` block of its ``dataset.yaml`` (``src/cevnsfit/datasets/<name>/``,
docs/data.md), with a checksum list in the unit (``"<sha256>  <relpath>"`` per line); inputs
that are not data sets (limit curves, the solar 8B tables) declare theirs in
``data/releases/<name>.yaml``. This module reads those files as package data (it imports no
data-set code); data sets from other packages add their releases with
:func:`register_release`. No data file is shipped with the package.

Release keys: ``name`` (the folder in the data tree), ``source`` (citation), ``url`` (template,
``{name}`` is the file name at the source), ``licence``, ``checksums`` (file in the unit) or
``files`` (inline mapping relpath -> sha256), ``remote_name`` (template of the name at the
source: ``{basename}``, the default, or ``{path}``, the path inside the release) and
``overrides`` (per-file special cases: ``match`` (a glob on the path inside the release) with
``note``, ``remote_name`` or ``content_sha256``).

Lookup order of :func:`fetch` (the first place holding the file wins):

1. ``$CEVNSFIT_DATA/<relpath>`` -- a directory with the same layout as the curated tree;
2. ``<cache>/<relpath>`` with ``<cache> = $CEVNSFIT_CACHE`` or
   ``platformdirs.user_cache_dir("cevnsfit")``;
3. a download with :mod:`pooch` from the release source into the cache
   (``$CEVNSFIT_MIRROR`` replaces every source by ``<mirror>/<relpath>``, a server of a copy
   of the curated tree).

Every file is checked against its sha256 before use; a file whose checksum differs is
never used (:class:`~cevnsfit.errors.DataFileError`), it is not silently replaced by the
next place either. A file whose curated copy is known to differ from the source's bytes may
carry a *content checksum* (:func:`content_sha256`: the sha256 of the parsed numbers, blind to
header lines and separators, docs/data.md); it passes if its byte or its content checksum
matches. Verification results are cached per process by (path, mtime, size).

>>> len(FILES), sorted({f.release for f in FILES}) == sorted(RELEASES)
(7126, True)
>>> RELEASES["limits-lmu-ltau"].url.format(name="babar_2016_4mu.lmt")
'https://gitlab.com/philten/darkcast/-/raw/master/limits/babar_2016_4mu.lmt'
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cevnsfit.errors import DataFileError, UnknownNameError

__all__ = [
    "CONTENT_DIGITS",
    "DataFile",
    "Release",
    "FILES",
    "RELEASES",
    "builtin_declarations",
    "cache_dir",
    "content_sha256",
    "fetch",
    "numeric_rows",
    "read_yaml",
    "register_release",
    "source_of",
    "url_of",
    "verify_all",
]


@dataclass(frozen=True)
class Release:
    """A release folder of the curated tree and where its files come from."""

    name: str
    source: str  # human-readable citation of the source
    url: str  # URL template; ``{name}`` is the file name at the source
    licence: str = ""
    declared_in: str = ""  # the declaration file


@dataclass(frozen=True)
class DataFile:
    """One registered file: ``path`` relative to the data tree, its sha256, its release."""

    path: str
    sha256: str
    release: str
    remote_name: str  # file name at the release source
    note: str = ""  # why a download from the source may fail verification
    content_sha256: str = ""  # checksum of the parsed numbers (see content_sha256()); "" = bytes only


#: Built-in data-set units (one folder each, with a ``dataset.yaml``) and the release
#: declarations of inputs that are not data sets.
DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
RELEASES_DIR = Path(__file__).resolve().parent / "releases"


@cache
def yaml_loader():
    """The safe YAML loader of declarations, with YAML 1.2 floats: ``3e22`` and ``5.25e6`` are
    numbers (YAML 1.1, PyYAML's default, reads them as strings unless the exponent has a sign).

    >>> import yaml
    >>> yaml.load("pot: 3e22", Loader=yaml_loader())
    {'pot': 3e+22}
    """
    import re

    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type, misc]
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
        list("-+0123456789."),
    )
    return Loader


def read_yaml(path: Path) -> dict:
    """A declaration file as a mapping (cached per process); errors name the file."""
    import yaml

    try:
        content = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml_loader())
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read declaration {path}: {exc}") from exc
    if not isinstance(content, dict):
        raise DataFileError(f"declaration {path} is not a mapping of keys")
    return content


def builtin_declarations() -> dict[str, Path]:
    """``dataset.yaml`` of every built-in unit folder, by folder name (sorted)."""
    return {p.parent.name: p for p in sorted(DATASETS_DIR.glob("*/dataset.yaml"))}


def _release_files(block: dict, root: Path, where: str) -> tuple[Release, list[DataFile]]:
    def need(key):
        if not isinstance(block.get(key), str) or not block[key].strip():
            raise DataFileError(f"{where}: release key {key!r} must be a non-empty string, got {block.get(key)!r}")
        return block[key].strip()

    name = need("name")
    release = Release(name, need("source"), need("url"), str(block.get("licence", "")), where)
    if "checksums" in block:
        path = root / need("checksums")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise DataFileError(f"{where}: release key 'checksums': cannot read {path}: {exc}") from exc
        pairs = [ln.split(maxsplit=1) for ln in lines if ln.strip()]
    elif isinstance(block.get("files"), dict):
        pairs = [[str(v), str(k)] for k, v in block["files"].items()]
    else:
        raise DataFileError(f"{where}: release {name!r} needs 'checksums' (a file in the unit) or 'files' (a mapping)")
    overrides = block.get("overrides") or []
    template = str(block.get("remote_name", "{basename}"))
    files = []
    for pair in pairs:
        if len(pair) != 2 or not re.fullmatch(r"[0-9a-f]{64}", pair[0]) or not pair[1].startswith(name + "/"):
            raise DataFileError(f"{where}: bad checksum entry {' '.join(pair)!r} (expected '<sha256>  {name}/<path>')")
        digest, relpath = pair
        inner = relpath.split("/", 1)[1]
        extra = {"remote_name": template, "note": "", "content_sha256": ""}
        for rule in overrides:
            if fnmatch.fnmatch(inner, str(rule.get("match", ""))):
                extra.update({k: str(v).strip() for k, v in rule.items() if k in extra})
        remote = extra["remote_name"].format(basename=inner.rsplit("/", 1)[-1], path=inner)
        files.append(DataFile(relpath, digest, name, remote, extra["note"], extra["content_sha256"]))
    return release, files


RELEASES: dict[str, Release] = {}
_TABLE: dict[str, DataFile] = {}


def register_release(block: dict, root: Path, where: str) -> Release:
    """Register a release declared in ``where`` (its ``release:`` block; relative files under
    ``root``). A release name registered twice from different declarations is refused."""
    release, files = _release_files(block, Path(root), where)
    old = RELEASES.get(release.name)
    if old is not None and old.declared_in != where:
        raise DataFileError(
            f"release {release.name!r} is declared twice: in {old.declared_in} and in {where}; rename one of them"
        )
    RELEASES[release.name] = release
    _TABLE.update({f.path: f for f in files})
    global FILES
    FILES = tuple(_TABLE.values())
    return release


def _build() -> None:
    sources = [(p, p.parent) for p in builtin_declarations().values()] + [
        (p, p.parent) for p in sorted(RELEASES_DIR.glob("*.yaml"))
    ]
    for path, root in sources:
        block = read_yaml(path).get("release")
        if block is not None:
            if not isinstance(block, dict):
                raise DataFileError(f"{path}: key 'release' must be a mapping")
            register_release(block, root, str(path))


#: Every registered file.
FILES: tuple[DataFile, ...] = ()
_build()


#: Significant digits of each number in the content checksum (docs/data.md).
CONTENT_DIGITS = 12
_SEPARATORS = re.compile(r"[,;\s]+")


def numeric_rows(text: str) -> list[list[float]]:
    """The numeric table of a text file: every line that is not blank, not a ``#`` comment, and
    whose fields (separated by commas, semicolons or whitespace) all parse as numbers. Title
    and header lines are skipped, wherever they are.

    >>> numeric_rows("# comment\\nPE, time, counts\\n1.0, 0.25, 2\\n3 0.75 0\\n")
    [[1.0, 0.25, 2.0], [3.0, 0.75, 0.0]]
    """
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f for f in _SEPARATORS.split(line) if f]
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            continue
    return rows


def content_sha256(path) -> str:
    """sha256 of the parsed numeric content of a text file (docs/data.md, "content checksums").

    The numeric rows (:func:`numeric_rows`) are written one per line, each number with
    ``CONTENT_DIGITS`` significant digits (``format(x, ".12g")``), numbers separated by one
    space, lines by ``\\n``; the checksum is the sha256 of that UTF-8 text. It is unchanged
    by header and comment lines, by the separators (commas or whitespace) and by the
    formatting of the numbers (``1`` = ``1.0``), and changes if any number changes.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return ""  # not a text file: no content checksum
    canon = "\n".join(" ".join(format(v, f".{CONTENT_DIGITS}g") for v in row) for row in numeric_rows(text))
    return hashlib.sha256(canon.encode()).hexdigest()


def _entry(relpath: str) -> DataFile:
    relpath = str(relpath).replace(os.sep, "/").removeprefix("./")
    try:
        return _TABLE[relpath]
    except KeyError:
        pass
    by_base = [p for p in _TABLE if p.rsplit("/", 1)[-1] == relpath]
    close = by_base or difflib.get_close_matches(relpath, list(_TABLE), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = "valid names: " + ", ".join(_TABLE)
    raise UnknownNameError(f"unknown data file {relpath!r}; {hint}")


def cache_dir() -> Path:
    """The download cache: ``$CEVNSFIT_CACHE`` or ``platformdirs.user_cache_dir("cevnsfit")``."""
    env = os.environ.get("CEVNSFIT_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cevnsfit"))


def _data_dir() -> Path | None:
    """``$CEVNSFIT_DATA`` as a path; a value that is not an existing folder is refused at once
    (a typo would otherwise send every file to the network)."""
    env = os.environ.get("CEVNSFIT_DATA")
    if not env:
        return None
    path = Path(env).expanduser()
    if not path.is_dir():
        raise DataFileError(
            f"CEVNSFIT_DATA={env} is not an existing folder; set it to the curated data tree (docs/data.md) "
            "or unset it to use the download cache"
        )
    return path


#: Seconds allowed to reach a download host before `verify_all(download=True)` gives up.
PROBE_TIMEOUT_S = 5.0


def _host_of(url: str) -> tuple[str, int]:
    """(host, port) that a download of ``url`` contacts first (pooch resolves ``doi:`` at doi.org)."""
    from urllib.parse import urlparse

    if url.startswith("doi:"):
        return "doi.org", 443
    u = urlparse(url)
    return u.hostname or "", u.port or (443 if u.scheme == "https" else 80)


def _probe(host: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None if a TCP connection to ``host:port`` opens within ``timeout`` s (name lookup
    included), else the reason."""
    import socket
    import threading

    result: list = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(None)
        except OSError as exc:
            result.append(f"{type(exc).__name__}: {exc.strerror or exc}")

    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(timeout + 1.0)
    return result[0] if result else f"no answer within {timeout:g} s"


def url_of(relpath: str) -> str:
    """Download URL (or pooch ``doi:`` URL) of a registered file; honours ``$CEVNSFIT_MIRROR``."""
    entry = _entry(relpath)
    mirror = os.environ.get("CEVNSFIT_MIRROR")
    if mirror:
        return f"{mirror.rstrip('/')}/{entry.path}"
    return RELEASES[entry.release].url.format(name=entry.remote_name)


def source_of(relpath: str) -> str:
    """Human-readable source of a registered file: release citation and URL."""
    entry = _entry(relpath)
    return f"{RELEASES[entry.release].source}: {url_of(relpath)}"


_HASHES: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _mismatch(entry: DataFile, where: str, found: str, found_content: str = "") -> DataFileError:
    msg = (
        f"checksum mismatch for data file {entry.path} ({where}): expected sha256 {entry.sha256}, found sha256 {found}"
    )
    if entry.content_sha256:
        msg += (
            f"; its numbers differ from the release as well (content checksum, docs/data.md: expected "
            f"{entry.content_sha256}, found {found_content or 'none: not a text file'})"
        )
    msg += (
        f". The file is not used. To fix: delete it "
        f"and run again to re-download it into {cache_dir()} (or `cevnsfit data verify "
        f"--download`), or point CEVNSFIT_DATA to a correct copy of the data tree."
    )
    if entry.note:
        msg += " Note: " + entry.note
    err = DataFileError(msg)
    err.expected, err.found = entry.sha256, found
    return err


def _locate(entry: DataFile) -> tuple[Path | None, str]:
    """First existing copy (CEVNSFIT_DATA, then cache) without downloading."""
    data = _data_dir()
    if data is not None and (data / entry.path).is_file():
        return data / entry.path, "CEVNSFIT_DATA"
    cached = cache_dir() / entry.path
    if cached.is_file():
        return cached, "cache"
    return None, "-"


def _check(entry: DataFile, path: Path) -> tuple[str, str, str]:
    """(status, check, found): ``"ok"`` with ``"bytes"`` or ``"content"``, else ``"corrupted"``."""
    found = _sha256(path)
    if found == entry.sha256:
        return "ok", "bytes", found
    if entry.content_sha256:
        content = content_sha256(path)
        if content == entry.content_sha256:
            return "ok", "content", found
        return "corrupted", "content", found
    return "corrupted", "bytes", found


def _verify(entry: DataFile, path: Path, source: str) -> Path:
    status, check, found = _check(entry, path)
    if status != "ok":
        raise _mismatch(entry, f"{path}, from {source}", found, content_sha256(path) if entry.content_sha256 else "")
    return path


def _download(entry: DataFile) -> Path:
    import pooch

    url = url_of(entry.path)
    target = cache_dir() / entry.path
    try:
        # files verified by content too: checked after the download (_verify), not by pooch
        known = None if entry.content_sha256 else f"sha256:{entry.sha256}"
        pooch.retrieve(url, known_hash=known, fname=target.name, path=target.parent, progressbar=False)
    except Exception as exc:  # noqa: BLE001 - network and I/O errors of any kind
        got = re.search(r"but got ([0-9a-fA-F]{64})", str(exc))
        if got:  # pooch deletes a download whose hash differs
            raise _mismatch(entry, f"downloaded from {url}, deleted", got.group(1)) from exc
        data = _data_dir()
        looked = [f"CEVNSFIT_DATA={data / entry.path}" if data else "CEVNSFIT_DATA (not set)", f"cache {target}"]
        msg = (
            f"data file {entry.path} (sha256 {entry.sha256}) is missing: looked in {'; '.join(looked)}; download "
            f"from {url} (source: {RELEASES[entry.release].source}) failed: "
            f"{type(exc).__name__}: {exc}. Set CEVNSFIT_DATA to a copy of the data tree "
            f"or CEVNSFIT_MIRROR to a server of it."
        )
        if entry.note:
            msg += " Note: " + entry.note
        raise DataFileError(msg) from exc
    return target


def fetch(relpath: str) -> Path:
    """Path to a verified local copy of a registered data file.

    Looks in ``$CEVNSFIT_DATA``, then the cache, then downloads into the cache (see the
    module docstring). Raises :class:`~cevnsfit.errors.DataFileError` if the file found has
    the wrong sha256 or cannot be found nor downloaded, and
    :class:`~cevnsfit.errors.UnknownNameError` for a path that is not registered.

    >>> fetch("fluxes_b16.dat")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown data file 'fluxes_b16.dat'; did you mean 'solar-8b/fluxes_b16.dat'?
    """
    entry = _entry(relpath)
    path, source = _locate(entry)
    if path is None:
        path, source = _download(entry), "download"
    return _verify(entry, path, source)


def verify_all(download: bool = False) -> list[dict]:
    """Check every registered file; download missing ones only if ``download=True``.

    Returns one dict per file with keys ``path``, ``release``, ``status`` (``"ok"``,
    ``"missing"``, ``"corrupted"``), ``check`` (``"bytes"`` or ``"content"``: which checksum
    decided, docs/data.md), ``source`` (``"CEVNSFIT_DATA"``, ``"cache"``, ``"download"``,
    ``"-"``), ``location``, ``expected`` and ``found`` (sha256 of the bytes or None) and
    ``error`` (why a file is missing or corrupted, e.g. the download error; else ``""``).
    """
    rows = []
    _data_dir()  # a CEVNSFIT_DATA that does not exist fails here, before anything else
    unreachable: dict[tuple[str, int], str | None] = {}
    if download:  # one connectivity probe per host, before thousands of downloads (offline: seconds, one message)
        missing = [e for e in FILES if _locate(e)[0] is None]
        for entry in missing:
            key = _host_of(url_of(entry.path))
            if key not in unreachable:
                unreachable[key] = _probe(*key)
        down = {k: v for k, v in unreachable.items() if v is not None}
        if down and len(down) == len(unreachable):  # nothing reachable: offline
            hosts = "; ".join(f"{h}:{p} ({why})" for (h, p), why in down.items())
            n = sum(_host_of(url_of(e.path)) in down for e in missing)
            raise DataFileError(
                f"cannot download: {hosts} cannot be reached within {PROBE_TIMEOUT_S:g} s, so {n} missing data "
                "file(s) cannot be fetched (offline?). Set CEVNSFIT_DATA to a copy of the data tree, or "
                "CEVNSFIT_MIRROR to a reachable server of it (docs/data.md)"
            )
    for entry in FILES:
        row = {
            "path": entry.path,
            "release": entry.release,
            "status": "missing",
            "check": "bytes",
            "source": "-",
            "location": "",
            "expected": entry.sha256,
            "found": None,
            "error": "",
        }
        path, source = _locate(entry)
        if path is not None:
            status, check, found = _check(entry, path)
            row.update(status=status, check=check, source=source, location=str(path), found=found)
            if status != "ok":
                row["error"] = str(
                    _mismatch(entry, str(path), found, content_sha256(path) if entry.content_sha256 else "")
                )
        elif download and unreachable.get(_host_of(url_of(entry.path))):
            key = _host_of(url_of(entry.path))
            row["error"] = (
                f"not downloaded: {key[0]}:{key[1]} cannot be reached within {PROBE_TIMEOUT_S:g} s "
                f"({unreachable[key]}); set CEVNSFIT_DATA or CEVNSFIT_MIRROR (docs/data.md)"
            )
        elif download:
            try:
                path = _verify(entry, _download(entry), "download")
                status, check, found = _check(entry, path)
                row.update(status="ok", check=check, source="download", location=str(path), found=found)
            except DataFileError as exc:
                row["error"] = str(exc)
                if getattr(exc, "found", None):
                    row.update(status="corrupted", source="download", location=url_of(entry.path), found=exc.found)
        else:
            row["error"] = (
                "not in CEVNSFIT_DATA nor in the cache "
                f"{cache_dir()}; run `cevnsfit data verify "
                "--download` or set CEVNSFIT_DATA (docs/data.md)"
            )
        rows.append(row)
    return rows
