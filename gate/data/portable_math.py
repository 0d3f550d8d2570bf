"""Elementary functions that give the same bits on every IEEE-754 machine.

numpy picks CPU-specific code for `exp`, `log`, `power`, `sin`, `cos` and `hypot` at run time (its own
SIMD kernels, Intel SVML on AVX-512), and `@` / `linalg.solve` go to the BLAS kernel chosen for the core
type. Those differ in the last bit now and then; in a generated image such a bit sometimes moves a
pixel across a rounding boundary, so a hash-locked suite rendered on one CPU failed its pixel check on
another (world v1: one image in 143 of `clean` on an AMD EPYC). The functions here use only operations
that IEEE 754 rounds exactly (+, -, *, /, sqrt, rint, frexp, ldexp, comparisons) in a fixed order, so
the generated world and the suite transforms come out bit-identical on any machine. Accuracy is a few
units in the last place, plenty for image synthesis; they are not a general replacement for numpy's.
"""

from __future__ import annotations

import math

import numpy as np

# Cody-Waite splits (fdlibm's constants): the high parts have trailing zero bits, so n * HI is exact.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_PIO2_HI = 1.57079632673412561417e00
_PIO2_LO = 6.07710050650619224932e-11
_TWO_OVER_PI = 6.36619772367581382433e-01
_SQRT_HALF = 0.7071067811865476

# Taylor coefficients 1/k!, correctly rounded once by Python's exact integer factorial.
_EXP_COEFFS = [1.0 / math.factorial(k) for k in range(14)]          # |r| <= ln2/2: next term < 1e-17
_SIN_COEFFS = [(-1.0) ** j / math.factorial(2 * j + 1) for j in range(10)]  # |r| <= pi/4
_COS_COEFFS = [(-1.0) ** j / math.factorial(2 * j) for j in range(10)]
_ATANH_COEFFS = [1.0 / (2 * j + 1) for j in range(12)]            # |s| <= 0.1716: s^24/25 < 1e-18


def _horner(coefficients: list[float], x: np.ndarray) -> np.ndarray:
    result = np.full_like(x, coefficients[-1])
    for c in reversed(coefficients[:-1]):
        result = result * x + c
    return result


def _as_float64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def exp(x) -> np.ndarray:
    """e**x (float64)."""
    x = _as_float64(x)
    clipped = np.clip(x, -746.0, 710.0)  # beyond these the result is 0 or inf anyway
    n = np.rint(clipped * _INV_LN2)
    n = np.where(np.isnan(n), 0.0, n)
    r = (clipped - n * _LN2_HI) - n * _LN2_LO
    with np.errstate(over="ignore"):  # exp(710) is inf, as numpy's
        return np.ldexp(_horner(_EXP_COEFFS, r), n.astype(np.int32))


def log(x) -> np.ndarray:
    """Natural logarithm (float64); -inf at 0, nan below 0."""
    x = _as_float64(x)
    usable = np.isfinite(x) & (x > 0)
    mantissa, exponent = np.frexp(np.where(usable, x, 1.0))
    low = mantissa < _SQRT_HALF
    mantissa = np.where(low, mantissa * 2.0, mantissa)  # now in [sqrt(1/2), sqrt(2))
    exponent = np.where(low, exponent - 1, exponent).astype(np.float64)
    s = (mantissa - 1.0) / (mantissa + 1.0)  # log(m) = 2 atanh(s)
    log_mantissa = 2.0 * s * _horner(_ATANH_COEFFS, s * s)
    result = exponent * _LN2_HI + (exponent * _LN2_LO + log_mantissa)
    result = np.where(x == 0, -np.inf, result)
    result = np.where(np.isposinf(x), np.inf, result)
    return np.where((x < 0) | np.isnan(x), np.nan, result)


def power(base, exponent) -> np.ndarray:
    """base**exponent for base >= 0 (float64); nan for a negative base."""
    base, exponent = np.broadcast_arrays(_as_float64(base), _as_float64(exponent))
    positive = base > 0
    result = exp(exponent * log(np.where(positive, base, 1.0)))
    at_zero = np.where(exponent > 0, 0.0, np.where(exponent == 0, 1.0, np.inf))
    result = np.where(base == 0, at_zero, result)
    return np.where((base < 0) | np.isnan(base), np.nan, result)


def _quadrant_reduce(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x = q * pi/2 + r with |r| <= pi/4 (accurate for |x| up to ~1e6, far beyond any use here)."""
    n = np.rint(x * _TWO_OVER_PI)
    n = np.where(np.isfinite(n), n, 0.0)
    r = (x - n * _PIO2_HI) - n * _PIO2_LO
    return np.mod(n, 4.0), r


def _sin_cos_reduced(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r2 = r * r
    return r * _horner(_SIN_COEFFS, r2), _horner(_COS_COEFFS, r2)


def sin(x) -> np.ndarray:
    """Sine (float64)."""
    x = _as_float64(x)
    quadrant, r = _quadrant_reduce(x)
    s, c = _sin_cos_reduced(r)
    result = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [s, c, -s], -c)
    return np.where(np.isfinite(x), result, np.nan)


def cos(x) -> np.ndarray:
    """Cosine (float64)."""
    x = _as_float64(x)
    quadrant, r = _quadrant_reduce(x)
    s, c = _sin_cos_reduced(r)
    result = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [c, -s, -c], s)
    return np.where(np.isfinite(x), result, np.nan)


def hypot(a, b) -> np.ndarray:
    """sqrt(a*a + b*b) (float64; no overflow guard: image coordinates only)."""
    a, b = _as_float64(a), _as_float64(b)
    return np.sqrt(a * a + b * b)


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Solve a small dense linear system by Gaussian elimination with partial pivoting, in a fixed
    order of Python float operations (LAPACK's result depends on the BLAS kernel of the CPU)."""
    size = len(rhs)
    rows = [list(map(float, row)) + [float(value)] for row, value in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if rows[pivot][col] == 0.0:
            raise np.linalg.LinAlgError("singular matrix")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, size):
            factor = rows[r][col] / rows[col][col]
            if factor != 0.0:
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    solution = [0.0] * size
    for r in range(size - 1, -1, -1):
        total = rows[r][size]
        for c in range(r + 1, size):
            total -= rows[r][c] * solution[c]
        solution[r] = total / rows[r][r]
    return solution
