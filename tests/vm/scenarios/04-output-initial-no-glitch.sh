# Outputs are requested with their initial level inside the request: from the first moment the
# daemon holds the line it drives the configured level, never the other one, and the line never
# spends a moment as an input (at its pull). Observed in the kernel's own record: the gpio_value
# and gpio_direction tracepoints (every level gpiolib drives and every direction change, however
# short), not a loop sampling the line, which misses short levels on a busy machine.
write_config /tmp/g.conf <<'CONF'
@BROKER@
outputs = (
  { name = "on_up"; line = "GPIO20"; power_on = "on"; },
  { name = "off_down"; line = "GPIO21"; power_on = "off"; },
  { name = "on_down"; line = "GPIO19"; power_on = "on"; },
  { name = "inv_on_up"; line = "GPIO18"; power_on = "on"; active_low = true; },
  { name = "exp_on"; chip = "gpio-sim-expander"; offset = 9; power_on = "on"; }
);
CONF
# idle levels before start: a driven glitch to the other level would show as a change
sim_pull GPIO20 up; sim_pull GPIO21 down; sim_pull GPIO19 down; sim_pull GPIO18 up; sim_pull EXP9 up

# levels LINE: what the kernel put on the line during the last trace ("1": driven 1 only, never
# 0, never an input; see gpio_levels)
levels() { gpio_levels "$(gpio_global "$1")"; }

for round in 1 2 3; do
	gpio_trace_start
	daemon_start /tmp/g.conf || bail "daemon did not start"
	trace=$(gpio_trace_stop)
	diag "round $round: GPIO20 in the kernel's record: $(echo "$trace" | awk -v g="$(gpio_global GPIO20)" '$1 == g { printf "%s%s ", $2, ($3 == "" ? "" : " " $3) }')"
	is "$(levels GPIO20)" 1 "round $round: initial on over a pull-up: GPIO20 driven 1 only (never 0, never an input)"
	is "$(levels GPIO21)" 0 "round $round: initial off: only 0 driven on GPIO21"
	is "$(levels GPIO19)" 1 "round $round: initial on over a pull-down: only 1 driven on GPIO19"
	is "$(levels GPIO18)" 0 "round $round: active_low initial on: only 0 driven on GPIO18"
	is "$(levels EXP9)" 1 "round $round: expander initial on: only 1 driven on EXP9"
	is "$(sim_value GPIO20)$(sim_value GPIO21)$(sim_value GPIO19)$(sim_value GPIO18)$(sim_value EXP9)" 10101 \
		"round $round: levels after start"
	[ "$round" = 1 ] && {
		check "states published" mqtt_wait $BASE/on_down ON 10
		is "$(mqtt_get $BASE/on_up) $(mqtt_get $BASE/off_down) $(mqtt_get $BASE/inv_on_up) $(mqtt_get $BASE/exp_on)" \
			"ON OFF ON ON" "the other states"
	}
	daemon_stop
done
[ -n "$trace" ] || diag "note: the trace was empty (no gpio tracepoints?)"

# initial on over a pull-down: 0 before (released, at the pull), the kernel drove 1 and nothing
# else while the daemon started, 1 after
is "$(sim_value GPIO19)" 0 "initial on over a pull-down: GPIO19 at 0 before the start"
gpio_trace_start
daemon_start /tmp/g.conf || bail "daemon did not start"
gpio_trace_stop >/dev/null
is "$(levels GPIO19) $(sim_value GPIO19)" "1 1" "initial on over a pull-down: GPIO19 went 0 -> 1 once (kernel record: 1 only), 1 after"
daemon_stop
