"""Registry of the curated data files: checksums, release sources, and :func:`fetch`.

Every file of the curated tree (``SHA256SUMS`` of the data folder) is listed in
:data:`FILES` with its path relative to the tree, its sha256 and its release folder. The
hashes are embedded here; no data file is shipped with the package.

Lookup order of :func:`fetch` (the first place holding the file wins):

1. ``$CEVNSFIT_DATA/<relpath>`` -- a directory with the same layout as the curated tree;
2. ``<cache>/<relpath>`` with ``<cache> = $CEVNSFIT_CACHE`` or
   ``platformdirs.user_cache_dir("cevnsfit")``;
3. a download with :mod:`pooch` from the release source into the cache.

Every file is checked against its sha256 before use; a file whose checksum differs is
never used (:class:`~cevnsfit.errors.DataFileError`), it is not silently replaced by the
next place either. Verification results are cached per process by (path, mtime, size).

Release sources (``$CEVNSFIT_MIRROR`` replaces all of them by ``<mirror>/<relpath>``, a
server of a copy of the curated tree):

- ``coherent-csi-2017``: Zenodo, DOI 10.5281/zenodo.1228631;
- ``coherent-cenns10-analysisA``: Zenodo, DOI 10.5281/zenodo.3903810 (the record is
  assumed flat, so ``SystErrors/`` and ``OneDProjections/`` files are fetched by base name);
- ``coherent-csi-2021``: arXiv:2110.07730 ancillary files,
  ``https://arxiv.org/src/2110.07730/anc/<file>``;
- ``limits-lmu-ltau``: the DarkCast limit collection,
  ``https://gitlab.com/philten/darkcast/-/raw/master/limits/<DarkCast name>``. The curated
  files are the 2023 snapshot bundled in ``Noah-Everett/DS-Decay-Scripts``; their names are
  taken as the DarkCast names (``DataFile.remote_name``; not checked against the live
  repository). DarkCast ``master`` may have changed since, in which case a download fails
  verification.

Known upstream differences:

- seven CsI 2017 files (the four ``data_*`` histograms and the three
  ``arrivalTimePDF_*``) in the curated tree are edited copies taken from
  ``athompson-tamu/pyCEvNS`` (most likely with header lines removed); their values appear
  intact but their bytes are not Zenodo's. These carry a *content checksum* as well
  (:func:`content_sha256`: the sha256 of the parsed numbers, blind to header lines and
  separators, docs/data.md); a file passes if its byte or its content checksum matches, so
  the Zenodo originals pass as long as their numbers are the curated ones;
- ``CENNS10DataReleaseCompanion.pdf`` is a pre-upload draft that differs from Zenodo's PDF
  (a download of it fails verification by design).

For the PDF, point ``CEVNSFIT_DATA`` at the curated tree (or ``CEVNSFIT_MIRROR`` at a server
of it).

>>> len(FILES), sorted({f.release for f in FILES}) == sorted(RELEASES)
(7016, True)
>>> RELEASES["coherent-csi-2021"].url.format(name="brnPE.txt")
'https://arxiv.org/src/2110.07730/anc/brnPE.txt'
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cevnsfit.errors import DataFileError, UnknownNameError

__all__ = [
    "CONTENT_DIGITS",
    "DataFile",
    "Release",
    "FILES",
    "RELEASES",
    "cache_dir",
    "content_sha256",
    "fetch",
    "numeric_rows",
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


@dataclass(frozen=True)
class DataFile:
    """One registered file: ``path`` relative to the data tree, its sha256, its release."""

    path: str
    sha256: str
    release: str
    remote_name: str  # file name at the release source
    note: str = ""  # why a download from the source may fail verification
    content_sha256: str = ""  # checksum of the parsed numbers (see content_sha256()); "" = bytes only


RELEASES: dict[str, Release] = {
    r.name: r
    for r in (
        Release("coherent-csi-2017", "Zenodo DOI 10.5281/zenodo.1228631", "doi:10.5281/zenodo.1228631/{name}"),
        Release("coherent-cenns10-analysisA", "Zenodo DOI 10.5281/zenodo.3903810", "doi:10.5281/zenodo.3903810/{name}"),
        Release("coherent-csi-2021", "arXiv:2110.07730 ancillary files", "https://arxiv.org/src/2110.07730/anc/{name}"),
        Release(
            "limits-lmu-ltau",
            "DarkCast limit collection (arXiv:1801.04847, 2206.08563)",
            "https://gitlab.com/philten/darkcast/-/raw/master/limits/{name}",
        ),
        Release(
            "xenonnt-8b-2026",
            "XENONnT solar-8B CEvNS data release, Zenodo DOI 10.5281/zenodo.20576156 "
            "(arXiv:2604.06002; PRL 133, 191002), CC-BY-4.0",
            "https://raw.githubusercontent.com/XENONnT/cevns_data_release/"
            "60d230dd7a5646fd4aa2368c5fdfba575ee0cb88/{name}",
        ),
        Release(
            "solar-8b",
            "Winter et al. PRC 73, 025503 (8B spectrum) and B16 SSM (Vinyoles et al., "
            "arXiv:1611.09867), via PEANUTS (arXiv:2303.15527)",
            "https://raw.githubusercontent.com/michelelucente/PEANUTS/{name}",
        ),
        Release(
            "limits-b-l",
            "DarkCast B-L recast limits (arXiv:1801.04847, 2206.08563), GPL-2.0-or-later, as bundled in "
            "Noah-Everett/DS-Decay-Scripts (darkcast/recast/limits/B-L_boson)",
            "https://raw.githubusercontent.com/Noah-Everett/DS-Decay-Scripts/"
            "2a86698dee49d66b193c99154c63087c8d798f72/darkcast/recast/limits/B-L_boson/{name}",
        ),
    )
}

# Same content as SHA256SUMS of the curated tree ("<sha256>  <relpath>").
_SHA256SUMS = """\
21ce25451c1ed552752ff4a22496deab3ff5dba178bf360813eaff1d25be89e2  coherent-cenns10-analysisA/CENNS10AnlAEfficiency.txt
c783d98058d58a013f303f7fc12a83fcdf03ffee8bc649faece025ac1a2d4b09  coherent-cenns10-analysisA/CENNS10DataReleaseCompanion.pdf
a206a77220436d0173c4783ae8fddeab97adf5e144f3d65005eff0870257693e  coherent-cenns10-analysisA/LArParametersAnlA.yaml
d691284e875fb24e72787016f118c171974ca68fa6005da7ea653ca66059aa04  coherent-cenns10-analysisA/OneDProjections/energydata1d.txt
e82988ec2fdb871f21850ceea866213310ee81dca656ee4448282748037f1579  coherent-cenns10-analysisA/OneDProjections/f90data1d.txt
fb1054fac8baf2f527b51e6bd45e4341da45fe80dadce815a3d1cad08d729554  coherent-cenns10-analysisA/OneDProjections/timingdata1d.txt
7f06099e1bba0d2e328555c61cb255bb290607a44202327d29eb3ae3e05c1cd5  coherent-cenns10-analysisA/SystErrors/brnpdf+1sigBRNTimingMean.txt
fb6fdaf99c9941653d33e1a909d8000b81c1ee9bb8e8ad3bf31839561faf6661  coherent-cenns10-analysisA/SystErrors/brnpdf+1sigEnergy.txt
b5c1c8d0cb8b2319d093d38418da5ac2ccda59108755fb23e7f4a559cfe154f8  coherent-cenns10-analysisA/SystErrors/brnpdf-1sigBRNTimingMean.txt
20bcad29e716f3fb0f1e9eeb8ffb049b4b3d8b3b3a150800b9c8711e2b177be6  coherent-cenns10-analysisA/SystErrors/brnpdf-1sigEnergy.txt
304dba1553989d7c0cd3f745df9731a5306ec07ecc1044c20efbe2952707b270  coherent-cenns10-analysisA/SystErrors/brnpdfBRNTimingWidthSyst.txt
308f78e19b7fb3e54399dc29c207bd2a89b91825df5309d48068a3495e1c92e2  coherent-cenns10-analysisA/SystErrors/cevnspdf+1sigF90.txt
b4e8071f87aa22a562e0c00654a0989915251acf2c7e569068b9b78c3ae5ac35  coherent-cenns10-analysisA/SystErrors/cevnspdf-1sigF90.txt
3170dafd4cf44df35bde0795e1245606d8144c05f3e50f015648c57bcdba97f5  coherent-cenns10-analysisA/SystErrors/cevnspdfCEvNSTimingMeanSyst.txt
36c89291dde3032a19ca7a8e64510d036d7b40c34b0805ce475a13ccfa739dd1  coherent-cenns10-analysisA/bkgpdf.txt
02664ce6a84eca8c6146b6502497bc5d8165df945da132193622334ff4ff826f  coherent-cenns10-analysisA/brnpdf.txt
3b1d5b25749e8d8e1cfdf5c32e48f026ce4aafec0a80632b3a63273e6e0e1f37  coherent-cenns10-analysisA/cevnspdf.txt
dabf3d80f13959f4b94b77c9b56f7347a645105801e8cc177424e7ffcf7c7f66  coherent-cenns10-analysisA/datanobkgsub.txt
ebccca6c1650b0ace71fdbaade7a80ea289a99ff3c120266ae6ecf0083df5c63  coherent-cenns10-analysisA/delbrnpdf.txt
09fd74b1bc242f1638dae465eefc97e374a2e6efa0aaa1b4452f1ee20dd42aed  coherent-cenns10-analysisA/systerrors1denergy.txt
a553c63ce5861d63c139aa18d3ece0f5e9d32be2029eb2a7474b8e4e39000c0f  coherent-cenns10-analysisA/systerrors1dpsd.txt
a7719f21aa5c8820f6ed65d385d7ba14f55631976a6ca289d8685081599529be  coherent-cenns10-analysisA/systerrors1dtime.txt
6d8b4054173ca7d4f612b2ead7ce563e99eb99af9f4fc8d7b8b47c06cd5b640f  coherent-csi-2017/arrivalTimePDF_delayedNeutrinos.txt
2c92dd58f1366b7844e6ea0c73f016069a2c9b7d4538374259c00c370b9eb66a  coherent-csi-2017/arrivalTimePDF_promptNeutrinos.txt
f3992ea6d88a3da80f5134a00e4a7b784c119c9adeed9bc9649f4134e203fb11  coherent-csi-2017/arrivalTimePDF_promptNeutrons.txt
daa4f3feaeb5499cb1d876f8ea39f3cfd571f998a6ab92e9cdf552afc78b67e8  coherent-csi-2017/coherent_parameters.yaml
efc91013ae0859631882513155761b423ddd08cb5062b6dfd9c17a7bd34f1e7d  coherent-csi-2017/data_anticoincidence_beamOff.txt
8b180f9395dc8886f8be02f619e35903f151f8b15f7cbc5a0171ac7e59e59523  coherent-csi-2017/data_anticoincidence_beamOn.txt
47e7904cd55929f6f84e9a58567b223cfcd6741af38f8b54091bbcc8756e9ae8  coherent-csi-2017/data_coincidence_beamOff.txt
f9e8b795a48eb1f3a22cdca33cad978e5dc17fe56ea8f6a0bf32d18967051765  coherent-csi-2017/data_coincidence_beamOn.txt
6e74171096abb2e9a3fac3c1b1c85f3973501627b88b2a83de7e7e5121601efa  coherent-csi-2017/promptPDF.txt
31046d48092e619eb84f06acdf09ea8e86c642da6aa368c10fe338480b90a04f  coherent-csi-2017/qfData_chicago.txt
9e3c83e669c52be27ce47d588bbeb5d5400fadbc5625c41aa665d03c99186f94  coherent-csi-2017/qfData_tunl.txt
0000b042b8d0d28b90370eb70d1409db1d8c510fcf2b3e636370b0d4443ac0b0  coherent-csi-2021/brnPE.txt
6f279d835242a868dfc048abaa42b8c400bf961036de7bc7e64636efdd46466f  coherent-csi-2021/brnTrec.txt
f530d4a50e889333ada0e739db2e36d7f9f3b783822c8c6e932dae88ce071639  coherent-csi-2021/dataBeamOnAC.txt
0a188a0291af06dd023d966d1c9fea7a82ec32d8c1a10750fd09c2b17f10a749  coherent-csi-2021/dataBeamOnC.txt
f1e58e6b8ec4db53da3be21fe44ebc4621e9b248b920be09759b1000dada8c51  coherent-csi-2021/effCoefficients.txt
41cae0376003cc2dcd028a3913e7c16395471f612b56d311f80e2a6071c9950c  coherent-csi-2021/ninPE.txt
2bb034d648b312f4ee329ae95078dc748ff3f83b999c411b08f86d82ddf8e151  coherent-csi-2021/ninTrec.txt
ea6b8f34b296bf6e99f2a4ac504030d99155daba3e3c252f51c87d2470319d13  coherent-csi-2021/scintRespCoefficients.txt
65c1348733eec63f32fc7b5a2573e30009328bc5d051ab0189d69492d5b1edac  limits-lmu-ltau/babar_2016_4mu.lmt
abe190a4ca57279fd1f5896102250818d0b4ac4e2858e124cec03c9fbde3a929  limits-lmu-ltau/borexino_bauer2018_recast.lmt
184809f6cabf27c1ecf720e70bdb6cd03af9e7d6d5cd01ffb1ae4f43d171446c  limits-lmu-ltau/charm2_bauer2018_recast.lmt
444e8edaaea48dfd12e65c7f55407c64728f5034d7954d62e467358f82373bdd  solar-8b/8B_shape_Winter_et_al.csv
3c5c6afb19fd8c2455c462bfeac757959c3b3c7d03575b411648eda57acf2378  solar-8b/nudistr_b16_gs98.dat
20ce71e5f5a84876f26a727e64eefc4789bd7400cbca88b58bb798f5939703f2  solar-8b/fluxes_b16.dat
"""
#: Package-data checksum lists of large releases ("<sha256>  <relpath>" per line).
_SHA256_FILES = ("xenonnt-8b-2026.sha256", "limits-b-l.sha256")
#: PEANUTS commits of the solar-8b files (remote names are "<commit>/Data/<file>").
_PEANUTS_COMMITS = {
    "8B_shape_Winter_et_al.csv": "b53d514e8cd0b4e6767ae84252c7d92e49d45cd8",
    "nudistr_b16_gs98.dat": "59e3a2ae102d58f42cc1146eaca2cae68be879ce",
    "fluxes_b16.dat": "59e3a2ae102d58f42cc1146eaca2cae68be879ce",
}

_CSI2017_EDITED = (
    "The curated copy of this file is an edited copy from athompson-tamu/pyCEvNS (most "
    "likely header lines removed; values intact) and differs from the bytes on Zenodo "
    "(10.5281/zenodo.1228631). It is therefore verified by its byte checksum or by the "
    "checksum of its parsed numbers (docs/data.md), so the Zenodo original passes as long as "
    "its numbers are the curated ones."
)
_CENNS10_PDF_DRAFT = (
    "The curated companion PDF is a pre-upload draft that differs from the Zenodo PDF "
    "(10.5281/zenodo.3903810), so a download from Zenodo fails verification by design: "
    "set CEVNSFIT_DATA to the curated data tree (or CEVNSFIT_MIRROR to a server of it)."
)
_DARKCAST_SNAPSHOT = (
    "The curated curve is the 2023 DarkCast snapshot bundled in Noah-Everett/DS-Decay-Scripts; "
    "if DarkCast master has changed since, a download fails verification: set "
    "CEVNSFIT_DATA to the curated data tree instead."
)


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


#: Content checksums of the files whose original bytes are not known (the curated copies are
#: edited: header lines differ from the Zenodo release). A file passes if its byte checksum
#: or its content checksum matches.
_CONTENT_SHA256 = {
    "coherent-csi-2017/arrivalTimePDF_delayedNeutrinos.txt": "5000fe9ff6ff247e1f3af4359ca85d6d016cddd01f9da756e86fd8c4f84fde68",
    "coherent-csi-2017/arrivalTimePDF_promptNeutrinos.txt": "387030c0a8bd5c7a23bf604ba82d4a7446e670406fb7e1a92acf10eb63969811",
    "coherent-csi-2017/arrivalTimePDF_promptNeutrons.txt": "b15cdd15ff6a033032425968174c5a67ca425fbaa68374226e20b69d20f42bef",
    "coherent-csi-2017/data_anticoincidence_beamOff.txt": "7389156b24e4e306a27c078f717014a4a9eb9dd8e8e70dae07d15ece41950811",
    "coherent-csi-2017/data_anticoincidence_beamOn.txt": "b3f4f4bbb476b78732cffc0d46a5636653fa1bab16855df45b5f6cee743a9685",
    "coherent-csi-2017/data_coincidence_beamOff.txt": "ec5c56b0859ec72c2fe8656cd6adaafded54df5e8c1d5af672117e53111d0853",
    "coherent-csi-2017/data_coincidence_beamOn.txt": "62ef252adeae53f3b46c55956db2e7737aee15208f0b633b99e7772254e4a237",
}


def _note(relpath: str) -> str:
    name = relpath.rsplit("/", 1)[-1]
    if relpath.startswith("coherent-csi-2017/") and name.startswith(("data_", "arrivalTimePDF_")):
        return _CSI2017_EDITED
    if name == "CENNS10DataReleaseCompanion.pdf":
        return _CENNS10_PDF_DRAFT
    if relpath.startswith("limits-lmu-ltau/"):
        return _DARKCAST_SNAPSHOT
    return ""


def _remote_name(release: str, relpath: str) -> str:
    name = relpath.rsplit("/", 1)[-1]
    if release == "xenonnt-8b-2026":  # a git repository: the path inside it
        return relpath.split("/", 1)[1]
    if release == "solar-8b":
        return f"{_PEANUTS_COMMITS[name]}/Data/{name}"
    # Zenodo records are flat and DarkCast names are kept: the base name is the remote name.
    return name


def _build() -> dict[str, DataFile]:
    from importlib.resources import files

    lines = _SHA256SUMS.splitlines()
    for fname in _SHA256_FILES:
        lines += files("cevnsfit.data").joinpath(fname).read_text().splitlines()
    table = {}
    for line in lines:
        if not line.strip():
            continue
        digest, relpath = line.split(maxsplit=1)
        release = relpath.split("/", 1)[0]
        table[relpath] = DataFile(
            relpath, digest, release, _remote_name(release, relpath), _note(relpath), _CONTENT_SHA256.get(relpath, "")
        )
    return table


_TABLE: dict[str, DataFile] = _build()
#: Every registered file, in SHA256SUMS order.
FILES: tuple[DataFile, ...] = tuple(_TABLE.values())


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
    env = os.environ.get("CEVNSFIT_DATA")
    return Path(env).expanduser() if env else None


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

    >>> fetch("brnPE.txt")
    Traceback (most recent call last):
    ...
    cevnsfit.errors.UnknownNameError: unknown data file 'brnPE.txt'; did you mean 'coherent-csi-2021/brnPE.txt'?
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
