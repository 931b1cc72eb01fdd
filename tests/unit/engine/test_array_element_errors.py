"""array_element names the parameter that failed: a missing label is the label's fault."""

from __future__ import annotations

import pytest

from eostation.engine.labeled import LabeledArray
from eostation.engine.processes.arrays import array_element
from eostation.errors import OpenEOError


def test_missing_label_reports_the_label_and_the_labels_there_are() -> None:
    data = LabeledArray.from_values([4, 5, 6], ["B01", "B02", "B03"])
    with pytest.raises(OpenEOError) as err:
        array_element(data, label="BO2")
    assert err.value.params["exception"] == "ArrayElementNotAvailable"
    assert err.value.params["parameter"] == "label"
    assert "'BO2'" in err.value.message and "B02" in err.value.message
    assert array_element(data, label="BO2", return_nodata=True) is None
