#!/bin/sh
# SPDX-License-Identifier: MIT
# The systemd suite's checks, run by vmtest.service in the guest (booted with systemd) from the
# payload disk mounted on /run/payload: installs the `meson install --destdir` tree, then asserts
# what the unit promises. Output: "@@T <TAP line>" on the console; tests/systemd/run collects it.
# Every wait has a deadline; the whole run is bounded by vmtest.service and the host's timeout.
set -u
P=/run/payload
SVC=gpio2mqtt.service
CONF=/etc/gpio2mqtt/gpio2mqtt.conf
export SYSTEMD_PAGER= SYSTEMD_COLORS=0 LC_ALL=C.UTF-8

# ---------------------------------------------------------------- TAP
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
bail() { tap "Bail out! $*"; finish; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_until SECONDS SHELL-CONDITION: polls every 0.1 s until it holds (0) or the deadline (1).
wait_until() {
	_end=$(($(now_ms) + $1 * 1000))
	while :; do
		eval "$2" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -ge "$_end" ] && return 1
		sleep 0.1
	done
}
prop() { systemctl show -P "$1" "$SVC"; }
journal_since() { _c=$1; shift; journalctl -q -o cat --no-pager --after-cursor="$_c" "$@" 2>/dev/null; }
cursor() { journalctl -q -n 1 -o cat --show-cursor --no-pager 2>/dev/null | sed -n 's/^-- cursor: //p'; }

# mqtt_get TOPIC: the retained payload ("" when none within 2 s)
mqtt_get() { mosquitto_sub -h 127.0.0.1 -t "$1" -C 1 -W 2 2>/dev/null; }
# mqtt_wait TOPIC EXPECTED SECONDS
mqtt_wait() {
	_end=$(($(now_ms) + $3 * 1000))
	while :; do
		_v=$(mqtt_get "$1")
		[ "$_v" = "$2" ] && return 0
		[ "$(now_ms)" -ge "$_end" ] && { echo "$1: last seen '$_v', expected '$2'"; return 1; }
		sleep 0.2
	done
}

# ---------------------------------------------------------------- simulated board
# /run/gpio-sim-board/lines (gpio-sim-board.service): NAME OFFSET SIMDIR CHIP
sim_dir() { awk -v n="$1" '$1 == n { print $3 }' /run/gpio-sim-board/lines; }
sim_pull() { echo "pull-$2" >"$(sim_dir "$1")/pull"; }
sim_value() { cat "$(sim_dir "$1")/value"; }
CHIP=$(awk 'NR == 1 { print $4 }' /run/gpio-sim-board/lines 2>/dev/null)

finish() {
	if [ "$failed" != 0 ]; then
		diag "---- journalctl -u $SVC (last 60 lines) ----"
		diag "$(journalctl -q -o short-monotonic --no-pager -p info -u "$SVC" -n 60 2>&1)"
		diag "---- systemctl status $SVC ----"
		diag "$(systemctl status --no-pager -n 0 "$SVC" 2>&1)"
	fi
	tap "1..$n"
	exit "$failed"
}

# ---------------------------------------------------------------- the board, as installed
[ -n "$CHIP" ] && [ -c "/dev/$CHIP" ] || bail "no simulated board (gpio-sim-board.service: $(systemctl is-active gpio-sim-board.service))"
diag "systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), kernel $(uname -r), board on /dev/$CHIP ($(stat -c '%U:%G %a' "/dev/$CHIP") before the install)"
check "mosquitto is running" wait_until 30 'systemctl is-active --quiet mosquitto.service'

# ---------------------------------------------------------------- meson install --destdir
# GNU tar keeps the image's merged-/usr symlinks (/lib -> usr/lib) where cp -a would not.
check "install the meson install --destdir tree" sh -c \
	"tar -C '$P/destdir' -cf /tmp/destdir.tar . && tar -C / -xf /tmp/destdir.tar --keep-directory-symlink --no-overwrite-dir"
systemctl daemon-reload
check "gpio2mqtt --version runs in the image (libraries present)" gpio2mqtt --version
fragment=$(prop FragmentPath)
case $fragment in /usr/lib/systemd/system/* | /lib/systemd/system/*) ok "unit installed: $fragment" ;; *) not_ok "unit installed (FragmentPath '$fragment')" ;; esac
rule=$(ls /usr/lib/udev/rules.d/60-gpio2mqtt.rules /lib/udev/rules.d/60-gpio2mqtt.rules 2>/dev/null | head -n1)
check "udev rule installed (60-gpio2mqtt.rules)" test -n "$rule"
check "sysusers.d/gpio2mqtt.conf installed" test -e /usr/lib/sysusers.d/gpio2mqtt.conf
check "the configuration was installed ($CONF)" test -e "$CONF"

# Test-only drop-in: a short watchdog so that the SIGSTOP check takes seconds, not a minute.
mkdir -p /etc/systemd/system/$SVC.d
printf '[Service]\nWatchdogSec=3s\n' >/etc/systemd/system/$SVC.d/50-systemd-suite.conf
systemctl daemon-reload
case "$(prop DropInPaths)" in *50-systemd-suite.conf*) ok "test drop-in WatchdogSec=3s loaded" ;; *) not_ok "test drop-in WatchdogSec=3s loaded" ;; esac

# The adverse case: any udev event between the install and systemd-sysusers makes udevd load the
# new rule while the group does not exist yet ("Unknown group 'gpio', ignoring"); udevd re-reads
# rules only when a rules file changes (at most every 3 s), so "udevadm control --reload" alone
# does not repair it.
sleep 3.5   # set-up, not an assertion: past udevd's 3 s rules-check throttle
udevadm trigger --subsystem-match=gpio && udevadm settle -t 10
diag "an unrelated udev event before systemd-sysusers: /dev/$CHIP $(stat -c '%G:%a' "/dev/$CHIP")"
# README: "systemd-sysusers && systemctl restart systemd-udevd && udevadm trigger --subsystem-match=gpio"
check "README's sysusers + udev commands" sh -c 'systemd-sysusers && systemctl restart systemd-udevd && udevadm trigger --subsystem-match=gpio && udevadm settle -t 10'
gpio_gid=$(getent group gpio | cut -d: -f3)
check "group gpio exists (systemd-sysusers)" test -n "$gpio_gid"
wait_until 10 '[ "$(stat -c %G:%a /dev/$CHIP)" = gpio:660 ]'
is "$(stat -c %G:%a "/dev/$CHIP")" gpio:660 "/dev/$CHIP: group gpio, mode 0660 (udev rule)" || true
if [ "$(stat -c %G "/dev/$CHIP")" != gpio ]; then
	diag "---- udevadm test (what the rules give now) ----"
	diag "$(udevadm test "/sys/class/gpio/$CHIP" 2>&1 | grep -i 'gpio2mqtt.rules\|permissions\|group')"
	diag "---- journalctl -u systemd-udevd ----" "$(journalctl -q -o short-monotonic --no-pager -u systemd-udevd | tail -n 20)"
fi

BASE=$(gpio2mqtt --check --config "$CONF" 2>&1 | sed -n 's/.*base topic \([^ ,]*\).*/\1/p')
[ -n "$BASE" ] || bail "gpio2mqtt --check of $CONF: $(gpio2mqtt --check --config "$CONF" 2>&1)"
diag "configuration: the installed example, base topic $BASE"
cp "$CONF" /tmp/good.conf

# ---------------------------------------------------------------- start: Type=notify, READY
is "$(prop Type)" notify "Type=notify"
t0=$(now_ms)
check "systemctl start gpio2mqtt" timeout 60 systemctl start "$SVC"
t1=$(now_ms)
# Read at once: a Type=notify start job completes only when READY=1 arrives.
state=$(systemctl show -p ActiveState -p SubState -p MainPID -p StatusText "$SVC")
diag "start returned after $((t1 - t0)) ms:" "$state"
is "$(echo "$state" | sed -n 's/^ActiveState=//p')/$(echo "$state" | sed -n 's/^SubState=//p')" active/running \
	"active/running as soon as systemctl start returns"
[ "$(prop ActiveState)" = active ] || { failed=1; bail "the service did not start; the remaining checks need it"; }
pid=$(echo "$state" | sed -n 's/^MainPID=//p')
isnt "${pid:-0}" 0 "MainPID set ($pid)"
status=$(echo "$state" | sed -n 's/^StatusText=//p')
isnt "$status" "" "STATUS= text shown: '$status'"
check "the GPIO chip is open in the daemon at READY" sh -c "ls -l /proc/$pid/fd | grep -q '/dev/$CHIP\$'"
check "$BASE/status: online (retained)" mqtt_wait "$BASE/status" online 15

# ---------------------------------------------------------------- identity
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
groups=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$pid/status")
isnt "${uid:-0}" 0 "runs as a non-root user (uid $uid, DynamicUser)"
case " $groups " in *" $gpio_gid "*) ok "supplementary groups include gpio ($gpio_gid in:$groups)" ;;
	*) not_ok "supplementary groups include gpio"; diag "groups:$groups, gpio is $gpio_gid" ;; esac
is "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000 "no effective capabilities"
is "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status")" 1 "NoNewPrivs"

# ---------------------------------------------------------------- GPIO through MQTT
# The example: hall_light = GPIO27 (output), hall_button = GPIO17 (input, pull-up, active low).
mosquitto_pub -h 127.0.0.1 -t "$BASE/hall_light/set" -m ON -q 1
check "hall_light/set ON drives GPIO27 high" wait_until 10 '[ "$(sim_value GPIO27)" = 1 ]'
check "hall_light state ON published" mqtt_wait "$BASE/hall_light" ON 10
sim_pull GPIO17 down
check "GPIO17 pulled low: hall_button ON" mqtt_wait "$BASE/hall_button" ON 10
sim_pull GPIO17 up
check "GPIO17 released: hall_button OFF" mqtt_wait "$BASE/hall_button" OFF 10

# ---------------------------------------------------------------- reload, good configuration
systemctl log-level debug
c=$(cursor)
printf '\n# touched by the systemd suite\n' >>"$CONF"
check "systemctl reload (good configuration)" timeout 30 systemctl reload "$SVC"
check "daemon: the reloaded file is valid" wait_until 10 "journal_since '$c' -u $SVC | grep -q 'reload: .* is valid'"
wait_until 10 "journal_since '$c' -u $SVC | grep -q 'Got notification message from PID $pid (READY=1'"
j=$(journal_since "$c" -u "$SVC")
check "RELOADING=1 then READY=1 from the daemon (PID $pid)" sh -c "printf '%s\n' \"\$1\" | awk '/Got notification message from PID $pid \\(RELOADING=1/ { r = 1 } r && /Got notification message from PID $pid \\(READY=1/ { ok = 1 } END { exit !ok }'" _ "$j"
check "systemd: running -> reload -> running" sh -c "printf '%s\n' \"\$1\" | awk '/Changed running -> reload/ { r = 1 } r && /Changed reload -> running/ { ok = 1 } END { exit !ok }'" _ "$j"
is "$(prop ReloadResult 2>/dev/null || echo n/a)" success "ReloadResult=success"
is "$(prop ActiveState)/$(prop SubState)/$(prop MainPID)" "active/running/$pid" "still active, same MainPID"
systemctl log-level info
[ "$failed" = 0 ] || diag "journal of the reload:" "$j"

# ---------------------------------------------------------------- reload, bad configuration
printf 'frobnicate = 1;\n' >>"$CONF"
c=$(cursor)
check "systemctl reload (bad configuration) returns 0" timeout 30 systemctl reload "$SVC"
check "STATUS says the reload failed" wait_until 10 "prop StatusText | grep -q '^reload failed'"
diag "StatusText=$(prop StatusText)"
check "daemon logged the error with FILE:LINE" wait_until 10 "journal_since '$c' -u $SVC | grep -q '$CONF:[0-9]*: unknown key .frobnicate.'"
is "$(prop ActiveState)/$(prop SubState)/$(prop MainPID)" "active/running/$pid" "still active, same MainPID, old configuration in force"
mosquitto_pub -h 127.0.0.1 -t "$BASE/hall_light/set" -m OFF -q 1
check "still serving: hall_light/set OFF drives GPIO27 low" wait_until 10 '[ "$(sim_value GPIO27)" = 0 ]'
cp /tmp/good.conf "$CONF"
check "systemctl reload (fixed configuration)" timeout 30 systemctl reload "$SVC"
check "STATUS no longer says the reload failed" wait_until 10 "! prop StatusText | grep -q '^reload failed'"

# ---------------------------------------------------------------- watchdog
nr=$(prop NRestarts)
c=$(cursor)
kill -STOP "$pid"
check "SIGSTOPped daemon: watchdog restart within 30 s" wait_until 30 \
	'p=$(prop MainPID); [ "$p" != 0 ] && [ "$p" != "$pid" ] && [ "$(prop ActiveState)/$(prop SubState)" = active/running ]'
is "$(prop NRestarts)" "$((nr + 1))" "NRestarts $nr -> $((nr + 1))"
# journald writes asynchronously: on a busy machine the entry lands after the restart is seen
check "journal: watchdog timeout" wait_until 10 "journal_since '$c' -u $SVC | grep -q 'Watchdog timeout'"
check "the stopped process is gone" wait_until 5 "! kill -0 $pid"
pid=$(prop MainPID)
check "$BASE/status: online after the restart" mqtt_wait "$BASE/status" online 15

# ---------------------------------------------------------------- hardening
sec=$(systemd-analyze security --no-pager "$SVC" 2>&1)
score=$(printf '%s\n' "$sec" | sed -n "s/.*Overall exposure level for $SVC: \([0-9.]*\).*/\1/p")
diag "systemd-analyze security $SVC: exposure ${score:-?}; what counts against it:"
diag "$(printf '%s\n' "$sec" | grep '✗' | sed 's/  */ /g')"
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	ok "systemd-analyze security: exposure $score <= 2.0"
else
	not_ok "systemd-analyze security: exposure ${score:-?} <= 2.0"
	[ -n "$score" ] || diag "$sec"
fi
echo "@@SCORE ${score:-?}"

# ---------------------------------------------------------------- bad configuration at start
printf 'frobnicate = 1;\n' >>"$CONF"
c=$(cursor)
if timeout 60 systemctl restart "$SVC" 2>/dev/null; then
	not_ok "systemctl restart with a bad configuration fails"
else
	ok "systemctl restart with a bad configuration fails"
fi
nr=$(prop NRestarts) # a manual restart resets the counter
is "$(prop ActiveState)/$(prop Result)" failed/exit-code "unit failed (exit-code), no restart scheduled"
st=$(prop ExecMainStatus)
pre=$(prop ExecStartPre)
case "$(prop ExecMainCode)/$st $pre" in
	1/78*) ok "exit status 78 (main process)" ;;
	*"status=78"*) ok "exit status 78 (ExecStartPre)" ;;
	*) not_ok "exit status 78"; diag "ExecMainCode=$(prop ExecMainCode) ExecMainStatus=$st" "ExecStartPre=$pre" ;;
esac
check "journal: the configuration error" wait_until 10 "journal_since '$c' -u $SVC | grep -q 'unknown key .frobnicate.'"
# RestartSec=2s: a restart would have happened within 4 s.
if wait_until 4 '[ "$(prop NRestarts)" != "'"$nr"'" ] || [ "$(prop ActiveState)" != failed ]'; then
	not_ok "no restart loop"; diag "NRestarts $nr -> $(prop NRestarts), $(prop ActiveState)/$(prop SubState)"
else
	ok "no restart loop (NRestarts stays $nr, still failed after 4 s)"
fi

# ---------------------------------------------------------------- and back
cp /tmp/good.conf "$CONF"
systemctl reset-failed "$SVC"
check "fixed configuration: systemctl start" timeout 60 systemctl start "$SVC"
is "$(prop ActiveState)/$(prop SubState)" active/running "active/running again"
check "$BASE/status: online again" mqtt_wait "$BASE/status" online 15

# ---------------------------------------------------------------- PWM lights (issue 17)
# The hardened unit reaches the kernel's PWM sysfs through the udev rule (the gpio group) and
# ReadWritePaths=; the chip is tests/vm/pwm-test (platform device pwm-test.0), whose "applied"
# attribute shows the last state the PWM core applied to each channel.
if [ -f "$P/pwm-test.ko" ] && "$P/busybox" insmod "$P/pwm-test.ko"; then
	udevadm settle -t 10
	pchip=$(basename "$(ls -d /sys/devices/platform/pwm-test.0/pwm/pwmchip* 2>/dev/null | head -n1)")
	is "$(stat -c %G:%A "/sys/class/pwm/$pchip/export" 2>&1)" "gpio:--w--w----" "$pchip/export: group gpio, writable (udev rule)"
	printf 'lights = ( { name = "strip"; pwm = { chip = "pwm-test.0"; channel = 1; gamma = 1.0; };\n  transition_ms = 0; } );\n' >>"$CONF"
	c=$(cursor)
	check "with a PWM light: systemctl restart" timeout 60 systemctl restart "$SVC"
	check "$BASE/status: online with the light" mqtt_wait "$BASE/status" online 15
	mosquitto_pub -h 127.0.0.1 -t "$BASE/strip/set" -m 40 -q 1
	check "strip/set 40: the chip applies 400 us of 1 ms" wait_until 10 "grep -qx '1 1000000 400000 normal 1' /sys/devices/platform/pwm-test.0/applied"
	check "strip: ON published" mqtt_wait "$BASE/strip" ON 10
	is "$(stat -c %G "/sys/class/pwm/$pchip/pwm1/duty_cycle" 2>&1)" gpio "pwm1/duty_cycle: group gpio (udev rule, on the export)"
	check "systemctl stop (light)" timeout 30 systemctl stop "$SVC"
	check "the channel is unexported" test ! -e "/sys/class/pwm/$pchip/pwm1"
	[ "$failed" = 0 ] || diag "journal:" "$(journal_since "$c" -u "$SVC" | tail -n 20)"
	cp /tmp/good.conf "$CONF"
	check "systemctl start (without the light)" timeout 60 systemctl start "$SVC"
	check "$BASE/status: online again (without the light)" mqtt_wait "$BASE/status" online 15
else
	not_ok "the test PWM chip (pwm-test.ko on the payload) loads"
fi
check "systemctl stop" timeout 30 systemctl stop "$SVC"
check "$BASE/status: offline after stop" mqtt_wait "$BASE/status" offline 10
is "$(prop Result)" success "stopped cleanly (Result=success)"

finish
