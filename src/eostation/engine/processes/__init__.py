"""Process implementations, one module per openEO category.

Importing a module registers its processes (see :func:`eostation.engine.registry.process`);
:func:`eostation.engine.registry.default_registry` imports every module here, including
subpackages such as ``cubes/``.

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
