# Everything a person repeats. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
CHROMIUM := /usr/bin/chromium
PROMTOOL := $(BIN)/promtool

.PHONY: run test test-pg lint format translations messages bench bench-profile bench-slots bench-dispatch bench-search bench-scale bench-events bench-soak bench-network bench-faults bench-edd bench-retention worker clean install vendor chromium

# Runtime install: re-done when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# htmx, Leaflet, DejaVu Sans and axe-core come pinned from the npm registry; node_modules/ and vendor/ are
# git-ignored. htmx and Leaflet are served from vendor/; axe-core is for the browser tests only and
# stays in node_modules/ (tests/support/axe.py reads it from there). npm ci rewrites
# node_modules/.package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

portal/static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p portal/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js portal/static/vendor/htmx.min.js

# Leaflet (the pickup-point map) is served from vendor/ too; its markers are our own CSS, so
# its marker images are not copied.
portal/static/vendor/leaflet.js portal/static/vendor/leaflet.css &: node_modules/.package-lock.json
	mkdir -p portal/static/vendor
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css portal/static/vendor/

# DejaVu Sans draws the PNG return label's text: Pillow's built-in font has no å, ø or €.
portal/static/vendor/fonts/DejaVuSans.ttf portal/static/vendor/fonts/DejaVuSans-Bold.ttf &: node_modules/.package-lock.json
	mkdir -p portal/static/vendor/fonts
	cp node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf node_modules/dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf portal/static/vendor/fonts/

node_modules/axe-core/axe.min.js: node_modules/.package-lock.json
	touch $@

vendor: portal/static/vendor/htmx.min.js portal/static/vendor/leaflet.js portal/static/vendor/leaflet.css portal/static/vendor/fonts/DejaVuSans.ttf

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -D "messages console" -d portal/translations

install: $(VENV)/.installed vendor translations

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --debug --host 127.0.0.1 --port 5000

# Sends queued messages (RQ on REDIS_URL; straight from the outbox table without Redis).
worker: install
	$(FLASK) worker

chromium:
	@test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium)

# promtool checks deploy/prometheus/ (tests/integration/test_monitoring_files.py). Only that one
# binary is taken out of Debian's prometheus package: installing the package would also set up
# (and on a host with systemd, start) a Prometheus server on port 9090.
promtool: $(PROMTOOL)

$(PROMTOOL): | $(VENV)/.installed
	@tmp=$$(mktemp -d) && cd $$tmp && \
	  { apt-get download prometheus >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } && \
	  dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > $(CURDIR)/$@.part && \
	  chmod 0755 $(CURDIR)/$@.part && mv $(CURDIR)/$@.part $(CURDIR)/$@ && rm -rf $$tmp

test: $(VENV)/.installed-test vendor node_modules/axe-core/axe.min.js translations chromium promtool
	$(BIN)/pytest

test-pg: $(VENV)/.installed-test vendor node_modules/axe-core/axe.min.js translations chromium promtool
	DATABASE_URL=$${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract the text and merge it into every catalogue (then translate the .po files).
# Two domains: `messages` is every customer-facing string (every language in LANGUAGES);
# `console` is the staff console's own (English and Swedish, picked per account).
CONSOLE_SOURCES = portal/admin portal/services/network/console
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --ignore-dirs ".* ._ admin console" -o portal/translations/messages.pot portal
	$(BIN)/pybabel update --no-fuzzy-matching -D messages -i portal/translations/messages.pot -d portal/translations
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o portal/translations/console.pot $(CONSOLE_SOURCES)
	$(BIN)/pybabel update --no-fuzzy-matching -D console -l sv -i portal/translations/console.pot -d portal/translations

bench: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/track_page.py

# Where a request's time goes (py-spy on one gunicorn worker under wrk), after `make bench`
# seeded its database: WHAT=page|poll|api|healthz.
bench-profile: install
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@test -x $(BIN)/py-spy || $(BIN)/pip install --quiet py-spy
	$(BIN)/python bench/profile_page.py --what $${WHAT:-page}

bench-slots: install
	$(BIN)/python bench/slot_booking.py

# Tracking page and API at 10k and 1M parcels, against /healthz (needs wrk: apt-get install wrk).
bench-scale: install
	$(BIN)/python bench/scale.py --sizes 10000 1000000

# Carrier events in batches of 1000 at 1M parcels.
bench-events: install
	$(BIN)/python bench/events.py --parcels 1000000

# Ten minutes of tracking, delivery changes and events with the worker running.
bench-soak: install
	$(BIN)/python bench/soak.py --minutes 10

# The console's search box at 1M parcels on PostgreSQL (loads them first: about 2 minutes).
bench-search: install
	$(BIN)/python bench/search.py --parcels 1000000

# Importing 5,000 pickup points; delivery options with 200 zones and 5,000 points (needs wrk).
bench-network: install
	$(BIN)/python bench/network.py

bench-dispatch: install
	$(BIN)/python bench/dispatch.py

# Predicted delivery dates: `edd fit` and `edd backtest --days 30` on about 1M generated
# transit observations in PostgreSQL (database lastmile_bench_edd; about a minute).
bench-edd: install
	$(BIN)/python bench/edd.py

# A retention run over 1M closed parcels, with the tracking page's reads and carriers' updates
# timed while it runs (database lastmile_bench_retention; BENCHMARKS.md, "Retention").
bench-retention: install
	$(BIN)/python bench/retention.py --parcels 1000000

# Fault drills on private PostgreSQL, Redis, gunicorn, workers and provider stand-ins (as root:
# initdb runs as the postgres user, the upload disk is a tmpfs); about 30 minutes. DRILL=NAME
# runs one, QUICK=1 a short smoke run.
bench-faults: install
	$(BIN)/python bench/faults.py $(if $(DRILL),--drill $(DRILL)) $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) node_modules portal/static/vendor instance/lastmile.db
