"""The editor's what-if against the engine: the same tier mix, mean score and churn AUC.

The snapshot is the shared service world's (500 B2B customers, tests/support/service.py);
the edited model is scored by the engine on the same data, and the what-if (the snapshot's
metric scores combined again, a re-binned metric normalised again from its raw values) must
give what the engine gives.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.service import AS_OF, build_world


@pytest.fixture(scope="module")
def served():
    from crindex.model.loader import load_model
    from crindex.service.cache import load_snapshot
    from crindex.store import open_store

    world = build_world()
    model = load_model(world.model)
    with open_store(world.store) as store:
        snap = load_snapshot(store, model.name, model)
    return world, model, snap


def test_what_if_of_an_edit_is_what_the_engine_scores(served, tmp_path):
    from crindex.api import score
    from crindex.service.whatif import what_if
    from crindex.stats import churn_auc
    from crindex.weights.edit import edit_of, edited_text

    world, model, snap = served
    edit = edit_of(model)
    edit.dimension_weights.update(value=50, depth=20, activity=15, satisfaction=15)
    edit.bins["annual_purchases"][0]["min"] = 400_000  # the top bin from 1,000,000 down
    edit.bins["annual_purchases"][1]["min"] = 200_000
    edit.bins["annual_purchases"][1]["max"] = 400_000
    edit.bins["annual_purchases"][2]["max"] = 200_000
    edit.bins["annual_purchases"][2]["min"] = 100_000
    edit.bins["annual_purchases"][3]["max"] = 100_000
    edit.thresholds["ordinary"] = 45
    text, after = edited_text(model, edit)
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    engine_before = world.results[AS_OF]
    engine_after = score(after, str(world.data), AS_OF)
    # a made-up outcome: the customers whose engine score is under 45 churned, plus every
    # tenth id (so that the AUC is neither 0 nor 1)
    ids = [snap.id_at(i) for i in range(snap.size)]
    before_scores = {r["customer_id"]: r["score"] for r in engine_before.table.to_pylist()}
    after_scores = {r["customer_id"]: r["score"] for r in engine_after.table.to_pylist()}
    labels = np.array([float(before_scores[c] < 45 or int(c[1:]) % 10 == 0) for c in ids])
    got = what_if(snap, model, after, labels)
    assert got["customers"] == snap.size == len(ids) and not got["sampled"]
    assert got["before"]["mix"] == {t: engine_before.tier_counts().get(t, 0)
                                    for t in model.tiers.order}
    assert got["after"]["mix"] == {t: engine_after.tier_counts().get(t, 0)
                                   for t in after.tiers.order}
    assert got["before"]["mix"] != got["after"]["mix"]
    assert got["after"]["mean_score"] == pytest.approx(
        np.mean([after_scores[c] for c in ids]), abs=1e-6)  # the engine rounds to 6 places
    assert got["before"]["auc"] == pytest.approx(
        churn_auc(np.array([before_scores[c] for c in ids]), labels > 0.5), abs=1e-9)
    assert got["after"]["auc"] == pytest.approx(
        churn_auc(np.array([after_scores[c] for c in ids]), labels > 0.5), abs=1e-9)
    assert got["changed"] == sum(abs(after_scores[c] - before_scores[c]) > 1e-6 for c in ids)
