"""Which of the model's precisions to serve: float32, or its INT8 copy where that pays.

``FACEVERIFY_PRECISION=auto`` serves INT8 only when every condition holds: the model has an int8
block measured within budget, the backend is ONNX Runtime, the session runs on the CPU, and the
CPU has 8-bit dot-product instructions (VNNI or AMX; without them INT8 is no faster). Otherwise
float32. ``int8`` and ``float32`` are obeyed as given; ``int8`` without a block fails to load.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.settings import Settings
from facecore.metadata import ModelMetadata
from facecore.quantized import Precision

CPUINFO = Path("/proc/cpuinfo")
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpu_int8_flags() -> tuple[str, ...]:
    """Return the CPU's 8-bit dot-product flags (/proc/cpuinfo); none off Linux."""
    if not sys.platform.startswith("linux") or not CPUINFO.is_file():
        return ()
    flags: set[str] = set()
    for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return tuple(flag for flag in INT8_FLAGS if flag in flags)


def on_cpu(settings: Settings) -> bool:
    """Whether the ONNX session will run on the CPU (``auto`` takes CUDA when it has it)."""
    if settings.device != "auto":
        return settings.device == "cpu"
    import onnxruntime as ort

    return "CUDAExecutionProvider" not in ort.get_available_providers()


def choose_precision(settings: Settings, metadata: ModelMetadata) -> tuple[Precision, str]:
    """Return the precision to serve and why, in words for the log."""
    if settings.precision != "auto":
        return settings.precision, f"FACEVERIFY_PRECISION={settings.precision}"
    block = metadata.int8
    if block is None:
        return "float32", "auto: the model has no int8 block"
    if not block.within_budget:
        return "float32", "auto: the model's int8 block is not within its accuracy budget"
    if settings.backend != "onnx":
        return "float32", f"auto: backend {settings.backend} serves float32 only"
    if not on_cpu(settings):
        return "float32", "auto: the model runs on a GPU"
    flags = cpu_int8_flags()
    if not flags:
        return "float32", "auto: the CPU has no VNNI or AMX (INT8 would not be faster)"
    return "int8", f"auto: int8 within budget, CPU has {', '.join(flags)}"
