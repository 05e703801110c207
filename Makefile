GO       ?= go
BIN      ?= bin/skiff
FUZZTIME ?= 10s
PKGS     := ./...
TESTING_ALLOWED := github.com/lni/vfs|github.com/lni/dragonboat/v4/internal/vfs

.PHONY: all build run test test-race test-unit test-integration test-java chaos fuzz bench bench-cli bench-kafka lint verify clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/skiff

## run: a one-node broker on 127.0.0.1:9092 with data in ./data
run: build
	./$(BIN) start

## test: vet, then every test with the race detector, then the Java compatibility tests
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) test-java

## test-java: Kafka's Java client and tools against a 3-node cluster of bin/skiff processes
## (compat/java, JUnit 5 through Maven). Skipped with a message when java 17+ or mvn is missing,
## unless SKIFF_REQUIRE_JAVA=1 (CI), which makes that an error.
test-java: build
	@if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1 || \
	    [ "$$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)" -lt 17 ]; then \
	  if [ -n "$$SKIFF_REQUIRE_JAVA" ]; then echo "test-java: java 17+ and mvn are required (SKIFF_REQUIRE_JAVA is set)"; exit 1; fi; \
	  echo "test-java: SKIPPED: the Java compatibility tests need java 17+ and mvn on PATH (apt-get install openjdk-17-jdk-headless maven)"; \
	else \
	  cd compat/java && SKIFF_BIN="$(abspath $(BIN))" mvn -B -ntp test; \
	fi

test-race: test

test-unit:
	$(GO) test -count=1 -skip 'TestCluster|TestChaos' $(PKGS)

## test-integration: the multi-node tests on real NodeHosts, and the short chaos tests on real processes
test-integration:
	$(GO) test -race -count=1 -run 'TestCluster|TestChaos' -timeout 20m $(PKGS)

## chaos: the long fault-injection runs on real skiff processes (many minutes: kills, partitions,
## full restarts); prints the FIGURES lines. CHAOS_ARGS adds flags, e.g. CHAOS_ARGS='-run Crash'
chaos:
	SKIFF_CHAOS_LONG=1 $(GO) test -race -count=1 -timeout 90m -v $(CHAOS_ARGS) ./cmd/broker/chaostest/

## fuzz: each fuzz target briefly (FUZZTIME=10m for a long run)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzKafkaFrame$$' -fuzztime $(FUZZTIME) ./kafka/
	$(GO) test -run '^$$' -fuzz '^FuzzSMDecode$$' -fuzztime $(FUZZTIME) ./statemachine/
	$(GO) test -run '^$$' -fuzz '^FuzzSMRecoverSnapshot$$' -fuzztime $(FUZZTIME) ./statemachine/
	$(GO) test -run '^$$' -fuzz '^FuzzGrouplogParseBatches$$' -fuzztime $(FUZZTIME) ./statemachine/grouplog/
	$(GO) test -run '^$$' -fuzz '^FuzzDatagroupDecode$$' -fuzztime $(FUZZTIME) ./statemachine/datagroup/

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## bench-cli: the `skiff bench` runs of README's Benchmarks section (in-process clusters; ~10 minutes)
bench-cli: build
	./$(BIN) bench topics --topics 1500 --partitions 3 --concurrency 1 --compare seed,kfake
	./$(BIN) bench topics --topics 1500 --partitions 3 --concurrency 32 --compare seed,kfake
	./$(BIN) bench topics --duration 10s --partitions 3 --concurrency 32 --skip-ready --compare seed,kfake
	./$(BIN) bench topics --topics 500 --partitions 10 --topics-per-request 100 --concurrency 4 --compare seed,kfake
	./$(BIN) bench topics --topics 20000 --partitions 10 --topics-per-request 100 --concurrency 4 --skip-ready --compare kfake
	./$(BIN) bench produce --duration 10s --record-size 1024 --acks all --logdb pebble --compare kfake
	./$(BIN) bench produce --duration 10s --record-size 1024 --acks all --logdb tan --compare kfake
	./$(BIN) bench produce --duration 10s --record-size 1024 --acks all --max-buffered 1000 --compare kfake
	./$(BIN) bench consume --count 300000 --record-size 1024 --compare kfake

## bench-kafka: the runs of README's "Against Apache Kafka" section: the same workloads on Apache Kafka
## (3 JVMs, KRaft; needs java 17+, and mvn for the first run, which fetches the jars; ~20 minutes)
bench-kafka: build
	./$(BIN) bench topics --topics 1500 --partitions 3 --concurrency 1 --compare kfake,kafka
	./$(BIN) bench topics --topics 1500 --partitions 3 --concurrency 32 --compare kfake,kafka
	./$(BIN) bench produce --duration 10s --record-size 1024 --acks all --compare kfake,kafka,kafka-fsync
	./$(BIN) bench produce --duration 10s --record-size 1024 --acks all --max-buffered 1000 --compare kafka,kafka-fsync
	./$(BIN) bench consume --count 300000 --record-size 1024 --compare kfake,kafka

lint: verify

## verify: gofmt, go vet and go mod tidy change nothing; kafka/ stays off node/statemachine/dragonboat;
## nothing in the skiff binary imports package testing but Dragonboat's vfs packages (ReportLeakedFD
## takes a *testing.T there; we cannot change that)
verify:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet $(PKGS)
	@! $(GO) list -f '{{join .Imports "\n"}}' ./kafka/... | grep -E 'skiff/(node|statemachine)|lni/dragonboat' || (echo "kafka/ must not import node, statemachine or dragonboat"; exit 1)
	@bad="$$($(GO) list -deps -f '{{range .Imports}}{{if eq . "testing"}}{{$$.ImportPath}}{{"\n"}}{{end}}{{end}}' ./cmd/skiff | \
	  grep -vxE '$(TESTING_ALLOWED)')"; \
	  test -z "$$bad" || (echo "the skiff binary must not link package testing; imported by:"; echo "$$bad"; exit 1)
	@cp go.mod /tmp/skiff-go.mod.bak && cp go.sum /tmp/skiff-go.sum.bak && $(GO) mod tidy && \
	  if ! cmp -s go.mod /tmp/skiff-go.mod.bak || ! cmp -s go.sum /tmp/skiff-go.sum.bak; then \
	    cp /tmp/skiff-go.mod.bak go.mod; cp /tmp/skiff-go.sum.bak go.sum; echo "go mod tidy changes go.mod/go.sum"; exit 1; fi

clean:
	rm -rf bin
