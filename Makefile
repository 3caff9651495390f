# Two commands do everything on a fresh machine:
#   make demo   set up .venv, generate the bundled data set, train + test + visualise RetinaFace-MobileNet0.25
#   make test   set up .venv and run the test suite
#   make lint   set up .venv and run the lint hooks (.pre-commit-config.yaml) over the tree
PY      := .venv/bin/python
DATA    := data/widerface
COCO    := data/coco_tiny

.PHONY: setup data demo test lint bench clean-data device-wheels bench-scrfd demo-scrfd
setup:
	@bash tools/setup_env.sh

$(DATA)/.complete: | setup
	$(PY) tools/dataset_converters/gen_synthetic_widerface.py $(DATA)

data: $(DATA)/.complete

demo: setup data
	@bash tools/run_demo.sh

# the same with SCRFD-2.5G-KPS (configs/scrfd/README.md)
demo-scrfd: setup data
	@CONFIG=configs/scrfd/scrfd_2.5g_kps_1xb8-12e_widerface-synthetic.py bash tools/run_demo.sh

test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest tests -q -p no:cacheprovider

# flake8, isort, yapf, codespell, interrogate (CONTRIBUTING.md)
lint: setup
	.venv/bin/pre-commit run --all-files --show-diff-on-failure

# SCRFD-500M/2.5G/10G vs RetinaFace at VGA, markdown table (docs/benchmarks.md)
bench-scrfd: setup data
	$(PY) tools/analysis_tools/benchmark_speed.py --models mnet025 r50 scrfd_500m scrfd_2.5g scrfd_10g --sizes vga --no-train

# wheels carried to an accelerator lease (tools/device_check.py, docs/benchmarks.md)
device-wheels: setup
	$(PY) tools/device_check.py --prepare-wheels .whl

clean-data:
	rm -rf $(DATA) $(COCO)
