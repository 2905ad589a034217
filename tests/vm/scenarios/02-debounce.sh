# debounce_ms: a bounce burst shorter than the debounce time gives exactly one state change;
# a burst that ends where it started gives none.
#
# The bursts are made by a shell loop in the guest: on a busy host a pause between two bounces
# can exceed the debounce time, and then the kernel rightly reports the level it held. Each
# burst is timed; one that took longer than the debounce time is checked for what still must
# hold (the states alternate and the last one is the line's level), not for the exact count.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "button"; line = "GPIO5"; debounce_ms = 300; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "idle state OFF published" mqtt_wait $BASE/button OFF 10

# burst N TOGGLES EXPECTED LAST WHAT: records from the retained state on, makes the burst, waits
# for the debounce to settle, checks.
burst() {
	mqtt_record "$BASE/button"
	_t0=$(now_ms)
	sim_toggle GPIO5 "$2" 2000
	_t1=$(now_ms)
	sleep_ms 1000
	_got=$(mqtt_recorded $BASE/button | tr '\n' ' ')
	diag "burst $1: $2 toggles in $((_t1 - _t0)) ms (debounce 300 ms): $_got"
	if [ $((_t1 - _t0)) -lt 300 ]; then
		is "$_got" "$3" "burst $1: $5"
	else
		diag "burst $1 took longer than the debounce time (busy machine): weaker check"
		is "$(echo "$_got" | tr ' ' '\n' | uniq -d | tr -d '\n')" "" \
			"burst $1 (slow): no state published twice in a row"
		is "$(echo "$_got" | awk '{ print $NF }')" "$4" "burst $1 (slow): ends $4"
	fi
}
burst 1 9 "OFF ON " ON "ending high -> exactly one ON"
burst 2 9 "ON OFF " OFF "ending low -> exactly one OFF"
burst 3 8 "OFF " OFF "ending where it began -> no publish"
is "$(mqtt_get $BASE/button)" OFF "retained state is the line level"
