"""Bad input to the public API: a value or a CevnsfitError, never another exception, never NaN
(issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cevnsfit
from cevnsfit.errors import CevnsfitError, ParameterError, UnknownNameError, check_finite
from cevnsfit.experiments import get_experiment
from cevnsfit.models import BminusL, LmuLtau, UniversalVector


@pytest.mark.parametrize("datasets", ["", ",", " , ", None, [], [""], [1], 3.0])
def test_likelihood_refuses_empty_or_non_names(datasets):
    with pytest.raises(UnknownNameError) as err:
        cevnsfit.likelihood(datasets)
    assert "csi2017" in str(err.value) and "cenns10" in str(err.value)  # names the allowed datasets


@pytest.fixture(scope="module")
def like():
    return cevnsfit.likelihood("csi2017")


@pytest.mark.parametrize(
    "mzp, gx, word",
    [
        ([], [], "empty"),
        ("abc", 1e-3, "real number"),
        (20.0, 1e-3 + 1j, "complex"),
        (20.0, [1e-3, 1j], "complex"),
        (None, 1e-3, "real number|needs mzp_mev"),
        (20.0, "1e-3", "real number"),
        (20.0, True, "real number"),
        (np.array([]), 1e-3, "empty"),
        (20.0, [1e-3, "x"], "real number"),
    ],
)
def test_logl_refuses_non_numeric(like, mzp, gx, word):
    with pytest.raises(ParameterError, match=word):
        like.logl(mzp, gx)


def test_check_finite_messages():
    with pytest.raises(ParameterError, match="gx must be a real number.*complex"):
        check_finite("gx", np.array([1.0 + 0j]))
    with pytest.raises(ParameterError, match="must not be empty"):
        check_finite("gx", [], allow_empty=False)
    assert check_finite("gx", []).shape == (0,)
    assert float(check_finite("gx", np.float32(2.0))) == 2.0


def test_overflowing_coupling_is_an_error_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # a coupling beyond the declared (perturbative) range is refused before anything overflows
        with pytest.raises(ParameterError, match="allowed range"):
            cevnsfit.likelihood("cenns10").logl(20.0, 1e200)
        with pytest.raises(ParameterError, match="allowed range"):
            get_experiment("csi2017").predict(LmuLtau(20.0, 1e200))


# --- property-based: any number in, a finite value or a CevnsfitError out ----------------------

_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1.0, 5e-4, 20.0, float("nan"), float("inf")]),
    st.complex_numbers(allow_nan=False, max_magnitude=1e3),
    st.just([]),
    st.just("1"),
    st.none(),
    st.booleans(),
    st.lists(st.floats(min_value=1e-6, max_value=1e4), min_size=1, max_size=3),
)


def _assert_value_or_cevnsfit_error(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            out = call()
        except CevnsfitError:
            return
    arr = np.asarray(out, dtype=float)
    assert np.all(np.isfinite(arr)), f"non-finite output {arr}"


_fast = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fast
@given(mzp=_numbers, gx=_numbers, r=_numbers)
def test_property_models(mzp, gx, r):
    q2 = np.array([0.0, 10.0, 1e4])
    for build in (lambda: LmuLtau(mzp, gx, r=r), lambda: BminusL(mzp, gx), lambda: UniversalVector(mzp, gx)):
        _assert_value_or_cevnsfit_error(lambda: build().delta_qv("numu", 55, 78, q2))


@_fast
@given(mzp=_numbers, gx=_numbers)
def test_property_predict(mzp, gx):
    exp = get_experiment("cenns10")
    _assert_value_or_cevnsfit_error(lambda: exp.predict(LmuLtau(mzp, gx)))


@_fast
@given(mzp=_numbers, gx=_numbers, r=_numbers)
def test_property_logl(like, mzp, gx, r):
    _assert_value_or_cevnsfit_error(lambda: like.logl(mzp, gx, r))
