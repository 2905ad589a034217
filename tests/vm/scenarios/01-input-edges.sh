# Inputs: an edge publishes the new state, retained, on <base>/<name>; active_low inverts;
# bias pull-up / pull-down sets the idle level.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = (
  { name = "plain"; line = "GPIO17"; },
  { name = "inverted"; line = "GPIO22"; active_low = true; },
  { name = "pulled_up"; line = "GPIO23"; bias = "pull-up"; },
  { name = "pulled_down"; line = "GPIO24"; bias = "pull-down"; }
);
CONF
sim_pull GPIO24 up        # the daemon's pull-down must win over the idle level before it
daemon_start /tmp/g.conf || bail "daemon did not start"
check "status is online" mqtt_wait $BASE/status online 10
is "$(mqtt_get $BASE/plain)" OFF "plain input idles OFF (line low)"
is "$(mqtt_get $BASE/inverted)" ON "active_low input reads ON on a low line"
is "$(sim_value GPIO23)" 1 "bias pull-up pulls the line high"
is "$(mqtt_get $BASE/pulled_up)" ON "pulled-up input idles ON"
is "$(sim_value GPIO24)" 0 "bias pull-down pulls the line low"
is "$(mqtt_get $BASE/pulled_down)" OFF "pulled-down input idles OFF"

sim_pull GPIO17 up
check "rising edge publishes ON" mqtt_wait $BASE/plain ON 5
mqtt_record "$BASE/plain"
is "$(mqtt_recorded | head -n1)" "1 $BASE/plain ON" "the state is retained"
sim_pull GPIO17 down
check "falling edge publishes OFF" mqtt_wait $BASE/plain OFF 5
is "$(mqtt_get $BASE/plain)" OFF "retained state follows"

sim_pull GPIO22 up
check "active_low: high line publishes OFF" mqtt_wait $BASE/inverted OFF 5
sim_pull GPIO22 down
check "active_low: low line publishes ON" mqtt_wait $BASE/inverted ON 5

# an outside pull against the bias: the line follows the stronger (simulated) pull
sim_pull GPIO23 down
check "pulled-up input follows a line driven low" mqtt_wait $BASE/pulled_up OFF 5
sim_pull GPIO23 up
check "and back ON" mqtt_wait $BASE/pulled_up ON 5
is "$(mqtt_get $BASE/plain)" OFF "other pins are untouched"
check "daemon still running" daemon_running
