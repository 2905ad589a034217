# Lines that do not exist: a clear error and exit 78 (the file's mistake: no restart loop), and
# --check on this machine says so first, as FILE:LINE with the closest line names; a bad
# config: exit 78, no line touched.
cfg() { write_config /tmp/g.conf; }
cfg <<'CONF'
@BROKER@
inputs = ( { name = "ok_pin"; line = "GPIO2"; }, { name = "ghost"; line = "GPIO99"; } );
CONF
daemon_run /tmp/g.conf --check
is "$DAEMON_STATUS" 78 "--check: unknown line name: exit 78"
like "$(cat "$DAEMON_LOG")" "g.conf:2: pin 'ghost': no line named 'GPIO99' on any GPIO chip; closest: 'GPIO9' " "--check: FILE:LINE, the pin, the line and the closest names on this board"
daemon_run /tmp/g.conf --check --no-gpio
is "$DAEMON_STATUS" 0 "--check --no-gpio: the lines are not looked up"
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 78 "unknown line name: exit 78"
like "$(cat "$DAEMON_LOG")" "pin 'ghost': no line named 'GPIO99' on any GPIO chip" "message names the pin and the line"
is "$(lines_used_by gpio2mqtt)" 0 "nothing left requested"

cfg <<'CONF'
@BROKER@
outputs = ( { name = "nochip"; chip = "no-such-chip"; offset = 1; } );
CONF
daemon_run /tmp/g.conf --check
is "$DAEMON_STATUS" 78 "--check: unknown chip: exit 78"
like "$(cat "$DAEMON_LOG")" "g.conf:2: pin 'nochip': no GPIO chip .*the chips here: gpiochip[0-9]+ \\[" "--check: the chips this machine has, with their labels"
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 78 "unknown chip: exit 78"
like "$(cat "$DAEMON_LOG")" "nochip.*no-such-chip|no-such-chip.*nochip" "message names the pin and the chip"

cfg <<'CONF'
@BROKER@
outputs = ( { name = "far"; chip = "gpio-sim-expander"; offset = 16; } );
CONF
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 78 "offset beyond the chip: exit 78"
like "$(cat "$DAEMON_LOG")" "far" "message names the pin"

cfg <<'CONF'
@BROKER@
outputs = ( { name = "relay"; line = "GPIO27"; power_on = "on"; bias = "sideways"; } );
CONF
gpio_trace_start
daemon_run /tmp/g.conf
trace=$(gpio_trace_stop)
is "$DAEMON_STATUS" 78 "invalid config: exit 78"
like "$(cat "$DAEMON_LOG")" "g.conf:[0-9]+: " "error as FILE:LINE: message"
is "$trace" "" "no GPIO line touched (no gpio tracepoint fired)"
is "$(sim_value GPIO27)" 0 "GPIO27 still at its pull"
