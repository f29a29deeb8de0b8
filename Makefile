# Baken — the two commands that matter: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
LOCALES := nl fr de en
STAMP := $(VENV)/.installed

.PHONY: run chat test install messages messages-extract messages-update messages-compile lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory messages-compile
	touch $(STAMP)

install: $(STAMP)

run: install ## start Baken on 127.0.0.1:8080 (SQLite under ./data, no tokens needed; dashboard over plain HTTP)
	BAKEN_DASHBOARD_DEV=$${BAKEN_DASHBOARD_DEV:-1} $(BIN)/baken serve

chat: install ## talk to Baken in this terminal (LANG=nl|fr|de|en)
	$(BIN)/baken chat --lang $(or $(LANG_CODE),nl)

test: install ## lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

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
	$(BIN)/python -m bot.bench
	$(BIN)/python -m bot.bench --memory
	$(BIN)/python -m bot.bench_telegram
	$(BIN)/python bench/queue_page.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
