"""Evaluation of openEO process graphs.

Design
------
A graph is parsed once (:func:`eostation.engine.graph.parse`) and evaluated in
dependency order, restricted to the ancestors of the result node; each node runs once.
Arguments are resolved recursively: ``{"from_node"}`` takes an earlier node's value,
``{"from_parameter"}`` looks the name up in the scope (the callback's parameters, then
the enclosing graphs'), and ``{"process_graph"}`` becomes a :class:`ChildGraph` — a plain
Python callable that the process implementation calls with keyword arguments.

Callbacks are vectorised. A cube process never calls a callback per pixel; it calls it
once with whole arrays:

- ``apply(data=cube, process=f)`` calls ``f(x=cube, context=...)`` with the whole cube;
  element-wise processes (``add``, ``gt``, ``if``, ...) broadcast over xarray/dask.
- ``reduce_dimension(data=cube, dimension="t", reducer=f)`` calls
  ``f(data=LabeledArray(cube, "t"), context=...)``. A :class:`LabeledArray` is "an
  array along ``t``, batched over every other dimension"; array and statistics
  processes (``mean``, ``quantiles``, ``array_element``, ``first``, ...) reduce or
  select along ``dim`` and return an ``xarray.DataArray`` without it.
- ``apply_dimension`` gets a ``LabeledArray`` back when the callback keeps the dimension.

The same process functions accept plain Python lists and scalars, as in the spec
examples. Errors raised while a node runs surface as :class:`OpenEOError` naming the
node and the process; user-defined processes run as isolated sub-graphs with their own
parameters (defaults applied), guarded against recursion.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from eostation.engine.context import Cancelled, EvalContext
from eostation.engine.graph import (
    PREDEFINED_NAMESPACES,
    ProcessGraph,
    check_complexity,
    flat_graph,
    parse,
    references,
)
from eostation.engine.pushdown import push_down
from eostation.engine.validation import validate
from eostation.errors import (
    Internal,
    OpenEOError,
    ProcessGraphComplexity,
    ProcessGraphInvalid,
    ProcessParameterInvalid,
    ProcessParameterRequired,
    ProcessParameterUnsupported,
    ProcessUnsupported,
)

__all__ = ["MAX_UDP_DEPTH", "ChildGraph", "evaluate"]

_log = logging.getLogger("eostation.engine")

MAX_UDP_DEPTH = 32
"""How deeply user-defined processes may call each other."""

_MISSING: Any = object()


@dataclass
class _Session:
    """What one top-level evaluation shares across callbacks and user-defined processes.

    ``parsed`` keeps each child graph parsed once (keyed by the identity of its JSON
    object, which ``keep`` holds alive); ``calls`` memoises user-defined process calls
    by process and argument identity, so a process that calls another twice with the
    same values costs one call, not two, at every level; ``evaluations`` counts node
    runs against ``EngineLimits.graph_max_evaluations``. Shared by reference: a
    ``replace``d session (deeper UDP stack) still counts into the same figures.
    """

    env: EvalContext
    remote: dict[str, dict[str, Any]] = field(default_factory=dict)
    udp_stack: tuple[str, ...] = ()
    parsed: dict[int, ProcessGraph] = field(default_factory=dict)
    calls: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    keep: list[Any] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=lambda: [0])
    own: dict[str, bool] = field(default_factory=dict)

    def user_defines(self, process_id: str) -> bool:
        """Whether the user stored a process ``process_id`` that a null namespace prefers.

        The API prefers user-defined over predefined processes when the namespace is
        null; inside that very process the id means the predefined one again (a UDP
        that wraps ``efast`` or adds a missing process for portability).
        """
        if process_id in self.udp_stack:
            return False
        if process_id not in self.own:
            self.own[process_id] = self.env.udp(process_id) is not None
        return self.own[process_id]

    def parse(self, graph: Mapping[str, Any]) -> ProcessGraph:
        """``graph`` parsed, once per evaluation."""
        key = id(graph)
        if key not in self.parsed:
            self.parsed[key] = parse(graph)
            self.keep.append(graph)
        return self.parsed[key]

    def count(self) -> None:
        """One more node run; ``ProcessGraphComplexity`` beyond the limit."""
        self.evaluations[0] += 1
        limit = self.env.limits.graph_max_evaluations
        if self.evaluations[0] > limit:
            raise ProcessGraphComplexity(
                message=f"The process graph is too complex: it expands to more than {limit:,} "
                "process runs (callbacks or user-defined processes called over and over). "
                "Simplify it (the limit is EOSTATION_LIMITS__GRAPH_MAX_EVALUATIONS).",
                reason="too many process runs",
            )


def evaluate(
    graph: Mapping[str, Any],
    env: EvalContext,
    arguments: Mapping[str, Any] | None = None,
    *,
    check: bool = True,
) -> Any:
    """Evaluate ``graph`` (nodes, or ``{"process_graph": ..., "parameters": ...}``).

    ``arguments`` are values for the graph's parameters (declared defaults fill gaps).
    With ``check`` the graph is validated first and the first problem is raised.
    """
    declared = graph.get("parameters") if "process_graph" in graph else None
    scope = _apply_defaults(declared or [], dict(arguments or {}), process_id=None)
    check_complexity(graph, env.limits)
    if check:
        problems = validate(
            graph, env.registry, parameters=set(scope) | _names(declared), udp=env.udp
        )
        if problems:
            raise problems[0]
    return _Run(push_down(parse(graph), scope), scope, _Session(env)).result()


def _names(declared: Any) -> set[str]:
    return {p["name"] for p in declared or [] if isinstance(p, Mapping) and "name" in p}


def _apply_defaults(
    declared: list[dict[str, Any]], arguments: dict[str, Any], process_id: str | None
) -> dict[str, Any]:
    scope = dict(arguments)
    for param in declared:
        name = str(param.get("name"))
        if name in scope:
            continue
        if "default" in param:
            scope[name] = param["default"]
        elif param.get("optional"):
            scope[name] = None
        elif process_id is not None:
            raise ProcessParameterRequired(process=process_id, parameter=name)
    return scope


class ChildGraph:
    """A callback argument as a callable: ``f(**parameters) -> value of its result node``."""

    def __init__(self, graph: ProcessGraph, scope: Mapping[str, Any], session: _Session) -> None:
        self._graph = graph
        self._scope = scope
        self._session = session
        self.parameters = frozenset(
            name for node in graph.nodes.values() for name in _parameter_refs(node.arguments)
        )

    def __call__(self, **arguments: Any) -> Any:
        """Evaluate the child graph with these parameter values (outer ones stay visible)."""
        return _Run(self._graph, {**self._scope, **arguments}, self._session).result()

    def single_process(self) -> tuple[str, Mapping[str, Any]] | None:
        """``(process_id, raw arguments)`` when the graph is one node, else None.

        Lets a cube process recognise a reducer it has a fast path for (``mean(data)``);
        arguments are unresolved (literals and ``{"from_parameter"}`` references).
        """
        if len(self._graph.nodes) != 1:
            return None
        node = self._graph.nodes[self._graph.result]
        if node.namespace not in (None, *PREDEFINED_NAMESPACES):
            return None
        return node.process_id, node.arguments

    @property
    def graph(self) -> ProcessGraph:
        """The parsed child graph (for cube processes that compile it, see
        :mod:`eostation.engine.fused`)."""
        return self._graph

    @property
    def scope(self) -> Mapping[str, Any]:
        """The parameter values of the enclosing graphs visible to the child graph."""
        return self._scope

    def __repr__(self) -> str:
        return f"ChildGraph(result={self._graph.result!r}, parameters={sorted(self.parameters)})"


def _parameter_refs(value: Any) -> set[str]:
    return set(references(dict(value), "from_parameter"))


class _Run:
    """One evaluation of one graph in one scope."""

    def __init__(self, graph: ProcessGraph, scope: Mapping[str, Any], session: _Session) -> None:
        self.graph = graph
        self.scope = scope
        self.session = session
        self.values: dict[str, Any] = {}

    def result(self) -> Any:
        for node_id in self.graph.order:
            if self.session.env.cancelled():
                raise Cancelled()
            self.session.count()
            node = self.graph.nodes[node_id]
            try:
                self.values[node_id] = self._run_node(node_id)
            except Cancelled:
                raise
            except OpenEOError as err:
                raise _in_node(err, node_id, node.process_id) from None
            except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
                # Usually arguments the process cannot work with; possibly a bug of ours,
                # so the server log keeps the traceback.
                _log.info("process %s failed", node.process_id, exc_info=True)
                raise _in_node(
                    ProcessParameterInvalid(
                        message=(
                            f"Process '{node.process_id}' cannot work with its arguments "
                            f"({type(exc).__name__}: {exc}). Check the argument values; if "
                            "they are valid, please report this as a bug."
                        ),
                        process=node.process_id,
                    ),
                    node_id,
                    node.process_id,
                ) from exc
            except Exception as exc:
                raise _in_node(
                    Internal(message=f"{type(exc).__name__}: {exc}"), node_id, node.process_id
                ) from exc
        return self.values[self.graph.result]

    def _run_node(self, node_id: str) -> Any:
        node = self.graph.nodes[node_id]
        arguments = {name: self._resolve(value) for name, value in node.arguments.items()}
        env = self.session.env
        namespace = node.namespace
        predefined = namespace in PREDEFINED_NAMESPACES or (
            namespace is None and not self.session.user_defines(node.process_id)
        )
        if predefined:
            if node.process_id in env.registry:
                definition = env.registry.get(node.process_id)
                _check_arguments(definition.id, arguments, definition)
                if definition.env_parameter is not None:
                    env = replace(env, node_id=node_id)
                return definition.call(arguments, env)
            if namespace is not None:
                raise ProcessUnsupported(process=node.process_id, namespace=namespace)
        key = (namespace, node.process_id, *sorted((k, id(v)) for k, v in arguments.items()))
        if key not in self.session.calls:
            stored = self._lookup_udp(node.process_id, namespace)
            self.session.keep.append(arguments)  # the ids in the key stay theirs
            self.session.calls[key] = _call_udp(stored, arguments, self.session)
        return self.session.calls[key]

    def _lookup_udp(self, process_id: str, namespace: str | None) -> dict[str, Any]:
        if namespace is not None and namespace.startswith(("http://", "https://")):
            return _fetch_remote(process_id, namespace, self.session)
        stored = self.session.env.udp(process_id)
        if stored is None:
            raise ProcessUnsupported(process=process_id, namespace=namespace or "backend")
        return stored

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if "from_node" in value:
                return self.values[value["from_node"]]
            if "from_parameter" in value:
                name = value["from_parameter"]
                found = self.scope.get(name, _MISSING)
                if found is _MISSING:
                    raise ProcessParameterRequired(process="(graph)", parameter=name)
                return found
            if isinstance(value.get("process_graph"), Mapping):
                return ChildGraph(self.session.parse(value), self.scope, self.session)
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value


def _check_arguments(process_id: str, arguments: Mapping[str, Any], definition: Any) -> None:
    for name in arguments:
        if not definition.accepts(name):
            raise ProcessParameterUnsupported(process=process_id, parameter=name)
    for param in definition.parameters:
        if not param.optional and param.name not in arguments:
            raise ProcessParameterRequired(process=process_id, parameter=param.name)


def _call_udp(stored: Mapping[str, Any], arguments: dict[str, Any], session: _Session) -> Any:
    process_id = str(stored.get("id", "?"))
    if process_id in session.udp_stack:
        chain = " → ".join([*session.udp_stack, process_id])
        raise ProcessGraphInvalid(reason=f"user-defined process calls itself recursively ({chain})")
    if len(session.udp_stack) >= MAX_UDP_DEPTH:
        raise ProcessGraphInvalid(reason=f"user-defined processes nest deeper than {MAX_UDP_DEPTH}")
    declared = stored.get("parameters") or []
    known = _names(declared)
    for name in arguments:
        if name not in known:
            raise ProcessParameterUnsupported(process=process_id, parameter=name)
    scope = _apply_defaults(declared, arguments, process_id)
    if not isinstance(stored.get("process_graph"), Mapping):
        raise ProcessGraphInvalid(
            reason=f"user-defined process '{process_id}' has no process graph"
        )
    inner = replace(session, udp_stack=(*session.udp_stack, process_id))
    inner.env = replace(session.env, depth=len(inner.udp_stack))
    check_complexity(stored, session.env.limits)
    graph = push_down(session.parse(flat_graph(stored)), scope)
    return _Run(graph, scope, inner).result()


def _fetch_remote(process_id: str, url: str, session: _Session) -> dict[str, Any]:
    """A process definition published at ``url``: one process, or ``{"processes": [...]}``."""
    if url not in session.remote:
        import httpx  # here: only a remote process definition needs it

        try:
            with session.env.limits.outbound.client(timeout=20) as http:
                response = http.get(url)
            response.raise_for_status()
            session.remote[url] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProcessUnsupported(process=process_id, namespace=url) from exc
    document = session.remote[url]
    candidates = document.get("processes", [document]) if isinstance(document, dict) else document
    for candidate in candidates if isinstance(candidates, list) else []:
        if isinstance(candidate, dict) and candidate.get("id") == process_id:
            return candidate
    raise ProcessUnsupported(process=process_id, namespace=url)


def _in_node(err: OpenEOError, node_id: str, process_id: str) -> OpenEOError:
    """Name the failing node in the message, once (the innermost node wins)."""
    if "node_id" in err.params:
        return err
    err.params.update(node_id=node_id, process_id=process_id)
    err.message = f"{err.message} [node '{node_id}', process '{process_id}']"
    err.args = (err.message,)
    return err
