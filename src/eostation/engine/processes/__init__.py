"""Process implementations, one module per openEO category.

Importing a module registers its processes (see :func:`eostation.engine.registry.process`);
:func:`eostation.engine.registry.default_registry` imports them all. Cube processes
live in the ``cubes`` subpackage.
"""
