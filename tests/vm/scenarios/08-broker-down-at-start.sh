# Broker down at start: the daemon is ready anyway and serves GPIO; it connects when the broker
# starts and publishes status + every state (the current levels).
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "button"; line = "GPIO17"; }, { name = "door"; line = "EXP2"; active_low = true; } );
outputs = ( { name = "relay"; line = "GPIO27"; power_on = "on"; }, { name = "lamp"; line = "EXP8"; } );
CONF
broker_stop
daemon_start /tmp/g.conf
check "daemon ready without a broker" daemon_running
is "$(sim_value GPIO27)" 1 "output requested with its initial level"
is "$(lines_used_by gpio2mqtt)" 4 "all 4 lines requested"
sim_pull GPIO17 up      # an input changes while the broker is down
sleep_ms 1500
check "still running after reconnect attempts" daemon_running
broker_start
check "status online after the broker came up" mqtt_wait $BASE/status online 15
check "button published with its current level" mqtt_wait $BASE/button ON 5
is "$(mqtt_get $BASE/door)" ON "door (active_low, low line) published ON"
is "$(mqtt_get $BASE/relay)" ON "relay published ON"
is "$(mqtt_get $BASE/lamp)" OFF "lamp published OFF"
mqtt_pub $BASE/lamp/set ON -q 1
check "commands work after the late connect" mqtt_wait $BASE/lamp ON 5
is "$(sim_value EXP8)" 1 "lamp line driven"
