# Bindings work without a broker: a button press toggles its relay directly (when = "always"),
# a second binding with when = "offline" acts only while no broker is connected, and once the
# broker is back the retained states equal the line levels.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = (
  { name = "wall"; line = "GPIO5"; mode = "button"; double_press_ms = 0;
    bindings = ( { output = "lamp"; action = "toggle"; },
                 { output = "fan"; action = "toggle"; when = "offline"; } ); }
);
outputs = ( { name = "lamp"; line = "GPIO27"; }, { name = "fan"; line = "GPIO26"; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
check "lamp OFF published" mqtt_wait $BASE/lamp OFF 5

wall=$(sim_path GPIO5)/pull
state() { [ "$(sim_value $1)" = 1 ] && echo ON || echo OFF; }
# press DESC LAMP FAN: presses the button; while it is still held, waits for the lamp line to
# become LAMP (a button toggles on the press, not on the release), then checks both lines.
press() {
	echo pull-up >"$wall"
	wait_until 3 "[ \"\$(sim_value GPIO27)\" = $2 ]"
	is "$(sim_value GPIO5)$(sim_value GPIO27)" "1$2" "$1: lamp line $2 while the button is still held"
	echo pull-down >"$wall"
	wait_until 3 "[ \"\$(sim_value GPIO26)\" = $3 ]"   # the same edge drives both bindings
	is "$(sim_value GPIO26)" "$3" "$1: fan line $3"
}

# connected: only the "always" binding acts
press "online, press 1" 1 0
check "online: lamp ON published" mqtt_wait $BASE/lamp ON 5
is "$(mqtt_get $BASE/fan)" OFF "online: fan (when = offline) untouched, OFF retained"

# the broker goes away
broker_stop
check "the daemon noticed the broker is gone" wait_until 10 'grep -q "connection to .* lost" "$DAEMON_LOG"'
usleep 200000      # the main thread handles the disconnect right after the network thread logs it
press "offline, press 1" 0 1
press "offline, press 2" 1 0
press "offline, press 3" 0 1
check "daemon still running" daemon_running

# the broker returns (fresh, nothing retained): the states published equal the lines
broker_start
check "online again" mqtt_wait $BASE/status online 15
check "lamp state republished = line ($(state GPIO27))" mqtt_wait $BASE/lamp "$(state GPIO27)" 5
check "fan state republished = line ($(state GPIO26))" mqtt_wait $BASE/fan "$(state GPIO26)" 5
is "$(mqtt_get $BASE/lamp) $(mqtt_get $BASE/fan)" "OFF ON" "retained states after reconnect"

# connected again: the offline binding is inactive again
mqtt_record "$BASE/#"
press "online again, press" 1 1
check "lamp ON published" mqtt_wait $BASE/lamp ON 5
sleep_ms 300
is "$(mqtt_get $BASE/lamp) $(mqtt_get $BASE/fan)" "ON ON" "retained states = lines (fan untouched while online)"
is "$(mqtt_recorded $BASE/fan | tr '\n' ' ')" "ON " "no fan state change published while online"
