# SPDX-License-Identifier: MIT
# The PWM light benchmark, run inside the test VM as a scenario after guest-bench.sh in the same
# boot (tests/bench/run passes both). The test PWM chip tests/vm/pwm-test; every time is the PWM
# core's pwm:pwm_apply tracepoint (trace_clock mono) minus the publisher's CLOCK_MONOTONIC just
# before it acted (pwm-bench.c). Prints "@@BENCH pwm.KEY JSON" and one TAP check per part (ok =
# the part ran, not a timing verdict). Settings in /vm/extra/bench.env: BENCH_N, BENCH_PWM_FADES,
# BENCH_PWM_FADE_MS. See tests/bench/README.md, "PWM lights".
. /vm/extra/bench.env
PERIOD=1000000 # 1 kHz
emit() { echo "@@BENCH pwm.$1 $2"; }
pwm_bench() { pwm-bench "$@" 2>>/tmp/pwm-bench.err || echo '{"error":"pwm-bench failed"}'; }

# the broker as guest-bench.sh has it: the harness's, without the message log
broker_stop
sed -i 's/^log_type all$/log_type error/' "$VM_BROKER_CONF"
mosquitto -c "$VM_BROKER_CONF" >>"$VM_RUN/mosquitto.out" 2>&1 &
echo $! >"$VM_RUN/broker.pid"
wait_until 10 mosquitto_pub -h "$VM_BROKER_HOST" -p "$VM_BROKER_PORT" -t vm/ping -m x 2>/dev/null ||
	bail "broker did not start"

insmod /vm/extra/pwm-test.ko || bail "pwm-test.ko did not load"
chip=
for c in /sys/class/pwm/pwmchip*; do
	[ "$(basename "$(readlink -f "$c/device")")" = pwm-test.0 ] && chip=$c
done
[ -n "$chip" ] || bail "no test PWM chip"
emit conditions "{\"kernel\":\"$(uname -r)\",\"period_ns\":$PERIOD,\"samples\":$BENCH_N,\"fades\":$BENCH_PWM_FADES,\"fade_ms\":$BENCH_PWM_FADE_MS}"

# 1. the floor: write() of duty_cycle on the same channel, exported by hand
echo 0 >"$chip/export"
echo $PERIOD >"$chip/pwm0/period"
echo 0 >"$chip/pwm0/duty_cycle"
echo 1 >"$chip/pwm0/enable"
emit floor "$(pwm_bench floor "$chip/pwm0/duty_cycle" "$BENCH_N" $PERIOD)"
echo 0 >"$chip/pwm0/enable"
echo 0 >"$chip/unexport"
check "floor measured" test ! -d "$chip/pwm0"

# 2. gpio2mqtt: publish a brightness -> its duty applied, QoS 0 and 1; then fades (QoS 1)
pwm_start() { # QOS
	cat >/tmp/pwm-bench.conf <<EOF
mqtt = { brokers = ( { host = "$VM_BROKER_HOST"; port = $VM_BROKER_PORT; } ); client_id = "bench-pwm"; base_topic = "bench/pwm"; qos = $1; };
lights = ( { name = "dim"; pwm = { chip = "pwm-test.0"; channel = 0; frequency_hz = 1000; gamma = 1.0; }; transition_ms = 0; } );
EOF
	daemon_start /tmp/pwm-bench.conf || return 1
	wait_until 10 '[ "$(mqtt_get bench/pwm/status 1)" = online ]'
}
for q in 0 1; do
	pwm_start $q || bail "gpio2mqtt did not start (qos $q)"
	emit cmd.q$q "$(pwm_bench cmd bench/pwm/dim/set "$chip/pwm0/duty_cycle" "$BENCH_N" $q)"
	[ $q = 1 ] && break
	daemon_stop
done
ok "gpio2mqtt command latency measured"
emit fade "$(pwm_bench fade bench/pwm/dim/set "$chip/pwm0/duty_cycle" "$BENCH_PWM_FADES" "$BENCH_PWM_FADE_MS" $PERIOD)"
check "gpio2mqtt survived the fades" daemon_running
daemon_stop
rmmod pwm-test
[ -s /tmp/pwm-bench.err ] && diag "pwm-bench stderr:" "$(cat /tmp/pwm-bench.err)"
emit done "{\"guest_loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
