# Baken — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCALES := nl fr de en
STAMP := $(VENV)/.installed
# every dependency, direct and transitive, app and dev tools, pinned with hashes: what Baken runs and tests on
LOCK := requirements.lock.txt
LOCK_COMPILE := pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" --quiet -o $(LOCK)

.PHONY: run chat test install lock lock-check messages messages-extract messages-update messages-compile lint \
	typecheck bench eval-danger screen-model fuzz soak audit clean

# A changed lock or pyproject rebuilds the venv from nothing, so it holds exactly the lock and no leftovers.
$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(MAKE) --no-print-directory messages-compile
	touch $(STAMP)

install: $(STAMP)

lock: install ## re-resolve every dependency to the newest allowed by pyproject.toml (on purpose, then test)
	$(BIN)/uv $(LOCK_COMPILE) --upgrade
	@echo "lock refreshed: review 'git diff $(LOCK)', then run 'make test' before committing it"

# OSV's PyPI advisories (GitHub's and PyPA's in one file); fetched where the network reaches it (a release job)
ADVISORIES ?= $(VENV)/osv-PyPI-all.zip
OSV_PYPI := https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip

audit: install ## the lock against published advisories: fails past SECURITY.md's time frames (RELEASE=1: any fix due)
	@# a feed older than a day is fetched again: the time frames count from each advisory's publication
	find $(ADVISORIES) -mmin -1440 -size +1k 2>/dev/null | grep -q . || curl -fsSL --max-time 300 -o $(ADVISORIES) $(OSV_PYPI)
	$(BIN)/python -m tools.audit_lock --advisories $(ADVISORIES) $(if $(RELEASE),--release)

lock-check: install ## fail when pyproject.toml asks for something the lock does not hold (needs PyPI)
	cp $(LOCK) $(VENV)/lock-check.txt
	$(BIN)/uv $(subst -o $(LOCK),-o $(VENV)/lock-check.txt,$(LOCK_COMPILE))
	diff -u $(LOCK) $(VENV)/lock-check.txt && echo "the lock matches pyproject.toml"

run: install ## start Baken on 127.0.0.1:8080 (SQLite under ./data, no tokens needed; dashboard over plain HTTP)
	$(BIN)/baken keys init
	BAKEN_DASHBOARD_DEV=$${BAKEN_DASHBOARD_DEV:-1} $(BIN)/baken serve

chat: install ## talk to Baken in this terminal (LANG=nl|fr|de|en)
	$(BIN)/baken keys init
	$(BIN)/baken chat --lang $(or $(LANG_CODE),nl)

test: install ## lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -n $(or $(WORKERS),2)

soak: install ## SIGKILL `baken serve` 100 times under load, on SQLite and (BAKEN_TEST_POSTGRES_URL) PostgreSQL
	$(BIN)/python -m bench.soak --kills $(or $(KILLS),100) --both

messages: messages-extract messages-update ## extract, update and compile the catalogs; report coverage
	$(BIN)/python -m content.coverage --fill-en || true
	$(MAKE) --no-print-directory messages-compile
	$(BIN)/python -m content.coverage

messages-extract:
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k t -o content/locales/messages.pot --no-location --sort-output \
		--project=Baken --copyright-holder="Baken contributors" .

messages-update:
	for l in $(LOCALES); do \
		if [ -f content/locales/$$l/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i content/locales/messages.pot -d content/locales -l $$l --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(BIN)/pybabel init -i content/locales/messages.pot -d content/locales -l $$l; \
		fi; \
	done

messages-compile:
	$(BIN)/pybabel compile -d content/locales --statistics

bench: install ## print performance figures (never asserted)
	$(BIN)/python -m bench.steps
	$(BIN)/python -m bench.steps --memory
	$(BIN)/python -m bench.telegram_update --http httpx
	$(BIN)/python -m bench.telegram_update
	$(BIN)/python -m bench.telegram_update --webhook-reply
	$(BIN)/python -m bench.openloop
	$(BIN)/python -m bench.openloop --webhook-reply
	$(BIN)/python -m bench.ordering --chats 100
	$(BIN)/python -m bench.screen
	$(BIN)/python -m bench.queue_page
	@if [ -n "$$BAKEN_TEST_POSTGRES_URL" ]; then \
	  $(BIN)/python -m bench.notify_cost --url "$$BAKEN_TEST_POSTGRES_URL" --seconds 5 && \
	  $(BIN)/python -m bench.scale_out --database "$$BAKEN_TEST_POSTGRES_URL" --updates 10000 --kills 3 && \
	  for ms in 1 5 10; do $(BIN)/python -m bench.latency_scaling --database "$$BAKEN_TEST_POSTGRES_URL" --delay-ms $$ms || exit 1; done; \
	else echo "BAKEN_TEST_POSTGRES_URL is not set: the PostgreSQL benchmarks (NOTIFY cost, scale-out, latency scaling) are skipped"; fi

fuzz: install ## 10,000 malformed Telegram updates and web chat frames each: no server error, people still served
	BAKEN_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider tests/bot/test_fuzz_webhook.py \
		tests/bot/webchat/test_fuzz_frames.py

eval-danger: install ## recall and false positives of the danger screen on the held-out corpus
	$(BIN)/baken screen --eval

screen-model: install ## retrain the danger screen's statistical model from the corpus (pure Python, no network)
	$(BIN)/python -m flows.screen.model_build

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
