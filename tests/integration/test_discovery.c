/* SPDX-License-Identifier: MIT */
/* Integration tests of Home Assistant discovery and Homie 4: the daemon (gpio2mqtt-test, GPIO
 * replaced by gpio_double.c) against a real mosquitto on a free port of 127.0.0.1, one broker and
 * one temporary directory per scenario. TAP output.
 *
 *   test-discovery SCENARIO DAEMON MOSQUITTO
 *
 * A watcher (MQTT v5, retain-as-published) records every message on '#' in order. What is
 * retained on the broker is read by a new client (snapshot_take in the harness): a fence message
 * published after its SUBACK arrives after every retained message of the pattern. No sleeps as
 * assertions: every wait is for a condition, with a deadline. */

#include "harness.h"

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MACHINE_A "0123456789abcdef0123456789abcdef"
#define MACHINE_B "fedcba9876543210fedcba9876543210"
#define WEIRD "Küche \"Licht\" \\ 1" /* a pin name with UTF-8, quotes and a backslash */

#define S(s) ((s) ? (s) : "(none)")

static struct {
	struct broker broker;
	volatile pid_t daemons[2];
	char err[2][PATH_LEN];
	unsigned int runs;
} T;

static bool expect_msg(size_t from, const char *topic, const char *payload, const char *why)
{
	long i = watch_wait(from, topic, payload, TIMEOUT_MS);

	tap_ok(i >= 0, "%s: %s \"%s\"", why, topic, payload);
	return i >= 0;
}

static bool pub(const char *topic, const char *payload, bool retain)
{
	return watch_publish(topic, payload, strlen(payload), retain);
}

static bool snapshot_now(const char *pattern, struct snapshot *s)
{
	return snapshot_take(T.broker.port, pattern, s);
}

/* ---- the daemon ------------------------------------------------------------------------- */

static const char *const all_pins =
	"inputs = (\n"
	"  { name = \"button\"; line = \"GPIO17\"; mode = \"button\"; },\n"
	"  { name = \"door\"; line = \"GPIO18\"; device_class = \"door\"; }\n"
	");\n"
	"outputs = (\n"
	"  { name = \"relay\"; line = \"GPIO27\"; },\n"
	"  { name = \"lamp\"; line = \"GPIO22\"; component = \"light\"; },\n"
	"  { name = \"Küche \\\"Licht\\\" \\\\ 1\"; line = \"GPIO23\"; payload = \"json\"; }\n"
	");\n";

/* Writes the config of daemon I (0 or 1): base topic g2m-disc/<scenario>/<i>. */
static bool config_write(int i, const char *discovery, const char *pins)
{
	char path[PATH_LEN], name[32], text[4096];

	snprintf(name, sizeof(name), "daemon%d.conf", i);
	tmp_path(path, name);
	snprintf(text, sizeof(text),
		 "mqtt = {\n"
		 "  brokers = ( { host = \"127.0.0.1\"; port = %d; } );\n"
		 "  client_id = \"g2m-disc-%s-%d-%ld\";\n"
		 "  base_topic = \"g2m-disc/%s/%d\";\n"
		 "  keepalive = 5; reconnect_min_ms = 200; reconnect_max_ms = 1000;\n"
		 "};\n"
		 "state_dir = \"%s/state%d\";\n"
		 "discovery = { %s };\n"
		 "%s",
		 T.broker.port, H.scenario, i, (long)getpid(), H.scenario, i, H.tmp, i, discovery, pins);
	return file_write(path, text);
}

/* Starts daemon I with machine id MACHINE (a file of 32 hex digits). */
static bool daemon_start(int i, const char *machine)
{
	char conf[PATH_LEN], gpio[PATH_LEN], idfile[PATH_LEN], name[64];
	char gpio_env[PATH_LEN + 40], id_env[PATH_LEN + 40];
	const char *env[] = { gpio_env, id_env, NULL };
	char *argv[] = { (char *)H.daemon_path, (char *)"-d", (char *)"-c", conf, NULL };

	snprintf(name, sizeof(name), "daemon%d.conf", i);
	tmp_path(conf, name);
	snprintf(name, sizeof(name), "gpio%d", i);
	tmp_path(gpio, name);
	mkdir(gpio, 0755);
	snprintf(name, sizeof(name), "machine-id-%d", i);
	tmp_path(idfile, name);
	snprintf(name, sizeof(name), "%s\n", machine);
	if (!file_write(idfile, name))
		return false;
	snprintf(gpio_env, sizeof(gpio_env), "GPIO2MQTT_TEST_GPIO_DIR=%s", gpio);
	snprintf(id_env, sizeof(id_env), "GPIO2MQTT_MACHINE_ID_FILE=%s", idfile);
	snprintf(name, sizeof(name), "daemon%d-run%u.log", i, ++T.runs);
	tmp_path(T.err[i], name);
	child_track(&T.daemons[i]);
	T.daemons[i] = spawn(argv, T.err[i], NULL, env);
	return tap_ok(T.daemons[i] > 0, "start daemon %d (machine id %.8s...)", i, machine);
}

static void base_of(int i, char *buf, size_t size)
{
	snprintf(buf, size, "g2m-disc/%s/%d", H.scenario, i);
}

/* Waits for daemon I's "online" after FROM. */
static bool expect_online(int i, size_t from)
{
	char topic[256];

	base_of(i, topic, sizeof(topic));
	strcat(topic, "/status");
	return expect_msg(from, topic, "online", "daemon online");
}

/* The level of output NAME of daemon I in the GPIO double, waiting for WANT. */
static bool expect_output(int i, const char *name, int want, const char *why)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	char path[PATH_LEN], rel[128];
	int level = -1;

	snprintf(rel, sizeof(rel), "gpio%d/out/%s", i, name);
	tmp_path(path, rel);
	do {
		char *text = file_read(path, NULL);

		level = text ? atoi(text) : -1;
		free(text);
		if (level == want)
			break;
		pause_ms(10);
	} while (now_ms() < deadline);
	return tap_ok(level == want, "%s: output '%s' is %d", why, name, want);
}

/* ---- checks of Home Assistant configs --------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

struct expected_config {
	const char *component;
	const char *pin;
	bool command;
	bool event;
};

static const struct expected_config expected_configs[] = {
	{ "event", "button", false, true },
	{ "binary_sensor", "door", false, false },
	{ "switch", "relay", true, false },
	{ "light", "lamp", true, false },
	{ "switch", WEIRD, true, false },
};
/* Besides the pins' configs, every daemon announces its four diagnostic sensors (the health
 * counters edges_lost, publishes_failed, reconnects, uptime_s). */
#define N_HEALTH_SENSORS 4
#define N_CONFIGS (sizeof(expected_configs) / sizeof(expected_configs[0]))

/* Checks the retained configs of daemon I; returns its node id in NODE. */
static bool check_configs(int i, const struct snapshot *s, char *node, size_t node_size)
{
	char base[128], want[256];
	bool all = true;

	base_of(i, base, sizeof(base));
	node[0] = '\0';
	for (size_t k = 0; k < N_CONFIGS; k++) {
		const struct expected_config *e = &expected_configs[k];
		const struct msg *found = NULL;
		cJSON *o = NULL;

		/* Find the config by its name (the object id of WEIRD is a cleaned form). */
		for (size_t m = 0; m < s->n && !found; m++) {
			char prefix[128];
			cJSON *c;

			snprintf(prefix, sizeof(prefix), "homeassistant/%s/", e->component);
			if (strncmp(s->items[m].topic, prefix, strlen(prefix)) != 0)
				continue;
			c = cJSON_Parse(s->items[m].payload);
			snprintf(want, sizeof(want), "%s/%s%s", base, e->pin, e->event ? "/event" : "");
			if (c && streq(jstr(c, "state_topic"), want)) {
				found = &s->items[m];
				o = c;
			} else {
				cJSON_Delete(c);
			}
		}
		all &= tap_ok(found != NULL, "%s config for '%s' (JSON with state_topic %s)",
			      e->component, e->pin, want);
		if (!found)
			continue;
		{
			const cJSON *dev = cJSON_GetObjectItem(o, "device");
			const cJSON *ids = cJSON_GetObjectItem(dev, "identifiers");
			const cJSON *av = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "availability"), 0);
			const cJSON *origin = cJSON_GetObjectItem(o, "origin");
			const char *id0 = cJSON_IsString(cJSON_GetArrayItem(ids, 0))
						  ? cJSON_GetArrayItem(ids, 0)->valuestring
						  : NULL;
			const char *uid = jstr(o, "unique_id");
			char topic_node[128] = "", topic_obj[128] = "";

			sscanf(found->topic, "homeassistant/%*[^/]/%127[^/]/%127[^/]/config", topic_node,
			       topic_obj);
			if (!node[0] && id0)
				snprintf(node, node_size, "%s", id0);
			all &= tap_ok(streq(jstr(o, "name"), e->pin), "%s: name \"%s\"", found->topic,
				      e->pin);
			all &= tap_ok(id0 && streq(topic_node, id0),
				      "%s: node_id in the topic is the device identifier (%s)",
				      found->topic, S(id0));
			all &= tap_ok(id0 && strncmp(id0, "gpio2mqtt_", 10) == 0 &&
					     !strstr(MACHINE_A MACHINE_B, id0 + 10),
				     "%s: identifier derived from, not equal to, the machine id",
				     found->topic);
			all &= tap_ok(uid && id0 && strncmp(uid, id0, strlen(id0)) == 0 &&
					     strstr(uid, topic_obj),
				     "%s: unique_id %s = node id + object id", found->topic, S(uid));
			snprintf(want, sizeof(want), "%s/status", base);
			all &= tap_ok(streq(jstr(av, "topic"), want) &&
					     streq(jstr(av, "payload_available"), "online") &&
					     streq(jstr(av, "payload_not_available"), "offline"),
				     "%s: availability on %s", found->topic, want);
			all &= tap_ok(streq(jstr(origin, "name"), "gpio2mqtt") &&
					     jstr(origin, "sw_version") && jstr(origin, "support_url"),
				     "%s: origin name, sw_version, support_url", found->topic);
			snprintf(want, sizeof(want), "%s/%s/set", base, e->pin);
			if (e->command)
				all &= tap_ok(streq(jstr(o, "command_topic"), want) &&
						     streq(jstr(o, "payload_on"), "ON") &&
						     streq(jstr(o, "payload_off"), "OFF"),
					     "%s: command_topic %s, payloads ON/OFF", found->topic, want);
			else
				all &= tap_ok(!cJSON_GetObjectItem(o, "command_topic"),
					      "%s: no command_topic", found->topic);
			if (e->event)
				all &= tap_ok(cJSON_GetArraySize(cJSON_GetObjectItem(o, "event_types")) == 3,
					      "%s: event_types", found->topic);
			if (strcmp(e->pin, "door") == 0)
				all &= tap_ok(streq(jstr(o, "device_class"), "door"),
					      "%s: device_class door", found->topic);
		}
		cJSON_Delete(o);
	}
	return all;
}

/* Waits until daemon I's configs are retained (its online came first, the configs right after)
 * and takes the snapshot. */
static bool ha_snapshot(size_t from, int i, struct snapshot *s)
{
	char topic[256];
	long idx;

	base_of(i, topic, sizeof(topic));
	strcat(topic, "/relay");
	/* The states follow the configs: once relay's state is in, so are the configs. */
	idx = watch_wait(from, topic, "OFF", TIMEOUT_MS);
	if (!tap_ok(idx >= 0, "daemon %d published its states", i))
		return false;
	return tap_ok(snapshot_now("homeassistant/#", s), "read what is retained under homeassistant/#");
}

/* ---- scenarios -------------------------------------------------------------------------- */

static void scenario_ha_configs(void)
{
	struct snapshot s;
	char node[128], topic[512], base[128];
	size_t c = watch_mark();
	const char *cmd = NULL;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	if (!ha_snapshot(c, 0, &s))
		return;
	tap_ok(s.n == N_CONFIGS + N_HEALTH_SENSORS, "%d configs retained (%zu)",
	       (int)(N_CONFIGS + N_HEALTH_SENSORS), s.n);
	check_configs(0, &s, node, sizeof(node));

	/* The config's command topic drives the output; the state comes back on the state topic. */
	for (size_t k = 0; k < s.n; k++) {
		cJSON *o = cJSON_Parse(s.items[k].payload);

		if (o && streq(jstr(o, "name"), "relay") && jstr(o, "command_topic"))
			cmd = strdup(jstr(o, "command_topic"));
		cJSON_Delete(o);
	}
	base_of(0, base, sizeof(base));
	c = watch_mark();
	if (tap_ok(cmd != NULL, "relay's command_topic") && pub(cmd, "ON", false)) {
		expect_output(0, "relay", 1, "command on the discovered topic");
		snprintf(topic, sizeof(topic), "%s/relay", base);
		expect_msg(c, topic, "ON", "state echoed");
	}
	free((char *)cmd);

	/* A pin with payload = "json" takes {"state":...} (other members ignored) as well as the
	 * plain words, and its discovery config says what to send. */
	{
		const char *json_pin = "Küche \"Licht\" \\ 1";
		char set[512];
		struct msg m;
		long i;

		snprintf(set, sizeof(set), "%s/%s/set", base, json_pin);
		snprintf(topic, sizeof(topic), "%s/%s", base, json_pin);
		c = watch_mark();
		if (pub(set, "{\"state\":\"ON\",\"transition\":2}", false)) {
			expect_output(0, json_pin, 1, "JSON command {\"state\":\"ON\"}");
			i = watch_wait(c, topic, NULL, TIMEOUT_MS);
			tap_ok(i >= 0 && watch_at((size_t)i, &m) && strstr(m.payload, "\"state\":\"ON\""),
			       "JSON command: the JSON state says ON");
		}
		c = watch_mark();
		if (pub(set, "OFF", false))
			expect_output(0, json_pin, 0, "plain OFF on a JSON pin");
	}
	snapshot_free(&s);
}

static void scenario_ha_birth(void)
{
	char base[128], topic[256];
	struct snapshot s;
	size_t c = watch_mark(), after;
	long last_config = -1, first_state = -1;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	static const char *const states[] = { "door", "relay", "lamp", WEIRD };

	if (!ha_snapshot(c, 0, &s))
		return;
	base_of(0, base, sizeof(base));
	/* The announcement on connect ends with every state: wait for them, so none of them can be
	 * taken for part of the resend. */
	for (size_t k = 0; k < 4; k++) {
		snprintf(topic, sizeof(topic), "%s/%s", base, states[k]);
		tap_ok(watch_wait(c, topic, NULL, TIMEOUT_MS) >= 0, "state at connect: %s", topic);
	}
	after = watch_mark();
	if (!pub("homeassistant/status", "online", false))
		goto free_snapshot;
	for (size_t k = 0; k < s.n; k++) {
		long idx = watch_wait(after, s.items[k].topic, NULL, TIMEOUT_MS);

		tap_ok(idx >= 0, "resent after homeassistant/status online: %s", s.items[k].topic);
		if (idx > last_config)
			last_config = idx;
	}
	for (size_t k = 0; k < 4; k++) {
		long idx;

		snprintf(topic, sizeof(topic), "%s/%s", base, states[k]);
		idx = watch_wait(after, topic, NULL, TIMEOUT_MS);
		tap_ok(idx >= 0, "state resent: %s", topic);
		if (idx >= 0 && (first_state < 0 || idx < first_state))
			first_state = idx;
	}
	tap_ok(last_config >= 0 && first_state > last_config, "every config before every state");

	/* "offline" from Home Assistant asks for nothing: a fence (a command, whose echo is awaited)
	 * shows no config was sent in between. */
	after = watch_mark();
	snprintf(topic, sizeof(topic), "%s/relay/set", base);
	if (pub("homeassistant/status", "offline", false) && pub(topic, "OFF", false)) {
		long fence;

		snprintf(topic, sizeof(topic), "%s/relay", base);
		fence = watch_wait(after, topic, "OFF", TIMEOUT_MS);
		tap_ok(fence >= 0 && watch_wait(after, s.items[0].topic, NULL, 0) < 0,
		       "homeassistant/status offline: nothing resent");
	}
free_snapshot:
	snapshot_free(&s);
}

static void scenario_removal(void)
{
	const char *fewer =
		"inputs = ( { name = \"door\"; line = \"GPIO18\"; } );\n"
		"outputs = ( { name = \"relay\"; line = \"GPIO27\"; component = \"light\"; } );\n";
	struct snapshot before, after;
	char node[128], topic[512], path[PATH_LEN];
	size_t c = watch_mark();
	char *saved;

	if (!config_write(0, "", all_pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	if (!ha_snapshot(c, 0, &before))
		return;
	check_configs(0, &before, node, sizeof(node));
	tmp_path(path, "state0/discovery.topics");
	saved = file_read(path, NULL);
	tap_ok(saved && strstr(saved, "/button/config"), "announced topics kept in %s", path);
	free(saved);
	child_kill(&T.daemons[0], SIGTERM);

	/* button, lamp and the weird one are gone; relay is a light now. */
	c = watch_mark();
	if (!config_write(0, "", fewer) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		goto free_before;
	snprintf(topic, sizeof(topic), "homeassistant/switch/%s/relay/config", node);
	tap_ok(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "relay's switch config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/event/%s/button/config", node);
	tap_ok(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "removed button's config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/light/%s/lamp/config", node);
	tap_ok(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "removed lamp's config cleared");
	snprintf(topic, sizeof(topic), "homeassistant/light/%s/relay/config", node);
	tap_ok(watch_wait(c, topic, NULL, TIMEOUT_MS) >= 0, "relay announced as a light");
	/* The removed lamp's retained state goes with it (it was left on the broker for ever). */
	snprintf(topic, sizeof(topic), "g2m-disc/%s/0/lamp", H.scenario);
	tap_ok(watch_wait(c, topic, "", TIMEOUT_MS) >= 0, "removed lamp's retained state cleared");
	snprintf(topic, sizeof(topic), "g2m-disc/%s/0/relay", H.scenario);
	if (!tap_ok(watch_wait(c, topic, "OFF", TIMEOUT_MS) >= 0, "states after the configs"))
		goto free_before;
	if (tap_ok(snapshot_now("homeassistant/#", &after), "read what is retained")) {
		char door[512], relay[512];

		snprintf(door, sizeof(door), "homeassistant/binary_sensor/%s/door/config", node);
		snprintf(relay, sizeof(relay), "homeassistant/light/%s/relay/config", node);
		tap_ok(after.n == 2 + N_HEALTH_SENSORS && snapshot_find(&after, door) &&
			       snapshot_find(&after, relay),
		       "only door and relay are retained now (%zu configs)", after.n);
		for (size_t k = 0; k < after.n; k++)
			tap_diag("retained: %s", after.items[k].topic);
		snapshot_free(&after);
	}
	saved = file_read(path, NULL);
	tap_ok(saved && !strstr(saved, "/button/config") && strstr(saved, "/relay/config"),
	       "the announced list follows the configuration");
	free(saved);
free_before:
	snapshot_free(&before);
}

static void scenario_machine_ids(void)
{
	struct snapshot s;
	char node0[128] = "", node1[128] = "";
	size_t c = watch_mark();

	if (!config_write(0, "", all_pins) || !config_write(1, "", all_pins) ||
	    !daemon_start(0, MACHINE_A) || !daemon_start(1, MACHINE_B) || !expect_online(0, c) ||
	    !expect_online(1, c))
		return;
	{
		char topic[256];

		base_of(1, topic, sizeof(topic));
		strcat(topic, "/relay");
		if (!tap_ok(watch_wait(c, topic, "OFF", TIMEOUT_MS) >= 0, "daemon 1 states"))
			return;
	}
	if (!ha_snapshot(c, 0, &s))
		return;
	tap_ok(s.n == 2 * (N_CONFIGS + N_HEALTH_SENSORS), "both daemons' configs retained (%zu)",
	       s.n);
	/* Split the snapshot by base topic. */
	{
		struct snapshot *part = calloc(2, sizeof(*part));
		size_t shared = 0;

		for (int w = 0; w < 2; w++) {
			part[w].items = calloc(s.n, sizeof(*part[w].items));
			part[w].cap = s.n;
		}

		for (size_t k = 0; k < s.n; k++) {
			cJSON *o = cJSON_Parse(s.items[k].payload);
			const char *st = jstr(o, "state_topic");
			int which = st && strstr(st, "/1/") ? 1 : 0;
			struct msg *m = &part[which].items[part[which].n++];

			m->topic = strdup(s.items[k].topic);
			m->payload = strdup(s.items[k].payload);
			cJSON_Delete(o);
		}
		check_configs(0, &part[0], node0, sizeof(node0));
		check_configs(1, &part[1], node1, sizeof(node1));
		tap_ok(node0[0] && node1[0] && strcmp(node0, node1) != 0,
		       "different machine ids: different device ids (%s, %s)", node0, node1);
		for (size_t k = 0; k < part[0].n; k++) {
			cJSON *a = cJSON_Parse(part[0].items[k].payload);

			for (size_t m = 0; m < part[1].n; m++) {
				cJSON *b = cJSON_Parse(part[1].items[m].payload);

				if (streq(jstr(a, "unique_id"), jstr(b, "unique_id"))) {
					tap_diag("unique id %s used by both", jstr(a, "unique_id"));
					shared++;
				}
				cJSON_Delete(b);
			}
			cJSON_Delete(a);
		}
		tap_ok(shared == 0, "no unique id shared by the two daemons");
		snapshot_free(&part[0]);
		snapshot_free(&part[1]);
		free(part);
	}
	snapshot_free(&s);
}

/* Checks the whole Homie tree under homie/DEV against the convention's required attributes. */
static void check_homie_tree(const struct snapshot *s, const char *dev)
{
	char topic[512], nodes[1024];
	const struct msg *m;

	snprintf(topic, sizeof(topic), "homie/%s/$homie", dev);
	m = snapshot_find(s, topic);
	tap_ok(m && strcmp(m->payload, "4.0.0") == 0, "$homie 4.0.0");
	snprintf(topic, sizeof(topic), "homie/%s/$name", dev);
	tap_ok(snapshot_find(s, topic) != NULL, "$name");
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	m = snapshot_find(s, topic);
	tap_ok(m && strcmp(m->payload, "ready") == 0, "$state ready retained");
	snprintf(topic, sizeof(topic), "homie/%s/$nodes", dev);
	m = snapshot_find(s, topic);
	if (!tap_ok(m && m->payload[0], "$nodes"))
		return;
	snprintf(nodes, sizeof(nodes), "%s", m->payload);
	tap_ok(strspn(dev, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(dev),
	       "device id is a Homie id");
	for (char *save = NULL, *node = strtok_r(nodes, ",", &save); node;
	     node = strtok_r(NULL, ",", &save)) {
		char props[256];

		tap_ok(strspn(node, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(node) &&
			      node[0] != '-',
		      "node id %s is a Homie id", node);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$name", dev, node);
		tap_ok(snapshot_find(s, topic) != NULL, "%s", topic);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$type", dev, node);
		tap_ok(snapshot_find(s, topic) != NULL, "%s", topic);
		snprintf(topic, sizeof(topic), "homie/%s/%s/$properties", dev, node);
		m = snapshot_find(s, topic);
		if (!tap_ok(m != NULL, "%s", topic))
			continue;
		snprintf(props, sizeof(props), "%s", m->payload);
		for (char *save2 = NULL, *prop = strtok_r(props, ",", &save2); prop;
		     prop = strtok_r(NULL, ",", &save2)) {
			const struct msg *dt, *settable, *retained, *format, *value;

			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$name", dev, node, prop);
			tap_ok(snapshot_find(s, topic) != NULL, "%s", topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$datatype", dev, node, prop);
			dt = snapshot_find(s, topic);
			tap_ok(dt != NULL, "%s", topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$settable", dev, node, prop);
			settable = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$retained", dev, node, prop);
			retained = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s/$format", dev, node, prop);
			format = snapshot_find(s, topic);
			snprintf(topic, sizeof(topic), "homie/%s/%s/%s", dev, node, prop);
			value = snapshot_find(s, topic);
			if (dt && strcmp(dt->payload, "boolean") == 0) {
				tap_ok(value && (strcmp(value->payload, "true") == 0 ||
						strcmp(value->payload, "false") == 0),
				      "%s: a retained boolean value", topic);
				tap_ok(!retained || strcmp(retained->payload, "true") == 0,
				       "%s: retained", topic);
			} else if (dt && strcmp(dt->payload, "enum") == 0) {
				tap_ok(format && format->payload[0], "%s: enum with $format", topic);
				tap_ok(retained && strcmp(retained->payload, "false") == 0 && !value,
				       "%s: events not retained", topic);
				tap_ok(!settable || strcmp(settable->payload, "false") == 0,
				       "%s: events not settable", topic);
			} else {
				tap_ok(false, "%s: datatype boolean or enum", topic);
			}
		}
	}
}

static void scenario_homie(void)
{
	struct snapshot s;
	char dev[64] = "", topic[512], base[128], status[160];
	size_t c = watch_mark();
	long init, ready, nodes_idx;

	if (!config_write(0, "homie = true;", all_pins) || !daemon_start(0, MACHINE_A) ||
	    !expect_online(0, c))
		return;
	/* The device id from the first $homie message. */
	for (int64_t deadline = now_ms() + TIMEOUT_MS; !dev[0] && now_ms() < deadline;) {
		struct msg m;

		for (size_t i = c; !dev[0] && watch_at(i, &m); i++)
			sscanf(m.topic, "homie/%63[^/]/$homie", dev);
		if (!dev[0])
			pause_ms(10);
	}
	if (!tap_ok(dev[0] && strncmp(dev, "gpio2mqtt-", 10) == 0, "homie/%s/$homie", dev))
		return;
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	init = watch_wait(c, topic, "init", TIMEOUT_MS);
	ready = watch_wait(c, topic, "ready", TIMEOUT_MS);
	tap_ok(init >= 0 && ready > init, "$state init, then ready");
	snprintf(topic, sizeof(topic), "homie/%s/$nodes", dev);
	nodes_idx = watch_wait(c, topic, NULL, TIMEOUT_MS);
	tap_ok(nodes_idx > init && nodes_idx < ready, "attributes between init and ready");
	snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
	{
		long v = watch_wait(c, topic, "false", TIMEOUT_MS);

		tap_ok(v > init && v < ready, "values before ready");
	}
	if (!tap_ok(snapshot_now("homie/#", &s), "read what is retained under homie/#"))
		return;
	check_homie_tree(&s, dev);
	snapshot_free(&s);

	/* Home Assistant follows $state too: the connection's Last Will is $state = lost. */
	if (snapshot_now("homeassistant/#", &s)) {
		cJSON *o = s.n ? cJSON_Parse(s.items[0].payload) : NULL;
		const cJSON *av = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "availability"), 1);

		snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
		tap_ok(streq(jstr(av, "topic"), topic), "Home Assistant availability includes $state");
		cJSON_Delete(o);
		snapshot_free(&s);
	}

	/* A Homie set command drives the output; the value and the plain state follow. */
	base_of(0, base, sizeof(base));
	c = watch_mark();
	snprintf(topic, sizeof(topic), "homie/%s/relay/state/set", dev);
	if (pub(topic, "true", false)) {
		expect_output(0, "relay", 1, "Homie set true");
		snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
		expect_msg(c, topic, "true", "Homie value");
		snprintf(topic, sizeof(topic), "%s/relay", base);
		expect_msg(c, topic, "ON", "plain state");
	}
	/* An input is not settable: nothing happens, which the command after it (a fence: the
	 * daemon handles messages in order) shows. */
	c = watch_mark();
	snprintf(topic, sizeof(topic), "homie/%s/door/state/set", dev);
	pub(topic, "true", false);
	snprintf(topic, sizeof(topic), "homie/%s/relay/state/set", dev);
	if (pub(topic, "false", false)) {
		expect_output(0, "relay", 0, "Homie set false");
		snprintf(topic, sizeof(topic), "homie/%s/relay/state", dev);
		expect_msg(c, topic, "false", "Homie value");
		snprintf(topic, sizeof(topic), "homie/%s/door/state", dev);
		tap_ok(watch_wait(c, topic, NULL, 0) < 0, "a set on an input's property changes nothing");
	}

	/* Clean stop: disconnected, and offline. */
	c = watch_mark();
	child_kill(&T.daemons[0], SIGTERM);
	snprintf(topic, sizeof(topic), "homie/%s/$state", dev);
	expect_msg(c, topic, "disconnected", "SIGTERM");
	snprintf(status, sizeof(status), "%s/status", base);
	expect_msg(c, status, "offline", "SIGTERM");

	/* Killed: both Last Wills, Homie's on the main connection and <base>/status's on the
	 * status connection (issue 15). */
	c = watch_mark();
	if (!daemon_start(0, MACHINE_A))
		return;
	if (!expect_msg(c, topic, "ready", "restart") || !expect_msg(c, status, "online", "restart"))
		return;
	c = watch_mark();
	child_kill(&T.daemons[0], SIGKILL);
	expect_msg(c, topic, "lost", "SIGKILL: the Last Will");
	expect_msg(c, status, "offline", "SIGKILL: the status connection's Last Will");
	if (snapshot_now(status, &s)) {
		tap_ok(s.n == 1 && strcmp(s.items[0].payload, "offline") == 0,
		       "SIGKILL: \"offline\" is what the broker retains for %s", status);
		snapshot_free(&s);
	}
}


/* The state directory is not trusted (issue 14): a discovery.topics that names topics of other
 * machines and programs clears only our own stale documents; a FIFO in place of discovery.topics
 * or outputs.state neither blocks the start nor a SIGTERM. */
static void scenario_state_dir(void)
{
	const char *pins = "outputs = ( { name = \"relay\"; line = \"GPIO27\"; "
			   "power_on = \"restore\"; } );\n";
	const char *foreign[] = {
		"zigbee2mqtt/kitchen/light",
		"homeassistant/switch/gpio2mqtt_fedcba9876543210/x/config",
		"homeassistant/light/zigbee2mqtt_0x1234/light/config",
	};
	char path[PATH_LEN], state[PATH_LEN], ours[512], node[128] = "", *saved, *line;
	struct snapshot after;
	size_t c = watch_mark();
	int status;
	FILE *f;

	if (!config_write(0, "", pins) || !daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	tmp_path(path, "state0/discovery.topics");
	tmp_path(state, "state0/outputs.state");
	/* Our node id: the third level of our first Home Assistant topic (the file is written
	 * after "online", once the documents are out). */
	file_wait_count(path, "\nhomeassistant/", 1, TIMEOUT_MS);
	saved = file_read(path, NULL);
	line = saved ? strstr(saved, "\nhomeassistant/") : NULL;
	if (line)
		sscanf(line + 1, "homeassistant/%*[^/]/%127[^/]/", node);
	free(saved);
	if (!tap_ok(node[0] != '\0', "our node id from %s: %s", path, node))
		return;
	child_kill(&T.daemons[0], SIGTERM);

	/* Retained documents of others, and one stale one of ours, all listed in the file. */
	snprintf(ours, sizeof(ours), "homeassistant/switch/%s/stale/config", node);
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		pub(foreign[i], "keep", true);
	pub(ours, "{}", true);
	f = fopen(path, "a");
	for (size_t i = 0; f && i < sizeof(foreign) / sizeof(foreign[0]); i++)
		fprintf(f, "%s\n", foreign[i]);
	if (f) {
		fprintf(f, "%s\n", ours);
		fclose(f);
	}
	c = watch_mark();
	if (!daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	tap_ok(watch_wait(c, ours, "", TIMEOUT_MS) >= 0, "our stale document is cleared");
	if (tap_ok(snapshot_now("#", &after), "read what is retained")) {
		for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
			const struct msg *m = snapshot_find(&after, foreign[i]);

			tap_ok(m && strcmp(m->payload, "keep") == 0,
			       "listed but not ours, left alone: %s", foreign[i]);
		}
		tap_ok(!snapshot_find(&after, ours), "ours is gone from the broker");
		snapshot_free(&after);
	}
	child_kill(&T.daemons[0], SIGTERM);

	/* FIFOs: the start goes on (the files are not read, with a warning) and SIGTERM works. */
	unlink(path);
	unlink(state);
	if (!tap_ok(mkfifo(path, 0600) == 0 && mkfifo(state, 0600) == 0,
		    "FIFOs in place of discovery.topics and outputs.state"))
		return;
	c = watch_mark();
	if (!daemon_start(0, MACHINE_A) || !expect_online(0, c))
		return;
	tap_ok(file_wait_count(T.err[0], "it is not a regular file", 2, TIMEOUT_MS),
	       "both files named in a warning: not a regular file");
	kill(T.daemons[0], SIGTERM);
	tap_ok(child_wait(T.daemons[0], TIMEOUT_MS, &status) && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0,
	       "SIGTERM: a clean stop");
	T.daemons[0] = 0;
}

static const struct scenario scenarios[] = {
	{ "ha-configs", scenario_ha_configs },
	{ "ha-birth", scenario_ha_birth },
	{ "ha-removal", scenario_removal },
	{ "ha-machine-ids", scenario_machine_ids },
	{ "homie", scenario_homie },
	{ "state-dir", scenario_state_dir },
};

/* A broker on a free port and the watcher on '#'. */
static bool setup(void)
{
	char id[64];
	struct watch_opts o = { .sub = "#", .id = id };

	snprintf(id, sizeof(id), "g2m-disc-watch-%ld", (long)getpid());
	if (!tap_ok(access(H.tmp, W_OK) == 0, "temporary directory") ||
	    !tap_ok(broker_start_free(&T.broker, "mosquitto", "allow_anonymous true\n"),
		    "mosquitto on 127.0.0.1"))
		return false;
	o.port = T.broker.port;
	return tap_ok(watch_start(&o), "watcher subscribed to #");
}

static void finish(void)
{
	if (tap_failures())
		for (int i = 0; i < 2; i++)
			if (T.err[i][0])
				dump_file("daemon log", T.err[i], 200);
}

int main(int argc, char **argv)
{
	const struct harness_program p = {
		.tmp_prefix = "g2m-disc",
		.scenarios = scenarios,
		.n_scenarios = sizeof(scenarios) / sizeof(scenarios[0]),
		.setup = setup,
		.finish = finish,
	};

	return harness_main(argc, argv, &p);
}
