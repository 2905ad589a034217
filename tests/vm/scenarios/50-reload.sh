# Reload (SIGHUP, what `systemctl reload` sends) with the real binary on a real kernel. Every pin
# has a line request of its own: a reload releases, requests or reconfigures only the pins that
# changed. An ON output kept through each reload is never released, requested again or driven OFF
# (the kernel's own records: line-info events and the gpio tracepoints); a config with errors changes nothing; a changed broker port reconnects to the new one.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "button"; line = "GPIO17"; bias = "pull-up"; } );
outputs = (
  { name = "hold"; line = "GPIO20"; power_on = "on"; },
  { name = "relay"; line = "GPIO21"; power_on = "off"; },
  { name = "exp_hold"; chip = "gpio-sim-expander"; offset = 9; power_on = "on"; }
);
CONF
# Pulled down: an ON output whose line were released (or re-requested) would read 0.
sim_pull GPIO20 down; sim_pull EXP9 down; sim_pull GPIO22 down
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
is "$(sim_value GPIO20)$(sim_value GPIO21)$(sim_value EXP9)" 101 "levels after start"
mqtt_pub $BASE/relay/set ON -q 1
check "relay ON" mqtt_wait $BASE/relay ON 5

gen=1
# reload WHAT: SIGHUP and wait for the outcome in the log (generation +1 when applied).
reload_ok() {
	gen=$((gen + 1))
	kill -HUP "$DAEMON_PID"
	check "$1: applied (generation $gen)" wait_until 10 "grep -q 'configuration generation $gen)' $DAEMON_LOG"
}
# watched WHAT COMMAND...: during COMMAND, the kernel's line-info events for GPIO20 (a release or
# a new request would show) and its gpio tracepoints (a 0 driven or an input phase would show).
watched() {
	_what=$1; shift
	line_watch_start GPIO20 || bail "cannot watch GPIO20"
	gpio_trace_start
	"$@"
	usleep 300000
	trace=$(gpio_trace_stop)
	line_watch_stop
	_ev=$(line_watch_events | awk '{ printf "%s ", $1 }' | sed 's/ $//')
	diag "$_what: GPIO20 line-info events: '$_ev'; levels driven: '$(gpio_levels "$(gpio_global GPIO20)")'"
	is "$(echo "$_ev" | grep -cE 'released|requested')" 0 "$_what: GPIO20 (ON) never released or requested again"
	g=$(gpio_global GPIO20)
	is "$(gpio_levels "$g" | grep -cE '0|in')" 0 "$_what: the kernel never drove 0 on GPIO20 nor made it an input"
	is "$(sim_value GPIO20)$(sim_value EXP9)" 11 "$_what: hold and exp_hold still ON"
}

# 1. The same file again.
watched "unchanged config" reload_ok "unchanged config"
is "$(sim_value GPIO21)" 1 "unchanged config: relay still ON"

# 2. One pin changed: relay moves from GPIO21 to GPIO22 (the same chip as hold).
sed -i 's/line = "GPIO21"; power_on = "off"/line = "GPIO22"; power_on = "off"/' /tmp/g.conf
watched "relay moved to GPIO22" reload_ok "relay moved to GPIO22"
is "$(line_consumer GPIO21)" "" "relay moved: GPIO21 released"
is "$(line_consumer GPIO22)" gpio2mqtt "relay moved: GPIO22 requested"
is "$(line_consumer GPIO20)" gpio2mqtt "relay moved: GPIO20 still ours"
is "$(sim_value GPIO22)" 1 "relay moved: the new line takes the relay's level (ON)"
mqtt_pub $BASE/relay/set OFF -q 1
check "relay/set OFF after the reload" mqtt_wait $BASE/relay OFF 5
check "GPIO22 follows" wait_until 5 '[ "$(sim_value GPIO22)" = 0 ]'

# 3. Settings of a kept line changed in place: the input's bias.
sed -i 's/bias = "pull-up"/bias = "pull-down"/' /tmp/g.conf
watched "button bias changed" reload_ok "button bias changed"
sim_pull GPIO17 up
check "button still reports edges" mqtt_wait $BASE/button ON 5

# 4. Errors: logged as FILE:LINE, nothing changes.
cp /tmp/g.conf /tmp/g.good
sed -i 's/power_on = "on"; },/power_on = "sideways"; },/' /tmp/g.conf
reload_bad() {
	kill -HUP "$DAEMON_PID"
	check "config with errors: reported" wait_until 10 "grep -q 'has errors' $DAEMON_LOG"
}
watched "config with errors" reload_bad
like "$(daemon_log)" '/tmp/g.conf:[0-9]+: output .hold.: power_on must be one of' "config with errors: FILE:LINE"
check "config with errors: still running" daemon_running
is "$(line_consumer GPIO22)" gpio2mqtt "config with errors: lines kept"
is "$(sim_value GPIO22)" 0 "config with errors: relay still OFF"
cp /tmp/g.good /tmp/g.conf

# 5. The broker port changes: a new connection to the new broker.
cat >/tmp/m2.conf <<M2
listener 1884 127.0.0.1
allow_anonymous true
persistence false
user root
M2
mosquitto -c /tmp/m2.conf >/tmp/m2.log 2>&1 &
m2=$!
check "second broker" wait_until 10 "mosquitto_pub -h 127.0.0.1 -p 1884 -t vm/ping -m x 2>/dev/null"
sed -i 's/port = 1883;/port = 1884;/' /tmp/g.conf
watched "broker port changed" reload_ok "broker port changed"
check "reconnects" wait_until 10 "grep -q 'connected to 127.0.0.1:1884' $DAEMON_LOG"
check "online on the new broker" sh -c "timeout 5 mosquitto_sub -h 127.0.0.1 -p 1884 -t $BASE/status -C 1 | grep -qx online"
check "offline on the old one" mqtt_wait $BASE/status offline 5
kill "$m2"; wait "$m2" 2>/dev/null
daemon_stop
