# Pulses: pulse_ms = 300 ends every ON after 300 ms; <base>/<name>/pulse with a payload of
# milliseconds gives one pulse of that length; ON during a pulse restarts it; OFF ends it.
# Durations are measured in the kernel's own record, the gpio_value tracepoint (timestamps in us,
# from the moment gpiolib drove 1 to the moment it drove 0). Tolerance: +-50 ms (TCG). (No loop
# sampling the line: on a busy machine it sees changes late or not at all.)
write_config /tmp/g.conf <<'CONF'
@BROKER@
outputs = (
  { name = "bell"; line = "GPIO20"; pulse_ms = 300; },
  { name = "gate"; line = "GPIO21"; },
  { name = "stair"; line = "GPIO19"; pulse_ms = 2000; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
check "bell OFF published" mqtt_wait $BASE/bell OFF 5

TOL=50
# trace_ms GLOBAL: "MS VALUE" for every value gpiolib drove on line GLOBAL in the last trace
trace_ms() {
	awk -v g="$1" '/gpio_value: / { for (i = 2; i <= NF; i++) if ($i == "gpio_value:") {
		ts = $(i - 1); sub(/:$/, "", ts)
		if ($(i + 1) == g && $(i + 2) == "set") printf "%.3f %s\n", ts * 1000, $(i + 3) } }' \
		/sys/kernel/tracing/trace
}
# on_ms GLOBAL: the ON time (first 1 to the following 0) in the last trace, in ms
on_ms() { trace_ms "$1" | awk '$2 == 1 && !t1 { t1 = $1 } $2 == 0 && t1 { printf "%d\n", $1 - t1 + 0.5; exit }'; }
# within GOT WANT TOL DESC: GOT is WANT +- TOL
within() {
	if [ -n "$1" ] && [ "$1" != none ] && [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; then
		ok "$4: $1 ms (want $2 +- $3)"
	else
		not_ok "$4: got '$1' ms, want $2 +- $3"
	fi
}
# traced_pulse GLOBAL: the running trace has the line driven 1 and then 0; traced_on GLOBAL: 1
traced_pulse() { trace_ms "$1" | awk '$2 == 1 { on = 1 } $2 == 0 && on { f = 1 } END { exit !f }'; }
traced_on() { trace_ms "$1" | awk '$2 == 1 { f = 1 } END { exit !f }'; }
# pulse_run DESC LINE TOPIC PAYLOAD WANT_MS: one pulse, measured in the trace
pulse_run() {
	_g=$(gpio_global "$2")
	gpio_trace_start
	mqtt_pub "$3" "$4" -q 1
	wait_until 10 traced_pulse "$_g" || not_ok "$1: no ON -> OFF driven on the line"
	gpio_trace_stop >/dev/null
	_t=$(on_ms "$_g")
	diag "$1: ON for ${_t:-?} ms (tracepoint); driven: $(trace_ms "$_g" | awk '{ printf "%s ", $2 }')"
	within "$_t" "$5" "$TOL" "$1 (tracepoint)"
}

mqtt_record "$BASE/#"
pulse_run "pulse_ms = 300, set ON" GPIO20 $BASE/bell/set ON 300
wait_until 3 '[ "$(mqtt_recorded $BASE/bell | wc -l)" -ge 3 ]'
is "$(mqtt_recorded $BASE/bell | tr '\n' ' ')" "OFF ON OFF " "bell: ON then OFF published"
pulse_run "pulse_ms = 300, TOGGLE" GPIO20 $BASE/bell/set TOGGLE 300
pulse_run "gate/pulse 300 (no pulse_ms)" GPIO21 $BASE/gate/pulse 300 300
pulse_run "gate/pulse 700" GPIO21 $BASE/gate/pulse 700 700
is "$(mqtt_get $BASE/gate)" OFF "gate OFF retained after its pulse"
pulse_run "bell/pulse 600 overrides pulse_ms" GPIO20 $BASE/bell/pulse 600 600

# ON during a pulse restarts it (a staircase timer): stair (pulse_ms = 2000) gets a second ON
# after its line was seen ON plus 500 ms, so it must stay ON in one piece for >= 2500 ms and at
# most 2000 ms after the second ON was acknowledged (t_b, host side) + 100 ms.
gs=$(gpio_global GPIO19)
gpio_trace_start
t_a=$(now_ms)
mqtt_pub $BASE/stair/set ON -q 1
wait_until 5 traced_on "$gs"
usleep 500000
mqtt_pub $BASE/stair/set ON -q 1
t_b=$(now_ms)
wait_until 10 traced_pulse "$gs"
gpio_trace_stop >/dev/null
t=$(on_ms "$(gpio_global GPIO19)")
hi=$((t_b - t_a + 2000 + 100))
diag "ON, then ON again: ON for ${t:-?} ms (second ON acknowledged $((t_b - t_a)) ms after the first was sent); driven: $(trace_ms "$(gpio_global GPIO19)" | awk '{ printf "%s ", $2 }')"
[ -n "$t" ] && [ "$t" -ge 2500 ] && [ "$t" -le "$hi" ] && ok "ON during a pulse restarts it ($t ms in 2500..$hi)" \
	|| not_ok "ON during a pulse restarts it: ON for '$t' ms, want 2500..$hi"
is "$(trace_ms "$(gpio_global GPIO19)" | awk '{ printf "%s ", $2 }')" "1 0 " "the restarted pulse is one ON, one OFF"

# OFF ends a pulse
mqtt_pub $BASE/gate/pulse 5000 -q 1
wait_until 5 '[ "$(sim_value GPIO21)" = 1 ]'
t0=$(now_ms)
mqtt_pub $BASE/gate/set OFF -q 1
check "OFF ends the pulse" wait_until 2 '[ "$(sim_value GPIO21)" = 0 ]'
diag "OFF ended a 5000 ms pulse $(($(now_ms) - t0)) ms after the command was sent"
check "gate OFF published" mqtt_wait $BASE/gate OFF 5

# bad pulse payloads: ignored with a warning
mqtt_record "$BASE/#"
for p in 0 -5 abc 1.5 ''; do mqtt_pub $BASE/gate/pulse "$p" -q 1; done
sleep_ms 700
is "$(sim_value GPIO21)" 0 "bad pulse payloads drive nothing"
is "$(mqtt_recorded | grep '^0 ' | grep -v '/pulse ' | wc -l)" 0 "bad pulse payloads publish nothing"
like "$(cat $DAEMON_LOG)" "gate.*pulse 'abc' ignored" "a warning names the pin and the payload"
