"""Collections: what ``load_collection`` reads, and how each collection describes itself.

The shared core every source builds on: :mod:`.base` (the ``CollectionSource`` protocol
and ``LoadRequest``), :mod:`.bands` (STAC band descriptions, selection by name or common
name), :mod:`.request` (the requested area and interval), :mod:`.document` (the STAC
Collection and queryables documents), :mod:`.config` (``collections.toml``, typed) and
:mod:`.registry` (collections by id). The sources: :mod:`.demo` (the synthetic world),
:mod:`.files` (local GeoTIFF/COG, netCDF, Zarr), :mod:`.stac` (STAC APIs and static
catalogues) and :mod:`.archive_source` (a HEALPix/Zarr archive).
"""
