"""Regenerate ``src/eostation/engine/spec_schemas.json`` from the official process specs.

The JSON Schemas of process parameters and return values are interface: clients and
the official test suite compare them with the specs as they are, ``title`` and
``description`` inside them included. This keeps those schemas verbatim (Apache-2.0,
see NOTICE) for every process the registry serves, and only where the texts matter:
a schema without any ``title``/``description`` inside is derived from the signature.

Run: ``.venv/bin/python scripts/spec_schemas.py [../shared/specs/openeo-processes]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eostation.engine.registry import default_registry

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "eostation" / "engine" / "spec_schemas.json"


def _has_text(value: Any) -> bool:
    if isinstance(value, dict):
        return "title" in value or "description" in value or any(map(_has_text, value.values()))
    if isinstance(value, list):
        return any(map(_has_text, value))
    return False


def main(specs: Path) -> None:
    out: dict[str, Any] = {}
    for process_id in sorted(default_registry()):
        for path in (specs / f"{process_id}.json", specs / "proposals" / f"{process_id}.json"):
            if path.is_file():
                spec = json.loads(path.read_text())
                break
        else:
            continue
        entry: dict[str, Any] = {}
        params = {p["name"]: p["schema"] for p in spec["parameters"] if _has_text(p["schema"])}
        if params:
            entry["parameters"] = params
        if _has_text(spec["returns"]["schema"]):
            entry["returns"] = spec["returns"]["schema"]
        if entry:
            out[process_id] = entry
    OUT.write_text(json.dumps(out, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(out)} processes")


if __name__ == "__main__":
    default = ROOT.parent / "shared" / "specs" / "openeo-processes"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
