# cacheport: the front door. `make help` lists every routine action.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
VENV      ?= $(or $(CACHEPORT_VENV),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/cacheport/venv)
export PATH := $(GOBIN):$(VENV)/bin:$(PATH)
export CACHEPORT_SHARED ?= $(abspath $(CURDIR)/../shared)

FUNCTIONS  := start-export verify-export cleanup-export grant-bucket-access audit memcached-export
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS = -tags lambda.norpc -trimpath -ldflags='-s -w -buildid= -X main.version=$(VERSION)'
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TEST_TIMEOUT ?= 25m
FUZZTIME   ?= 15s
# FUZZ lists package:FuzzTarget pairs that `make fuzz` (and so `make test`) runs for FUZZTIME each.
FUZZ       ?= $(shell grep -rls --include='*_test.go' '^func Fuzz' shared 2>/dev/null | xargs -r grep -ho '^func Fuzz[A-Za-z0-9_]*' | sed 's/^func //' | sort -u)

.PHONY: help
help: ## list the routine actions
	@grep -hE '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: tools
tools: ## install the pinned tools and servers the tests use (apt, pip venv, go install)
	bash .ci/install-tools

.PHONY: build
build: ## build every Lambda bootstrap (linux/arm64) under bin/ and the cacheport CLI
	@for f in $(FUNCTIONS); do \
	  $(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o bin/$$f/bootstrap ./functions/$$f; \
	  printf '%-22s %6s KiB\n' "$$f" "$$(( $$(stat -c %s bin/$$f/bootstrap) / 1024 ))"; \
	done
	$(GO) build -trimpath -ldflags="-X main.version=$(VERSION)" -o bin/cacheport ./cmd/cacheport

# SAM's makefile builder calls build-<LogicalId> with ARTIFACTS_DIR set.
build-StartExportFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/start-export
build-VerifyExportFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/verify-export
build-CleanupExportFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/cleanup-export
build-GrantBucketAccessFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/grant-bucket-access
build-AuditFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/audit
build-MemcachedExportFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/memcached-export

.PHONY: lint
lint: ## go vet, staticcheck, cfn-lint, sam validate --lint, checkov
	$(GO) vet ./...
	staticcheck ./...
	cfn-lint template.yaml
	sam validate --lint --template template.yaml --region us-east-1
	checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

.PHONY: sam-build
sam-build: ## sam build (the template's functions, through the build-* targets)
	sam build --template template.yaml --build-dir .aws-sam/build

.PHONY: unit
unit: ## go test: unit and integration tests (starts real servers itself)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

.PHONY: fuzz
fuzz: ## a short run of every fuzz target (FUZZTIME each)
	@for f in $(FUZZ); do \
	  pkg=$$(grep -rl --include='*_test.go' "^func $$f(" shared | head -1 | xargs dirname); \
	  echo "fuzz $$f in ./$$pkg for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./$$pkg; \
	done

.PHONY: test
test: lint sam-build unit fuzz ## the one test command: lint, sam build, every test, a short fuzz run

.PHONY: bench
bench: ## benchmarks that print figures (go test -bench, whole-program comparisons)
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 30m ./...
	bash scripts/bench-rdb.sh

.PHONY: demo
demo: ## the export -> verify -> cleanup cycle against the local AWS twin (no AWS account)
	$(GO) build -trimpath -ldflags="-X main.version=$(VERSION)" -o bin/cacheport ./cmd/cacheport
	bin/cacheport demo --out demo-output

.PHONY: package
package: build ## zip each bootstrap for upload (dist/<function>.zip)
	@mkdir -p dist
	@for f in $(FUNCTIONS); do (cd bin/$$f && rm -f ../../dist/$$f.zip && zip -q -X ../../dist/$$f.zip bootstrap); done
	@ls -l dist

.PHONY: clean
clean: ## remove build output
	rm -rf bin dist .aws-sam
