# Covers (issue 19), with the kernel's gpio_value tracepoint as the witness: a shutter on an up
# and a down relay (travel 1 s each way, dead time 300 ms) and an end-stop at the open end.
# From the trace: the two relays are never both 1; a reversal drives the new direction >= 300 ms
# after the old one's OFF; STOP drives the motor OFF; the end-stop ends a run and makes the
# position 100; a restart drives no relay to 1, and the cover comes back where it stopped; the
# obstruction input switches the running motor OFF, and while it is active nothing starts.
write_config /tmp/g.conf <<'CONF'
@BROKER@
state_dir = "/tmp/g2m-cover-state";
inputs = ( { name = "top"; line = "GPIO5"; }, { name = "beam"; line = "GPIO6"; } );
outputs = ( { name = "up"; line = "GPIO22"; }, { name = "down"; line = "GPIO23"; } );
covers = ( { name = "shutter"; up = "up"; down = "down"; travel_up_ms = 1000;
             travel_down_ms = 1000; dead_time_ms = 300; open_endstop = "top";
             obstruction = "beam"; } );
CONF
rm -rf /tmp/g2m-cover-state
gu=$(gpio_global GPIO22) gd=$(gpio_global GPIO23)

# replay: "sets=N both=N min_gap=MS short=N" over the trace of both relays, in time order;
# min_gap is the shortest time from a relay's OFF to the next ON of either, short how many ON
# came sooner than 300 ms after the last OFF.
replay() {
	{ gpio_set_times "$gu" | sed 's/$/ u/'; gpio_set_times "$gd" | sed 's/$/ d/'; } | sort -n |
		awk '{ t = $1 * 1000; lvl[$3] = $2; n++
			if ($2 == 1 && seen) { g = t - last_off; if (min == "" || g < min) min = g; if (g < 300) short++ }
			if ($2 == 0) { last_off = t; seen = 1 }
			if (lvl["u"] == 1 && lvl["d"] == 1) both++ }
		END { printf "sets=%d both=%d min_gap=%s short=%d\n", n, both, (min == "" ? "none" : sprintf("%.1f", min)), short }'
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

gpio_trace_start
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
check "first start: position unknown, stopped" mqtt_wait $BASE/shutter stopped 5

mqtt_pub $BASE/shutter/set CLOSE -q 1
wait_until 5 '[ "$(sim_value GPIO23)" = 1 ]'
is "$(sim_value GPIO23)" 1 "CLOSE: the down relay"
sleep_ms 200
mqtt_pub $BASE/shutter/set OPEN -q 1
wait_until 5 '[ "$(sim_value GPIO22)" = 1 ]'
is "$(sim_value GPIO22)$(sim_value GPIO23)" 10 "OPEN while closing: down OFF, then up"
sleep_ms 200
mqtt_pub $BASE/shutter/set STOP -q 1
wait_until 5 '[ "$(sim_value GPIO22)" = 0 ]'
check "STOP: stopped" mqtt_wait $BASE/shutter stopped 5
gpio_trace_stop >/dev/null
r=$(replay)
diag "reversal and stop: $r"
is "$(field "$r" both)" 0 "the trace never has both relays at 1"
is "$(field "$r" short)" 0 "every ON >= 300 ms after the last OFF (min $(field "$r" min_gap) ms)"
is "$(gpio_levels "$gd") / $(gpio_levels "$gu")" "0 1 0 / 0 1 0" "down: 0 1 0, up: 0 1 0 (STOP drove it OFF)"
awk -v g="$(field "$r" min_gap)" 'BEGIN { exit !(g >= 300 && g <= 400) }' &&
	ok "the reversal waited the dead time, 300..400 ms" || not_ok "reversal gap $(field "$r" min_gap) ms"

# the end-stop: a run to the open end stops at it, and the position is 100 however far the time
# said it was
gpio_trace_start
mqtt_pub $BASE/shutter/set OPEN -q 1
wait_until 5 '[ "$(sim_value GPIO22)" = 1 ]'
sleep_ms 150
sim_pull GPIO5 up
wait_until 5 '[ "$(sim_value GPIO22)" = 0 ]'
gpio_trace_stop >/dev/null
is "$(gpio_levels "$gu")" "1 0" "end-stop: the up relay OFF at the end-stop"
check "end-stop: open" mqtt_wait $BASE/shutter open 5
check "end-stop: position 100" mqtt_wait $BASE/shutter/position 100 5
wait_until 5 'grep -q "^shutter 100$" /tmp/g2m-cover-state/covers.state'
check "covers.state: shutter 100" grep -q "^shutter 100$" /tmp/g2m-cover-state/covers.state

# a restart never starts a motor, and the cover is where it was
daemon_stop
gpio_trace_start
daemon_start /tmp/g.conf || bail "daemon did not restart"
check "restart: open" mqtt_wait $BASE/shutter open 5
check "restart: position 100" mqtt_wait $BASE/shutter/position 100 5
gpio_trace_stop >/dev/null
like "$(gpio_levels "$gu") $(gpio_levels "$gd")" '^[0 ]*$' "restart: no relay driven to 1 ($(gpio_levels "$gu") / $(gpio_levels "$gd"))"

# the obstruction input: the running motor OFF at once, then no start while it is active (the
# shutter leaves the open end-stop first)
sim_pull GPIO5 down
gpio_trace_start
mqtt_pub $BASE/shutter/set CLOSE -q 1
wait_until 5 '[ "$(sim_value GPIO23)" = 1 ]'
sleep_ms 150
sim_pull GPIO6 up
wait_until 5 '[ "$(sim_value GPIO23)" = 0 ]'
check "obstruction: stopped" mqtt_wait $BASE/shutter stopped 5
mqtt_pub $BASE/shutter/set OPEN -q 1
mqtt_pub $BASE/shutter/set CLOSE -q 1
sleep_ms 600
gpio_trace_stop >/dev/null
like "$(gpio_levels "$gd") / $(gpio_levels "$gu")" '^(0 )?1 0 / [0 ]*$' "obstruction: down 1 then 0, nothing driven to 1 while it is active ($(gpio_levels "$gd") / $(gpio_levels "$gu"))"
sim_pull GPIO6 down
gpio_trace_start
mqtt_pub $BASE/shutter/set OPEN -q 1
wait_until 5 '[ "$(sim_value GPIO22)" = 1 ]'
gpio_trace_stop >/dev/null
like "$(gpio_levels "$gu")" '^(0 )?1$' "obstruction cleared: OPEN drives up again ($(gpio_levels "$gu"))"
daemon_stop
