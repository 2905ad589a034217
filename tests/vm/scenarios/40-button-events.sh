# Buttons (mode = "button") pressed through gpio-sim with real timings publish
# <base>/<name>/event, not retained: a short press -> "single" once the double window
# (double_press_ms, default 400) has passed; two quick presses -> "double" at the second release;
# a held press -> "long" while still held (long_press_ms, default 800); with
# double_press_ms = 0 -> "single" at the release. Buttons publish no ON/OFF state by default.
# Timing is read from the daemon itself, so a slow guest cannot fake it: btn and quick use
# payload = "json" and publish_state = true, so each state message carries the kernel's edge
# timestamp and each event message the time it was decided (both CLOCK_REALTIME, ns). The
# daemon's timers count whole milliseconds, so a window may close up to 1 ms early: lower
# bounds are the window - 1 ms.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = (
  { name = "btn"; line = "GPIO5"; mode = "button"; payload = "json"; publish_state = true; },
  { name = "quick"; line = "GPIO6"; mode = "button"; double_press_ms = 0; payload = "json";
    publish_state = true; },
  { name = "bare"; line = "GPIO7"; mode = "button"; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
mqtt_record "$BASE/#"

btn=$(sim_path GPIO5)/pull quick=$(sim_path GPIO6)/pull bare=$(sim_path GPIO7)/pull
mark_btn=0 mark_quick=0 mark_bare=0
# One recording for the whole scenario; mark PIN remembers how many events PIN had so far.
mark() { eval "mark_$1=$(mqtt_recorded $BASE/$1/event | wc -l)"; }
# events PIN: the event names recorded for PIN since its mark, space-separated
events() {
	eval "_m=\$mark_$1"
	mqtt_recorded $BASE/$1/event | awk -v m="$_m" 'NR > m' | sed 's/.*"event":"\([a-z]*\)".*/\1/' | tr '\n' ' ' | sed 's/ $//'
}
# wait_events PIN N: until PIN has N events since its mark (10 s at most)
wait_events() { wait_until 10 "[ \$(events $1 | wc -w) -ge $2 ]"; }
# ms_of JSON: the "time" of a JSON payload as milliseconds since midnight UTC (3 decimals)
ms_of() { echo "$1" | sed 's/.*"time":"[^T]*T\([0-9:.]*\)Z".*/\1/' | awk -F: '{ printf "%.3f\n", ($1 * 3600 + $2 * 60 + $3) * 1000 }'; }
# last_state PIN VALUE: the last recorded JSON state message of PIN with state VALUE
last_state() { mqtt_recorded $BASE/$1 | grep "\"state\":\"$2\"" | tail -n 1; }
last_event() { mqtt_recorded $BASE/$1/event | tail -n 1; }
# delay DESC FROM_JSON TO_JSON MIN MAX: TO - FROM in ms within MIN..MAX
delay() {
	_d=$(awk -v a="$(ms_of "$2")" -v b="$(ms_of "$3")" 'BEGIN { printf "%.1f", b - a }')
	diag "$1: $_d ms"
	if awk -v d="$_d" -v lo="$4" -v hi="$5" 'BEGIN { exit !(d >= lo && d <= hi) }'; then
		ok "$1: $_d ms in $4..$5"
	else
		not_ok "$1: $_d ms, want $4..$5"
	fi
}

# --- a short press: single, but only after the double window
echo pull-up >"$btn"; usleep 100000; echo pull-down >"$btn"
check "short press: an event" wait_events btn 1
is "$(events btn)" "single" "short press -> single"
delay "short press: single decided after the release (double_press_ms = 400)" \
	"$(last_state btn OFF)" "$(last_event btn)" 399 700
sleep_ms 600
is "$(events btn)" "single" "short press: exactly one event"

# --- two quick presses: double, at the second release, no single
mark btn
echo pull-up >"$btn"; usleep 80000; echo pull-down >"$btn"; usleep 120000
echo pull-up >"$btn"; usleep 80000; echo pull-down >"$btn"
check "two quick presses: an event" wait_events btn 1
delay "double decided at the second release" "$(last_state btn OFF)" "$(last_event btn)" 0 150
sleep_ms 900
is "$(events btn)" "double" "two quick presses -> exactly one double"

# --- a held press: long while held, nothing at the release
mark btn
echo pull-up >"$btn"
check "held press: an event" wait_events btn 1
held=$(sim_value GPIO5)
is "$(events btn)" "long" "held press -> long"
is "$held" 1 "long arrived while the button was still held"
delay "long decided after the press (long_press_ms = 800)" "$(last_state btn ON)" "$(last_event btn)" 799 1100
echo pull-down >"$btn"
sleep_ms 700
is "$(events btn)" "long" "releasing after a long press adds no event"

# --- double_press_ms = 0: single at the release
echo pull-up >"$quick"; usleep 100000; echo pull-down >"$quick"
check "double_press_ms = 0: an event" wait_events quick 1
is "$(events quick)" "single" "double_press_ms = 0: single"
delay "double_press_ms = 0: single decided at the release" "$(last_state quick OFF)" "$(last_event quick)" 0 150
# two quick presses are two singles there
echo pull-up >"$quick"; usleep 80000; echo pull-down >"$quick"; usleep 120000
echo pull-up >"$quick"; usleep 80000; echo pull-down >"$quick"
wait_events quick 3
sleep_ms 500
is "$(events quick)" "single single single" "double_press_ms = 0: every press is a single"

# --- defaults: plain payload, no state
echo pull-up >"$bare"; usleep 100000; echo pull-down >"$bare"
check "bare: an event" wait_events bare 1
sleep_ms 300
is "$(mqtt_recorded $BASE/bare/event | tr '\n' ' ')" "single " "bare: plain payload 'single'"
is "$(mqtt_recorded | awk -v b="$BASE/bare" '$2 == b' | wc -l)" 0 \
	"bare: no ON/OFF state published (publish_state defaults to false for buttons)"
is "$(mqtt_recorded | awk '$2 ~ /\/event$/ && $1 != 0' | wc -l)" 0 "no event was published retained"
check "daemon still running" daemon_running
