"""What the CPU can do for inference, in facts and in one line.

Speed figures mean little without the instruction sets behind them: INT8 only
pays off with VNNI (or AMX), and an AMX CPU runs "FP32" models as bf16 unless
told otherwise. So every speed report carries this one-liner."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path
from typing import Any

# /proc/cpuinfo flags that decide which OpenVINO CPU kernels can run.
FLAGS_OF_INTEREST = (
    "sse4_2", "avx", "avx2", "fma", "f16c",
    "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx512_fp16",
    "avx_vnni", "avx_vnni_int8", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
)


def cpuinfo_flags(path: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The flags of the first processor; None where /proc/cpuinfo does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def isa_summary(flags: set[str] | None) -> str:
    """'AVX2, no VNNI' style: the widest vector ISA, then the INT8/BF16 extras."""
    if flags is None:
        return "instruction sets unknown (no /proc/cpuinfo)"
    if "avx512f" in flags:
        base = "AVX-512"
    elif "avx2" in flags:
        base = "AVX2"
    elif "avx" in flags:
        base = "AVX"
    elif "sse4_2" in flags:
        base = "SSE4.2"
    else:
        base = "no AVX"
    extras = []
    if "avx512_vnni" in flags:
        extras.append("AVX-512 VNNI")
    if "avx_vnni" in flags:
        extras.append("AVX-VNNI")
    amx = sorted(f[4:].upper() for f in flags if f in ("amx_bf16", "amx_int8", "amx_fp16"))
    if amx:
        extras.append(f"AMX ({', '.join(amx)})")
    if "avx512_bf16" in flags:
        extras.append("AVX-512 BF16")
    if not any(e.endswith("VNNI") for e in extras) and not amx:
        extras.append("no VNNI")
    return ", ".join([base, *extras])


def precision_name(value: Any) -> str:
    """OpenVINO's element type (or its string) as f32 / bf16 / f16 / ..."""
    name = value.get_type_name() if hasattr(value, "get_type_name") else str(value)
    return {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(name, name)


def float_precision_note(model_precision: str | None, inference_precision: str | None) -> str:
    """What OpenVINO's inference precision means for this model, in words: for
    an INT8 IR it covers only the ops left in floating point, so "executed as
    f32" would misread as the whole model running in f32."""
    if model_precision == "INT8":
        return f"float ops in {inference_precision}"
    return f"runs in {inference_precision}"


def cpu_facts(device: str = "CPU") -> dict:
    """Plain data: OpenVINO's view of the device plus the Linux ISA flags."""
    return dict(_cpu_facts(device))


@lru_cache(maxsize=4)
def _cpu_facts(device: str) -> dict:
    import openvino as ov

    core = ov.Core()
    flags = cpuinfo_flags() if platform.system() == "Linux" else None
    capabilities = [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]
    default_precision = precision_name(core.get_property(device, "INFERENCE_PRECISION_HINT"))
    full_name = str(core.get_property(device, "FULL_DEVICE_NAME")).strip()
    cores = os.cpu_count() or 0
    isa = isa_summary(flags)
    known = sorted(f for f in FLAGS_OF_INTEREST if flags and f in flags)
    vnni = bool(flags and ({"avx512_vnni", "avx_vnni"} & flags))
    amx = bool(flags and any(f.startswith("amx_") for f in flags))
    return {
        "device": device,
        "full_device_name": full_name,
        "optimization_capabilities": capabilities,
        "cores": cores,
        "flags": known,
        "flags_source": "/proc/cpuinfo" if flags is not None else None,
        "avx2": bool(flags and "avx2" in flags),
        "avx512": bool(flags and "avx512f" in flags),
        "vnni": vnni,
        "amx": amx,
        "default_inference_precision": default_precision,
        "isa": isa,
        "summary": f"{full_name}, {cores} cores, {isa}; FP32 models run as {default_precision}",
        "int8_note": int8_note(flags, vnni, amx),
    }


def int8_note(flags: set[str] | None, vnni: bool, amx: bool) -> str:
    if flags is None:
        return "cannot tell whether INT8 instructions exist on this system"
    if amx:
        return "AMX: INT8 and BF16 matrix units; INT8 usually gains, FP32 already runs as bf16"
    if vnni:
        return "VNNI: INT8 dot products in one instruction; INT8 usually gains"
    return "no VNNI: INT8 runs on plain AVX2 integer code; gains are small and not guaranteed"


def cpu_summary(device: str = "CPU") -> str:
    """The one-liner shown wherever speed is reported."""
    return cpu_facts(device)["summary"]
