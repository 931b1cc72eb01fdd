"""Regenerate ``src/eostation/engine/process_index.json`` from the typed process functions.

The index lets the registry list, describe and validate every process without importing
its module (see :mod:`eostation.engine.process_index`). Run it after adding or changing a
process: ``.venv/bin/python scripts/process_index.py`` (``--check`` only reports whether
the file is up to date; ``tests/unit/engine/test_process_index.py`` does the same).
"""

from __future__ import annotations

import sys
from pathlib import Path

from eostation.engine.process_index import INDEX_NAME, render_index
from eostation.engine.registry import build_index

OUT = Path(__file__).resolve().parents[1] / "src" / "eostation" / "engine" / INDEX_NAME


def main(check: bool) -> int:
    text = render_index(build_index())
    if check:
        same = OUT.is_file() and OUT.read_text("utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'stale'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
