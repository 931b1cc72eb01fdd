"""CDSE's names of Copernicus DEM products, to and from the catalogue's tile item ids.

The STAC catalogue names a GLO-30 tile as the COG distribution does
(``Copernicus_DSM_COG_10_N46_00_E007_00_DEM``); CDSE's OData catalogue names the DGED
product that holds it ``DEM1_SAR_DGE_30_<start>_<stop>_ADS_000000_<code>.DEM`` (product
type ``DGE_30``), where start and stop bound the TanDEM-X acquisitions behind the tile
and the code is four letters or digits. Here both dates and the code are derived from
the tile, so a name is computed from an item id and an item id is read back from a name
(``Name eq '…'`` lookups): the code is the tile's index (latitude row × 360 + longitude
column) through an invertible affine map modulo 62⁴, so codes look as scattered as
CDSE's, and the dates come from a hash of the index within the mission's 2010–2015 span.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = ["dem_item_id", "dem_product_name"]

_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MOD: Final = 62**4
#: Multiplier and shift of the code's affine map; the multiplier is prime to 62⁴.
_MUL: Final = 9_176_209
_ADD: Final = 4_181_033
_INV: Final = pow(_MUL, -1, _MOD)
_TANDEM_X: Final = datetime(2010, 12, 12, tzinfo=UTC)
_ITEM: Final = re.compile(r"^Copernicus_DSM_COG_10_([NS])(\d{2})_00_([EW])(\d{3})_00_DEM$")
_NAME: Final = re.compile(
    r"^DEM1_SAR_DGE_30_(\d{8}T\d{6})_(\d{8}T\d{6})_ADS_000000_([0-9A-Za-z]{4})(?:\.DEM)?$"
)


def _index(lat: int, lon: int) -> int:
    return (lat + 90) * 360 + (lon + 180)


def _code(index: int) -> str:
    value = (index * _MUL + _ADD) % _MOD
    chars = []
    for _ in range(4):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _dates(index: int) -> tuple[str, str]:
    """Start and stop of the tile's acquisitions: a start in 2010–2013, a 1–2-year span."""
    h = (index * 2_654_435_761) % 2**32
    start = _TANDEM_X + timedelta(days=h % 1000, seconds=(h >> 10) % 86_400)
    stop = start + timedelta(days=365 + (h >> 12) % 400, seconds=(h >> 7) % 3_600)
    return start.strftime("%Y%m%dT%H%M%S"), stop.strftime("%Y%m%dT%H%M%S")


def dem_product_name(item_id: str) -> str | None:
    """CDSE's product name of a GLO-30 tile item (None: not a tile id)."""
    m = _ITEM.match(item_id)
    if m is None:
        return None
    lat = int(m.group(2)) * (1 if m.group(1) == "N" else -1)
    lon = int(m.group(4)) * (1 if m.group(3) == "E" else -1)
    index = _index(lat, lon)
    start, stop = _dates(index)
    return f"DEM1_SAR_DGE_30_{start}_{stop}_ADS_000000_{_code(index)}.DEM"


def dem_item_id(name: str) -> str | None:
    """The tile item id behind a CDSE DEM product name (None: not such a name, or its
    dates do not belong to its code)."""
    m = _NAME.match(name)
    if m is None:
        return None
    value = 0
    for char in m.group(3):
        value = value * 62 + _ALPHABET.index(char)
    index = ((value - _ADD) * _INV) % _MOD
    if index >= 180 * 360 or _dates(index) != (m.group(1), m.group(2)):
        return None
    lat, lon = divmod(index, 360)
    lat, lon = lat - 90, lon - 180
    return (
        f"Copernicus_DSM_COG_10_{'N' if lat >= 0 else 'S'}{abs(lat):02d}_00_"
        f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}_00_DEM"
    )
