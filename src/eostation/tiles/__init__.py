"""Map tiles of raster results and collection quicklooks for the web dashboard.

Nothing here knows HTTP: ``api/routes/tiles.py`` turns requests into calls of
:class:`~eostation.tiles.service.TileService` and its answers into responses.
"""
