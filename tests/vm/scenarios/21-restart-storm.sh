# 20 broker restarts (TERM and KILL alternating) while an input keeps changing: the daemon never
# exits, and after every restart the retained state equals the line level.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "a"; line = "GPIO17"; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
level_state() { [ "$(sim_value GPIO17)" = 1 ] && echo ON || echo OFF; }
b_kill() {
	_bp=$(cat "$VM_RUN/broker.pid"); rm -f "$VM_RUN/broker.pid"
	kill -KILL "$_bp" 2>/dev/null; wait_until 10 pid_gone "$_bp"; wait "$_bp" 2>/dev/null
}
failed=0
round=1
while [ $round -le 20 ]; do
	if [ $((round % 2)) = 0 ]; then b_kill; else broker_stop; fi
	n=$((round % 4))
	while [ $n -gt 0 ]; do sim_toggle GPIO17 1; n=$((n - 1)); done
	broker_start
	want=$(level_state)
	if ! mqtt_wait $BASE/a "$want" 15; then failed=$((failed + 1)); diag "round $round: a is not $want"; fi
	if [ $((round % 5)) = 0 ]; then   # and now and then a change while connected
		sim_toggle GPIO17 1
		want=$(level_state)
		if ! mqtt_wait $BASE/a "$want" 5; then failed=$((failed + 1)); diag "round $round: live change lost"; fi
	fi
	daemon_running || { failed=$((failed + 1)); diag "round $round: daemon gone"; break; }
	round=$((round + 1))
done
is "$failed" 0 "20 restarts: the retained state always ended equal to the line"
check "daemon still running" daemon_running
sleep_ms 300
is "$(mqtt_get $BASE/a)" "$(level_state)" "settled retained state = line level"
