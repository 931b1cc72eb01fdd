"""The HTTP layer: the FastAPI app (:mod:`.app`), its dependencies, the one error renderer
(:mod:`.handlers`) and one router per endpoint family (:mod:`.routes`). Only the CLI
imports this package; importing it does not import dask."""
