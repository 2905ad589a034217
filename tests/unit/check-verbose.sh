#!/bin/sh
# SPDX-License-Identifier: MIT
# The binary's `--check -v` prints exactly config_dump() (golden file) and then the OK line.
# Usage: check-verbose.sh GPIO2MQTT CONF GOLDEN
# In a cross build meson sets MESON_EXE_WRAPPER (the cross file's exe_wrapper, e.g. qemu-arm).
set -eu
bin=$1 conf=$2 golden=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
GPIO2MQTT_HOSTNAME=golden CREDENTIALS_DIRECTORY='' ${MESON_EXE_WRAPPER:-} "$bin" -n -v -c "$conf" >"$out"
tail -n 1 "$out" | grep -q '^configuration OK: ' || { echo "no OK line"; cat "$out"; exit 1; }
head -n -1 "$out" | diff -u "$golden" -
# --verbose is the long form
GPIO2MQTT_HOSTNAME=golden CREDENTIALS_DIRECTORY='' ${MESON_EXE_WRAPPER:-} "$bin" --check --verbose -c "$conf" | \
	head -n -1 | diff -u "$golden" -
