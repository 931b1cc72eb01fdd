"""User-defined processes (``/process_graphs``), stored per user in the shared database."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eostation.db import metadata, write_attempts
from eostation.errors import ProcessGraphMissing, ProcessGraphNotFound, RequestInvalid

__all__ = ["PROCESS_ID_PATTERN", "UdpStore", "check_definition"]

PROCESS_ID_PATTERN = re.compile(r"^\w+$", re.ASCII)
_PARAMETER_FLAGS: Final = ("optional", "deprecated", "experimental")
_TEXT_FIELDS: Final = ("summary", "description")


def _check_schema(value: Any, where: str) -> None:
    if not isinstance(value, dict | list) or (
        isinstance(value, list) and not all(isinstance(v, dict) for v in value)
    ):
        raise RequestInvalid(reason=f"{where} must be a JSON Schema object or a list of them")


def _check_parameters(parameters: Any) -> set[str]:
    if parameters is None:
        return set()
    if not isinstance(parameters, list):
        raise RequestInvalid(reason="'parameters' must be a list of parameter objects")
    names: set[str] = set()
    for i, param in enumerate(parameters):
        where = f"parameters[{i}]"
        if not isinstance(param, dict):
            raise RequestInvalid(reason=f"{where} must be an object with a 'name'")
        name = param.get("name")
        if not isinstance(name, str) or not PROCESS_ID_PATTERN.match(name):
            raise RequestInvalid(
                reason=f"{where}.name must be a string of letters, digits and '_', not {name!r}"
            )
        if name in names:
            raise RequestInvalid(reason=f"{where}.name: parameter '{name}' is declared twice")
        names.add(name)
        if "description" in param and not isinstance(param["description"], str):
            raise RequestInvalid(reason=f"{where}.description must be a string")
        if "schema" in param:
            _check_schema(param["schema"], f"{where}.schema")
        for flag in _PARAMETER_FLAGS:
            if flag in param and not isinstance(param[flag], bool):
                raise RequestInvalid(reason=f"{where}.{flag} must be true or false")
    return names


def check_definition(process_id: str, definition: Mapping[str, Any]) -> set[str]:
    """Check a user-defined process against the openEO process shape; returns its parameter names.

    An ``id`` in the body is not checked: the API replaces it with the URL's (``PUT
    /process_graphs/{id}``), so a process exchanged under another name can be stored.
    Raises :class:`RequestInvalid` naming the first field that is wrong (id pattern,
    ``parameters`` list, ``returns`` object, text and flag types) and
    :class:`ProcessGraphMissing` without a non-empty ``process_graph`` object. The graph's
    own structure is checked by the caller with the engine.
    """
    if not PROCESS_ID_PATTERN.match(process_id):
        raise RequestInvalid(
            reason=f"process id '{process_id}' may only contain letters, digits and '_'"
        )
    graph = definition.get("process_graph")
    if not isinstance(graph, Mapping) or not graph:
        raise ProcessGraphMissing()
    for key in _TEXT_FIELDS:
        if definition.get(key) is not None and not isinstance(definition[key], str):
            raise RequestInvalid(reason=f"'{key}' must be a string")
    for key in ("deprecated", "experimental"):
        if key in definition and not isinstance(definition[key], bool):
            raise RequestInvalid(reason=f"'{key}' must be true or false")
    categories = definition.get("categories")
    if categories is not None and not (
        isinstance(categories, list) and all(isinstance(c, str) for c in categories)
    ):
        raise RequestInvalid(reason="'categories' must be a list of strings")
    returns = definition.get("returns")
    if returns is not None:
        if not isinstance(returns, dict):
            raise RequestInvalid(reason="'returns' must be an object with a 'schema'")
        if "schema" in returns:
            _check_schema(returns["schema"], "returns.schema")
    for key, kind in (("exceptions", dict), ("examples", list), ("links", list)):
        if definition.get(key) is not None and not isinstance(definition[key], kind):
            raise RequestInvalid(
                reason=f"'{key}' must be {'an object' if kind is dict else 'a list'}"
            )
    links = definition.get("links") or []
    if not all(isinstance(link, dict) and isinstance(link.get("href"), str) for link in links):
        raise RequestInvalid(reason="every entry of 'links' must be an object with an 'href'")
    return _check_parameters(definition.get("parameters"))


process_graphs = sa.Table(
    "process_graphs",
    metadata,
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("process_id", sa.String(256), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
)


class UdpStore:
    """Create/replace, read, list and delete one user's stored processes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, user_id: str, process_id: str, definition: dict[str, Any]) -> None:
        """Store ``definition`` (``id`` forced to ``process_id``), replacing an older one."""
        body = json.dumps({**definition, "id": process_id})
        now = datetime.now(UTC)
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                if (
                    conn.execute(
                        process_graphs.update().where(key).values(definition=body, updated=now)
                    ).rowcount
                    == 0
                ):
                    conn.execute(
                        process_graphs.insert().values(
                            user_id=user_id, process_id=process_id, definition=body, updated=now
                        )
                    )

    def get(self, user_id: str, process_id: str) -> dict[str, Any] | None:
        """The stored definition, or None."""
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(process_graphs.c.definition).where(key)).first()
        return None if row is None else dict(json.loads(row.definition))

    def require(self, user_id: str, process_id: str) -> dict[str, Any]:
        """The stored definition; raises :class:`ProcessGraphNotFound`."""
        found = self.get(user_id, process_id)
        if found is None:
            raise ProcessGraphNotFound(identifier=process_id)
        return found

    def list(self, user_id: str) -> list[dict[str, Any]]:
        """All of a user's definitions, sorted by id."""
        query = (
            sa.select(process_graphs.c.definition)
            .where(process_graphs.c.user_id == user_id)
            .order_by(process_graphs.c.process_id)
        )
        with self._engine.connect() as conn:
            return [dict(json.loads(r.definition)) for r in conn.execute(query)]

    def delete(self, user_id: str, process_id: str) -> None:
        """Remove a definition; raises :class:`ProcessGraphNotFound` when absent."""
        key = (process_graphs.c.user_id == user_id) & (process_graphs.c.process_id == process_id)
        for attempt in write_attempts(self._engine):
            with attempt as conn:
                if conn.execute(process_graphs.delete().where(key)).rowcount == 0:
                    raise ProcessGraphNotFound(identifier=process_id)
