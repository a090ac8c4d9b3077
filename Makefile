# Latchkey workspace Makefile.
# Protobuf targets: tools, generate, proto-lint, proto-breaking, check-generated.

SHELL := /bin/bash
.DEFAULT_GOAL := generate

BIN          := $(CURDIR)/.bin
BUF_VERSION  := 1.75.0
BUF          := $(BIN)/buf
# Generated outputs (committed).
GEN_DIRS     := proto/gen gateway/openapi

.PHONY: tools
tools: ## Build the protoc plugins (tool directives of proto/gen/go.mod) and buf into .bin
	cd proto/gen && GOBIN=$(BIN) go install tool
	@if [ "$$($(BUF) --version 2>/dev/null)" != "$(BUF_VERSION)" ]; then \
		echo "installing buf v$(BUF_VERSION) into .bin (takes a few minutes)"; \
		GOBIN=$(BIN) go install github.com/bufbuild/buf/cmd/buf@v$(BUF_VERSION); \
	fi

.PHONY: generate
generate: tools ## Regenerate Go code (proto/gen/latchkey) and the merged OpenAPI document (gateway/openapi)
	rm -rf proto/gen/latchkey gateway/openapi/*.swagger.json
	$(BUF) generate

.PHONY: proto-lint
proto-lint: tools ## buf lint
	$(BUF) lint

.PHONY: proto-breaking
proto-breaking: tools ## buf breaking against the main branch (skipped while main has no proto)
	@if git rev-parse --verify --quiet main >/dev/null && \
	    git ls-tree -r --name-only main -- proto/latchkey | grep -q '\.proto$$'; then \
		$(BUF) breaking --against '.git#branch=main'; \
	else \
		echo "proto-breaking: branch main has no proto/latchkey/**/*.proto yet; skipped"; \
	fi

.PHONY: check-generated
check-generated: generate ## Fail when the committed generated files differ from a fresh generation
	@git diff --exit-code -- $(GEN_DIRS) || \
		{ echo "generated files are out of date: run make generate and commit"; exit 1; }
	@untracked="$$(git status --porcelain --untracked-files=all -- $(GEN_DIRS))"; \
	if [ -n "$$untracked" ]; then \
		echo "$$untracked"; \
		echo "generated files are not committed: run make generate and commit"; exit 1; \
	fi
