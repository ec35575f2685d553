"""Revocation, reinstatement and plan reasons are typed records (``metrics.reasons``) stored
in the JSON format they always had, so records written before the types read the same."""

from __future__ import annotations

import pytest

from metrics.presenters.reasons import failing_item_rows, reason_sentence
from metrics.reasons import (
    MetricReason,
    PlanReason,
    RequirementReason,
    reason_from_json,
    reasons_from_json,
    reasons_to_json,
)

# As the status history, the audit entries and the plans have stored them all along.
STORED_METRIC = {
    "kind": "metric",
    "metric": "on_time_delivery_rate",
    "window_days": 7,
    "rate": 0.9,
    "eligibility_rate": 0.92,
    "threshold": "0.935",
    "population_units": 100,
    "defect_units": 10,
    "protected_units": 2,
}
STORED_REQUIREMENT = {"kind": "requirement", "requirement": "weekend_delivery"}
STORED_PLAN = {"kind": "plan", "plan": 12}


@pytest.mark.parametrize("stored", [STORED_METRIC, STORED_REQUIREMENT, STORED_PLAN])
def test_each_reason_writes_the_json_it_was_read_from(stored):
    reason = reason_from_json(stored)
    assert reason.to_json() == stored
    assert list(reason.to_json()) == list(stored)  # the keys in their stored order too


def test_each_kind_reads_as_its_own_record():
    metric, requirement, plan = reasons_from_json([STORED_METRIC, STORED_REQUIREMENT, STORED_PLAN])
    assert metric == MetricReason(
        metric="on_time_delivery_rate",
        window_days=7,
        rate=0.9,
        eligibility_rate=0.92,
        threshold="0.935",
        population_units=100,
        defect_units=10,
        protected_units=2,
    )
    assert requirement == RequirementReason(requirement="weekend_delivery")
    assert plan == PlanReason(plan=12)
    assert reasons_to_json([metric, requirement, plan]) == [STORED_METRIC, STORED_REQUIREMENT, STORED_PLAN]


def test_a_metric_reason_stored_without_protected_units_counts_none_protected():
    older = {key: value for key, value in STORED_METRIC.items() if key != "protected_units"}
    reason = reason_from_json(older)
    assert reason.protected_units == 0
    assert "(10 of 100 due units were defects)" in reason_sentence(reason)


def test_a_plans_failing_items_read_as_label_and_sentence():
    metric, requirement = failing_item_rows(reasons_from_json([STORED_METRIC, STORED_REQUIREMENT]))
    assert (metric.label, requirement.label) == ("On-time delivery rate", "Weekend delivery")
    # Judged with its 2 protected units excused: 8 of 100 counted.
    assert metric.sentence == (
        "On-time delivery rate over 7 days was 92.00 %; it must be at least 93.50 % (8 of 100 due units were defects)."
    )
    assert requirement.sentence.startswith("Weekend delivery requirement is not met. Turn on six-day delivery")
