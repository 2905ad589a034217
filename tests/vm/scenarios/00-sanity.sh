# The board, the broker and the helpers themselves, with libgpiod's tools only (no daemon).

like "$(gpiodetect)" '\[pinctrl-bcm2711\] \(28 lines\)' "the Pi-like chip is there with 28 lines"
like "$(gpiodetect)" '\[gpio-sim-expander\] \(16 lines\)' "the expander is there with 16 lines"
like "$(gpioinfo GPIO17)" 'GPIO17' "gpioinfo finds GPIO17 by name"

# input side: a pull drives what a consumer reads
sim_pull GPIO17 up
is "$(gpioget --numeric GPIO17)" 1 "pull-up on GPIO17 reads 1"
sim_pull GPIO17 down
is "$(gpioget --numeric GPIO17)" 0 "pull-down on GPIO17 reads 0"
sim_pull gpio-sim-expander:3 up
is "$(gpioget --numeric -c "$(sim_chip EXP3)" 3)" 1 "chip-label:offset addresses the expander"

# output side: what a consumer drives is visible in sim_value, and falls back to the pull
gpioset GPIO27=1 &
gp=$!
wait_until 5 '[ "$(sim_value GPIO27)" = 1 ]'
is "$(sim_value GPIO27)" 1 "gpioset GPIO27=1 drives the line high"
is "$(line_consumer GPIO27)" gpioset "gpioinfo names the consumer"
kill $gp; wait $gp 2>/dev/null
wait_until 5 '[ "$(sim_value GPIO27)" = 0 ]'
is "$(sim_value GPIO27)" 0 "released line falls back to the pull-down"
is "$(line_consumer GPIO27)" "" "released line has no consumer"

# edges: paced toggles are all seen by gpiomon
gpiomon --num-events 6 --format '%e' GPIO5 >/tmp/mon.out &
mp=$!
wait_until 5 '[ "$(line_consumer GPIO5)" = gpiomon ]'
sim_toggle GPIO5 6 20000
wait_until 5 pid_gone $mp
is "$(tr '\n' ' ' </tmp/mon.out)" "1 2 1 2 1 2 " "gpiomon saw 6 alternating edges"

# broker: retained values, waiting, recording
mqtt_pub vm/t/a hello -r
is "$(mqtt_get vm/t/a)" hello "retained value is readable"
check "mqtt_wait sees the retained value" mqtt_wait vm/t/a hello 3
mqtt_record 'vm/t/#'
mqtt_pub vm/t/b one
mqtt_pub vm/t/b two
wait_until 5 '[ "$(mqtt_recorded vm/t/b | wc -l)" -ge 2 ]'
is "$(mqtt_recorded vm/t/b | tr '\n' ' ')" "one two " "recorder saw both messages in order"
broker_restart
is "$(mqtt_get vm/t/a 1)" "" "a restarted broker has no retained state"

# kernel tracing of GPIO values (used by the no-glitch scenario)
gpio_trace_start
gpioset -t 0 GPIO20=1
tr=$(gpio_trace_stop)
like "$tr" "^$(gpio_global GPIO20) set 1" "the gpio_value tracepoint records what gpioset drove"
diag "kernel $(uname -r), daemon: $(command -v gpio2mqtt || echo none)"
