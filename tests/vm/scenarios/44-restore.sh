# power_on = "restore": the commanded level survives a clean restart (SIGTERM) and a SIGKILL;
# the line is requested at the restored level from the first moment (the kernel's record, the
# gpio_value and gpio_direction tracepoints: only that level is ever driven, never an input phase)
# and that state is published; a
# corrupt state file -> the output starts OFF with a warning.
write_config /tmp/g.conf <<'CONF'
@BROKER@
state_dir = "/tmp/state";
outputs = (
  { name = "heater"; line = "GPIO24"; power_on = "restore"; },
  { name = "plain"; line = "GPIO25"; }
);
CONF
SF=/tmp/state/outputs.state
rm -rf /tmp/state
g=$(gpio_global GPIO24)
drove() { gpio_trace_stop | awk -v g="$g" '$1 == g && $2 == "set" { print $3 }' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
is "$(sim_value GPIO24)" 0 "no state file: heater starts OFF"
like "$(cat $DAEMON_LOG)" "outputs.state.*restore.*start OFF" "no state file: a warning says so"

mqtt_pub $BASE/heater/set ON -q 1
check "heater ON echoed" mqtt_wait $BASE/heater ON 5
is "$(sim_value GPIO24)" 1 "heater line ON"
check "state file records heater ON" wait_until 3 "grep -qx 'heater ON' $SF"
# Besides outputs.state only discovery's list of announced topics may be there: no temporary
# file of either writer is left behind.
is "$(ls /tmp/state | grep -v -x -e outputs.state -e discovery.topics | tr '\n' ' ')" "" "no temporary file left in state_dir"
check "outputs.state is there" test -s /tmp/state/outputs.state

# restart LABEL SIGNAL WANT_LEVEL WANT_STATE: stops the daemon with SIGNAL, clears the retained
# state, starts it again while tracing what gpiolib drives and sets
restart() {
	if [ "$2" = KILL ]; then daemon_kill; else daemon_stop; fi
	is "$(sim_value GPIO24)" 0 "$1: line released (falls back to the pull-down)"
	mqtt_pub $BASE/heater '' -r -q 1          # forget the retained state: it must be republished
	gpio_trace_start
	daemon_start /tmp/g.conf || bail "$1: daemon did not start"
	seen_drove=$(drove)
	levels=$(gpio_levels "$g")
	diag "$1: the kernel's record during start-up: driven '$seen_drove', levels '$levels'"
	is "$levels" "$3" "$1: requested straight at $3 (kernel record: $3 only, no input phase)"
	is "$(sim_value GPIO24)" "$3" "$1: the line is at $3 after the start"
	is "$seen_drove" "$3" "$1: the kernel only ever drove $3 on the line"
	check "$1: state $4 published" mqtt_wait $BASE/heater "$4" 10
	is "$(mqtt_get $BASE/heater)" "$4" "$1: retained state $4"
}

restart "SIGTERM" TERM 1 ON
is "$(grep -c 'restored from' $DAEMON_LOG)" 1 "SIGTERM: the log says the states were restored"
restart "SIGKILL after ON" KILL 1 ON

mqtt_pub $BASE/heater/set OFF -q 1
check "heater OFF echoed" mqtt_wait $BASE/heater OFF 5
check "state file records heater OFF" wait_until 3 "grep -qx 'heater OFF' $SF"
restart "SIGKILL after OFF" KILL 0 OFF

mqtt_pub $BASE/heater/set ON -q 1
check "heater ON again" mqtt_wait $BASE/heater ON 5
check "state file records heater ON again" wait_until 3 "grep -qx 'heater ON' $SF"
daemon_stop

# a corrupt state file: OFF, with a warning
sed -i 's/^heater ON$/heater 0N/' $SF
is "$(grep -c '^heater 0N$' $SF)" 1 "state file corrupted (heater 0N)"
mqtt_pub $BASE/heater '' -r -q 1
gpio_trace_start
daemon_start /tmp/g.conf || bail "corrupt: daemon did not start"
is "$(drove)" 0 "corrupt: only 0 driven on the line"
is "$(sim_value GPIO24)" 0 "corrupt: heater starts OFF"
like "$(cat $DAEMON_LOG)" "warning: .*outputs.state is corrupt.*start OFF" "corrupt: a warning in the log"
check "corrupt: state OFF published" mqtt_wait $BASE/heater OFF 10

daemon_stop
printf 'garbage\n' >$SF
daemon_start /tmp/g.conf || bail "garbage: daemon did not start"
is "$(sim_value GPIO24)" 0 "garbage file: heater starts OFF"
like "$(cat $DAEMON_LOG)" "outputs.state is corrupt" "garbage file: a warning in the log"
