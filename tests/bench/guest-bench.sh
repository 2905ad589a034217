# SPDX-License-Identifier: MIT
# The benchmark, run inside the test VM as a scenario (tests/bench/run puts it there). Prints
# every result as "@@BENCH KEY JSON" and one TAP check per part (ok = the part ran, not a timing
# verdict). Settings in /vm/extra/bench.env: BENCH_N BENCH_RATES BENCH_SWEEP_MS BENCH_IDLE_S
# BENCH_GLITCH_N. See tests/bench/README.md.
. /vm/extra/bench.env
BENCH_PORT=1883 TLS_PORT=8883
emit() { echo "@@BENCH $1 $2"; }
g2m_bench() { g2m-bench "$@" 2>>/tmp/g2m-bench.err || echo '{"error":"g2m-bench failed"}'; }

# ---------------------------------------------------------------- broker: quiet, + TLS listener
bench_broker_start() {
	broker_stop
	{
		echo "per_listener_settings false"
		echo "allow_anonymous true"; echo "persistence false"; echo "max_queued_messages 0"
		echo "user root"; echo "log_dest file $VM_RUN/mosquitto.log"; echo "log_type error"
		echo "listener $BENCH_PORT 127.0.0.1"
		if [ -e /vm/extra/server.crt ]; then
			echo "listener $TLS_PORT 127.0.0.1"
			echo "cafile /vm/extra/ca.crt"; echo "certfile /vm/extra/server.crt"; echo "keyfile /vm/extra/server.key"
		fi
	} >"$VM_RUN/bench-mosquitto.conf"
	mosquitto -c "$VM_RUN/bench-mosquitto.conf" >>"$VM_RUN/mosquitto.out" 2>&1 &
	echo $! >"$VM_RUN/broker.pid"
	wait_until 10 mosquitto_pub -h 127.0.0.1 -p $BENCH_PORT -t vm/ping -m x 2>/dev/null
}

# ---------------------------------------------------------------- process figures
# mem_json PID...: [{"proc":"gpiomon","pid":1,"rss_kb":N,"hwm_kb":N,"pss_kb":N,"uss_kb":N},...]
# PSS (shared pages divided among their users) and USS (private pages) from smaps_rollup.
mem_json() {
	_o= _s=
	for _p; do
		[ -r "/proc/$_p/status" ] || continue
		_o="$_o$_s$(cat "/proc/$_p/status" "/proc/$_p/smaps_rollup" 2>/dev/null | awk -v p="$_p" '
			/^Name:/ { n = $2 } /^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^Pss:/ { s = $2 }
			/^Private_(Clean|Dirty):/ { u += $2 }
			END { printf "{\"proc\":\"%s\",\"pid\":%s,\"rss_kb\":%d,\"hwm_kb\":%d,\"pss_kb\":%d,\"uss_kb\":%d}", n, p, r, h, s, u }')"
		_s=,
	done
	echo "[$_o]"
}
# mem_map PID: memory by mapping group (tests/bench/mem-map, copied to /vm/extra by run)
mem_map() { sh /vm/extra/mem-map "$1" || echo '{"error":"mem-map failed"}'; }
# health_json: <base>/health of the running gpio2mqtt (asked for through health/get)
health_json() {
	mosquitto_sub -h 127.0.0.1 -p $BENCH_PORT -t bench/g2m/health -C 1 -W 5 >/tmp/health.json 2>/dev/null & _hp=$!
	usleep 300000
	mosquitto_pub -h 127.0.0.1 -p $BENCH_PORT -t bench/g2m/health/get -m x
	wait $_hp
	[ -s /tmp/health.json ] && cat /tmp/health.json || echo '{"error":"no health report"}'
}
# ctx_sum PID...: voluntary + involuntary context switches of every thread
ctx_sum() {
	for _p; do cat /proc/"$_p"/task/*/status 2>/dev/null; done |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}
# strace_json FILE: {"total":N,"calls":{"epoll_wait":N,...}} from strace -c output
strace_json() {
	awk '$NF == "total" { t = $4 } $1 ~ /^[0-9.]+$/ && $NF != "total" && NF >= 5 {
			c = c (c ? "," : "") "\"" $NF "\":" $4 }
		END { printf "{\"total\":%d,\"calls\":{%s}}", t, c }' "$1"
}
lost_reported() { grep -oE "[0-9]+ edges lost" "$DAEMON_LOG" | awk '{ s += $1 } END { print s + 0 }'; }
retained_level() { # TOPIC -> 1/0/-1
	case $(mqtt_get "$1" 3) in ON | 1 | rising) echo 1 ;; OFF | 0 | falling) echo 0 ;; *) echo -1 ;; esac
}

# ---------------------------------------------------------------- the contenders
G2M_IN=GPIO17 G2M_OUT=GPIO27 SH_IN=GPIO18 SH_OUT=GPIO26 FL_IN=GPIO19 FL_OUT=GPIO25
g2m_start() { # QOS [TLS]
	_port=$BENCH_PORT _tls=
	[ -n "${2:-}" ] && { _port=$TLS_PORT; _tls='tls = { ca_file = "/vm/extra/ca.crt"; };'; }
	cat >/tmp/bench.conf <<EOF
mqtt = { brokers = ( { host = "127.0.0.1"; port = $_port; } ); client_id = "bench-g2m"; base_topic = "bench/g2m"; qos = $1; $_tls };
inputs = ( { name = "in"; line = "$G2M_IN"; } );
outputs = ( { name = "out"; line = "$G2M_OUT"; } );
EOF
	daemon_start /tmp/bench.conf || return 1
	wait_until 10 '[ "$(mqtt_get bench/g2m/status 1)" = online ]'
}
g2m_stop() {
	daemon_stop
	if [ "$DAEMON_STATUS" != 0 ]; then # seen once after the sweep: SIGTERM not honoured in 10 s
		emit g2m.stop_problem "{\"status\":$DAEMON_STATUS}"
		diag "gpio2mqtt exited with status $DAEMON_STATUS on SIGTERM; log tail:"; tail -n 15 "$DAEMON_LOG" | sed 's/^/#   /'
	fi
}

SH_IN_CHIP= SH_OUT_CHIP=
# the shell bridge a user would write (gpiod 2.1 tools + mosquitto clients)
sh_in_start() { # QOS [mosquitto_pub TLS options]
	_q=$1; shift
	gpiomon -F %E -c "$SH_IN_CHIP" "$SH_IN" |
		mosquitto_pub -h 127.0.0.1 -l -r -q "$_q" -t bench/sh/in "$@" &
	wait_until 5 '[ "$(line_consumer $SH_IN)" = gpiomon ]'
	usleep 300000
}
sh_in_pids() { pidof gpiomon mosquitto_pub; }
sh_in_stop() { killall -q gpiomon mosquitto_pub; wait_until 5 '! pidof gpiomon mosquitto_pub >/dev/null'; }
sh_out_start() { # QOS
	mosquitto_sub -h 127.0.0.1 -q "$1" -t bench/sh/out/set | (
		p=
		while read -r v; do
			[ -n "$p" ] && { kill "$p"; wait "$p" 2>/dev/null; }
			gpioset -c "$SH_OUT_CHIP" "$SH_OUT=$v" & p=$!
		done
	) &
	SH_OUT_LOOP=$!
	usleep 500000
}
sh_out_pids() { echo $(pidof mosquitto_sub) $SH_OUT_LOOP $(pidof gpioset); }
sh_out_stop() { killall -q mosquitto_sub; kill "$SH_OUT_LOOP" 2>/dev/null; killall -q gpioset; usleep 200000; }

# ---------------------------------------------------------------- run
bench_broker_start || bail "benchmark broker did not start"
SH_IN_CHIP=$(sim_chip $SH_IN) SH_OUT_CHIP=$(sim_chip $SH_OUT)
emit conditions "{\"kernel\":\"$(uname -r)\",\"guest_cpus\":$(grep -c ^processor /proc/cpuinfo),\"cpu\":\"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)\",\"guest_mem_kb\":$(awk '/^MemTotal/ { print $2 }' /proc/meminfo),\"guest_loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"mosquitto\":\"$(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p' | head -n1)\",\"gpiod\":\"$(gpioset --version | head -n1)\",\"samples\":$BENCH_N,\"rates\":\"$BENCH_RATES\",\"sweep_ms\":$BENCH_SWEEP_MS,\"idle_s\":$BENCH_IDLE_S}"

# 1. the floor
emit floor.edge "$(g2m_bench floor-edge /dev/$(sim_chip $FL_IN) 19 "$(sim_path $FL_IN)/pull" "$BENCH_N")"
emit floor.set "$(g2m_bench floor-set /dev/$(sim_chip $FL_OUT) 25 "$(sim_path $FL_OUT)/value" "$BENCH_N")"
emit floor.broker.q0 "$(g2m_bench broker bench/floor "$BENCH_N" 0)"
emit floor.broker.q1 "$(g2m_bench broker bench/floor "$BENCH_N" 1)"
ok "floor measured"

# 2. gpio2mqtt: latency in and out, glitches, memory after start
for q in 0 1; do
	g2m_start $q || bail "gpio2mqtt did not start (qos $q)"
	emit g2m.mem.start.q$q "$(mem_json $DAEMON_PID)"
	[ $q = 1 ] && emit mem.map.g2m.start "$(mem_map $DAEMON_PID)"
	emit g2m.edge.q$q "$(g2m_bench edge "$(sim_path $G2M_IN)/pull" bench/g2m/in "$BENCH_N" $q)"
	emit g2m.cmd.q$q "$(g2m_bench cmd bench/g2m/out/set "$(sim_path $G2M_OUT)/value" "$BENCH_N" $q "$(gpio_global $G2M_OUT)")"
	[ $q = 1 ] && break
	g2m_stop
done
emit g2m.glitch "$(g2m_bench glitch bench/g2m/out/set "$(sim_path $G2M_OUT)/value" "$BENCH_GLITCH_N" 1 "$(gpio_global $G2M_OUT)")"
ok "gpio2mqtt latency measured"

# 2b. gpio2mqtt: system calls per edge and per command, per thread (strace -f while N edges,
# then N commands, QoS 1): the main thread's calls before its hand-off to the network thread
# delay every publish on a single CPU. Counts, not times: repeatable on a busy host.
syscalls_json() { # FILE N MAIN_TID -> {"n":N,"main":{"total":x,"calls":{..}},"network":{..}}
	awk -v n="$2" -v main="$3" '
		/resumed>/ || /^[0-9]+ +\+\+\+/ || /^[0-9]+ +---/ { next }
		{ t = ($1 == main) ? "main" : "network"; c = $2; sub(/\(.*/, "", c)
		  tot[t]++; calls[t SUBSEP c]++ }
		END {
			printf "{\"n\":%d", n
			split("main network", ts, " ")
			for (i = 1; i <= 2; i++) {
				t = ts[i]; printf ",\"%s\":{\"total\":%.2f,\"calls\":{", t, tot[t] / n; s = ""
				for (k in calls) { split(k, kk, SUBSEP); if (kk[1] != t) continue
					printf "%s\"%s\":%.2f", s, kk[2], calls[k] / n; s = "," }
				printf "}}"
			}
			printf "}"
		}' "$1"
}
sc_n=$([ "$BENCH_N" -lt 50 ] && echo "$BENCH_N" || echo 50)
g2m_start 1 || bail "gpio2mqtt did not start"
for what in edge cmd; do
	strace -f -o /tmp/syscalls.$what -p "$DAEMON_PID" 2>/dev/null & st=$!
	usleep 500000
	if [ $what = edge ]; then
		g2m_bench edge "$(sim_path $G2M_IN)/pull" bench/g2m/in "$sc_n" 1 >/dev/null
	else
		g2m_bench cmd bench/g2m/out/set "$(sim_path $G2M_OUT)/value" "$sc_n" 1 >/dev/null
	fi
	usleep 300000
	kill -INT $st; wait $st
	emit g2m.syscalls.$what "$(syscalls_json /tmp/syscalls.$what "$sc_n" "$DAEMON_PID")"
done
ok "gpio2mqtt system calls per edge and per command counted"
# (a fresh QoS 1 daemon, still running: the sweep below uses it)

# 3. gpio2mqtt: edge rate sweep (qos 1 = the default), memory after the storm
for r in $BENCH_RATES; do
	[ "$r" = max ] && rr=1000000000 || rr=$r
	l0=$(lost_reported)
	res=$(g2m_bench sweep "$(sim_path $G2M_IN)/pull" bench/g2m/in "$rr" "$BENCH_SWEEP_MS" 1)
	emit g2m.sweep.$r "{\"result\":$res,\"lost_reported\":$(($(lost_reported) - l0)),\"retained\":$(retained_level bench/g2m/in),\"level\":$(sim_value $G2M_IN)}"
	emit floor.sweep.$r "$(g2m_bench floor-sweep /dev/$(sim_chip $FL_IN) 19 "$(sim_path $FL_IN)/pull" "$rr" "$BENCH_SWEEP_MS")"
done
emit g2m.mem.storm "$(mem_json $DAEMON_PID)"
emit g2m.health.sweep "$(health_json)"
check "gpio2mqtt survived the sweep" daemon_running
g2m_stop

# 3b. stop during a max-rate storm with the broker stopped (SIGSTOP): ms from SIGTERM to exit
g2m_start 1 || bail "gpio2mqtt did not start"
g2m_bench sweep "$(sim_path $G2M_IN)/pull" bench/g2m/in 1000000000 3000 1 >/dev/null & sw=$!
usleep 500000
bp=$(cat "$VM_RUN/broker.pid")
kill -STOP "$bp"
usleep 300000
t0=$(now_ms)
kill -TERM "$DAEMON_PID"
wait_until 10 pid_gone "$DAEMON_PID"
t1=$(now_ms)
wait "$DAEMON_PID"; st=$?
DAEMON_PID=
rm -f "$VM_RUN/daemon.pid"
kill -CONT "$bp"
wait $sw
emit g2m.stop.stalled "{\"ms\":$((t1 - t0)),\"status\":$st,\"resolution_ms\":60}"
ok "stop during a storm with the broker stopped measured"

# 4. the shell bridge
for q in 0 1; do
	sh_in_start $q
	emit sh.mem.start.q$q "$(mem_json $(sh_in_pids))"
	[ $q = 0 ] && emit mem.map.pub.start "$(mem_map $(pidof mosquitto_pub))"
	emit sh.edge.q$q "$(g2m_bench edge "$(sim_path $SH_IN)/pull" bench/sh/in "$BENCH_N" $q)"
	for r in $BENCH_RATES; do
		[ "$r" = max ] && rr=1000000000 || rr=$r
		res=$(g2m_bench sweep "$(sim_path $SH_IN)/pull" bench/sh/in "$rr" "$BENCH_SWEEP_MS" $q)
		emit sh.sweep.q$q.$r "{\"result\":$res,\"lost_reported\":null,\"retained\":$(retained_level bench/sh/in),\"level\":$(sim_value $SH_IN)}"
	done
	emit sh.mem.storm.q$q "$(mem_json $(sh_in_pids))"
	sh_in_stop
done
sh_out_start 0
emit sh.mem.out.start "$(mem_json $(sh_out_pids))"
emit sh.cmd.q0 "$(g2m_bench cmd bench/sh/out/set "$(sim_path $SH_OUT)/value" "$BENCH_N" 0 "$(gpio_global $SH_OUT)")"
emit sh.glitch "$(g2m_bench glitch bench/sh/out/set "$(sim_path $SH_OUT)/value" "$BENCH_GLITCH_N" 0 "$(gpio_global $SH_OUT)")"
emit sh.mem.out.after "$(mem_json $(sh_out_pids))"
sh_out_stop
ok "shell bridge measured"

# 5. idle: both side by side, fresh; wake-ups (context switches) without strace, then syscalls
g2m_start 1 || bail "gpio2mqtt did not start"
sh_in_start 0
sh_out_start 0
usleep 1000000
gp=$DAEMON_PID sp="$(sh_in_pids) $(sh_out_pids)"
c0g=$(ctx_sum $gp) c0s=$(ctx_sum $sp)
sleep "$BENCH_IDLE_S"
c1g=$(ctx_sum $gp) c1s=$(ctx_sum $sp)
st_args=; for p in $sp; do st_args="$st_args -p $p"; done
strace -f -c -o /tmp/strace.g2m -p $gp 2>/dev/null & s1=$!
strace -f -c -o /tmp/strace.sh $st_args 2>/dev/null & s2=$!
sleep "$BENCH_IDLE_S"
kill -INT $s1 $s2; wait $s1 $s2
emit g2m.idle "{\"seconds\":$BENCH_IDLE_S,\"ctx_switches\":$((c1g - c0g)),\"strace\":$(strace_json /tmp/strace.g2m),\"procs\":$(mem_json $gp)}"
emit sh.idle "{\"seconds\":$BENCH_IDLE_S,\"ctx_switches\":$((c1s - c0s)),\"strace\":$(strace_json /tmp/strace.sh),\"procs\":$(mem_json $sp)}"
sh_in_stop; sh_out_stop; g2m_stop
ok "idle measured"

# 6. TLS: memory after start and after a storm
if [ -e /vm/extra/server.crt ]; then
	r=${BENCH_TLS_RATE:-2000}
	if g2m_start 1 tls; then
		emit g2m.mem.tls.start "$(mem_json $DAEMON_PID)"
		emit mem.map.g2m.tls "$(mem_map $DAEMON_PID)"
		g2m_bench sweep "$(sim_path $G2M_IN)/pull" bench/g2m/in "$r" "$BENCH_SWEEP_MS" 1 >/dev/null
		emit g2m.mem.tls.storm "$(mem_json $DAEMON_PID)"
		g2m_stop
		ok "gpio2mqtt with TLS measured"
	else
		emit g2m.mem.tls.start '{"error":"gpio2mqtt did not start with mqtt.tls"}'
		skip "gpio2mqtt with TLS" "did not start"; g2m_stop
	fi
	sh_in_start 1 -p $TLS_PORT --cafile /vm/extra/ca.crt
	emit sh.mem.tls.start "$(mem_json $(sh_in_pids))"
	emit mem.map.pub.tls "$(mem_map $(pidof mosquitto_pub))"
	BENCH_PORT=$TLS_PORT BENCH_CAFILE=/vm/extra/ca.crt g2m_bench sweep "$(sim_path $SH_IN)/pull" bench/sh/in "$r" "$BENCH_SWEEP_MS" 1 >/dev/null
	emit sh.mem.tls.storm "$(mem_json $(sh_in_pids))"
	sh_in_stop
	ok "shell bridge with TLS measured"
fi
[ -s /tmp/g2m-bench.err ] && diag "g2m-bench stderr:" "$(cat /tmp/g2m-bench.err)"
emit done "{\"guest_loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
