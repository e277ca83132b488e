"""The sketches suite and the coverage claims: a run of the two fixture/sketch suites yields valid rows, and every
claim of the `<doc>_coverage.toml` files that reads those suites finds its rows and gets the verdict the re-implemented
sketches and published configs give (the integration block and GLM-130B's SwiGLU refuted, the rest holding)."""
from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from harness.claims.model import Status, evaluate
from harness.runner import complete_row
from harness.store.metrics import metric
from harness.store.results import ResultStore, load_frame
from harness.suite import Context
from archbench.report_inputs import load_all_claims
from suites import DOCUMENTS_DIR, public_models, sketches

OWN = ("public_models", "sketches")
RUN_ID = "0001_nogit_20250101-000000"


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> pd.DataFrame:
    """The two suites' rows, run and stored as a run does, read back as the results frame."""
    ctx = Context(run_id=RUN_ID, profile="smoke")
    store = ResultStore(tmp_path_factory.mktemp("results"), RUN_ID)
    for suite in (public_models, sketches):
        for unit in suite.SUITE.plan(ctx):
            for fields in unit.run(ctx):
                row = complete_row(suite.SUITE, ctx, fields)
                assert metric(row.metric) and row.status == "ok"
                store.append(row)
    return load_frame(store.run_dir)


def coverage_claims():
    ids = {t["id"] for p in DOCUMENTS_DIR.glob("*/claims_coverage.toml") for t in tomllib.loads(p.read_text())["claim"]}
    return [c for c in load_all_claims() if c.id in ids and set(c.suites) & set(OWN)]


def test_sketch_rows_cover_every_unit(frame):
    sketch = frame[frame.suite == "sketches"]
    assert set(sketch.measure) == {"formula_vs_published", "norm_preserved", "components_called", "prefix_order",
                                   "gradient_checkpointing", "lr_schedule", "gradient_clipping",
                                   "gradient_accumulation", "signal_scale"}
    assert (sketch.device == "cpu").all()


def test_coverage_claims_on_the_new_suites_are_judged_as_expected(frame):
    claims = coverage_claims()
    assert len(claims) >= 30
    verdicts = {v.claim.id: v.status for v in evaluate(claims, frame)}
    refuted = {"000-novel-components", "001-swiglu-used-in-glm-130b", "001-integration-all-components",
               "001-integration-positions"}
    assert {i for i, s in verdicts.items() if s is Status.REFUTED} == refuted
    assert all(s in (Status.HOLDS, Status.ASSUMPTION) for i, s in verdicts.items() if i not in refuted), verdicts
