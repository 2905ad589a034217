/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bridge.h"
#include "build-config.h"
#include "config.h"
#include "discovery.h"
#include "gpio.h"
#include "health.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "notify.h"
#include "state.h"
#include "topics.h"
#include "util.h"

#define EXIT_CONFIG 78 /* EX_CONFIG */
/* How long a stop waits for the broker to acknowledge "offline". */
#define STOP_TIMEOUT_USEC (2 * 1000000ULL)

/* What a state message carries in JSON: when the pin last changed and a sequence number. */
struct daemon_pin {
	uint64_t changed_ns; /* CLOCK_REALTIME of the last change */
	uint64_t seq;        /* inputs: the kernel's line sequence number of that edge;
			      * outputs: changes since start */
	uint64_t events;     /* button events published since start */
};

struct daemon {
	const char *config_path;
	struct config *cfg;
	struct loop *loop;
	struct gpio *gpio;
	struct bridge *bridge;
	struct mqtt *mqtt;
	struct topics *topics;                /* every topic of the configuration (src/topics.h) */
	struct discovery *discovery;          /* Home Assistant and Homie (src/discovery.h) */
	struct discovery_messages discovery_clears; /* stale documents of an earlier run */
	char **discovery_owned;               /* the retained topics this run announces */
	size_t n_discovery_owned;
	char discovery_path[PATH_MAX];        /* the announced-topics file; empty: none kept */
	bool discovery_saved;
	struct daemon_pin *pins;
	int signal_fd;
	struct loop_source *stop_timer;
	struct loop_source *bridge_timer;
	char broker[300];
	char state_path[PATH_MAX]; /* empty: no output uses power_on = "restore" */
	bool state_failed;         /* the last save failed (logged once until one succeeds) */
	bool connected;
	bool stopping;
	bool exited_outputs;
	int offline_mid;
	unsigned long long edges;
	unsigned long long edges_lost;
	unsigned long long dropped_reported;
	/* <base>/health (src/health.h) */
	uint64_t started_ms;
	unsigned long long config_generation; /* 1 at start, +1 per applied reload */
	struct loop_source *health_timer;
	bool watchdog_withheld; /* WATCHDOG=1 not sent: the network thread is stuck */
	/* Reload */
	struct loop_source **gpio_sources; /* one per gpio_fd() */
	size_t n_gpio_sources;
	struct loop_source *mqtt_source;
	struct config *mqtt_cfg; /* the older config the mqtt object still reads (its connection
				  * settings did not change since); NULL: d->cfg */
	struct mqtt_stats mqtt_before; /* counters of mqtt objects replaced by reloads */
};

static void daemon_health_gather(struct daemon *d, struct health *h)
{
	*h = (struct health){
		.uptime_s = (util_now_ms() - d->started_ms) / 1000ULL,
		.edges_seen = d->edges,
		.edges_lost = d->edges_lost,
		.config_generation = d->config_generation,
	};
	if (d->mqtt)
		mqtt_stats_get(d->mqtt, &h->mqtt);
	/* Counted since start, across the connections reloads replaced. */
	h->mqtt.acknowledged += d->mqtt_before.acknowledged;
	h->mqtt.failed += d->mqtt_before.failed;
	h->mqtt.denied += d->mqtt_before.denied;
	h->mqtt.held_dropped += d->mqtt_before.held_dropped;
	h->mqtt.incoming_dropped += d->mqtt_before.incoming_dropped;
	h->mqtt.connections += d->mqtt_before.connections;
	h->mqtt.reconnects = h->mqtt.connections ? h->mqtt.connections - 1 : 0;
}

static void daemon_status_update(struct daemon *d)
{
	char connection[1024] = "not connected to a broker (retrying)";
	char summary[256] = "";
	struct health h;

	if (d->mqtt)
		mqtt_status(d->mqtt, connection, sizeof(connection));
	daemon_health_gather(d, &h);
	health_summary(&h, summary, sizeof(summary));
	if (d->stopping)
		notify_status("stopping");
	else
		notify_status("%s; serving %zu inputs, %zu outputs; %s", connection,
			      d->cfg->n_inputs, d->cfg->n_outputs, summary);
}

/* <base>/health, not retained (a stale health report would lie): periodically and whenever
 * anything is published to <base>/health/get. */
static void daemon_health_publish(struct daemon *d)
{
	char json[1024];
	struct health h;
	int r;

	if (!d->connected || d->stopping)
		return;
	daemon_health_gather(d, &h);
	r = health_json(&h, json, sizeof(json));
	if (r == 0)
		r = mqtt_publish(d->mqtt, d->topics->health, json, strlen(json), d->cfg->mqtt.qos,
				 false, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("mqtt: cannot publish %s: %s", d->topics->health, strerror(-r));
}

static int daemon_on_health_timer(void *userdata)
{
	struct daemon *d = userdata;

	daemon_health_publish(d);
	daemon_status_update(d);
	return 0;
}

/* {"state":"ON","time":"2026-11-26T10:56:50.123456789Z","seq":7} */
static void daemon_json(char *buf, size_t size, const char *key, const char *value,
			uint64_t time_ns, uint64_t seq)
{
	time_t secs = (time_t)(time_ns / 1000000000ULL);
	char stamp[32];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "{\"%s\":\"%s\",\"time\":\"%s.%09lluZ\",\"seq\":%llu}", key, value,
		 stamp, (unsigned long long)(time_ns % 1000000000ULL), (unsigned long long)seq);
}

static void daemon_publish(struct daemon *d, size_t pin, const char *topic, const char *payload,
			   bool retain)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	int r;

	/* While offline the bridge holds the latest states; they are published on connect. */
	if (!d->connected)
		return;
	r = mqtt_publish(d->mqtt, topic, payload, strlen(payload), p->qos, retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s: %s", p->name, payload, strerror(-r));
}

static void daemon_publish_held(struct daemon *d, size_t pin, const char *topic,
				const char *payload)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	int r;

	r = mqtt_publish_held(d->mqtt, topic, payload, p->qos, false);
	if (r < 0)
		log_warning("pin '%s': cannot publish %s: %s", p->name, payload, strerror(-r));
}

/* A Homie property value of PIN on TOPIC (NULL: Homie off or no such property): "state" is
 * "true"/"false", retained; "event" is not. */
static void daemon_homie_value(struct daemon *d, size_t pin, const char *topic, const char *value,
			       bool retain)
{
	int r;

	if (!topic || !d->connected)
		return;
	r = mqtt_publish(d->mqtt, topic, value, strlen(value), 1, retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s: %s", d->cfg->pins[pin].name, topic,
			    strerror(-r));
}

static void daemon_publish_state(struct daemon *d, size_t pin)
{
	const char *state = bridge_state_payload(bridge_pin_active(d->bridge, pin));
	char json[160];

	if (d->cfg->pins[pin].payload == CONFIG_PAYLOAD_JSON) {
		daemon_json(json, sizeof(json), "state", state, d->pins[pin].changed_ns,
			    d->pins[pin].seq);
		state = json;
	}
	daemon_publish(d, pin, d->topics->pins[pin].state, state, d->cfg->pins[pin].retain);
	daemon_homie_value(d, pin, d->topics->pins[pin].homie_state, bridge_pin_active(d->bridge, pin) ? "true" : "false",
			   true);
}

static void daemon_publish_event(struct daemon *d, size_t pin, enum bridge_event event)
{
	const char *name = bridge_event_name(event);
	char json[160];

	d->pins[pin].events++;
	log_info("pin '%s': %s press", d->cfg->pins[pin].name, name);
	if (d->cfg->pins[pin].payload == CONFIG_PAYLOAD_JSON) {
		daemon_json(json, sizeof(json), "event", name, util_clock_ns(CLOCK_REALTIME),
			    d->pins[pin].events);
		name = json;
	}
	/* Events are moments, not states: never retained. While offline they wait in mqtt.c's
	 * bounded FIFO and follow the states on connect. */
	daemon_publish_held(d, pin, d->topics->pins[pin].event, name);
	daemon_homie_value(d, pin, d->topics->pins[pin].homie_event, bridge_event_name(event), false);
}

static void daemon_state_save(struct daemon *d)
{
	bool *levels;
	int r;

	levels = calloc(d->cfg->n_pins, sizeof(*levels));
	if (!levels) {
		log_error("cannot save %s: %s", d->state_path, strerror(ENOMEM));
		return;
	}
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		levels[i] = bridge_pin_active(d->bridge, i);
	r = state_save(d->state_path, d->cfg, levels);
	free(levels);
	if (r < 0 && !d->state_failed)
		log_error("cannot save the output states to %s: %s (power_on = \"restore\" will use "
			  "older states)", d->state_path, strerror(-r));
	else if (r == 0 && d->state_failed)
		log_notice("output states saved to %s again", d->state_path);
	d->state_failed = r < 0;
}

static void daemon_timer_rearm(struct daemon *d)
{
	uint64_t deadline = bridge_next_deadline(d->bridge);
	uint64_t now = util_now_ms();

	if (deadline == BRIDGE_NO_DEADLINE)
		loop_timer_arm(d->bridge_timer, 0, 0);
	else
		loop_timer_arm(d->bridge_timer, deadline > now ? (deadline - now) * 1000ULL : 1, 0);
}

/* Carries out what the last bridge call decided. */
static void daemon_actions_run(struct daemon *d)
{
	const struct bridge_action *actions;
	bool save = false;
	size_t n;

	actions = bridge_actions(d->bridge, &n);
	for (size_t i = 0; i < n; i++) {
		const struct bridge_action *a = &actions[i];
		const struct config_pin *p = &d->cfg->pins[a->pin];
		bool level;
		int r;

		switch (a->type) {
		case BRIDGE_ACTION_SET_OUTPUT:
			r = gpio_set(d->gpio, a->pin, a->active);
			if (r < 0) {
				log_error("pin '%s': cannot drive the line %s: %s", p->name,
					  bridge_state_payload(a->active), strerror(-r));
				if (gpio_get(d->gpio, a->pin, &level) == 0)
					bridge_pin_sync(d->bridge, a->pin, level);
			}
			/* After the line changed, rounded up: an interlock wait never starts early. */
			bridge_output_driven(d->bridge, a->pin, a->active,
					     (util_clock_ns(CLOCK_MONOTONIC) + 999999ULL) / 1000000ULL);
			log_debug("pin '%s': %s", p->name, bridge_state_payload(a->active));
			d->pins[a->pin].changed_ns = util_clock_ns(CLOCK_REALTIME);
			d->pins[a->pin].seq++;
			save |= p->power_on == CONFIG_POWER_ON_RESTORE;
			break;
		case BRIDGE_ACTION_PUBLISH_STATE:
			daemon_publish_state(d, a->pin);
			break;
		case BRIDGE_ACTION_PUBLISH_EVENT:
			daemon_publish_event(d, a->pin, a->event);
			break;
		}
	}
	if (save && d->state_path[0])
		daemon_state_save(d);
	daemon_timer_rearm(d);
}

static void daemon_bridge_result(struct daemon *d, int r, const char *what)
{
	if (r == -ENOMEM)
		log_error("%s: out of memory; some actions were not carried out", what);
	daemon_actions_run(d);
}

static void daemon_on_edge(void *userdata, const struct gpio_event *ev)
{
	struct daemon *d = userdata;
	const char *name = d->cfg->pins[ev->pin].name;
	uint64_t mono = util_clock_ns(CLOCK_MONOTONIC);
	/* The kernel's timestamp, so press durations do not depend on how busy we are. */
	uint64_t ts = ev->timestamp_ns && ev->timestamp_ns <= mono ? ev->timestamp_ns : mono;

	d->edges++;
	if (ev->lost) {
		d->edges_lost += ev->lost;
		log_warning("pin '%s': %llu edges lost (the kernel's event buffer overflowed); "
			    "%llu lost since start",
			    name, (unsigned long long)ev->lost, d->edges_lost);
	}
	if (bridge_pin_active(d->bridge, ev->pin) == ev->active)
		return;
	d->pins[ev->pin].changed_ns = util_clock_ns(CLOCK_REALTIME) - (mono - ts);
	d->pins[ev->pin].seq = ev->seqno ? ev->seqno : d->pins[ev->pin].seq + 1;
	log_debug("pin '%s': %s", name, bridge_state_payload(ev->active));
	daemon_bridge_result(d, bridge_input_edge(d->bridge, ev->pin, ev->active, ts / 1000000ULL),
			     name);
}

static int daemon_on_gpio(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	int r = gpio_dispatch(d->gpio, fd, daemon_on_edge, d);

	if (r < 0) {
		log_error("cannot read GPIO events: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int daemon_on_bridge_timer(void *userdata)
{
	struct daemon *d = userdata;

	daemon_bridge_result(d, bridge_tick(d->bridge, util_now_ms()), "timer");
	return 0;
}

/* A payload as it may appear in a log line: at most 40 bytes, non-printable bytes escaped. */
static void daemon_payload_quote(const char *payload, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)payload[i];

		if (i == 40) {
			n += (size_t)snprintf(buf + n, size - n, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
}

/* A message routed (topics_route()) to PIN's set or pulse topic, or to an unknown pin. */
static void daemon_on_command(struct daemon *d, const struct mqtt_event *ev, int route,
			      const struct topics_match *m)
{
	enum bridge_command command;
	unsigned int duration_ms;
	bool pulse = route == TOPICS_ROUTE_PULSE;
	size_t pin = m->pin;
	const char *name;
	char quoted[256];
	int r;

	if (route == TOPICS_ROUTE_UNKNOWN_PIN) {
		log_warning("mqtt: command on '%s' ignored: no pin called '%.*s'", ev->topic,
			    (int)m->name_len, m->name);
		return;
	}
	name = d->cfg->pins[pin].name;
	daemon_payload_quote(ev->payload, ev->payload_len, quoted, sizeof(quoted));
	if (d->cfg->pins[pin].direction != CONFIG_DIRECTION_OUTPUT) {
		log_warning("pin '%s': command '%s' ignored: the pin is an input", name, quoted);
		return;
	}
	if (ev->retain && !d->cfg->pins[pin].accept_retained) {
		log_notice("pin '%s': retained command '%s' ignored (a stale command left on the "
			   "broker; set accept_retained = true on the pin to act on them)",
			   name, quoted);
		return;
	}
	if (pulse) {
		if (bridge_pulse_parse(ev->payload, ev->payload_len, &duration_ms) < 0) {
			log_warning("pin '%s': pulse '%s' ignored: expected milliseconds, 1 to %u",
				    name, quoted, BRIDGE_PULSE_MAX_MS);
			return;
		}
		r = bridge_output_pulse(d->bridge, pin, duration_ms, util_now_ms());
	} else {
		if (bridge_command_parse(ev->payload, ev->payload_len, &command) < 0) {
			log_warning("pin '%s': command '%s' ignored: expected ON, OFF or TOGGLE", name,
				    quoted);
			return;
		}
		r = bridge_output_command(d->bridge, pin, command, util_now_ms());
	}
	if (r == BRIDGE_OUTCOME_CHANGED)
		log_info("pin '%s': %s (%s '%s')", name,
			 bridge_state_payload(bridge_pin_active(d->bridge, pin)),
			 pulse ? "pulse" : "command", quoted);
	else if (r == BRIDGE_OUTCOME_PENDING)
		log_info("pin '%s': ON after the interlock wait (%s '%s')", name,
			 pulse ? "pulse" : "command", quoted);
	daemon_bridge_result(d, r, name);
}

static bool daemon_pin_has_state(const struct daemon *d, size_t pin)
{
	return d->cfg->pins[pin].direction == CONFIG_DIRECTION_OUTPUT ||
	       d->cfg->pins[pin].publish_state;
}

/* ---- discovery: Home Assistant and Homie 4 (the documents come from src/discovery.c) ---- */

static void daemon_messages_publish(struct daemon *d, const struct discovery_messages *list)
{
	for (size_t i = 0; i < list->n; i++) {
		const struct discovery_message *m = &list->items[i];
		int r = mqtt_publish(d->mqtt, m->topic, m->payload, strlen(m->payload), 1, m->retain,
				     NULL);

		if (r < 0 && r != -ENOTCONN)
			log_warning("mqtt: cannot publish %s: %s", m->topic, strerror(-r));
	}
}

/* Homie's homie/<device>/$state: init, ready, disconnected (lost is the Last Will). */
static void daemon_homie_state(struct daemon *d, const char *state)
{
	const char *topic = d->topics ? d->topics->homie_state : NULL;
	int r;

	if (!topic || !d->connected)
		return;
	r = mqtt_publish(d->mqtt, topic, state, strlen(state), 1, true, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("mqtt: cannot publish %s: %s", topic, strerror(-r));
}

static void daemon_discovery_subscribe(struct daemon *d)
{
	const char *patterns[2];
	int r;

	if (!d->discovery)
		return;
	patterns[0] = d->topics->ha_status;
	patterns[1] = d->topics->homie_set_pattern;
	for (size_t i = 0; i < 2; i++) {
		if (!patterns[i])
			continue;
		r = mqtt_subscribe(d->mqtt, patterns[i], d->cfg->mqtt.qos);
		if (r < 0 && r != -ENOTCONN)
			log_error("mqtt: cannot subscribe to %s: %s", patterns[i], strerror(-r));
	}
}

/* The stale documents of an earlier run are cleared, then every Home Assistant config and the
 * Homie tree ($state "init" first) are sent; the states and $state "ready" follow. The list of
 * announced topics is written once the first announcement went out. */
static void daemon_discovery_announce(struct daemon *d)
{
	struct discovery_messages list = { 0 };
	char dir[PATH_MAX];
	int r;

	if (!d->discovery)
		return;
	if (!d->discovery_saved && d->discovery_clears.n) {
		log_notice("discovery: clearing %zu retained documents of pins or features no longer "
			   "configured", d->discovery_clears.n);
		daemon_messages_publish(d, &d->discovery_clears);
	}
	r = discovery_ha_configs(d->discovery, &list);
	if (r == 0)
		r = discovery_homie_tree(d->discovery, &list);
	if (r < 0)
		log_error("discovery: cannot build the documents: %s", strerror(-r));
	daemon_messages_publish(d, &list);
	discovery_messages_clear(&list);
	if (d->discovery_saved || !d->discovery_path[0])
		return;
	/* Outside systemd nobody creates the state directory for us. */
	snprintf(dir, sizeof(dir), "%s", d->discovery_path);
	*strrchr(dir, '/') = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warning("cannot create %s: %s", dir, strerror(errno));
	r = discovery_topics_save(d->discovery_path, d->discovery_owned, d->n_discovery_owned);
	if (r < 0)
		log_warning("discovery: cannot save %s: %s (a pin removed later keeps its Home "
			    "Assistant entity until it is deleted by hand)",
			    d->discovery_path, strerror(-r));
	d->discovery_saved = r == 0;
}

/* <prefix>/status "online": Home Assistant (re)started and lost what it knew; every config and
 * then every state again. Returns whether the message was one of ours. */
static bool daemon_discovery_message(struct daemon *d, const struct mqtt_event *ev)
{
	struct discovery_messages list = { 0 };
	int r;

	if (!d->discovery ||
	    !discovery_ha_online(d->discovery, ev->topic, ev->payload, ev->payload_len))
		return false;
	/* A retained birth message comes with every subscription: the announcement on connect
	 * covered it. */
	if (ev->retain)
		return true;
	log_info("discovery: Home Assistant is online; sending every config and state again");
	r = discovery_ha_configs(d->discovery, &list);
	if (r < 0)
		log_error("discovery: cannot build the documents: %s", strerror(-r));
	daemon_messages_publish(d, &list);
	discovery_messages_clear(&list);
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (daemon_pin_has_state(d, i))
			daemon_publish_state(d, i);
	}
	return true;
}

/* The machine id, the documents, and what an earlier run announced that this one does not. */
static int daemon_discovery_setup(struct daemon *d)
{
	const char *dir = getenv("STATE_DIRECTORY");
	char id[DISCOVERY_ID_LEN + 1], host[256];
	char **previous = NULL;
	size_t n_previous = 0, len;
	int r;

	/* Nothing refers to the topics of an earlier configuration any more. */
	topics_free(d->topics);
	d->topics = NULL;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "gpio2mqtt");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	r = discovery_id_read(id);
	if (r < 0) {
		discovery_id_from_name(host, id);
		if (d->cfg->discovery.homeassistant || d->cfg->discovery.homie)
			log_warning("discovery: no machine id (%s: %s); ids derived from the hostname "
				    "'%s' instead, they change with it",
				    getenv(DISCOVERY_MACHINE_ID_ENV) ? getenv(DISCOVERY_MACHINE_ID_ENV)
								     : DISCOVERY_MACHINE_ID_FILE,
				    strerror(-r), host);
	}
	r = topics_new(&d->topics, d->cfg, id);
	if (r < 0) {
		log_error("cannot build the topics: %s", strerror(-r));
		return r;
	}
	r = discovery_new(&d->discovery, d->topics, host, GPIO2MQTT_VERSION);
	if (r == 0)
		r = discovery_topics_owned(d->discovery, &d->discovery_owned, &d->n_discovery_owned);
	if (r < 0) {
		log_error("discovery: %s", strerror(-r));
		return r;
	}

	/* The same directory as the state file: systemd's StateDirectory= wins over state_dir. */
	if (dir && dir[0])
		len = strcspn(dir, ":");
	else
		len = strlen(dir = d->cfg->state_dir);
	snprintf(d->discovery_path, sizeof(d->discovery_path), "%.*s/%s", (int)len, dir,
		 DISCOVERY_TOPICS_FILE);
	r = discovery_topics_load(d->discovery_path, &previous, &n_previous);
	if (r < 0)
		log_warning("discovery: cannot read %s: %s; documents of removed pins are not "
			    "cleared", d->discovery_path, strerror(-r));
	r = discovery_removals(previous, n_previous, d->discovery_owned, d->n_discovery_owned,
			       &d->discovery_clears);
	/* Nothing new to remember: the file is left alone (and not created when nothing is
	 * announced). */
	d->discovery_saved = d->discovery_clears.n == 0 && n_previous == d->n_discovery_owned;
	discovery_topics_free(previous, n_previous);
	if (r < 0)
		log_error("discovery: %s", strerror(-r));
	return r;
}

static void daemon_on_connected(struct daemon *d, const char *broker)
{
	static const char online[] = "online";
	const char *patterns[] = { d->topics->set_pattern, d->topics->pulse_pattern };
	int r;

	d->connected = true;
	bridge_connected_set(d->bridge, true);
	snprintf(d->broker, sizeof(d->broker), "%s", broker);
	/* Subscribe first, so a command sent right after "online" is not missed. */
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		r = mqtt_subscribe(d->mqtt, patterns[i], d->cfg->mqtt.qos);
		if (r < 0 && r != -ENOTCONN)
			log_error("mqtt: cannot subscribe to %s: %s", patterns[i], strerror(-r));
	}
	daemon_discovery_subscribe(d);
	r = mqtt_subscribe(d->mqtt, d->topics->health_get, d->cfg->mqtt.qos);
	if (r < 0 && r != -ENOTCONN)
		log_error("mqtt: cannot subscribe to %s: %s", d->topics->health_get, strerror(-r));
	r = mqtt_publish(d->mqtt, d->topics->status, online, strlen(online), 1, true, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("mqtt: cannot publish %s: %s", d->topics->status, strerror(-r));
	daemon_discovery_announce(d);
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (daemon_pin_has_state(d, i))
			daemon_publish_state(d, i);
	}
	daemon_homie_state(d, "ready"); /* after every attribute and value */
	mqtt_held_flush(d->mqtt); /* button events from while offline, after the states */
	daemon_status_update(d);
}

/* Every incoming message, routed once. */
static void daemon_on_message(struct daemon *d, const struct mqtt_event *ev)
{
	struct topics_match m;
	int route = topics_route(d->topics, ev->topic, &m);

	if (route == TOPICS_ROUTE_HEALTH_GET) {
		daemon_health_publish(d);
		return;
	}
	if (d->stopping)
		return;
	if (route == TOPICS_ROUTE_HA_STATUS)
		daemon_discovery_message(d, ev);
	else if (route == TOPICS_ROUTE_SET || route == TOPICS_ROUTE_PULSE ||
		 route == TOPICS_ROUTE_UNKNOWN_PIN)
		daemon_on_command(d, ev, route, &m);
}

static void daemon_quit(struct daemon *d)
{
	mqtt_disconnect(d->mqtt);
	loop_quit(d->loop, EXIT_SUCCESS);
}

static int daemon_on_mqtt(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	struct mqtt_event ev;
	unsigned long long dropped;

	while (mqtt_event_pop(d->mqtt, &ev) > 0) {
		switch (ev.type) {
		case MQTT_EVENT_CONNECTED:
			if (!d->stopping)
				daemon_on_connected(d, ev.broker);
			break;
		case MQTT_EVENT_DISCONNECTED:
			d->connected = false;
			bridge_connected_set(d->bridge, false);
			if (d->stopping)
				daemon_quit(d);
			else
				daemon_status_update(d);
			break;
		case MQTT_EVENT_CONNECT_FAILED:
			daemon_status_update(d);
			break;
		case MQTT_EVENT_MESSAGE:
			daemon_on_message(d, &ev);
			break;
		case MQTT_EVENT_PUBLISHED:
			if (d->stopping && ev.mid == d->offline_mid)
				daemon_quit(d);
			else if (ev.reason_code >= 0x80) /* refused: counted in STATUS= */
				daemon_status_update(d);
			break;
		}
		mqtt_event_release(&ev);
	}
	dropped = mqtt_events_dropped(d->mqtt);
	if (dropped > d->dropped_reported) {
		log_warning("mqtt: %llu incoming messages dropped: commands arrive faster than "
			    "they can be carried out",
			    dropped - d->dropped_reported);
		d->dropped_reported = dropped;
	}
	return 0;
}

/* on_exit = "off": those outputs go OFF before the lines are released (and say so while the
 * broker still listens). The state file keeps the commanded levels for power_on = "restore". */
static void daemon_outputs_exit(struct daemon *d)
{
	if (d->exited_outputs || !d->gpio || !d->bridge)
		return;
	d->exited_outputs = true;
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		const struct config_pin *p = &d->cfg->pins[i];
		int r;

		if (p->direction != CONFIG_DIRECTION_OUTPUT || p->on_exit != CONFIG_ON_EXIT_OFF ||
		    !bridge_pin_active(d->bridge, i))
			continue;
		r = gpio_set(d->gpio, i, false);
		if (r < 0) {
			log_error("pin '%s': cannot switch OFF on exit: %s", p->name, strerror(-r));
			continue;
		}
		bridge_pin_sync(d->bridge, i, false);
		d->pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
		d->pins[i].seq++;
		daemon_publish_state(d, i);
	}
}

static int daemon_on_stop_timeout(void *userdata)
{
	struct daemon *d = userdata;

	log_warning("mqtt: the broker did not acknowledge 'offline' in time; stopping anyway");
	daemon_quit(d);
	return 0;
}

static void daemon_stop(struct daemon *d, const char *why)
{
	static const char offline[] = "offline";
	int r;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping (%s)", why);
	notify_stopping();
	daemon_outputs_exit(d);
	if (!d->connected) {
		daemon_quit(d);
		return;
	}
	daemon_homie_state(d, "disconnected"); /* before "offline", whose ack ends the wait */
	r = mqtt_publish(d->mqtt, d->topics->status, offline, strlen(offline), 1, true,
			 &d->offline_mid);
	if (r < 0 || loop_add_timer(d->loop, daemon_on_stop_timeout, d, &d->stop_timer) < 0 ||
	    loop_timer_arm(d->stop_timer, STOP_TIMEOUT_USEC, 0) < 0)
		daemon_quit(d);
}

static void daemon_config_errors_log(const struct config_errors *errors)
{
	char line[1024];

	for (size_t i = 0; i < errors->n; i++) {
		config_error_format(&errors->items[i], line, sizeof(line));
		log_plain(LOG_ERR, "%s", line);
	}
}

static int daemon_mqtt_start(struct daemon *d);
static void daemon_state_path_set(struct daemon *d);

/* The GPIO event fds in the loop (they change when a reload requests a chip again). */
static int daemon_gpio_sources_add(struct daemon *d)
{
	size_t n = gpio_fd_count(d->gpio);
	int r;

	d->gpio_sources = calloc(n ? n : 1, sizeof(*d->gpio_sources));
	if (!d->gpio_sources)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = loop_add_fd(d->loop, gpio_fd(d->gpio, i), daemon_on_gpio, d,
				&d->gpio_sources[i]);
		if (r < 0)
			return r;
		d->n_gpio_sources++;
	}
	return 0;
}

static void daemon_gpio_sources_remove(struct daemon *d)
{
	for (size_t i = 0; i < d->n_gpio_sources; i++)
		loop_source_remove(d->gpio_sources[i]);
	free(d->gpio_sources);
	d->gpio_sources = NULL;
	d->n_gpio_sources = 0;
}

/* The new config's pin I was the old config's pin FROM[I], or SIZE_MAX: the same direction and
 * the same line, or else the same name (a pin moved to another line keeps its state). */
static void daemon_reload_map(const struct config *old, const struct config *cfg, size_t *from)
{
	for (size_t i = 0; i < cfg->n_pins; i++) {
		from[i] = SIZE_MAX;
		for (size_t k = 0; k < old->n_pins && from[i] == SIZE_MAX; k++) {
			if (old->pins[k].direction == cfg->pins[i].direction &&
			    config_pin_line_equal(&old->pins[k], &cfg->pins[i]))
				from[i] = k;
		}
		for (size_t k = 0; k < old->n_pins && from[i] == SIZE_MAX; k++) {
			if (old->pins[k].direction == cfg->pins[i].direction &&
			    strcmp(old->pins[k].name, cfg->pins[i].name) == 0)
				from[i] = k;
		}
	}
}

/* Applies a valid new configuration CFG (taken over on success) with as little change as
 * possible: GPIO per chip (gpio_reload(): unchanged lines untouched, outputs kept at their
 * level), a new bridge with the current levels (pulses, interlock waits and press timings in
 * progress start over), discovery documents of removed pins cleared, and a new MQTT
 * connection only when its settings changed. On failure nothing changed. */
static int daemon_reload_apply(struct daemon *d, struct config *cfg)
{
	struct config *old = d->cfg, *retire = NULL, *retire_mqtt = NULL;
	bool reconnect = !config_mqtt_connection_equal(&old->mqtt, &cfg->mqtt) ||
			 old->discovery.homie != cfg->discovery.homie;
	size_t n = cfg->n_pins ? cfg->n_pins : 1, *from;
	struct daemon_pin *pins;
	struct bridge *bridge = NULL;
	char err[1024];
	bool *levels;
	int r = -ENOMEM;

	from = calloc(n, sizeof(*from));
	levels = calloc(n, sizeof(*levels));
	pins = calloc(n, sizeof(*pins));
	if (!from || !levels || !pins)
		goto free_arrays;
	daemon_reload_map(old, cfg, from);
	/* A kept pin keeps its level; a new output starts at power_on ("restore": OFF). */
	for (size_t i = 0; i < cfg->n_pins; i++) {
		bool is_output = cfg->pins[i].direction == CONFIG_DIRECTION_OUTPUT;

		if (from[i] != SIZE_MAX)
			levels[i] = bridge_pin_active(d->bridge, from[i]);
		else
			levels[i] = is_output && cfg->pins[i].power_on == CONFIG_POWER_ON_ON;
		if (from[i] != SIZE_MAX)
			pins[i] = d->pins[from[i]];
		else
			pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
	}
	if (bridge_levels_sanitize(cfg, levels))
		log_warning("reload: more than one output of an interlock group is ON; only the "
			    "first one listed stays ON");
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (cfg->pins[i].direction == CONFIG_DIRECTION_OUTPUT)
			cfg->pins[i].initial = levels[i];
	}
	/* Should the new request fail, gpio_reload() puts the old lines back at these levels. */
	for (size_t k = 0; k < old->n_pins; k++) {
		if (old->pins[k].direction == CONFIG_DIRECTION_OUTPUT)
			old->pins[k].initial = bridge_pin_active(d->bridge, k);
	}
	r = bridge_new(&bridge, cfg, levels);
	if (r < 0) {
		log_error("reload: %s; the running configuration stays in force", strerror(-r));
		goto free_arrays;
	}
	/* Out of the loop before a chip's request (and its fd) may go away. */
	daemon_gpio_sources_remove(d);
	r = gpio_reload(d->gpio, cfg->pins, cfg->n_pins, "gpio2mqtt", err, sizeof(err));
	if (daemon_gpio_sources_add(d) < 0)
		log_error("reload: cannot watch the GPIO lines; edges are not seen until a restart");
	if (r < 0) {
		log_error("reload: %s; the running configuration stays in force", err);
		bridge_free(bridge);
		goto free_arrays;
	}
	/* From here on the new configuration is in force. */
	for (size_t i = 0; i < cfg->n_pins; i++) {
		bool level;

		if (cfg->pins[i].direction == CONFIG_DIRECTION_INPUT &&
		    gpio_get(d->gpio, i, &level) == 0)
			bridge_pin_sync(bridge, i, level);
	}
	bridge_connected_set(bridge, d->connected);
	bridge_free(d->bridge);
	d->bridge = bridge;
	free(d->pins);
	d->pins = pins;
	pins = NULL;
	d->cfg = cfg;
	if (reconnect) {
		/* Goodbye on the old topics, while the old settings are still there. */
		log_notice("reload: the MQTT connection settings changed; connecting again");
		if (d->connected) {
			daemon_homie_state(d, "disconnected");
			mqtt_publish(d->mqtt, d->topics->status, "offline", strlen("offline"), 1, true,
				     NULL);
		}
		mqtt_disconnect(d->mqtt);
		loop_source_remove(d->mqtt_source);
		d->mqtt_source = NULL;
		{
			struct health h;

			daemon_health_gather(d, &h);
			d->mqtt_before = h.mqtt;
		}
		mqtt_free(d->mqtt); /* joins the network thread: nothing reads OLD any more */
		d->mqtt = NULL;
		d->connected = false;
		bridge_connected_set(d->bridge, false);
		retire_mqtt = d->mqtt_cfg;
		d->mqtt_cfg = NULL;
		retire = old;
	} else if (d->mqtt_cfg) {
		retire = old; /* the mqtt object reads an older one still */
	} else {
		d->mqtt_cfg = old; /* the mqtt object reads its connection settings */
	}
	if (state_needed(cfg))
		daemon_state_path_set(d);

	/* Discovery: documents of pins no longer there are cleared on the next announcement. */
	discovery_free(d->discovery);
	d->discovery = NULL;
	discovery_messages_clear(&d->discovery_clears);
	discovery_topics_free(d->discovery_owned, d->n_discovery_owned);
	d->discovery_owned = NULL;
	d->n_discovery_owned = 0;
	/* Nothing refers to them any more (the old discovery documents did). */
	config_free(retire);
	config_free(retire_mqtt);
	if (daemon_discovery_setup(d) < 0)
		log_error("reload: discovery is off until a restart");

	loop_timer_arm(d->health_timer, cfg->mqtt.health_interval_s * 1000000ULL,
		       cfg->mqtt.health_interval_s * 1000000ULL);
	d->config_generation++;
	if (reconnect) {
		r = daemon_mqtt_start(d);
		if (r < 0)
			log_error("reload: cannot start MQTT: %s; restart gpio2mqtt", strerror(-r));
	} else if (d->connected) {
		char broker[sizeof(d->broker)];

		/* Subscriptions, online, discovery (clears first), every state. */
		snprintf(broker, sizeof(broker), "%s", d->broker);
		daemon_on_connected(d, broker);
	}
	daemon_timer_rearm(d);
	r = 0;

free_arrays:
	free(pins);
	free(levels);
	free(from);
	return r;
}

/* SIGHUP: the new file is read and validated; with errors the running configuration stays in
 * force, untouched; otherwise only what changed is applied (daemon_reload_apply()). */
static void daemon_reload(struct daemon *d)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	int r;

	notify_reloading();
	r = config_load(d->config_path, &cfg, &errors);
	if (r < 0) {
		daemon_config_errors_log(&errors);
		log_error("reload: %s has errors; the running configuration stays in force",
			  d->config_path);
		notify_status("reload failed: %s has errors; running the previous configuration",
			      d->config_path);
		config_free(cfg);
		config_errors_clear(&errors);
		notify_ready();
		return;
	}
	config_errors_clear(&errors);
	mqtt_config_warn(&cfg->mqtt);
	r = daemon_reload_apply(d, cfg);
	if (r < 0) {
		config_free(cfg);
		notify_status("reload failed: %s could not be applied; running the previous "
			      "configuration", d->config_path);
	} else {
		char summary[512];

		config_summary(d->cfg, summary, sizeof(summary));
		log_notice("reload: %s is valid and applied (configuration generation %llu): %s",
			   d->config_path, d->config_generation, summary);
		daemon_status_update(d);
	}
	notify_ready();
}

static int daemon_on_signal(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			daemon_stop(d, strsignal((int)si.ssi_signo));
			break;
		case SIGHUP:
			daemon_reload(d);
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The main loop runs this timer, so it is alive; the network thread must have shown a heartbeat
 * within WatchdogSec (a generous margin: a DNS lookup may block it for a while). Otherwise no
 * ping, and systemd restarts the daemon when WatchdogSec has passed. */
static int daemon_on_watchdog(void *userdata)
{
	struct daemon *d = userdata;
	uint64_t age_ms = d->mqtt ? mqtt_heartbeat_age_ms(d->mqtt) : 0;
	uint64_t limit_ms = notify_watchdog_usec() / 1000ULL;

	if (age_ms < limit_ms) {
		if (d->watchdog_withheld)
			log_notice("watchdog: the network thread runs again; pinging again");
		d->watchdog_withheld = false;
		notify_watchdog();
		return 0;
	}
	if (!d->watchdog_withheld)
		log_error("watchdog: the network thread has not run for %llu ms; no more watchdog "
			  "pings until it does (systemd restarts the daemon after WatchdogSec)",
			  (unsigned long long)age_ms);
	d->watchdog_withheld = true;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gpio2mqtt [OPTION]...\n"
		"Bridge GPIO lines to MQTT: inputs publish their state, outputs follow commands.\n"
		"\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -n, --check        check the configuration and exit (0: valid, 78: errors)\n"
		"  -v, --verbose      with --check: print the resolved configuration, every\n"
		"                     default filled in and secrets hidden\n"
		"  -d, --debug        log debug messages\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 after SIGTERM/SIGINT, 78 on configuration errors, 1 on other\n"
		"start-up errors. See gpio2mqtt(8) and gpio2mqtt.conf(5).\n",
		GPIO2MQTT_DEFAULT_CONFIG);
}

/* The state file's path (and, outside systemd, its directory created). */
static void daemon_state_path_set(struct daemon *d)
{
	const char *dir = getenv("STATE_DIRECTORY");
	size_t len;

	/* systemd's StateDirectory= wins over state_dir; it may list several, ':'-separated. */
	if (dir && dir[0]) {
		len = strcspn(dir, ":");
	} else {
		dir = d->cfg->state_dir;
		len = strlen(dir);
		/* Outside systemd nobody creates it for us. */
		snprintf(d->state_path, sizeof(d->state_path), "%s", dir);
		if (mkdir(d->state_path, 0755) < 0 && errno != EEXIST)
			log_warning("cannot create %s: %s", d->state_path, strerror(errno));
	}
	snprintf(d->state_path, sizeof(d->state_path), "%.*s/outputs.state", (int)len, dir);
}

/* power_on = "restore": the levels saved by the last run, else OFF with a warning. */
static void daemon_state_load(struct daemon *d, bool *levels)
{
	char why[256];
	int r;

	daemon_state_path_set(d);
	r = state_load(d->state_path, d->cfg, levels, why, sizeof(why));
	if (r == 0)
		log_info("output states restored from %s", d->state_path);
	else if (r == STATE_OUTCOME_MISSING)
		log_warning("%s: %s; outputs with power_on = \"restore\" start OFF", d->state_path,
			    why);
	else if (r == STATE_OUTCOME_CORRUPT)
		log_warning("%s is corrupt (%s); outputs with power_on = \"restore\" start OFF",
			    d->state_path, why);
	else
		log_warning("cannot read %s: %s; outputs with power_on = \"restore\" start OFF",
			    d->state_path, strerror(-r));
}

/* MQTT allows one Last Will per connection. With Homie on it is $state = "lost", as the
 * convention requires (Home Assistant's availability then follows $state too); <base>/status
 * says "offline" only on a clean stop then. */
static int daemon_mqtt_start(struct daemon *d)
{
	int r;

	if (d->topics->homie_state)
		r = mqtt_new(&d->mqtt, &d->cfg->mqtt, d->topics->homie_state, "lost");
	else
		r = mqtt_new(&d->mqtt, &d->cfg->mqtt, d->topics->status, "offline");
	if (r < 0)
		return r;
	mqtt_watchdog_set(d->mqtt, notify_watchdog_usec());
	r = loop_add_fd(d->loop, mqtt_event_fd(d->mqtt), daemon_on_mqtt, d, &d->mqtt_source);
	if (r < 0)
		return r;
	return mqtt_start(d->mqtt);
}

static int daemon_setup(struct daemon *d)
{
	char err[1024];
	bool *levels;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->signal_fd < 0) {
		r = -errno;
		log_error("signalfd: %s", strerror(errno));
		return r;
	}

	levels = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*levels));
	d->pins = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*d->pins));
	if (!levels || !d->pins) {
		free(levels);
		log_error("cannot start: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* The level every output is requested with, so nothing clicks at start. */
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		levels[i] = d->cfg->pins[i].initial;
	if (state_needed(d->cfg))
		daemon_state_load(d, levels);
	if (bridge_levels_sanitize(d->cfg, levels))
		log_warning("more than one output of an interlock group would start ON; only the "
			    "first one listed does");
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (d->cfg->pins[i].direction == CONFIG_DIRECTION_OUTPUT)
			d->cfg->pins[i].initial = levels[i];
		d->pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
	}

	r = gpio_open(&d->gpio, d->cfg->pins, d->cfg->n_pins, "gpio2mqtt", err, sizeof(err));
	if (r < 0) {
		free(levels);
		log_error("%s", err);
		return r;
	}
	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++)
		r = gpio_get(d->gpio, i, &levels[i]);
	if (r == 0)
		r = bridge_new(&d->bridge, d->cfg, levels);
	free(levels);
	if (r < 0) {
		log_error("cannot set up the pins: %s", strerror(-r));
		return r;
	}

	r = loop_new(&d->loop);
	if (r < 0)
		goto fail;
	r = loop_add_fd(d->loop, d->signal_fd, daemon_on_signal, d, NULL);
	if (r < 0)
		goto fail;
	r = loop_add_timer(d->loop, daemon_on_bridge_timer, d, &d->bridge_timer);
	if (r < 0)
		goto fail;
	r = daemon_gpio_sources_add(d);
	if (r < 0)
		goto fail;
	if (notify_watchdog_interval_usec()) {
		struct loop_source *timer;

		r = loop_add_timer(d->loop, daemon_on_watchdog, d, &timer);
		if (r == 0)
			r = loop_timer_arm(timer, notify_watchdog_interval_usec(),
					   notify_watchdog_interval_usec());
		if (r < 0)
			goto fail;
	}

	r = loop_add_timer(d->loop, daemon_on_health_timer, d, &d->health_timer);
	if (r == 0 && d->cfg->mqtt.health_interval_s)
		r = loop_timer_arm(d->health_timer, d->cfg->mqtt.health_interval_s * 1000000ULL,
				   d->cfg->mqtt.health_interval_s * 1000000ULL);
	if (r < 0)
		goto fail;

	r = daemon_discovery_setup(d);
	if (r < 0)
		goto fail;
	r = daemon_mqtt_start(d);
	if (r < 0)
		goto fail;
	return 0;

fail:
	log_error("cannot start: %s", strerror(-r));
	return r;
}

static void daemon_teardown(struct daemon *d)
{
	/* The network thread goes first: nothing may arrive for the lines after they are gone. */
	mqtt_free(d->mqtt);
	d->mqtt = NULL;
	d->connected = false;
	daemon_outputs_exit(d);
	loop_free(d->loop);
	gpio_close(d->gpio);
	bridge_free(d->bridge);
	free(d->pins);
	discovery_free(d->discovery);
	topics_free(d->topics);
	discovery_messages_clear(&d->discovery_clears);
	discovery_topics_free(d->discovery_owned, d->n_discovery_owned);
	free(d->gpio_sources);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	config_free(d->cfg);
	config_free(d->mqtt_cfg);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct daemon d = { .config_path = GPIO2MQTT_DEFAULT_CONFIG, .signal_fd = -1,
			    .config_generation = 1, .started_ms = util_now_ms() };
	struct config_errors errors = { 0 };
	bool check = false, debug = false, verbose = false;
	char summary[512];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:ndvVh", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'V':
			printf("gpio2mqtt %s\n", GPIO2MQTT_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gpio2mqtt: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_FAILURE;
	}
	log_init(debug ? LOG_DEBUG : LOG_INFO);

	r = config_load(d.config_path, &d.cfg, &errors);
	if (r < 0) {
		daemon_config_errors_log(&errors);
		if (errors.n == 0)
			log_error("%s: %s", d.config_path, strerror(-r));
		else
			log_plain(LOG_ERR, "%s: %zu error%s%s", d.config_path, errors.n,
				  errors.n == 1 ? "" : "s", check ? "" : "; nothing was started");
		config_errors_clear(&errors);
		return EXIT_CONFIG;
	}
	config_summary(d.cfg, summary, sizeof(summary));
	mqtt_config_warn(&d.cfg->mqtt);
	if (check) {
		if (verbose)
			config_dump(d.cfg, stdout);
		printf("configuration OK: %s\n", summary);
		config_free(d.cfg);
		return EXIT_SUCCESS;
	}

	r = daemon_setup(&d);
	if (r < 0) {
		daemon_teardown(&d);
		return EXIT_FAILURE;
	}
	log_notice("gpio2mqtt %s started: %s", GPIO2MQTT_VERSION, summary);
	notify_ready();
	daemon_status_update(&d);

	r = loop_run(d.loop);
	if (r < 0)
		log_error("main loop failed: %s", strerror(-r));
	daemon_teardown(&d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
