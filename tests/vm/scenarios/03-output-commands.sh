# Outputs: <base>/<name>/set ON/OFF/TOGGLE/1/0/true/false (any case, whitespace) drive the line
# and echo the state; garbage changes nothing and publishes nothing; retained commands and
# commands on inputs are ignored.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "door"; line = "GPIO4"; } );
outputs = (
  { name = "relay"; line = "GPIO27"; },
  { name = "lamp"; line = "GPIO26"; active_low = true; power_on = "off"; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
is "$(sim_value GPIO27)" 0 "relay starts low (initial off)"
is "$(mqtt_get $BASE/relay)" OFF "relay state OFF published"
is "$(sim_value GPIO26)" 1 "active_low lamp off = line high"
is "$(mqtt_get $BASE/lamp)" OFF "lamp state OFF published"

# cmd PAYLOAD EXPECTED_LEVEL EXPECTED_STATE
cmd() {
	mqtt_record "$BASE/relay"
	mqtt_pub $BASE/relay/set "$1" -q 1
	wait_until 5 '[ "$(mqtt_recorded $BASE/relay | wc -l)" -ge 2 ]'
	is "$(sim_value GPIO27)" "$2" "set '$1' -> line $2"
	is "$(mqtt_recorded $BASE/relay | sed 1d | tr '\n' ' ')" "$3 " "set '$1' -> state $3 echoed once"
}
cmd ON 1 ON
cmd ON 1 ON          # no change, still echoed
cmd OFF 0 OFF
cmd TOGGLE 1 ON
cmd toggle 0 OFF
cmd 1 1 ON
cmd 0 0 OFF
cmd true 1 ON
cmd False 0 OFF
cmd ' on ' 1 ON
cmd 'Off' 0 OFF

# active_low output
mqtt_pub $BASE/lamp/set ON -q 1
check "lamp ON echoed" mqtt_wait $BASE/lamp ON 5
is "$(sim_value GPIO26)" 0 "active_low lamp on = line low"

# garbage: no change, no publish, a warning naming the pin
mqtt_pub $BASE/relay/set ON -q 1
mqtt_wait $BASE/relay ON 5
mqtt_record "$BASE/#"
for junk in BANANA 2 'ON OFF' '' 'onn'; do mqtt_pub $BASE/relay/set "$junk" -q 1; done
mqtt_pub $BASE/door/set ON -q 1        # an input
mqtt_pub $BASE/nosuchpin/set ON -q 1   # unknown
sleep_ms 1500
is "$(sim_value GPIO27)" 1 "garbage payloads leave the relay on"
is "$(mqtt_recorded | grep '^0 ' | grep -v '/set ' | tr '\n' ' ')" "" "garbage, input and unknown-pin commands publish nothing"
like "$(cat $DAEMON_LOG)" "relay.*BANANA|BANANA.*relay" "a warning names the pin and the payload"
like "$(cat $DAEMON_LOG)" "door" "the command on an input is logged"
is "$(sim_value GPIO4)" 0 "the input line is untouched"
check "daemon still running" daemon_running

# retained command left on the broker while the daemon was away: ignored at start
daemon_stop
mqtt_pub $BASE/relay/set ON -r -q 1
daemon_start /tmp/g.conf || bail "daemon did not restart"
check "online again" mqtt_wait $BASE/status online 10
sleep_ms 1000
is "$(sim_value GPIO27)" 0 "retained ON on relay/set is ignored (accept_retained_commands = false)"
is "$(mqtt_get $BASE/relay)" OFF "relay state stays OFF"
mqtt_pub $BASE/relay/set '' -r -q 1    # clear the retained command
