"""Collections backed by a STAC API or a static STAC catalogue, loaded with odc-stac
(``type = "stac"`` in ``collections.toml``), and the ``load_stac`` backend function."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .load import LoadOptions, load_items, load_stac
from .source import StacCollection, StacCollectionConfig, parse_stac_collection

if TYPE_CHECKING:
    from eostation.outbound import OutboundPolicy

__all__ = [
    "LoadOptions",
    "StacCollection",
    "StacCollectionConfig",
    "load_items",
    "load_stac",
    "stac_collection",
]


def stac_collection(
    entry: Mapping[str, Any], root: Path, outbound: OutboundPolicy | None = None
) -> StacCollection:
    """Validate a ``collections.toml`` entry of ``type = "stac"`` (nothing is fetched yet).

    Its http(s) requests go through ``outbound`` (the server's policy; None: the default,
    which refuses internal addresses).
    """
    return StacCollection(parse_stac_collection(entry, root), outbound)
