# Local shortcuts; CI runs .ci/run, which is what `make check` runs.
.PHONY: check test fix

check:
	bash .ci/run

test:
	.venv/bin/pytest -q

fix:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
