#!/usr/bin/env bash
# Installs the product and the default model into .venv, then opens the chat page on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --model
exec .venv/bin/rag chat "$@"
