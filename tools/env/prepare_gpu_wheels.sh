#!/usr/bin/env bash
# Prepare the wheel folder of tools/gpu_check.sh, on a machine with registry
# access, for a GPU machine without one:
#
#   bash tools/env/prepare_gpu_wheels.sh [DIR]     # default: wheels
#
# The target (PY_VERSION, default 3.12; manylinux x86_64) already has torch,
# torchvision, numpy, OpenCV, SciPy, matplotlib, rich, einops, regex,
# scikit-learn and pytest (the GPU image; see docs/gpu.md), so only
# the OpenMMLab stack and the small packages it imports that the image
# lacks are carried, each without its dependencies, plus the mmcv 2.1.0
# sdist: there is no mmcv wheel for torch 2.11, and MMSegmentation needs
# mmcv's ops, so gpu_check.py builds it there (CPU ops, a few minutes).
# torch is not carried. 16 files, about 7 MB in all; 20 s.
set -euo pipefail
# A local package mirror may warn about every absent index folder: hide that.
exec 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
dir="${1:-wheels}"
py="${PYTHON:-python3}"
mkdir -p "$dir"
pkgs=(
  mmengine==0.10.7 mmpretrain==1.2.0 mmsegmentation==1.2.2
  "setuptools<82"      # pkg_resources: mmengine's mmpretrain::/mmseg:: bases
  addict yapf platformdirs termcolor   # mmengine, mmcv
  ftfy wcwidth                         # mmseg.utils imports ftfy
  mat4py modelindex ordered-set importlib-metadata   # mmpretrain
  prettytable                          # mmseg
)
target=(--no-deps --only-binary=:all: --python-version "${PY_VERSION:-3.12}"
        --implementation cp --platform manylinux_2_28_x86_64
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
        --platform any)
for p in "${pkgs[@]}"; do
  # A wheel for the target; else (an sdist-only package) a wheel built here,
  # which is pure Python for every package above.
  "$py" -m pip download -q "${target[@]}" -d "$dir" "$p" 2>/dev/null \
    || "$py" -m pip wheel -q --no-deps -w "$dir" "$p" \
    || { echo "Could not get $p: check the registry access and the name." >&2
         exit 1; }
done
# pip prepares an sdist's metadata even to download it, and mmcv's setup.py
# needs pkg_resources and wheel without build isolation: a throwaway venv.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q "setuptools<82" wheel
"$tmp/venv/bin/pip" download -q --no-deps --no-binary :all: \
  --no-build-isolation -d "$dir" mmcv==2.1.0 \
  || { echo "Could not download the mmcv 2.1.0 sdist." >&2; exit 1; }
ls "$dir"
du -sh "$dir"
echo "Carry $dir to the GPU machine; there: bash tools/gpu_check.sh --wheels $dir"
