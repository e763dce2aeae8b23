#!/usr/bin/env bash
# Builds llama-cpp-python for this CPU without AMX into a wheel cache keyed by the build flags, and installs it.
# Why: a plain -march=native build uses AMX tile instructions when the CPU lists them; in VMs that list AMX
# without enabling it (this project's machines), the first decode dies with SIGSEGV in ldtilecfg.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.3.36
PIP=".venv/bin/python -m pip"
flags=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
has avx && flags+=(-DGGML_AVX=ON)
has avx2 && flags+=(-DGGML_AVX2=ON)
has fma && flags+=(-DGGML_FMA=ON)
has f16c && flags+=(-DGGML_F16C=ON)
has bmi2 && flags+=(-DGGML_BMI2=ON)
has avx_vnni && flags+=(-DGGML_AVX_VNNI=ON)
if has avx512f; then
  flags+=(-DGGML_AVX512=ON)
  has avx512vbmi && flags+=(-DGGML_AVX512_VBMI=ON)
  has avx512_vnni && flags+=(-DGGML_AVX512_VNNI=ON)
  has avx512_bf16 && flags+=(-DGGML_AVX512_BF16=ON)
fi
[ "$(uname -m)" = x86_64 ] || flags=(-DGGML_NATIVE=ON)
key=$(printf '%s %s' "$VERSION" "${flags[*]}" | sha256sum | cut -c1-12)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/newsrag/wheels/llama-$key"
marker=.venv/.llama-build-key
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$key" ] && .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  exit 0  # this build is already installed
fi
if ! ls "$cache"/llama_cpp_python-$VERSION-*.whl >/dev/null 2>&1; then
  echo "== building llama-cpp-python $VERSION (${flags[*]}); about 4 minutes, once"
  mkdir -p "$cache"
  CMAKE_ARGS="${flags[*]}" $PIP wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -w "$cache" 2> >(grep -v "is ignored: it is neither" >&2)
fi
# its own dependencies first (numpy, jinja2, diskcache, typing-extensions), then the wheel built above
$PIP install -q "numpy>=1.20" "jinja2>=2.11.3" "diskcache>=5.6.1" "typing-extensions>=4.5" 2> >(grep -v "is ignored" >&2)
$PIP install -q --force-reinstall --no-deps "$cache"/llama_cpp_python-$VERSION-*.whl 2> >(grep -v "is ignored" >&2)
echo "$key" > "$marker"
