# Pulse counters (#18) on a real kernel: pulses made with gpio-sim are counted exactly, as the
# kernel's own record says (its sequence numbers: edges seen + lost = edges made, reported on
# the health topic), the count is in the state file, and a SIGKILL in the middle of counting
# never takes back a published total; pulses after the restart are counted exactly again.
write_config /tmp/m.conf <<'CONF'
@BROKER@
state_dir = "/tmp/state";
inputs = (
  { name = "energy"; line = "GPIO5"; bias = "pull-down"; mode = "counter";
    pulses_per_unit = 10; precision = 1; save_pulses = 50; save_interval_s = 1; }
);
CONF
rm -rf /tmp/state
# health KEY: the number KEY has in a fresh <base>/health report
health() {
	mqtt_record $BASE/health
	mqtt_pub $BASE/health/get '' -q 1
	wait_until 5 "[ -n \"\$(mqtt_recorded $BASE/health)\" ]"
	mqtt_recorded $BASE/health | head -1 | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
	mqtt_record_stop
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

daemon_start /tmp/m.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
check "no file yet: total 0.0" mqtt_wait $BASE/energy 0.0 5

sim_toggle GPIO5 400 500                       # 200 pulses
check "200 pulses: total 20.0" mqtt_wait $BASE/energy 20.0 10
is "$(health edges_seen)" 400 "the kernel's sequence numbers: 400 edges seen"
is "$(health edges_lost)" 0 "the kernel's sequence numbers: none lost"
check "the state file holds 200 pulses" grep -q '^energy 200$' /tmp/state/meters-0.state /tmp/state/meters-1.state

# SIGKILL while pulses come in: the restarted daemon publishes no less than was published.
mqtt_record $BASE/energy
sim_toggle GPIO5 200 2000 &                    # 100 more pulses, some while the daemon is gone
tpid=$!
# A save in the middle of the run (after 50 pulses, or 1 s after the first unsaved one on a
# slow guest) publishes a new total; then SIGKILL: the pulses since are lost, by design.
check "a save in the middle of the run: a total above 20.0 published" \
	wait_until 10 "mqtt_recorded $BASE/energy | grep -qvx '20\.0'"
daemon_kill
wait $tpid
last=$(mqtt_recorded $BASE/energy | tail -1)
mqtt_record_stop
diag "last total published before SIGKILL: $last"
mqtt_pub $BASE/energy '' -r -q 1               # forget it: the restart must publish its own
daemon_start /tmp/m.conf || bail "daemon did not restart"
check "restarted: a total is published" wait_until 10 "[ -n \"\$(mqtt_get $BASE/energy 1)\" ]"
after=$(mqtt_get $BASE/energy)
diag "total after the restart: $after"
check "after SIGKILL: the total ($after) is not below the last published ($last)" ge "$after" "$last"
check "after SIGKILL: the total ($after) is not above the pulses made (30.0)" ge 30.0 "$after"

sim_toggle GPIO5 100 500                       # 50 pulses, counted exactly after the restart
want=$(awk -v a="$after" 'BEGIN { printf "%.1f", a + 5.0 }')
check "50 pulses after the restart: total $want" mqtt_wait $BASE/energy "$want" 10
is "$(health edges_lost)" 0 "no edge lost after the restart"
daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"
