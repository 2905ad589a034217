# Broker failover with the real binary: brokers = ( 1883, 1884 ). The first is down at start:
# the second is used (STATUS= says which). Then the first comes back, the second is killed while
# connected: the daemon moves to the first and republishes every state there.
B2_PORT=1884
b2_start() {
	cat >"$VM_RUN/b2.conf" <<B2
listener $B2_PORT 127.0.0.1
allow_anonymous true
persistence false
user root
log_dest file $VM_RUN/b2.log
B2
	mosquitto -c "$VM_RUN/b2.conf" >>"$VM_RUN/b2.out" 2>&1 &
	echo $! >"$VM_RUN/b2.pid"
	wait_until 10 mosquitto_pub -h 127.0.0.1 -p $B2_PORT -t vm/ping -m x -q 0 2>/dev/null
}
b2_kill() { _p=$(cat "$VM_RUN/b2.pid"); kill -KILL "$_p"; wait_until 10 pid_gone "$_p"; wait "$_p" 2>/dev/null; }
b2_get() { mosquitto_sub -h 127.0.0.1 -p $B2_PORT -t "$1" --retained-only -C 1 -W 2 2>/dev/null; }
b2_wait() { wait_until "${3:-10}" sh -c "[ \"\$(mosquitto_sub -h 127.0.0.1 -p $B2_PORT -t '$1' --retained-only -C 1 -W 1 2>/dev/null)\" = '$2' ]"; }

cat >/tmp/g.conf <<CONF
mqtt = {
  brokers = ( { host = "127.0.0.1"; port = 1883; }, { host = "127.0.0.1"; port = $B2_PORT; } );
  client_id = "gpio2mqtt-test"; base_topic = "gpio2mqtt/test"; keepalive = 5;
  reconnect_min_ms = 100; reconnect_max_ms = 1000;
};
inputs = ( { name = "a"; line = "GPIO17"; } );
outputs = ( { name = "relay"; line = "GPIO27"; } );
CONF
broker_stop
b2_start || bail "second broker did not start"
daemon_start /tmp/g.conf || bail "daemon did not start"
check "the second broker is used while the first is down" b2_wait $BASE/status online 15
is "$(b2_get $BASE/a)" OFF "states published on the second broker"
like "$(daemon_log)" "connected to 127\.0\.0\.1:$B2_PORT" "the log names the broker in use"
like "$(daemon_log)" "cannot connect to 127\.0\.0\.1:1883" "the log says why the first was left"

broker_start
sim_pull GPIO17 up
check "a ON on the second broker" b2_wait $BASE/a ON 10
b2_kill
check "moved to the first broker: online there" mqtt_wait $BASE/status online 15
check "state republished on the first broker" mqtt_wait $BASE/a ON 5
is "$(mqtt_get $BASE/relay)" OFF "every state republished"
like "$(daemon_log)" "connection to 127\.0\.0\.1:$B2_PORT lost" "the loss is logged"
like "$(daemon_log)" "connected to 127\.0\.0\.1:1883" "the log names the new broker"
check "daemon still running" daemon_running
