"""Content checksums: a CsI 2017 file with other header lines (as in the Zenodo release) passes,
one changed number fails with a clear error (docs/data.md)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cevnsfit.data import registry
from cevnsfit.datasets.csi2017 import loaders
from cevnsfit.errors import DataFileError

REL = "coherent-csi-2017/data_coincidence_beamOff.txt"


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A data tree of symlinks to the curated one, in which REL is a real, editable copy."""
    src = Path(os.environ["CEVNSFIT_DATA"])
    for f in src.joinpath("coherent-csi-2017").iterdir():
        dst = tmp_path / "coherent-csi-2017" / f.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(f)
    (tmp_path / REL).unlink()
    (tmp_path / REL).write_text((src / REL).read_text())
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _reference():
    return loaders.load_csi2017_histogram("C", "off")


def test_other_header_lines_pass_by_content(tree):
    ref = _reference()
    lines = (tree / REL).read_text().splitlines()
    assert lines[0].startswith("Photoelectrons")
    # the release's form, as far as we can tell: comments, two title lines, whitespace separators
    body = [ln.replace(", ", "\t") for ln in lines[1:]]
    (tree / REL).write_text(
        "# COHERENT CsI[Na] 2017 data release\n# beam off, coincidence window\n"
        "CsI[Na] beam-off data\nPE  t[us]  counts\n" + "\n".join(body) + "\n"
    )
    assert registry._sha256(tree / REL) != registry._entry(REL).sha256  # other bytes ...
    assert registry.fetch(REL) == tree / REL  # ... still verified
    row = next(r for r in registry.verify_all() if r["path"] == REL)
    assert row["status"] == "ok" and row["check"] == "content"
    got = _reference()
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)  # loaders read both forms


def test_one_changed_number_fails(tree):
    text = (tree / REL).read_text()
    lines = text.splitlines()
    pe, t, n = lines[5].split(", ")
    lines[5] = f"{pe}, {t}, {int(n) + 1}"
    (tree / REL).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match=r"checksum mismatch.*data_coincidence_beamOff.*numbers differ"):
        registry.fetch(REL)
    row = next(r for r in registry.verify_all() if r["path"] == REL)
    assert row["status"] == "corrupted" and "numbers differ" in row["error"]


def test_content_checksum_is_blind_to_format_only(tmp_path):
    texts = {"a": "# h\nx, y\n1.0, 2.5\n3, 4\n", "b": "1 2.50\n3.000 4\n", "c": "1 2.5\n3 4.0000001\n"}
    sums = {}
    for k, text in texts.items():
        (tmp_path / k).write_text(text)
        sums[k] = registry.content_sha256(tmp_path / k)
    assert sums["a"] == sums["b"] != sums["c"]


def test_byte_only_files_have_no_content_checksum():
    with_content = [f.path for f in registry.FILES if f.content_sha256]
    assert len(with_content) == 7
    assert all(p.startswith("coherent-csi-2017/") for p in with_content)
