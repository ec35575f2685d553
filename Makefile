# Everything a person runs on the Prime Performance Portal. GNU make.
#
#   make run     install, migrate, seed the demo (prints the logins), serve on 127.0.0.1:8000
#   make test    install, run the whole suite (PYTEST_ARGS="-k import" to pass pytest options)
#
# Only Python 3.11+ and a reachable package index are needed: the virtualenv (.venv) is
# created and (re)installed whenever it is missing or a requirements file changes. No
# database server either: with DATABASE_URL unset, the targets that need the database run
# through portal.devdb, which starts the project's own PostgreSQL (from a wheel, data in
# var/postgres/), hands its URL to the command and stops it afterwards.

SHELL := bash
.DEFAULT_GOAL := help

# The first interpreter that is Python 3.11 or newer; override with `make PYTHON=...`.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for candidate in python3.12 python3.11 python3; do \
	if command -v $$candidate >/dev/null 2>&1 && \
	   $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		echo $$candidate; break; \
	fi; done)
endif

VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
# Written after a successful install, so a failed or interrupted install is retried.
INSTALLED := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= small
PYTEST_ARGS ?=
# Two or more CPUs: spread the suite over them (pytest-xdist; on PostgreSQL it halves the
# run even on two), a test file per worker so module fixtures are built once.
PYTEST_WORKERS ?= $(shell n=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1); [ "$$n" -ge 2 ] && echo "-n auto --dist loadfile")

# What runs a command on the database: DATABASE_URL's server when it is set (CI, production,
# your own), else the project's own PostgreSQL, started for the command and stopped after it.
ifdef DATABASE_URL
WITH_DB :=
else
WITH_DB := $(PY) -m portal.devdb --
endif

# Bootstrap is served from static/ (no CDN) but not committed: it is taken at install time
# from the bootstrap-flask wheel on PyPI, which ships Bootstrap's built files.
BOOTSTRAP_FLASK_VERSION := 2.6.0
BOOTSTRAP_VERSION := 5.3.8
POPPER_VERSION := 2.11.8
BOOTSTRAP_DIR := static/vendor/bootstrap-$(BOOTSTRAP_VERSION)
POPPER_DIR := static/vendor/popper-$(POPPER_VERSION)
BOOTSTRAP_CSS := $(BOOTSTRAP_DIR)/bootstrap.min.css
# The last file vendored: its presence is what tells make the vendoring is complete.
VENDORED := $(BOOTSTRAP_CSS).map

.PHONY: help install vendor locale messages run serve migrate seed test lint typecheck fmt worker beat bench clean

help:
	@echo "make run      install, migrate, seed the demo data and serve on http://$(HOST):$(PORT)"
	@echo "make test     run the test suite (PYTEST_ARGS='...' passes options to pytest)"
	@echo "make locale   compile the German and Vietnamese catalogues (make run and make test do it)"
	@echo "make messages refresh the German and Vietnamese catalogues (locale/) from the code (needs GNU gettext)"
	@echo "make lint     ruff check, ruff format --check and make typecheck"
	@echo "make typecheck mypy with django-stubs over portal, sellers and metrics (pyproject.toml)"
	@echo "make fmt      format and fix with ruff"
	@echo "make migrate  apply database migrations (DATABASE_URL, default the project's own PostgreSQL in var/postgres)"
	@echo "make worker   a Celery worker (needs CELERY_BROKER_URL)"
	@echo "make beat     the Celery beat scheduler (needs CELERY_BROKER_URL)"
	@echo "make bench    the portal against the database's floor (SCALE=small|full, PostgreSQL and Redis on 127.0.0.1)"
	@echo "make clean    remove the virtualenv, caches and vendored files (keeps var/postgres, your data)"

install: $(INSTALLED)

$(INSTALLED): requirements.txt requirements-dev.txt
	@if [ ! -x $(PY) ]; then \
		if [ -z "$(PYTHON)" ]; then \
			echo "No Python 3.11 or newer found (tried python3.12, python3.11, python3)." >&2; \
			echo "Install Python 3.11+, or name one: make $(MAKECMDGOALS) PYTHON=/path/to/python3.11" >&2; \
			exit 1; \
		fi; \
		$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
			echo "$(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the portal needs 3.11 or newer." >&2; \
			exit 1; }; \
		echo "Creating $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check --quiet --upgrade pip
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

vendor: $(VENDORED)

# The extraction checks each file's header names the version the templates link to.
# Each minified file ends with a sourceMappingURL comment naming its .map beside it, so the
# maps the wheel ships are vendored too, unchanged: production's manifest static storage
# (collectstatic) rewrites that reference to the map's hashed name and refuses a missing
# file, and a browser's developer tools find the map. A map carries no version header: it
# is taken from the same wheel as its file, whose version is checked.
define VENDOR_PY
import pathlib, re, sys, zipfile

wheel = pathlib.Path("var/vendor/bootstrap_flask-$(BOOTSTRAP_FLASK_VERSION)-py3-none-any.whl")
BOOTSTRAP = r"Bootstrap\s+v$(BOOTSTRAP_VERSION)\b"
POPPER = r"@popperjs/core v$(POPPER_VERSION)\b"
source = "flask_bootstrap/static/bootstrap5"
files = [
    (f"{source}/js/bootstrap.min.js", "$(BOOTSTRAP_DIR)/bootstrap.min.js", BOOTSTRAP),
    (f"{source}/js/bootstrap.min.js.map", "$(BOOTSTRAP_DIR)/bootstrap.min.js.map", None),
    (f"{source}/umd/popper.min.js", "$(POPPER_DIR)/popper.min.js", POPPER),
    (f"{source}/umd/popper.min.js.map", "$(POPPER_DIR)/popper.min.js.map", None),
    (f"{source}/css/bootstrap.min.css", "$(BOOTSTRAP_CSS)", BOOTSTRAP),
    # Last: $(VENDORED), whose presence tells make the vendoring is complete.
    (f"{source}/css/bootstrap.min.css.map", "$(VENDORED)", None),
]
with zipfile.ZipFile(wheel) as archive:
    for member, target, version in files:
        content = archive.read(member)
        if version and not re.search(version.encode(), content[:400]):
            sys.exit(f"{member} in {wheel.name} is not the expected version ({version}): "
                     "update the versions at the top of the Makefile and in templates/base.html.")
        path = pathlib.Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        print(f"vendored {path}")
endef
export VENDOR_PY

# Needs only Python and pip (the virtualenv's when there is one), so a production box with
# just requirements.txt installed can vendor too.
# A wheel already downloaded is used again, so re-vendoring needs no network.
$(VENDORED):
	@mkdir -p var/vendor
	@py=$$([ -x $(PY) ] && echo $(PY) || echo $(PYTHON)); \
	if [ -z "$$py" ]; then echo "No Python 3.11 or newer found: make vendor PYTHON=/path/to/python3.11" >&2; exit 1; fi; \
	if [ ! -f var/vendor/bootstrap_flask-$(BOOTSTRAP_FLASK_VERSION)-py3-none-any.whl ]; then \
		echo "$$py -m pip download bootstrap-flask==$(BOOTSTRAP_FLASK_VERSION) (Bootstrap $(BOOTSTRAP_VERSION))"; \
		$$py -m pip download --disable-pip-version-check --quiet --no-deps -d var/vendor bootstrap-flask==$(BOOTSTRAP_FLASK_VERSION) || exit 1; \
	fi; \
	$$py -c "$$VENDOR_PY"

# Translations (English, German, Vietnamese): locale/*/LC_MESSAGES/django.po are committed;
# the compiled .mo files are build output, made with polib so no system gettext is needed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

locale: $(MO_FILES)

# Needs only polib (in requirements.txt), so a production box without the dev tools can compile.
%.mo: %.po
	@py=$$([ -x $(PY) ] && echo $(PY) || echo $(PYTHON)); \
	$$py -c "import sys, polib; polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])" $< $@ && echo "compiled $@"

# Refresh the catalogues from the code and templates after changing user-facing text.
# Needs GNU gettext (xgettext; Debian's gettext package): for developers only.
messages: install
	DEBUG=true $(WITH_DB) $(MANAGE) makemessages --locale de --locale vi --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'staticfiles/*'

# DEBUG=true: a development server with the development secret key and static serving.
# One database server for the three steps: `serve` runs inside WITH_DB, with DATABASE_URL set.
run: install vendor locale
	$(WITH_DB) $(MAKE) --no-print-directory serve

# make run's steps on DATABASE_URL's server, without installing.
serve:
	DEBUG=true $(MANAGE) migrate --noinput
	DEBUG=true $(MANAGE) seed_demo --skip-if-not-empty
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops it)"
	DEBUG=true $(MANAGE) runserver $(HOST):$(PORT)

migrate: install
	DEBUG=true $(WITH_DB) $(MANAGE) migrate --noinput

seed: install
	DEBUG=true $(WITH_DB) $(MANAGE) seed_demo

test: install vendor locale
	$(WITH_DB) $(VENV)/bin/pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The django-stubs plugin loads portal.settings_test, which wants a DATABASE_URL; mypy never
# connects, so any well-formed URL does when none is set.
typecheck: install
	DATABASE_URL=$${DATABASE_URL:-postgres://typecheck@127.0.0.1:5432/not-connected} $(VENV)/bin/mypy

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

worker: install
	$(WITH_DB) $(VENV)/bin/celery -A portal worker -l info

beat: install
	@mkdir -p var
	$(WITH_DB) $(VENV)/bin/celery -A portal beat -l info --schedule var/celerybeat-schedule

# The portal against the database's own floor, every figure in one run (docs/performance.md):
# SCALE=small (about 7 minutes: 2.5 of them 365 days of history, 2-3 the read replica) or full. Creates and drops its own database, bench_portal.
bench: install
	$(PY) -m bench.run --scale $(SCALE)

# Keeps var/postgres (your data); delete it by hand for a fresh demo.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis staticfiles static/vendor var/vendor
	rm -f $(MO_FILES)
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
