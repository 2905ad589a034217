# Home Assistant discovery from the real binary: a retained config per entity under
# homeassistant/, ids from /etc/machine-id, and every config and then every state again when
# Home Assistant says homeassistant/status online.
BASE=gpio2mqtt/test
[ -s /etc/machine-id ] || echo 0123456789abcdef0123456789abcdef >/etc/machine-id
write_config /tmp/g.conf <<'CONF'
@BROKER@
state_dir = "/tmp/discovery-state";
inputs = (
  { name = "hall_button"; line = "GPIO17"; mode = "button"; },
  { name = "door"; line = "GPIO4"; device_class = "door"; }
);
outputs = (
  { name = "relay"; line = "GPIO27"; },
  { name = "lamp"; line = "GPIO26"; component = "light"; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10

# One config per pin entity, and the device's four diagnostic sensors (the health counters).
configs=$(mosquitto_sub $(_mq) -t 'homeassistant/#' --retained-only -C 8 -W 10 -F '%t' 2>/dev/null | sort)
is "$(echo "$configs" | sed 's|/gpio2mqtt_[0-9a-f]*/|/ID/|' | tr '\n' ' ')" \
   "homeassistant/binary_sensor/ID/door/config homeassistant/event/ID/hall_button/config homeassistant/light/ID/lamp/config homeassistant/sensor/ID/health_edges_lost/config homeassistant/sensor/ID/health_publishes_failed/config homeassistant/sensor/ID/health_reconnects/config homeassistant/sensor/ID/health_uptime_s/config homeassistant/switch/ID/relay/config " \
   "one retained config per entity, and the health sensors"
node=$(echo "$configs" | sed -n 's|^homeassistant/switch/\(gpio2mqtt_[0-9a-f]*\)/relay/config$|\1|p')
like "$node" '^gpio2mqtt_[0-9a-f]{16}$' "node id derived from the machine id"
relay=$(mqtt_get "homeassistant/switch/$node/relay/config")
like "$relay" "\"unique_id\":\"${node}_relay\"" "relay: unique_id"
like "$relay" "\"command_topic\":\"$BASE/relay/set\"" "relay: command_topic"
like "$relay" "\"state_topic\":\"$BASE/relay\"" "relay: state_topic"
like "$relay" "\"availability\":\[\{\"topic\":\"$BASE/status\"" "relay: availability"
like "$relay" "\"identifiers\":\[\"$node\"\]" "relay: device identifiers"
like "$relay" '"origin":\{"name":"gpio2mqtt"' "relay: origin"
like "$(mqtt_get "homeassistant/binary_sensor/$node/door/config")" '"device_class":"door"' \
	"door: device_class"
like "$(mqtt_get "homeassistant/event/$node/hall_button/config")" \
	'"event_types":\["single","double","long"\]' "hall_button: an event entity"
check "announced list in the state directory" grep -q "/relay/config" /tmp/discovery-state/discovery.topics

# The discovered command topic works.
mqtt_pub "$BASE/relay/set" ON -q 1
check "relay ON echoed" mqtt_wait $BASE/relay ON 5
is "$(sim_value GPIO27)" 1 "the line follows"

# Home Assistant restarts: every config, then every state.
mqtt_record '#'
mqtt_pub homeassistant/status online -q 1
# (the recorder also got what is retained at subscription: only what follows "online" counts)
after() { mqtt_recorded | sed -n '/ homeassistant\/status online$/,$p' | sed 1d; }
wait_until 5 '[ -n "$(after | grep " $BASE/lamp ")" ]'
rec=$(after | grep -n '' | sed 's/^\([0-9]*\):[01] \([^ ]*\).*/\1 \2/')
last_config=$(echo "$rec" | awk '$2 ~ /^homeassistant\/.*\/config$/ { n = $1 } END { print n + 0 }')
first_state=$(echo "$rec" | awk '$2 ~ /^gpio2mqtt\/test\/(door|relay|lamp)$/ { print $1; exit }')
is "$(echo "$rec" | grep -c '/config$')" 8 "homeassistant/status online: 8 configs again"
is "$(after | grep " $BASE/relay " | cut -d' ' -f3 | tr '\n' ' ')" "ON " "and the relay's state"
check "configs before states ($last_config < $first_state)" test "$last_config" -lt "${first_state:-0}"
mqtt_record_stop

# A pin removed from the file: its config is cleared on the next start.
daemon_stop
write_config /tmp/g.conf <<'CONF'
@BROKER@
state_dir = "/tmp/discovery-state";
outputs = ( { name = "relay"; line = "GPIO27"; } );
CONF
daemon_start /tmp/g.conf || bail "daemon did not restart"
check "online again" mqtt_wait $BASE/status online 10
like "$(mqtt_get "homeassistant/switch/$node/relay/config" 5)" '"name":"relay"' "relay config still there"
wait_until 5 '! mqtt_get "homeassistant/light/$node/lamp/config" 1 >/dev/null'
is "$(mqtt_get "homeassistant/light/$node/lamp/config" 1)" "" "removed lamp: config cleared"
is "$(mqtt_get "homeassistant/event/$node/hall_button/config" 1)" "" "removed button: config cleared"
daemon_stop
is "$DAEMON_STATUS" 0 "clean stop"
