# Two commands for a fresh machine with only Python and pip:
#   make run    set up, then run the whole runbook against the embedded local AWS
#   make test   set up, then lint, run the tests and the notebook (nbval) checks
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PARAMS ?= params/local.yaml

.PHONY: run test lint docs contracts bench clean setup lock

# Installs the versions in requirements.lock (the ones the tests passed with), then the
# package itself; `make lock` re-resolves after a change to pyproject.toml.
$(BIN)/cognito-runbook: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	touch $@

setup: $(BIN)/cognito-runbook

run: setup
	$(BIN)/cognito-runbook run $(PARAMS) --out runs/latest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/pytest tests
	$(BIN)/pytest --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider

docs: setup
	$(BIN)/cognito-runbook docs

# Accept a deliberate change to what the runbook sends to AWS (review the diff first).
contracts: setup
	$(BIN)/pytest tests/e2e/test_request_contract.py --update-contracts -q

# Re-resolve requirements.lock with uv, keeping every version already installed (tested)
# where pyproject.toml still allows it.
lock: setup
	$(BIN)/pip install --quiet uv
	$(BIN)/pip freeze --exclude-editable | grep -iv '^cognito-runbook' > .lock-constraints.txt
	$(BIN)/uv pip compile pyproject.toml --extra test --python $(BIN)/python --constraint .lock-constraints.txt \
		--no-header --no-annotate --quiet -o requirements.lock.new
	(echo "# Every package make installs, at the versions the tests passed with (written by make lock)."; \
	 cat requirements.lock.new) > requirements.lock
	rm -f requirements.lock.new .lock-constraints.txt

AWSCLI := .venv-awscli/bin/aws
$(AWSCLI):
	$(PYTHON) -m venv .venv-awscli
	.venv-awscli/bin/pip install --quiet awscli

bench: setup $(AWSCLI)
	AWS_CLI=$(AWSCLI) $(BIN)/python benchmarks/run_all.py

clean:
	-$(BIN)/cognito-runbook local stop
	rm -rf $(VENV) .venv-awscli .venv-airflow runs
