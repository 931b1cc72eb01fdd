"""Our process metadata matches the official specs in everything but prose.

Parameter and return schemas are interface and compared whole, titles and
descriptions inside them included; process and parameter descriptions are our own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eostation.engine.processes import CDSE_EXTRA_PROCESSES, EOSTATION_PROCESSES
from eostation.engine.registry import default_registry

REGISTRY = default_registry()


def _spec(specs_dir: Path, process_id: str) -> dict[str, Any]:
    for path in (specs_dir / f"{process_id}.json", specs_dir / "proposals" / f"{process_id}.json"):
        if path.is_file():
            return json.loads(path.read_text())
    assert process_id in CDSE_EXTRA_PROCESSES | EOSTATION_PROCESSES, f"no spec for {process_id!r}"
    pytest.skip(f"{process_id!r} is a CDSE extra or eostation's own process: no official spec")


def _signature(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": p["name"],
            "optional": p.get("optional", False),
            "default": p.get("default", "<none>"),
            "schema": p["schema"],
        }
        for p in parameters
    ]


@pytest.mark.parametrize("process_id", list(REGISTRY))
def test_metadata_matches_spec(process_id: str, specs_dir: Path) -> None:
    ours = REGISTRY.get(process_id).to_dict()
    spec = _spec(specs_dir, process_id)
    assert _signature(ours["parameters"]) == _signature(spec["parameters"])
    assert ours["returns"]["schema"] == spec["returns"]["schema"]
    assert set(ours.get("exceptions", {})) <= set(spec.get("exceptions", {}))


@pytest.mark.parametrize("process_id", list(REGISTRY))
def test_metadata_is_our_own_prose(process_id: str) -> None:
    ours = REGISTRY.get(process_id).to_dict()
    assert ours["summary"] and ours["description"]
    assert all(p["description"] for p in ours["parameters"])


def test_describe_is_sorted_and_complete() -> None:
    described = REGISTRY.describe()
    assert [p["id"] for p in described] == sorted(REGISTRY)
    assert {"id", "description", "parameters", "returns"} <= set(described[0])


def test_cdse_extras_are_registered_and_have_no_official_spec(specs_dir: Path) -> None:
    assert set(REGISTRY) >= CDSE_EXTRA_PROCESSES
    for process_id in CDSE_EXTRA_PROCESSES:
        assert not (specs_dir / f"{process_id}.json").exists()
        assert not (specs_dir / "proposals" / f"{process_id}.json").exists()
        assert REGISTRY.get(process_id).to_dict()["experimental"] is True
