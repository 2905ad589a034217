# PWM lights on the kernel's PWM subsystem: tests/vm/pwm-test is a PWM chip (platform device
# pwm-test.0, so the daemon finds it by device name whatever pwmchipN it gets), driven through
# the real /sys/class/pwm. The record is the PWM core's own pwm:pwm_apply tracepoint (every
# state applied to the chip, in order). A JSON command, a fade (monotonic steps ending at the
# target), a short press on a bound button, a reload that applies nothing, restore after
# SIGKILL with the channel taken over and no other duty ever applied, unexport on a clean stop.
pwm_test_load || bail "pwm-test.ko did not load"
chip=$PWM_CHIP
check "the test PWM chip is there ($chip)" test -n "$chip"
applied() { grep "^1 " /sys/devices/platform/pwm-test.0/applied; }

write_config /tmp/p.conf <<'CONF'
@BROKER@
state_dir = "/tmp/pstate";
inputs = ( { name = "wall"; line = "GPIO17"; mode = "button"; double_press_ms = 0;
             long_press_ms = 2000; bindings = ( { output = "strip"; } ); } );
lights = ( { name = "strip"; pwm = { chip = "pwm-test.0"; channel = 1; frequency_hz = 1000;
             gamma = 1.0; }; power_on = "restore"; transition_ms = 0; payload = "json"; } );
CONF
rm -rf /tmp/pstate
sim_pull GPIO17 pull-down
pwm_trace_start
daemon_start /tmp/p.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
like "$(mqtt_get $BASE/strip)" '"state":"OFF"' "starts OFF (no state file)"
check "channel 1 exported" test -d "$chip/pwm1"
is "$(pwm_trace_stop | tail -n1)" "1000000 0 1" "the kernel applied 1 kHz, duty 0, enabled"

pwm_trace_start
mqtt_pub $BASE/strip/set '{"state":"ON","brightness":40}' -q 1
check "ON 40 published" wait_until 5 "mqtt_get $BASE/strip | grep -q '\"brightness\":40'"
check "duty 40 % applied" wait_until 5 "applied | grep -q '^1 1000000 400000 normal 1'"
is "$(pwm_trace_stop | tail -n1)" "1000000 400000 1" "the core's record: 400000 ns of 1 ms"

# A fade over 0.5 s to full: monotonic steps, ending at the target.
pwm_trace_start
mqtt_pub $BASE/strip/set '{"brightness":100,"transition":0.5}' -q 1
check "the fade ends at full duty" wait_until 5 "applied | grep -q '^1 1000000 1000000 normal 1'"
pwm_trace_stop | awk '{ print $2 }' >/tmp/fade
is "$(tail -n1 /tmp/fade)" 1000000 "the last step is the target"
is "$(sort -n /tmp/fade | tr '\n' ' ')" "$(tr '\n' ' ' </tmp/fade)" "every step up, never down"
check "more than 5 steps ($(wc -l </tmp/fade))" test "$(wc -l </tmp/fade)" -gt 5
is "$(awk '$1 <= 400000' /tmp/fade | wc -l)" 0 "the fade starts above where the light was"

# A short press on the bound button toggles it OFF.
pwm_trace_start
sim_pull GPIO17 pull-up; sleep_ms 100; sim_pull GPIO17 pull-down
check "OFF published" wait_until 5 "mqtt_get $BASE/strip | grep -q '\"state\":\"OFF\"'"
check "duty 0 applied" wait_until 5 "applied | grep -q '^1 1000000 0 normal 1'"
mqtt_pub $BASE/strip/set ON -q 1
check "ON goes back to full" wait_until 5 "applied | grep -q '^1 1000000 1000000 normal 1'"
check "state file: ON at full" wait_until 5 "grep -qx 'strip ON:10000' /tmp/pstate/outputs.state"
pwm_trace_stop >/dev/null

# A reload (SIGHUP) with the light unchanged: the kernel is asked for nothing.
pwm_trace_start
kill -HUP "$DAEMON_PID"
# logged once the new configuration is in force, after every write the reload made
check "reloaded" wait_until 5 "grep -q 'is valid and applied' $DAEMON_LOG"
is "$(pwm_trace_stop | wc -l)" 0 "no state applied to the chip by the reload"

# SIGKILL: the channel stays exported and running; the restart takes it over and restores it
# without the kernel ever applying another state.
daemon_kill
check "still exported after SIGKILL" test -d "$chip/pwm1"
pwm_trace_start
daemon_start /tmp/p.conf || bail "daemon did not restart"
check "online again" mqtt_wait $BASE/status online 10
check "restored: ON at 100" wait_until 5 "mqtt_get $BASE/strip | grep -q '\"state\":\"ON\",\"brightness\":100'"
like "$(daemon_log)" "exported already.*taking it over" "the channel is taken over, with a notice"
is "$(pwm_trace_stop | awk '$2 != 1000000' | wc -l)" 0 "no other duty applied during the restart"

daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"
check "unexported on a clean stop" test ! -d "$chip/pwm1"
rmmod pwm-test
