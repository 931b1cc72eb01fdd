"""apply_dimension callbacks that sort or build arrays, and rename_labels on time labels.

Issue #11 items 13-15, found by the official openeo-test-suite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from eostation.engine.context import EvalContext
from eostation.engine.cube import dimension_type
from eostation.engine.evaluate import evaluate
from eostation.engine.limits import EngineLimits
from eostation.engine.registry import default_registry
from eostation.errors import LabelNotAvailable, OpenEOError

REGISTRY = default_registry()
DATES = np.array(["2020-01-01", "2020-02-01", "2020-03-01"], dtype="datetime64[ns]")
# (t, bands, y, x): red/nir per date; one pixel has a null red.
VALUES = np.array(
    [[[[5.0, 1.0]], [[1.0, 2.0]]], [[[2.0, np.nan]], [[7.0, 2.0]]], [[[3.0, 4.0]], [[3.5, 4.0]]]]
)


def _cube() -> xr.DataArray:
    return xr.DataArray(
        VALUES,
        dims=("t", "bands", "y", "x"),
        coords={"t": DATES, "bands": ["B04", "B08"], "y": [0.0], "x": [0.0, 10.0]},
    ).chunk({"x": 1})


def _run(nodes: dict[str, Any]) -> Any:
    return evaluate({"process_graph": nodes}, EvalContext(REGISTRY, EngineLimits()), {"c": _cube()})


def _apply_dimension(callback: dict[str, Any], dimension: str = "bands") -> xr.DataArray:
    node = {
        "process_id": "apply_dimension",
        "arguments": {
            "data": {"from_parameter": "c"},
            "dimension": dimension,
            "process": {"process_graph": callback},
        },
        "result": True,
    }
    out = _run({"a": node})
    assert isinstance(out, xr.DataArray)
    return out


def _data() -> dict[str, str]:
    return {"from_parameter": "data"}


@pytest.mark.parametrize(("asc", "nodata"), [(True, True), (False, True), (True, False)])
def test_order_over_bands_gives_a_permutation_per_pixel(asc: bool, nodata: bool) -> None:
    out = _apply_dimension(
        {
            "o": {
                "process_id": "order",
                "arguments": {"data": _data(), "asc": asc, "nodata": nodata},
                "result": True,
            }
        }
    ).compute()
    assert out.dims == ("t", "bands", "y", "x") and list(out.bands.values) == ["B04", "B08"]
    # Pixel x=0: (5, 1), (2, 7), (3, 3.5). Pixel x=10: (1, 2), (null, 2), (4, 4).
    first = [[1, 0], [0, 1], [0, 1]] if asc else [[0, 1], [1, 0], [1, 0]]
    assert out.values[:, :, 0, 0].tolist() == first
    nulls = [1, 0] if nodata else [0, 1]
    ties = [0, 1]  # stable: equal values keep their order in both directions
    assert out.values[:, :, 0, 1].tolist() == [[0, 1] if asc else [1, 0], nulls, ties]


def test_order_of_a_plain_array_still_drops_nulls() -> None:
    out = _run(
        {"o": {"process_id": "order", "arguments": {"data": [3, None, 1, 2]}, "result": True}}
    )
    assert out == [2, 3, 0]


def test_callback_appending_a_computed_band() -> None:
    """array_concat(data, array_create([normalized_difference(nir, red)]))."""
    out = _apply_dimension(
        {
            "red": {"process_id": "array_element", "arguments": {"data": _data(), "index": 0}},
            "nir": {"process_id": "array_element", "arguments": {"data": _data(), "index": 1}},
            "nd": {
                "process_id": "normalized_difference",
                "arguments": {"x": {"from_node": "nir"}, "y": {"from_node": "red"}},
            },
            "new": {"process_id": "array_create", "arguments": {"data": [{"from_node": "nd"}]}},
            "all": {
                "process_id": "array_concat",
                "arguments": {"array1": _data(), "array2": {"from_node": "new"}},
                "result": True,
            },
        }
    ).compute()
    assert out.dims == ("t", "bands", "y", "x") and out.sizes["bands"] == 3
    np.testing.assert_array_equal(out.values[:, :2], VALUES)
    red, nir = VALUES[:, 0], VALUES[:, 1]
    np.testing.assert_allclose(out.values[:, 2], (nir - red) / (nir + red))
    assert list(out.bands.values) == [0, 1, 2]  # a length change renumbers the labels


def test_callback_appending_constants_and_a_view() -> None:
    out = _apply_dimension(
        {
            "all": {
                "process_id": "array_concat",
                "arguments": {"array1": [0, None], "array2": _data()},
                "result": True,
            }
        }
    ).compute()
    assert out.sizes["bands"] == 4
    assert (out.values[:, 0] == 0).all() and np.isnan(out.values[:, 1]).all()
    np.testing.assert_array_equal(out.values[:, 2:], VALUES)


def test_rename_a_time_label_that_dimension_labels_returned() -> None:
    nodes = {
        "l": {
            "process_id": "dimension_labels",
            "arguments": {"data": {"from_parameter": "c"}, "dimension": "t"},
        },
        "first": {
            "process_id": "array_element",
            "arguments": {"data": {"from_node": "l"}, "index": 0},
        },
        "r": {
            "process_id": "rename_labels",
            "arguments": {
                "data": {"from_parameter": "c"},
                "dimension": "t",
                "target": ["2021-06-15T12:00:00Z"],
                "source": [{"from_node": "first"}],
            },
            "result": True,
        },
    }
    out = _run(nodes)
    assert out.t.dtype.kind == "M"  # still a time axis
    assert [str(v)[:19] for v in out.t.values] == [
        "2021-06-15T12:00:00",
        "2020-02-01T00:00:00",
        "2020-03-01T00:00:00",
    ]
    np.testing.assert_array_equal(out.values, VALUES)


def test_rename_time_labels_in_any_spelling_and_reject_missing_ones() -> None:
    def rename(source: list[Any], target: list[Any]) -> xr.DataArray:
        node = {
            "process_id": "rename_labels",
            "arguments": {
                "data": {"from_parameter": "c"},
                "dimension": "t",
                "target": target,
                "source": source,
            },
            "result": True,
        }
        out = _run({"r": node})
        assert isinstance(out, xr.DataArray)
        return out

    out = rename(["2020-02-01", "2020-03-01T00:00:00+00:00"], ["2022-02-01", "2022-03-01"])
    assert [str(v)[:10] for v in out.t.values] == ["2020-01-01", "2022-02-01", "2022-03-01"]
    with pytest.raises(LabelNotAvailable, match="2020-01-02"):
        rename(["2020-01-02"], ["2022-01-01"])
    # Names that are not dates turn the labels into strings.
    named = rename(["2020-01-01", "2020-02-01", "2020-03-01"], ["a", "b", "c"])
    assert list(named.t.values) == ["a", "b", "c"]


def test_apply_dimension_fills_an_existing_single_label_target() -> None:
    """The spec's case 2: t → bands where bands has one label; the t dimension is dropped."""
    callback = {
        "q": {
            "process_id": "quantiles",
            "arguments": {"data": _data(), "probabilities": [0.25, 0.5, 0.75]},
            "result": True,
        }
    }
    one_band = {
        "f": {
            "process_id": "filter_bands",
            "arguments": {"data": {"from_parameter": "c"}, "bands": ["B08"]},
        },
        "a": {
            "process_id": "apply_dimension",
            "arguments": {
                "data": {"from_node": "f"},
                "dimension": "t",
                "target_dimension": "bands",
                "process": {"process_graph": callback},
            },
            "result": True,
        },
    }
    out = _run(one_band)
    assert out.dims == ("bands", "y", "x") and list(out.bands.values) == [0, 1, 2]
    assert dimension_type(out, "bands") == "bands"
    nir = VALUES[:, 1, 0, 0]  # 1, 7, 3.5
    np.testing.assert_allclose(out.values[:, 0, 0], np.quantile(nir, [0.25, 0.5, 0.75]))
    # Two labels in the target: nothing in the spec says how to combine them.
    with pytest.raises(OpenEOError, match="already exists with 2 labels"):
        two_bands = {**one_band["a"]["arguments"], "data": {"from_parameter": "c"}}
        _run({"a": {**one_band["a"], "arguments": two_bands}})
