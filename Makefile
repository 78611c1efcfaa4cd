# The module needs Go 1.27 (PocketBase v0.40); this downloads it through the
# module proxy on first use, whatever GOTOOLCHAIN the environment sets.
export GOTOOLCHAIN := go1.27.4
SHELL := /bin/bash

SDK := pb_public/vendor/pocketbase.es.mjs

.PHONY: run build test test-go test-browser bench vet browser-deps

## run: build the shop and serve it on http://127.0.0.1:8090 (data in ./pb_data)
run: build
	@echo "Storefront: http://127.0.0.1:8090/   dashboard: http://127.0.0.1:8090/_/"
	./shop serve

## build: build the single shop binary ./shop, storefront included
build: $(SDK)
	go build -o shop .

# The storefront uses the official PocketBase JS SDK from npm, embedded in
# the binary at build time (not committed).
$(SDK): web/package.json web/package-lock.json
	npm --prefix web ci --no-audit --no-fund --loglevel=error
	mkdir -p $(dir $@)
	cp web/node_modules/pocketbase/dist/pocketbase.es.mjs $@

## test: every test: Go (race detector) and the browser tests; ends with "N passed, N failed"
test: build browser-deps
	@go test -race -count=1 -v ./... > test-output.log 2>&1; go_status=$$?; \
	(cd e2e && node --test --test-reporter=spec --test-reporter-destination=stdout \
		--test-reporter=tap --test-reporter-destination=../e2e-output.tap) > e2e-output.log 2>&1; e2e_status=$$?; \
	grep -E '^(ok |FAIL|panic:)' test-output.log; \
	grep -E -A30 '^\s*--- FAIL' test-output.log | grep -vE '^\[' | head -200; \
	grep -E '^# (tests|pass|fail)' e2e-output.tap | sed 's/^/browser: /'; \
	[ $$e2e_status -eq 0 ] || tail -80 e2e-output.log; \
	passed=$$(( $$(grep -cE '^--- PASS' test-output.log) + $$(sed -n 's/^# pass //p' e2e-output.tap) )); \
	failed=$$(( $$(grep -cE '^--- FAIL' test-output.log) + $$(sed -n 's/^# fail //p' e2e-output.tap) )); \
	echo "$$passed passed, $$failed failed"; \
	[ $$go_status -eq 0 ] && [ $$e2e_status -eq 0 ]

## browser-deps: Debian chromium and dbus-daemon (the tests play the desktop's
## notification service) and the e2e npm packages; root needed for apt
browser-deps:
	@command -v chromium >/dev/null && command -v dbus-daemon >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium dbus-daemon >/dev/null; }
	@npm --prefix e2e ci --no-audit --no-fund --loglevel=error

## bench: the performance figures quoted in the README; issue 8's goals are
## CPUPerOrder (plugin/hook), Saturation (ms-p99, duplicates) and SlowProvider
## (throughput/ideal, inbox and telegram slow/fast)
bench:
	go test -run '^$$' -bench 'OrderCreate|DispatchEmail|OrderEmailLatency' -benchtime 4x ./bench/
	go test -run '^$$' -bench 'TelegramDispatch|Saturation|SlowProvider' -benchtime 1x ./bench/
	go test -run '^$$' -bench CPUPerOrder -benchtime 3x ./bench/
	go test -run '^$$' -bench StoragePerOrder -benchtime 1x ./bench/
	go test -run '^$$' -bench 'TrackingDispatch|Stats$$' -benchtime 4x ./bench/
	go test -run '^$$' -bench Claim -benchtime 2000x ./notify/internal/outbox/
	go test -run '^$$' -bench . ./channels/telegram/

vet:
	go vet ./...
	test -z "$$(gofmt -l .)"
