"""TensorRT: unavailable here with a stated reason (never skipped silently), and the engine-build logic.

The build logic is exercised against a recording stand-in for the `tensorrt` module: it checks that
a plan derived from the real exported ONNX becomes the right TensorRT calls (precision flags,
workspace limit, input profile, timing cache loaded and saved, parser and build failures surfaced).
"""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from gate.backends import create_backend
from gate.backends.availability import backend_availability
from gate.backends.tensorrt_backend import (
    BackendUnavailableError,
    TensorRTBackend,
    build_serialized_engine,
    network_flags,
    plan_engine_build,
    tensorrt_unavailable_reason,
)
from gate.errors import GateError, InputError
from tests.backends.exported import onnx_export, use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, tmp_path_factory):
    use_private_cache(monkeypatch, tmp_path_factory)


def _expected_reason() -> str | None:
    if importlib.util.find_spec("tensorrt") is None:
        return "tensorrt not installed"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device" if torch.version.cuda else "no CUDA device (torch is a CPU-only build)"
    return None


def test_unavailable_reason_states_what_is_missing():
    assert tensorrt_unavailable_reason() == _expected_reason()
    assert TensorRTBackend.unavailable_reason() == _expected_reason()


@pytest.mark.skipif(_expected_reason() is None, reason="TensorRT and CUDA are present: the available path applies")
@pytest.mark.parametrize("name", ["tensorrt", "tensorrt-int8"])
def test_unavailable_backend_refuses_to_load_and_says_why(name, trained_model_dir):
    reason = _expected_reason()
    backend = create_backend(name, trained_model_dir)
    with pytest.raises(BackendUnavailableError, match=rf"{name}: unavailable \({reason}") as info:
        backend.load()
    assert "\n" not in str(info.value)
    assert backend.describe().details["status"] == f"unavailable ({reason})"
    [availability] = backend_availability([name])
    assert availability.status == "unavailable" and availability.line() == f"{name}: unavailable ({reason})"


def test_importable_tensorrt_without_cuda_reports_no_cuda_device(monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))
    assert tensorrt_unavailable_reason().startswith("no CUDA device")


class _Recorder:
    def __init__(self):
        self.calls: list[tuple] = []


def fake_tensorrt(version: str, parse_ok: bool = True, build_ok: bool = True):
    """A stand-in `tensorrt` module that records the builder calls tsrgate makes."""
    log = _Recorder()
    trt = types.SimpleNamespace(__version__=version)
    trt.NetworkDefinitionCreationFlag = types.SimpleNamespace(EXPLICIT_BATCH=0)
    trt.MemoryPoolType = types.SimpleNamespace(WORKSPACE="WORKSPACE")
    trt.BuilderFlag = types.SimpleNamespace(FP16="FP16", INT8="INT8")

    class Logger:
        WARNING = "WARNING"

        def __init__(self, severity):
            self.severity = severity

    class TimingCache:
        def __init__(self, data: bytes):
            self.data = data

        def serialize(self):
            return self.data + b"|timed"

    class Config:
        def set_memory_pool_limit(self, pool, size):
            log.calls.append(("memory_pool_limit", pool, size))

        def set_flag(self, flag):
            log.calls.append(("flag", flag))

        def add_optimization_profile(self, profile):
            log.calls.append(("profile", profile.shapes))

        def create_timing_cache(self, data):
            log.calls.append(("timing_cache_loaded", bytes(data)))
            self.cache = TimingCache(bytes(data))
            return self.cache

        def set_timing_cache(self, cache, ignore_mismatch):
            log.calls.append(("timing_cache_set", ignore_mismatch))

        def get_timing_cache(self):
            return self.cache

    class Profile:
        def set_shape(self, name, low, opt, high):
            self.shapes = (name, tuple(low), tuple(opt), tuple(high))

    class Builder:
        def __init__(self, logger):
            pass

        def create_network(self, flags):
            log.calls.append(("network_flags", flags))
            return object()

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            return b"serialized-engine" if build_ok else None

    class OnnxParser:
        num_errors = 0 if parse_ok else 1

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            log.calls.append(("parse", path))
            return parse_ok

        def get_error(self, index):
            return "In node 12 (Einsum): unsupported equation\nmore detail"

    trt.Logger, trt.Builder, trt.OnnxParser = Logger, Builder, OnnxParser
    return trt, log


@pytest.mark.parametrize(("precision", "flag"), [("fp16", "FP16"), ("int8", "INT8")])
def test_engine_build_configures_precision_workspace_profile_and_timing_cache(
        precision, flag, tmp_path_factory, tmp_path):
    record = onnx_export(tmp_path_factory)
    cache_file = tmp_path / "timing.cache"
    cache_file.write_bytes(b"earlier")
    plan = plan_engine_build(record, precision, workspace_bytes=256 << 20, timing_cache=cache_file)
    trt, log = fake_tensorrt("10.3.0")
    engine = build_serialized_engine(trt, plan)
    assert engine == b"serialized-engine"
    assert ("parse", str(record.path)) in log.calls
    assert ("memory_pool_limit", "WORKSPACE", 256 << 20) in log.calls
    assert [c for c in log.calls if c[0] == "flag"] == [("flag", flag)]
    # The profile pins the exported graph's fixed input shape.
    assert ("profile", ("pixel_values", (1, 3, 128, 160), (1, 3, 128, 160), (1, 3, 128, 160))) in log.calls
    assert ("timing_cache_loaded", b"earlier") in log.calls
    assert cache_file.read_bytes() == b"earlier|timed"  # saved back, grown by this build
    assert ("network_flags", 0) in log.calls  # TensorRT 10: explicit batch is the only mode


def test_explicit_batch_flag_before_tensorrt_10():
    trt, _ = fake_tensorrt("8.6.1")
    assert network_flags(trt) == 1
    trt, _ = fake_tensorrt("10.0.1")
    assert network_flags(trt) == 0


def test_parser_and_build_failures_are_one_line_errors(tmp_path_factory):
    plan = plan_engine_build(onnx_export(tmp_path_factory), "fp16")
    trt, _ = fake_tensorrt("10.3.0", parse_ok=False)
    with pytest.raises(InputError, match=r"cannot parse the ONNX model \(In node 12 \(Einsum\): unsupported equation\)$"):
        build_serialized_engine(trt, plan)
    trt, _ = fake_tensorrt("10.3.0", build_ok=False)
    with pytest.raises(GateError, match="fp16 engine build failed"):
        build_serialized_engine(trt, plan)


def test_engine_cache_key_depends_on_precision_device_and_version(tmp_path_factory):
    record = onnx_export(tmp_path_factory)
    fp16, int8 = plan_engine_build(record, "fp16"), plan_engine_build(record, "int8")
    keys = {fp16.key("10.3.0", "H100"), int8.key("10.3.0", "H100"), fp16.key("10.4.0", "H100"),
            fp16.key("10.3.0", "A100")}
    assert len(keys) == 4
