"""The process index: what the registry knows without importing the process modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from eostation.engine import registry as registry_module
from eostation.engine.process_index import INDEX_NAME, index_entries, render_index
from eostation.engine.registry import ProcessRegistry, build_index, default_registry
from eostation.errors import ProcessUnsupported

INDEX = Path(registry_module.__file__).with_name(INDEX_NAME)


def test_the_stored_index_is_what_the_typed_functions_give() -> None:
    assert INDEX.read_text("utf-8") == render_index(build_index()), (
        "process_index.json is stale: run scripts/process_index.py"
    )


def test_a_lazy_registry_lists_and_describes_like_a_loaded_one() -> None:
    lazy = ProcessRegistry({}, index_entries())
    loaded = default_registry().load_all()
    assert list(lazy) == list(loaded) and len(lazy) == len(loaded) > 140
    assert "ndvi" in lazy and "no_such_process" not in lazy
    # Byte for byte as /processes serialises it: the index keeps the key order.
    assert json.dumps(lazy.describe()) == json.dumps(loaded.describe())


def test_get_imports_the_module_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_probe_module.py").write_text(
        "from eostation.engine.registry import process\n\n"
        "@process('_lazy_probe')\n"
        "def lazy_probe(x: float) -> float:\n"
        '    """Twice x.\n\n    Args:\n        x: A number.\n\n    Returns:\n        2x.\n    """\n'
        "    return 2 * x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = {"module": "lazy_probe_module", "process": {"id": "_lazy_probe", "summary": "s"}}
    registry = ProcessRegistry({}, {"_lazy_probe": entry})
    try:
        assert registry.describe() == [{"id": "_lazy_probe", "summary": "s"}]
        assert "lazy_probe_module" not in sys.modules  # listing and describing import nothing
        definition = registry.get("_lazy_probe")
        assert "lazy_probe_module" in sys.modules
        assert definition.call({"x": 3.5}, None) == 7.0  # type: ignore[arg-type]
        assert registry.get("_lazy_probe") is definition
        assert registry.describe()[0]["parameters"][0]["name"] == "x"  # now from the function
    finally:
        registry_module._DEFINITIONS.pop("_lazy_probe", None)
        sys.modules.pop("lazy_probe_module", None)


def test_a_stale_entry_says_how_to_regenerate_the_index() -> None:
    registry = ProcessRegistry({}, {"_gone": {"module": "json", "process": {"id": "_gone"}}})
    with pytest.raises(LookupError, match=r"'_gone' is not in json.*scripts/process_index.py"):
        registry.get("_gone")


def test_removed_and_unknown_processes_are_unsupported() -> None:
    registry = default_registry()
    registry.remove("ndvi")
    assert "ndvi" not in registry and "ndvi" not in {p["id"] for p in registry.describe()}
    for process_id in ("ndvi", "no_such_process"):
        with pytest.raises(ProcessUnsupported):
            registry.get(process_id)
