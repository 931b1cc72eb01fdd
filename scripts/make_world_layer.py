"""Write the dashboard's offline base layer, ``web/public/world.geojson``.

The land comes from Natural Earth's 1:110m countries (public domain,
https://www.naturalearthdata.com/about/terms-of-use/), in the copy that the ``pyogrio``
package ships as a test fixture (``pyogrio/tests/fixtures/naturalearth_lowres``; pyogrio
is installed with geopandas). Countries are merged into land, simplified and rounded to
0.01° so the file stays small. Run once after changing it, then rebuild the dashboard.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import geopandas as gpd
import shapely

OUT = Path(__file__).resolve().parents[1] / "web" / "public" / "world.geojson"


def main() -> None:
    """Read, merge, simplify and write the world layer."""
    fixture = resources.files("pyogrio") / "tests/fixtures/naturalearth_lowres"
    countries = gpd.read_file(Path(str(fixture)) / "naturalearth_lowres.shp")
    land = shapely.union_all(countries.geometry.values).simplify(0.05)
    land = shapely.set_precision(land, 0.01)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"source": "Natural Earth 1:110m (public domain)"},
                "geometry": shapely.geometry.mapping(poly),
            }
            for poly in getattr(land, "geoms", [land])
        ],
    }
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"{OUT}: {OUT.stat().st_size} bytes, {len(doc['features'])} polygons")


if __name__ == "__main__":
    main()
