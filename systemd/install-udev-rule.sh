#!/bin/sh
# meson install script: install the udev rule for /dev/gpiochip* unless the system already has
# one giving the gpio group access (Raspberry Pi OS does). Into a DESTDIR (a package or an
# image) the rule always goes: the target system is not this one.
# On a live install the gpio group is created first (systemd-sysusers), so that udevd never
# reads the rule while the group is unknown.
set -eu
rulesdir="$1"
rule="$2"
sysusers="${3:-}"
if [ -z "${DESTDIR:-}" ]; then
	for dir in /etc/udev/rules.d /lib/udev/rules.d /usr/lib/udev/rules.d; do
		[ -d "$dir" ] || continue
		for f in "$dir"/*.rules; do
			[ -f "$f" ] || continue
			case "$(basename "$f")" in 60-gpio2mqtt.rules) continue ;; esac
			if grep -q 'gpiochip' "$f" && grep -q 'GROUP="gpio"' "$f"; then
				echo "Keeping the existing gpio rule in $f"
				exit 0
			fi
		done
	done
	if [ -n "$sysusers" ] && [ -f "$sysusers" ] && command -v systemd-sysusers >/dev/null; then
		systemd-sysusers "$sysusers" || echo "systemd-sysusers failed: create the gpio group by hand"
	fi
fi
dest="${DESTDIR:-}$rulesdir"
mkdir -p "$dest"
install -m 0644 "$rule" "$dest/60-gpio2mqtt.rules"
echo "Installing $dest/60-gpio2mqtt.rules"
