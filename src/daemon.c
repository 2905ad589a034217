/* SPDX-License-Identifier: MIT */
/* The running daemon (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "announce.h"
#include "build-config.h"
#include "command.h"
#include "bridge.h"
#include "cover_state.h"
#include "paths.h"
#include "gpio.h"
#include "health.h"
#include "kind.h"
#include "lights.h"
#include "log.h"
#include "loop.h"
#include "meters.h"
#include "mqtt.h"
#include "notify.h"
#include "publish.h"
#include "reload.h"
#include "restore.h"
#include "topics.h"
#include "util.h"

/* How long a stop waits for the broker to acknowledge "offline": a stop ends within 2 s
 * whatever the broker does (this, then the network thread's DISCONNECT, mqtt.c). */
#define STOP_TIMEOUT_USEC (1000000ULL)

/* What a state message carries in JSON: when the pin last changed and a sequence number. */
struct daemon_pin {
	uint64_t changed_ns; /* CLOCK_REALTIME of the last change */
	uint64_t seq;        /* inputs: the kernel's line sequence number of that edge;
			      * outputs: changes since start */
	uint64_t events;     /* button events published since start */
	bool pending;        /* its state changed and is not published yet (daemon_states_flush()) */
	int cover_logged;    /* covers: 1 + the state last logged at info level, 0: none yet */
};

struct daemon {
	const char *config_path;
	struct config *cfg;
	struct loop *loop;
	struct gpio *gpio;
	struct bridge *bridge;
	struct publish pub;        /* the connection, the configuration and its topics */
	struct topics *topics;     /* every topic of the configuration (src/topics.h) */
	struct announce announce;  /* Home Assistant and Homie (src/announce.h) */
	struct daemon_pin *pins;
	struct loop_source *stop_timer;
	struct loop_source *bridge_timer;
	uint64_t bridge_timer_at; /* its deadline (ms), BRIDGE_NO_DEADLINE while disarmed */
	char broker[300];
	struct restore restore;    /* power_on = "restore" (src/restore.h) */
	bool stopping;
	bool exited_outputs;
	bool in_batch;  /* handling one read of GPIO events: states wait for its end */
	int offline_mid;
	unsigned long long dropped_reported;
	/* <base>/health (src/health.h) */
	struct health_counters counters;
	struct loop_source *health_timer;
	bool watchdog_withheld; /* WATCHDOG=1 not sent: the network thread is stuck */
	/* Reload */
	struct loop_source **gpio_sources; /* one per gpio_fd() */
	size_t n_gpio_sources;
	struct loop_source *mqtt_source;
	struct config *mqtt_cfg; /* the older config the mqtt object still reads (its connection
				  * settings did not change since); NULL: d->cfg */
	char covers_path[PATH_MAX]; /* covers.state (src/cover_state.h); empty: no cover */
	struct meters *meters;   /* pulse counters (src/meters.h) */
	struct lights *lights; /* PWM lights (src/lights.h): pins from config_line_pins() on */
};

static void daemon_health_gather(struct daemon *d, struct health *h)
{
	health_gather(h, &d->counters, d->pub.mqtt, util_now_ms());
	if (meters_health_json(d->meters, h->counters_edges_lost,
			       sizeof(h->counters_edges_lost)) < 0)
		h->counters_edges_lost[0] = '\0'; /* too many counters to list: the sum is there */
}

static void daemon_status_update(struct daemon *d)
{
	char connection[1024] = "not connected to a broker (retrying)";
	char summary[256] = "";
	struct health h;

	if (d->pub.mqtt)
		mqtt_status(d->pub.mqtt, connection, sizeof(connection));
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
	struct health h;

	if (!d->pub.connected || d->stopping)
		return;
	daemon_health_gather(d, &h);
	publish_health(&d->pub, &h);
}

static int daemon_on_health_timer(void *userdata)
{
	struct daemon *d = userdata;

	daemon_health_publish(d);
	daemon_status_update(d);
	return 0;
}

/* ---- covers (src/cover.h): state, position, and the positions kept in covers.state ---- */

/* The position of every cover at NOW (-1: unknown), indexed like cfg->pins. */
static int *daemon_cover_positions(const struct config *cfg, const struct bridge *bridge,
				   uint64_t now)
{
	int *positions = malloc((cfg->n_pins ? cfg->n_pins : 1) * sizeof(*positions));

	for (size_t i = 0; positions && i < cfg->n_pins; i++) {
		const struct cover *c = bridge_cover(bridge, i);

		positions[i] = c && cover_position_known(c) ? (int)cover_position(c, now) : -1;
	}
	return positions;
}

/* Saved when a cover has stopped: a position in mid-travel is a guess a restart corrects. */
static void daemon_covers_save(struct daemon *d)
{
	int *positions, r;

	if (!d->covers_path[0])
		return;
	positions = daemon_cover_positions(d->cfg, d->bridge, util_now_ms());
	r = positions ? cover_state_save(d->covers_path, d->cfg, positions) : -ENOMEM;
	if (r < 0)
		log_error("cannot save %s: %s", d->covers_path, strerror(-r));
	free(positions);
}

/* Where covers.state is for the configuration in force (empty: no cover). */
static void daemon_covers_path_set(struct daemon *d)
{
	d->covers_path[0] = '\0';
	if (d->cfg->n_pins == 0 || !d->cfg->pins[d->cfg->n_pins - 1].is_cover)
		return; /* the covers come last */
	if (paths_state_file(d->cfg, "covers.state", d->covers_path, sizeof(d->covers_path)) < 0) {
		log_warning("the state directory's path is too long; cover positions are not kept");
		d->covers_path[0] = '\0';
		return;
	}
	paths_dir_create(d->covers_path);
}

/* The positions at start, from covers.state (POSITIONS indexed like cfg->pins). */
static void daemon_covers_load(struct daemon *d, int *positions)
{
	char why[256];
	int r;

	for (size_t i = 0; i < d->cfg->n_pins; i++)
		positions[i] = -1;
	daemon_covers_path_set(d);
	if (!d->covers_path[0])
		return;
	r = cover_state_load(d->covers_path, d->cfg, positions, why, sizeof(why));
	if (r == 0)
		log_info("cover positions restored from %s", d->covers_path);
	else if (r > 0)
		log_warning("%s: %s; cover positions are unknown until a full run or an end-stop",
			    d->covers_path, why);
	else
		log_warning("cannot read %s: %s; cover positions are unknown", d->covers_path,
			    strerror(-r));
}

static void daemon_publish_cover(struct daemon *d, size_t pin)
{
	const struct cover *c = bridge_cover(d->bridge, pin);

	if (!c)
		return;
	publish_cover(&d->pub, pin, cover_state_name(cover_state_get(c)),
		      cover_position(c, util_now_ms()),
		      d->cfg->pins[pin].cover.obstruction ? cover_obstructed(c) : -1);
}

/* PIN's current state, now. */
static void daemon_state_send(struct daemon *d, size_t pin)
{
	d->pins[pin].pending = false;
	if (d->cfg->pins[pin].is_cover) {
		daemon_publish_cover(d, pin);
		return;
	}
	if (d->cfg->pins[pin].light) {
		publish_light(&d->pub, pin, lights_on(d->lights, pin),
			      lights_brightness(d->lights, pin, d->cfg->pins[pin].brightness_scale),
			      lights_brightness(d->lights, pin, 100), d->pins[pin].changed_ns,
			      d->pins[pin].seq);
		return;
	}
	publish_state(&d->pub, pin, bridge_pin_active(d->bridge, pin), d->pins[pin].changed_ns,
		      d->pins[pin].seq);
}

/* The retained state is what matters: a state that cannot go out at once waits as a mark on its
 * pin, and what is published when it can is the pin's state then, so a storm of edges costs one
 * message per pin, not one per edge, and nothing grows. It cannot go out while offline (every
 * state follows on connect), within a read of GPIO events (the newest of the batch goes at its
 * end) and while the in-flight window is full (mqtt.h; MQTT_EVENT_WINDOW says when it has room).
 * Edges are counted all the same; button events are never merged (mqtt.c's FIFO). */
static void daemon_states_flush(struct daemon *d)
{
	if (!d->pub.connected || d->in_batch)
		return;
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (!d->pins[i].pending)
			continue;
		if (!mqtt_window_room(d->pub.mqtt, true))
			return;
		daemon_state_send(d, i);
	}
}

static void daemon_publish_state(struct daemon *d, size_t pin)
{
	d->pins[pin].pending = true;
	daemon_states_flush(d);
}

static void daemon_publish_event(struct daemon *d, size_t pin, enum kind_event event)
{
	d->pins[pin].events++;
	log_info("pin '%s': %s press", d->cfg->pins[pin].name, kind_event_name(event));
	publish_event(&d->pub, pin, event, util_clock_ns(CLOCK_REALTIME), d->pins[pin].events);
}

static void daemon_state_save(struct daemon *d)
{
	bool *levels = calloc(d->cfg->n_pins, sizeof(*levels));
	unsigned int *values = calloc(d->cfg->n_pins, sizeof(*values)); /* lights' brightness */

	if (!levels || !values) {
		log_error("cannot save %s: %s", d->restore.path, strerror(ENOMEM));
		free(levels);
		free(values);
		return;
	}
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		levels[i] = bridge_pin_active(d->bridge, i);
		values[i] = lights_value(d->lights, i);
	}
	restore_save_values(&d->restore, d->cfg, levels, values);
	free(levels);
	free(values);
}

static void daemon_timer_rearm(struct daemon *d)
{
	uint64_t deadline = bridge_next_deadline(d->bridge);
	uint64_t now = util_now_ms();

	if (lights_deadline(d->lights) < deadline)
		deadline = lights_deadline(d->lights);

	/* Most edges and commands leave the deadline as it was: no system call for them. */
	if (deadline == d->bridge_timer_at)
		return;
	d->bridge_timer_at = deadline;
	if (deadline == BRIDGE_NO_DEADLINE)
		loop_timer_arm(d->bridge_timer, 0, 0);
	else
		loop_timer_arm(d->bridge_timer, deadline > now ? (deadline - now) * 1000ULL : 1, 0);
}

/* Carries out what the last bridge call decided. */
static void daemon_actions_run(struct daemon *d)
{
	const struct bridge_action *actions;
	bool save = false, save_covers = false;
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
			save |= kind_of(p)->persists(p);
			break;
		case BRIDGE_ACTION_PUBLISH_STATE:
			daemon_publish_state(d, a->pin);
			break;
		case BRIDGE_ACTION_PUBLISH_EVENT:
			daemon_publish_event(d, a->pin, a->event);
			break;
		case BRIDGE_ACTION_PUBLISH_COVER:
			daemon_publish_cover(d, a->pin);
			/* A change of state at info level; the position reports of a run (every
			 * position_interval_ms) at debug level, so they do not fill the journal. */
			{
				enum cover_state state = cover_state_get(bridge_cover(d->bridge, a->pin));
				int logged = 1 + (int)state;

				log_msg(logged != d->pins[a->pin].cover_logged ? LOG_INFO : LOG_DEBUG,
					"cover '%s': %s at %u", p->name, cover_state_name(state),
					cover_position(bridge_cover(d->bridge, a->pin), util_now_ms()));
				d->pins[a->pin].cover_logged = logged;
			}
			save_covers |= !cover_moving(bridge_cover(d->bridge, a->pin));
			break;
		case BRIDGE_ACTION_COVER_OBSTRUCTION:
			if (a->active)
				log_warning("cover '%s': obstruction '%s' active: stopped; it does not "
					    "start until it clears", p->name,
					    d->cfg->pins[p->cover_obstruction].name);
			else
				log_notice("cover '%s': obstruction '%s' cleared", p->name,
					   d->cfg->pins[p->cover_obstruction].name);
			break;
		}
	}
	if (save && d->restore.path[0])
		daemon_state_save(d);
	if (save_covers)
		daemon_covers_save(d);
	daemon_timer_rearm(d);
}

/* Publishes the lights whose state changed (the bridge's level follows ON/OFF) and saves the
 * state file for those restored at start. */
static void daemon_lights_flush(struct daemon *d)
{
	bool save = false;
	size_t pin;

	if (d->cfg->n_lights == 0) /* no light: nothing to do, not even a timer to arm */
		return;
	while (lights_changed_take(d->lights, &pin)) {
		const struct config_pin *p = &d->cfg->pins[pin];

		bridge_pin_sync(d->bridge, pin, lights_on(d->lights, pin));
		d->pins[pin].changed_ns = util_clock_ns(CLOCK_REALTIME);
		d->pins[pin].seq++;
		daemon_publish_state(d, pin);
		save |= kind_of(p)->persists(p);
	}
	if (save && d->restore.path[0])
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

	/* A level read after lost edges (seqno 0) is no edge of its own: seen + lost = made. */
	if (ev->seqno)
		d->counters.edges_seen++;
	if (ev->lost) {
		d->counters.edges_lost += ev->lost;
		log_warning("pin '%s': %llu edges lost (the kernel's event buffer overflowed); "
			    "%llu lost since start",
			    name, (unsigned long long)ev->lost, d->counters.edges_lost);
	}
	if (meters_edge(d->meters, ev, ts))
		return; /* a counter's pulse (src/meters.h) */
	if (bridge_pin_active(d->bridge, ev->pin) == ev->active)
		return;
	d->pins[ev->pin].changed_ns = util_clock_ns(CLOCK_REALTIME) - (mono - ts);
	d->pins[ev->pin].seq = ev->seqno ? ev->seqno : d->pins[ev->pin].seq + 1;
	log_debug("pin '%s': %s", name, bridge_state_payload(ev->active));
	daemon_bridge_result(d, bridge_input_edge(d->bridge, ev->pin, ev->active, ts / 1000000ULL),
			     name);
	lights_edge(d->lights, ev->pin, ev->active, ts / 1000000ULL);
	daemon_lights_flush(d);
}

static int daemon_on_gpio(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	int r;

	d->in_batch = true;
	r = gpio_dispatch(d->gpio, fd, daemon_on_edge, d);
	d->in_batch = false;
	daemon_states_flush(d);
	if (r < 0) {
		log_error("cannot read GPIO events: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int daemon_on_bridge_timer(void *userdata)
{
	struct daemon *d = userdata;

	d->bridge_timer_at = BRIDGE_NO_DEADLINE; /* it fired: a one-shot timer is disarmed */
	daemon_bridge_result(d, bridge_tick(d->bridge, util_now_ms()), "timer");
	lights_tick(d->lights, util_now_ms());
	daemon_lights_flush(d);
	return 0;
}

/* A command to a PWM light: its set topic, or Homie's state/set or brightness/set. */
static void daemon_light_command(struct daemon *d, const struct mqtt_event *ev, int route,
				 const struct topics_match *m)
{
	const struct config_pin *p = &d->cfg->pins[m->pin];

	if (ev->payload_len == 0)
		return; /* a retained command cleared (see command_apply()) */
	if (route == TOPICS_ROUTE_PULSE) {
		log_warning("light '%s': a light takes no pulses; use a transition", p->name);
		return;
	}
	if (ev->retain && !p->accept_retained) {
		log_notice("light '%s': retained command ignored (set accept_retained = true on the "
			   "light to act on them)", p->name);
		return;
	}
	lights_command(d->lights, m->pin, ev->payload, ev->payload_len,
		       route == TOPICS_ROUTE_BRIGHTNESS, util_now_ms());
	daemon_lights_flush(d);
}

/* A message routed to a pin's set or pulse topic, or to an unknown pin (command.c decides). */
static void daemon_on_command(struct daemon *d, const struct mqtt_event *ev, int route,
			      const struct topics_match *m)
{
	int r;

	if (route != TOPICS_ROUTE_UNKNOWN_PIN && d->cfg->pins[m->pin].light) {
		daemon_light_command(d, ev, route, m);
		return;
	}
	r = command_apply(d->bridge, d->cfg, ev, route, m, util_now_ms());

	if (r != COMMAND_OUTCOME_IGNORED)
		daemon_bridge_result(d, r, d->cfg->pins[m->pin].name);
	command_log_applied(d->bridge, d->cfg, ev, route, m, r);
}

/* Every state (Home Assistant and openHAB expect one on every connection). */
static void daemon_states_publish(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (d->topics->pins[i].has_state)
			daemon_state_send(d, i);
	}
	meters_publish(d->meters);
}

static void daemon_on_connected(struct daemon *d, const char *broker)
{
	d->pub.connected = true;
	bridge_connected_set(d->bridge, true);
	lights_connected_set(d->lights, true);
	snprintf(d->broker, sizeof(d->broker), "%s", broker);
	/* Subscribe first, so a command sent right after "online" is not missed. */
	for (size_t i = 0; i < d->topics->n_subscriptions; i++)
		publish_subscribe(&d->pub, d->topics->subscriptions[i]);
	announce_subscribe(&d->announce, &d->pub);
	/* With Homie on, the status connection says "online" itself (daemon_mqtt_start()). */
	if (!d->topics->homie_state)
		publish_status(&d->pub, "online", NULL);
	announce_send(&d->announce, &d->pub);
	daemon_states_publish(d);
	publish_homie_state(&d->pub, "ready"); /* after every attribute and value */
	mqtt_held_flush(d->pub.mqtt); /* button events from while offline, after the states */
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
	if (route == TOPICS_ROUTE_HA_STATUS) {
		if (announce_ha_birth(&d->announce, &d->pub, ev))
			daemon_states_publish(d);
	}
	else if (route == TOPICS_ROUTE_SET &&
		 meters_command(d->meters, m.pin, ev->payload, ev->payload_len, ev->retain))
		return; /* a counter's new total or reset (src/meters.h) */
	else if (route == TOPICS_ROUTE_SET || route == TOPICS_ROUTE_PULSE ||
		 route == TOPICS_ROUTE_UNKNOWN_PIN || route == TOPICS_ROUTE_BRIGHTNESS)
		daemon_on_command(d, ev, route, &m);
}

static void daemon_quit(struct daemon *d)
{
	mqtt_disconnect(d->pub.mqtt);
	loop_quit(d->loop, EXIT_SUCCESS);
}

static int daemon_on_mqtt(void *userdata, int fd, uint32_t events)
{
	struct daemon *d = userdata;
	struct mqtt_event ev;
	unsigned long long dropped;

	while (mqtt_event_pop(d->pub.mqtt, &ev) > 0) {
		switch (ev.type) {
		case MQTT_EVENT_CONNECTED:
			if (!d->stopping)
				daemon_on_connected(d, ev.broker);
			break;
		case MQTT_EVENT_DISCONNECTED:
			d->pub.connected = false;
			bridge_connected_set(d->bridge, false);
			lights_connected_set(d->lights, false);
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
		case MQTT_EVENT_WINDOW:
			daemon_states_flush(d);
			mqtt_held_flush(d->pub.mqtt);
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
	dropped = mqtt_events_dropped(d->pub.mqtt);
	if (dropped > d->dropped_reported) {
		log_warning("mqtt: %llu incoming messages dropped: commands arrive faster than "
			    "they can be carried out (older ones go first; the newest for each "
			    "topic is kept)",
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
	lights_exit(d->lights); /* lights with on_exit = "off" go dark */
	for (size_t pin; lights_changed_take(d->lights, &pin);) {
		bridge_pin_sync(d->bridge, pin, false);
		d->pins[pin].changed_ns = util_clock_ns(CLOCK_REALTIME);
		d->pins[pin].seq++;
		daemon_state_send(d, pin); /* the last word, whatever the window */
	}
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		const struct config_pin *p = &d->cfg->pins[i];
		int r;

		if (!kind_of(p)->is_output || p->on_exit != CONFIG_ON_EXIT_OFF ||
		    !bridge_pin_active(d->bridge, i) || kind_of(p)->own_driver)
			continue;
		r = gpio_set(d->gpio, i, false);
		if (r < 0) {
			log_error("pin '%s': cannot switch OFF on exit: %s", p->name, strerror(-r));
			continue;
		}
		bridge_pin_sync(d->bridge, i, false);
		d->pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
		d->pins[i].seq++;
		daemon_state_send(d, i); /* the last word, whatever the window */
	}
}

static int daemon_on_stop_timeout(void *userdata)
{
	struct daemon *d = userdata;

	log_warning("mqtt: the broker did not acknowledge 'offline' in time; stopping anyway");
	daemon_quit(d);
	return 0;
}

void daemon_stop(struct daemon *d, const char *why)
{
	int r;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("stopping (%s)", why);
	notify_stopping();
	daemon_outputs_exit(d);
	meters_stop(d->meters); /* saved, and the totals published while the broker listens */
	if (!d->pub.connected) {
		daemon_quit(d);
		return;
	}
	publish_homie_state(&d->pub, "disconnected"); /* before "offline", whose ack ends the wait */
	r = publish_status(&d->pub, "offline", &d->offline_mid);
	if (r < 0 || loop_add_timer(d->loop, daemon_on_stop_timeout, d, &d->stop_timer) < 0 ||
	    loop_timer_arm(d->stop_timer, STOP_TIMEOUT_USEC, 0) < 0)
		daemon_quit(d);
}

static int daemon_mqtt_start(struct daemon *d);

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

/* Applies a valid new configuration CFG (taken over on success) with as little change as
 * possible: GPIO per chip (gpio_reload(): unchanged lines untouched, outputs kept at their
 * level), a new bridge with the current levels (pulses, interlock waits and press timings in
 * progress start over), discovery documents of removed pins cleared, and a new MQTT
 * connection only when its settings changed. On failure nothing changed. */
/* Before a reload: every cover in motion stops (its relays OFF, at once); returns the
 * positions then (NULL: out of memory, positions unknown after the reload). */
static int *daemon_covers_stop(struct daemon *d)
{
	uint64_t now = util_now_ms();

	for (size_t k = 0; k < d->cfg->n_pins; k++) {
		const struct cover *c = bridge_cover(d->bridge, k);

		if (!c || !cover_moving(c))
			continue;
		log_notice("cover '%s': stopped for the reload", d->cfg->pins[k].name);
		daemon_bridge_result(d, bridge_cover_command(d->bridge, k, COVER_COMMAND_STOP, 0, now),
				     d->cfg->pins[k].name);
	}
	return daemon_cover_positions(d->cfg, d->bridge, now);
}

/* After a reload: each cover of the new configuration at the position of the cover of the
 * same name before it (unknown for a new one). */
static void daemon_covers_carry(const struct config *old, const int *positions,
				const struct config *cfg, struct bridge *bridge)
{
	for (size_t i = 0; positions && i < cfg->n_pins; i++) {
		if (!cfg->pins[i].is_cover)
			continue;
		for (size_t k = 0; k < old->n_pins; k++)
			if (old->pins[k].is_cover && strcmp(old->pins[k].name, cfg->pins[i].name) == 0)
				bridge_cover_restore(bridge, i, positions[k]);
	}
}

static int daemon_reload_apply(struct daemon *d, struct config *cfg)
{
	struct config *old = d->cfg, *retire = NULL, *retire_mqtt = NULL;
	bool reconnect = !config_mqtt_connection_equal(&old->mqtt, &cfg->mqtt) ||
			 old->discovery.homie != cfg->discovery.homie;
	size_t n = cfg->n_pins ? cfg->n_pins : 1, *from;
	struct announce announce = { 0 };
	struct topics *topics = NULL;
	struct daemon_pin *pins;
	struct bridge *bridge = NULL;
	bool *levels, *old_levels;
	int *cover_positions = NULL;
	char err[1024];
	int r = -ENOMEM;

	from = calloc(n, sizeof(*from));
	levels = calloc(n, sizeof(*levels));
	pins = calloc(n, sizeof(*pins));
	old_levels = calloc(old->n_pins ? old->n_pins : 1, sizeof(*old_levels));
	if (!from || !levels || !pins || !old_levels) {
		log_error("reload: %s; the running configuration stays in force", strerror(-r));
		goto free_arrays;
	}
	/* A reload never moves a motor: a cover in motion stops first, and keeps its position. */
	cover_positions = daemon_covers_stop(d);
	for (size_t k = 0; k < old->n_pins; k++)
		old_levels[k] = bridge_pin_active(d->bridge, k);
	if (reload_plan(old, old_levels, cfg, from, levels))
		log_warning("reload: more than one output of an interlock group is ON; only the "
			    "first one listed stays ON");
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (kind_of(&cfg->pins[i])->is_output)
			cfg->pins[i].initial = levels[i];
		if (from[i] != SIZE_MAX)
			pins[i] = d->pins[from[i]];
		else
			pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
	}
	/* Should the new request fail, gpio_reload() puts the old lines back at these levels. */
	for (size_t k = 0; k < old->n_pins; k++) {
		if (kind_of(&old->pins[k])->is_output)
			old->pins[k].initial = old_levels[k];
	}
	/* The new topics and documents (announce_setup() logs why it failed). */
	r = announce_setup(&announce, cfg, &topics);
	if (r < 0) {
		log_error("reload: the running configuration stays in force");
		goto free_arrays;
	}
	r = bridge_new(&bridge, cfg, levels);
	if (r < 0) {
		log_error("reload: %s; the running configuration stays in force", strerror(-r));
		goto free_announce;
	}
	daemon_covers_carry(old, cover_positions, cfg, bridge);
	/* Out of the loop before a chip's request (and its fd) may go away. */
	daemon_gpio_sources_remove(d);
	r = gpio_reload(d->gpio, cfg->pins, config_line_pins(cfg), "gpio2mqtt", err, sizeof(err));
	if (r == 0 && lights_reload(d->lights, cfg) < 0) { /* logged there */
		r = gpio_reload(d->gpio, old->pins, config_line_pins(old), "gpio2mqtt", err,
				sizeof(err));
		snprintf(err, sizeof(err), "a light could not be started");
		r = -ENODEV;
	}
	if (daemon_gpio_sources_add(d) < 0)
		log_error("reload: cannot watch the GPIO lines; edges are not seen until a restart");
	if (r < 0) {
		log_error("reload: %s; the running configuration stays in force", err);
		bridge_free(bridge);
		goto free_announce;
	}
	/* From here on the new configuration is in force. */
	if (meters_reload(d->meters, cfg, from) < 0)
		log_error("reload: %s; the counters stop counting (their totals are saved) until "
			  "the next reload or a restart", strerror(ENOMEM));
	for (size_t i = 0; i < cfg->n_pins; i++) {
		bool level;

		if (i < config_line_pins(cfg) && !kind_of(&cfg->pins[i])->is_output &&
		    gpio_get(d->gpio, i, &level) == 0)
			bridge_pin_sync(bridge, i, level);
		if (cfg->pins[i].light)
			bridge_pin_sync(bridge, i, lights_on(d->lights, i));
	}
	bridge_connected_set(bridge, d->pub.connected);
	bridge_free(d->bridge);
	d->bridge = bridge;
	free(d->pins);
	d->pins = pins;
	pins = NULL;
	d->cfg = cfg;
	d->pub.cfg = cfg;
	daemon_covers_path_set(d);
	if (reconnect) {
		/* Goodbye on the old topics, while the old settings are still there. */
		log_notice("reload: the MQTT connection settings changed; connecting again");
		if (d->pub.connected) {
			publish_homie_state(&d->pub, "disconnected");
			publish_status(&d->pub, "offline", NULL);
		}
		mqtt_disconnect(d->pub.mqtt);
		loop_source_remove(d->mqtt_source);
		d->mqtt_source = NULL;
		{
			struct health h;

			daemon_health_gather(d, &h);
			d->counters.mqtt_before = h.mqtt;
		}
		mqtt_free(d->pub.mqtt); /* joins the network thread: nothing reads OLD any more */
		d->pub.mqtt = NULL;
		d->pub.connected = false;
		bridge_connected_set(d->bridge, false);
		retire_mqtt = d->mqtt_cfg;
		d->mqtt_cfg = NULL;
		retire = old;
	} else if (d->mqtt_cfg) {
		retire = old; /* the mqtt object reads an older one still */
	} else {
		d->mqtt_cfg = old; /* the mqtt object reads its connection settings */
	}
	restore_setup(&d->restore, cfg);

	/* Discovery: documents of pins no longer there are cleared on the next announcement. */
	announce_clear(&d->announce);
	d->announce = announce;
	announce = (struct announce){ 0 };
	topics_free(d->topics);
	d->topics = topics;
	d->pub.topics = topics;
	topics = NULL;
	/* Nothing refers to them any more (the old topics and documents did). */
	config_free(retire);
	config_free(retire_mqtt);

	loop_timer_arm(d->health_timer, cfg->mqtt.health_interval_s * 1000000ULL,
		       cfg->mqtt.health_interval_s * 1000000ULL);
	d->counters.config_generation++;
	if (reconnect) {
		daemon_mqtt_start(d); /* a failure is logged there */
	} else if (d->pub.connected) {
		char broker[sizeof(d->broker)];

		/* Subscriptions, online, discovery (clears first), every state. */
		snprintf(broker, sizeof(broker), "%s", d->broker);
		daemon_on_connected(d, broker);
	}
	daemon_lights_flush(d);
	daemon_timer_rearm(d);
	r = 0;

free_announce:
	announce_clear(&announce);
	topics_free(topics);
free_arrays:
	free(cover_positions);
	free(pins);
	free(levels);
	free(old_levels);
	free(from);
	return r;
}

/* SIGHUP: the new file is read and validated; with errors the running configuration stays in
 * force, untouched; otherwise only what changed is applied (daemon_reload_apply()). */
void daemon_reload(struct daemon *d)
{
	struct config *cfg = NULL;
	int r;

	notify_reloading();
	if (reload_config_read(d->config_path, &cfg) < 0) {
		notify_ready();
		return;
	}
	r = daemon_reload_apply(d, cfg);
	if (r < 0) {
		config_free(cfg);
		notify_status("reload failed: %s could not be applied; running the previous "
			      "configuration", d->config_path);
	} else {
		char summary[512];

		config_summary(d->cfg, summary, sizeof(summary));
		log_notice("reload: %s is valid and applied (configuration generation %llu): %s",
			   d->config_path, d->counters.config_generation, summary);
		daemon_status_update(d);
	}
	notify_ready();
}

/* The main loop runs this timer, so it is alive; the network thread must have shown a heartbeat
 * within WatchdogSec (a generous margin: a DNS lookup may block it for a while). Otherwise no
 * ping, and systemd restarts the daemon when WatchdogSec has passed. */
static int daemon_on_watchdog(void *userdata)
{
	struct daemon *d = userdata;
	uint64_t age_ms = d->pub.mqtt ? mqtt_heartbeat_age_ms(d->pub.mqtt) : 0;
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

/* MQTT allows one Last Will per connection. With Homie on, the main connection's is
 * $state = "lost", as the convention requires, and a second connection of the network thread
 * (the status connection, mqtt_presence_add()) carries <base>/status = "offline" and says
 * "online": every consumer sees a dead Pi as gone, whichever topic it watches. Every failure is
 * logged once (by mqtt.c). */
static int daemon_mqtt_start(struct daemon *d)
{
	int r;

	if (d->topics->homie_state)
		r = mqtt_new(&d->pub.mqtt, &d->cfg->mqtt, d->topics->homie_state, "lost");
	else
		r = mqtt_new(&d->pub.mqtt, &d->cfg->mqtt, d->topics->status, "offline");
	if (r == 0 && d->topics->homie_state) {
		r = mqtt_presence_add(d->pub.mqtt, d->topics->status, "online", "offline");
		if (r < 0) {
			mqtt_free(d->pub.mqtt);
			d->pub.mqtt = NULL;
		}
	}
	if (r < 0)
		return r;
	mqtt_watchdog_set(d->pub.mqtt, notify_watchdog_usec());
	r = loop_add_fd(d->loop, mqtt_event_fd(d->pub.mqtt), daemon_on_mqtt, d, &d->mqtt_source);
	if (r == 0)
		r = mqtt_start(d->pub.mqtt);
	if (r < 0)
		log_error("mqtt: cannot start the network thread: %s; restart gpio2mqtt",
			  strerror(-r));
	return r;
}

int daemon_new(struct daemon **out, struct config *cfg, const char *config_path)
{
	struct daemon *d = calloc(1, sizeof(*d));

	if (!d) {
		log_error("cannot start: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	d->config_path = config_path;
	d->cfg = cfg;
	d->pub.cfg = cfg;
	d->counters.config_generation = 1;
	d->counters.started_ms = util_now_ms();
	*out = d;
	return 0;
}

/* Every cover at its saved position, standing still (a restart never starts a motor). */
static int daemon_covers_start(struct daemon *d)
{
	int *positions = malloc((d->cfg->n_pins ? d->cfg->n_pins : 1) * sizeof(*positions));

	if (!positions) {
		log_error("cannot set up the pins: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	daemon_covers_load(d, positions);
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		if (d->cfg->pins[i].is_cover)
			bridge_cover_restore(d->bridge, i, positions[i]);
	free(positions);
	return 0;
}

int daemon_pins_open(struct daemon *d)
{
	char err[1024];
	size_t n_gpio = config_line_pins(d->cfg); /* lights and covers have no GPIO line */
	unsigned int *values; /* lights' brightness from the state file */
	bool *levels;
	int r;

	levels = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*levels));
	values = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*values));
	d->pins = calloc(d->cfg->n_pins ? d->cfg->n_pins : 1, sizeof(*d->pins));
	if (!levels || !values || !d->pins) {
		free(levels);
		free(values);
		log_error("cannot start: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* The level every output is requested with, so nothing clicks at start. */
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		levels[i] = d->cfg->pins[i].initial;
	restore_load_values(&d->restore, d->cfg, levels, values);
	if (bridge_levels_sanitize(d->cfg, levels))
		log_warning("more than one output of an interlock group would start ON; only the "
			    "first one listed does");
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (kind_of(&d->cfg->pins[i])->is_output)
			d->cfg->pins[i].initial = levels[i];
		d->pins[i].changed_ns = util_clock_ns(CLOCK_REALTIME);
	}

	r = gpio_open(&d->gpio, d->cfg->pins, n_gpio, "gpio2mqtt", err, sizeof(err));
	if (r < 0) {
		free(levels);
		free(values);
		log_error("%s", err);
		return r;
	}
	for (size_t i = 0; i < n_gpio && r == 0; i++)
		r = gpio_get(d->gpio, i, &levels[i]);
	if (r == 0 && (r = lights_open(&d->lights, d->cfg, NULL, levels, values)) < 0) {
		free(levels); /* pwm.c said why; no chip (-ENOENT) or channel (-ERANGE): exit 78 */
		free(values);
		return r;
	}
	free(values);
	for (size_t i = n_gpio; i < d->cfg->n_pins && r == 0; i++)
		levels[i] = lights_on(d->lights, i);
	if (r == 0)
		r = bridge_new(&d->bridge, d->cfg, levels);
	free(levels);
	if (r < 0)
		log_error("cannot set up the pins: %s", strerror(-r));
	else
		r = daemon_covers_start(d);
	return r;
}

int daemon_loop_open(struct daemon *d)
{
	int r;

	r = loop_new(&d->loop);
	if (r == 0)
		r = loop_add_timer(d->loop, daemon_on_bridge_timer, d, &d->bridge_timer);
	d->bridge_timer_at = BRIDGE_NO_DEADLINE;
	if (r == 0)
		r = daemon_gpio_sources_add(d);
	if (r == 0 && notify_watchdog_interval_usec()) {
		struct loop_source *timer;

		r = loop_add_timer(d->loop, daemon_on_watchdog, d, &timer);
		if (r == 0)
			r = loop_timer_arm(timer, notify_watchdog_interval_usec(),
					   notify_watchdog_interval_usec());
	}
	if (r == 0)
		r = loop_add_timer(d->loop, daemon_on_health_timer, d, &d->health_timer);
	if (r == 0)
		r = meters_new(&d->meters, d->cfg, d->loop, &d->pub); /* logs its failure */
	if (r == 0 && d->cfg->mqtt.health_interval_s)
		r = loop_timer_arm(d->health_timer, d->cfg->mqtt.health_interval_s * 1000000ULL,
				   d->cfg->mqtt.health_interval_s * 1000000ULL);
	if (r < 0)
		log_error("cannot start: %s", strerror(-r));
	return r;
}

struct loop *daemon_loop(struct daemon *d)
{
	return d->loop;
}

int daemon_announce_setup(struct daemon *d)
{
	int r = announce_setup(&d->announce, d->cfg, &d->topics);

	d->pub.topics = d->topics;
	return r;
}

int daemon_connect(struct daemon *d)
{
	return daemon_mqtt_start(d);
}

int daemon_run(struct daemon *d)
{
	char summary[512];

	config_summary(d->cfg, summary, sizeof(summary));
	log_notice("gpio2mqtt %s started: %s", GPIO2MQTT_VERSION, summary);
	notify_ready();
	daemon_status_update(d);
	/* A callback that stops the loop logged why. */
	return loop_run(d->loop);
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	/* The network thread goes first: nothing may arrive for the lines after they are gone. */
	mqtt_free(d->pub.mqtt);
	d->pub.mqtt = NULL;
	d->pub.connected = false;
	daemon_outputs_exit(d);
	meters_free(d->meters); /* saves what is unsaved */
	loop_free(d->loop);
	gpio_close(d->gpio);
	lights_close(d->lights);
	bridge_free(d->bridge);
	free(d->pins);
	announce_clear(&d->announce);
	topics_free(d->topics);
	free(d->gpio_sources);
	config_free(d->cfg);
	config_free(d->mqtt_cfg);
	free(d);
}
