"""The routers of the openEO API, one module per endpoint family (capabilities, account,
collections, processes, process graphs, ``/result``, ``/jobs``)."""
