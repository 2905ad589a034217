/* SPDX-License-Identifier: MIT */
#include "publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "discovery.h"
#include "log.h"

/* {"state":"ON","time":"2026-11-26T10:56:50.123456789Z","seq":7}. Written by hand rather than
 * with cJSON (as discovery.c does): cJSON keeps numbers as doubles, and SEQ is 64 bits. */
static void publish_json(char *buf, size_t size, const char *key, const char *value,
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

/* A Homie property value of PIN on TOPIC (NULL: Homie off or no such property): "state" is
 * "true"/"false", retained; "event" is not. */
static void publish_homie_value(const struct publish *p, size_t pin, const char *topic,
				const char *value, bool retain)
{
	int r;

	if (!topic || !p->connected)
		return;
	r = mqtt_publish(p->mqtt, topic, value, strlen(value), 1, retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s: %s", p->cfg->pins[pin].name, topic,
			    strerror(-r));
}

void publish_state(const struct publish *p, size_t pin, bool active, uint64_t changed_ns,
		   uint64_t seq)
{
	const struct config_pin *cp = &p->cfg->pins[pin];
	const char *state = bridge_state_payload(active);
	char json[160];
	int r;

	/* While offline the bridge holds the latest states; they are published on connect. */
	if (!p->connected)
		return;
	if (cp->payload == CONFIG_PAYLOAD_JSON) {
		publish_json(json, sizeof(json), "state", state, changed_ns, seq);
		state = json;
	}
	r = mqtt_publish(p->mqtt, p->topics->pins[pin].state, state, strlen(state), cp->qos,
			 cp->retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s: %s", cp->name, state, strerror(-r));
	publish_homie_value(p, pin, p->topics->pins[pin].homie_state, active ? "true" : "false",
			    true);
}

void publish_cover(const struct publish *p, size_t pin, const char *state, unsigned int position,
		   int obstruction)
{
	const struct config_pin *cp = &p->cfg->pins[pin];
	const struct topics_pin *tp = &p->topics->pins[pin];
	char json[96], number[16];
	const char *payload = state;
	int r;

	if (!p->connected)
		return;
	snprintf(number, sizeof(number), "%u", position);
	if (cp->payload == CONFIG_PAYLOAD_JSON) {
		snprintf(json, sizeof(json), "{\"state\":\"%s\",\"position\":%u%s}", state, position,
			 obstruction < 0 ? "" : obstruction ? ",\"obstruction\":true"
							    : ",\"obstruction\":false");
		payload = json;
	}
	r = mqtt_publish(p->mqtt, tp->state, payload, strlen(payload), cp->qos, cp->retain, NULL);
	if (r == 0)
		r = mqtt_publish(p->mqtt, tp->position, number, strlen(number), cp->qos, cp->retain,
				 NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("cover '%s': cannot publish %s: %s", cp->name, payload, strerror(-r));
	publish_homie_value(p, pin, tp->homie_state, state, true);
	publish_homie_value(p, pin, tp->homie_position, number, true);
}

void publish_light(const struct publish *p, size_t pin, bool on, unsigned int brightness,
		   unsigned int percent, uint64_t changed_ns, uint64_t seq)
{
	const struct config_pin *cp = &p->cfg->pins[pin];
	const struct topics_pin *tp = &p->topics->pins[pin];
	char json[200], number[16], tail[160];
	const char *state = bridge_state_payload(on);
	int r;

	if (!p->connected)
		return;
	snprintf(number, sizeof(number), "%u", brightness);
	if (cp->payload == CONFIG_PAYLOAD_JSON) {
		/* {"state":"ON","time":...} with the brightness after the state */
		publish_json(tail, sizeof(tail), "state", state, changed_ns, seq);
		snprintf(json, sizeof(json), "{\"state\":\"%s\",\"brightness\":%u,%s", state,
			 brightness, tail + strlen("{\"state\":\"\",") + strlen(state));
		state = json;
	} else {
		r = mqtt_publish(p->mqtt, tp->brightness, number, strlen(number), cp->qos,
				 cp->retain, NULL);
		if (r < 0 && r != -ENOTCONN)
			log_warning("pin '%s': cannot publish brightness %s: %s", cp->name, number,
				    strerror(-r));
	}
	r = mqtt_publish(p->mqtt, tp->state, state, strlen(state), cp->qos, cp->retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s: %s", cp->name, state, strerror(-r));
	publish_homie_value(p, pin, tp->homie_state, on ? "true" : "false", true);
	snprintf(number, sizeof(number), "%u", percent);
	publish_homie_value(p, pin, tp->homie_brightness, number, true);
}

void publish_event(const struct publish *p, size_t pin, enum kind_event event, uint64_t time_ns,
		   uint64_t seq)
{
	const struct config_pin *cp = &p->cfg->pins[pin];
	const char *name = kind_event_name(event);
	char json[160];
	int r;

	if (cp->payload == CONFIG_PAYLOAD_JSON) {
		publish_json(json, sizeof(json), "event", name, time_ns, seq);
		name = json;
	}
	/* Events are moments, not states: never retained. While offline they wait in mqtt.c's
	 * bounded FIFO and follow the states on connect. */
	r = mqtt_publish_held(p->mqtt, p->topics->pins[pin].event, name, cp->qos, false);
	if (r < 0)
		log_warning("pin '%s': cannot publish %s: %s", cp->name, name, strerror(-r));
	publish_homie_value(p, pin, p->topics->pins[pin].homie_event,
			    discovery_homie_event_word(p->cfg, event),
			    false);
}

/* Publishes and logs a failure (not being connected is none). */
static int publish_one(const struct publish *p, const char *topic, const char *payload, int qos,
		       bool retain, int *mid)
{
	int r = mqtt_publish(p->mqtt, topic, payload, strlen(payload), qos, retain, mid);

	if (r < 0 && r != -ENOTCONN)
		log_warning("mqtt: cannot publish %s: %s", topic, strerror(-r));
	return r;
}

int publish_status(const struct publish *p, const char *status, int *mid)
{
	return publish_one(p, p->topics->status, status, 1, true, mid);
}

void publish_homie_state(const struct publish *p, const char *state)
{
	if (!p->topics || !p->topics->homie_state || !p->connected)
		return;
	publish_one(p, p->topics->homie_state, state, 1, true, NULL);
}

void publish_health(const struct publish *p, const struct health *h)
{
	char json[1024];
	int r;

	/* Not while the in-flight window is full: the next report will be fresher. */
	if (!p->connected || !mqtt_window_room(p->mqtt, false))
		return;
	r = health_json(h, json, sizeof(json));
	if (r < 0)
		log_warning("mqtt: cannot publish %s: %s", p->topics->health, strerror(-r));
	else
		publish_one(p, p->topics->health, json, p->cfg->mqtt.qos, false, NULL);
}

void publish_messages(const struct publish *p, const struct discovery_messages *list)
{
	for (size_t i = 0; i < list->n; i++)
		publish_one(p, list->items[i].topic, list->items[i].payload, 1, list->items[i].retain,
			    NULL);
}

void publish_subscribe(const struct publish *p, const char *pattern)
{
	int r;

	if (!pattern)
		return;
	r = mqtt_subscribe(p->mqtt, pattern, p->cfg->mqtt.qos);
	if (r < 0 && r != -ENOTCONN)
		log_error("mqtt: cannot subscribe to %s: %s", pattern, strerror(-r));
}

void publish_text(const struct publish *p, size_t pin, const char *topic, const char *payload,
		  bool homie)
{
	const struct config_pin *cp = &p->cfg->pins[pin];
	int r;

	if (!topic || !p->connected)
		return;
	r = mqtt_publish(p->mqtt, topic, payload, strlen(payload), homie ? 1 : cp->qos,
			 homie ? true : cp->retain, NULL);
	if (r < 0 && r != -ENOTCONN)
		log_warning("pin '%s': cannot publish %s on %s: %s", cp->name, payload, topic,
			    strerror(-r));
}
