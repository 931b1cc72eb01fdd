"""The contract every collection source fulfils, as a test class (zarr's ``StoreTests``).

A source implementation passes :class:`CollectionSourceTests` by subclassing it and
providing three fixtures: ``source`` (the source under test), ``load_request`` (a
``LoadRequest`` with a bounding box, interval and one band that has data) and
``common_name`` (``(band name, common name)`` of a band selectable by its common name).
New sources (the catalogue's, for one) add a subclass in ``test_conformance.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import odc.geo.xr  # noqa: F401  (registers the .odc accessor)
import pytest
import xarray as xr

from eostation.data.base import CollectionSource, LoadRequest
from eostation.engine.grid import bbox_in_crs
from eostation.errors import OpenEOError, ProcessParameterInvalid
from tests.stac_check import assert_valid_collection

__all__ = ["CollectionSourceTests"]


class CollectionSourceTests:
    """Every collection source must pass these."""

    # Sources that still break the pixel-centre rule set this to the reason (a strict
    # xfail); once fixed, the xfail turns into a failure and the marker must go.
    pixel_centre_xfail: str | None = None

    @pytest.fixture
    def source(self) -> CollectionSource:
        raise NotImplementedError

    @pytest.fixture
    def load_request(self) -> LoadRequest:
        raise NotImplementedError

    @pytest.fixture
    def common_name(self) -> tuple[str, str]:
        raise NotImplementedError

    def test_is_a_collection_source(self, source: CollectionSource) -> None:
        assert isinstance(source, CollectionSource)

    def test_metadata_is_valid_stac(self, source: CollectionSource) -> None:
        doc = source.metadata()
        assert doc["id"] == source.id and doc["type"] == "Collection"
        assert_valid_collection({**doc, "links": []})
        dims = doc["cube:dimensions"]
        assert {"x", "y", "t", "bands"} <= set(dims)
        assert dims["bands"]["values"] and all(isinstance(b, str) for b in dims["bands"]["values"])

    def test_queryables_are_a_json_schema(self, source: CollectionSource) -> None:
        doc = source.queryables()
        assert doc["type"] == "object" and isinstance(doc["properties"], dict)
        assert doc["$id"] == f"eostation:{source.id}/queryables"

    def test_load_gives_a_lazy_t_bands_y_x_cube(
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        cube = source.load(load_request)
        assert isinstance(cube, xr.DataArray)
        assert cube.dims == ("t", "bands", "y", "x")
        assert cube.chunks is not None, "the cube must be lazy (dask-backed)"
        assert [str(b) for b in cube["bands"].values] == load_request.bands
        assert cube.sizes["t"] >= 1 and cube.sizes["y"] >= 1 and cube.sizes["x"] >= 1
        assert np.issubdtype(cube["t"].dtype, np.datetime64)
        assert cube.odc.geobox is not None and cube.odc.geobox.crs is not None
        values = cube.isel(t=0).values
        assert np.isfinite(values).any(), "the requested extent has data"

    def test_band_is_selected_by_common_name(
        self, source: CollectionSource, load_request: LoadRequest, common_name: tuple[str, str]
    ) -> None:
        name, common = common_name
        by_common = source.load(dataclasses.replace(load_request, bands=[common]))
        by_name = source.load(dataclasses.replace(load_request, bands=[name]))
        assert [str(b) for b in by_common["bands"].values] == [name]
        np.testing.assert_array_equal(by_common.values, by_name.values)

    def test_unknown_band_names_the_parameter(
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        with pytest.raises(ProcessParameterInvalid, match="bands"):
            source.load(dataclasses.replace(load_request, bands=["NO_SUCH_BAND"]))

    def test_empty_interval_is_refused(
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        with pytest.raises(ProcessParameterInvalid, match="temporal_extent"):
            source.load(dataclasses.replace(load_request, temporal=("2020-06-02", "2020-06-01")))

    def test_interval_without_data_is_refused(
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        # ProcessParameterInvalid today; NoDataAvailable once fid-orbits' wave-2 work lands.
        with pytest.raises(OpenEOError) as err:
            source.load(dataclasses.replace(load_request, temporal=("1990-01-01", "1990-02-01")))
        assert err.value.status == 400, err.value.code

    def test_unsupported_property_filter_is_refused(
        self, source: CollectionSource, load_request: LoadRequest
    ) -> None:
        properties: dict[str, Any] = {"eostation:no_such_property": lambda value: value == 1}
        with pytest.raises(ProcessParameterInvalid, match="properties"):
            source.load(dataclasses.replace(load_request, properties=properties))

    def test_pixel_centres_lie_in_the_bbox(
        self, source: CollectionSource, load_request: LoadRequest, request: pytest.FixtureRequest
    ) -> None:
        """openEO ``load_collection``: a pixel is loaded when its centre lies in the extent.

        The extent is taken in the cube's own CRS (the bbox reprojected with densified
        edges, then its bounding box): a grid is a rectangle, so a lon/lat box on a UTM
        grid cannot be followed more closely than that.
        """
        if self.pixel_centre_xfail:
            request.applymarker(pytest.mark.xfail(strict=True, reason=self.pixel_centre_xfail))
        assert load_request.bbox is not None
        cube = source.load(load_request)
        geobox = cube.odc.geobox
        assert geobox is not None and geobox.crs is not None
        w, s, e, n = bbox_in_crs(load_request.bbox, load_request.crs, geobox.crs.to_wkt())
        xs, ys = cube["x"].values, cube["y"].values
        rx, ry = abs(geobox.resolution.x), abs(geobox.resolution.y)
        # A hundredth of a pixel absorbs the difference between two densifications.
        tx, ty = rx / 100, ry / 100
        assert xs.min() >= w - tx and xs.max() <= e + tx, (xs.min(), xs.max(), w, e)
        assert ys.min() >= s - ty and ys.max() <= n + ty, (ys.min(), ys.max(), s, n)
        # ... and no pixel whose centre is inside is left out: the next one on each side
        # lies outside.
        assert xs.min() - rx < w + tx and xs.max() + rx > e - tx
        assert ys.min() - ry < s + ty and ys.max() + ry > n - ty
