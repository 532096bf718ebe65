"""The CMake flags that build llama.cpp for the CPU this runs on, read from /proc/cpuinfo.

A portable build (GGML_NATIVE=OFF alone) runs AVX2 kernels even where the CPU has AVX-512: prompt reading was
1.5x slower on the project's Xeon. A native build (GGML_NATIVE=ON) turns on AMX where the CPU has it, and
llama.cpp's AMX kernels crash on Q4_K_M weights (ggml-org/llama.cpp issue 20824), so the flags are chosen here:
every SIMD extension the CPU reports, AMX never. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

# /proc/cpuinfo flag -> llama.cpp CMake option. Order matters only for readability of the output.
_OPTIONS: tuple[tuple[str, str], ...] = (
    ("avx", "GGML_AVX"),
    ("avx2", "GGML_AVX2"),
    ("fma", "GGML_FMA"),
    ("f16c", "GGML_F16C"),
    ("bmi2", "GGML_BMI2"),
    ("avx_vnni", "GGML_AVX_VNNI"),
    ("avx512f", "GGML_AVX512"),
    ("avx512_vnni", "GGML_AVX512_VNNI"),
    ("avx512_bf16", "GGML_AVX512_BF16"),
    ("avx512vbmi", "GGML_AVX512_VBMI"),
)
# llama.cpp's AVX512 kernels also use the BW, DQ and VL subsets; only claim AVX512 when all are there.
_AVX512_BASE = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first processor listed in /proc/cpuinfo's text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"flags", "Features"}:
            return set(value.split())
    return set()


def cmake_args(flags: Iterable[str]) -> list[str]:
    """-D options for llama.cpp: not native, AMX off, and each SIMD extension on exactly when the CPU has it."""
    present = set(flags)
    if not _AVX512_BASE <= present:
        present -= {flag for flag in present if flag.startswith("avx512")}
    args = ["-DGGML_NATIVE=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
    args += [f"-D{option}={'ON' if flag in present else 'OFF'}" for flag, option in _OPTIONS]
    return args


def build_tag(args: Iterable[str]) -> str:
    """A short name for a set of flags: wheels built with different flags never share a folder."""
    return hashlib.sha256(" ".join(sorted(args)).encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpuinfo", type=Path, default=Path("/proc/cpuinfo"))
    parser.add_argument("--tag", action="store_true", help="print the flags' short tag instead of the flags")
    options = parser.parse_args(argv)
    try:
        text = options.cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""  # not Linux: a portable build with nothing turned on beyond the defaults
    args = cmake_args(cpu_flags(text))
    print(build_tag(args) if options.tag else " ".join(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
