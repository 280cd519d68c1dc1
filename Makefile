# The two commands of the README. Both create (or reuse) the virtual
# environment .venv/ first; only the first install on a machine builds mmcv.
PY := .venv/bin/python

.PHONY: demo test install clean-demo

install:
	@bash tools/env/install.sh

demo: install
	@$(PY) tools/demo.py

# One pytest worker per core, each test file on one worker (its module
# fixtures run once); the ten slowest tests are listed at the end.
test: install
	@$(PY) -m pytest tests -q -p no:cacheprovider -n auto --dist loadfile \
		--durations=10

clean-demo:
	rm -rf work_dirs/demo
