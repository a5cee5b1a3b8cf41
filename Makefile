# Sightline — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

LAMBDAS := $(notdir $(wildcard functions/*))

.PHONY: demo test deps lint unit synth lambdas bench clean

## demo: run the whole pipeline locally on a generated day (DynamoDB Local and moto are started for you)
demo: deps
	$(GO) run ./infra/local demo

## test: every test — vet, unit and emulator integration tests, CDK synth with cdk-nag, cfn-lint
test: deps lint unit synth

## deps: install what the tests and the demo need (npm tools; Java 17 if missing)
deps:
	@./.ci/deps

lint:
	@test -z "$$(gofmt -l shared functions infra)" || { echo "gofmt needed:"; gofmt -l shared functions infra; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

## synth: synthesize both stacks (builds the Lambda binaries) and lint the templates
synth:
	npx cdk synth -o cdk.out --quiet
	cfn-lint cdk.out/SightlineVendor.template.json cdk.out/SightlineCustomer.template.json

## lambdas: the Lambda binaries for provided.al2023 on arm64
lambdas:
	@for f in $(LAMBDAS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w -buildid=" \
	    -o build/lambda/$$f/bootstrap ./functions/$$f || exit 1; done

## bench: the ingest throughput benchmarks (pipeline vs gunzip-only, in one run)
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkIngestPipeline|BenchmarkGunzipOnly' -benchmem -count 5 ./shared/ingest/

clean:
	rm -rf build cdk.out
