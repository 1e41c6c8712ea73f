"""Cohen's kappa through sklearn.metrics gives what the hand formula gave."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from modkit.labels.agreement import cohen_kappa


def _by_hand(a, b):
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[v] * cb[v] for v in set(ca) | set(cb)) / (n * n)
    return math.nan if p_e >= 1.0 else (p_o - p_e) / (1.0 - p_e)


@pytest.mark.parametrize("seed", range(5))
def test_kappa_equals_the_hand_formula_on_random_label_pairs(seed):
    rng = random.Random(seed)
    for _ in range(400):
        values = ["civil", "uncivil", "abusive", "off"][: rng.randint(1, 4)]
        a = [rng.choice(values) for _ in range(rng.randint(1, 30))]
        b = [x if rng.random() < 0.6 else rng.choice(values) for x in a]
        expected, got = _by_hand(a, b), cohen_kappa(a, b)
        assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(expected, abs=1e-12)


def test_kappa_is_undefined_without_labels_or_with_one_value_overall():
    assert math.isnan(cohen_kappa([], []))
    assert math.isnan(cohen_kappa(["civil"] * 4, ["civil"] * 4))


def test_kappa_of_complete_disagreement_on_two_values_is_minus_one():
    assert cohen_kappa(["civil", "abusive"], ["abusive", "civil"]) == pytest.approx(-1.0)
    assert cohen_kappa(["civil"] * 3, ["abusive"] * 3) == 0.0  # p_o = p_e = 0


def test_kappa_warns_nothing_and_refuses_sequences_of_different_length(recwarn):
    cohen_kappa(["civil", "abusive"], ["civil", "civil"])
    assert not recwarn.list
    with pytest.raises(ValueError, match="differ in length"):
        cohen_kappa(["civil"], [])
