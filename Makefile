# Developer tasks. `make help` lists them.

.PHONY: help screenshots

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

screenshots: ## regenerate docs/img/dashboard-*.png with headless Chromium (needs /usr/bin/chromium)
	NANGO_SCREENSHOTS=$(CURDIR)/docs/img NANGO_TEST_BROWSER_REQUIRED=1 go test ./internal/dashboard -run '^TestScreenshots$$' -count=1 -v
