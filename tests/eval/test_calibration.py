"""Fitting a threshold over several question sets, each counting equally."""

from __future__ import annotations

from eval.calibration import balanced_threshold, best_threshold


def test_a_small_set_counts_as_much_as_a_large_one() -> None:
    small = ([0.5, 0.45, 0.4, 0.2], [True, True, False, False])
    large = ([0.9, 0.8, 0.7, 0.6, 0.36, 0.33, 0.1], [True, True, True, True, True, False, False])
    fitted = balanced_threshold([small, large])
    # Ten copies of the large set move the pooled cut down to its own best; they do not move this one.
    copies = (list(large[0]) * 10, list(large[1]) * 10)
    assert balanced_threshold([small, copies]).value == fitted.value
    assert best_threshold(small[0] + copies[0], small[1] + copies[1]).value < 0.4 <= fitted.value
    assert fitted.examples == 11


def test_the_middle_of_a_plateau_is_chosen_not_its_edge() -> None:
    scores = [0.9, 0.8, 0.7, 0.1, 0.05]
    labels = [True, True, True, False, False]
    fitted = balanced_threshold([(scores, labels)])
    # Every cut in (0.1, 0.7] is right on all five: the middle, not the first such cut.
    assert fitted.accuracy == 1.0 and 0.38 <= fitted.value <= 0.42
