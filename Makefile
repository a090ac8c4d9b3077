# Latchkey workspace Makefile.
#   make run       every service and the gateway in one process (embedded NATS, SQLite)
#   make test      every test of every module, race detector on
#   make lint      gofmt, go vet, buf lint
#   make bench     benchmarks (figures go in the issue notes)
#   make bench-edge  latchkey bench: size a deployment on this machine
#   make generate  regenerate the protobuf code and the OpenAPI document
#   make openapi-lint  lint the OpenAPI document (Redocly CLI, from npm)
#   make axe-core  install axe-core (npm) for the browser tests' accessibility checks

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Every Go module of the workspace (go.work lists the same).
MODULES := libs proto/gen services/account services/credential services/recovery \
           services/mfa services/notification gateway cmd
# Modules outside the workspace, built with GOWORK=off: the code generators
# and the deploy files' validator.
OUTSIDE_MODULES := tools deploy/check
# The production binaries (one image each; latchkey is the all-in-one).
BINARIES := ./cmd/latchkey ./services/account/cmd/accountd ./services/credential/cmd/credentiald \
            ./services/recovery/cmd/recoveryd ./services/mfa/cmd/mfad ./services/notification/cmd/notificationd \
            ./gateway/cmd/gatewayd

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

.PHONY: run
run: ## Run every service and the gateway in one process (data in ./.latchkey)
	go run ./cmd/latchkey run

.PHONY: build
build: ## Build every module and the binaries (latchkey, each service's, gatewayd) into .bin
	go build work
	go build -o $(BIN)/ $(BINARIES)

# The browser tests (cmd/allinone, headless Chromium) keep a screenshot of
# every page they visit here, a folder per test.
SCREENSHOT_DIR ?= $(CURDIR)/.test-output/screenshots

.PHONY: test
test: axe-core-if-possible ## Run every test (PostgreSQL/NATS from LATCHKEY_TEST_POSTGRES_URL/LATCHKEY_TEST_NATS_URL, else throwaway ones; browser tests need chromium)
	LATCHKEY_TEST_SCREENSHOT_DIR=$(SCREENSHOT_DIR) LATCHKEY_TEST_AXE_JS=$(AXE_JS) go test -race -count=1 -timeout 25m work

.PHONY: cluster
cluster: ## Run a local cluster until Ctrl-C: every service in two replicas as its own process, the gateway, 3 NATS nodes (R3), mTLS (needs LATCHKEY_POSTGRES_URL)
	go run ./cmd/cluster/runcluster -dir $(CURDIR)/.latchkey-cluster

.PHONY: test-cluster
test-cluster: ## The fault tests on a local cluster (kill -9, SIGTERM, NATS and PostgreSQL outages, SMTP down) and their ledger totals
	LATCHKEY_TEST_CLUSTER=1 go test -count=1 -v -timeout 30m -run TestFaults ./cmd/cluster/

.PHONY: vet
vet: ## go vet across the workspace
	go vet work

.PHONY: lint
lint: vet proto-lint ## gofmt, go vet and buf lint
	@unformatted="$$(gofmt -l $(MODULES) $(OUTSIDE_MODULES))"; if [ -n "$$unformatted" ]; then \
		echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi

.PHONY: tidy
tidy: ## go mod tidy in every module (and tools/ and deploy/check/, outside the workspace)
	@for m in $(MODULES); do (cd $$m && go mod tidy) || exit 1; done
	@for m in $(OUTSIDE_MODULES); do (cd $$m && GOWORK=off go mod tidy) || exit 1; done

.PHONY: check-tidy
check-tidy: ## Fail when a module's go.mod or go.sum is not tidy, or a module does not build on its own
	@for m in $(MODULES); do (cd $$m && go mod tidy -diff >/dev/null && GOWORK=off go build ./...) || \
		{ echo "module $$m: not tidy or does not build outside the workspace (run make tidy)"; exit 1; }; done
	@for m in $(OUTSIDE_MODULES); do (cd $$m && GOWORK=off go mod tidy -diff >/dev/null) || \
		{ echo "module $$m: not tidy (run make tidy)"; exit 1; }; done

# The binaries the validator asks what they require: into a folder of their
# own, so that a stale .bin never answers.
DEPLOY_CHECK_BIN := $(CURDIR)/.test-output/deploy-check-bin

.PHONY: check-deploy
check-deploy: ## Validate deploy/ offline: both kustomizations decoded strictly into the Kubernetes types, compose.yaml loaded, every binary's required settings present (deploy/check)
	go build -o $(DEPLOY_CHECK_BIN)/ $(BINARIES)
	cd deploy/check && GOWORK=off go vet . && GOWORK=off go test -count=1 . && GOWORK=off go run . -root ../.. -bin $(DEPLOY_CHECK_BIN)

.PHONY: bench
bench: ## Benchmarks: account reads through gRPC and REST, log-ins, listing and sweeping 100 000 accounts, password hashing, e-mail to SMTP
	go test -run '^$$' -bench . -benchmem -count 1 ./cmd/allinone/
	go test -run '^$$' -bench . -benchmem -count 1 -benchtime 3x -timeout 30m ./services/account/internal/app/
	go test -run '^$$' -bench 'Hash|Verify' -benchmem -count 1 ./services/credential/internal/password/
	go test -run '^$$' -bench . -benchmem -count 1 ./services/notification/server/

# Flags of latchkey bench, e.g. BENCH_FLAGS='-postgres postgres://…' or '-quick'.
BENCH_FLAGS ?=

.PHONY: bench-edge
bench-edge: ## Size a deployment: latchkey bench starts the suite and prints log-ins, reads, events, memory and e-mail against the targets (BENCH_FLAGS=…)
	go build -o $(BIN)/ ./cmd/latchkey
	$(BIN)/latchkey bench $(BENCH_FLAGS)

BIN          := $(CURDIR)/.bin
BUF_VERSION  := 1.75.0
# buf takes minutes to build, so it is kept outside the clone, once per
# machine and version.
BUF_DIR      ?= $(HOME)/.cache/latchkey/buf-v$(BUF_VERSION)
BUF          := $(BUF_DIR)/buf
# Generated outputs (committed).
GEN_DIRS     := proto/gen gateway/gen gateway/openapi

.PHONY: tools
tools: ## Build the protoc plugins (tool directives of tools/go.mod) into .bin, and buf
	cd tools && GOWORK=off GOBIN=$(BIN) go install tool
	@if [ "$$($(BUF) --version 2>/dev/null)" != "$(BUF_VERSION)" ]; then \
		echo "installing buf v$(BUF_VERSION) into $(BUF_DIR) (takes a few minutes, once)"; \
		GOBIN=$(BUF_DIR) go install github.com/bufbuild/buf/cmd/buf@v$(BUF_VERSION); \
	fi

.PHONY: generate
generate: tools ## Regenerate Go code (proto/gen/latchkey, the REST handlers in gateway/gen/latchkey) and the OpenAPI document (gateway/openapi)
	rm -rf proto/gen/latchkey gateway/gen/latchkey gateway/openapi/*.swagger.json
	$(BUF) generate
	go run ./gateway/openapi/finish gateway/openapi/latchkey.swagger.json

.PHONY: proto-lint
proto-lint: tools ## buf lint
	$(BUF) lint

.PHONY: proto-breaking
proto-breaking: tools ## buf breaking against the previous state of main (the merge base; HEAD~1 on main); internal packages excluded
	.ci/proto-breaking $(BUF)

REDOCLY_VERSION := 2.77.0
# Like buf: installed once per machine and version, outside the clone.
REDOCLY_DIR     ?= $(HOME)/.cache/latchkey/redocly-v$(REDOCLY_VERSION)
REDOCLY         := $(REDOCLY_DIR)/node_modules/.bin/redocly

.PHONY: openapi-lint
openapi-lint: ## Lint the OpenAPI document with Redocly CLI (rules: gateway/openapi/redocly.yaml; installed with npm once)
	@if [ "$$($(REDOCLY) --version 2>/dev/null)" != "$(REDOCLY_VERSION)" ]; then \
		echo "installing @redocly/cli $(REDOCLY_VERSION) into $(REDOCLY_DIR) (once)"; \
		npm install --prefix $(REDOCLY_DIR) --no-audit --no-fund @redocly/cli@$(REDOCLY_VERSION); \
	fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		$(REDOCLY) lint --config gateway/openapi/redocly.yaml gateway/openapi/latchkey.swagger.json

AXE_VERSION := 4.14.1
# Like Redocly: installed once per machine and version, outside the clone;
# the browser tests find it there (or at LATCHKEY_TEST_AXE_JS).
AXE_DIR     ?= $(HOME)/.cache/latchkey/axe-core-v$(AXE_VERSION)
AXE_JS      := $(AXE_DIR)/node_modules/axe-core/axe.min.js

.PHONY: axe-core
axe-core: ## Install axe-core (npm) for the browser tests' accessibility checks (once)
	@if [ ! -s $(AXE_JS) ]; then \
		echo "installing axe-core $(AXE_VERSION) into $(AXE_DIR) (once)"; \
		npm install --prefix $(AXE_DIR) --no-audit --no-fund axe-core@$(AXE_VERSION); \
	fi

# make test tries it, and goes on without it (the checks then skip, except in CI).
.PHONY: axe-core-if-possible
axe-core-if-possible:
	@$(MAKE) --no-print-directory axe-core || echo "axe-core could not be installed: the browser tests skip their accessibility checks"

.PHONY: check-generated
check-generated: generate ## Fail when the committed generated files differ from a fresh generation
	@git diff --exit-code -- $(GEN_DIRS) || \
		{ echo "generated files are out of date: run make generate and commit"; exit 1; }
	@untracked="$$(git status --porcelain --untracked-files=all -- $(GEN_DIRS))"; \
	if [ -n "$$untracked" ]; then \
		echo "$$untracked"; \
		echo "generated files are not committed: run make generate and commit"; exit 1; \
	fi
