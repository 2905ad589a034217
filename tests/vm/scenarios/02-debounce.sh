# debounce_ms: a bounce burst shorter than the debounce time gives exactly one state change;
# a burst that ends where it started gives none.
write_config /tmp/g.conf <<'CONF'
@BROKER@
inputs = ( { name = "button"; line = "GPIO5"; debounce_ms = 300; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "idle state OFF published" mqtt_wait $BASE/button OFF 10
mqtt_record "$BASE/button"

t0=$(now_ms)
sim_toggle GPIO5 9 2000      # 9 bounces, ~2 ms apart: ends high
t1=$(now_ms)
diag "burst 1: 9 toggles in $((t1 - t0)) ms (debounce 300 ms)"
[ $((t1 - t0)) -lt 300 ] || diag "WARNING: the burst took longer than the debounce time"
sleep_ms 1000
is "$(mqtt_recorded $BASE/button | tr '\n' ' ')" "OFF ON " "one burst ending high -> exactly one ON"

t0=$(now_ms)
sim_toggle GPIO5 9 2000      # ends low
t1=$(now_ms)
diag "burst 2: 9 toggles in $((t1 - t0)) ms"
sleep_ms 1000
is "$(mqtt_recorded $BASE/button | tr '\n' ' ')" "OFF ON OFF " "a burst ending low -> exactly one OFF"

sim_toggle GPIO5 8 2000      # ends low again: no change at all
sleep_ms 1000
is "$(mqtt_recorded $BASE/button | tr '\n' ' ')" "OFF ON OFF " "a burst ending where it began -> no publish"
is "$(mqtt_get $BASE/button)" OFF "retained state is the line level"
