#!/usr/bin/env bash
# Create (or reuse) the virtual environment .venv/ at the repository root with
# the verified OpenMMLab stack, then install frskd_mm in editable mode.
#
# Only the first run on a machine builds mmcv (about 13 minutes on 2 cores);
# the wheel is kept in $FRSKD_WHEEL_CACHE (default ~/.cache/frskd_mm/wheels)
# and reused by every later install, including fresh clones.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.venv"
stamp="$venv/.frskd_installed"
wheels="${FRSKD_WHEEL_CACHE:-$HOME/.cache/frskd_mm/wheels}"
py="${PYTHON:-python3}"

if [ -f "$stamp" ] && [ "$stamp" -nt "$root/requirements.txt" ] \
   && [ "$stamp" -nt "$root/setup.py" ]; then
  exit 0
fi

[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
# The local package mirror warns about every absent index folder: hide that.
pip() {
  "$venv/bin/python" -m pip --disable-pip-version-check "$@" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}
req() { grep -E "^$1([=<>]|$)" "$root/requirements.txt" | head -n1; }

pip install -q "$(req setuptools)" wheel
pip install -q "$(req numpy)" "$(req torch)" "$(req torchvision)" \
  "$(req opencv-python)" "$(req mmengine)"

if ! "$venv/bin/python" -c "import mmcv.ops" 2>/dev/null; then
  mkdir -p "$wheels"
  whl="$(ls "$wheels"/mmcv-2.1.0-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$whl" ]; then
    echo "Building mmcv 2.1.0 with CPU ops (first install on this machine, ~13 min)..."
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" \
      CXX="$root/tools/env/cxx20.sh" \
      pip wheel -q --no-build-isolation --no-deps "$(req mmcv)" -w "$wheels"
    whl="$(ls "$wheels"/mmcv-2.1.0-*.whl | head -n1)"
  fi
  pip install -q --no-deps "$whl"
  pip install -q addict packaging Pillow pyyaml yapf
fi

pip install -q -r "$root/requirements.txt"
pip install -q --no-deps --no-build-isolation -e "$root"
"$venv/bin/python" -c "import mmcv.ops, mmpretrain, mmseg, mmdet, frskd_mm"
touch "$stamp"
echo "Environment ready: $venv"
