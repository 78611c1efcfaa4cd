# The module needs Go 1.27 (PocketBase v0.40); this downloads it through the
# module proxy on first use, whatever GOTOOLCHAIN the environment sets.
export GOTOOLCHAIN := go1.27.4
SHELL := /bin/bash

.PHONY: run build test bench vet

## run: build the shop and serve it on http://127.0.0.1:8090 (data in ./pb_data)
run: build
	./shop serve

## build: build the single shop binary ./shop
build:
	go build -o shop .

## test: every test, with the race detector; ends with "N passed, N failed"
test:
	@go test -race -count=1 -v ./... > test-output.log 2>&1; status=$$?; \
	grep -E '^(ok |FAIL|panic:)' test-output.log; \
	grep -E -A30 '^\s*--- FAIL' test-output.log | grep -vE '^\[' | head -200; \
	echo "$$(grep -cE '^--- PASS' test-output.log) passed, $$(grep -cE '^--- FAIL' test-output.log) failed"; \
	exit $$status

## bench: the performance figures quoted in the README
bench:
	go test -run '^$$' -bench 'OrderCreate|DispatchEmail|OrderEmailLatency' -benchtime 4x ./bench/
	go test -run '^$$' -bench TelegramDispatch -benchtime 1x ./bench/
	go test -run '^$$' -bench Claim -benchtime 2000x ./notify/
	go test -run '^$$' -bench . ./channels/telegram/

vet:
	go vet ./...
	test -z "$$(gofmt -l .)"
