# A line held by another process: clear error naming the pin, the line and the consumer; exit 1;
# no line left requested; the other process's line undisturbed.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "in_a"; line = "GPIO12"; }, { name = "in_exp"; line = "EXP1"; } );
outputs = ( { name = "out_busy"; line = "GPIO13"; power_on = "off"; }, { name = "out_b"; line = "GPIO14"; power_on = "on"; } );
CONF
gpioset GPIO13=1 &
holder=$!
wait_until 5 '[ "$(line_consumer GPIO13)" = gpioset ]'
daemon_run /tmp/g.conf --check
is "$DAEMON_STATUS" 78 "--check: a busy line is a problem of this machine (exit 78)"
like "$(cat "$DAEMON_LOG")" "g.conf:3: pin 'out_busy': line 'GPIO13' .* is busy: used by 'gpioset'" "--check: FILE:LINE, the pin, the line and its consumer"
daemon_run /tmp/g.conf
is "$DAEMON_STATUS" 1 "exit status 1 when an output line is busy"
log=$(cat "$DAEMON_LOG")
like "$log" "out_busy" "the error names the pin"
like "$log" "GPIO13" "the error names the line"
like "$log" "gpioset" "the error names the consumer"
is "$(lines_used_by gpio2mqtt)" 0 "no line left requested by gpio2mqtt"
is "$(sim_value GPIO13)" 1 "the holder's level is undisturbed"
is "$(line_consumer GPIO13)" gpioset "the holder still holds the line"
is "$(sim_value GPIO14)" 0 "the other output is back at its pull (released)"
check "the other lines can be requested" gpioget GPIO12 EXP1 GPIO14 >/dev/null
kill $holder; wait $holder 2>/dev/null

# the busy line on the second chip, after lines on the first chip were requested
gpioset EXP1=1 &
holder=$!
wait_until 5 '[ "$(line_consumer EXP1)" = gpioset ]'
gpio_trace_start
daemon_run /tmp/g.conf
trace=$(gpio_trace_stop)
is "$DAEMON_STATUS" 1 "exit status 1 when an expander line is busy"
like "$(cat "$DAEMON_LOG")" "in_exp" "the error names the pin"
like "$(cat "$DAEMON_LOG")" "EXP1" "the error names the line"
is "$(lines_used_by gpio2mqtt)" 0 "no line left requested"
is "$(sim_value EXP1)" 1 "the holder's level is undisturbed"
check "GPIO12 GPIO13 GPIO14 can be requested" gpioget GPIO12 GPIO13 GPIO14 >/dev/null
kill $holder; wait $holder 2>/dev/null
check "no daemon left running" test -z "$(pidof gpio2mqtt)"
