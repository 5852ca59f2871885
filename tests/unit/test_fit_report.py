"""What the fit step says about a refitted model."""

from assets.resolve import _learnt
from warehouse.fitting import FitReport


def test_a_refitted_model_is_reported_with_its_prior_and_the_rule_strength():
    report = FitReport(
        object="contact",
        records=1000,
        refitted=True,
        prior_weight=-13.0,
        rule_penalties=(None, -11.25),
    )
    assert _learnt(report) == (
        "refitted (1 in 8,192 pairs match; breaking the match rule -11.2 bits; "
        "`org360 model` shows it all)"
    )
    banned = FitReport(object="contact", records=1000, refitted=True, prior_weight=-10.0)
    assert "match rule a ban" in _learnt(banned)
