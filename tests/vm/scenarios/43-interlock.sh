# Interlocks: at most one output of a group is ON, and switching one ON first switches the
# others OFF and waits wait_ms after the last OFF. Race: ON commands to both outputs of a pair,
# alternating and fast (two publishers at once, plus one-by-one), while the kernel's gpio_value
# tracepoint records every level driven (with us timestamps). From the trace: never both ON, and
# every ON comes >= wait_ms after the other's last OFF. (No loop sampling the lines: it could miss
# a short overlap on a busy machine, and it took the CPU from the daemon.)
write_config /tmp/g.conf <<'CONF'
@BROKER@
outputs = (
  { name = "up"; line = "GPIO22"; },
  { name = "down"; line = "GPIO23"; },
  { name = "open"; line = "EXP4"; },
  { name = "close"; line = "EXP5"; }
);
interlocks = (
  { outputs = [ "up", "down" ]; wait_ms = 100; },
  { outputs = [ "open", "close" ]; wait_ms = 500; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10

# replay WAIT GLOBAL_A GLOBAL_B: replays the trace of both lines in order; prints
# "sets=N both_on=N min_gap=MS violations=N short=MS,MS..." where min_gap is the smallest time
# from one line's OFF to the other's next ON, violations counts the gaps shorter than WAIT and
# short lists them.
replay() {
	awk -v w="$1" -v a="$2" -v b="$3" '/gpio_value: / { for (i = 2; i <= NF; i++) if ($i == "gpio_value:") {
		g = $(i + 1); if ((g != a && g != b) || $(i + 2) != "set") next
		ts = $(i - 1); sub(/:$/, "", ts); t = ts * 1000; v = $(i + 3); o = (g == a) ? b : a
		sets++
		if (v == 1 && !lvl[g] && (o in off)) { gap = t - off[o]; if (min == "" || gap < min) min = gap; if (gap < w) { bad++; short = short sprintf("%s%.3f", short == "" ? "" : ",", gap) } }
		if (v == 0) off[g] = t
		lvl[g] = v
		if (lvl[a] && lvl[b]) both++
	} } END { printf "sets=%d both_on=%d min_gap=%s violations=%d short=%s\n", sets, both, (min == "" ? "none" : sprintf("%.3f", min)), bad, short }' \
		/sys/kernel/tracing/trace
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

ga=$(gpio_global GPIO22) gb=$(gpio_global GPIO23)
gpio_trace_start
t0=$(now_ms)
# two publishers at once, each sending ON as fast as mosquitto_pub -l can
( i=0; while [ $i -lt 100 ]; do echo ON; i=$((i + 1)); done ) | mosquitto_pub -h 127.0.0.1 -t $BASE/up/set -l -q 1 &
p1=$!
( i=0; while [ $i -lt 100 ]; do echo ON; i=$((i + 1)); done ) | mosquitto_pub -h 127.0.0.1 -t $BASE/down/set -l -q 1 &
p2=$!
wait $p1 $p2
diag "race: 2 x 100 ON from two publishers at once in $(($(now_ms) - t0)) ms"
# then one by one, alternating, with pauses around the wait time
for pause in 0 50 110 0; do
	mqtt_pub $BASE/up/set ON -q 1; usleep $((pause * 1000))
	mqtt_pub $BASE/down/set ON -q 1; usleep $((pause * 1000))
	mqtt_pub $BASE/up/set TOGGLE -q 1; mqtt_pub $BASE/down/set ON -q 1
done
t1=$(now_ms)
sleep_ms 500       # the last pending ON comes after the wait
gpio_trace_stop >/dev/null
r=$(replay 100 "$ga" "$gb")
diag "race: $((t1 - t0)) ms of commands; trace: $r"
[ "$(field "$r" sets)" -gt 4 ] && ok "race: the outputs switched ($(field "$r" sets) levels driven)" \
	|| not_ok "race: the outputs hardly switched ($r)"
is "$(field "$r" both_on)" 0 "race: the trace never has both ON"
is "$(field "$r" violations)" 0 "race: every ON >= 100 ms after the other's OFF (min $(field "$r" min_gap) ms)" ||
	diag "  gaps shorter than 100 ms: $(field "$r" short)"

# afterwards: the retained states equal the lines, at most one ON
state() { [ "$(sim_value $1)" = 1 ] && echo ON || echo OFF; }
check "up retained = line ($(state GPIO22))" mqtt_wait $BASE/up "$(state GPIO22)" 5
check "down retained = line ($(state GPIO23))" mqtt_wait $BASE/down "$(state GPIO23)" 5
sleep_ms 300
is "$(mqtt_get $BASE/up) $(mqtt_get $BASE/down)" "$(state GPIO22) $(state GPIO23)" "race: settled retained states = lines"
isnt "$(sim_value GPIO22)$(sim_value GPIO23)" 11 "race: not both ON at the end"

# the wait, precisely: open ON; close ON -> open OFF at once, close ON >= 500 ms later
go=$(gpio_global EXP4) gc=$(gpio_global EXP5)
mqtt_pub $BASE/open/set ON -q 1
check "open ON" mqtt_wait $BASE/open ON 5
for round in 1 2 3; do
	if [ "$(sim_value EXP4)" = 1 ]; then from=open to=close gf=$go gt=$gc lt=EXP5; else from=close to=open gf=$gc gt=$go lt=EXP4; fi
	gpio_trace_start
	mqtt_pub $BASE/$to/set ON -q 1
	wait_until 5 "[ \"\$(sim_value $lt)\" = 1 ]"
	gpio_trace_stop >/dev/null
	r=$(replay 500 "$go" "$gc")
	gap=$(field "$r" min_gap)
	diag "round $round: $from OFF -> $to ON: $gap ms (wait_ms = 500); $r"
	is "$(field "$r" both_on)" 0 "round $round: never both ON"
	is "$(field "$r" sets)" 2 "round $round: exactly one OFF and one ON driven"
	awk -v g="$gap" 'BEGIN { exit !(g >= 500 && g <= 600) }' && ok "round $round: $to ON $gap ms after $from OFF (500..600)" \
		|| not_ok "round $round: $to ON '$gap' ms after $from OFF, want 500..600"
	check "round $round: $to ON published" mqtt_wait $BASE/$to ON 5
	is "$(mqtt_get $BASE/$from)" OFF "round $round: $from OFF retained"
done
