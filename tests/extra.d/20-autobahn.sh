#!/usr/bin/env bash
# Autobahn conformance of /echo on all three runtimes (see tests/autobahn/run.sh).
set -euo pipefail
exec bash "$(dirname "$0")/../autobahn/run.sh"
