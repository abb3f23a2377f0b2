# pca-mesh: `make demo` runs the offline pipeline for three clusters; `make test` runs every test.
CARGO ?= cargo

.PHONY: build demo test lint man clean

build:
	$(CARGO) build --workspace --bins

demo: build
	scripts/demo.sh

test: build
	scripts/test.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

man: build
	scripts/man.sh

clean:
	rm -rf demo-out
	$(CARGO) clean
