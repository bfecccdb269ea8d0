# Two commands do all set-up: `make run` and `make test`. Both create their own .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint clean translations lock wheel-check bench soak
# requirements.lock pins what a production install needs; requirements-dev.lock adds the test tools
# on top of exactly those pins. Both resolve one version of each package for every Python from 3.11
# on (the oldest we support is the one we test), with the hash of every file.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV := uv==0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --fork-strategy fewest --generate-hashes --quiet

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Install exactly the locked versions (hash-checked, nothing resolved on the fly), then the
# project itself without letting pip pick any dependency of its own.
$(VENV)/.installed: $(BIN)/python $(DEV_LOCK) pyproject.toml
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask --app survey setup --port $(PORT)
	$(BIN)/gunicorn -c python:survey.gunicorn_config --bind 127.0.0.1:$(PORT) --workers 2 wsgi:app

test: $(VENV)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Load, soak and faults (issue 15): figures in docs/benchmarks.md. Both need PostgreSQL and Redis on
# 127.0.0.1; soak restarts them (and starts them again at the end, whatever happens) and mounts a tmpfs.
bench: $(VENV)/.installed  ## quick sizes; BENCH_FULL=1 for 1,000,000 invitations and responses
	bash benchmarks/run_all.sh

soak: $(VENV)/.installed  ## SOAK_SECONDS of steady submissions (600), then the fault scenarios
	bash benchmarks/soak.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

lock: $(BIN)/python  ## re-resolve the lock files; LOCK_ARGS="--upgrade-package flask" or "--upgrade"
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_ARGS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra test -c $(LOCK) $(LOCK_FLAGS) $(LOCK_ARGS) -o $(DEV_LOCK)

wheel-check:  ## build the wheel, install it outside the tree, set it up and serve /healthz
	bash .ci/wheel-check

clean:
	rm -rf $(VENV) build dist *.egg-info

translations: $(VENV)/.installed  ## extract, update and compile the message catalogs
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --no-wrap --project par-survey -o survey/translations/messages.pot .
	$(BIN)/pybabel update -i survey/translations/messages.pot -d survey/translations --no-fuzzy-matching --no-wrap
	$(BIN)/pybabel compile -d survey/translations
