# A retained /set left on the broker is delivered again on every (re)subscribe: it is ignored
# with a log line, unless the pin says accept_retained = true; a live command still works.
write_config /tmp/g.conf <<'CONF'
@BROKER@
outputs = (
  { name = "relay"; line = "GPIO27"; },
  { name = "keen"; line = "GPIO26"; accept_retained = true; }
);
CONF
# left on the broker while the daemon was away
mqtt_pub $BASE/relay/set ON -r -q 1
mqtt_pub $BASE/keen/set ON -r -q 1
is "$(mqtt_get $BASE/relay/set) $(mqtt_get $BASE/keen/set)" "ON ON" "retained commands are on the broker"

daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
check "accept_retained = true: keen acted on the retained ON" mqtt_wait $BASE/keen ON 5
is "$(sim_value GPIO26)" 1 "keen line ON"
sleep_ms 700       # both retained messages came with the same subscription
is "$(sim_value GPIO27)" 0 "relay: retained ON ignored, line stays OFF"
is "$(mqtt_get $BASE/relay)" OFF "relay: state stays OFF"
like "$(cat $DAEMON_LOG)" "relay.*retained command 'ON' ignored" "relay: the log says the retained command was ignored"
is "$(grep -c "keen.*retained command" $DAEMON_LOG)" 0 "keen: no such log line"

mqtt_pub $BASE/relay/set ON -q 1
check "relay: a live ON works" mqtt_wait $BASE/relay ON 5
is "$(sim_value GPIO27)" 1 "relay line ON after the live command"

# on a reconnect the broker delivers the retained commands again (broker_restart would drop
# them: persistence is off), so check a restart of the daemon with the lines OFF
mqtt_pub $BASE/relay/set OFF -q 1
mqtt_pub $BASE/keen/set OFF -q 1
check "relay OFF" mqtt_wait $BASE/relay OFF 5
check "keen OFF" mqtt_wait $BASE/keen OFF 5
daemon_stop
daemon_start /tmp/g.conf || bail "daemon did not restart"
check "online again" mqtt_wait $BASE/status online 10
check "restart: keen acted on the retained ON again" mqtt_wait $BASE/keen ON 5
sleep_ms 700
is "$(sim_value GPIO27)$(sim_value GPIO26)" 01 "restart: relay OFF (ignored), keen ON (accepted)"

mqtt_pub $BASE/relay/set '' -r -q 1    # clear the retained commands
mqtt_pub $BASE/keen/set '' -r -q 1
