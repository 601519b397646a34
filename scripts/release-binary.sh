#!/usr/bin/env bash
# Builds PRODUCT with -c release and prints the path of its binary, for the benchmark scripts.
# The build is quiet when it succeeds; when it fails it runs again with its output shown.
set -euo pipefail
cd "$(dirname "$0")/.."
product="$1"
echo "building $product (release)..." >&2
swift build -c release --product "$product" >/dev/null 2>&1 || swift build -c release --product "$product" >&2
echo "$(swift build -c release --show-bin-path 2>/dev/null)/$product"
