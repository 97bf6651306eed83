# The two commands the README promises: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
DSTAMP := $(VENV)/.installed-demo

.PHONY: demo test bench install install-test prometheus clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# the demo platform's extra (moto's S3 server)
$(DSTAMP): pyproject.toml $(STAMP)
	$(PIP) install -q -e '.[demo]'
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(STAMP)
install-test: $(TSTAMP)

# make demo [SCENARIO=rollouts-abort]: one incident per regression class (cockpit demo --help lists them)
demo: $(DSTAMP)
	$(VENV)/bin/cockpit demo $(if $(SCENARIO),--scenario $(SCENARIO))

# The real Prometheus server (Debian package) for the integration tests.
prometheus:
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "installing the Debian package prometheus (for the integration tests)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq prometheus >/dev/null; }

test: $(TSTAMP) prometheus
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

bench: $(TSTAMP) prometheus
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
