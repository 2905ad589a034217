# SPDX-License-Identifier: MIT
# Helpers for VM scenarios (busybox ash). The runner sources this before each scenario; sourcing
# it again from a scenario is harmless. See tests/vm/README.md for the interface.

[ -n "${VM_LIB_LOADED:-}" ] && return 0
VM_LIB_LOADED=1

VM_RUN=/run/vm                 # per-boot state (board map, pids, logs)
VM_BROKER_HOST=127.0.0.1
VM_BROKER_PORT=1883
DAEMON_LOG=$VM_RUN/daemon.log
DAEMON_PID=
DAEMON_STATUS=
mkdir -p "$VM_RUN"

# ---------------------------------------------------------------- TAP
_tap_n=0
_tap_failed=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# skip DESC REASON
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP ${2:-}"; }
# is GOT EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; diag "  got:      '$1'" "  expected: '$2'"; return 1; fi
}
# isnt GOT UNEXPECTED DESC
isnt() {
	if [ "$1" != "$2" ]; then ok "$3"; else not_ok "$3"; diag "  got '$1', expected anything else"; return 1; fi
}
# check DESC COMMAND [ARGS...]: ok when the command succeeds
check() {
	_d=$1; shift
	if "$@"; then ok "$_d"; else _rc=$?; not_ok "$_d"; diag "  command failed (status $_rc): $*"; return 1; fi
}
# like GOT REGEX DESC (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then ok "$3"; else not_ok "$3"; diag "  got: '$1'" "  expected to match: /$2/"; return 1; fi
}
# bail MESSAGE: fail and end the scenario now
bail() { not_ok "$*"; exit 1; }

# Called on exit by the runner: stops what the scenario started, prints the plan.
vm_finish() {
	_rc=$?
	trap - EXIT
	daemon_kill >/dev/null 2>&1
	mqtt_record_stop >/dev/null 2>&1
	line_watch_stop >/dev/null 2>&1
	# whatever else the scenario left running in the background must not outlive it
	_jobs=$(jobs -p 2>/dev/null)
	[ -n "$_jobs" ] && kill -KILL $_jobs 2>/dev/null
	killall -q -KILL gpioset gpiomon gpionotify gpioget mosquitto_sub mosquitto_pub notify-listen 2>/dev/null
	if [ "$_rc" -ne 0 ] && [ "$_tap_failed" -eq 0 ]; then
		not_ok "scenario exited with status $_rc"
	fi
	if [ "$_tap_n" -eq 0 ]; then not_ok "scenario made no checks"; fi
	if [ "$_tap_failed" -gt 0 ] && [ -s "$DAEMON_LOG" ]; then
		diag "daemon log ($DAEMON_LOG):"
		sed 's/^/#   /' "$DAEMON_LOG" | tail -n 60
	fi
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ] && [ "$_rc" -eq 0 ]
	exit $?
}

# now_ms: monotonic milliseconds; sleep_ms N
now_ms() { read -r _up _ </proc/uptime; _s=${_up%.*}; _c=${_up#*.}; echo $((_s * 1000 + ${_c#0} * 10)); }
sleep_ms() { usleep $(($1 * 1000)); }

# pid_gone PID: the process has exited (gone or a zombie)
pid_gone() { [ ! -e "/proc/$1" ] || awk '{ exit $3 != "Z" }' "/proc/$1/stat" 2>/dev/null; }

# wait_until TIMEOUT_S COMMAND [ARGS...]: polls the command every 50 ms until it succeeds;
# status 1 on timeout. A single argument is eval'ed: wait_until 5 '[ "$(sim_value GPIO4)" = 1 ]'
wait_until() {
	_dl=$(($(now_ms) + $1 * 1000)); shift
	while ! if [ $# -eq 1 ]; then eval "$1"; else "$@"; fi; do
		[ "$(now_ms)" -ge "$_dl" ] && return 1
		usleep 50000
	done
	return 0
}

# ---------------------------------------------------------------- simulated board
# Two gpio-sim devices: "pinctrl-bcm2711" (28 lines GPIO0..GPIO27, like a Pi header) and
# "gpio-sim-expander" (16 lines EXP0..EXP15). $VM_RUN/lines maps "NAME LABEL OFFSET SYSFSDIR CHIP".
VM_CFS=/sys/kernel/config/gpio-sim

_sim_destroy() {
	for _dev in "$VM_CFS"/*; do
		[ -d "$_dev" ] || continue
		[ "$(cat "$_dev/live")" = 1 ] && echo 0 >"$_dev/live"
		for _bank in "$_dev"/bank*; do
			[ -d "$_bank" ] || continue
			for _line in "$_bank"/line*; do
				[ -d "$_line/hog" ] && rmdir "$_line/hog"
				rmdir "$_line"
			done
			rmdir "$_bank"
		done
		rmdir "$_dev"
	done
}

# _sim_create DEV LABEL NLINES NAMEPREFIX
_sim_create() {
	_d=$VM_CFS/$1
	mkdir "$_d" "$_d/bank0"
	echo "$3" >"$_d/bank0/num_lines"
	echo "$2" >"$_d/bank0/label"
	_i=0
	while [ "$_i" -lt "$3" ]; do
		mkdir "$_d/bank0/line$_i"
		echo "$4$_i" >"$_d/bank0/line$_i/name"
		_i=$((_i + 1))
	done
	echo 1 >"$_d/live"
	_dev=$(cat "$_d/dev_name"); _chip=$(cat "$_d/bank0/chip_name")
	_i=0
	while [ "$_i" -lt "$3" ]; do
		echo "$4$_i $2 $_i /sys/devices/platform/$_dev/$_chip/sim_gpio$_i $_chip" >>"$VM_RUN/lines"
		_i=$((_i + 1))
	done
}

# board_reset: kills every GPIO user, recreates both chips (all pulls back to pull-down).
board_reset() {
	daemon_kill >/dev/null 2>&1
	killall -q -KILL gpio2mqtt gpioset gpioget gpiomon gpionotify 2>/dev/null
	usleep 20000
	_sim_destroy
	: >"$VM_RUN/lines"
	_sim_create board pinctrl-bcm2711 28 GPIO
	_sim_create expander gpio-sim-expander 16 EXP
}

# _sim_find LINE: sets _sim_dir and _sim_chip. LINE: a line name (GPIO17, EXP3), LABEL:OFFSET
# (gpio-sim-expander:3) or CHIP:OFFSET (gpiochip1:3).
_sim_find() {
	case $1 in
		*:*) set -- $(awk -v l="${1%:*}" -v o="${1##*:}" '($2 == l || $5 == l) && $3 == o { print $4, $5; exit }' "$VM_RUN/lines") ;;
		*) set -- $(awk -v n="$1" '$1 == n { print $4, $5; exit }' "$VM_RUN/lines") ;;
	esac
	[ -n "${1:-}" ] || { echo "sim: unknown line" >&2; return 1; }
	_sim_dir=$1 _sim_chip=$2
}

# sim_pull LINE up|down: drives an input from outside (what a button or sensor would do).
sim_pull() {
	_sim_find "$1" || return 1
	case $2 in up | 1 | pull-up) echo pull-up ;; down | 0 | pull-down) echo pull-down ;; *) return 2 ;; esac >"$_sim_dir/pull"
}
# sim_value LINE: prints 0 or 1, the level on the line (what a consumer drives, else the pull).
sim_value() { _sim_find "$1" || return 1; cat "$_sim_dir/value"; }
# sim_chip LINE: prints the gpiochipN the line belongs to; sim_path LINE: its sim_gpioK dir.
sim_chip() { _sim_find "$1" || return 1; echo "$_sim_chip"; }
sim_path() { _sim_find "$1" || return 1; echo "$_sim_dir"; }
# sim_toggle LINE N [PAUSE_US]: N alternating pulls starting from the opposite of the level.
sim_toggle() {
	_sim_find "$1" || return 1
	_p=$_sim_dir/pull; _v=$(cat "$_sim_dir/value"); _i=0
	while [ "$_i" -lt "$2" ]; do
		if [ "$_v" = 0 ]; then echo pull-up >"$_p"; _v=1; else echo pull-down >"$_p"; _v=0; fi
		[ -n "${3:-}" ] && usleep "$3"
		_i=$((_i + 1))
	done
}

# line_consumer LINE: prints the consumer of the line as gpioinfo reports it (empty when free).
line_consumer() {
	_sim_find "$1" || return 1
	_off=$(awk -v d="$_sim_dir" '$4 == d { print $3 }' "$VM_RUN/lines")
	gpioinfo -c "$_sim_chip" "$_off" 2>/dev/null | sed -n 's/.*consumer="\([^"]*\)".*/\1/p'
}
# lines_used_by CONSUMER: how many lines (on every chip) are requested by CONSUMER.
lines_used_by() { gpioinfo 2>/dev/null | grep -c "consumer=\"$1\""; }

# gpio_trace_start / gpio_trace_stop: kernel tracepoints gpio_value and gpio_direction for
# everything between; stop prints "GPIONUM dir-in|dir-out" and "GPIONUM set|get VALUE" lines and
# keeps the raw trace for gpio_levels and gpio_set_times. gpio_global LINE prints the global number
# the trace uses for a line. The trace clock is CLOCK_MONOTONIC ("mono"), the clock of the
# kernel's line-info events (line_watch_*), so the two records can be ordered against each other.
# This is the kernel's own record of every level gpiolib drove, however short: scenarios check
# it instead of sampling sim_value in a loop, which misses short levels on a busy machine.
VM_TRACE_RAW=$VM_RUN/trace.raw
gpio_trace_start() {
	_t=/sys/kernel/tracing
	echo 0 >"$_t/tracing_on"
	echo mono >"$_t/trace_clock" 2>/dev/null
	: >"$_t/trace"
	echo 1 >"$_t/events/gpio/enable"
	echo 1 >"$_t/tracing_on"
}
gpio_trace_stop() {
	_t=/sys/kernel/tracing
	echo 0 >"$_t/tracing_on"; echo 0 >"$_t/events/gpio/enable"
	cat "$_t/trace" >"$VM_TRACE_RAW"
	sed -n -e 's/.*gpio_value: \([0-9]*\) \([a-z]*\) \([0-9]*\).*/\1 \2 \3/p' \
		-e 's/.*gpio_direction: \([0-9]*\) \([a-z]*\).*/\1 dir-\2/p' "$VM_TRACE_RAW"
}
# gpio_levels GLOBAL: from the last trace, in order, what the kernel put on the line: the value
# for each "set", "in" for each switch to input (the line then shows its pull); repeats merged.
# "1": only ever driven 1. "" : nothing driven and the direction never changed.
gpio_levels() {
	sed -n -e "s/.*gpio_value: $1 set \([0-9]*\).*/\1/p" -e "s/.*gpio_direction: $1 in.*/in/p" \
		"$VM_TRACE_RAW" | uniq | tr '\n' ' ' | sed 's/ $//'
}
# gpio_set_times GLOBAL: "SECONDS VALUE" (CLOCK_MONOTONIC) for every value set on the line.
gpio_set_times() {
	sed -n "s/.* \([0-9][0-9]*\.[0-9]*\): gpio_value: $1 set \([0-9]*\).*/\1 \2/p" "$VM_TRACE_RAW"
}

# ---------------------------------------------------------------- the test PWM chip
# pwm_test_load [MODULE ARGS]: loads tests/vm/pwm-test (insmod's status); PWM_CHIP is its
# /sys/class/pwm/pwmchipN, found by its device pwm-test.0 as the daemon finds it (empty if not).
pwm_test_load() {
	insmod /vm/extra/pwm-test.ko "$@" || return 1
	PWM_CHIP=
	for _c in /sys/class/pwm/pwmchip*; do
		[ "$(basename "$(readlink -f "$_c/device")")" = pwm-test.0 ] && PWM_CHIP=$_c
	done
	return 0
}
# The PWM core's own record of every state applied to a chip (pwm:pwm_apply): pwm_trace_start
# clears it and records; pwm_trace_stop stops and prints the states applied since, in order,
# one "PERIOD DUTY ENABLED" per line.
pwm_trace_start() {
	_t=/sys/kernel/tracing
	echo 0 >"$_t/tracing_on"; : >"$_t/trace"
	echo 1 >"$_t/events/pwm/pwm_apply/enable"; echo 1 >"$_t/tracing_on"
}
pwm_trace_stop() {
	_t=/sys/kernel/tracing
	echo 0 >"$_t/tracing_on"; echo 0 >"$_t/events/pwm/pwm_apply/enable"
	sed -n 's/.*pwm_apply: .*period=\([0-9]*\) duty_cycle=\([0-9]*\) polarity=[0-9]* enabled=\([0-9]*\).*/\1 \2 \3/p' \
		"$_t/trace"
}

# line_watch_start LINE: records the kernel's line-info change events for LINE (requested,
# released, reconfigured, with their CLOCK_MONOTONIC timestamps) in the background until
# line_watch_stop; line_watch_events then prints them as "EVENT SECONDS" lines. A free line of the
# same chip is watched too, as a marker: line_watch_stop requests and releases it and waits until
# the watcher has printed that release, so every event before it has been read (one queue per
# chip, in order) and none is lost to a watcher that a busy machine has not scheduled yet.
line_watch_start() {
	line_watch_stop
	_sim_find "$1" || return 1
	_lw_off=$(awk -v d="$_sim_dir" '$4 == d { print $3 }' "$VM_RUN/lines")
	_lw_chip=$_sim_chip
	_lw_mark=
	for _o in $(awk -v c="$_lw_chip" -v o="$_lw_off" '$5 == c && $3 != o { print $3 }' "$VM_RUN/lines" | sort -rn); do
		gpioinfo -c "$_lw_chip" "$_o" 2>/dev/null | grep -q 'consumer=' && continue
		_lw_mark=$_o; break
	done
	[ -n "$_lw_mark" ] || { echo "line_watch: no free line on $_lw_chip for the marker" >&2; return 1; }
	echo "$_lw_chip $_lw_off $_lw_mark" >"$VM_RUN/linewatch.lines"
	: >"$VM_RUN/linewatch"
	gpionotify --banner -F '%o %E %S' -c "$_lw_chip" "$_lw_off" "$_lw_mark" >"$VM_RUN/linewatch" 2>&1 &
	echo $! >"$VM_RUN/linewatch.pid"
	wait_until 5 grep -q . "$VM_RUN/linewatch"   # the banner: the watch is live
}
line_watch_stop() {
	[ -s "$VM_RUN/linewatch.pid" ] || return 0
	read -r _lw_chip _lw_off _lw_mark <"$VM_RUN/linewatch.lines"
	gpioget -c "$_lw_chip" "$_lw_mark" >/dev/null 2>&1
	wait_until 10 grep -q "^$_lw_mark released " "$VM_RUN/linewatch" ||
		diag "line_watch: the marker's release on $_lw_chip $_lw_mark was not seen"
	kill "$(cat "$VM_RUN/linewatch.pid")" 2>/dev/null; wait "$(cat "$VM_RUN/linewatch.pid")" 2>/dev/null
	rm -f "$VM_RUN/linewatch.pid"
}
line_watch_events() {
	read -r _lw_chip _lw_off _lw_mark <"$VM_RUN/linewatch.lines"
	awk -v o="$_lw_off" '$1 == o && $2 ~ /^(requested|released|reconfigured)$/ { print $2, $3 }' "$VM_RUN/linewatch"
}
gpio_global() {
	_sim_find "$1" || return 1
	_off=$(awk -v d="$_sim_dir" '$4 == d { print $3 }' "$VM_RUN/lines")
	_base=$(cat /sys/bus/gpio/devices/"$_sim_chip"/../gpio/gpiochip*/base 2>/dev/null | head -n1)
	[ -n "$_base" ] || _base=$(cat "$(dirname "$_sim_dir")"/gpio/gpiochip*/base 2>/dev/null | head -n1)
	echo $((_base + _off))
}

# ---------------------------------------------------------------- MQTT broker
VM_BROKER_CONF=$VM_RUN/mosquitto.conf
broker_start() {
	cat >"$VM_BROKER_CONF" <<EOF
listener $VM_BROKER_PORT $VM_BROKER_HOST
allow_anonymous true
persistence false
max_queued_messages 0
user root
log_dest file $VM_RUN/mosquitto.log
log_type all
EOF
	mosquitto -c "$VM_BROKER_CONF" >>"$VM_RUN/mosquitto.out" 2>&1 &
	echo $! >"$VM_RUN/broker.pid"
	# each probe bounded: a client stuck on a broker that is still starting must not hang us
	wait_until 10 timeout 2 mosquitto_pub -h "$VM_BROKER_HOST" -p "$VM_BROKER_PORT" -t vm/ping -m x -q 0 2>/dev/null
}
broker_stop() {
	[ -s "$VM_RUN/broker.pid" ] || return 0
	_bp=$(cat "$VM_RUN/broker.pid"); rm -f "$VM_RUN/broker.pid"
	kill -TERM "$_bp" 2>/dev/null
	wait_until 10 pid_gone "$_bp"
	wait "$_bp" 2>/dev/null
	return 0
}
# broker_restart: a fresh broker, no retained messages.
broker_restart() { broker_stop; broker_start; }
broker_running() { [ -s "$VM_RUN/broker.pid" ] && ! pid_gone "$(cat "$VM_RUN/broker.pid")"; }

# ---------------------------------------------------------------- MQTT clients
_mq() { echo -h "$VM_BROKER_HOST" -p "$VM_BROKER_PORT"; }
# mqtt_pub TOPIC PAYLOAD [mosquitto_pub options, e.g. -r -q 1]
mqtt_pub() { _t=$1 _m=$2; shift 2; mosquitto_pub $(_mq) -t "$_t" -m "$_m" "$@"; }
# mqtt_get TOPIC [TIMEOUT_S]: prints the retained payload of TOPIC (nothing and status 1 if none).
mqtt_get() {
	_out=$(mosquitto_sub $(_mq) -t "$1" --retained-only -C 1 -W "${2:-2}" 2>/dev/null) || return 1
	printf '%s\n' "$_out"
}
# mqtt_wait TOPIC EXPECTED [TIMEOUT_S]: waits until TOPIC carries EXPECTED (its retained value or
# a new message). On timeout prints what was seen as TAP diagnostics and returns 1.
mqtt_wait() {
	_f=$VM_RUN/wait.$$
	: >"$_f"
	mosquitto_sub $(_mq) -t "$1" -F '%p' >"$_f" 2>/dev/null &
	_sp=$!
	if wait_until "${3:-5}" grep -qxF -- "$2" "$_f"; then _r=0; else
		_r=1; diag "mqtt_wait $1: no '$2' within ${3:-5} s; seen: $(tr '\n' ' ' <"$_f")"
	fi
	kill "$_sp" 2>/dev/null; wait "$_sp" 2>/dev/null
	rm -f "$_f"
	return $_r
}
# mqtt_record TOPIC_FILTER: records every message (also the retained ones delivered on subscribe)
# from now on, in the background; returns once the subscription is live. mqtt_recorded [TOPIC]
# prints the recorded messages so far, one per line "RETAINFLAG TOPIC PAYLOAD" (or, given TOPIC,
# only the payloads on that topic). mqtt_record_stop ends it.
mqtt_record() {
	mqtt_record_stop
	_sync=vm/sync/$$
	: >"$VM_RUN/record"
	mosquitto_sub $(_mq) -q 1 -t "$1" -t "$_sync" -F '%r %t %p' >"$VM_RUN/record" 2>/dev/null &
	echo $! >"$VM_RUN/record.pid"
	wait_until 10 sh -c "mosquitto_pub $(_mq) -t $_sync -m sync; usleep 100000; grep -q ' $_sync sync\$' $VM_RUN/record"
}
mqtt_recorded() {
	if [ -n "${1:-}" ]; then
		awk -v t="$1" '$2 == t { sub(/^[^ ]* [^ ]* /, ""); print }' "$VM_RUN/record"
	else
		grep -v ' vm/sync/' "$VM_RUN/record"
	fi
}
mqtt_record_stop() {
	[ -s "$VM_RUN/record.pid" ] || return 0
	kill "$(cat "$VM_RUN/record.pid")" 2>/dev/null; wait "$(cat "$VM_RUN/record.pid")" 2>/dev/null
	rm -f "$VM_RUN/record.pid"
}

# ---------------------------------------------------------------- the daemon
# daemon_start CONFIG [ARGS...]: starts gpio2mqtt -c CONFIG in the background (log in
# $DAEMON_LOG) and waits until it is ready: READY=1 through NOTIFY_SOCKET when the binary has
# sd_notify support, else until it holds as many lines as CONFIG has pins. Status 1 (and the log
# as diagnostics) when it exits or is not ready within $DAEMON_TIMEOUT (default 15) s.
DAEMON_TIMEOUT=${DAEMON_TIMEOUT:-15}
daemon_start() {
	_cfg=$1; shift
	daemon_kill >/dev/null 2>&1
	: >"$DAEMON_LOG"
	DAEMON_STATUS=
	_ns=$VM_RUN/notify.sock
	rm -f "$_ns" "$VM_RUN/notify"
	if [ -e /vm/daemon-sd-notify ]; then
		notify-listen "$_ns" >"$VM_RUN/notify" &
		_np=$!
		wait_until 5 test -S "$_ns"
	fi
	NOTIFY_SOCKET=$_ns gpio2mqtt -c "$_cfg" "$@" >>"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	echo "$DAEMON_PID" >"$VM_RUN/daemon.pid"
	if [ -e /vm/daemon-sd-notify ]; then
		wait_until "$DAEMON_TIMEOUT" _daemon_ready_notify; _r=$?
		kill "$_np" 2>/dev/null; wait "$_np" 2>/dev/null
	else
		_want=$(_config_pins "$_cfg")
		wait_until "$DAEMON_TIMEOUT" _daemon_ready_lines "$_want"; _r=$?
	fi
	if pid_gone "$DAEMON_PID"; then
		wait "$DAEMON_PID"; DAEMON_STATUS=$?; DAEMON_PID=
		diag "daemon exited during start-up with status $DAEMON_STATUS; log:"; sed 's/^/#   /' "$DAEMON_LOG"
		return 1
	fi
	if [ $_r -ne 0 ]; then diag "daemon not ready within $DAEMON_TIMEOUT s; log:"; sed 's/^/#   /' "$DAEMON_LOG"; fi
	return $_r
}
_daemon_ready_notify() { grep -qx 'READY=1' "$VM_RUN/notify" 2>/dev/null || pid_gone "$DAEMON_PID"; }
_daemon_ready_lines() { [ "$(lines_used_by gpio2mqtt)" -ge "$1" ] || pid_gone "$DAEMON_PID"; }
# _config_pins CONFIG: counts the pins (line = ... or offset = ...) outside comments.
_config_pins() { sed -e 's/#.*//' -e 's|//.*||' "$1" | grep -oE '(^|[^a-z_])(line|offset)[[:space:]]*[=:]' | wc -l; }

# daemon_run CONFIG [ARGS...]: runs gpio2mqtt in the foreground (for start-up failures), at most
# $DAEMON_TIMEOUT s; sets DAEMON_STATUS (124 = still running at the timeout), log in $DAEMON_LOG.
daemon_run() {
	_cfg=$1; shift
	: >"$DAEMON_LOG"
	timeout "$DAEMON_TIMEOUT" gpio2mqtt -c "$_cfg" "$@" >>"$DAEMON_LOG" 2>&1
	DAEMON_STATUS=$?
	[ "$DAEMON_STATUS" = 143 ] && DAEMON_STATUS=124
	return 0
}
# daemon_stop: SIGTERM, waits (10 s) and sets DAEMON_STATUS. daemon_kill: SIGKILL.
daemon_stop() { _daemon_signal TERM; }
daemon_kill() { _daemon_signal KILL; }
_daemon_signal() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -"$1" "$DAEMON_PID" 2>/dev/null
	if ! wait_until 10 pid_gone "$DAEMON_PID"; then
		diag "daemon did not exit on SIG$1"; kill -KILL "$DAEMON_PID"
	fi
	wait "$DAEMON_PID"; DAEMON_STATUS=$?
	DAEMON_PID=
	rm -f "$VM_RUN/daemon.pid"
}
daemon_running() { [ -n "$DAEMON_PID" ] && ! pid_gone "$DAEMON_PID"; }
daemon_log() { cat "$DAEMON_LOG"; }

# write_config FILE: writes stdin to FILE after replacing @BROKER@ with the standard mqtt group
# (client_id gpio2mqtt-test, base_topic gpio2mqtt/test, fast reconnects).
write_config() {
	sed "s|@BROKER@|mqtt = { brokers = ( { host = \"$VM_BROKER_HOST\"; port = $VM_BROKER_PORT; } ); client_id = \"gpio2mqtt-test\"; base_topic = \"gpio2mqtt/test\"; keepalive = 5; reconnect_min_ms = 100; reconnect_max_ms = 1000; };|" >"$1"
}
BASE=gpio2mqtt/test
