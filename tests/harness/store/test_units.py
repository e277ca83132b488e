"""Tests for the one number formatter, the one missing-value test and the one column lookup of the results frame."""
import math

import numpy as np
import pandas as pd
import pytest

from harness.store.columns import column
from harness.store.units import axis_scale, format_stated, format_value, is_missing, plain


@pytest.mark.parametrize("value, unit, text", [
    (1.875e9, "bytes", "1.875 GB"),           # exact quantities keep four significant digits
    (4.194304e9, "bytes", "4.194 GB"),
    (512, "bytes", "512 B"),
    (93.14e9, "params", "93.14B"),
    (2048, "params", "2,048"),
    (131072, "tokens", "131.1K"),
    (2.4e9, "FLOP", "2.4 GFLOP"),
    (1.2345e-4, "s", "123 µs"),               # measured: three
    (0.0, "s", "0 s"),
    (8.0e9, "bytes/s", "8 GB/s"),
    (5.0e10, "FLOP/s", "50 GFLOP/s"),
    (0.025312, "ratio", "0.02531"),
    (12, "", "12"),
    (3.5e7, "", "35M"),
    ("text", "bytes", "text"),
    (None, "bytes", "—"),
    (math.nan, "s", "—"),
])
def test_format_value_writes_each_unit_as_the_documents_do(value, unit, text):
    assert format_value(value, unit) == text


def test_a_stated_range_reads_low_to_high():
    assert format_stated([1.1, 1.15], "ratio") == "1.1 to 1.15" and format_stated(None) == "—"


@pytest.mark.parametrize("value, missing", [(None, True), (math.nan, True), (np.float32("nan"), True),
                                            (pd.NA, True), (0.0, False), ("", False), ([None], False)])
def test_is_missing(value, missing):
    assert is_missing(value) is missing


def test_plain_writes_integral_floats_as_ints():
    assert (plain(128.0), plain(0.5), plain("x")) == (128, 0.5, "x")


def test_axis_scale_puts_the_peak_between_one_and_a_thousand():
    assert axis_scale("bytes", [2e9, 5e8]) == (1e9, "GB") and axis_scale("s", [3e-3]) == (1e-3, "ms")


def test_column_reads_schema_shape_and_dict_keys():
    frame = pd.DataFrame({"case": ["a", "b"], "shape.T": [64, 128],
                          "extra": [{"phase": "prefill"}, {}], "config": [{"d": 8}, {"d": 16}]})
    assert list(column(frame, "case")) == ["a", "b"]
    assert list(column(frame, "T")) == [64, 128] == list(column(frame, "shape.T"))
    for key in ("extra.phase", "phase"):
        phase = column(frame, key)
        assert phase.iloc[0] == "prefill" and is_missing(phase.iloc[1])
    assert list(column(frame, "d")) == [8, 16] == list(column(frame, "config.d"))
    assert column(frame, "nowhere").isna().all() and column(frame, "extra.nowhere").isna().all()
