"""Data layer: published totals, checksum enforcement, download path, CLI."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cevnsfit import data
from cevnsfit.cli import main
from cevnsfit.data import registry
from cevnsfit.datasets.cenns10 import loaders as cenns10_loaders
from cevnsfit.datasets.csi2017 import loaders as csi2017_loaders
from cevnsfit.datasets.csi2021 import loaders as csi2021_loaders
from cevnsfit.errors import DataFileError, UnknownNameError

SMALL = "coherent-csi-2021/effCoefficients.txt"
DEAD_MIRROR = "http://127.0.0.1:9/"  # discard port: connection refused at once


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("CEVNSFIT_DATA") or Path(__file__).parents[2] / "shared" / "data")
    if not (root / "SHA256SUMS").is_file():
        pytest.skip(f"curated data tree not found at {root}")
    return root


@pytest.fixture
def curated(data_root, monkeypatch, tmp_path):
    """Read from the curated tree; nothing cached, no network."""
    monkeypatch.setenv("CEVNSFIT_DATA", str(data_root))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CEVNSFIT_MIRROR", DEAD_MIRROR)
    return data_root


@contextmanager
def serve(directory: Path):
    """HTTP server on a free loopback port; yields (base_url, list of requested paths)."""
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- registry matches the curated tree ---------------------------------------------------


def test_registry_is_sha256sums(data_root):
    listed = {}
    for line in (data_root / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split()
        listed[path] = digest
    assert {f.path: f.sha256 for f in data.FILES} == listed
    assert {f.release for f in data.FILES} == set(data.RELEASES)


# --- totals quoted in the READMEs -------------------------------------------------------


@pytest.mark.parametrize(
    "window,beam,total", [("C", "on", 1207), ("AC", "on", 1032), ("C", "off", 507), ("AC", "off", 507)]
)
def test_csi2017_histogram_totals(curated, window, beam, total):
    pe_edges, t_edges, counts = csi2017_loaders.load_csi2017_histogram(window, beam)
    np.testing.assert_array_equal(pe_edges, np.arange(0, 51, 2))
    np.testing.assert_array_equal(t_edges, np.arange(25) * 0.5)
    assert counts.shape == (25, 24) and counts.dtype.kind == "i"
    assert counts.sum() == total


def test_csi2017_c_minus_ac_by_pe(curated):
    # README: beam-on C - AC by PE bin starts 6, 1, -4, 9, 13 and totals 175.
    diff = (csi2017_loaders.load_csi2017_histogram("C")[2] - csi2017_loaders.load_csi2017_histogram("AC")[2]).sum(1)
    assert diff[:5].tolist() == [6, 1, -4, 9, 13] and diff.sum() == 175


@pytest.mark.parametrize("kind", ["prompt_neutrinos", "delayed_neutrinos", "prompt_neutrons"])
def test_arrival_pdfs_are_normalised(curated, kind):
    t_edges, prob = csi2017_loaders.load_csi2017_arrival_pdf(kind)
    assert t_edges.shape == (25,) and prob.shape == (24,)
    assert prob.min() >= 0 and prob.sum() == pytest.approx(1.0, abs=1e-9)


def test_prompt_neutrons_per_gwhr(curated):
    edges, per_gwhr = csi2017_loaders.load_csi2017_prompt_neutron_pe()
    np.testing.assert_array_equal(edges, np.arange(51.0))
    assert per_gwhr.sum() == pytest.approx(3.99529, abs=1e-5)
    exposure = data.load_yaml("coherent-csi-2017/coherent_parameters.yaml")["beamExposure"]
    assert per_gwhr.sum() * exposure["value"] == pytest.approx(29.87, abs=0.01)


@pytest.mark.parametrize(
    "name,total",
    [
        ("data", 3752),
        ("ss", 3152.0),
        ("cevns", 128.0),
        ("prompt_brn", 497.0),
        ("delayed_brn", 33.0),
        ("cevns_f90_plus", 128.0),
        ("prompt_brn_timing_mean_plus", 523.671),
    ],
)
def test_cenns10_grid_totals(curated, name, total):
    grid = cenns10_loaders.load_cenns10_grid(name)
    assert grid.shape == (12, 8, 10)
    assert grid.sum() == pytest.approx(total, abs=1e-3)


def test_cenns10_grid_structure(curated):
    assert {k: v.shape for k, v in cenns10_loaders.CENNS10_EDGES.items()} == {
        "energy_kevee": (13,),
        "f90": (9,),
        "t_us": (11,),
    }
    ss = cenns10_loaders.load_cenns10_grid("ss")
    assert np.all(ss == ss[..., :1])  # steady state is flat in time
    assert np.all(cenns10_loaders.load_cenns10_grid("delayed_brn")[:, :, [0, 1, 2, *range(4, 10)]] == 0)
    edges, eff = cenns10_loaders.load_cenns10_efficiency()
    assert edges.shape == (81,) and edges[-1] == 40.0 and eff[-1] == pytest.approx(0.96345)


@pytest.mark.parametrize("axis,n", [("energy", 12), ("f90", 8), ("time", 10)])
def test_cenns10_projections(curated, axis, n):
    proj = cenns10_loaders.load_cenns10_projection(axis)
    assert all(v.shape == (n,) for v in proj.values())
    assert proj["data"].sum() == pytest.approx(620.246, abs=1e-2)
    assert proj["cevns"].sum() == pytest.approx(159.506, abs=1e-2)
    np.testing.assert_allclose(proj["cevns"] + proj["brn"], proj["cevns_brn"], atol=1e-3)


@pytest.mark.parametrize("window,n,n_roi", [("C", 5142, 1578), ("AC", 4890, 1295)])
def test_csi2021_events(curated, window, n, n_roi):
    events = csi2021_loaders.load_csi2021_events(window)
    assert events.shape == (n, 2)
    assert np.count_nonzero((events[:, 0] < 60) & (events[:, 1] < 6)) == n_roi


def test_csi2021_shapes_and_coefficients(curated):
    x, y = csi2021_loaders.load_csi2021_shape("brn_time")
    assert x.shape == (650,) and y.sum() == pytest.approx(27.63, abs=0.01)
    eff = csi2021_loaders.load_csi2021_efficiency()
    pe = np.arange(5.0, 60.0)
    f = {k: a / (1 + np.exp(-b * (pe - c))) + d for k, (a, b, c, d) in eff.items()}
    assert np.all(f["plus"] > f["nominal"]) and np.all(f["minus"] < f["nominal"])
    qf = csi2021_loaders.load_csi2021_quenching()
    assert set(qf) == {"nominal", "model0_plus", "model0_minus", "model1_plus", "model1_minus"}
    assert qf["nominal"] == (0.0554628, 4.30681, -111.707, 840.384)


def test_limit_curves(curated, tmp_path):
    mass, g = data.load_limit_curve("babar_2016_4mu")
    assert mass.shape == (1772,) and mass[0] == pytest.approx(213.61)
    assert np.isnan(g).sum() == 3 and np.nanmax(g) < 1
    user = tmp_path / "ccfr.lmt"
    user.write_text("#      mass       lower\n 1.0e-02  1.0e+05\n 1.0e-01  3.0e-03\n")
    mass, g = data.load_limit_curve(user)
    np.testing.assert_array_equal(mass, [10.0, 100.0])
    assert np.isnan(g[0]) and g[1] == 3e-3
    with pytest.raises(UnknownNameError, match="babar_2016_4mu"):
        data.load_limit_curve("ccfr")


# --- checksum enforcement ---------------------------------------------------------------


def test_corrupted_file_is_refused(data_root, monkeypatch, tmp_path):
    release = "coherent-csi-2017"
    shutil.copytree(data_root / release, tmp_path / "tree" / release)
    target = tmp_path / "tree" / release / "data_coincidence_beamOn.txt"
    raw = bytearray(target.read_bytes())
    raw[0] ^= 0x01  # "1.0" -> "0.0"
    target.write_bytes(bytes(raw))
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path / "tree"))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CEVNSFIT_MIRROR", DEAD_MIRROR)
    relpath = f"{release}/data_coincidence_beamOn.txt"
    expected = next(f.sha256 for f in data.FILES if f.path == relpath)
    found = registry.hashlib.sha256(bytes(raw)).hexdigest()
    for call in (lambda: data.fetch(relpath), lambda: csi2017_loaders.load_csi2017_histogram("C", "on")):
        with pytest.raises(DataFileError) as err:
            call()
        msg = str(err.value)
        assert relpath in msg and expected in msg and found in msg
        assert "CEVNSFIT_DATA" in msg and "Zenodo" in msg  # fix hint + upstream note
    # an intact file of the same copy is still accepted
    assert csi2017_loaders.load_csi2017_histogram("AC", "on")[2].sum() == 1032
    rows = {r["path"]: r for r in data.verify_all()}
    assert rows[relpath]["status"] == "corrupted" and rows[relpath]["found"] == found


def test_missing_file_without_network(monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()  # an existing but empty tree (a missing CEVNSFIT_DATA folder is refused)
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CEVNSFIT_MIRROR", DEAD_MIRROR)
    with pytest.raises(DataFileError) as err:
        data.fetch(SMALL)
    msg = str(err.value)
    assert SMALL in msg and str(tmp_path / "empty") in msg and str(tmp_path / "cache") in msg
    assert "127.0.0.1:9" in msg and "arXiv:2110.07730" in msg
    assert not (tmp_path / "cache" / SMALL).exists()
    rows = data.verify_all()
    assert {r["status"] for r in rows} == {"missing"} and {r["source"] for r in rows} == {"-"}


def test_unknown_names():
    with pytest.raises(UnknownNameError, match="coherent-csi-2021/brnPE.txt"):
        data.fetch("coherent-csi-2021/brnPe.txt")
    with pytest.raises(UnknownNameError):
        cenns10_loaders.load_cenns10_grid("brn")
    with pytest.raises(UnknownNameError):
        csi2017_loaders.load_csi2017_histogram("C", "maybe")


# --- download path ----------------------------------------------------------------------


def test_download_then_cache(data_root, monkeypatch, tmp_path):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CEVNSFIT_DATA", "")
    monkeypatch.setenv("CEVNSFIT_CACHE", str(cache))
    with serve(data_root) as (url, hits):
        monkeypatch.setenv("CEVNSFIT_MIRROR", url)
        first = data.fetch(SMALL)
        assert first == cache / SMALL and first.read_bytes() == (data_root / SMALL).read_bytes()
        assert hits == [f"/{SMALL}"]
        assert data.fetch(SMALL) == first and csi2021_loaders.load_csi2021_efficiency()["plus"][2] == 9.84596
        assert len(hits) == 1  # served from the cache
    row = next(r for r in data.verify_all() if r["path"] == SMALL)
    assert (row["status"], row["source"]) == ("ok", "cache")


def test_corrupted_download_is_deleted(data_root, monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "coherent-csi-2021").mkdir(parents=True)
    (mirror / SMALL).write_bytes((data_root / SMALL).read_bytes() + b"\n")
    monkeypatch.setenv("CEVNSFIT_DATA", "")
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    with serve(mirror) as (url, _):
        monkeypatch.setenv("CEVNSFIT_MIRROR", url)
        with pytest.raises(DataFileError) as err:
            data.fetch(SMALL)
    found = registry.hashlib.sha256((mirror / SMALL).read_bytes()).hexdigest()
    assert found in str(err.value) and registry._TABLE[SMALL].sha256 in str(err.value)
    assert not (tmp_path / "cache" / SMALL).exists()


# --- CLI ------------------------------------------------------------------------------------


def test_cli_verify_json(curated):
    result = CliRunner().invoke(main, ["data", "verify", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == len(data.FILES)
    assert {(r["status"], r["source"]) for r in rows} == {("ok", "CEVNSFIT_DATA")}


def test_cli_verify_fails_when_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("CEVNSFIT_DATA", str(tmp_path))
    monkeypatch.setenv("CEVNSFIT_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, ["data", "verify"])
    assert result.exit_code == 1 and "missing" in result.output
