#!/usr/bin/env bash
# The GPU check (tools/gpu_check.py) with the machine's python3, on a fresh
# CUDA machine with PyTorch but no internet:
#
#   bash tools/gpu_check.sh --wheels wheels --out work_dirs/gpu_check
#
# `wheels` is the folder of tools/env/prepare_gpu_wheels.sh; the options are
# gpu_check.py's (python3 tools/gpu_check.py --help). Results:
# <out>/gpu_check.json and <out>/gpu_check.md; exit 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
exec "${PYTHON:-python3}" tools/gpu_check.py "$@"
