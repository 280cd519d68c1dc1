# The two commands of the README. Both create (or reuse) the virtual
# environment .venv/ first; only the first install on a machine builds mmcv.
PY := .venv/bin/python

.PHONY: demo test install clean-demo

install:
	@bash tools/env/install.sh

demo: install
	@$(PY) tools/demo.py

test: install
	@$(PY) -m pytest tests -q -p no:cacheprovider

clean-demo:
	rm -rf work_dirs/demo
