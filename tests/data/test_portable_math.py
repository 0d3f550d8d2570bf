"""gate.data.portable_math: accurate, and built only from exactly rounded operations so the generated
world and the suite transforms give the same pixels on every CPU."""

from __future__ import annotations

import ast
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from gate.data import portable_math as pm

GATE = Path(__file__).resolve().parents[2] / "gate"
RNG = np.random.default_rng(7)


@pytest.mark.parametrize(("name", "inputs", "reference"), [
    ("exp", RNG.uniform(-40, 40, 20000), np.exp),
    ("log", RNG.uniform(1e-8, 1e4, 20000), np.log),
    ("sin", RNG.uniform(-50, 50, 20000), np.sin),
    ("cos", RNG.uniform(-50, 50, 20000), np.cos),
])
def test_unary_functions_agree_with_numpy_to_a_few_ulp(name, inputs, reference):
    ours, theirs = getattr(pm, name)(inputs), reference(inputs)
    tolerance = 4 * np.spacing(np.maximum(np.abs(theirs), 1.0))
    assert np.all(np.abs(ours - theirs) <= tolerance)


def test_power_agrees_with_numpy_on_image_ranges():
    base = RNG.uniform(0, 1, 20000)
    for exponent in (0.8, 1.6, 2.4, 1 / 2.4, 3.0):
        assert np.allclose(pm.power(base, exponent), base**exponent, rtol=1e-14, atol=1e-300)


def test_hand_computed_values_and_edge_cases():
    assert pm.exp(0.0) == 1.0 and pm.exp(-np.inf) == 0.0 and pm.exp(np.inf) == np.inf
    assert abs(float(pm.exp(1.0)) - math.e) <= 2 * math.ulp(math.e)
    assert pm.log(1.0) == 0.0 and pm.log(0.0) == -np.inf and np.isnan(pm.log(-1.0))
    assert abs(float(pm.log(math.e)) - 1.0) <= 2 * math.ulp(1.0)
    assert abs(float(pm.sin(math.pi / 6)) - 0.5) <= 2 * math.ulp(0.5)
    assert abs(float(pm.cos(math.pi / 3)) - 0.5) <= 2 * math.ulp(0.5)
    assert list(pm.power([0.0, 0.0, 0.0, 4.0], [2.0, 0.0, -1.0, 0.5])) == [0.0, 1.0, np.inf, 2.0]
    assert np.isnan(pm.power(-1.0, 0.5))
    assert float(pm.hypot(3.0, 4.0)) == 5.0


def test_solve_matches_a_hand_solved_system_and_refuses_a_singular_one():
    assert pm.solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]) == pytest.approx([0.8, 1.4], abs=1e-15)
    with pytest.raises(np.linalg.LinAlgError):
        pm.solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0])


def test_outputs_are_pinned_bit_for_bit():
    """The same inputs give these exact bytes on any IEEE-754 machine (no CPU-dispatched code inside)."""
    x = np.linspace(-20.0, 20.0, 4001)
    digest = hashlib.sha256()
    for values in (pm.exp(x), pm.log(np.abs(x) + 1e-3), pm.sin(x), pm.cos(x), pm.power(np.abs(x), 0.8)):
        digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    assert digest.hexdigest() == PINNED_DIGEST


PINNED_DIGEST = "8c812a53057871e187878f905decb0d75b65c2df53a9928b39b8579bbf677ee8"

# numpy functions whose results depend on the CPU (SIMD kernels, SVML, BLAS): the generator and the
# transforms must not call them, or a hash-locked suite stops reproducing on another machine.
CPU_DEPENDENT = {"exp", "log", "power", "sin", "cos", "tan", "hypot", "arctan2", "tanh", "expm1", "log1p",
                 "log2", "log10", "exp2", "sinh", "cosh", "arcsin", "arccos", "arctan", "cbrt", "dot",
                 "matmul", "einsum", "inner", "outer", "tensordot"}


def _pixel_modules() -> list[Path]:
    return sorted((GATE / "data" / "synth").glob("*.py")) + sorted((GATE / "suites" / "transforms").glob("*.py"))


@pytest.mark.parametrize("path", _pixel_modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pixel_code_uses_no_cpu_dependent_numpy(path):
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "np" \
                and node.attr in CPU_DEPENDENT:
            found.append(f"np.{node.attr} (line {node.lineno})")
        if isinstance(node, ast.Attribute) and node.attr == "linalg":
            found.append(f"linalg (line {node.lineno})")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"@ (line {node.lineno})")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not (
                isinstance(node.right, ast.Constant) and node.right.value in (2, 2.0)):
            found.append(f"** {ast.unparse(node.right)} (line {node.lineno})")
    assert not found, f"{path.name} uses CPU-dependent numpy: {', '.join(found)}; use gate.data.portable_math"
