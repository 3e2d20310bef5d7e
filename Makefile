# The two commands: `make book` builds the book on the embedded data, `make test` runs every test.
# Both set everything up themselves (a virtual environment in .venv) on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
NOTEBOOKS := $(wildcard notebooks/*.py)
EXECUTED  := $(patsubst notebooks/%.py,book/papers/%.ipynb,$(NOTEBOOKS))
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: env book notebooks test test-lib test-notebooks sync clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[book,test]"
	$(BIN)/python -c "import torch, torchvision.ops, papers_core; print('environment ready: torch', torch.__version__)"
	touch $@

# jupytext .py (the source) -> paired .ipynb (inputs only)
sync: env
	$(BIN)/jupytext --sync $(NOTEBOOKS)

# papermill executes each notebook in the quick profile into book/papers/
notebooks: sync
	@mkdir -p book/papers
	@for nb in $(NOTEBOOKS); do \
	  name=$$(basename $$nb .py); \
	  echo "executing $$name (quick profile)"; \
	  $(BIN)/papermill --kernel python3 --cwd . notebooks/$$name.ipynb book/papers/$$name.ipynb -p profile quick \
	    || exit 1; \
	done

book: notebooks
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: env
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:randomly book/papers

clean:
	rm -rf _build book/papers/*.ipynb
