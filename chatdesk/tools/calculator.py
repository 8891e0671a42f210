"""The ``calculator`` tool: exact arithmetic, read as an expression tree, never executed.

The expression is parsed with Python's ``ast`` and evaluated node by node over
``Fraction`` (so 0.1 + 0.2 is exactly 3/10 and 1/3 * 3 is exactly 1); only numbers,
``+ - * / // % **``, unary signs, parentheses and a few functions (``sqrt``, ``abs``,
``round``, ``floor``, ``ceil``, ``min``, ``max``, ``gcd``, ``factorial``) and constants
(``pi``, ``e``) are allowed; anything else is refused with a one-line error. Exponents
and sizes are bounded (a number may have at most ``MAX_DIGITS`` digits, an exponent at
most ``MAX_EXPONENT``), so no expression can take long or use much memory. Irrational
results (sqrt of a non-square, pi) are computed as Decimals to ``PRECISION`` digits.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

MAX_LENGTH = 1000
MAX_DIGITS = 2000
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 500
PRECISION = 40
Number = Fraction


class CalculatorError(ValueError):
    """An expression the calculator will not evaluate, with the reason."""


def _limit(value: Fraction) -> Fraction:
    for part in (value.numerator, value.denominator):
        if part and abs(part).bit_length() > MAX_DIGITS * 3.33:
            raise CalculatorError(f"the result has more than {MAX_DIGITS} digits")
    return value


def _power(base: Fraction, exponent: Fraction) -> Fraction:
    if exponent.denominator != 1:
        if exponent == Fraction(1, 2):
            return _sqrt(base)
        raise CalculatorError("only whole-number powers (and ** 0.5) are supported")
    size = abs(exponent.numerator) * max(
        abs(base.numerator).bit_length(), base.denominator.bit_length()
    )
    if abs(exponent) > MAX_EXPONENT or size > MAX_DIGITS * 3.33 * 2:
        raise CalculatorError("the power is too large")
    if base == 0 and exponent < 0:
        raise CalculatorError("division by zero")
    return base**exponent.numerator


def _divide(left: Fraction, right: Fraction) -> Fraction:
    if right == 0:
        raise CalculatorError("division by zero")
    return left / right


def _floordiv(left: Fraction, right: Fraction) -> Fraction:
    return Fraction(math.floor(_divide(left, right)))


def _modulo(left: Fraction, right: Fraction) -> Fraction:
    if right == 0:
        raise CalculatorError("division by zero")
    return left % right


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as context:
        context.prec = PRECISION + 5
        return Decimal(value.numerator) / Decimal(value.denominator)


def _sqrt(value: Fraction) -> Fraction:
    if value < 0:
        raise CalculatorError("square root of a negative number")
    root_n, root_d = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if root_n**2 == value.numerator and root_d**2 == value.denominator:
        return Fraction(root_n, root_d)
    with localcontext() as context:
        context.prec = PRECISION + 5
        return Fraction(_decimal(value).sqrt())


def _integer(value: Fraction, what: str) -> int:
    if value.denominator != 1:
        raise CalculatorError(f"{what} needs a whole number")
    return value.numerator


def _factorial(value: Fraction) -> Fraction:
    number = _integer(value, "factorial")
    if not 0 <= number <= MAX_FACTORIAL:
        raise CalculatorError(f"factorial is limited to 0..{MAX_FACTORIAL}")
    return Fraction(math.factorial(number))


def _round(value: Fraction, digits: Fraction = Fraction(0)) -> Fraction:
    places = _integer(digits, "round's digits")
    if abs(places) > MAX_DIGITS:
        raise CalculatorError("too many digits")
    return Fraction(round(value, places))


BINARY: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _divide,
    ast.FloorDiv: _floordiv,
    ast.Mod: _modulo,
    ast.Pow: _power,
}
FUNCTIONS: dict[str, Callable[..., Fraction]] = {
    "sqrt": _sqrt,
    "abs": abs,
    "round": _round,
    "floor": lambda x: Fraction(math.floor(x)),
    "ceil": lambda x: Fraction(math.ceil(x)),
    "min": lambda *xs: min(xs),
    "max": lambda *xs: max(xs),
    "gcd": lambda a, b: Fraction(math.gcd(_integer(a, "gcd"), _integer(b, "gcd"))),
    "factorial": _factorial,
}
CONSTANTS = {
    "pi": Fraction(Decimal("3.14159265358979323846264338327950288419716939937510")),
    "e": Fraction(Decimal("2.71828182845904523536028747135266249775724709369995")),
}


def _evaluate(node: ast.AST) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _limit(Fraction(str(node.value)))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return _limit(BINARY[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        return _call(node.func.id, node.args)
    raise CalculatorError(f"not allowed in a calculation: {ast.unparse(node)[:60]}")


def _call(name: str, args: list[ast.expr]) -> Fraction:
    function = FUNCTIONS.get(name)
    if function is None:
        raise CalculatorError(f"unknown function {name!r} (known: {', '.join(FUNCTIONS)})")
    try:
        return _limit(function(*(_evaluate(arg) for arg in args)))
    except TypeError:
        raise CalculatorError(f"wrong number of arguments for {name}") from None


def evaluate(expression: str) -> Fraction:
    """The exact value of ``expression``; CalculatorError says why one is refused."""
    text = expression.strip().replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/")
    if not text or len(text) > MAX_LENGTH:
        raise CalculatorError(f"give an expression of 1 to {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise CalculatorError(f"not a valid expression: {error.msg}") from None
    return _evaluate(tree)


def describe(value: Fraction) -> str:
    """The result as a user reads it: an integer, or a fraction with its decimal value."""
    if value.denominator == 1:
        return str(value.numerator)
    decimal = _decimal(value)
    with localcontext() as context:
        context.prec = PRECISION
        shown = (
            format(+decimal, "f").rstrip("0").rstrip(".")
            if abs(decimal) < 10**PRECISION
            else str(+decimal)
        )
    exact = value.denominator < 10**12
    return f"{value.numerator}/{value.denominator} ≈ {shown}" if exact else f"≈ {shown}"
