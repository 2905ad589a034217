# Outputs are requested with their initial level inside the request: from the first moment the
# daemon holds the line it drives the configured level, never the other one. Observed twice:
# a tight sampling loop on the simulated line while the daemon starts, and the kernel's
# gpio_value tracepoint (every level gpiolib drives, however short).
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

# expect LINE GLOBAL_TRACE PHYSICAL_LEVEL: every value the kernel drove on the line
drove() { echo "$trace" | awk -v g="$2" '$1 == g && $2 == "set" { print $3 }' | sort -u | tr '\n' ' '; }

for round in 1 2 3; do
	sim_watch_start GPIO20
	gpio_trace_start
	daemon_start /tmp/g.conf || bail "daemon did not start"
	trace=$(gpio_trace_stop)
	seen=$(sim_watch_stop)
	diag "round $round: $(sim_watch_samples) samples of GPIO20 during start-up: $seen"
	is "$seen" "1" "round $round: initial on over a pull-up: GPIO20 never read 0"
	is "$(drove GPIO20 "$(gpio_global GPIO20)")" "1 " "round $round: the kernel only ever drove 1 on GPIO20"
	is "$(drove GPIO21 "$(gpio_global GPIO21)")" "0 " "round $round: initial off: only 0 driven on GPIO21"
	is "$(drove GPIO19 "$(gpio_global GPIO19)")" "1 " "round $round: initial on over a pull-down: only 1 driven on GPIO19"
	is "$(drove GPIO18 "$(gpio_global GPIO18)")" "0 " "round $round: active_low initial on: only 0 driven on GPIO18"
	is "$(drove EXP9 "$(gpio_global EXP9)")" "1 " "round $round: expander initial on: only 1 driven on EXP9"
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

# the brief's variant: initial on over a pull-down, sampled: 0 before, 1 after, nothing else
sim_watch_start GPIO19
daemon_start /tmp/g.conf || bail "daemon did not start"
usleep 200000
seen=$(sim_watch_stop)
is "$seen" "0 1" "initial on over a pull-down: GPIO19 went 0 -> 1 exactly once"
daemon_stop
