"""The process registry: ``@process("id")`` and the ``/processes`` metadata.

Every process is one typed function. Its metadata is read from the function:

- summary and description from the docstring (first line, then the body up to ``Args:``),
- parameters, in signature order, from the annotations (see :mod:`.schema`) and the
  ``Args:`` section of the docstring; a parameter with a default is optional,
- the return schema from the return annotation and the ``Returns:`` section.

``@process`` collects definitions into a module-level table as modules are imported.
:func:`default_registry` hands out a fresh :class:`ProcessRegistry`, so tests can add or
remove processes freely; it knows every predefined process from the generated
:mod:`.process_index` and imports a process module only when one of its processes is
asked for (:meth:`ProcessRegistry.get`), so a graph pays for the modules it uses.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_type_hints

from eostation.engine.context import EvalContext
from eostation.engine.process_index import import_all, index_entries
from eostation.engine.schema import JsonSchema, schema_of
from eostation.engine.spec_texts import verbatim
from eostation.errors import ProcessUnsupported

__all__ = [
    "ParameterDef",
    "ProcessDef",
    "ProcessRegistry",
    "build_index",
    "default_registry",
    "process",
]

F = TypeVar("F", bound=Callable[..., Any])

_REQUIRED: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class ParameterDef:
    """One process parameter: spec ``name``, the Python argument it maps to, its metadata."""

    name: str
    python_name: str
    description: str
    schema: JsonSchema
    optional: bool = False
    default: Any = None
    show_default: bool = True
    deprecated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The parameter as listed in ``GET /processes``."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "schema": self.schema,
        }
        if self.deprecated:
            out["deprecated"] = True
        if self.optional:
            out["optional"] = True
            if self.show_default:
                out["default"] = self.default
        return out


@dataclass(frozen=True)
class ProcessDef:
    """A registered process: its implementation and everything ``/processes`` shows."""

    id: str
    function: Callable[..., Any]
    summary: str
    description: str
    categories: tuple[str, ...]
    parameters: tuple[ParameterDef, ...]
    returns: dict[str, Any]
    exceptions: Mapping[str, str] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()
    experimental: bool = False
    env_parameter: str | None = None

    def parameter(self, name: str) -> ParameterDef | None:
        """The declared parameter called ``name`` (None when unknown or hidden)."""
        return next((p for p in self.parameters if p.name == name), None)

    def accepts(self, name: str) -> bool:
        """Whether ``name`` is a valid argument: declared or on the hidden allow-list."""
        return name in self.hidden or self.parameter(name) is not None

    def call(self, arguments: Mapping[str, Any], env: EvalContext) -> Any:
        """Run the implementation with arguments keyed by spec names (defaults fill gaps)."""
        kwargs: dict[str, Any] = {}
        for param in self.parameters:
            if param.name in arguments:
                kwargs[param.python_name] = arguments[param.name]
        for name in self.hidden:
            if name in arguments:
                kwargs[name] = arguments[name]
        if self.env_parameter is not None:
            kwargs[self.env_parameter] = env
        return self.function(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The process as listed in ``GET /processes`` (openEO API 1.2 process schema)."""
        out: dict[str, Any] = {
            "id": self.id,
            "summary": self.summary,
            "description": self.description,
            "categories": list(self.categories),
            "parameters": [p.to_dict() for p in self.parameters],
            "returns": self.returns,
        }
        if self.experimental:
            out["experimental"] = True
        if self.exceptions:
            out["exceptions"] = {k: {"message": v} for k, v in self.exceptions.items()}
        out["links"] = []
        return out


_DEFINITIONS: dict[str, ProcessDef] = {}


def process(
    process_id: str,
    *,
    categories: Iterable[str] = (),
    exceptions: Mapping[str, str] | None = None,
    hidden: Iterable[str] = (),
    experimental: bool = False,
) -> Callable[[F], F]:
    """Register ``function`` as the implementation of openEO process ``process_id``.

    ``categories`` are the openEO categories (e.g. ``"math > statistics"``);
    ``exceptions`` maps the exception names the process may throw to our message;
    ``hidden`` names extra keyword arguments the function accepts that are not
    published in ``/processes`` (e.g. CDSE's ``featureflags`` on ``load_collection``).
    The function itself is returned unchanged, so it stays directly callable.
    """

    def register(function: F) -> F:
        definition = _build(
            process_id,
            function,
            categories=tuple(categories),
            exceptions=dict(exceptions or {}),
            hidden=frozenset(hidden),
            experimental=experimental,
        )
        known = _DEFINITIONS.get(process_id)
        if known is not None and known.function.__qualname__ != function.__qualname__:
            raise ValueError(f"process {process_id!r} is registered twice")
        _DEFINITIONS[process_id] = definition
        return function

    return register


def _build(
    process_id: str,
    function: Callable[..., Any],
    *,
    categories: tuple[str, ...],
    exceptions: dict[str, str],
    hidden: frozenset[str],
    experimental: bool,
) -> ProcessDef:
    summary, description, docs, returns_doc = _parse_docstring(function)
    hints = get_type_hints(function, include_extras=True)
    parameters: list[ParameterDef] = []
    env_parameter: str | None = None
    for python_name, sig in inspect.signature(function).parameters.items():
        hint = hints.get(python_name, Any)
        if hint is EvalContext:
            env_parameter = python_name
            continue
        if python_name in hidden:
            continue
        name = python_name.rstrip("_")
        schema, meta = schema_of(hint)
        if name not in docs:
            raise ValueError(f"process {process_id!r}: parameter {name!r} lacks a description")
        optional = sig.default is not _REQUIRED
        parameters.append(
            ParameterDef(
                name=name,
                python_name=python_name,
                description=docs[name],
                schema=verbatim(process_id, name, schema),
                optional=optional,
                default=sig.default if optional else None,
                show_default=meta.show_default,
                deprecated=meta.deprecated,
            )
        )
    returns_schema, _ = schema_of(hints.get("return", Any))
    return ProcessDef(
        id=process_id,
        function=function,
        summary=summary,
        description=description or summary,
        categories=categories,
        parameters=tuple(parameters),
        returns={
            "description": returns_doc or "The result.",
            "schema": verbatim(process_id, None, returns_schema),
        },
        exceptions=exceptions,
        hidden=hidden,
        experimental=experimental,
        env_parameter=env_parameter,
    )


_SECTION = re.compile(r"^(Args|Returns):\s*$")
_ENTRY = re.compile(r"^(\w+):\s*(.*)$")


def _parse_docstring(function: Callable[..., Any]) -> tuple[str, str, dict[str, str], str]:
    """Split a Google-style docstring into summary, description, Args and Returns."""
    text = inspect.cleandoc(function.__doc__ or "")
    lines = text.splitlines()
    summary = lines[0].strip() if lines else function.__name__
    body: list[str] = []
    args: dict[str, list[str]] = {}
    returns: list[str] = []
    section = ""
    current = ""
    for line in lines[1:]:
        match = _SECTION.match(line)
        if match:
            section = match.group(1)
            continue
        if section == "Args":
            entry = (
                _ENTRY.match(line.strip())
                if line.startswith("    ") and not line.startswith("     ")
                else None
            )
            if entry:
                current = entry.group(1)
                args[current] = [entry.group(2)]
            elif current and line.strip():
                args[current].append(line.strip())
        elif section == "Returns":
            if line.strip():
                returns.append(line.strip())
        else:
            body.append(line)
    description = "\n".join(body).strip().replace("``", "`")
    args_text = {k: " ".join(v).replace("``", "`") for k, v in args.items()}
    return summary.replace("``", "`"), description, args_text, " ".join(returns).replace("``", "`")


class ProcessRegistry:
    """The predefined processes a backend offers, by id.

    ``indexed`` maps ids to entries of the process index (``{"module", "process"}``): such
    a process is listed and described from its entry and its module is imported on the
    first :meth:`get`. ``definitions`` are loaded already and take precedence.
    """

    def __init__(
        self,
        definitions: Mapping[str, ProcessDef] | None = None,
        indexed: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self._definitions: dict[str, ProcessDef] = dict(definitions or {})
        self._indexed: dict[str, Mapping[str, Any]] = {
            pid: entry for pid, entry in (indexed or {}).items() if pid not in self._definitions
        }

    def get(self, process_id: str, namespace: str | None = None) -> ProcessDef:
        """The definition of ``process_id``; raises ``ProcessUnsupported`` when unknown."""
        definition = self._definitions.get(process_id)
        if definition is not None:
            return definition
        if process_id not in self._indexed:
            raise ProcessUnsupported(process=process_id, namespace=namespace or "backend")
        return self._load(process_id)

    def _load(self, process_id: str) -> ProcessDef:
        importlib.import_module(self._indexed[process_id]["module"])
        definition = _DEFINITIONS.get(process_id)
        if definition is None:  # only when process_index.json is stale
            raise LookupError(
                f"process {process_id!r} is not in {self._indexed[process_id]['module']}: "
                "regenerate the index with scripts/process_index.py"
            )
        # The index entry stays: callbacks may ask for the same process from several
        # threads at once, and every one of them must find it.
        self._definitions[process_id] = definition
        return definition

    def load_all(self) -> ProcessRegistry:
        """Import every indexed process now (a server warming up); returns ``self``."""
        for process_id in list(self._indexed):
            if process_id not in self._definitions:
                self._load(process_id)
        return self

    def add(self, definition: ProcessDef) -> None:
        """Add or replace a definition (for tests and plugins)."""
        self._definitions[definition.id] = definition
        self._indexed.pop(definition.id, None)

    def remove(self, process_id: str) -> None:
        """Withdraw a process (e.g. one a deployment does not want to offer)."""
        self._definitions.pop(process_id, None)
        self._indexed.pop(process_id, None)

    def __contains__(self, process_id: object) -> bool:
        return process_id in self._definitions or process_id in self._indexed

    def __iter__(self) -> Iterator[str]:
        return iter(sorted({*self._definitions, *self._indexed}))

    def __len__(self) -> int:
        return len({*self._definitions, *self._indexed})

    def describe(self) -> list[dict[str, Any]]:
        """Metadata of every process, sorted by id, as ``GET /processes`` lists them."""
        return [
            self._definitions[pid].to_dict()
            if pid in self._definitions
            else dict(self._indexed[pid]["process"])
            for pid in self
        ]


def build_index() -> dict[str, dict[str, Any]]:
    """The process index as the typed functions give it now (imports every process module).

    ``scripts/process_index.py`` writes it to ``process_index.json``; a test compares.
    """
    import_all()
    return {
        pid: {"module": definition.function.__module__, "process": definition.to_dict()}
        for pid, definition in sorted(_DEFINITIONS.items())
        if definition.function.__module__.startswith("eostation.engine.processes.")
    }


def default_registry() -> ProcessRegistry:
    """A fresh registry of every process under ``eostation.engine.processes``.

    Processes registered already (modules imported, ``@process`` in tests) are included as
    they are; the others are imported when first asked for.
    """
    return ProcessRegistry(_DEFINITIONS, index_entries())
