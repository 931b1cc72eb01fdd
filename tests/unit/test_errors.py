"""``eostation.errors`` against the official lists of openEO error codes.

Every code of the API's ``errors.json`` has its class with the HTTP status given there;
every other class is an exception that a process spec declares, or one of the few codes
eostation adds (listed below with the reason).
"""

from __future__ import annotations

import json

import pytest

import eostation.errors as errors_module
from eostation.errors import OpenEOError
from tests.conftest import shared_path

# Codes that neither the API nor a process spec defines, and why eostation has them.
EOSTATION_SPECIFIC = {
    "RequestInvalid": "a request body or query that fails validation (400)",
    "MethodNotAllowed": "an HTTP method a path does not support (405), still as error JSON",
    "HostNotAllowed": "a Host header naming no name of this server (403, DNS rebinding)",
    "PayloadTooLarge": "a request body over EOSTATION_MAX_REQUEST_BYTES (413)",
    "ServiceUnavailable": "the database stayed locked past its busy budget (503, Retry-After)",
    "StorageUnavailable": "the object store of job results refused a read or write (503)",
    "TooManyRequests": "a rate limit was hit (429, Retry-After)",
    "ItemNotFound": "a catalogue item (STAC API, OData product) that is not there (404)",
    "QueryInvalid": "an OData query option CDSE would refuse (422, FastAPI's shape)",
}


def _classes() -> list[type[OpenEOError]]:
    found: list[type[OpenEOError]] = [OpenEOError]
    for cls in found:
        found += [sub for sub in cls.__subclasses__() if sub.__module__ == errors_module.__name__]
    return found


def _process_exceptions() -> set[str]:
    specs = shared_path("specs", "openeo-processes")
    codes: set[str] = set()
    for path in [*specs.glob("*.json"), *specs.glob("proposals/*.json")]:
        codes |= set(json.loads(path.read_text()).get("exceptions", {}))
    return codes


@pytest.fixture(scope="module")
def api_errors() -> dict[str, dict[str, object]]:
    errors: dict[str, dict[str, object]] = json.loads(
        shared_path("specs", "openeo-api", "errors.json").read_text()
    )
    return errors


def test_every_api_error_code_has_its_class_and_status(
    api_errors: dict[str, dict[str, object]],
) -> None:
    by_code = {cls.code: cls for cls in _classes() if cls is not OpenEOError}
    assert len(api_errors) > 40
    missing = sorted(set(api_errors) - set(by_code))
    assert missing == []
    wrong = {
        code: (by_code[code].status, spec["http"])
        for code, spec in api_errors.items()
        if by_code[code].status != spec["http"]
    }
    assert wrong == {}, "code: (ours, errors.json)"


def test_every_other_code_is_a_process_exception_or_listed(
    api_errors: dict[str, dict[str, object]],
) -> None:
    process_codes = _process_exceptions()
    assert {"DimensionNotAvailable", "LabelNotAvailable"} <= process_codes
    ours = {cls.code for cls in _classes()}
    unexplained = sorted(ours - set(api_errors) - process_codes - set(EOSTATION_SPECIFIC))
    assert unexplained == []
    # A listed exception that turned official (or was removed) must leave the list.
    assert sorted(set(EOSTATION_SPECIFIC) - ours) == []
    assert sorted(set(EOSTATION_SPECIFIC) & (set(api_errors) | process_codes)) == []


def test_one_class_per_code() -> None:
    # Private bases (e.g. _RetryLater) share behaviour, not a code of their own; a subclass
    # that only refines its parent's message (OutboundRefused) keeps the parent's code.
    classes = [
        c
        for c in _classes()
        if c is not OpenEOError and not c.__name__.startswith("_") and c.code != c.__mro__[1].code  # type: ignore[attr-defined]
    ]
    codes = [cls.code for cls in classes]
    assert sorted(c for c in set(codes) if codes.count(c) > 1) == []
    # Each class is exported, so callers and this test see the same set.
    assert {cls.__name__ for cls in classes} <= set(errors_module.__all__)
