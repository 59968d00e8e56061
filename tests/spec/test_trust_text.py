"""How a model's measured trust reads: an AUROC near 1 keeps the digit where models differ."""

from spec.contract import Trust, auroc_text


def test_auroc_keeps_four_decimals_from_099_and_three_below() -> None:
    assert auroc_text(0.99757) == "0.9976"  # not "0.998": a goal of 0.998 is not met by it
    assert auroc_text(0.99) == "0.9900"
    assert auroc_text(0.9899) == "0.990"
    assert auroc_text(0.786) == "0.786"


def test_trust_text_names_the_figure_where_it_was_measured_and_the_cap() -> None:
    text = Trust(0.99757, "CIFAKE validation", "likely").text()
    assert text == "measured AUROC 0.9976 on CIFAKE validation; verdicts capped at 'likely'"
    assert Trust().text() == "no measured accuracy on images like this"
