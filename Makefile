# Anbao: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/node_modules/.installed

.PHONY: run test install pwa migrate demo serve lint bench clean browser-deps dbus-deps fonts

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(STAMP)

$(PWA_STAMP): pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $@

# The web app is built when pwa/ has a project; the backend serves pwa/dist.
pwa:
	@if [ -f pwa/package.json ]; then \
		$(MAKE) --no-print-directory $(PWA_STAMP) && cd pwa && npm run build; \
	else echo "pwa/ has no project yet"; fi

migrate: $(STAMP)
	$(BIN)/anbao migrate

demo: migrate
	$(BIN)/anbao demo

serve: $(STAMP)
	$(BIN)/anbao serve

run: install pwa fonts demo
	@echo
	@echo "Anbao is starting on http://127.0.0.1:8000 (Ctrl-C stops it)"
	$(BIN)/anbao serve

# Debian's chromium for the browser tests (never a downloaded browser build).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else echo "chromium is missing: run 'sudo apt-get install chromium'"; fi; \
	fi

# dbus-daemon for the BLE bridge tests (a private bus serving a fake BlueZ).
dbus-deps:
	@if ! command -v dbus-daemon >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dbus; \
		else echo "dbus-daemon is missing: run 'sudo apt-get install dbus'"; fi; \
	fi

# A Chinese font to embed in PDFs (labels, reports); without it PDFs use a font the reader has.
fonts:
	@if [ ! -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-wqy-zenhei; \
		else echo "optional: 'sudo apt-get install fonts-wqy-zenhei' embeds Chinese in PDFs"; fi; \
	fi

test: install pwa browser-deps dbus-deps fonts
	cd pwa && npm run test:unit
	$(BIN)/python -m pytest

lint: $(STAMP) $(PWA_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check backend tests bench ble_bridge
	$(BIN)/mypy
	cd pwa && npm run lint

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) pwa/node_modules pwa/dist var .pytest_cache .mypy_cache .ruff_cache
