# PWM lights, continued (tests/vm/pwm-test; the record is the PWM core's pwm:pwm_apply
# tracepoint): dimming by hand while the broker is down (a held button ramps the duty up in
# steps, the level stays at the release, the state follows on reconnect), and the faults, each
# a clear line: no such chip (with the chips there are and the Pi overlay hint; exit 78), no
# such channel (exit 78), both also from --check on the board, a period the driver refuses
# (the values named; nothing left exported), a chip number (--check, exit 78).
pwm_test_load || bail "pwm-test.ko did not load"
chip=$PWM_CHIP
check "the test PWM chip is there ($chip)" test -n "$chip"
pwm_duties() { pwm_trace_stop | awk '{ print $2 }'; } # the duties applied, in order
# light CHIP CHANNEL FREQUENCY: a configuration with one light and a button bound to it
light() {
	write_config /tmp/d.conf <<CONF
@BROKER@
inputs = ( { name = "wall"; line = "GPIO17"; mode = "button"; double_press_ms = 0;
             long_press_ms = 300; bindings = ( { output = "strip"; when = "offline"; } ); } );
lights = ( { name = "strip"; pwm = { chip = "$1"; channel = $2; frequency_hz = $3;
             gamma = 1.0; }; dim_ms = 2000; } );
CONF
}

# Dimming by hand with the broker down: up from OFF while held.
light pwm-test.0 2 1000
sim_pull GPIO17 pull-down
daemon_start /tmp/d.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
broker_stop
pwm_trace_start
sim_pull GPIO17 pull-up; sleep_ms 1100; sim_pull GPIO17 pull-down
sleep_ms 100
pwm_duties >/tmp/ramp
is "$(sort -n /tmp/ramp | tr '\n' ' ')" "$(tr '\n' ' ' </tmp/ramp)" "the ramp only goes up"
check "the ramp moves in steps ($(wc -l </tmp/ramp))" test "$(wc -l </tmp/ramp)" -gt 5
last=$(tail -n1 /tmp/ramp)
check "it stops part-way at the release ($last ns of 1 ms)" test "$last" -gt 100000 -a "$last" -lt 1000000
is "$(grep '^2 ' /sys/devices/platform/pwm-test.0/applied | awk '{ print $3 }')" "$last" "and stays there"
broker_start
check "online again" mqtt_wait $BASE/status online 10
check "the state follows on reconnect: ON" wait_until 10 "mqtt_get $BASE/strip | grep -qx ON"
b=$(mqtt_get $BASE/strip/brightness)
is "$b" "$(( (last + 5000) / 10000 ))" "with the brightness where the hold stopped ($b %)"
daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"

# Faults at start.
light nosuch.pwm 0 1000
daemon_run /tmp/d.conf
is "$DAEMON_STATUS" 78 "no such chip: exit 78 (the file's mistake)"
like "$(daemon_log)" "no PWM chip 'nosuch.pwm' .*pwm-test.0.*dtoverlay=" "names the chip, the chips there are, the overlay hint"
daemon_run /tmp/d.conf --check
is "$DAEMON_STATUS" 78 "--check on the board: no such chip, exit 78"
like "$(daemon_log)" "d.conf:4: light 'strip': no PWM chip 'nosuch.pwm'" "at FILE:LINE of the pwm group"
light pwm-test.0 4 1000
daemon_run /tmp/d.conf
is "$DAEMON_STATUS" 78 "channel 4 of 4: exit 78"
like "$(daemon_log)" "has 4 channels \\(0\\.\\.3\\), not 4" "says how many channels there are"
light pwm-test.0 3 200000
daemon_run /tmp/d.conf
isnt "$DAEMON_STATUS" 0 "a period the driver refuses: the daemon does not start"
like "$(daemon_log)" "channel 3 refused .*period 5000 ns.*Invalid argument" "names the values the kernel refused"
check "nothing left exported" test ! -d "$chip/pwm3"
light pwmchip0 0 1000
daemon_run /tmp/d.conf --check
is "$DAEMON_STATUS" 78 "a chip number: --check exit 78"
like "$(daemon_log)" "d.conf:[0-9]*: light 'strip': pwm.chip: name the chip by its device name" "FILE:LINE, with the way to find the name"
rmmod pwm-test
