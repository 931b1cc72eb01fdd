"""The one list of official process test vectors that eostation does not follow.

``test_vectors.py`` runs every case of ``../shared/specs/openeo-processes/tests``; the
cases named in ``KNOWN`` run too, under a strict ``xfail``: should one of them start to
pass (a fixed vector, or a regression towards the vector in the engine), the suite fails
and this list must be corrected.

Known failures (``KNOWN``): each case below contradicts the process spec, the test
README or its own asset, in a way anyone can check from the files (``KNOWN`` holds the
short reason that pytest shows). Cases of experimental processes are marked (exp.) and do not count
towards the pass rate.

| case | why the vector is wrong |
| --- | --- |
| lte-15 | expects ``lte(inf, inf)`` false; lte "compares whether x is less than or equal to y", and the eq/gte vectors give ``eq(inf, inf)`` = ``gte(inf, inf)`` = true |
| product-10 | expects NaN for ``[1, -inf, 3, inf]``; the spec says products "follow IEEE Standard 754", which gives ``-inf`` (no factor is 0), and product-9 gives ``-inf`` for ``[1, -inf, 3]`` |
| array_append-0 | expects ``[1]`` after appending 0 to ``[]``; the process "appends a value to the end of the array" |
| array_apply-8 | its callback calls ``mulitply``, a process that does not exist (``required`` names ``multiply``); even with ``multiply`` it expects 6.45 where (-4.725 + 1.5) * 2 = -6.45 |
| array_element-3 | asks for label ``BO2`` (letter O) of ``[B01, B02, B03]`` and expects 5; the spec throws ``ArrayElementNotAvailable`` for an invalid label (as array_element-8 expects for ``BO4``) |
| array_filter-0 | its condition calls ``gt`` without the required ``y``; tests/README.md: "input that is not valid according to the process schema must be rejected upfront" |
| array_filter-5 | its condition is ``subtract(x, 1)``: 0.23 for B01 and -0.02 for B02, neither ``true`` ("only the array elements for which the condition returns ``true`` are preserved") and both non-zero, yet only B01 is kept; ``required`` names ``gt``, and with ``gt(x, 1)`` the case passes |
| array_find-6 | expects index 1 for value 3 of ``[3, 4]``; the process returns "the zero-based index of the first occurrence" (array_find-3 gives 0 for the first element) |
| array_modify-3 (exp.) | removes one element with ``length`` omitted, which needs a default of 1; array_modify-2 inserts with ``length`` omitted, which needs 0, the spec's default (CHANGELOG: "Change the default value for ``length`` from ``1`` to ``0``"); the spec's example "Remove a single value" still assumes 1 |
| normalized_difference-3 | passes null for ``x`` whose schema is ``number`` only (the one vector in the suite passing null where the schema has no null); tests/README.md: such input "must be rejected upfront" |
| apply-2, apply_dimension-1, reduce_dimension-1 | expect blue=165 at (y0, x3) of ``assets/xyb-minimal-int.json5`` (1650, median 192, 192/165); the asset holds 255 there, its ``nodata``; with 165 in the asset all three pass |
| apply_dimension-2 | applies over ``bands`` on ``xyt-more-timestamps`` (dimensions t, y, x) and expects min/mean/max over ``t``; the spec: "fails with a DimensionNotAvailable exception if the specified dimension does not exist" |
| filter_bands-4 | filters ``[red, blue]`` but expects the bands ``[blue, green]`` (with their data); filter_bands-3 has the same arguments and expects ``[red, blue]``; "the order of the specified array defines the order of the bands" |
| mask-0, mask-2 | replace where ``xyb-mask`` is 0 and keep where it is 1 (e.g. y0, x0: mask 1, 172 kept); mask replaces pixels "whose pixels in mask are non-zero (for numbers) or true". mask-2 is not even consistent with the inverted reading: at (y2, x2), mask 1, it expects ``-1`` |
| mask-1 | references ``assets/xyb-minimal-float.json5``, which does not exist (its expected cube is ``xyt-minimal-float`` masked where ``xyb-mask`` is 0, as in mask-0) |
| mask_polygon-0, mask_polygon-1 | the polygon (16.1–16.6 °E, 48.1–48.6 °N, Vienna) misses the cube (EPSG:25832 x 404835–404865, y 5757475–5757495: 7.615 °E, 51.96 °N, Münster), yet ``inside=true`` expects every pixel replaced and ``inside=false`` none; mask_polygon-6 (``inside=true`` replaces the pixels inside) agrees with the spec |
| mask_polygon-6 | ``xytb-s2-small-masked-inside`` keeps 4 pixels inside the polygon (nir, 2020-06-13, y 5757475, x 404865–404895; centres at 51.959823 °N, inside 51.959822–51.960054) that it masks in the other 23 band/date slices; ``-masked-outside`` treats them as inside in all 24 |
| rename_dimension-3, rename_dimension-4 | rename ``x`` → ``lon`` (``y`` → ``lat``), but the expected cube renames the other axis: ``lon`` carries the y axis and labels while ``x`` is still there |
| rename_labels-5, rename_labels-7 | omit ``target``, which the spec requires (not ``optional``); their ``source`` labels (``red`` …) are not among the cube's labels ``0, 1, 2`` either (``LabelNotAvailable``); given as ``target`` instead, both pass |
| aggregate_temporal-5, -6, -7, -8, -9 | aggregate January 2020 intervals of ``xyt-more-timestamps``, whose dates are 2020-06-01 … 06-09 (the filter_temporal and merge_cubes vectors use those June dates); the expected values are those of dates 2020-01-01, -03, -05, -07, -09 (with those, 8 passes). 5, 6, 7 and 9 also round to 2–3 decimals without a ``delta`` (e.g. 56.07 for 168.22 / 3), and 9 puts ``labels`` inside the reducer |
| aggregate_temporal-10 | its reducer is ``mean`` but the expected values are medians (``required`` lists ``median``; with ``median`` it passes) |
| aggregate_temporal_period-3 | ``hour`` over 00:00–04:00 of 2020-06-01 spans five hours, labelled ``2020-06-01-00`` … ``-04`` by the spec (02 and 03 empty); the vector expects four labels ``2020-06-01-00`` … ``2020-06-04-00`` (the day case's shape) |
| aggregate_temporal_period-4 | ``day`` labels are ``YYYY-001`` – ``YYYY-365`` by the spec (``2020-153`` …); the vector expects ``2020-06-01-00`` …, the hour format (its values match ours) |
| aggregate_temporal_period-8, -9 | aggregate the dimension ``t2`` and expect it renamed to ``t``; the spec: "the dimension properties (name, …) remain unchanged" except labels and resolution, and aggregate_temporal_period-7 keeps ``t2`` (labels and values match ours) |

Non-JSON literals (``NON_JSON_LITERALS``), a spec ambiguity rather than a failure: the
tests README says the JSON Schema type ``number`` "explicitly includes the values
``+Infinity``, ``-Infinity`` and ``NaN``" and writes the vectors in JSON5 for that
reason, but a process graph travels over the openEO API as JSON (RFC 8259), which has no
such literals. The cases below pass ``NaN``/``±Infinity`` as an argument or expect one as
the result (in a value or a cube's data or ``nodata``). They run here in-process like
every other case (the few that also appear in ``KNOWN`` fail for the reason given
there); a client can only reach these values through processes that produce them
(``nan()``, ``divide(1, 0)`` …). ``test_non_json_list_matches_the_vectors`` keeps this
list in step with the files.
"""

from __future__ import annotations

__all__ = ["KNOWN", "NON_JSON_LITERALS"]

# (process id, case index) -> why we deliberately differ from the vector.
KNOWN: dict[tuple[str, int], str] = {
    ("lte", 15): "expects inf <= inf false; eq(inf, inf) and gte(inf, inf) are true",
    ("product", 10): "expects NaN for 1 * -inf * 3 * inf; IEEE 754 (the spec) gives -inf",
    ("array_append", 0): "expects [1] after appending 0 to []",
    ("array_apply", 8): "calls the non-existent process 'mulitply'; expects 6.45 for -6.45",
    ("array_element", 3): "looks up label 'BO2' (letter O), expects the value of 'B02'",
    ("array_filter", 0): "its condition calls gt without the required y (rejected upfront)",
    ("array_filter", 5): "its condition returns 0.23 and -0.02 (not true), yet keeps B01 only",
    ("array_find", 6): "expects index 1 for the value at (zero-based) index 0",
    ("array_modify", 3): "needs length default 1; array_modify-2 and the spec need 0",
    ("normalized_difference", 3): "null x violates the spec schema (number); rejected upfront",
    ("apply", 2): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    ("apply_dimension", 1): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    ("reduce_dimension", 1): "expects blue=165 at (y0, x3); the asset holds 255, its nodata",
    (
        "apply_dimension",
        2,
    ): "dimension 'bands' does not exist: the spec throws DimensionNotAvailable",
    ("filter_bands", 4): "filters [red, blue] (as filter_bands-3) but expects [blue, green]",
    ("mask", 0): "replaces where the mask is 0; the spec replaces where it is non-zero",
    ("mask", 1): "references assets/xyb-minimal-float.json5, which does not exist",
    ("mask", 2): "replaces where the mask is 0; the spec replaces where it is non-zero",
    ("mask_polygon", 0): "polygon near Vienna misses the cube near Münster; expects all replaced",
    ("mask_polygon", 1): "polygon near Vienna misses the cube near Münster; expects none replaced",
    ("mask_polygon", 6): "masked-inside asset leaves 4 in-polygon pixels of one slice unmasked",
    ("aggregate_temporal", 5): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 6): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 7): "January intervals over an asset dated June 2020; values rounded",
    ("aggregate_temporal", 8): "January intervals over an asset dated June 2020",
    ("aggregate_temporal", 9): "January intervals over a June asset; labels inside the reducer",
    ("aggregate_temporal", 10): "the reducer is mean but the expected values are medians",
    ("aggregate_temporal_period", 3): "hour over 00:00-04:00 spans 5 hours; expects 4 day labels",
    ("aggregate_temporal_period", 4): "day labels are YYYY-DDD by the spec; expects YYYY-MM-DD-00",
    ("aggregate_temporal_period", 8): "expects dimension t2 renamed to t; the spec keeps the name",
    ("aggregate_temporal_period", 9): "expects dimension t2 renamed to t; the spec keeps the name",
    ("rename_dimension", 3): "renames x to lon, but the expected cube renames y (keeps x)",
    ("rename_dimension", 4): "renames y to lat, but the expected cube renames x (keeps y)",
    ("rename_labels", 5): "omits the required target (and its source labels do not exist)",
    ("rename_labels", 7): "omits the required target (and its source label does not exist)",
}


# Process id -> indices of its cases with NaN/Infinity literals (see the module docstring).
NON_JSON_LITERALS: dict[str, tuple[int, ...]] = {
    "absolute": (5, 6, 7),
    "add": (6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18),
    "aggregate_temporal": (5, 6, 7, 8, 9, 10),
    "aggregate_temporal_period": (3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    "apply": (0, 1),
    "apply_dimension": (0, 1, 2),
    "apply_kernel": (1, 2, 3, 4, 5, 6),
    "arccos": (5, 6, 7, 8, 9),
    "arcosh": (3, 4, 5, 6, 7),
    "arcsin": (5, 6, 7, 8, 9),
    "arctan": (7, 8, 9),
    "arctan2": (9, 10, 11, 12, 13, 14, 15, 16, 17),
    "array_apply": (1, 3, 8),
    "array_create_labeled": (2,),
    "array_filter": (1, 6),
    "array_interpolate_linear": (1, 2, 5),
    "arsinh": (5, 6, 7),
    "artanh": (3, 4, 5, 6, 7, 8, 9),
    "ceil": (6, 7, 8),
    "clip": (10, 11, 12, 13, 14, 15, 16),
    "constant": (4, 5, 6),
    "cos": (4, 5, 6),
    "cosh": (5, 6, 7),
    "divide": (5, 6, 7, 8, 9, 10, 11),
    "eq": (13, 14, 15, 16, 17),
    "exp": (5, 6, 7),
    "extrema": (3, 4, 5),
    "filter_bbox": (0,),
    "filter_spatial": (0,),
    "filter_temporal": (3, 4, 5),
    "first": (6,),
    "floor": (6, 7, 8),
    "gt": (10, 11, 12, 13, 14, 15),
    "gte": (12, 13, 14, 15, 16, 17),
    "int": (10, 11, 12),
    "is_infinite": (0, 1, 5, 8, 11),
    "is_nan": (2, 3, 4, 7, 10),
    "last": (6,),
    "linear_scale_range": (9, 10, 11, 12, 13, 14, 15, 16),
    "ln": (4, 5, 6, 7, 8),
    "log": (0, 1, 13, 14, 15),
    "lt": (10, 11, 12, 13, 14, 15),
    "lte": (12, 13, 14, 15, 16, 17),
    "mask": (1,),
    "mask_polygon": (0,),
    "max": (3, 4, 5),
    "mean": (3, 4, 5, 6),
    "median": (4, 5),
    "merge_cubes": (3,),
    "min": (3, 4, 5),
    "mod": (6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19),
    "multiply": (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19),
    "nan": (0,),
    "neq": (13, 14, 15, 16, 17),
    "normalized_difference": (4, 5, 6),
    "power": (8, 9, 10, 11, 12, 13, 14, 15, 16),
    "product": (7, 8, 9, 10),
    "quantiles": (2, 3, 7, 8),
    "reduce_dimension": (0, 1),
    "round": (8, 9, 10),
    "sd": (4, 5, 6),
    "sgn": (4, 5, 6),
    "sin": (4, 5, 6),
    "sinh": (5, 6, 7),
    "sqrt": (3, 5, 6, 7),
    "subtract": (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
    "sum": (7, 8, 9, 10),
    "tan": (4, 5, 6),
    "tanh": (4, 5, 6),
    "variance": (5, 6, 7),
}
