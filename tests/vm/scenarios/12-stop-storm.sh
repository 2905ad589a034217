# Stop is bounded (issue 16): a SIGTERM during an unpaced edge storm, with the broker stalled
# (SIGSTOP: it neither reads nor answers) and then with the broker gone, ends the daemon with
# status 0 and its lines in their exit state: the on_exit = "off" valve driven 0 (the kernel's
# gpio_value tracepoint), every line released. The time to exit is reported (diag); the 2 s goal
# is a benchmark figure (tests/bench: "SIGTERM during an unpaced storm"), the check here is
# that the daemon exits at all within the harness's 10 s.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "storm"; line = "GPIO10"; } );
outputs = ( { name = "valve"; line = "GPIO16"; on_exit = "off"; } );
CONF
gv=$(gpio_global GPIO16)
pull=$(sim_path GPIO10)/pull
# storm SECONDS: unpaced toggles at the highest priority, in the background (pid in $storm_pid)
storm() {
	sh -c '
		renice -n -20 -p $$ >/dev/null 2>&1
		end=$(($(cut -d. -f1 /proc/uptime) + $2))
		while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
			i=0; while [ $i -lt 100 ]; do echo pull-up >"$1"; echo pull-down >"$1"; i=$((i + 1)); done
		done' sh "$pull" "$1" &
	storm_pid=$!
}
drove() { echo "$trace" | awk -v g="$1" '$1 == g && $2 == "set" { printf "%s ", $3 }' | sed 's/ $//'; }

for how in stalled gone; do
	daemon_start /tmp/g.conf || bail "daemon did not start ($how)"
	check "$how: online" mqtt_wait $BASE/status online 10
	mqtt_pub $BASE/valve/set ON -q 1
	check "$how: valve ON" mqtt_wait $BASE/valve ON 5
	storm 4
	sleep_ms 500
	bp=$(cat "$VM_RUN/broker.pid")
	if [ $how = stalled ]; then kill -STOP "$bp"; else broker_stop; fi
	sleep_ms 300
	gpio_trace_start
	t0=$(now_ms)
	daemon_stop
	t1=$(now_ms)
	trace=$(gpio_trace_stop)
	diag "$how broker: exit $((t1 - t0)) ms after SIGTERM, during the storm"
	is "$DAEMON_STATUS" 0 "$how broker, storm: SIGTERM ends the daemon with status 0"
	is "$(drove $gv)" 0 "$how broker, storm: the kernel drove the on_exit = off valve to 0"
	is "$(lines_used_by gpio2mqtt)" 0 "$how broker, storm: every line released"
	if [ $how = stalled ]; then kill -CONT "$bp"; else broker_start; fi
	wait "$storm_pid"
	check "$how: the broker answers again" broker_running
done
