"""The catalogue's query seam: what the STAC API and the OData facade ask, and what they get.

Both web facades translate their own syntax (STAC ``/search`` parameters, OData
``$filter``) into one :class:`ItemQuery` and render the STAC 1.0.0 Item dicts of the
returned :class:`ItemPage`. Nothing here imports a web framework.

Item properties, named as CDSE's STAC API names them (a property an item cannot know
is left out, never set to null):

- ``datetime`` (the acquisition's nominal instant), ``start_datetime``, ``end_datetime``
  (sensing start and stop), ``created``, ``published``, ``updated``;
- ``platform`` (``sentinel-2a``, …), ``constellation`` (``sentinel-2``, …),
  ``instruments`` (``["msi"]``, …);
- ``eo:cloud_cover`` (%, computed from the scene), ``sat:relative_orbit``,
  ``sat:absolute_orbit``, ``sat:orbit_state`` (``ascending``/``descending``);
- ``product:type`` (``S2MSI2A``, ``IW_GRDH_1S``, ``OL_1_EFR___``, …),
  ``processing:level`` (``L1``, ``L2``), ``grid:code`` (``MGRS-31UFT``) and
  ``s2:mgrs_tile`` (``31UFT``) for Sentinel-2;
- ``proj:epsg``, ``proj:shape``, ``proj:transform``, ``proj:bbox`` (on items whose
  assets share one grid; on the assets otherwise);
- ``sar:instrument_mode``, ``sar:polarizations`` for Sentinel-1;
- ``eostation:collection`` (the openEO collection id behind a catalogue collection)
  and ``eostation:synthetic`` (true for the demo world).

Filters (``ItemQuery.filter``) are CQL2-JSON over these properties plus ``id``,
``collection`` and ``geometry``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from shapely.geometry.base import BaseGeometry

__all__ = ["Catalog", "ItemPage", "ItemQuery"]


@dataclass(frozen=True)
class ItemQuery:
    """One item search; every field left at its default does not restrict the result."""

    #: Catalogue (STAC) collection ids; None: every collection the user may see.
    collections: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    #: Footprint test (shapely, EPSG:4326): items whose geometry intersects it.
    intersects: BaseGeometry | None = None
    #: Inclusive UTC interval; either end None for open. An item matches when its
    #: ``[start_datetime, end_datetime]`` (or ``datetime``) overlaps the interval.
    datetime: tuple[dt.datetime | None, dt.datetime | None] | None = None
    #: A CQL2-JSON expression over item properties (plus ``id``, ``collection``).
    filter: dict[str, Any] | None = None
    #: The server built ``filter`` itself (the OData facade's translation), so it skips the
    #: CQL2 schema check meant for clients' filters (about 80 ms per new expression).
    filter_trusted: bool = False
    #: ``(property, "asc"|"desc")``; ties are broken by collection then id; the default
    #: order is ``datetime`` descending.
    sortby: tuple[tuple[str, str], ...] = ()
    limit: int = 10
    #: Items to skip (the OData facade pages with ``$skip``; STAC paging tokens too).
    offset: int = 0
    #: Compute ``ItemPage.matched`` (may cost a full count).
    count: bool = True
    #: The user whose private collections (job results) are visible; None: anonymous.
    user_id: str | None = None


@dataclass(frozen=True)
class ItemPage:
    """One page of search results."""

    #: STAC 1.0.0 Item dicts. Hrefs under the server are relative to its root (they
    #: start with ``/``); the web facades make them absolute.
    items: list[dict[str, Any]]
    #: Items matching the query overall (None when not counted).
    matched: int | None


class Catalog(Protocol):
    """The items of every collection that has them: what the web facades call."""

    def collections(self, user_id: str | None) -> list[dict[str, Any]]:
        """STAC Collection dicts (without ``links``) visible to the user."""
        ...

    def search(self, query: ItemQuery) -> ItemPage:
        """Items matching the query, sorted and paged; raises ``CatalogQueryInvalid``."""
        ...

    def item(self, collection_id: str, item_id: str, user_id: str | None) -> dict[str, Any]:
        """One item; raises ``ItemNotFound`` / ``CatalogCollectionNotFound``."""
        ...
