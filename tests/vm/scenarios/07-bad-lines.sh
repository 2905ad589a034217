# Lines that do not exist: a clear error and exit 1; a bad config: exit 78, no line touched.
cfg() { write_config /tmp/g.conf; }
cfg <<'CONF'
@BROKER@
inputs = ( { name = "ok_pin"; line = "GPIO2"; }, { name = "ghost"; line = "GPIO99"; } );
CONF
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 1 "unknown line name: exit 1"
like "$(cat "$DAEMON_LOG")" "pin 'ghost': no line named 'GPIO99' on any GPIO chip" "message names the pin and the line"
is "$(lines_used_by gpio2mqtt)" 0 "nothing left requested"

cfg <<'CONF'
@BROKER@
outputs = ( { name = "nochip"; chip = "no-such-chip"; offset = 1; } );
CONF
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 1 "unknown chip: exit 1"
like "$(cat "$DAEMON_LOG")" "nochip.*no-such-chip|no-such-chip.*nochip" "message names the pin and the chip"

cfg <<'CONF'
@BROKER@
outputs = ( { name = "far"; chip = "gpio-sim-expander"; offset = 16; } );
CONF
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 1 "offset beyond the chip: exit 1"
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
