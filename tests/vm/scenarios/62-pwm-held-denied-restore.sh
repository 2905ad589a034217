# PWM lights, the faults 61 does not cover, each from the kernel's record (the PWM core's
# pwm:pwm_apply tracepoint and the test chip's "applied" attribute; tests/vm/pwm-test):
# a channel a kernel consumer holds (pwm-test.ko hold=2: requested in the core's own
# bookkeeping, as pwm-leds or pwm-fan would) refused at start (exit 1, the EBUSY line, nothing
# else left exported, the state file kept) and at a reload (the running lights and outputs keep
# working); the daemon as an unprivileged user on a chip it may not write, the channel free
# (export denied) or exported already by root (its first attribute write denied): the file and
# the udev/group hint named, nothing applied; power_on = "restore" across SIGTERM: 40 % comes back as 40 %, the
# kernel applying no other duty on the way (on_exit "off": 0 at the stop, then straight 40 %;
# on_exit "keep": 40 % throughout).
pwm_test_load hold=2 || bail "pwm-test.ko did not load"
chip=$PWM_CHIP
check "the test PWM chip is there ($chip)" test -n "$chip"
if [ -r /sys/kernel/debug/pwm ]; then
	like "$(grep 'pwm-2 ' /sys/kernel/debug/pwm)" "pwm-test-hold.*requested" \
		"the kernel lists channel 2 as requested by a consumer"
fi
applied() { grep "^$1 " /sys/devices/platform/pwm-test.0/applied; }
applied_count() { sed -n 's/^applied //p' /sys/devices/platform/pwm-test.0/applied; }
# conf FILE EXTRA_LIGHT: a GPIO output and the light "strip" on channel 1, plus EXTRA_LIGHT
conf() {
	write_config "$1" <<CONF
@BROKER@
state_dir = "/tmp/hstate";
outputs = ( { name = "relay"; line = "GPIO27"; } );
lights = ( { name = "strip"; pwm = { chip = "pwm-test.0"; channel = 1; frequency_hz = 1000;
             gamma = 1.0; }; power_on = "restore"; transition_ms = 0; }$2 );
CONF
}
FAN=', { name = "fan"; pwm = { chip = "pwm-test.0"; channel = 2; frequency_hz = 1000; }; }'
rm -rf /tmp/hstate

# (a) the held channel at start: refused with its reason, nothing else lost.
conf /tmp/b.conf ""
conf /tmp/a.conf "$FAN"
daemon_start /tmp/b.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
mqtt_pub $BASE/strip/set 40 -q 1
check "strip at 40 %" wait_until 5 "applied 1 | grep -q '^1 1000000 400000 normal 1'"
check "state file: strip ON:4000" wait_until 5 "grep -qx 'strip ON:4000' /tmp/hstate/outputs.state"
daemon_stop
cp /tmp/hstate/outputs.state /tmp/saved.state
n0=$(applied_count)
daemon_run /tmp/a.conf
is "$DAEMON_STATUS" 1 "a channel a kernel consumer holds: the daemon does not start (exit 1)"
like "$(daemon_log)" "light 'fan': PWM chip 'pwm-test.0' channel 2 is busy: a kernel driver uses it" \
	"one line names the light, the chip, the channel and why"
check "strip's channel not left exported" test ! -d "$chip/pwm1"
check "the held channel not exported" test ! -d "$chip/pwm2"
check "the state file is kept as it was" cmp -s /tmp/hstate/outputs.state /tmp/saved.state
is "$(applied 2)" "2 0 0 normal 0" "the held channel: never touched"

# (a) at a reload: refused, the running configuration stays in force and keeps working.
daemon_start /tmp/b.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
conf /tmp/b.conf "$FAN"
kill -HUP "$DAEMON_PID"
check "the reload is refused" wait_until 5 "grep -q 'the running configuration stays in force' $DAEMON_LOG"
like "$(daemon_log)" "light 'fan': PWM chip 'pwm-test.0' channel 2 is busy" "with the reason"
check "still running" daemon_running
pwm_trace_start
mqtt_pub $BASE/strip/set 70 -q 1
check "strip obeys after the refused reload" wait_until 5 "applied 1 | grep -q '^1 1000000 700000 normal 1'"
is "$(pwm_trace_stop | tr '\n' ' ')" "1000000 700000 1 " "the kernel applied 70 % and nothing else"
gpio_trace_start
mqtt_pub $BASE/relay/set ON -q 1
check "relay ON echoed" mqtt_wait $BASE/relay ON 5
gpio_trace_stop >/dev/null
is "$(gpio_levels "$(gpio_global GPIO27)")" 1 "the kernel drove the relay's line to 1"
daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"

# (b) permission denied: an unprivileged user, the chip's export root's alone.
grep -q '^g2m:' /etc/passwd || echo 'g2m:x:1000:1000::/tmp:/bin/sh' >>/etc/passwd
conf /tmp/c.conf ""
sed -i 's|/tmp/hstate|/tmp/ustate|' /tmp/c.conf
rm -rf /tmp/ustate; mkdir -p /tmp/ustate; chmod 777 /tmp/ustate
sed -i '/^outputs/d' /tmp/c.conf # no GPIO: /dev/gpiochip* is root's too
# as_g2m: the daemon with /tmp/c.conf as user g2m, in the foreground; its status in $st
as_g2m() {
	: >"$DAEMON_LOG"
	timeout 15 su -s /bin/sh g2m -c "$(command -v gpio2mqtt) -c /tmp/c.conf" >>"$DAEMON_LOG" 2>&1
	st=$?
}
n0=$(applied_count)
as_g2m
isnt "$st" 0 "as an unprivileged user: the daemon does not start"
like "$(daemon_log)" "light 'strip': cannot export PWM chip 'pwm-test.0' channel 1 \\($chip/export\\): Permission denied" \
	"names the chip, the channel and the file"
like "$(daemon_log)" "udev rule.*gpio group" "hints at the udev rule and the group"
is "$(applied_count)" "$n0" "nothing applied to the chip"
# The channel exported already (by root): taken over, its attributes root's alone.
echo 1 >"$chip/export"
as_g2m
isnt "$st" 0 "taken over but not writable: the daemon does not start"
like "$(daemon_log)" "light 'strip': PWM chip 'pwm-test.0' channel 1: cannot write $chip/pwm1/[a-z_]+ = [0-9]+: Permission denied \\(.*udev rule.*gpio group" \
	"names the file it may not write, with the hint"
is "$(applied_count)" "$n0" "nothing applied to the chip"
echo 1 >"$chip/unexport"

# (c) restore across SIGTERM, on_exit "off": 0 at the stop, 40 % at the start, nothing between.
cp /tmp/saved.state /tmp/hstate/outputs.state
conf /tmp/d.conf ""
sed -i 's|transition_ms = 0;|transition_ms = 0; on_exit = "off";|' /tmp/d.conf
pwm_trace_start
daemon_start /tmp/d.conf || bail "daemon did not start"
check "restored: strip ON" mqtt_wait $BASE/strip ON 10
is "$(mqtt_get $BASE/strip/brightness)" 40 "at brightness 40"
daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"
is "$(pwm_trace_stop | awk '{ print $2 }' | uniq | tr '\n' ' ')" "400000 0 " \
	"the kernel applied 40 % at the start and 0 at the stop, nothing else"
pwm_trace_start
daemon_start /tmp/d.conf || bail "daemon did not restart"
check "restored again after SIGTERM: ON" mqtt_wait $BASE/strip ON 10
is "$(mqtt_get $BASE/strip/brightness)" 40 "at brightness 40"
is "$(pwm_trace_stop | tr '\n' ' ')" "1000000 400000 1 " \
	"the restart: the kernel applied 40 % straight from 0, no full-on or other step"
daemon_stop
# on_exit "keep" (the default): the stop leaves the channel at 40 % (unexported), the restart
# exports it again and asks the kernel for no other duty.
conf /tmp/b.conf ""
pwm_trace_start
daemon_start /tmp/b.conf || bail "daemon did not start"
check "restored: strip ON (on_exit keep)" mqtt_wait $BASE/strip ON 10
daemon_stop
check "unexported at the stop" test ! -d "$chip/pwm1"
daemon_start /tmp/b.conf || bail "daemon did not restart"
check "restored after SIGTERM: ON" mqtt_wait $BASE/strip ON 10
is "$(mqtt_get $BASE/strip/brightness)" 40 "at brightness 40"
is "$(pwm_trace_stop | awk '{ print $2, $3 }' | uniq | tr '\n' ' ')" "400000 1 " \
	"across the stop and the restart the kernel applied 40 % and nothing else"
is "$(applied 1)" "1 1000000 400000 normal 1" "the chip's last state: 40 %, enabled"
daemon_stop
rmmod pwm-test
