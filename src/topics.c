/* SPDX-License-Identifier: MIT */
/* The MQTT topic layout (see topics.h). */
#include "topics.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "util.h"

/* NAME as an id of the characters in VALID (a Homie id: LOWER as well, and no SEP at either
 * end): the name itself when it is one, else the name with every other byte as SEP (runs
 * merged) and SEP + 6 hex digits of the name's hash ("pin" + SEP + hash for an empty rest). */
static char *topics_id(const char *name, const char *valid, char sep, bool lower)
{
	size_t len = strlen(name), o = 0;
	uint64_t h;
	char *id;

	if (len > 0 && strspn(name, valid) == len && (!lower || (name[0] != sep &&
								 name[len - 1] != sep)))
		return strdup(name);
	id = malloc(len + 16);
	if (!id)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x80 && (isalnum(c) || (!lower && (c == '-' || c == '_'))))
			id[o++] = lower ? (char)tolower(c) : (char)c;
		else if (o > 0 && id[o - 1] != sep)
			id[o++] = sep;
	}
	while (o > 0 && id[o - 1] == sep)
		o--;
	h = util_fnv1a(name, len, UTIL_FNV1A_OFFSET);
	snprintf(id + o, 16, "%s%c%06llx", o ? "" : "pin", sep, (unsigned long long)(h & 0xffffff));
	return id;
}

/* A Home Assistant object id ([A-Za-z0-9_-]) and a Homie id (a-z, 0-9, '-', not starting or
 * ending with '-'). */
static char *topics_object_id_make(const char *name)
{
	return topics_id(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
			 '_', false);
}

static char *topics_node_id_make(const char *name)
{
	return topics_id(name, "abcdefghijklmnopqrstuvwxyz0123456789-", '-', true);
}

/* A cover's position: <base>/<name>/position, and Homie's settable position property. */
static int topics_cover_build(struct topics *t, size_t i)
{
	struct topics_pin *tp = &t->pins[i];

	if (!t->cfg->pins[i].is_cover)
		return 0;
	tp->position = util_printf("%s/%s/position", t->cfg->mqtt.base_topic, t->cfg->pins[i].name);
	if (!tp->position)
		return -ENOMEM;
	if (!t->homie_base)
		return 0;
	tp->homie_position = util_printf("%s/%s/position", t->homie_base, tp->node_id);
	tp->homie_position_set = util_printf("%s/%s/position/set", t->homie_base, tp->node_id);
	/* Its commands go to a "command" property: its state property is not settable. */
	free(tp->homie_set);
	tp->homie_set = util_printf("%s/%s/command/set", t->homie_base, tp->node_id);
	return tp->homie_position && tp->homie_position_set && tp->homie_set ? 0 : -ENOMEM;
}

/* A PWM light's brightness topics (src/kind_light.c); nothing for other kinds. */
static int topics_light_build(struct topics *t, struct topics_pin *tp, const struct pin_kind *kind)
{
	if (!kind->own_driver)
		return 0;
	tp->brightness = util_printf("%s/brightness", tp->state);
	if (!tp->brightness)
		return -ENOMEM;
	if (!t->homie_base)
		return 0;
	tp->homie_brightness = util_printf("%s/%s/brightness", t->homie_base, tp->node_id);
	tp->homie_brightness_set = util_printf("%s/%s/brightness/set", t->homie_base, tp->node_id);
	return tp->homie_brightness && tp->homie_brightness_set ? 0 : -ENOMEM;
}

/* The topics of a kind of its own (lights, covers); nothing for the other kinds. */
static int topics_kind_build(struct topics *t, size_t i, const struct pin_kind *kind)
{
	int r = topics_light_build(t, &t->pins[i], kind);

	return r < 0 ? r : topics_cover_build(t, i);
}

static int topics_pin_build(struct topics *t, size_t i)
{
	const struct config_pin *p = &t->cfg->pins[i];
	const char *base = t->cfg->mqtt.base_topic;
	struct topics_pin *tp = &t->pins[i];

	const struct pin_kind *kind = kind_of(p);

	tp->has_state = kind->has_state(p);
	tp->has_event = kind->has_events;
	tp->commands = kind->is_output || p->is_cover;
	tp->state = util_printf("%s/%s", base, p->name);
	tp->set = util_printf("%s/%s/set", base, p->name);
	tp->pulse = util_printf("%s/%s/pulse", base, p->name);
	tp->event = util_printf("%s/%s/event", base, p->name);
	tp->object_id = topics_object_id_make(p->name);
	tp->node_id = topics_node_id_make(p->name);
	if (!tp->state || !tp->set || !tp->pulse || !tp->event || !tp->object_id || !tp->node_id)
		return -ENOMEM;
	if (kind->is_counter) {
		tp->rate = util_printf("%s/%s/rate", base, p->name);
		if (!tp->rate)
			return -ENOMEM;
		if (t->homie_base) {
			tp->homie_total = util_printf("%s/%s/total", t->homie_base, tp->node_id);
			tp->homie_rate = util_printf("%s/%s/rate", t->homie_base, tp->node_id);
			if (!tp->homie_total || !tp->homie_rate)
				return -ENOMEM;
		}
	}
	if (!t->homie_base)
		return topics_kind_build(t, i, kind);
	if (tp->has_state) {
		tp->homie_state = util_printf("%s/%s/state", t->homie_base, tp->node_id);
		if (!tp->homie_state)
			return -ENOMEM;
	}
	if (tp->has_event) {
		tp->homie_event = util_printf("%s/%s/event", t->homie_base, tp->node_id);
		if (!tp->homie_event)
			return -ENOMEM;
	}
	if (tp->commands) {
		tp->homie_set = util_printf("%s/%s/state/set", t->homie_base, tp->node_id);
		if (!tp->homie_set)
			return -ENOMEM;
	}
	return topics_kind_build(t, i, kind);
}

/* The command subscriptions (struct topics): pointers into the topics built above. */
static int topics_subscriptions_build(struct topics *t)
{
	t->subscriptions = calloc(2 * t->n_pins + 1, sizeof(*t->subscriptions));
	if (!t->subscriptions)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_pins; i++) {
		t->subscriptions[t->n_subscriptions++] = t->pins[i].set;
		if (t->pins[i].commands)
			t->subscriptions[t->n_subscriptions++] = t->pins[i].pulse;
	}
	t->subscriptions[t->n_subscriptions++] = t->health_get;
	return 0;
}

int topics_new(struct topics **out, const struct config *cfg, const char *id)
{
	const char *base = cfg->mqtt.base_topic;
	struct topics *t;
	int r = -ENOMEM;

	if (!id || strlen(id) != TOPICS_ID_LEN || strspn(id, "0123456789abcdef") != TOPICS_ID_LEN)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->cfg = cfg;
	t->n_pins = cfg->n_pins;
	snprintf(t->ha_node, sizeof(t->ha_node), "gpio2mqtt_%s", id);
	snprintf(t->homie_device, sizeof(t->homie_device), "gpio2mqtt-%s", id);
	t->status = util_printf("%s/status", base);
	t->health = util_printf("%s/health", base);
	t->health_get = util_printf("%s/health/get", base);
	t->pins = calloc(cfg->n_pins ? cfg->n_pins : 1, sizeof(*t->pins));
	if (!t->status || !t->health || !t->health_get || !t->pins)
		goto free_topics;
	if (cfg->discovery.homeassistant) {
		t->ha_status = strdup(cfg->discovery.birth_topic ? cfg->discovery.birth_topic
								 : TOPICS_HA_BIRTH_DEFAULT);
		if (!t->ha_status)
			goto free_topics;
	}
	if (cfg->discovery.homie) {
		t->homie_base = util_printf(TOPICS_HOMIE_ROOT "/%s", t->homie_device);
		t->homie_state = util_printf(TOPICS_HOMIE_ROOT "/%s/$state", t->homie_device);
		if (!t->homie_base || !t->homie_state)
			goto free_topics;
	}
	for (size_t i = 0; i < cfg->n_pins; i++) {
		r = topics_pin_build(t, i);
		if (r < 0)
			goto free_topics;
	}
	r = topics_subscriptions_build(t);
	if (r < 0)
		goto free_topics;
	*out = t;
	return 0;

free_topics:
	topics_free(t);
	return r;
}

void topics_free(struct topics *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->pins && i < t->n_pins; i++) {
		struct topics_pin *tp = &t->pins[i];

		free(tp->state);
		free(tp->set);
		free(tp->pulse);
		free(tp->event);
		free(tp->object_id);
		free(tp->node_id);
		free(tp->homie_state);
		free(tp->homie_event);
		free(tp->homie_set);
		free(tp->position);
		free(tp->homie_position);
		free(tp->homie_position_set);
		free(tp->rate);
		free(tp->homie_total);
		free(tp->homie_rate);
		free(tp->brightness);
		free(tp->homie_brightness);
		free(tp->homie_brightness_set);
	}
	free(t->pins);
	free(t->status);
	free(t->health);
	free(t->health_get);
	free(t->subscriptions);
	free(t->ha_status);
	free(t->homie_base);
	free(t->homie_state);
	free(t);
}

const char *topics_object_id(const struct topics *t, size_t pin)
{
	return pin < t->n_pins ? t->pins[pin].object_id : NULL;
}

const char *topics_node_id(const struct topics *t, size_t pin)
{
	return pin < t->n_pins ? t->pins[pin].node_id : NULL;
}

int topics_homie_value(const struct topics *t, size_t pin, const char *property, char *buf,
		       size_t size)
{
	const char *topic = NULL;
	int n;

	if (pin < t->n_pins && strcmp(property, "state") == 0)
		topic = t->pins[pin].homie_state;
	else if (pin < t->n_pins && strcmp(property, "event") == 0)
		topic = t->pins[pin].homie_event;
	if (!topic)
		return TOPICS_OUTCOME_NONE;
	n = snprintf(buf, size, "%s", topic);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

char *topics_ha_config(const struct topics *t, size_t pin, const char *component)
{
	return util_printf("%s/%s/%s/%s/config", t->cfg->discovery.prefix, component, t->ha_node,
			     t->pins[pin].object_id);
}

char *topics_ha_device_config(const struct topics *t, const char *component,
			      const char *object_id)
{
	return util_printf("%s/%s/%s/%s/config", t->cfg->discovery.prefix, component, t->ha_node,
			   object_id);
}

char *topics_homie_attr(const struct topics *t, size_t pin, const char *property,
			const char *attr)
{
	if (pin == SIZE_MAX)
		return util_printf("%s/%s", t->homie_base, attr);
	if (!property)
		return util_printf("%s/%s/%s", t->homie_base, t->pins[pin].node_id, attr);
	return util_printf("%s/%s/%s/%s", t->homie_base, t->pins[pin].node_id, property, attr);
}

/* TOPIC is "<BASE>/<level><SUFFIX>" with one level: points at it. */
static bool topics_level(const char *base, const char *topic, const char *suffix,
			 const char **level, size_t *len)
{
	size_t base_len = strlen(base), topic_len = strlen(topic), suffix_len = strlen(suffix);
	const char *start, *end;

	if (topic_len < base_len + 1 + 1 + suffix_len ||
	    strncmp(topic, base, base_len) != 0 || topic[base_len] != '/' ||
	    strcmp(topic + topic_len - suffix_len, suffix) != 0)
		return false;
	start = topic + base_len + 1;
	end = topic + topic_len - suffix_len;
	if (memchr(start, '/', (size_t)(end - start)))
		return false;
	*level = start;
	*len = (size_t)(end - start);
	return true;
}

bool topics_pin_find(const struct topics *t, const char *name, size_t len, size_t *pin)
{
	for (size_t i = 0; i < t->n_pins; i++) {
		if (strlen(t->cfg->pins[i].name) == len && memcmp(t->cfg->pins[i].name, name, len) == 0) {
			*pin = i;
			return true;
		}
	}
	return false;
}

int topics_route(const struct topics *t, const char *topic, struct topics_match *m)
{
	const char *level;
	size_t len;

	if (strcmp(topic, t->health_get) == 0)
		return TOPICS_ROUTE_HEALTH_GET;
	if (t->ha_status && strcmp(topic, t->ha_status) == 0)
		return TOPICS_ROUTE_HA_STATUS;
	if (t->homie_base && topics_level(t->homie_base, topic, "/brightness/set", &level, &len)) {
		for (size_t i = 0; i < t->n_pins; i++) {
			const char *node = t->pins[i].node_id;

			if (t->pins[i].homie_brightness_set && strlen(node) == len &&
			    memcmp(node, level, len) == 0) {
				m->pin = i;
				m->name = t->cfg->pins[i].name;
				m->name_len = strlen(m->name);
				return TOPICS_ROUTE_BRIGHTNESS;
			}
		}
	}
	if (t->homie_base && topics_level(t->homie_base, topic, "/state/set", &level, &len)) {
		for (size_t i = 0; i < t->n_pins; i++) {
			const char *node = t->pins[i].node_id;

			if (t->pins[i].commands && strlen(node) == len && memcmp(node, level, len) == 0) {
				m->pin = i;
				m->name = t->cfg->pins[i].name;
				m->name_len = strlen(m->name);
				return TOPICS_ROUTE_SET;
			}
		}
	}
	if (t->homie_base && (topics_level(t->homie_base, topic, "/position/set", &level, &len) ||
			      topics_level(t->homie_base, topic, "/command/set", &level, &len))) {
		for (size_t i = 0; i < t->n_pins; i++) {
			const char *node = t->pins[i].node_id;

			if (t->pins[i].homie_position_set && strlen(node) == len &&
			    memcmp(node, level, len) == 0) {
				m->pin = i;
				m->name = t->cfg->pins[i].name;
				m->name_len = strlen(m->name);
				return TOPICS_ROUTE_SET;
			}
		}
	}
	if (topics_level(t->cfg->mqtt.base_topic, topic, "/set", &m->name, &m->name_len))
		return topics_pin_find(t, m->name, m->name_len, &m->pin) ? TOPICS_ROUTE_SET
									   : TOPICS_ROUTE_UNKNOWN_PIN;
	if (topics_level(t->cfg->mqtt.base_topic, topic, "/pulse", &m->name, &m->name_len))
		return topics_pin_find(t, m->name, m->name_len, &m->pin) ? TOPICS_ROUTE_PULSE
									   : TOPICS_ROUTE_UNKNOWN_PIN;
	return TOPICS_ROUTE_NONE;
}
