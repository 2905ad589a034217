# SPDX-License-Identifier: MIT
# The pulse counter benchmark (#18), run inside the test VM as a scenario after guest-bench.sh
# (tests/bench/run): the highest pulse rate counted exactly, gpio2mqtt's counter against the
# floor (meter-floor: a minimal libgpiod v2 reader). Each step is METER_N pulses at a rate
# (METER_RATES, "max" = unpaced) from pulse-gen (tests/vm/guest/pulse-gen.c), first into
# gpio2mqtt's counter, then into the floor, each on a line of its own. Prints "@@BENCH meter.KEY
# JSON"; one TAP check per part (ok = the part ran, not a verdict). See tests/bench/README.md.
. /vm/extra/bench.env
METER_N=${METER_N:-$((BENCH_N * 10))}
METER_RATES=${METER_RATES:-500 1000 2000 5000 max}
emit() { echo "@@BENCH $1 $2"; }
G2M=GPIO12 FLOOR=GPIO13
cat >/tmp/meter.conf <<EOF
mqtt = { brokers = ( { host = "127.0.0.1"; port = 1883; } ); client_id = "bench-meter"; base_topic = "bench/meter"; };
state_dir = "/tmp/meter-state";
inputs = ( { name = "m"; line = "$G2M"; bias = "pull-down"; mode = "counter"; pulses_per_unit = 1;
             precision = 0; save_pulses = 0; save_interval_s = 1; } );
EOF
rm -rf /tmp/meter-state
# kv LINE KEY: the value of KEY=... in pulse-gen's summary
kv() { echo "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }
total() { mosquitto_sub -h 127.0.0.1 -t bench/meter/m --retained-only -C 1 -W 2 2>/dev/null; }
counter_lost() { # the counter's edges lost per <base>/health
	mosquitto_sub -h 127.0.0.1 -t bench/meter/health -C 1 -W 5 >/tmp/meter-health.json 2>/dev/null & _hp=$!
	usleep 300000
	mosquitto_pub -h 127.0.0.1 -t bench/meter/health/get -m x
	wait $_hp
	sed -n 's/.*"counters_edges_lost":{"m":\([0-9]*\)}.*/\1/p' /tmp/meter-health.json
}

daemon_start /tmp/meter.conf || bail "gpio2mqtt did not start"
wait_until 10 '[ "$(total)" = 0 ]' || bail "gpio2mqtt published no total"
ok "gpio2mqtt counter started"
g2m_best=0 floor_best=0 counted=0 lost0=0
for r in $METER_RATES; do
	[ "$r" = max ] && hz=0 || hz=$r
	# gpio2mqtt: the total's increase (written within save_interval_s, published once written)
	res=$(pulse-gen train "$(sim_path $G2M)/pull" "$METER_N" "$hz")
	made=$(kv "$res" pulses)
	want=$((counted + made))
	wait_until 5 '[ "$(total)" = "$want" ]'
	usleep 1500000 # anything still arriving would show
	now=$(total) lost=$(counter_lost)
	got=$((now - counted)) dl=$((${lost:-0} - lost0))
	exact=$([ "$got" = "$made" ] && [ "$dl" = 0 ] && echo true || echo false)
	emit meter.g2m.$r "{\"target_hz\":\"$r\",\"made\":$made,\"achieved_hz\":$(kv "$res" rate),\"slips\":$(kv "$res" slips),\"counted\":$got,\"edges_lost\":$dl,\"exact\":$exact}"
	[ "$exact" = true ] && g2m_best=$(awk -v a="$g2m_best" -v b="$(kv "$res" rate)" 'BEGIN { print (b > a ? b : a) }')
	counted=$now lost0=${lost:-0}
	# the floor
	meter-floor /dev/$(sim_chip $FLOOR) "$(awk -v n=$FLOOR '$1 == n { print $3 }' "$VM_RUN/lines")" >/tmp/meter-floor.json 2>&1 &
	fp=$!
	wait_until 5 '[ "$(line_consumer $FLOOR)" = meter-floor ]'
	res=$(pulse-gen train "$(sim_path $FLOOR)/pull" "$METER_N" "$hz")
	made=$(kv "$res" pulses)
	usleep 1500000
	kill -TERM $fp; wait $fp
	fl=$(cat /tmp/meter-floor.json)
	rising=$(echo "$fl" | sed -n 's/.*"rising":\([0-9]*\).*/\1/p') flost=$(echo "$fl" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
	exact=$([ "$rising" = "$made" ] && [ "$flost" = 0 ] && echo true || echo false)
	emit meter.floor.$r "{\"target_hz\":\"$r\",\"made\":$made,\"achieved_hz\":$(kv "$res" rate),\"slips\":$(kv "$res" slips),\"result\":$fl,\"exact\":$exact}"
	[ "$exact" = true ] && floor_best=$(awk -v a="$floor_best" -v b="$(kv "$res" rate)" 'BEGIN { print (b > a ? b : a) }')
done
emit meter.best "{\"g2m_hz\":$g2m_best,\"floor_hz\":$floor_best,\"pulses_per_step\":$METER_N}"
check "gpio2mqtt survived the pulse steps" daemon_running
daemon_stop
ok "meter steps measured"
