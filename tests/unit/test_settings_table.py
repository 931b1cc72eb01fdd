"""The settings table in docs/deployment.md is the one generated from the Settings model."""

from __future__ import annotations

from pathlib import Path

from eostation.settings_table import BEGIN, END, markdown, rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def test_every_setting_has_a_row_with_a_meaning() -> None:
    found = {r.env: r for r in rows()}
    for env in (
        "EOSTATION_DATABASE_URL",
        "EOSTATION_STORAGE__RESULTS_URL",
        "EOSTATION_STORAGE__RETRY_SECONDS",
        "EOSTATION_JOBS__MAX_ATTEMPTS",
        "EOSTATION_ISSUER__PRIVATE_KEY",
    ):
        assert env in found
    assert found["EOSTATION_STORAGE__RETRY_SECONDS"].default == "`30.0`"
    assert [r.env for r in rows() if not r.meaning] == []


def test_the_page_holds_the_generated_table() -> None:
    text = DOC.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:stop] == markdown(), "run: python -m eostation.settings_table"
