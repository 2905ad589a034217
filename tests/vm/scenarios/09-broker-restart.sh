# The broker restarts (losing its retained state) while inputs keep changing: after the daemon
# reconnects, every retained state equals the line level.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "a"; line = "GPIO17"; }, { name = "b"; line = "EXP4"; } );
outputs = ( { name = "relay"; line = "GPIO27"; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
mqtt_pub $BASE/relay/set ON -q 1
check "relay ON" mqtt_wait $BASE/relay ON 5
level_state() { [ "$(sim_value $1)" = 1 ] && echo ON || echo OFF; }

for round in 1 2 3; do
	# toggle both inputs, paced, in the background while the broker goes down and comes back
	( i=0; while [ $i -lt 60 ]; do sim_toggle GPIO17 1; [ $((i % 3)) = 0 ] && sim_toggle EXP4 1; usleep 20000; i=$((i + 1)); done ) &
	tg=$!
	usleep 300000
	broker_stop
	usleep 400000
	broker_start
	wait $tg
	check "round $round: online again" mqtt_wait $BASE/status online 15
	want_a=$(level_state GPIO17) want_b=$(level_state EXP4)
	check "round $round: a retained = line level ($want_a)" mqtt_wait $BASE/a $want_a 5
	check "round $round: b retained = line level ($want_b)" mqtt_wait $BASE/b $want_b 5
	sleep_ms 500
	is "$(mqtt_get $BASE/a) $(mqtt_get $BASE/b)" "$want_a $want_b" "round $round: settled retained states"
	is "$(mqtt_get $BASE/relay)" ON "round $round: output state republished"
done
