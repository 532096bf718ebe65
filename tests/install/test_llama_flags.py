"""The llama.cpp build flags follow the CPU's own flags, and AMX is never turned on."""

from __future__ import annotations

from pathlib import Path

import pytest

from install.llama_flags import build_tag, cmake_args, cpu_flags, main

AVX512 = ("avx512f", "avx512dq", "avx512bw", "avx512vl")
XEON = (
    "processor\t: 0\n"
    "flags\t\t: fpu sse avx avx2 fma f16c bmi2 avx512f avx512dq avx512bw avx512vl avx512_vnni amx_tile amx_int8\n"
)


def test_flags_are_read_from_the_first_processor() -> None:
    assert {"avx2", "avx512f", "amx_int8"} <= cpu_flags(XEON)
    assert cpu_flags("no flags here") == set()


def test_every_extension_the_cpu_has_is_on_and_amx_is_off() -> None:
    args = cmake_args(cpu_flags(XEON))
    assert "-DGGML_NATIVE=OFF" in args
    assert {"-DGGML_AVX2=ON", "-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=ON"} <= set(args)
    assert {"-DGGML_AVX512_BF16=OFF", "-DGGML_AVX_VNNI=OFF"} <= set(args)
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"} <= set(args)


def test_avx512_needs_all_of_its_base_subsets() -> None:
    # A CPU reporting avx512f without avx512bw cannot run llama.cpp's AVX-512 kernels.
    args = cmake_args({"avx", "avx2", "avx512f", "avx512_vnni"})
    assert "-DGGML_AVX512=OFF" in args and "-DGGML_AVX512_VNNI=OFF" in args


def test_different_flags_get_different_wheel_folders() -> None:
    assert build_tag(cmake_args({"avx2"})) != build_tag(cmake_args({"avx2", "avx512_bf16"} | set(AVX512)))
    assert build_tag(["-DA=ON", "-DB=OFF"]) == build_tag(["-DB=OFF", "-DA=ON"])


def test_the_command_prints_flags_or_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(XEON, encoding="utf-8")
    assert main(["--cpuinfo", str(cpuinfo)]) == 0
    assert "-DGGML_AVX512=ON" in capsys.readouterr().out
    # Without /proc/cpuinfo (not Linux): a portable build, named by its tag.
    assert main(["--cpuinfo", str(tmp_path / "absent"), "--tag"]) == 0
    assert capsys.readouterr().out.strip() == build_tag(cmake_args(set()))
