"""Provenance facts recorded next to every number: library versions, machine, git commit."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

# Distributions whose versions can change a number tsrgate reports.
TRACKED_DISTRIBUTIONS = (
    "tsrgate", "torch", "transformers", "numpy", "pillow", "pycocotools", "onnx", "onnxruntime",
    "nvidia-modelopt", "tensorrt", "pydantic", "scipy",
)


def library_versions(names: tuple[str, ...] = TRACKED_DISTRIBUTIONS) -> dict[str, str]:
    """Installed versions of the tracked distributions (absent ones are left out), without importing them."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def machine_info() -> dict[str, Any]:
    from gate.machine import cpu_count, cpu_model

    info: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cpu_count": cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }
    try:
        import torch

        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["cuda"] = None
    return info


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The commit of the checkout at `cwd` (None outside a git repository)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
