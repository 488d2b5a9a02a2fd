#!/usr/bin/env bash
# Fails when the build, the tests or the scripts used a Debian package that scripts/setup.sh
# neither installs nor pulls in through Depends (so a package installed by hand cannot hide
# a missing install step). Run by .ci/run after the build; see scripts/check_setup.py.
# Usage: scripts/check_setup.sh [--build DIR] [--setup FILE]
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/check_setup.py" "$@"
