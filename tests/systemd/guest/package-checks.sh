#!/bin/sh
# SPDX-License-Identifier: MIT
# The systemd suite's package checks (meson test systemd-package, tests/systemd/package-test):
# run by vmtest.service in the guest from the payload disk (/run/payload), which holds the
# amd64 gpio2mqtt .deb. Installs it with apt, runs the service from the package and purges it.
# Output: "@@T <TAP line>" on the console; tests/systemd/run collects it.
set -u
P=/run/payload
SVC=gpio2mqtt.service
CONF=/etc/gpio2mqtt/gpio2mqtt.conf
BASE=pkgtest
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- TAP
# The same few TAP helpers as checks.sh, on purpose: each guest script is the one file its
# test puts on the payload disk and runs there, so it carries its own.
n=0
failed=0
tap() { echo "@@T $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/@@T # /'; }
ok() { n=$((n + 1)); tap "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; tap "not ok $n - $*"; }
is() { # GOT EXPECTED DESC
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "got '$1', expected '$2'"; fi
}
isnt() { # GOT UNEXPECTED DESC
	if [ "$1" != "$2" ]; then ok "$3"; else not_ok "$3"; diag "got '$1'"; fi
}
check() { # DESC COMMAND...: ok when the command succeeds; its output is shown when not
	_d=$1; shift
	if _o=$("$@" 2>&1); then ok "$_d"; else not_ok "$_d"; [ -n "$_o" ] && diag "$_o"; fi
}
absent() { # PATH DESC: ok when nothing (not even a dangling symlink) is at PATH
	if [ -e "$1" ] || [ -L "$1" ]; then not_ok "$2"; diag "$(ls -ld "$1" 2>&1)"; else ok "$2"; fi
}
bail() { tap "Bail out! $*"; finish; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_until() { # SECONDS SHELL-CONDITION
	_end=$(($(now_ms) + $1 * 1000))
	while :; do
		eval "$2" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$_end" ] && return 1
		sleep 0.1
	done
}
prop() { systemctl show -P "$1" "$SVC"; }
mqtt_get() { mosquitto_sub -h 127.0.0.1 -t "$1" -C 1 -W 2 2>/dev/null; }
mqtt_wait() { # TOPIC EXPECTED SECONDS
	_end=$(($(now_ms) + $3 * 1000))
	while :; do
		_v=$(mqtt_get "$1")
		[ "$_v" = "$2" ] && return 0
		[ "$(now_ms)" -ge "$_end" ] && { echo "$1: last seen '$_v', expected '$2'"; return 1; }
		sleep 0.2
	done
}
sim_dir() { awk -v n="$1" '$1 == n { print $3 }' /run/gpio-sim-board/lines; }
sim_pull() { echo "pull-$2" >"$(sim_dir "$1")/pull"; }
sim_value() { cat "$(sim_dir "$1")/value"; }
CHIP=$(awk 'NR == 1 { print $4 }' /run/gpio-sim-board/lines 2>/dev/null)
# no_daemon: no process named gpio2mqtt (the image has no procps).
no_daemon() { for _p in /proc/[0-9]*; do [ "$(cat "$_p/comm" 2>/dev/null)" = gpio2mqtt ] && return 1; done; return 0; }

finish() {
	if [ "$failed" != 0 ]; then
		diag "---- journalctl -u $SVC (last 40 lines) ----"
		diag "$(journalctl -q -o short-monotonic --no-pager -p info -u "$SVC" -n 40 2>&1)"
	fi
	tap "1..$n"
	exit "$failed"
}

[ -n "$CHIP" ] && [ -c "/dev/$CHIP" ] || bail "no simulated board (gpio-sim-board.service: $(systemctl is-active gpio-sim-board.service))"
deb=$(ls "$P"/gpio2mqtt_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || bail "no gpio2mqtt .deb on the payload disk"
diag "systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $(basename "$deb"), /dev/$CHIP $(stat -c '%U:%G %a' "/dev/$CHIP") before the install"
check "mosquitto is running" wait_until 30 'systemctl is-active --quiet mosquitto.service'
check "no gpio group before the install" sh -c '! getent group gpio'

# ---------------------------------------------------------------- install
# In two steps, as apt runs dpkg, to provoke the adverse case between them: a udev event after
# the rule is unpacked and before the postinst runs. udevd then reads 60-gpio2mqtt.rules; had
# the gpio group not existed yet, it would keep the rule without its GROUP= and a later
# "udevadm control --reload" would not re-read the unchanged file (the preinst creates it).
cp "$deb" /tmp/
check "dpkg --unpack $(basename "$deb")" dpkg --unpack "/tmp/$(basename "$deb")"
check "the gpio group exists once the package is unpacked (preinst)" getent group gpio
sleep 3.5   # set-up, not an assertion: past udevd's 3 s rules-check throttle
udevadm trigger --subsystem-match=gpio && udevadm settle -t 10
diag "a udev event before the postinst: /dev/$CHIP $(stat -c '%G:%a' "/dev/$CHIP")"
check "dpkg --configure gpio2mqtt" dpkg --configure gpio2mqtt
is "$(dpkg-query -W -f '${db:Status-Abbrev}' gpio2mqtt 2>&1 | tr -d ' ')" ii "package installed (ii)"
check "gpio2mqtt --version" gpio2mqtt --version
case "$(dpkg-query -W -f '${Conffiles}' gpio2mqtt)" in
	*"$CONF "*) ok "$CONF is a conffile" ;;
	*) not_ok "$CONF is a conffile"; diag "Conffiles: $(dpkg-query -W -f '${Conffiles}' gpio2mqtt)" ;;
esac
check "the man pages are installed" test -e /usr/share/man/man8/gpio2mqtt.8.gz -a -e /usr/share/man/man5/gpio2mqtt.conf.5.gz
check "the example configurations are installed" test -e /usr/share/doc/gpio2mqtt/examples/gpio2mqtt.conf -a -e /usr/share/doc/gpio2mqtt/examples/light-control.conf
check "README.Debian is installed" test -e /usr/share/doc/gpio2mqtt/README.Debian
is "$(prop LoadState)" loaded "the unit is installed (LoadState=loaded)"
is "$(systemctl is-enabled "$SVC" 2>&1)" disabled "the unit is not enabled by the install"
is "$(prop ActiveState)" inactive "the service was not started by the install"
check "no gpio2mqtt process" no_daemon
gpio_gid=$(getent group gpio | cut -d: -f3)
check "the package created the gpio group (gid $gpio_gid)" test -n "$gpio_gid"
check "/dev/$CHIP: group gpio, mode 0660 (udev rule applied by the postinst)" \
	wait_until 10 '[ "$(stat -c %G:%a /dev/$CHIP)" = gpio:660 ]'
[ "$(stat -c %G:%a "/dev/$CHIP")" = gpio:660 ] || diag "/dev/$CHIP is $(stat -c %G:%a "/dev/$CHIP")"

# ---------------------------------------------------------------- edit the configuration, start
# The user's edits: their own base topic, and the output's level restored after a restart.
sed -i -e 's/^\(  keepalive = .*\)$/\1\n  base_topic = "'"$BASE"'";/' \
	-e '/name = "hall_light"/s/power_on = "off"/power_on = "restore"/' "$CONF"
check "the edited configuration passes gpio2mqtt --check" gpio2mqtt --check --config "$CONF"
check "gpio2mqtt --check: base topic $BASE" sh -c "gpio2mqtt --check --config $CONF 2>&1 | grep -q 'base topic $BASE'"
check "systemctl enable --now gpio2mqtt" timeout 60 systemctl enable --now "$SVC"
# Type=notify: the start job ended at READY=1.
is "$(prop ActiveState)/$(prop SubState)" active/running "active/running when systemctl returns (READY=1)"
pid=$(prop MainPID)
isnt "${pid:-0}" 0 "MainPID set ($pid)"
isnt "$(prop StatusText)" "" "STATUS= text: '$(prop StatusText)'"
is "$(systemctl is-enabled "$SVC" 2>&1)" enabled "enabled"
check "$BASE/status: online (the edited configuration is in force)" mqtt_wait "$BASE/status" online 15
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
case $uid in '' | 0) not_ok "runs as a non-root user (uid '$uid')" ;; *) ok "runs as a non-root user (uid $uid)" ;; esac

# ---------------------------------------------------------------- edges and commands
sim_pull GPIO17 down
check "GPIO17 pulled low: $BASE/hall_button ON published" mqtt_wait "$BASE/hall_button" ON 10
sim_pull GPIO17 up
check "GPIO17 released: $BASE/hall_button OFF published" mqtt_wait "$BASE/hall_button" OFF 10
mosquitto_pub -h 127.0.0.1 -t "$BASE/hall_light/set" -m ON -q 1
check "$BASE/hall_light/set ON drives GPIO27 high" wait_until 10 '[ "$(sim_value GPIO27)" = 1 ]'
check "the state directory is /var/lib/private/gpio2mqtt (DynamicUser)" test -d /var/lib/private/gpio2mqtt -a -L /var/lib/gpio2mqtt
check "the service keeps its state there" sh -c '[ -n "$(ls -A /var/lib/private/gpio2mqtt)" ]'

# ---------------------------------------------------------------- reload
printf '\n# edited again\n' >>"$CONF"
check "systemctl reload" timeout 30 systemctl reload "$SVC"
is "$(prop ReloadResult 2>/dev/null || echo n/a)" success "ReloadResult=success"
is "$(prop ActiveState)/$(prop SubState)/$(prop MainPID)" "active/running/$pid" "still running, same MainPID"

# ---------------------------------------------------------------- reinstall (upgrade path)
# apt installs a local .deb without package lists when its dependencies are installed.
check "apt-get install --reinstall ./$(basename "$deb") (service running)" apt-get install -y --reinstall "/tmp/$(basename "$deb")"
check "the edited conffile is kept" grep -q "base_topic = \"$BASE\"" "$CONF"
check "the running service was restarted" wait_until 15 '[ "$(prop ActiveState)/$(prop SubState)" = active/running ] && [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ]'
pid=$(prop MainPID)
check "GPIO27 still high after the restart (power_on = restore)" test "$(sim_value GPIO27)" = 1
is "$(systemctl is-enabled "$SVC" 2>&1)" enabled "still enabled"

# ---------------------------------------------------------------- stop, start
check "systemctl stop" timeout 30 systemctl stop "$SVC"
check "$BASE/status: offline after stop" mqtt_wait "$BASE/status" offline 10
is "$(prop Result)" success "stopped cleanly (Result=success)"
check "systemctl start" timeout 60 systemctl start "$SVC"
check "$BASE/status: online again" mqtt_wait "$BASE/status" online 15

# ---------------------------------------------------------------- remove, purge
check "apt-get remove gpio2mqtt (service running)" apt-get remove -y gpio2mqtt
check "the service was stopped (no gpio2mqtt process)" wait_until 10 no_daemon
check "$BASE/status: offline after remove" mqtt_wait "$BASE/status" offline 10
absent /usr/bin/gpio2mqtt "remove: the binary is gone"
check "remove keeps the configuration" test -e "$CONF"
check "remove keeps the state" test -d /var/lib/private/gpio2mqtt
check "apt-get purge gpio2mqtt" apt-get purge -y gpio2mqtt
is "$(dpkg-query -W -f '${db:Status-Abbrev}' gpio2mqtt 2>/dev/null | tr -d ' ')" "" "purge: dpkg knows nothing of gpio2mqtt"
absent /etc/gpio2mqtt "purge: /etc/gpio2mqtt is gone"
absent /var/lib/gpio2mqtt "purge: /var/lib/gpio2mqtt is gone"
absent /var/lib/private/gpio2mqtt "purge: /var/lib/private/gpio2mqtt is gone"
systemctl daemon-reload
is "$(prop LoadState)" not-found "purge: the unit is gone (LoadState=not-found)"
left=$(find /etc/systemd /lib/systemd/system /usr/lib/systemd/system /usr/lib/udev /usr/lib/sysusers.d \
	/usr/share/doc /usr/share/man /var/lib/systemd/deb-systemd-helper-enabled /var/lib/dpkg/info \
	-name '*gpio2mqtt*' 2>/dev/null)
is "$left" "" "purge: no file named gpio2mqtt left (unit, enablement links, udev rule, sysusers.d, docs, dpkg info)"

finish
