"""The items index behind the STAC API and the OData facade."""
