"""The items index behind the STAC API (``/stac/v1``) and the OData facade (``/odata/v1``).

:mod:`eostation.catalog.query` is the seam both facades use (:class:`ItemQuery`,
:class:`ItemPage`, :class:`Catalog`). This package knows nothing about HTTP.
"""

from __future__ import annotations

from .query import Catalog, ItemPage, ItemQuery

__all__ = ["Catalog", "ItemPage", "ItemQuery"]
