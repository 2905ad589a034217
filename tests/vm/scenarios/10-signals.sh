# SIGTERM: "offline" published, exit 0, lines released. SIGKILL: the Last Will says "offline".
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "button"; line = "GPIO17"; bias = "pull-up"; } );
outputs = ( { name = "relay"; line = "GPIO27"; power_on = "on"; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
mqtt_record "$BASE/status"
daemon_stop
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
check "SIGTERM: offline published" mqtt_wait $BASE/status offline 5
is "$(mqtt_recorded $BASE/status | tr '\n' ' ')" "online offline " "status went online -> offline"
is "$(mqtt_get $BASE/status)" offline "offline is retained"
is "$(lines_used_by gpio2mqtt)" 0 "SIGTERM: lines released"
is "$(sim_value GPIO27)" 0 "the output falls back to the line's pull"

daemon_start /tmp/g.conf || bail "daemon did not start again"
check "online again" mqtt_wait $BASE/status online 10
daemon_kill
check "SIGKILL: the Last Will publishes offline" mqtt_wait $BASE/status offline 10
is "$(mqtt_get $BASE/status)" offline "the will is retained"
is "$(lines_used_by gpio2mqtt)" 0 "SIGKILL: the kernel released the lines"

# SIGINT behaves like SIGTERM
daemon_start /tmp/g.conf || bail "daemon did not start a third time"
check "online a third time" mqtt_wait $BASE/status online 10
_daemon_signal INT
is "$DAEMON_STATUS" 0 "SIGINT: exit status 0"
is "$(mqtt_get $BASE/status)" offline "SIGINT: offline"

# With Homie on, the main connection's Last Will is Homie's $state "lost" and a second
# connection carries <base>/status "offline" (issue 15): SIGKILL makes the broker publish both.
write_config /tmp/h.conf <<'CONF'
@BROKER@
discovery = { homie = true; };
inputs = ( { name = "button"; line = "GPIO17"; bias = "pull-up"; } );
CONF
daemon_start /tmp/h.conf || bail "daemon with Homie did not start"
check "Homie on: online" mqtt_wait $BASE/status online 10
check "Homie on: \$state ready" mqtt_wait 'homie/+/$state' ready 10
daemon_kill
check "Homie on, SIGKILL: status offline (the status connection's Last Will)" \
	mqtt_wait $BASE/status offline 10
check "Homie on, SIGKILL: \$state lost (the main connection's Last Will)" \
	mqtt_wait 'homie/+/$state' lost 10
is "$(mqtt_get $BASE/status)" offline "Homie on, SIGKILL: offline is retained"
