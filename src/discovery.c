/* SPDX-License-Identifier: MIT */
/* Home Assistant discovery and the Homie 4 tree: configuration in, messages out (see
 * discovery.h). */
#include "discovery.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* GPIO2MQTT_URL, where Home Assistant's "origin" block points, is the meson option project_url. */
#include "build-config.h"
#include "file.h"

#define DISCOVERY_FNV_OFFSET 0xcbf29ce484222325ULL
#define DISCOVERY_FNV_PRIME 0x100000001b3ULL
#define DISCOVERY_TOPICS_MAGIC "# gpio2mqtt discovery topics v1\n"

struct discovery {
	const struct config *cfg;
	char *name;
	char *version;
	char ha_node[sizeof("gpio2mqtt_") + DISCOVERY_ID_LEN];
	char homie_device[sizeof("gpio2mqtt-") + DISCOVERY_ID_LEN];
	char **object_ids; /* per pin */
	char **node_ids;   /* per pin */
	char *base_status; /* <base>/status */
	char *ha_status;   /* <prefix>/status, or NULL */
	char *homie_base;  /* homie/<device>, or NULL */
	char *homie_state; /* homie/<device>/$state, or NULL */
	char *homie_set;   /* homie/<device>/+/+/set, or NULL */
};

/* ---- small helpers ---------------------------------------------------------------------- */

static uint64_t discovery_fnv1a(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= DISCOVERY_FNV_PRIME;
	}
	return h;
}

static char *discovery_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *discovery_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

void discovery_messages_clear(struct discovery_messages *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++) {
		free(list->items[i].topic);
		free(list->items[i].payload);
	}
	free(list->items);
	*list = (struct discovery_messages){ 0 };
}

/* Appends one message; takes TOPIC and PAYLOAD (freed on failure). */
static int discovery_messages_take(struct discovery_messages *list, char *topic, char *payload,
				   bool retain)
{
	if (!topic || !payload)
		goto free_strings;
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 32;
		struct discovery_message *items = realloc(list->items, cap * sizeof(*items));

		if (!items)
			goto free_strings;
		list->items = items;
		list->cap = cap;
	}
	list->items[list->n++] = (struct discovery_message){
		.topic = topic,
		.payload = payload,
		.retain = retain,
	};
	return 0;

free_strings:
	free(topic);
	free(payload);
	return -ENOMEM;
}

/* Appends a retained message on "<homie base><suffix>". */
static int discovery_homie_add(const struct discovery *d, struct discovery_messages *out,
			       const char *suffix, const char *payload)
{
	return discovery_messages_take(out, discovery_printf("%s%s", d->homie_base, suffix),
				       strdup(payload), true);
}

/* ---- ids -------------------------------------------------------------------------------- */

int discovery_id_derive(const char *machine_id, char out[DISCOVERY_ID_LEN + 1])
{
	static const char salt[] = "gpio2mqtt:";
	char lower[33];
	size_t n = 0;
	uint64_t h;

	if (!machine_id)
		return -EINVAL;
	while (isspace((unsigned char)*machine_id))
		machine_id++;
	for (; *machine_id && !isspace((unsigned char)*machine_id); machine_id++) {
		if (n == 32 || !isxdigit((unsigned char)*machine_id))
			return -EINVAL;
		lower[n++] = (char)tolower((unsigned char)*machine_id);
	}
	while (isspace((unsigned char)*machine_id))
		machine_id++;
	if (n != 32 || *machine_id)
		return -EINVAL;
	lower[n] = '\0';
	h = discovery_fnv1a(salt, strlen(salt), DISCOVERY_FNV_OFFSET);
	h = discovery_fnv1a(lower, n, h);
	snprintf(out, DISCOVERY_ID_LEN + 1, "%016llx", (unsigned long long)h);
	return 0;
}

void discovery_id_from_name(const char *name, char out[DISCOVERY_ID_LEN + 1])
{
	static const char salt[] = "gpio2mqtt-host:";
	uint64_t h = discovery_fnv1a(salt, strlen(salt), DISCOVERY_FNV_OFFSET);

	h = discovery_fnv1a(name, strlen(name), h);
	snprintf(out, DISCOVERY_ID_LEN + 1, "%016llx", (unsigned long long)h);
}

/* A Home Assistant object id ([A-Za-z0-9_-]): the name itself when it is one, else the name
 * with every other byte as '_' (runs merged) and "_" + 6 hex digits of the name's hash. */
static char *discovery_object_id(const char *name)
{
	size_t len = strlen(name), o = 0;
	uint64_t h;
	char *id;

	if (len > 0 && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-") == len)
		return strdup(name);
	id = malloc(len + 16);
	if (!id)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x80 && (isalnum(c) || c == '-' || c == '_'))
			id[o++] = (char)c;
		else if (o > 0 && id[o - 1] != '_')
			id[o++] = '_';
	}
	while (o > 0 && id[o - 1] == '_')
		o--;
	h = discovery_fnv1a(name, len, DISCOVERY_FNV_OFFSET);
	snprintf(id + o, 16, "%s%06llx", o ? "_" : "pin_", (unsigned long long)(h & 0xffffff));
	return id;
}

/* A Homie id (a-z, 0-9, '-', not starting or ending with '-'): the name itself when it is one,
 * else the name lowercased with every other byte as '-' (runs merged) and "-" + 6 hex digits of
 * the name's hash. */
static char *discovery_node_id(const char *name)
{
	size_t len = strlen(name), o = 0;
	uint64_t h;
	char *id;

	if (len > 0 && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len &&
	    name[0] != '-' && name[len - 1] != '-')
		return strdup(name);
	id = malloc(len + 16);
	if (!id)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x80 && isalnum(c))
			id[o++] = (char)tolower(c);
		else if (o > 0 && id[o - 1] != '-')
			id[o++] = '-';
	}
	while (o > 0 && id[o - 1] == '-')
		o--;
	h = discovery_fnv1a(name, len, DISCOVERY_FNV_OFFSET);
	snprintf(id + o, 16, "%s%06llx", o ? "-" : "pin-", (unsigned long long)(h & 0xffffff));
	return id;
}

static bool discovery_pin_has_state(const struct config_pin *p)
{
	return p->direction == CONFIG_DIRECTION_OUTPUT || p->publish_state;
}

static bool discovery_pin_has_event(const struct config_pin *p)
{
	return p->direction == CONFIG_DIRECTION_INPUT && p->mode == CONFIG_INPUT_MODE_BUTTON;
}

int discovery_new(struct discovery **out, const struct config *cfg, const char *id,
		  const char *name, const char *version)
{
	struct discovery *d;

	if (!id || strlen(id) != DISCOVERY_ID_LEN ||
	    strspn(id, "0123456789abcdef") != DISCOVERY_ID_LEN)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = cfg;
	snprintf(d->ha_node, sizeof(d->ha_node), "gpio2mqtt_%s", id);
	snprintf(d->homie_device, sizeof(d->homie_device), "gpio2mqtt-%s", id);
	d->name = strdup(name && *name ? name : "gpio2mqtt");
	d->version = strdup(version ? version : "");
	d->object_ids = calloc(cfg->n_pins ? cfg->n_pins : 1, sizeof(*d->object_ids));
	d->node_ids = calloc(cfg->n_pins ? cfg->n_pins : 1, sizeof(*d->node_ids));
	d->base_status = discovery_printf("%s/status", cfg->mqtt.base_topic);
	if (!d->name || !d->version || !d->object_ids || !d->node_ids || !d->base_status)
		goto free_discovery;
	for (size_t i = 0; i < cfg->n_pins; i++) {
		d->object_ids[i] = discovery_object_id(cfg->pins[i].name);
		d->node_ids[i] = discovery_node_id(cfg->pins[i].name);
		if (!d->object_ids[i] || !d->node_ids[i])
			goto free_discovery;
	}
	if (cfg->discovery.homeassistant) {
		d->ha_status = discovery_printf("%s/status", cfg->discovery.prefix);
		if (!d->ha_status)
			goto free_discovery;
	}
	if (cfg->discovery.homie) {
		d->homie_base = discovery_printf(DISCOVERY_HOMIE_ROOT "/%s", d->homie_device);
		d->homie_state = discovery_printf(DISCOVERY_HOMIE_ROOT "/%s/$state", d->homie_device);
		d->homie_set = discovery_printf(DISCOVERY_HOMIE_ROOT "/%s/+/+/set", d->homie_device);
		if (!d->homie_base || !d->homie_state || !d->homie_set)
			goto free_discovery;
	}
	*out = d;
	return 0;

free_discovery:
	discovery_free(d);
	return -ENOMEM;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (d->object_ids)
			free(d->object_ids[i]);
		if (d->node_ids)
			free(d->node_ids[i]);
	}
	free(d->object_ids);
	free(d->node_ids);
	free(d->name);
	free(d->version);
	free(d->base_status);
	free(d->ha_status);
	free(d->homie_base);
	free(d->homie_state);
	free(d->homie_set);
	free(d);
}

const char *discovery_ha_node_id(const struct discovery *d)
{
	return d->ha_node;
}

const char *discovery_homie_device_id(const struct discovery *d)
{
	return d->homie_device;
}

const char *discovery_pin_object_id(const struct discovery *d, size_t pin)
{
	return pin < d->cfg->n_pins ? d->object_ids[pin] : NULL;
}

const char *discovery_pin_node_id(const struct discovery *d, size_t pin)
{
	return pin < d->cfg->n_pins ? d->node_ids[pin] : NULL;
}

const char *discovery_ha_status_topic(const struct discovery *d)
{
	return d->ha_status;
}

const char *discovery_homie_state_topic(const struct discovery *d)
{
	return d->homie_state;
}

const char *discovery_homie_set_pattern(const struct discovery *d)
{
	return d->homie_set;
}

bool discovery_ha_online(const struct discovery *d, const char *topic, const char *payload,
			 size_t len)
{
	return d->ha_status && strcmp(topic, d->ha_status) == 0 && len == strlen("online") &&
	       memcmp(payload, "online", len) == 0;
}

/* ---- Home Assistant --------------------------------------------------------------------- */

/* Adds KEY: VALUE; false when memory ran out (cJSON then leaves OBJ as it was). */
static bool discovery_json_str(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) != NULL;
}

/* The blocks every config carries: availability, device, origin. */
static bool discovery_json_common(const struct discovery *d, cJSON *obj)
{
	cJSON *avail, *entry, *device, *ids, *origin;

	avail = cJSON_AddArrayToObject(obj, "availability");
	entry = cJSON_CreateObject();
	if (!avail || !entry || !cJSON_AddItemToArray(avail, entry)) {
		cJSON_Delete(entry);
		return false;
	}
	if (!discovery_json_str(entry, "topic", d->base_status) ||
	    !discovery_json_str(entry, "payload_available", "online") ||
	    !discovery_json_str(entry, "payload_not_available", "offline"))
		return false;
	if (d->homie_state) {
		/* With Homie on, the connection's one Last Will is $state = "lost" (see main.c):
		 * Home Assistant then also needs $state to be "ready". */
		entry = cJSON_CreateObject();
		if (!entry || !cJSON_AddItemToArray(avail, entry)) {
			cJSON_Delete(entry);
			return false;
		}
		if (!discovery_json_str(entry, "topic", d->homie_state) ||
		    !discovery_json_str(entry, "value_template",
					"{{ 'online' if value == 'ready' else 'offline' }}") ||
		    !discovery_json_str(entry, "payload_available", "online") ||
		    !discovery_json_str(entry, "payload_not_available", "offline") ||
		    !discovery_json_str(obj, "availability_mode", "all"))
			return false;
	}

	device = cJSON_AddObjectToObject(obj, "device");
	ids = device ? cJSON_AddArrayToObject(device, "identifiers") : NULL;
	if (!ids || !cJSON_AddItemToArray(ids, cJSON_CreateString(d->ha_node)) ||
	    cJSON_GetArraySize(ids) != 1)
		return false;
	if (!discovery_json_str(device, "name", d->name) ||
	    !discovery_json_str(device, "manufacturer", "gpio2mqtt") ||
	    !discovery_json_str(device, "model", "GPIO to MQTT bridge") ||
	    !discovery_json_str(device, "sw_version", d->version))
		return false;

	origin = cJSON_AddObjectToObject(obj, "origin");
	return origin && discovery_json_str(origin, "name", "gpio2mqtt") &&
	       discovery_json_str(origin, "sw_version", d->version) &&
	       discovery_json_str(origin, "support_url", GPIO2MQTT_URL);
}

/* One config: COMPONENT is "switch", "light", "binary_sensor" or "event". */
static int discovery_ha_config(const struct discovery *d, size_t pin, const char *component,
			       struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const char *base = d->cfg->mqtt.base_topic;
	bool json = p->payload == CONFIG_PAYLOAD_JSON;
	bool event = strcmp(component, "event") == 0;
	char *topic = NULL, *payload = NULL, *s = NULL;
	cJSON *obj, *types;
	bool ok;

	obj = cJSON_CreateObject();
	if (!obj)
		return -ENOMEM;
	ok = discovery_json_str(obj, "name", p->name);
	s = discovery_printf("%s_%s%s", d->ha_node, d->object_ids[pin], event ? "_event" : "");
	ok = ok && s && discovery_json_str(obj, "unique_id", s);
	free(s);
	s = discovery_printf("%s/%s%s", base, p->name, event ? "/event" : "");
	ok = ok && s && discovery_json_str(obj, "state_topic", s);
	free(s);
	if (event) {
		types = cJSON_AddArrayToObject(obj, "event_types");
		ok = ok && types && cJSON_AddItemToArray(types, cJSON_CreateString("single"));
		if (p->double_press_ms)
			ok = ok && cJSON_AddItemToArray(types, cJSON_CreateString("double"));
		ok = ok && cJSON_AddItemToArray(types, cJSON_CreateString("long"));
		ok = ok && cJSON_GetArraySize(types) == (p->double_press_ms ? 3 : 2);
		ok = ok && discovery_json_str(obj, "value_template",
					      json ? "{\"event_type\":\"{{ value_json.event }}\"}"
						   : "{\"event_type\":\"{{ value }}\"}");
	} else {
		ok = ok && discovery_json_str(obj, "payload_on", "ON") &&
		     discovery_json_str(obj, "payload_off", "OFF");
		if (json)
			ok = ok && discovery_json_str(obj, strcmp(component, "light") == 0
								   ? "state_value_template"
								   : "value_template",
						      "{{ value_json.state }}");
	}
	if (p->direction == CONFIG_DIRECTION_OUTPUT) {
		s = discovery_printf("%s/%s/set", base, p->name);
		ok = ok && s && discovery_json_str(obj, "command_topic", s);
		free(s);
		if (strcmp(component, "switch") == 0)
			ok = ok && discovery_json_str(obj, "state_on", "ON") &&
			     discovery_json_str(obj, "state_off", "OFF");
		/* Commands are never retained: a retained one would switch again on restart. */
		ok = ok && cJSON_AddFalseToObject(obj, "retain") &&
		     cJSON_AddFalseToObject(obj, "optimistic");
	}
	if (p->device_class && strcmp(component, "binary_sensor") == 0)
		ok = ok && discovery_json_str(obj, "device_class", p->device_class);
	ok = ok && cJSON_AddNumberToObject(obj, "qos", p->qos);
	ok = ok && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!payload)
		return -ENOMEM;
	topic = discovery_printf("%s/%s/%s/%s/config", d->cfg->discovery.prefix, component,
				 d->ha_node, d->object_ids[pin]);
	/* cJSON allocates with malloc() unless hooks are set; none are. */
	return discovery_messages_take(out, topic, payload, true);
}

int discovery_ha_configs(const struct discovery *d, struct discovery_messages *out)
{
	int r = 0;

	if (!d->cfg->discovery.homeassistant)
		return 0;
	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++) {
		const struct config_pin *p = &d->cfg->pins[i];

		if (p->direction == CONFIG_DIRECTION_OUTPUT)
			r = discovery_ha_config(d, i, p->component == CONFIG_COMPONENT_LIGHT ? "light"
											    : "switch",
						out);
		else if (p->publish_state)
			r = discovery_ha_config(d, i, "binary_sensor", out);
		if (r == 0 && discovery_pin_has_event(p))
			r = discovery_ha_config(d, i, "event", out);
	}
	return r;
}

/* ---- Homie ------------------------------------------------------------------------------ */

/* Appends "<homie base>/<node>/<property>/<attr>" = VALUE, retained. */
static int discovery_homie_attr(const struct discovery *d, struct discovery_messages *out,
				size_t pin, const char *property, const char *attr,
				const char *value)
{
	return discovery_messages_take(out,
				       discovery_printf("%s/%s/%s/%s", d->homie_base,
							d->node_ids[pin], property, attr),
				       strdup(value), true);
}

static int discovery_homie_property(const struct discovery *d, size_t pin, const char *property,
				    struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	char name[CONFIG_NAME_MAX + 16];
	int r;

	if (strcmp(property, "state") == 0) {
		r = discovery_homie_attr(d, out, pin, property, "$name", p->name);
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$datatype", "boolean");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$settable",
						 p->direction == CONFIG_DIRECTION_OUTPUT ? "true"
											 : "false");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$retained", "true");
		return r;
	}
	snprintf(name, sizeof(name), "%s event", p->name);
	r = discovery_homie_attr(d, out, pin, property, "$name", name);
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$datatype", "enum");
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$format",
					 p->double_press_ms ? "single,double,long" : "single,long");
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$settable", "false");
	/* Presses are moments: published without the retain flag. */
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$retained", "false");
	return r;
}

int discovery_homie_tree(const struct discovery *d, struct discovery_messages *out)
{
	char *nodes = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	if (!d->homie_base)
		return 0;
	mem = open_memstream(&nodes, &len);
	if (!mem)
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->n_pins; i++)
		fprintf(mem, "%s%s", i ? "," : "", d->node_ids[i]);
	if (fclose(mem) != 0) {
		free(nodes);
		return -ENOMEM;
	}
	r = discovery_homie_add(d, out, "/$state", "init");
	if (r == 0)
		r = discovery_homie_add(d, out, "/$homie", DISCOVERY_HOMIE_VERSION);
	if (r == 0)
		r = discovery_homie_add(d, out, "/$name", d->name);
	/* Required even when empty; an empty retained message is not kept by the broker. */
	if (r == 0)
		r = discovery_homie_add(d, out, "/$extensions", "");
	if (r == 0)
		r = discovery_homie_add(d, out, "/$implementation", "gpio2mqtt");
	if (r == 0)
		r = discovery_homie_add(d, out, "/$nodes", nodes);
	free(nodes);

	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++) {
		const struct config_pin *p = &d->cfg->pins[i];
		bool has_state = discovery_pin_has_state(p), has_event = discovery_pin_has_event(p);
		char topic[PATH_MAX];

		snprintf(topic, sizeof(topic), "/%s/$name", d->node_ids[i]);
		r = discovery_homie_add(d, out, topic, p->name);
		snprintf(topic, sizeof(topic), "/%s/$type", d->node_ids[i]);
		if (r == 0)
			r = discovery_homie_add(d, out, topic,
						p->direction == CONFIG_DIRECTION_OUTPUT ? "output"
											: "input");
		snprintf(topic, sizeof(topic), "/%s/$properties", d->node_ids[i]);
		if (r == 0)
			r = discovery_homie_add(d, out, topic,
						has_state && has_event ? "state,event"
						: has_event	       ? "event"
								       : "state");
		if (r == 0 && has_state)
			r = discovery_homie_property(d, i, "state", out);
		if (r == 0 && has_event)
			r = discovery_homie_property(d, i, "event", out);
	}
	return r;
}

int discovery_homie_value_topic(const struct discovery *d, size_t pin, const char *property,
				char *buf, size_t size)
{
	const struct config_pin *p;
	int n;

	if (!d->homie_base || pin >= d->cfg->n_pins)
		return -ENOENT;
	p = &d->cfg->pins[pin];
	if (strcmp(property, "state") == 0 ? !discovery_pin_has_state(p)
	    : strcmp(property, "event") == 0 ? !discovery_pin_has_event(p)
					     : true)
		return -ENOENT;
	n = snprintf(buf, size, "%s/%s/%s", d->homie_base, d->node_ids[pin], property);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int discovery_homie_set_parse(const struct discovery *d, const char *topic, size_t *pin)
{
	size_t base_len, node_len;
	const char *node, *rest;

	if (!d->homie_base)
		return -ENOENT;
	base_len = strlen(d->homie_base);
	if (strncmp(topic, d->homie_base, base_len) != 0 || topic[base_len] != '/')
		return -ENOENT;
	node = topic + base_len + 1;
	rest = strchr(node, '/');
	if (!rest || strcmp(rest, "/state/set") != 0)
		return -ENOENT;
	node_len = (size_t)(rest - node);
	for (size_t i = 0; i < d->cfg->n_pins; i++) {
		if (strlen(d->node_ids[i]) == node_len && memcmp(d->node_ids[i], node, node_len) == 0 &&
		    d->cfg->pins[i].direction == CONFIG_DIRECTION_OUTPUT) {
			*pin = i;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- what was announced ----------------------------------------------------------------- */

static int discovery_topic_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void discovery_topics_free(char **topics, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(topics[i]);
	free(topics);
}

/* Sorts TOPICS and drops duplicates. */
static void discovery_topics_sort(char **topics, size_t *n)
{
	size_t o = 0;

	if (*n == 0)
		return;
	qsort(topics, *n, sizeof(*topics), discovery_topic_cmp);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(topics[i], topics[o]) == 0)
			free(topics[i]);
		else
			topics[++o] = topics[i];
	}
	*n = o + 1;
}

int discovery_topics_owned(const struct discovery *d, char ***topics, size_t *n)
{
	struct discovery_messages list = { 0 };
	char **out = NULL;
	size_t count = 0;
	int r;

	r = discovery_ha_configs(d, &list);
	if (r == 0)
		r = discovery_homie_tree(d, &list);
	for (size_t i = 0; i < d->cfg->n_pins && r == 0 && d->homie_base; i++) {
		char topic[PATH_MAX];

		if (discovery_homie_value_topic(d, i, "state", topic, sizeof(topic)) == 0)
			r = discovery_messages_take(&list, strdup(topic), strdup("false"), true);
	}
	if (r < 0)
		goto clear_list;
	out = calloc(list.n ? list.n : 1, sizeof(*out));
	if (!out) {
		r = -ENOMEM;
		goto clear_list;
	}
	for (size_t i = 0; i < list.n; i++) {
		if (!list.items[i].retain || !list.items[i].payload[0])
			continue;
		out[count++] = list.items[i].topic;
		list.items[i].topic = NULL;
	}
	discovery_topics_sort(out, &count);
	*topics = out;
	*n = count;

clear_list:
	discovery_messages_clear(&list);
	return r;
}

/* Whether TOPIC can only have been announced by this machine: a Home Assistant config
 * "<any prefix>/<component>/<our node id>/<object id>/config" (any prefix, so documents under a
 * prefix the configuration no longer uses are still ours to clear) or anything under our Homie
 * device "homie/<our device>/". Both ids are derived from the machine id. */
static bool discovery_topic_ours(const struct discovery *d, const char *topic)
{
	size_t homie_len = strlen("homie/") + strlen(d->homie_device);
	const char *levels[4] = { NULL };
	const char *end = topic + strlen(topic);
	size_t n = 0, node_len = strlen(d->ha_node);

	if (strncmp(topic, "homie/", 6) == 0 && strncmp(topic + 6, d->homie_device,
							strlen(d->homie_device)) == 0 &&
	    topic[homie_len] == '/')
		return true;
	/* The last four levels, from the end: node id, object id, "config". */
	for (const char *p = end; p > topic && n < 4; p--)
		if (p[-1] == '/')
			levels[n++] = p;
	if (n < 4 || strcmp(levels[0], "config") != 0)
		return false;
	/* levels[2] starts the node id level, which ends where levels[1] starts. */
	return (size_t)(levels[1] - 1 - levels[2]) == node_len &&
	       memcmp(levels[2], d->ha_node, node_len) == 0;
}

int discovery_removals(const struct discovery *d, char *const *previous, size_t n_previous,
		       char *const *owned, size_t n_owned, struct discovery_messages *out)
{
	size_t j = 0;
	int r;

	for (size_t i = 0; i < n_previous; i++) {
		int c = 1;

		while (j < n_owned && (c = strcmp(owned[j], previous[i])) < 0)
			j++;
		if (j < n_owned && c == 0)
			continue;
		if (!discovery_topic_ours(d, previous[i]))
			continue;
		r = discovery_messages_take(out, strdup(previous[i]), strdup(""), true);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- file I/O --------------------------------------------------------------------------- */

int discovery_id_read(char out[DISCOVERY_ID_LEN + 1])
{
	const char *path = getenv(DISCOVERY_MACHINE_ID_ENV);
	char buf[128];
	size_t len;
	FILE *fp;

	if (!path || !*path)
		path = DISCOVERY_MACHINE_ID_FILE;
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	len = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[len] = '\0';
	return discovery_id_derive(buf, out);
}

int discovery_topics_load(const char *path, char ***topics, size_t *n)
{
	char **list = NULL, *data, *line, *next;
	size_t count = 0, cap = 0, len;
	int r;

	*topics = NULL;
	*n = 0;
	r = file_read_regular(path, DISCOVERY_TOPICS_SIZE_MAX, &data, &len);
	if (r == FILE_READ_MISSING)
		return 0;
	if (r != 0)
		return r;
	for (line = data; line < data + len; line = next) {
		size_t line_len = strcspn(line, "\n");

		next = line + line_len + (line[line_len] == '\n');
		line[line_len] = '\0';
		while (line_len > 0 && line[line_len - 1] == '\r')
			line[--line_len] = '\0';
		/* Comments, blank lines and anything that cannot be a topic to publish. */
		if (line_len == 0 || line[0] == '#' || strpbrk(line, "+#") ||
		    strlen(line) != line_len)
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nl = realloc(list, ncap * sizeof(*nl));

			if (!nl) {
				r = -ENOMEM;
				goto free_list;
			}
			list = nl;
			cap = ncap;
		}
		list[count] = strdup(line);
		if (!list[count]) {
			r = -ENOMEM;
			goto free_list;
		}
		count++;
	}
	discovery_topics_sort(list, &count);
	*topics = list;
	*n = count;
	list = NULL;
	count = 0;

free_list:
	discovery_topics_free(list, count);
	free(data);
	return r;
}

int discovery_topics_save(const char *path, char *const *topics, size_t n)
{
	char *data = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	mem = open_memstream(&data, &len);
	if (!mem)
		return -ENOMEM;
	fputs(DISCOVERY_TOPICS_MAGIC, mem);
	for (size_t i = 0; i < n; i++)
		fprintf(mem, "%s\n", topics[i]);
	if (fclose(mem) != 0) {
		free(data);
		return -ENOMEM;
	}
	r = file_replace(path, data, len);
	free(data);
	return r;
}
