"""Pushdown: narrow what ``load_collection`` reads to what the graph goes on to keep.

Before evaluation, :func:`push_down` looks at every ``load_collection`` node of the
top-level graph and at the nodes that consume its cube. When *every* use of the cube
passes through a filter (``filter_bbox``, ``filter_temporal``, ``filter_bands``, or a
process registered with :func:`register_rule`), the load's own arguments are narrowed
to the union of what those filters keep. The filters stay in the graph, so the result
is exactly the same; only less data is read.

Rules (one per process id) turn a consumer's *literal* arguments into a
:class:`Narrowing` (bbox, time interval, bands; ``None`` = no constraint). Callback
arguments (a ``reducer``) are not shown to rules, and ``{"from_parameter"}`` references
are replaced by the values the graph is evaluated with (a user-defined process's
arguments), so ``aggregate_spatial(geometries=<parameter>, reducer="mean")`` narrows too.
Along a chain of pass-through filters (load → filter_bbox → filter_temporal) the
constraints combine (intersection); across several consumers they are united; any
consumer without a rule, a node reference as argument, or the cube being the graph's
result leaves the load alone.

A load's extent is only rewritten where the change is exact: a bbox when the load has
none or uses the same CRS as the filters, a time interval by intersection, bands when
the load has none or already lists every band the filters name. A rule may mark its
bbox inexact (``mask_polygon`` keeps the cube's extent, nulls outside the polygons):
such a bbox only fills in a load that has no spatial extent at all, which would
otherwise be refused as the whole Earth (CDSE narrows these loads the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from eostation.engine.graph import Node, ProcessGraph, is_reference, references
from eostation.engine.narrowing import (
    BAND_NEEDS,
    RULES,
    Narrowing,
    Rule,
    extent_bbox,
    intersect,
    later,
    register_band_needs,
    register_rule,
    union,
)

# The rule API is re-exported: process modules register their rules through this module.
__all__ = ["Narrowing", "Rule", "push_down", "register_band_needs", "register_rule"]


# -- the pass ------------------------------------------------------------------------------


def _literal(value: Any) -> bool:
    if is_reference(value):
        return False
    if isinstance(value, Mapping):
        return all(_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(_literal(v) for v in value)
    return True


_UNKNOWN = object()


def _substitute(value: Any, scope: Mapping[str, Any]) -> Any:
    """``value`` with parameter references replaced by their values in ``scope``.

    Returns ``_UNKNOWN`` when a reference stays (a node result, an unknown parameter, or
    a parameter holding something other than plain JSON, such as a cube).
    """
    if isinstance(value, Mapping):
        if "from_parameter" in value:
            found = scope.get(str(value["from_parameter"]), _UNKNOWN)
            return found if found is _UNKNOWN or _plain(found) else _UNKNOWN
        if is_reference(value):
            return _UNKNOWN
        items = {k: _substitute(v, scope) for k, v in value.items()}
        return _UNKNOWN if _UNKNOWN in items.values() else items
    if isinstance(value, list):
        listed = [_substitute(v, scope) for v in value]
        return _UNKNOWN if any(v is _UNKNOWN for v in listed) else listed
    return value


def _plain(value: Any) -> bool:
    """Whether ``value`` is JSON data (no cube, no callable)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _is_callback(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("process_graph"), Mapping)


class _Pass:
    def __init__(self, graph: ProcessGraph, scope: Mapping[str, Any]) -> None:
        self.graph = graph
        self.scope = scope
        self.uses: dict[str, list[tuple[str, str]]] = {n: [] for n in graph.nodes}
        for node in graph.nodes.values():
            for name, value in node.arguments.items():
                for source in references(value, "from_node"):
                    if source in self.uses:
                        self.uses[source].append((node.id, name))
        self.memo: dict[str, Narrowing] = {}

    def need(self, node_id: str) -> Narrowing:
        """What the rest of the graph keeps of the value of ``node_id``."""
        if node_id not in self.memo:
            self.memo[node_id] = Narrowing()  # guards against cycles
            self.memo[node_id] = self._need(node_id)
        return self.memo[node_id]

    def _need(self, node_id: str) -> Narrowing:
        uses = self.uses[node_id]
        if node_id == self.graph.result or not uses:
            return Narrowing()
        kept: list[Narrowing] = []
        for consumer_id, argument in uses:
            consumer = self.graph.nodes[consumer_id]
            rule = RULES.get(consumer.process_id)
            if rule is None or argument != rule.argument:
                return Narrowing()
            # A callback's references are its own parameters: rules never read callbacks.
            others = _substitute(
                {
                    k: v
                    for k, v in consumer.arguments.items()
                    if k != argument and not _is_callback(v)
                },
                self.scope,
            )
            if others is _UNKNOWN:
                return Narrowing()
            own = rule.narrowing(others)
            if own is None:
                return Narrowing()
            downstream = self.need(consumer_id) if rule.passes_through else Narrowing()
            kept.append(intersect(own, downstream))
        return union(kept)


def _narrow_load(node: Node, keep: Narrowing, scope: Mapping[str, Any]) -> Node:
    arguments = dict(node.arguments)
    extent = arguments.get("spatial_extent")
    if keep.bbox is not None and _substitute(extent, scope) is None:
        arguments["spatial_extent"] = dict(
            zip(("west", "south", "east", "north"), keep.bbox, strict=True)
        ) | {"crs": keep.crs}
    elif (
        keep.bbox is not None
        and keep.exact
        and _literal(extent)
        and isinstance(extent, Mapping)
        and "west" in extent
        and (extent.get("crs") or 4326) == keep.crs
    ):
        own = Narrowing(bbox=extent_bbox(extent), crs=keep.crs)
        box = intersect(own, keep).bbox
        if box is not None and box[0] < box[2] and box[1] < box[3]:
            arguments["spatial_extent"] = {
                **extent,
                **dict(zip(("west", "south", "east", "north"), box, strict=True)),
            }
    temporal = arguments.get("temporal_extent")
    if keep.temporal is not None and _literal(temporal):
        own_t = tuple(temporal) if isinstance(temporal, list) and len(temporal) == 2 else None
        start, end = keep.temporal
        if own_t is not None:
            start = later(own_t[0], start, True)
            end = later(own_t[1], end, False)
        if start is None or end is None or pd.Timestamp(start) < pd.Timestamp(end):
            arguments["temporal_extent"] = [start, end]
    bands = arguments.get("bands")
    if keep.bands is not None and _literal(bands):
        if bands is None:
            arguments["bands"] = list(keep.bands)
        elif isinstance(bands, list) and set(keep.bands) <= set(bands):
            arguments["bands"] = [b for b in bands if b in keep.bands]
    return replace(node, arguments=arguments)


def push_down(graph: ProcessGraph, scope: Mapping[str, Any] | None = None) -> ProcessGraph:
    """``graph`` with every ``load_collection`` narrowed to what its consumers keep.

    ``scope`` holds the values of the graph's parameters (those of a user-defined
    process call); plain-JSON values stand in for their references.

    Mostly an optimisation: should the analysis itself fail on an unusual graph, the
    graph is returned unchanged (the evaluation then reports any real problem).
    """
    try:
        return _push_down(graph, scope or {})
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return graph


def _push_down(graph: ProcessGraph, scope: Mapping[str, Any]) -> ProcessGraph:
    loads = [
        n
        for n in graph.nodes.values()
        if n.process_id == "load_collection" and n.namespace in (None, "backend")
    ]
    if not loads:
        return graph
    survey = _Pass(graph, scope)
    nodes = dict(graph.nodes)
    for node in loads:
        keep = survey.need(node.id)
        if keep != Narrowing():
            nodes[node.id] = _narrow_load(node, keep, scope)
        nodes[node.id] = _add_needed_bands(nodes[node.id], survey)
    return replace(graph, nodes=nodes)


def _add_needed_bands(node: Node, survey: _Pass) -> Node:
    bands = node.arguments.get("bands")
    uses = survey.uses[node.id]
    if not isinstance(bands, list) or not uses or node.id == survey.graph.result:
        return node
    needed: list[str] = []
    for consumer_id, argument in uses:
        consumer = survey.graph.nodes[consumer_id]
        entry = BAND_NEEDS.get(consumer.process_id)
        if entry is None or entry[0] != argument:
            return node
        others = _substitute(
            {k: v for k, v in consumer.arguments.items() if k != argument}, survey.scope
        )
        if others is _UNKNOWN:
            return node
        needed += [b for b in entry[1](others) if b not in bands and b not in needed]
    if not needed:
        return node
    return replace(node, arguments={**node.arguments, "bands": [*bands, *needed]})
