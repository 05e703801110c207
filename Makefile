GO       ?= go
BIN      ?= bin/skiff
FUZZTIME ?= 10s
PKGS     := ./...

.PHONY: all build run test test-race test-unit test-integration fuzz bench lint verify clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/skiff

## run: a one-node broker on 127.0.0.1:9092 with data in ./data
run: build
	./$(BIN) start

## test: vet, then every test with the race detector
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-race: test

test-unit:
	$(GO) test -count=1 -skip 'TestCluster' $(PKGS)

## test-integration: the multi-node tests on real NodeHosts
test-integration:
	$(GO) test -race -count=1 -run 'TestCluster' -timeout 20m $(PKGS)

## fuzz: each fuzz target briefly (FUZZTIME=10m for a long run)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzKafkaFrame$$' -fuzztime $(FUZZTIME) ./kafka/
	$(GO) test -run '^$$' -fuzz '^FuzzSMDecode$$' -fuzztime $(FUZZTIME) ./statemachine/

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint: verify

## verify: gofmt, go vet and go mod tidy change nothing; kafka/ stays off node/statemachine/dragonboat
verify:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet $(PKGS)
	@! $(GO) list -f '{{join .Imports "\n"}}' ./kafka/... | grep -E 'skiff/(node|statemachine)|lni/dragonboat' || (echo "kafka/ must not import node, statemachine or dragonboat"; exit 1)
	@cp go.mod /tmp/skiff-go.mod.bak && cp go.sum /tmp/skiff-go.sum.bak && $(GO) mod tidy && \
	  if ! cmp -s go.mod /tmp/skiff-go.mod.bak || ! cmp -s go.sum /tmp/skiff-go.sum.bak; then \
	    cp /tmp/skiff-go.mod.bak go.mod; cp /tmp/skiff-go.sum.bak go.sum; echo "go mod tidy changes go.mod/go.sum"; exit 1; fi

clean:
	rm -rf bin
