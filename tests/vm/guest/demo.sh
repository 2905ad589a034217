# SPDX-License-Identifier: MIT
# Demo mode of the test VM (tests/vm/demo): sourced by guest/init after lib.sh when
# /vm/demo/gpio2mqtt.conf exists. Brings up the network (10.0.2.15/24; the host forwards its
# 127.0.0.1:PORT to our 1883), the simulated board, a broker on every guest address and
# gpio2mqtt with the demo's configuration; then serves the host's `press` helper on the control
# topic gpio2mqtt-demo/control until told to shut down. Never returns: powers off.
# Console protocol (read by tests/vm/demo):
#   @@DEMO CHECK <line of gpio2mqtt --check>   @@DEMO READY   @@DEMO FAILED <why>
#   @@D <line of the daemon's log>             @@DEMO STOP
# Control requests: retained on gpio2mqtt-demo/control/ID, payload "ACTION [PIN|LINE] [ARG]";
# the answer is published retained on gpio2mqtt-demo/reply/ID (the host clears it). ACTION:
# press PIN [MS], hold PIN, release PIN, up LINE, down LINE, level PIN|LINE, shutdown.

DEMO=/vm/demo
DEMO_TOPIC=gpio2mqtt-demo

demo_fail() {
	echo "@@DEMO FAILED $*"
	sync
	poweroff -f
	sleep 10
}

# Same default base topic on every machine: gpio2mqtt/demo.
hostname demo
printf '127.0.0.1 localhost demo\n' >/etc/hosts
# What a real system has: a machine id (a fixed one: stable discovery ids) and the state directory.
printf gpio2mqtt-demo | md5sum | cut -c1-32 >/etc/machine-id
mkdir -p /var/lib/gpio2mqtt

wait_until 5 test -e /sys/class/net/eth0 && ip link set eth0 up || demo_fail "no eth0 (virtio_net not loaded?)"
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2 2>/dev/null

board_reset

# The broker listens on every guest address: the host's forwarded port arrives on 10.0.2.15.
cat >"$VM_BROKER_CONF" <<EOF
listener 1883
allow_anonymous true
persistence false
user root
log_dest file $VM_RUN/mosquitto.log
EOF
mosquitto -c "$VM_BROKER_CONF" >>"$VM_RUN/mosquitto.out" 2>&1 &
echo $! >"$VM_RUN/broker.pid"
wait_until 10 mosquitto_pub -h 127.0.0.1 -t "$DEMO_TOPIC/ping" -m x 2>/dev/null ||
	demo_fail "mosquitto did not start: $(tail -n 3 "$VM_RUN/mosquitto.out" "$VM_RUN/mosquitto.log" 2>/dev/null)"

gpio2mqtt --check -c "$DEMO/gpio2mqtt.conf" 2>&1 | sed 's/^/@@DEMO CHECK /'

# The daemon's log goes to the console (the host shows it), line by line.
: >"$DAEMON_LOG"
tail -f "$DAEMON_LOG" 2>/dev/null | while IFS= read -r _l; do echo "@@D $_l"; done &
demo_tail=$!
daemon_start "$DEMO/gpio2mqtt.conf" || demo_fail "gpio2mqtt did not start (status ${DAEMON_STATUS:-?})"

# $DEMO/pins: "NAME input|output LINE ACTIVE_LOW(0|1)", written by the host from the config.
# demo_pin NAME|LINE: sets pin_kind pin_line pin_al (kind "line" for a bare line of the board).
demo_pin() {
	set -- $(awk -v n="$1" '$1 == n || $3 == n { print $2, $3, $4; exit }' "$DEMO/pins")
	if [ -n "${1:-}" ]; then
		pin_kind=$1 pin_line=$2 pin_al=$3
	else
		pin_kind=line pin_line=$_demo_arg pin_al=0
	fi
	_sim_find "$pin_line" 2>/dev/null
}
demo_set_active() { # demo_set_active 1|0: the input's level for ON (1) or OFF (0)
	if [ "$pin_al" = 1 ]; then [ "$1" = 1 ] && sim_pull "$pin_line" down || sim_pull "$pin_line" up
	else [ "$1" = 1 ] && sim_pull "$pin_line" up || sim_pull "$pin_line" down; fi
}
demo_request() { # demo_request ACTION [PIN] [ARG]: prints the answer
	_demo_arg=${2:-}
	case $1 in
		shutdown) echo "shutting down"; return ;;
		press | hold | release | up | down | level) ;;
		*) echo "error: unknown action '$1' (press, hold, release, up, down, level)"; return ;;
	esac
	[ -n "$_demo_arg" ] || { echo "error: $1 needs a pin or line name"; return; }
	demo_pin "$_demo_arg" || { echo "error: no pin or line '$_demo_arg' (pins: $(awk '{ printf "%s%s", s, $1; s = ", " }' "$DEMO/pins"))"; return; }
	case $1 in
		level) sim_value "$pin_line"; return ;;
		up | down) sim_pull "$pin_line" "$1"; echo "$pin_line pulled $1"; return ;;
	esac
	[ "$pin_kind" = output ] && { echo "error: $_demo_arg is an output: publish ON, OFF or TOGGLE to its /set topic"; return; }
	[ "$pin_kind" = line ] && { echo "error: $_demo_arg is not a pin of the configuration: use up or down"; return; }
	case $1 in
		hold) demo_set_active 1; echo "$_demo_arg ($pin_line) held" ;;
		release) demo_set_active 0; echo "$_demo_arg ($pin_line) released" ;;
		press)
			_ms=${3:-300}
			case $_ms in '' | *[!0-9]*) echo "error: press time '$_ms' is not a number of ms"; return ;; esac
			demo_set_active 1; sleep_ms "$_ms"; demo_set_active 0
			echo "$_demo_arg ($pin_line) pressed for $_ms ms" ;;
	esac
}

# Serve the control topic. Requests are retained (gpio2mqtt-demo/control/ID, payload
# "ACTION [PIN|LINE] [ARG]") so none is lost before this subscription is live; each is cleared
# once handled. The subscription is restarted if it ever ends.
echo "@@DEMO READY"
while :; do
	mosquitto_sub -h 127.0.0.1 -q 1 -t "$DEMO_TOPIC/control/+" -F '%t %p' 2>/dev/null | while read -r topic action pin arg; do
		[ -n "$action" ] || continue    # our own clearing of a handled request
		id=${topic##*/}
		mosquitto_pub -h 127.0.0.1 -q 1 -r -n -t "$topic"
		answer=$(demo_request "$action" "$pin" "$arg" 2>&1)
		mosquitto_pub -h 127.0.0.1 -q 1 -r -t "$DEMO_TOPIC/reply/$id" -m "$answer"
		if [ "$action" = shutdown ]; then
			touch "$VM_RUN/demo.stop"
			killall -q mosquitto_sub
			break
		fi
	done
	[ -e "$VM_RUN/demo.stop" ] && break
	daemon_running || break
	sleep 1
done

echo "@@DEMO STOP"
daemon_stop
sleep_ms 200   # let the log follower print the last lines
echo "@@D (gpio2mqtt exited with status $DAEMON_STATUS)"
kill "$demo_tail" 2>/dev/null
broker_stop
sync
poweroff -f
sleep 10
