# on_exit = "off": at SIGTERM the output is driven OFF and that OFF is published before
# "offline"; on_exit = "keep" (the default): the line keeps its level until it is released and
# no OFF is published. gpio-sim shows a released line at its pull, so what the daemon drove is
# read from the kernel's own records: the gpio_value tracepoint (every level driven, however
# short) and the line-info "released" event, both on CLOCK_MONOTONIC, give the valve's
# ON -> OFF -> released (pull-up) sequence in order. (A loop sampling the line's level missed the
# short OFF on a busy machine.)
write_config /tmp/g.conf <<'CONF'
@BROKER@
outputs = (
  { name = "valve"; line = "GPIO16"; on_exit = "off"; },
  { name = "light"; line = "GPIO12"; on_exit = "keep"; },
  { name = "dflt"; line = "GPIO13"; }
);
CONF
gv=$(gpio_global GPIO16) gl=$(gpio_global GPIO12) gd=$(gpio_global GPIO13)
# drove GLOBAL: the values gpiolib drove on the line during the last trace, in order
drove() { echo "$trace" | awk -v g="$1" '$1 == g && $2 == "set" { printf "%s ", $3 }' | sed 's/ $//'; }
sim_pull GPIO16 up; sim_pull GPIO12 up; sim_pull GPIO13 up

daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
for p in valve light dflt; do mqtt_pub $BASE/$p/set ON -q 1; done
check "dflt ON" mqtt_wait $BASE/dflt ON 5
is "$(mqtt_get $BASE/valve) $(mqtt_get $BASE/light)" "ON ON" "all three ON"

mqtt_record "$BASE/#"
is "$(sim_value GPIO16)" 1 "on_exit = off: valve line ON before the stop"
line_watch_start GPIO16 || bail "cannot watch GPIO16"
gpio_trace_start
daemon_stop
trace=$(gpio_trace_stop)
line_watch_stop
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
off_at=$(gpio_set_times $gv | awk '$2 == 0 { print $1; exit }')
rel_at=$(line_watch_events | awk '$1 == "released" { print $2; exit }')
diag "valve during stop: driven '$(drove $gv)' (0 at ${off_at:-never}), released at ${rel_at:-never}; light: '$(drove $gl)', dflt: '$(drove $gd)'"
is "$(drove $gv)" 0 "on_exit = off: the kernel drove 0 on the valve line at the stop"
is "$(line_watch_events | awk '{ printf "%s ", $1 }' | sed 's/ $//')" released "on_exit = off: the valve line was released once, nothing else"
check "on_exit = off: valve OFF driven before the line was released (kernel timestamps: ${off_at:-none} < ${rel_at:-none})" \
	awk -v a="${off_at:-x}" -v b="${rel_at:-x}" 'BEGIN { exit !(a != "x" && b != "x" && a + 0 < b + 0) }'
is "$(sim_value GPIO16)" 1 "on_exit = off: released valve line back at its pull-up"
is "$(drove $gl)" "" "on_exit = keep: nothing driven on the light line at the stop"
is "$(drove $gd)" "" "default (keep): nothing driven on the dflt line at the stop"
is "$(lines_used_by gpio2mqtt)" 0 "lines released"
wait_until 3 'mqtt_recorded | grep -q " $BASE/status offline"'
got=$(mqtt_recorded | awk '$1 == 0 { print $2, $3 }' | sed "s|^$BASE/||" | tr '\n' ',')
diag "published at the stop: $got"
is "$got" "valve OFF,status offline," "valve OFF published, then offline; nothing for light or dflt"
is "$(mqtt_get $BASE/valve) $(mqtt_get $BASE/light) $(mqtt_get $BASE/dflt)" "OFF ON ON" "retained states after the stop"

# the broker down at the stop: the valve is switched OFF all the same
daemon_start /tmp/g.conf || bail "daemon did not start again"
check "online again" mqtt_wait $BASE/status online 10
mqtt_pub $BASE/valve/set ON -q 1
check "valve ON" mqtt_wait $BASE/valve ON 5
broker_stop
gpio_trace_start
daemon_stop
trace=$(gpio_trace_stop)
is "$DAEMON_STATUS" 0 "broker down: exit status 0"
is "$(drove $gv)" 0 "broker down: the valve is driven OFF at the stop"
is "$(drove $gl)" "" "broker down: nothing driven on the light line"
broker_start
