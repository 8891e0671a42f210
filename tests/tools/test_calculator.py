"""The calculator: exact answers, and refusals (with the reason) for anything else."""

from __future__ import annotations

import time

import pytest

from chatdesk.tools.calculator import CalculatorError, describe, evaluate


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("0.1 + 0.2", "3/10 ≈ 0.3"),
        ("1/3 * 3", "1"),
        ("2**100", "1267650600228229401496703205376"),
        ("2^10", "1024"),
        ("(2**64 - 1) % 7", "1"),
        ("7 // 2", "3"),
        ("-(3 - 5) * 1.5", "3"),
        ("sqrt(16/9)", "4/3 ≈ 1.333333333333333333333333333333333333333"),
        ("factorial(25)", "15511210043330985984000000"),
        ("gcd(84, 36) + max(1, 2, 3)", "15"),
        ("round(2.675, 2)", "67/25 ≈ 2.68"),  # exact 2.675, unlike the float (2.67)
        ("2 ** -2", "1/4 ≈ 0.25"),
    ],
)
def test_exact_results(expression: str, shown: str) -> None:
    assert describe(evaluate(expression)) == shown


def test_irrational_results_are_given_to_forty_digits() -> None:
    assert describe(evaluate("sqrt(2)")) == "≈ 1.41421356237309504880168872420969807857"


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("__import__('os').system('ls')", "not allowed"),
        ("__import__('os')", "unknown function"),
        ("().__class__", "not allowed"),
        ("open('x')", "unknown function"),
        ("x + 1", "not allowed"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 100000", "too large"),
        ("factorial(10**6)", "factorial is limited"),
        ("1 / 0", "division by zero"),
        ("2 ** 0.3", "whole-number powers"),
        ("1 +", "not a valid expression"),
        ("'a' * 10", "not allowed"),
        ("", "1 to 1000 characters"),
    ],
)
def test_refusals_say_why(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        evaluate(expression)


def test_big_computations_stay_fast() -> None:
    started = time.monotonic()
    for expression in ("99999 ** 400", "factorial(500) / factorial(499)", "(10**1999) * 9"):
        evaluate(expression)
    assert time.monotonic() - started < 5  # a bound on work, not a speed target
