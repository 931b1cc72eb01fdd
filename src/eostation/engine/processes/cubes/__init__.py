"""Data cube processes, one module per family (loading and saving, filters, dimension
handling, callbacks over cubes, masks and merging, resampling, vector and aggregation
processes). Shared helpers live in :mod:`eostation.engine.cube`."""
