"""CDSE's OData catalogue protocol over the items index: ``$filter`` and query options,
product entities and product packages. No web imports: ``eostation.api.routes.odata``
serves these over HTTP."""
