# The two commands: `make book` builds the book on the embedded data, `make test` runs every test.
# Both set everything up themselves (a virtual environment in .venv) on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NOTEBOOKS := $(wildcard notebooks/*.py)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
# The same numbers on every x86 CPU: PyTorch picks AVX-512 kernels where the CPU has them and AVX2
# kernels elsewhere, and the two round differently, enough to change a trained stand-in and a page's
# verdicts (measured 2026-12-03: on an AVX-512 machine LeNet-5 retrained differently and the MAT walk of
# the comparison page picked another strength). The stand-ins and the pages are built with the AVX2
# kernels, which every x86-64 CPU these pages target has.
export ATEN_CPU_CAPABILITY ?= avx2
export ONEDNN_MAX_CPU_ISA ?= AVX2
# papermill stores the state of the explorers' sliders, which only a live kernel can drive: the HTML
# shows the static figures instead, so the executed pages keep no widget state.
export STRIP_WIDGET_STATE := import nbformat, sys; nb = nbformat.read(sys.argv[1], 4); \
  nb.metadata.pop('widgets', None); nbformat.write(nb, sys.argv[1])
# Notebook kernels draw with the inline backend, so that figures are stored in the executed pages.
INLINE := MPLBACKEND=module://matplotlib_inline.backend_inline

.PHONY: env book html notebooks scorecard browser test test-long sync clean benchmark reproduce gpu-check standins

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[book,test,peers]"
	# torchattacks pins requests~=2.25.1 (its code never imports requests), which Sphinx cannot use:
	# installed without its dependencies, which the line above already provides.
	$(BIN)/pip install --quiet --no-deps -c constraints.txt torchattacks
	$(BIN)/python -c "import torch, torchvision.ops, papers_core; print('environment ready: torch', torch.__version__)"
	touch $@

# notebooks/<paper>.py is the source; its inputs-only .ipynb (ignored by git) is made from it here for
# papermill, one way (reproduce.page_notebook): the .py is only read, never rewritten or re-stamped
sync: env
	$(BIN)/python -c "import sys; from papers_core.reproduce import page_notebook; \
	  [page_notebook(p.split('/')[-1][:-3], 'notebooks') for p in sys.argv[1:]]" $(NOTEBOOKS)

# papermill executes each notebook in the quick profile into book/papers/, BOOK_JOBS pages at a time (one
# per core by default; JOBS=1 for one at a time), longest first (PAGE_ORDER), and prints each page's
# time. Each page runs on the quick profile's single CPU thread, so its numbers do not depend on how
# many pages run beside it. A page that fails stops the build with its name; the others finish.
NPROC := $(shell nproc 2>/dev/null || echo 1)
BOOK_JOBS ?= $(if $(filter auto,$(JOBS)),$(NPROC),$(JOBS))
BOOK_PAGES = $(PAGE_ORDER) $(filter-out $(PAGE_ORDER),$(basename $(notdir $(NOTEBOOKS))))
notebooks: sync
	@mkdir -p book/papers
	@start=$$(date +%s); printf '%s\n' $(BOOK_PAGES) | xargs -P $(BOOK_JOBS) -I{} $(MAKE) --no-print-directory page-{} \
	  || { echo "make notebooks: a page failed (its error is above)"; exit 1; }; \
	  echo "all pages executed in $$(( $$(date +%s) - start )) s ($(BOOK_JOBS) at a time)"
	$(MAKE) scorecard

# one page: papermill in the quick profile into book/papers/<page>.ipynb, with its wall time
page-%:
	@echo "executing $* (quick profile)"; start=$$(date +%s); \
	  $(INLINE) $(BIN)/papermill --no-progress-bar --kernel python3 --cwd . notebooks/$*.ipynb book/papers/$*.ipynb \
	    -p profile quick > book/papers/.$*.log 2>&1 || { tail -40 book/papers/.$*.log; echo "page $* FAILED"; exit 1; }; \
	  $(BIN)/python -c "$$STRIP_WIDGET_STATE" book/papers/$*.ipynb || exit 1; \
	  echo "page $* executed in $$(( $$(date +%s) - start )) s"

# the quick profile's stand-in classifiers: train every one the pages use (or take it from data/cache)
# and write the repository's store data/models, dropping entries no page asks for any more; commit it.
# Needed after a change to the training code (papers_core.cache.TRAINING_CODE) or a stand-in's
# settings; a test says when.
standins: env
	{ $(BIN)/python -m papers_core.standins --only scenes && $(BIN)/python -m papers_core.standins --only mat; } & pid=$$!; \
	  $(BIN)/python -m papers_core.standins --only kanon || { kill $$pid; exit 1; }; wait $$pid
	$(BIN)/python -m papers_core.standins --clean

# one paper in the paper profile: fetch what is public into data/, then run its page into results/paper/
PAPER ?=
DEVICE ?= auto
ARGS ?=
reproduce: sync
	@test -n "$(PAPER)" || { echo "usage: make reproduce PAPER=<p_fgsm|rp_fgsm|color_variance|k_anonymity|mat|compare> [DEVICE=cuda] [ARGS='-p NAME VALUE ...']"; exit 2; }
	$(INLINE) $(BIN)/python -m papers_core.reproduce $(PAPER) --device $(DEVICE) $(ARGS)

# on a machine with CUDA, in under ten minutes: every attack on the GPU against its CPU run
# (tests/test_device.py), the sharded attack stage in one process per GPU (two where there are two,
# else one; tests/test_shard.py), then the benchmark's GPU table (benchmarks/results/gpu.json and the
# Performance page). Uses .venv when there is one, else the machine's python3 with torch installed.
GPU_PYTHON ?= $(if $(wildcard $(BIN)/python),$(BIN)/python,python3)
# the benchmark on the GPU without JSMA and SparseFool: torchattacks' one-image-at-a-time versions took
# most of a first full run's 381 s on an H200; the other six attacks took 188 s there (2026-12-04)
GPU_BENCH_NOTE = make gpu-check times six attacks to stay within a ten-minute device check: on an H200 a full run spent over 381 s, most of it in torchattacks' one-image-at-a-time JSMA and SparseFool, and the six took 188 s
gpu-check:
	@PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)) $(GPU_PYTHON) -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'gpu-check: torch sees no CUDA GPU on this machine')"
	PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)) $(GPU_PYTHON) -m pytest -q -p no:randomly -p no:cacheprovider tests/test_device.py \
		tests/test_shard.py::test_the_stage_on_the_gpus
	PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)) timeout 420 $(GPU_PYTHON) benchmarks/attacks.py --device cuda \
		--attacks FGSM BIM PGD DI-FGSM 'C&W-L2' DeepFool --note "$(GPU_BENCH_NOTE)"

# the front page's reproduction scorecard, gathered from the executed pages' claim checks
scorecard: env
	$(BIN)/python -m papers_core.scorecard

book: notebooks html

# papers_core against torchattacks, ART and foolbox (not part of the tests): writes
# benchmarks/results/<cpu|gpu>.json and the book's Performance page
benchmark: env
	$(BIN)/python benchmarks/attacks.py

# build the HTML from the executed pages as they are (no execution), warnings as errors
html: env
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# Debian's Chromium for the browser test (installed when missing; needs root or sudo and Debian's packages)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

# The pages are re-executed in parallel, one pytest-xdist worker per core (JOBS=1: one at a time), each
# page on one worker with the quick profile's single CPU thread (papers_core.runs.QUICK_THREADS),
# as they were executed. The unit tests run in one process on every core: split over two single-thread
# workers they took 850 s on two cores, more than in one process (their convolution-heavy tests, the
# miniature's ResNet-50 above all, use both cores well on their own).
# The pages are handed out in this order (measured on 2 cores without a cache, 2026-12-03: RP-FGSM 349 s,
# MAT 231, K-anonymity 154, compare 95, colour variance 83, P-FGSM 70), so that the two workers finish
# close together (make book: RP-FGSM, colour variance and P-FGSM on one, the rest on the other: 502 s).
# --durations lists the slowest unit tests and page cells, so that a slow run says where its time went.
JOBS ?= auto
PAGE_ORDER := compare rp_fgsm mat k_anonymity color_variance p_fgsm
PAGES := $(foreach p,$(PAGE_ORDER),book/papers/$(p).ipynb) \
  $(filter-out $(foreach p,$(PAGE_ORDER),book/papers/$(p).ipynb),$(wildcard book/papers/*.ipynb))
test: env browser sync
	$(BIN)/python -m pytest tests --ignore=tests/browser -m "not long" --durations=15
	$(INLINE) $(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder --nbval-lax \
	  --nbval-current-env -p no:randomly --durations=6 $(PAGES)
	$(MAKE) html
	PAPERS_CORE_BROWSER_TEST=required $(BIN)/python -m pytest -p no:randomly tests/browser

# The RP-FGSM page's whole paper profile on the miniature (the test marked `long`): about ten minutes
# on 2 CPU cores, so `make test` runs only its paper-only inputs (tests/test_miniature.py).
test-long: env
	$(BIN)/python -m pytest -p no:randomly -m long tests

clean:
	rm -rf _build book/papers/*.ipynb
