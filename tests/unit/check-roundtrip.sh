#!/bin/sh
# SPDX-License-Identifier: MIT
# `gpio2mqtt --check -v` prints a valid configuration: fed back to --check -v it is accepted
# (exit 0) and prints the same resolved configuration again.
# Usage: check-roundtrip.sh GPIO2MQTT   (run from tests/unit: relative paths in the golden
# inputs, such as password files, are relative to it)
# The inputs are those of the golden files: golden/conf-NAME.out is conf/NAME.conf (a shipped
# example), golden/NAME.out is config/good/NAME.conf; test_config_dump.c checks the same pairs.
set -eu
bin=$1
for golden in golden/*.out; do
	name=$(basename "$golden" .out)
	case $name in
	conf-*) set -- "$@" "../../conf/${name#conf-}.conf" ;;
	*) set -- "$@" "config/good/$name.conf" ;;
	esac
done
shift
for conf in ../../conf/*.conf; do
	[ -f "golden/conf-$(basename "$conf" .conf).out" ] || { echo "Bail out! $conf has no golden file"; exit 1; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export GPIO2MQTT_HOSTNAME=golden CREDENTIALS_DIRECTORY=
fail=0
n=0
for conf in "$@"; do
	n=$((n + 1))
	if ! ${MESON_EXE_WRAPPER:-} "$bin" --check --verbose -c "$conf" >"$dir/first.out" 2>"$dir/first.err"; then
		echo "not ok $n - $conf: the first --check -v failed"
		sed 's/^/# /' "$dir/first.err"
		fail=1
		continue
	fi
	head -n -1 "$dir/first.out" >"$dir/dump.conf"
	if ! ${MESON_EXE_WRAPPER:-} "$bin" --check --verbose -c "$dir/dump.conf" >"$dir/second.out" 2>"$dir/second.err"; then
		echo "not ok $n - $conf: its --check -v output is not a valid configuration"
		sed 's/^/# /' "$dir/second.err"
		fail=1
		continue
	fi
	if head -n -1 "$dir/second.out" | cmp -s "$dir/dump.conf" -; then
		echo "ok $n - $conf: --check -v output loads back to the same dump"
	else
		echo "not ok $n - $conf: the dump of the dump differs"
		head -n -1 "$dir/second.out" | diff -u "$dir/dump.conf" - | sed 's/^/# /'
		fail=1
	fi
done
echo "1..$n"
exit $fail
