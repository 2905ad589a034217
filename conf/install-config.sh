#!/bin/sh
# meson install script: install the example configuration as the live one unless one exists.
set -eu
prefix=${MESON_INSTALL_DESTDIR_PREFIX:?}
case "$1" in
/*) dir="${DESTDIR:-}$1" ;;
*) dir="$prefix/$1" ;;
esac
example="$prefix/$2"
mkdir -p "$dir"
if [ -e "$dir/gpio2mqtt.conf" ]; then
	echo "Keeping the existing $dir/gpio2mqtt.conf"
else
	install -m 0644 "$example" "$dir/gpio2mqtt.conf"
	echo "Installing $dir/gpio2mqtt.conf"
fi
