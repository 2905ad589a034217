/* SPDX-License-Identifier: MIT */
/* discovery.c and topics.c driven directly: ids from the machine id, object and node ids from any pin name,
 * every Home Assistant config parsed back as JSON with its required keys and topics (names with
 * quotes, backslashes and non-ASCII included), the Homie 4 tree against the convention's
 * required attributes, Homie set topics, removals, and the announced-topics file. */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discovery.h"
#include "file.h"
#include "tap.h"

#define ID_A "0123456789abcdef"
#define S(s) ((s) ? (s) : "(null)")

/* discovery.c takes the configuration's topics (src/topics.h); each test's discovery object
 * comes with its own, freed with it. */
static struct {
	struct discovery *d;
	struct topics *t;
} made[16];

static int disc_new(struct discovery **out, const struct config *c, const char *id,
		    const char *name, const char *version)
{
	struct topics *t = NULL;
	int r = topics_new(&t, c, id);

	if (r < 0)
		return r;
	r = discovery_new(out, t, name, version);
	if (r < 0) {
		topics_free(t);
		return r;
	}
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		if (!made[i].d) {
			made[i].d = *out;
			made[i].t = t;
			return 0;
		}
	}
	abort();
}

static const struct topics *T(const struct discovery *d)
{
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (made[i].d == d)
			return made[i].t;
	abort();
}

static void disc_free(struct discovery *d)
{
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		if (made[i].d == d && d) {
			topics_free(made[i].t);
			made[i].d = NULL;
			made[i].t = NULL;
		}
	}
	discovery_free(d);
}

/* A Homie command topic: TOPICS_ROUTE_SET with *PIN, or another route. */
static int homie_set(const struct discovery *d, const char *topic, size_t *pin)
{
	struct topics_match m;
	int r = topics_route(T(d), topic, &m);

	if (r == TOPICS_ROUTE_SET)
		*pin = m.pin;
	return r;
}

/* Inputs first, then outputs, as config.c orders them. */
static struct config_pin pins[] = {
	{ .name = "door", .direction = CONFIG_DIRECTION_INPUT, .publish_state = true,
	  .device_class = "door", .qos = 1 },
	{ .name = "hall_button", .direction = CONFIG_DIRECTION_INPUT,
	  .mode = CONFIG_INPUT_MODE_BUTTON, .double_press_ms = 400, .qos = 1 },
	{ .name = "bell", .direction = CONFIG_DIRECTION_INPUT, .mode = CONFIG_INPUT_MODE_BUTTON,
	  .publish_state = true, .double_press_ms = 0, .payload = CONFIG_PAYLOAD_JSON, .qos = 0 },
	{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT, .qos = 1, .retain = true },
	{ .name = "Küche \"Licht\" \\ 1", .direction = CONFIG_DIRECTION_OUTPUT,
	  .component = CONFIG_COMPONENT_LIGHT, .payload = CONFIG_PAYLOAD_JSON, .qos = 2 },
};
#define N_PINS (sizeof(pins) / sizeof(pins[0]))

static struct config cfg = {
	.mqtt = { .base_topic = "gpio2mqtt/pi" },
	.pins = pins,
	.n_pins = N_PINS,
	.n_inputs = 3,
	.n_outputs = 2,
	.discovery = { .homeassistant = true, .prefix = "homeassistant", .homie = true },
};

static struct discovery *make(const char *id)
{
	struct discovery *d = NULL;
	int r = disc_new(&d, &cfg, id, "pi", "1.2.3");

	tap_is_int(r, 0, "discovery_new(%s)", id);
	if (r < 0)
		exit(tap_done());
	return d;
}

static const struct discovery_message *find(const struct discovery_messages *list,
					    const char *topic)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->items[i].topic, topic) == 0)
			return &list->items[i];
	return NULL;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- ids -------------------------------------------------------------------------------- */

static void test_ids(void)
{
	char a[DISCOVERY_ID_LEN + 1], b[DISCOVERY_ID_LEN + 1], c[DISCOVERY_ID_LEN + 1];

	tap_is_int(discovery_id_derive("3d1219c7c4c5404aaa1f6d2a48adfda4\n", a), 0,
		   "machine id with a newline");
	tap_is_int((long long)strlen(a), DISCOVERY_ID_LEN, "16 hex digits");
	tap_ok(strspn(a, "0123456789abcdef") == DISCOVERY_ID_LEN, "lowercase hex: %s", a);
	tap_ok(strstr("3d1219c7c4c5404aaa1f6d2a48adfda4", a) == NULL,
	       "not a piece of the machine id itself");
	tap_is_int(discovery_id_derive("  3D1219C7C4C5404AAA1F6D2A48ADFDA4  ", b), 0,
		   "upper case, spaces");
	tap_is_str(b, a, "case and whitespace do not change the id");
	tap_is_int(discovery_id_derive("3d1219c7c4c5404aaa1f6d2a48adfda5", c), 0, "another id");
	tap_ok(strcmp(a, c) != 0, "another machine, another id (%s, %s)", a, c);
	tap_is_int(discovery_id_derive("", c), -EINVAL, "empty");
	tap_is_int(discovery_id_derive("3d1219c7c4c5404aaa1f6d2a48adfda", c), -EINVAL, "31 digits");
	tap_is_int(discovery_id_derive("3d1219c7c4c5404aaa1f6d2a48adfda4a", c), -EINVAL,
		   "33 digits");
	tap_is_int(discovery_id_derive("3d1219c7c4c5404aaa1f6d2a48adfdg4", c), -EINVAL,
		   "not hex");
	tap_is_int(discovery_id_derive("3d1219c7c4c5404a aa1f6d2a48adfda4", c), -EINVAL,
		   "space inside");
}

static void test_pin_ids(void)
{
	struct discovery *d = make(ID_A);
	struct discovery *bad = NULL;
	const char *obj, *node;

	tap_is_str(T(d)->ha_node, "gpio2mqtt_" ID_A, "Home Assistant node id");
	tap_is_str(T(d)->homie_device, "gpio2mqtt-" ID_A, "Homie device id");
	tap_is_str(topics_object_id(T(d), 1), "hall_button", "a clean name is its object id");
	tap_is_str(topics_node_id(T(d), 3), "relay", "a clean name is its node id");

	obj = topics_object_id(T(d), 4);
	node = topics_node_id(T(d), 4);
	tap_ok(obj && strspn(obj, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
			      strlen(obj),
	       "object id of a name with umlaut, quotes, backslash is [A-Za-z0-9_-]: %s", S(obj));
	tap_ok(obj && strncmp(obj, "K_che_Licht_1_", 14) == 0 && strlen(obj) == 20,
	       "cleaned name plus 6 hex digits: %s", S(obj));
	tap_ok(node && strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(node) &&
		       node[0] != '-' && node[strlen(node) - 1] != '-',
	       "node id is a Homie id: %s", S(node));
	tap_ok(node && strncmp(node, "k-che-licht-1-", 14) == 0, "node id from the name: %s",
	       S(node));

	/* "hall_button" is no Homie id ('_'): cleaned, with a hash. */
	node = topics_node_id(T(d), 1);
	tap_ok(node && strncmp(node, "hall-button-", 12) == 0 && strlen(node) == 18,
	       "underscore in a node id: %s", S(node));
	tap_ok(topics_object_id(T(d), N_PINS) == NULL, "no such pin");

	tap_is_int(disc_new(&bad, &cfg, "0123", "pi", "1"), -EINVAL, "short id refused");
	tap_is_int(disc_new(&bad, &cfg, "0123456789ABCDEF", "pi", "1"), -EINVAL,
		   "upper-case id refused");
	disc_free(d);
}

static void test_names_never_share_ids(void)
{
	struct config_pin two[] = {
		{ .name = "a b", .direction = CONFIG_DIRECTION_OUTPUT },
		{ .name = "a_b", .direction = CONFIG_DIRECTION_OUTPUT },
		{ .name = "a-b", .direction = CONFIG_DIRECTION_OUTPUT },
		{ .name = "A-B", .direction = CONFIG_DIRECTION_OUTPUT },
	};
	struct config c = cfg;
	struct discovery *d = NULL;

	c.pins = two;
	c.n_pins = 4;
	tap_is_int(disc_new(&d, &c, ID_A, "pi", "1"), 0, "four similar names");
	if (!d)
		return;
	for (size_t i = 0; i < 4; i++)
		for (size_t j = i + 1; j < 4; j++) {
			tap_ok(strcmp(topics_object_id(T(d), i), topics_object_id(T(d), j)) != 0,
			       "object ids of '%s' and '%s' differ (%s, %s)", two[i].name, two[j].name,
			       topics_object_id(T(d), i), topics_object_id(T(d), j));
			tap_ok(strcmp(topics_node_id(T(d), i), topics_node_id(T(d), j)) != 0,
			       "node ids of '%s' and '%s' differ (%s, %s)", two[i].name, two[j].name,
			       topics_node_id(T(d), i), topics_node_id(T(d), j));
		}
	disc_free(d);
}

/* ---- Home Assistant --------------------------------------------------------------------- */

/* Parses the config on TOPIC and checks what every config carries. */
static cJSON *config_check(const struct discovery_messages *list, const char *topic,
			   const char *name, const char *unique_id, const char *state_topic)
{
	const struct discovery_message *m = find(list, topic);
	const cJSON *dev, *ids, *origin, *avail, *a0, *a1;
	cJSON *obj;

	tap_ok(m != NULL, "config on %s", topic);
	if (!m)
		return NULL;
	tap_ok(m->retain, "%s: retained", topic);
	obj = cJSON_Parse(m->payload);
	tap_ok(obj && cJSON_IsObject(obj), "%s: parses as a JSON object", topic);
	if (!obj) {
		tap_diag("payload: %s", m->payload);
		return NULL;
	}
	tap_is_str(json_str(obj, "name"), name, "%s: name", topic);
	tap_is_str(json_str(obj, "unique_id"), unique_id, "%s: unique_id", topic);
	tap_is_str(json_str(obj, "state_topic"), state_topic, "%s: state_topic", topic);

	dev = cJSON_GetObjectItemCaseSensitive(obj, "device");
	ids = cJSON_GetObjectItemCaseSensitive(dev, "identifiers");
	tap_ok(cJSON_IsArray(ids) && cJSON_GetArraySize(ids) == 1 &&
		       cJSON_IsString(cJSON_GetArrayItem(ids, 0)) &&
		       strcmp(cJSON_GetArrayItem(ids, 0)->valuestring, "gpio2mqtt_" ID_A) == 0,
	       "%s: device identifiers [gpio2mqtt_<id>]", topic);
	tap_is_str(json_str(dev, "name"), "pi", "%s: device name", topic);
	tap_is_str(json_str(dev, "sw_version"), "1.2.3", "%s: device sw_version", topic);
	origin = cJSON_GetObjectItemCaseSensitive(obj, "origin");
	tap_is_str(json_str(origin, "name"), "gpio2mqtt", "%s: origin name", topic);
	tap_is_str(json_str(origin, "sw_version"), "1.2.3", "%s: origin sw_version", topic);
	tap_ok(json_str(origin, "support_url") &&
		       strncmp(json_str(origin, "support_url"), "https://", 8) == 0,
	       "%s: origin support_url", topic);

	avail = cJSON_GetObjectItemCaseSensitive(obj, "availability");
	a0 = cJSON_GetArrayItem(avail, 0);
	a1 = cJSON_GetArrayItem(avail, 1);
	tap_is_str(json_str(a0, "topic"), "gpio2mqtt/pi/status", "%s: availability <base>/status",
		   topic);
	tap_is_str(json_str(a0, "payload_available"), "online", "%s: payload_available", topic);
	tap_is_str(json_str(a0, "payload_not_available"), "offline", "%s: payload_not_available",
		   topic);
	/* Homie is on in this config: its $state carries the Last Will. */
	tap_is_str(json_str(a1, "topic"), "homie/gpio2mqtt-" ID_A "/$state",
		   "%s: availability also on Homie $state", topic);
	tap_is_str(json_str(obj, "availability_mode"), "all", "%s: availability_mode all", topic);
	return obj;
}

static void test_ha_configs(void)
{
	struct discovery *d = make(ID_A);
	struct discovery_messages list = { 0 };
	const char *light_obj = topics_object_id(T(d), 4);
	char topic[256], uid[256];
	const cJSON *types;
	cJSON *o;

	tap_is_int(discovery_ha_configs(d, &list), 0, "configs built");
	/* door: binary_sensor; hall_button: event; bell: binary_sensor + event; relay: switch;
	 * the light: light; and the device's four diagnostic sensors (health counters). */
	tap_is_int((long long)list.n, 10, "six pin configs and four health sensors");
	o = config_check(&list, "homeassistant/sensor/gpio2mqtt_" ID_A "/health_edges_lost/config",
			 "Edges lost", "gpio2mqtt_" ID_A "_health_edges_lost", "gpio2mqtt/pi/health");
	tap_is_str(json_str(o, "entity_category"), "diagnostic", "health sensor: diagnostic");
	tap_is_str(json_str(o, "value_template"), "{{ value_json.edges_lost }}",
		   "health sensor: its counter from the health JSON");
	tap_is_str(json_str(o, "state_class"), "total_increasing", "health sensor: a counter");
	cJSON_Delete(o);
	o = config_check(&list, "homeassistant/sensor/gpio2mqtt_" ID_A "/health_uptime_s/config",
			 "Uptime", "gpio2mqtt_" ID_A "_health_uptime_s", "gpio2mqtt/pi/health");
	tap_is_str(json_str(o, "unit_of_measurement"), "s", "uptime: in seconds");
	tap_is_str(json_str(o, "device_class"), "duration", "uptime: a duration");
	cJSON_Delete(o);

	o = config_check(&list, "homeassistant/binary_sensor/gpio2mqtt_" ID_A "/door/config", "door",
			 "gpio2mqtt_" ID_A "_door", "gpio2mqtt/pi/door");
	tap_is_str(json_str(o, "device_class"), "door", "door: device_class");
	tap_is_str(json_str(o, "payload_on"), "ON", "door: payload_on");
	tap_is_str(json_str(o, "payload_off"), "OFF", "door: payload_off");
	tap_ok(!cJSON_GetObjectItem(o, "command_topic"), "door: no command_topic");
	tap_ok(!cJSON_GetObjectItem(o, "value_template"), "door: plain payload, no template");
	cJSON_Delete(o);

	o = config_check(&list, "homeassistant/event/gpio2mqtt_" ID_A "/hall_button/config",
			 "hall_button", "gpio2mqtt_" ID_A "_hall_button_event",
			 "gpio2mqtt/pi/hall_button/event");
	types = cJSON_GetObjectItemCaseSensitive(o, "event_types");
	tap_ok(cJSON_GetArraySize(types) == 3 &&
		       strcmp(cJSON_GetArrayItem(types, 1)->valuestring, "double") == 0,
	       "hall_button: event_types single, double, long");
	tap_is_str(json_str(o, "value_template"), "{\"event_type\":\"{{ value }}\"}",
		   "hall_button: value_template makes the event JSON");
	tap_ok(!find(&list, "homeassistant/binary_sensor/gpio2mqtt_" ID_A "/hall_button/config"),
	       "hall_button (publish_state false): no binary_sensor");
	cJSON_Delete(o);

	o = config_check(&list, "homeassistant/event/gpio2mqtt_" ID_A "/bell/config", "bell",
			 "gpio2mqtt_" ID_A "_bell_event", "gpio2mqtt/pi/bell/event");
	types = cJSON_GetObjectItemCaseSensitive(o, "event_types");
	tap_ok(cJSON_GetArraySize(types) == 2, "bell (double_press_ms 0): single, long");
	tap_is_str(json_str(o, "value_template"), "{\"event_type\":\"{{ value_json.event }}\"}",
		   "bell: JSON payload template");
	cJSON_Delete(o);
	o = config_check(&list, "homeassistant/binary_sensor/gpio2mqtt_" ID_A "/bell/config", "bell",
			 "gpio2mqtt_" ID_A "_bell", "gpio2mqtt/pi/bell");
	tap_is_str(json_str(o, "value_template"), "{{ value_json.state }}", "bell: state template");
	tap_is_int(cJSON_GetObjectItem(o, "qos") ? cJSON_GetObjectItem(o, "qos")->valueint : -1, 0,
		   "bell: qos of the pin");
	cJSON_Delete(o);

	o = config_check(&list, "homeassistant/switch/gpio2mqtt_" ID_A "/relay/config", "relay",
			 "gpio2mqtt_" ID_A "_relay", "gpio2mqtt/pi/relay");
	tap_is_str(json_str(o, "command_topic"), "gpio2mqtt/pi/relay/set", "relay: command_topic");
	tap_is_str(json_str(o, "payload_on"), "ON", "relay: payload_on");
	tap_is_str(json_str(o, "payload_off"), "OFF", "relay: payload_off");
	tap_is_str(json_str(o, "state_on"), "ON", "relay: state_on");
	tap_is_str(json_str(o, "state_off"), "OFF", "relay: state_off");
	tap_ok(cJSON_IsFalse(cJSON_GetObjectItem(o, "retain")), "relay: commands not retained");
	tap_ok(!cJSON_GetObjectItem(o, "command_template"), "relay: plain payload, no template");
	tap_ok(!cJSON_GetObjectItem(o, "json_attributes_topic"), "relay: plain payload, no attributes");
	cJSON_Delete(o);

	snprintf(topic, sizeof(topic), "homeassistant/light/gpio2mqtt_" ID_A "/%s/config", light_obj);
	snprintf(uid, sizeof(uid), "gpio2mqtt_" ID_A "_%s", light_obj);
	o = config_check(&list, topic, pins[4].name, uid, "gpio2mqtt/pi/Küche \"Licht\" \\ 1");
	tap_is_str(json_str(o, "command_topic"), "gpio2mqtt/pi/Küche \"Licht\" \\ 1/set",
		   "light: command_topic keeps the name byte for byte");
	tap_is_str(json_str(o, "state_value_template"), "{{ value_json.state }}",
		   "light: JSON payload, state_value_template");
	tap_is_str(json_str(o, "json_attributes_topic"), "gpio2mqtt/pi/Küche \"Licht\" \\ 1",
		   "light: JSON payload, time and seq as attributes from the state topic");
	tap_ok(json_str(o, "json_attributes_template") &&
		       strstr(json_str(o, "json_attributes_template"), "value_json.seq"),
	       "light: the attributes template picks time and seq");
	tap_ok(!cJSON_GetObjectItem(o, "state_on"), "light: no state_on (not a light key)");
	cJSON_Delete(o);
	/* The escaping itself, in the raw payload: quotes and backslashes escaped, UTF-8 as is. */
	tap_ok(find(&list, topic) &&
		       strstr(find(&list, topic)->payload, "\"name\":\"Küche \\\"Licht\\\" \\\\ 1\""),
	       "raw JSON: \\\" and \\\\ escaped, ü kept as UTF-8");

	discovery_messages_clear(&list);
	disc_free(d);
}

static void test_switches_off(void)
{
	struct config c = cfg;
	struct discovery_messages list = { 0 };
	struct discovery *d = NULL;
	char topic[256];
	size_t pin;

	c.discovery.homeassistant = false;
	c.discovery.homie = false;
	tap_is_int(disc_new(&d, &c, ID_A, "pi", "1"), 0, "both off");
	tap_is_int(discovery_ha_configs(d, &list), 0, "no configs: ok");
	tap_is_int(discovery_homie_tree(d, &list), 0, "no tree: ok");
	tap_is_int((long long)list.n, 0, "nothing to publish");
	tap_ok(T(d)->ha_status == NULL, "no <prefix>/status subscription");
	tap_ok(T(d)->homie_state == NULL, "no Homie $state (the will stays on status)");
	for (size_t i = 0; i < T(d)->n_pins; i++)
		if (T(d)->pins[i].homie_set)
			tap_ok(false, "no Homie set subscription (%s)", T(d)->pins[i].homie_set);
	tap_is_int(topics_homie_value(T(d), 3, "state", topic, sizeof(topic)), TOPICS_OUTCOME_NONE,
		   "no Homie values");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/relay/state/set", &pin),
		   TOPICS_ROUTE_NONE, "no Homie commands");
	tap_ok(!discovery_ha_online(d, "homeassistant/status", "online", 6),
	       "Home Assistant's birth is not ours to answer");
	disc_free(d);

	c.discovery.homeassistant = true;
	c.discovery.prefix = "ha/disc";
	tap_is_int(disc_new(&d, &c, ID_A, "pi", "1"), 0, "another prefix");
	tap_is_int(discovery_ha_configs(d, &list), 0, "configs");
	tap_ok(find(&list, "ha/disc/switch/gpio2mqtt_" ID_A "/relay/config") != NULL,
	       "config under the prefix");
	/* Home Assistant's birth topic does not follow the discovery prefix (in Home Assistant
	 * it is a setting of its own): homeassistant/status unless birth_topic says otherwise. */
	tap_is_str(T(d)->ha_status, "homeassistant/status",
		   "another prefix: the birth topic stays homeassistant/status");
	tap_ok(discovery_ha_online(d, "homeassistant/status", "online", 6), "birth message");
	tap_ok(!discovery_ha_online(d, "homeassistant/status", "offline", 7),
	       "offline is not a birth");
	tap_ok(!discovery_ha_online(d, "homeassistant/status", "onlinex", 7), "\"onlinex\" is not");
	tap_ok(!discovery_ha_online(d, "ha/disc/status", "online", 6),
	       "<prefix>/status is not the birth topic");
	disc_free(d);
	c.discovery.birth_topic = "ha/disc/status";
	tap_is_int(disc_new(&d, &c, ID_A, "pi", "1"), 0, "birth_topic set");
	tap_is_str(T(d)->ha_status, "ha/disc/status", "birth_topic: subscribed as set");
	tap_ok(discovery_ha_online(d, "ha/disc/status", "online", 6), "birth_topic: its online");
	c.discovery.birth_topic = NULL;
	discovery_messages_clear(&list);
	tap_is_int(discovery_ha_configs(d, &list), 0, "configs");
	{
		const char *p = find(&list, "ha/disc/switch/gpio2mqtt_" ID_A "/relay/config")->payload;
		cJSON *o = cJSON_Parse(p);

		tap_ok(cJSON_GetArraySize(cJSON_GetObjectItem(o, "availability")) == 1 &&
			       !cJSON_GetObjectItem(o, "availability_mode"),
		       "without Homie: availability is <base>/status alone");
		cJSON_Delete(o);
	}
	discovery_messages_clear(&list);
	disc_free(d);
}

/* ---- Homie ------------------------------------------------------------------------------ */

static void expect_attr(const struct discovery_messages *list, const char *suffix,
			const char *payload)
{
	char topic[512];
	const struct discovery_message *m;

	snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID_A "%s", suffix);
	m = find(list, topic);
	tap_ok(m && m->retain && strcmp(m->payload, payload) == 0, "%s = \"%s\" retained", topic,
	       payload);
	if (m && strcmp(m->payload, payload) != 0)
		tap_diag("got \"%s\"", m->payload);
}

static void test_homie(void)
{
	struct discovery *d = make(ID_A);
	struct discovery_messages list = { 0 };
	const char *light = topics_node_id(T(d), 4), *hb = topics_node_id(T(d), 1);
	char nodes[256], s[256], topic[256];
	size_t pin = 99;

	tap_is_int(discovery_homie_tree(d, &list), 0, "tree built");
	tap_ok(list.n > 0 && strcmp(list.items[0].topic, "homie/gpio2mqtt-" ID_A "/$state") == 0 &&
		       strcmp(list.items[0].payload, "init") == 0,
	       "first message: $state init");
	for (size_t i = 1; i < list.n; i++)
		if (strstr(list.items[i].topic, "/$state"))
			tap_ok(false, "$state only once in the tree (ready comes after the values)");
	expect_attr(&list, "/$homie", "4.0.0");
	expect_attr(&list, "/$name", "pi");
	expect_attr(&list, "/$extensions", "");
	snprintf(nodes, sizeof(nodes), "door,%s,bell,relay,%s", hb, light);
	expect_attr(&list, "/$nodes", nodes);

	expect_attr(&list, "/door/$name", "door");
	expect_attr(&list, "/door/$type", "input");
	expect_attr(&list, "/door/$properties", "state");
	expect_attr(&list, "/door/state/$name", "door");
	expect_attr(&list, "/door/state/$datatype", "boolean");
	expect_attr(&list, "/door/state/$settable", "false");
	expect_attr(&list, "/door/state/$retained", "true");

	snprintf(s, sizeof(s), "/%s/$properties", hb);
	expect_attr(&list, s, "event");
	snprintf(s, sizeof(s), "/%s/event/$datatype", hb);
	expect_attr(&list, s, "enum");
	snprintf(s, sizeof(s), "/%s/event/$format", hb);
	expect_attr(&list, s, "single,double,long");
	snprintf(s, sizeof(s), "/%s/event/$retained", hb);
	expect_attr(&list, s, "false");
	snprintf(s, sizeof(s), "/%s/event/$name", hb);
	expect_attr(&list, s, "hall_button event");
	expect_attr(&list, "/bell/$properties", "state,event");
	expect_attr(&list, "/bell/event/$format", "single,long");

	expect_attr(&list, "/relay/$type", "output");
	expect_attr(&list, "/relay/state/$settable", "true");
	expect_attr(&list, "/relay/state/$datatype", "boolean");
	snprintf(s, sizeof(s), "/%s/$name", light);
	expect_attr(&list, s, pins[4].name);

	/* Every node has the required attributes; every property $name and $datatype. */
	for (size_t i = 0; i < N_PINS; i++) {
		static const char *const node_attrs[] = { "$name", "$type", "$properties" };

		for (size_t a = 0; a < 3; a++) {
			snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID_A "/%s/%s",
				 topics_node_id(T(d), i), node_attrs[a]);
			tap_ok(find(&list, topic) != NULL, "%s present", topic);
		}
	}

	tap_is_int(topics_homie_value(T(d), 3, "state", topic, sizeof(topic)), 0,
		   "relay state value topic");
	tap_is_str(topic, "homie/gpio2mqtt-" ID_A "/relay/state", "relay state value");
	tap_is_int(topics_homie_value(T(d), 1, "state", topic, sizeof(topic)), TOPICS_OUTCOME_NONE,
		   "hall_button has no state property");
	tap_is_int(topics_homie_value(T(d), 1, "event", topic, sizeof(topic)), 0,
		   "hall_button event value topic");
	tap_is_int(topics_homie_value(T(d), 3, "event", topic, sizeof(topic)), TOPICS_OUTCOME_NONE,
		   "relay has no events");
	tap_is_int(topics_homie_value(T(d), 3, "state", topic, 10), -ENAMETOOLONG,
		   "short buffer");

	tap_is_str(T(d)->homie_state, "homie/gpio2mqtt-" ID_A "/$state", "$state topic");
	tap_is_str(T(d)->pins[3].homie_set, "homie/gpio2mqtt-" ID_A "/relay/state/set",
		   "relay's set subscription (its own topic, no wildcard)");
	tap_ok(T(d)->pins[0].homie_set == NULL, "an input has no Homie set subscription");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/relay/state/set", &pin), TOPICS_ROUTE_SET,
		   "set on relay");
	tap_is_int((long long)pin, 3, "relay is pin 3");
	snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID_A "/%s/state/set", light);
	tap_is_int(homie_set(d, topic, &pin), TOPICS_ROUTE_SET, "set on the light");
	tap_is_int((long long)pin, 4, "the light is pin 4");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/door/state/set", &pin),
		   TOPICS_ROUTE_NONE, "an input is not settable");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/relay/event/set", &pin),
		   TOPICS_ROUTE_NONE, "no such property");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/relay/state", &pin),
		   TOPICS_ROUTE_NONE, "the value topic is no command");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-fedcba9876543210/relay/state/set",
					     &pin),
		   TOPICS_ROUTE_NONE, "another device");
	tap_is_int(homie_set(d, "homie/gpio2mqtt-" ID_A "/nope/state/set", &pin),
		   TOPICS_ROUTE_NONE, "no such node");
	discovery_messages_clear(&list);
	disc_free(d);
}

/* ---- removals and the file -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A discovery object on C with the two pins TWO (an input, then an output); WHAT names the
 * check. NULL (a failed check) when it cannot be made. */
static struct discovery *make_two(struct config *c, struct config_pin two[2], const char *what)
{
	struct discovery *d = NULL;

	c->pins = two;
	c->n_pins = 2;
	c->n_inputs = 1;
	c->n_outputs = 1;
	tap_ok(disc_new(&d, c, ID_A, "pi", "1") == 0, "%s: discovery", what);
	return d;
}

/* A switch input with publish_state = false (kept for its bindings) publishes nothing: it is
 * no Homie node (its "state" property would never get a value). */
static void test_homie_quiet_pins(void)
{
	struct config_pin two[] = {
		{ .name = "quiet", .direction = CONFIG_DIRECTION_INPUT,
		  .mode = CONFIG_INPUT_MODE_SWITCH, .publish_state = false },
		{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT, .retain = true },
	};
	struct config c = cfg;
	struct discovery_messages list = { 0 };
	struct discovery *d = NULL;

	d = make_two(&c, two, "quiet pin");
	if (!d)
		return;
	tap_is_int(discovery_homie_tree(d, &list), 0, "quiet pin: tree");
	tap_ok(find(&list, "homie/gpio2mqtt-" ID_A "/$nodes") &&
		       strcmp(find(&list, "homie/gpio2mqtt-" ID_A "/$nodes")->payload, "relay") == 0,
	       "quiet pin: $nodes lists only relay");
	tap_ok(!find(&list, "homie/gpio2mqtt-" ID_A "/quiet/$name") &&
		       !find(&list, "homie/gpio2mqtt-" ID_A "/quiet/$properties"),
	       "quiet pin: no node announced");
	discovery_messages_clear(&list);
	disc_free(d);
}

/* discovery.homie_events = "openhab": a button's Homie event property uses openHAB's words, so
 * its Homie binding makes a system.button trigger channel; <base>/<name>/event is unchanged. */
static void test_homie_openhab_events(void)
{
	struct config c = cfg;
	struct discovery_messages list = { 0 };
	struct discovery *d = NULL;
	const struct discovery_message *m;

	c.discovery.homie_events = CONFIG_HOMIE_EVENTS_OPENHAB;
	if (!tap_ok(disc_new(&d, &c, ID_A, "pi", "1") == 0, "openhab events: discovery"))
		return;
	tap_is_int(discovery_homie_tree(d, &list), 0, "openhab events: tree");
	{
		char topic[256];

		snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID_A "/%s/event/$format",
			 T(d)->pins[1].node_id);
		m = find(&list, topic);
	}
	tap_is_str(m ? m->payload : NULL, "SHORT_PRESSED,DOUBLE_PRESSED,LONG_PRESSED",
		   "openhab events: $format has openHAB's words");
	tap_is_str(discovery_homie_event_word(&c, KIND_EVENT_DOUBLE), "DOUBLE_PRESSED",
		   "openhab events: the value of a double press");
	tap_is_str(discovery_homie_event_word(&cfg, KIND_EVENT_DOUBLE), "double",
		   "plain events: the value of a double press");
	discovery_messages_clear(&list);
	disc_free(d);
}

/* display_name and discovery.device_name: what people see, while ids and topics stay with the
 * pin's name and the machine id. */
static void test_display_names(void)
{
	struct config_pin two[] = {
		{ .name = "front_door", .direction = CONFIG_DIRECTION_INPUT, .publish_state = true,
		  .display_name = "Haustür" },
		{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT, .retain = true },
	};
	struct config c = cfg;
	struct discovery_messages list = { 0 };
	struct discovery *d = NULL;
	const struct discovery_message *m;
	cJSON *o;

	c.discovery.device_name = "Keller-Pi";
	d = make_two(&c, two, "display names");
	if (!d)
		return;
	tap_is_int(discovery_ha_configs(d, &list), 0, "display names: configs");
	m = find(&list, "homeassistant/binary_sensor/gpio2mqtt_" ID_A "/front_door/config");
	o = m ? cJSON_Parse(m->payload) : NULL;
	tap_is_str(json_str(o, "name"), "Haustür", "HA entity name: the display name");
	tap_is_str(json_str(o, "unique_id"), "gpio2mqtt_" ID_A "_front_door",
		   "unique id: still from the pin's name");
	tap_is_str(json_str(cJSON_GetObjectItem(o, "device"), "name"), "Keller-Pi",
		   "HA device name: device_name");
	cJSON_Delete(o);
	m = find(&list, "homeassistant/switch/gpio2mqtt_" ID_A "/relay/config");
	o = m ? cJSON_Parse(m->payload) : NULL;
	tap_is_str(json_str(o, "name"), "relay", "without display_name: the pin's name");
	cJSON_Delete(o);
	discovery_messages_clear(&list);
	tap_is_int(discovery_homie_tree(d, &list), 0, "display names: Homie tree");
	m = find(&list, "homie/gpio2mqtt-" ID_A "/$name");
	tap_is_str(m ? m->payload : NULL, "Keller-Pi", "Homie device $name: device_name");
	{
		char topic[256];

		snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID_A "/%s/$name",
			 T(d)->pins[0].node_id);
		m = find(&list, topic);
		tap_is_str(m ? m->payload : NULL, "Haustür", "Homie node $name: the display name");
	}
	discovery_messages_clear(&list);
	disc_free(d);
}

/* An output with pulse_ms (a garage door opener) also gets a Home Assistant button that
 * sends one pulse of that length to <base>/<name>/pulse. */
static void test_pulse_button(void)
{
	struct config_pin two[] = {
		{ .name = "door", .direction = CONFIG_DIRECTION_INPUT, .publish_state = true },
		{ .name = "garage", .direction = CONFIG_DIRECTION_OUTPUT, .retain = true,
		  .pulse_ms = 500 },
	};
	struct config c = cfg;
	struct discovery_messages list = { 0 };
	struct discovery *d = NULL;
	const struct discovery_message *m;
	cJSON *o;

	d = make_two(&c, two, "pulse button");
	if (!d)
		return;
	tap_is_int(discovery_ha_configs(d, &list), 0, "pulse button: configs");
	m = find(&list, "homeassistant/button/gpio2mqtt_" ID_A "/garage/config");
	o = m ? cJSON_Parse(m->payload) : NULL;
	tap_is_str(json_str(o, "command_topic"), "gpio2mqtt/pi/garage/pulse",
		   "pulse button: presses on the pulse topic");
	tap_is_str(json_str(o, "payload_press"), "500", "pulse button: pulse_ms long");
	tap_is_str(json_str(o, "unique_id"), "gpio2mqtt_" ID_A "_garage_pulse",
		   "pulse button: its own unique id");
	cJSON_Delete(o);
	tap_ok(find(&list, "homeassistant/switch/gpio2mqtt_" ID_A "/garage/config") != NULL,
	       "pulse button: the switch stays");
	tap_ok(!find(&list, "homeassistant/button/gpio2mqtt_" ID_A "/door/config"),
	       "no button for an input");
	discovery_messages_clear(&list);
	disc_free(d);
}

static void test_removals(void)
{
	struct discovery *d = make(ID_A);
	char **owned = NULL, **loaded = NULL;
	size_t n_owned = 0, n_loaded = 0;
	struct discovery_messages clears = { 0 };
	char dir[] = "/tmp/test-discovery-XXXXXX", path[256];
	/* What an earlier run announced, as read back from the file; a hand-edited or hostile file
	 * may also name topics of other machines and programs, which are never cleared. */
	char *previous[] = {
		"homeassistant/switch/gpio2mqtt_" ID_A "/gone/config",
		"homeassistant/switch/gpio2mqtt_" ID_A "/relay/config",
		"homie/gpio2mqtt-" ID_A "/gone/$name",
		"ha/light/gpio2mqtt_" ID_A "/old/config", /* ours, under a prefix no longer used */
		"homeassistant/switch/gpio2mqtt_fedcba9876543210/x/config", /* another machine */
		"homeassistant/switch/zigbee2mqtt_0x1234/light/config",      /* another program */
		"homeassistant/switch/gpio2mqtt_" ID_A "/relay/state",       /* not a config */
		"homie/gpio2mqtt-fedcba9876543210/x/$name",                  /* another device */
		"homie/gpio2mqtt-" ID_A "x/y/$name",                         /* a longer device id */
		"homie/gpio2mqtt-" ID_A,                                     /* the device level */
		"zigbee2mqtt/kitchen/light",
		"gpio2mqtt_" ID_A "/a/config",                               /* too few levels */
		"gpio2mqtt/pi/gone",             /* a removed pin's retained state: ours */
		"gpio2mqtt/pi/status",           /* never cleared, whatever the file says */
		"gpio2mqtt/pi/health",
		"gpio2mqtt/pi/gone/set",         /* not a state */
		"gpio2mqtt/other/x",             /* another base */
		"gpio2mqtt/pi/gone/brightness",  /* a removed light's brightness: ours */
		"gpio2mqtt/pi/gone/rate",        /* a removed counter's rate: ours */
		"gpio2mqtt/pi/gone/position",    /* a removed cover's position: ours */
		"gpio2mqtt/pi/gone/color",       /* a shape we never publish */
		"gpio2mqtt/pi/a/b/brightness",   /* two levels under the base: no pin's */
		"gpio2mqtt/pi/status/rate",      /* no pin is named status or health */
		"gpio2mqtt/pi/health/brightness",
		"gpio2mqtt/pi//brightness",      /* an empty name */
	};
	size_t n_previous = sizeof(previous) / sizeof(previous[0]);
	FILE *f;

	tap_is_int(discovery_topics_owned(d, &owned, &n_owned), 0, "owned topics");
	for (size_t i = 1; i < n_owned; i++)
		if (strcmp(owned[i - 1], owned[i]) >= 0)
			tap_ok(false, "owned topics sorted and unique: %s, %s", owned[i - 1], owned[i]);
	tap_ok(n_owned > 6, "configs and Homie attributes (%zu)", n_owned);
	{
		bool has_value = false, has_extensions = false, has_state = false;

		for (size_t i = 0; i < n_owned; i++) {
			has_value |= strcmp(owned[i], "homie/gpio2mqtt-" ID_A "/relay/state") == 0;
			has_extensions |= strstr(owned[i], "$extensions") != NULL;
			has_state |= strcmp(owned[i], "homie/gpio2mqtt-" ID_A "/$state") == 0;
		}
		bool has_pin_state = false, has_status = false;

		for (size_t i = 0; i < n_owned; i++) {
			has_pin_state |= strcmp(owned[i], "gpio2mqtt/pi/relay") == 0;
			has_status |= strcmp(owned[i], "gpio2mqtt/pi/status") == 0;
		}
		tap_ok(has_pin_state, "a pin's retained state is owned (cleared with the pin)");
		tap_ok(!has_status, "<base>/status is not (it is never cleared)");
		tap_ok(has_value, "retained Homie values are owned (cleared with their pin)");
		tap_ok(has_state, "$state is owned (cleared when Homie is turned off)");
		tap_ok(!has_extensions, "the empty $extensions is not (nothing is retained)");
	}

	qsort(previous, n_previous, sizeof(previous[0]), cmp_str);
	tap_is_int(discovery_removals(d, previous, n_previous, owned, n_owned, &clears), 0,
		   "removals");
	tap_is_int((long long)clears.n, 7, "seven stale topics of ours");
	tap_ok(clears.n == 7 &&
		       strcmp(clears.items[0].topic, "gpio2mqtt/pi/gone") == 0 &&
		       strcmp(clears.items[1].topic, "gpio2mqtt/pi/gone/brightness") == 0 &&
		       strcmp(clears.items[2].topic, "gpio2mqtt/pi/gone/position") == 0 &&
		       strcmp(clears.items[3].topic, "gpio2mqtt/pi/gone/rate") == 0 &&
		       strcmp(clears.items[4].topic, "ha/light/gpio2mqtt_" ID_A "/old/config") == 0 &&
		       strcmp(clears.items[5].topic,
			      "homeassistant/switch/gpio2mqtt_" ID_A "/gone/config") == 0 &&
		       strcmp(clears.items[6].topic, "homie/gpio2mqtt-" ID_A "/gone/$name") == 0,
	       "the removed pin's state, brightness, position and rate, configs (also under an "
	       "old prefix) and Homie attribute, nothing of other machines or programs, never "
	       "status or health, no other topic under a pin");
	for (size_t i = 0; i < clears.n; i++)
		tap_diag("cleared %s", clears.items[i].topic);
	tap_ok(clears.n == 7 && clears.items[0].retain && clears.items[0].payload[0] == '\0',
	       "cleared with an empty retained message");
	discovery_messages_clear(&clears);

	if (!mkdtemp(dir)) {
		tap_ok(false, "mkdtemp");
		goto free_owned;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, DISCOVERY_TOPICS_FILE);
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), 0, "a missing file: ok");
	tap_is_int((long long)n_loaded, 0, "a missing file: nothing announced");
	discovery_topics_free(loaded, n_loaded);

	tap_is_int(discovery_topics_save(path, owned, n_owned), 0, "save");
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), 0, "load");
	tap_is_int((long long)n_loaded, (long long)n_owned, "round trip: as many topics");
	for (size_t i = 0; i < n_loaded && i < n_owned; i++)
		if (strcmp(loaded[i], owned[i]) != 0)
			tap_ok(false, "round trip: %s == %s", loaded[i], owned[i]);
	discovery_topics_free(loaded, n_loaded);

	f = fopen(path, "w");
	fputs("# comment\n\nb/config\r\na/config\nb/config\nx/+/config\nx/#\n", f);
	fclose(f);
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), 0, "load a hand-made file");
	tap_ok(n_loaded == 2 && strcmp(loaded[0], "a/config") == 0 &&
		       strcmp(loaded[1], "b/config") == 0,
	       "sorted, duplicates, comments, CR and wildcards dropped");
	discovery_topics_free(loaded, n_loaded);
	unlink(path);

	/* The state directory is not trusted: a FIFO would block a reader for ever, a link to a
	 * device could be endless, a huge file would take the memory. None of them is read. */
	tap_ok(mkfifo(path, 0600) == 0, "a FIFO in place of the file");
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), FILE_READ_NOT_REGULAR,
		   "a FIFO: not read (and not waited for)");
	tap_ok(loaded == NULL && n_loaded == 0, "a FIFO: nothing announced");
	unlink(path);
	tap_ok(symlink("/dev/zero", path) == 0, "a link to /dev/zero in place of the file");
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), FILE_READ_NOT_REGULAR,
		   "a link to a device: not read");
	unlink(path);
	f = fopen(path, "w");
	for (size_t written = 0; f && written <= DISCOVERY_TOPICS_SIZE_MAX; written += 32)
		fputs("homeassistant/switch/x/y/config\n", f);
	if (f)
		fclose(f);
	tap_is_int(discovery_topics_load(path, &loaded, &n_loaded), FILE_READ_TOO_LARGE,
		   "a file over the limit: not read");
	tap_ok(loaded == NULL && n_loaded == 0, "too large: nothing announced");
	unlink(path);
	rmdir(dir);

free_owned:
	discovery_topics_free(owned, n_owned);
	disc_free(d);
}

static void test_two_machines(void)
{
	char a[DISCOVERY_ID_LEN + 1], b[DISCOVERY_ID_LEN + 1];
	struct discovery *da, *db;
	struct discovery_messages la = { 0 }, lb = { 0 };
	cJSON *ja, *jb;

	discovery_id_derive("11111111111111111111111111111111", a);
	discovery_id_derive("22222222222222222222222222222222", b);
	da = make(a);
	db = make(b);
	discovery_ha_configs(da, &la);
	discovery_ha_configs(db, &lb);
	ja = la.n ? cJSON_Parse(la.items[0].payload) : NULL;
	jb = lb.n ? cJSON_Parse(lb.items[0].payload) : NULL;
	tap_ok(json_str(ja, "unique_id") && json_str(jb, "unique_id") &&
		       strcmp(json_str(ja, "unique_id"), json_str(jb, "unique_id")) != 0,
	       "two machines, same pin: different unique ids (%s, %s)", S(json_str(ja, "unique_id")),
	       S(json_str(jb, "unique_id")));
	tap_ok(la.n && lb.n && strcmp(la.items[0].topic, lb.items[0].topic) != 0,
	       "and different config topics");
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	discovery_messages_clear(&la);
	discovery_messages_clear(&lb);
	disc_free(da);
	disc_free(db);
}

static void test_id_file(void)
{
	char path[] = "/tmp/test-discovery-id-XXXXXX", id[DISCOVERY_ID_LEN + 1], want[DISCOVERY_ID_LEN + 1];
	int fd = mkstemp(path);

	if (fd < 0) {
		tap_ok(false, "mkstemp");
		return;
	}
	if (write(fd, "abcdefabcdefabcdefabcdefabcdef12\n", 33) != 33)
		tap_ok(false, "write");
	close(fd);
	setenv(DISCOVERY_MACHINE_ID_ENV, path, 1);
	tap_is_int(discovery_id_read(id), 0, "id from $" DISCOVERY_MACHINE_ID_ENV);
	discovery_id_derive("abcdefabcdefabcdefabcdefabcdef12", want);
	tap_is_str(id, want, "the derived id of that file");
	unlink(path);
	tap_is_int(discovery_id_read(id), -ENOENT, "a missing file");
	unsetenv(DISCOVERY_MACHINE_ID_ENV);
}

int main(void)
{
	test_ids();
	test_pin_ids();
	test_names_never_share_ids();
	test_ha_configs();
	test_switches_off();
	test_homie();
	test_homie_quiet_pins();
	test_homie_openhab_events();
	test_display_names();
	test_pulse_button();
	test_removals();
	test_two_machines();
	test_id_file();
	return tap_done();
}
