# phoneapi — run `make` (or `make help`) to list the targets.
GO      ?= go
BIN     := bin/phoneapi
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.DEFAULT_GOAL := help
.PHONY: help generate check-generate build run test lint tidy clean bench bench-data tools lint-spec contract fuzz soak
.PHONY: generate-ts tools-ts typecheck-ts
.PHONY: breaking api-changelog check-api-changelog publish-api sandbox
.PHONY: check-deploy

# The TypeScript client (clients/typescript): its types are generated from
# openapi.yaml like generated/, so make generate and check-generate cover them.
TS_CLIENT := clients/typescript
GENERATED := generated $(TS_CLIENT)/src/schema.ts

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

generate: generate-ts ## Regenerate generated/ (oapi-codegen) and clients/typescript/src/schema.ts (openapi-typescript) from openapi.yaml
	$(GO) generate ./generated/...

check-generate: generate ## Fail if generated/ or the TypeScript client's types are out of sync with openapi.yaml
	@git diff --exit-code --stat -- $(GENERATED) || \
		(echo "generated code is out of date: run 'make generate' and commit the result" >&2; exit 1)
	@test -z "$$(git status --porcelain -- $(GENERATED))" || \
		(echo "generated code has untracked changes: run 'make generate' and commit the result" >&2; git status --porcelain -- $(GENERATED) >&2; exit 1)

# generate-ts installs the client's pinned packages first when they are
# missing, so that make generate and check-generate work on a clean clone
# (CI runs check-generate before make tools).
generate-ts: ## Regenerate clients/typescript/src/schema.ts from openapi.yaml with the pinned openapi-typescript
	@test -x $(TS_CLIENT)/node_modules/.bin/openapi-typescript || $(MAKE) --no-print-directory tools-ts
	cd $(TS_CLIENT) && node_modules/.bin/openapi-typescript ../../openapi.yaml --output src/schema.ts

tools-ts: ## Install the TypeScript client's pinned npm packages (clients/typescript/package-lock.json)
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund

typecheck-ts: ## tsc --strict on the TypeScript client and its e2e script (needs make tools)
	@test -x $(TS_CLIENT)/node_modules/.bin/tsc || \
		(echo "the TypeScript client's packages are not installed: run 'make tools'" >&2; exit 1)
	npm --prefix $(TS_CLIENT) run typecheck

build: ## Build bin/phoneapi
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/phoneapi

run: build ## Serve on 127.0.0.1:8080 with ./phoneapi.db (override with PHONEAPI_* variables)
	./$(BIN) serve

sandbox: build ## Sandbox on 127.0.0.1:8080: a temporary database with the example fixture, tokens on stdout, POST /sandbox/reset
	./$(BIN) sandbox

test: ## Run every test with the race detector
	$(GO) test -race -count=1 ./...
	$(GO) -C tools/oasdiff test -race -count=1 ./...

bench-data: ## Build the cached 1k- and 1M-phone benchmark databases (cached in PHONEAPI_BENCH_DIR, default TMPDIR/phoneapi-bench)
	$(GO) test -run '^$$' -bench BenchmarkReads -benchtime 1x ./handlers

BENCH_DURATION ?= 3s
# phoneapi-bench runs twice, each seed shaped for its operations: the five
# default ones on 25 phones a person (list reads a full default page), then
# people-include and people-include-fields on 3 (500 people a page, 1,500
# phones included; at 25 a page would pass phoneapi's 10,000 included).
bench: build bench-data ## Go benchmarks (-count=5, allocations), then two short phoneapi-bench --compare-baseline runs (BENCH_DURATION per operation, default 3s)
	$(GO) test -run '^$$' -bench . -benchmem -count=5 ./...
	$(GO) run ./cmd/phoneapi-bench -bin $(BIN) --compare-baseline -c 32 -d $(BENCH_DURATION) -warmup 1s -rounds 3 -phones-per-person 25
	$(GO) run ./cmd/phoneapi-bench -bin $(BIN) --compare-baseline -c 32 -d $(BENCH_DURATION) -warmup 1s -rounds 3 -phones-per-person 3 -ops people-include,people-include-fields

FUZZTIME ?= 30s
# package:target for every go test -fuzz target (each is also a regular test over its seed corpus)
FUZZ_TARGETS := ./handlers:FuzzBodyCheck ./handlers:FuzzBodyAccepted ./handlers:FuzzRequestBody ./handlers:FuzzQueryParse ./handlers:FuzzQuery \
	./handlers/phonenum:FuzzParse ./handlers/phonenum:FuzzFromJSON

fuzz: ## Run each fuzz target for FUZZTIME (default 30s); crashers land in <pkg>/testdata/fuzz (tools/fuzz.sh)
	@GO=$(GO) tools/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

SOAK_DURATION ?= 60s

soak: build ## Mixed load (64 clients, 8 users) against a real server for SOAK_DURATION (default 60s), then a consistency check
	$(GO) run ./cmd/phoneapi-soak -bin $(BIN) -duration $(SOAK_DURATION)

tools: ## Install the pinned npm tools (tools/package-lock.json) into tools/node_modules
	npm ci --prefix tools --no-audit --no-fund
	$(MAKE) --no-print-directory tools-ts

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); test -z "$$out" || (echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1)

lint-spec: ## Lint openapi.yaml and handlers/sandbox.yaml with Spectral (spectral:oas) and Redocly (recommended); any warning fails
	@test -x tools/node_modules/.bin/spectral -a -x tools/node_modules/.bin/redocly || \
		(echo "the spec linters are not installed: run 'make tools'" >&2; exit 1)
	tools/node_modules/.bin/spectral lint --ruleset .spectral.yaml --fail-severity warn openapi.yaml handlers/sandbox.yaml
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_NOTIFICATIONS=true \
		tools/node_modules/.bin/redocly lint --config redocly.yaml --lint-config error openapi.yaml handlers/sandbox.yaml

contract: ## Live contract test: redocly respect (Arazzo) and the e2e tests through a Prism proxy, against a real server (needs `make tools`)
	GO=$(GO) bash tools/contract.sh

# The API contract gate (tools/oasdiff: oasdiff pinned in its own module, run
# by tools/oasdiff/apigate). See README's "Contract, docs and client".
APIGATE  = $(GO) -C tools/oasdiff run ./apigate
API_DIFF = -go $(GO) -severity-levels $(CURDIR)/tools/api/severity-levels.txt \
	-base $(CURDIR)/tools/api/published.yaml -revision $(CURDIR)/openapi.yaml

breaking: ## Fail on a breaking change from tools/api/published.yaml to openapi.yaml not in tools/api/accepted-breaking.yaml (oasdiff)
	$(APIGATE) breaking $(API_DIFF) -accepted $(CURDIR)/tools/api/accepted-breaking.yaml

api-changelog: ## Regenerate tools/api/CHANGELOG.md's Unreleased block (oasdiff changelog published -> openapi.yaml)
	$(APIGATE) changelog $(API_DIFF) -changelog $(CURDIR)/tools/api/CHANGELOG.md

check-api-changelog: ## Fail if tools/api/CHANGELOG.md is out of date with openapi.yaml
	$(APIGATE) changelog -check $(API_DIFF) -changelog $(CURDIR)/tools/api/CHANGELOG.md

publish-api: breaking ## Release the contract: make publish-api VERSION=vX.Y.Z (snapshot, empty accepted list, changelog section)
	@case "$(origin VERSION)" in command*|environment*) ;; *) echo "usage: make publish-api VERSION=vX.Y.Z" >&2; exit 1;; esac
	$(APIGATE) publish -version $(VERSION) $(API_DIFF) -accepted $(CURDIR)/tools/api/accepted-breaking.yaml -changelog $(CURDIR)/tools/api/CHANGELOG.md

check-deploy: build ## Check deploy/phoneapi.service with systemd-analyze verify and security (skipped without systemd-analyze)
	tools/check-deploy.sh $(BIN)

tidy: ## go mod tidy
	$(GO) mod tidy

clean: ## Remove build output
	rm -rf bin
