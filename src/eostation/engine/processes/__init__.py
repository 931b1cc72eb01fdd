"""Process implementations, one module per openEO category.

Importing a module registers its processes (see :func:`eostation.engine.registry.process`).
The registry knows every process here (subpackages such as ``cubes/`` included) from the
generated ``engine/process_index.json`` and imports a module when one of its processes is
first used: after adding or changing a process, run ``scripts/process_index.py``.

Writing a cube process (e.g. ``reduce_dimension``)::

    @process("reduce_dimension", categories=("cubes", "reducer"))
    def reduce_dimension(
        data: Annotated[xr.DataArray, Param(DATACUBE)],
        reducer: Annotated[Callback, Param(callback_schema([...], {...}))],
        dimension: Annotated[str, Param({"type": "string"})],
        context: Context = None,
    ) -> Annotated[xr.DataArray, Param(DATACUBE)]:
        \"\"\"One line summary. ... Args: one entry per parameter. Returns: ...\"\"\"
        out = reducer(data=LabeledArray(data, dimension), context=context)
        ...

The callback runs once for the whole cube: array/statistics processes reduce along
``LabeledArray.dim`` and return a DataArray without it (``apply_dimension`` may get a
``LabeledArray`` back and must transpose/relabel). Ask for the :class:`EvalContext`
(``load_collection``, ``log``, ``udp``) with a keyword-only parameter annotated
``EvalContext``; list unpublished extra arguments with ``hidden=(...)``.
"""

__all__ = ["CDSE_EXTRA_PROCESSES", "EOSTATION_PROCESSES"]

CDSE_EXTRA_PROCESSES: frozenset[str] = frozenset(
    {
        "date_replace_component",
        "fit_class_random_forest",
        "load_ml_model",
        "load_result",  # openEO 1.x, dropped from 2.0; CDSE still offers it
        "predict_random_forest",
        "save_ml_model",
        "to_scl_dilation_mask",
        "vector_to_raster",
    }
)
"""Processes CDSE offers beyond the openEO 2.0 specifications (see docs/processes.md).

Their metadata is the project's own; every other process must match its official spec
(``tests/unit/engine/test_metadata.py``).
"""

EOSTATION_PROCESSES: frozenset[str] = frozenset({"efast"})
"""eostation's own processes: in neither the openEO specs nor CDSE (see docs/efast.md)."""
