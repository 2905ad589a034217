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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* GPIO2MQTT_URL, where Home Assistant's "origin" block points, is the meson option project_url. */
#include "build-config.h"
#include "file.h"
#include "kind.h"
#include "util.h"

#define DISCOVERY_TOPICS_MAGIC "# gpio2mqtt discovery topics v1\n"

struct discovery {
	const struct config *cfg;
	const struct topics *topics;
	char *name;
	char *version;
};

/* ---- small helpers ---------------------------------------------------------------------- */

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

/* Appends a retained message on the Homie attribute ATTR of the device (PIN SIZE_MAX) or of
 * PIN's node. */
static int discovery_homie_add(const struct discovery *d, struct discovery_messages *out,
			       size_t pin, const char *attr, const char *payload)
{
	return discovery_messages_take(out, topics_homie_attr(d->topics, pin, NULL, attr),
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
	h = util_fnv1a(salt, strlen(salt), UTIL_FNV1A_OFFSET);
	h = util_fnv1a(lower, n, h);
	snprintf(out, DISCOVERY_ID_LEN + 1, "%016llx", (unsigned long long)h);
	return 0;
}

void discovery_id_from_name(const char *name, char out[DISCOVERY_ID_LEN + 1])
{
	static const char salt[] = "gpio2mqtt-host:";
	uint64_t h = util_fnv1a(salt, strlen(salt), UTIL_FNV1A_OFFSET);

	h = util_fnv1a(name, strlen(name), h);
	snprintf(out, DISCOVERY_ID_LEN + 1, "%016llx", (unsigned long long)h);
}

int discovery_new(struct discovery **out, const struct topics *topics, const char *name,
		  const char *version)
{
	struct discovery *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cfg = topics->cfg;
	d->topics = topics;
	/* discovery.device_name, else NAME (the hostname). */
	if (d->cfg->discovery.device_name)
		name = d->cfg->discovery.device_name;
	d->name = strdup(name && *name ? name : "gpio2mqtt");
	d->version = strdup(version ? version : "");
	if (!d->name || !d->version) {
		discovery_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->version);
	free(d);
}

bool discovery_ha_online(const struct discovery *d, const char *topic, const char *payload,
			 size_t len)
{
	const char *status = d->topics->ha_status;

	return status && strcmp(topic, status) == 0 && len == strlen("online") &&
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
	if (!discovery_json_str(entry, "topic", d->topics->status) ||
	    !discovery_json_str(entry, "payload_available", "online") ||
	    !discovery_json_str(entry, "payload_not_available", "offline"))
		return false;
	if (d->topics->homie_state) {
		/* With Homie on, $state = "lost" is the main connection's Last Will and a second
		 * connection carries status's (see daemon.c); should that one be refused, $state
		 * is the only will: Home Assistant also needs $state to be "ready". */
		entry = cJSON_CreateObject();
		if (!entry || !cJSON_AddItemToArray(avail, entry)) {
			cJSON_Delete(entry);
			return false;
		}
		if (!discovery_json_str(entry, "topic", d->topics->homie_state) ||
		    !discovery_json_str(entry, "value_template",
					"{{ 'online' if value == 'ready' else 'offline' }}") ||
		    !discovery_json_str(entry, "payload_available", "online") ||
		    !discovery_json_str(entry, "payload_not_available", "offline") ||
		    !discovery_json_str(obj, "availability_mode", "all"))
			return false;
	}

	device = cJSON_AddObjectToObject(obj, "device");
	ids = device ? cJSON_AddArrayToObject(device, "identifiers") : NULL;
	if (!ids || !cJSON_AddItemToArray(ids, cJSON_CreateString(d->topics->ha_node)) ||
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
	const struct topics_pin *tp = &d->topics->pins[pin];
	bool json = p->payload == CONFIG_PAYLOAD_JSON;
	bool event = strcmp(component, "event") == 0;
	char *topic = NULL, *payload = NULL, *s = NULL;
	cJSON *obj, *types;
	bool ok;

	obj = cJSON_CreateObject();
	if (!obj)
		return -ENOMEM;
	ok = discovery_json_str(obj, "name", p->display_name ? p->display_name : p->name);
	s = util_printf("%s_%s%s", d->topics->ha_node, tp->object_id, event ? "_event" : "");
	ok = ok && s && discovery_json_str(obj, "unique_id", s);
	free(s);
	ok = ok && discovery_json_str(obj, "state_topic", event ? tp->event : tp->state);
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
		/* The kernel's timestamp and sequence number as the entity's attributes. */
		if (json)
			ok = ok && discovery_json_str(obj, "json_attributes_topic", tp->state) &&
			     discovery_json_str(obj, "json_attributes_template",
						"{{ {'time': value_json.time, 'seq': value_json.seq} "
						"| tojson }}");
	}
	if (tp->commands) {
		ok = ok && discovery_json_str(obj, "command_topic", tp->set);
		if (strcmp(component, "switch") == 0)
			ok = ok && discovery_json_str(obj, "state_on", "ON") &&
			     discovery_json_str(obj, "state_off", "OFF");
		/* A JSON pin takes {"state":"ON"} (and the plain words): say so, so that Home
		 * Assistant sends what the pin publishes. */
		if (json && strcmp(component, "switch") == 0)
			ok = ok && discovery_json_str(obj, "command_template",
						      "{\"state\":\"{{ value }}\"}");
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
	topic = topics_ha_config(d->topics, pin, component);
	/* cJSON allocates with malloc() unless hooks are set; none are. */
	return discovery_messages_take(out, topic, payload, true);
}

/* A cover: Home Assistant's MQTT cover with its state, position, set_position and stop. */
static int discovery_ha_cover(const struct discovery *d, size_t pin, struct discovery_messages *out)
{
	static const char *const states[][2] = {
		{ "state_open", "open" },	{ "state_opening", "opening" },
		{ "state_closed", "closed" }, { "state_closing", "closing" },
		{ "state_stopped", "stopped" }, { "payload_open", "OPEN" },
		{ "payload_close", "CLOSE" },	{ "payload_stop", "STOP" },
	};
	const struct config_pin *p = &d->cfg->pins[pin];
	const struct topics_pin *tp = &d->topics->pins[pin];
	char *payload = NULL, *s;
	cJSON *obj;
	bool ok;

	obj = cJSON_CreateObject();
	if (!obj)
		return -ENOMEM;
	ok = discovery_json_str(obj, "name", p->display_name ? p->display_name : p->name);
	s = util_printf("%s_%s", d->topics->ha_node, tp->object_id);
	ok = ok && s && discovery_json_str(obj, "unique_id", s);
	free(s);
	ok = ok && discovery_json_str(obj, "state_topic", tp->state) &&
	     discovery_json_str(obj, "command_topic", tp->set) &&
	     discovery_json_str(obj, "position_topic", tp->position) &&
	     discovery_json_str(obj, "set_position_topic", tp->set) &&
	     cJSON_AddNumberToObject(obj, "position_open", 100) &&
	     cJSON_AddNumberToObject(obj, "position_closed", 0);
	for (size_t k = 0; k < sizeof(states) / sizeof(states[0]); k++)
		ok = ok && discovery_json_str(obj, states[k][0], states[k][1]);
	if (p->payload == CONFIG_PAYLOAD_JSON)
		ok = ok && discovery_json_str(obj, "value_template", "{{ value_json.state }}");
	ok = ok && discovery_json_str(obj, "device_class",
				      config_cover_class_to_string(p->cover_class));
	ok = ok && cJSON_AddFalseToObject(obj, "retain") &&
	     cJSON_AddFalseToObject(obj, "optimistic") &&
	     cJSON_AddNumberToObject(obj, "qos", p->qos) && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!payload)
		return -ENOMEM;
	return discovery_messages_take(out, topics_ha_config(d->topics, pin, "cover"), payload,
				       true);
}

static int discovery_homie_attr(const struct discovery *d, struct discovery_messages *out,
				size_t pin, const char *property, const char *attr,
				const char *value);

/* A cover's Homie properties: state (enum), position (0..100, settable), command (settable:
 * OPEN, CLOSE, STOP). */
static int discovery_homie_cover(const struct discovery *d, size_t pin,
				 struct discovery_messages *out)
{
	static const char *const attrs[][3] = {
		{ "state", "$datatype", "enum" },
		{ "state", "$format", "open,opening,closed,closing,stopped" },
		{ "state", "$settable", "false" },
		{ "state", "$retained", "true" },
		{ "position", "$name", "Position" },
		{ "position", "$datatype", "integer" },
		{ "position", "$format", "0:100" },
		{ "position", "$unit", "%" },
		{ "position", "$settable", "true" },
		{ "position", "$retained", "true" },
		{ "command", "$name", "Command" },
		{ "command", "$datatype", "enum" },
		{ "command", "$format", "OPEN,CLOSE,STOP" },
		{ "command", "$settable", "true" },
		{ "command", "$retained", "false" },
	};
	const struct config_pin *p = &d->cfg->pins[pin];
	int r;

	r = discovery_homie_add(d, out, pin, "$properties", "state,position,command");
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, "state", "$name",
					 p->display_name ? p->display_name : p->name);
	for (size_t k = 0; r == 0 && k < sizeof(attrs) / sizeof(attrs[0]); k++)
		r = discovery_homie_attr(d, out, pin, attrs[k][0], attrs[k][1], attrs[k][2]);
	return r;
}

/* A PWM light (src/kind_light.c): a Home Assistant light with brightness. With JSON payloads
 * the JSON schema (state, brightness and transition in one command, as the light takes them);
 * with plain ones the default schema, the brightness on its own topic and sent as a number to
 * the set topic. Only keys of that schema: Home Assistant refuses a document with others. */
static int discovery_ha_light(const struct discovery *d, size_t pin,
			      struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const struct topics_pin *tp = &d->topics->pins[pin];
	bool json = p->payload == CONFIG_PAYLOAD_JSON;
	char *payload = NULL, *s;
	cJSON *obj, *modes;
	bool ok;

	obj = cJSON_CreateObject();
	if (!obj)
		return -ENOMEM;
	ok = discovery_json_str(obj, "name", p->display_name ? p->display_name : p->name);
	s = util_printf("%s_%s", d->topics->ha_node, tp->object_id);
	ok = ok && s && discovery_json_str(obj, "unique_id", s);
	free(s);
	ok = ok && discovery_json_str(obj, "state_topic", tp->state) &&
	     discovery_json_str(obj, "command_topic", tp->set) &&
	     cJSON_AddNumberToObject(obj, "brightness_scale", p->brightness_scale);
	if (json) {
		ok = ok && discovery_json_str(obj, "schema", "json") &&
		     cJSON_AddTrueToObject(obj, "brightness");
		modes = cJSON_AddArrayToObject(obj, "supported_color_modes");
		ok = ok && modes && cJSON_AddItemToArray(modes, cJSON_CreateString("brightness"));
		ok = ok && discovery_json_str(obj, "json_attributes_topic", tp->state) &&
		     discovery_json_str(obj, "json_attributes_template",
					"{{ {'time': value_json.time, 'seq': value_json.seq} | tojson }}");
	} else {
		ok = ok && discovery_json_str(obj, "payload_on", "ON") &&
		     discovery_json_str(obj, "payload_off", "OFF") &&
		     discovery_json_str(obj, "brightness_state_topic", tp->brightness) &&
		     discovery_json_str(obj, "brightness_command_topic", tp->set);
	}
	/* Commands are never retained: a retained one would switch again on restart. */
	ok = ok && cJSON_AddFalseToObject(obj, "retain") && cJSON_AddFalseToObject(obj, "optimistic");
	ok = ok && cJSON_AddNumberToObject(obj, "qos", p->qos);
	ok = ok && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!payload)
		return -ENOMEM;
	return discovery_messages_take(out, topics_ha_config(d->topics, pin, "light"), payload, true);
}

/* An output with pulse_ms: a button entity that sends one pulse of that length to
 * <base>/<name>/pulse (a garage door opener is pressed, not switched). */
static int discovery_ha_pulse_button(const struct discovery *d, size_t pin,
				     struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const struct topics_pin *tp = &d->topics->pins[pin];
	char *uid = util_printf("%s_%s_pulse", d->topics->ha_node, tp->object_id);
	char *press = util_printf("%u", p->pulse_ms);
	char *name = util_printf("%s pulse", p->display_name ? p->display_name : p->name);
	char *topic = NULL, *payload = NULL;
	cJSON *obj = cJSON_CreateObject();
	bool ok = obj && uid && press && name;

	ok = ok && discovery_json_str(obj, "name", name) &&
	     discovery_json_str(obj, "unique_id", uid) &&
	     discovery_json_str(obj, "command_topic", tp->pulse) &&
	     discovery_json_str(obj, "payload_press", press) &&
	     cJSON_AddFalseToObject(obj, "retain") && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	free(uid);
	free(press);
	free(name);
	if (payload)
		topic = topics_ha_config(d->topics, pin, "button");
	if (!payload || !topic) {
		free(payload);
		free(topic);
		return -ENOMEM;
	}
	return discovery_messages_take(out, topic, payload, true);
}

/* The health counters (<base>/health) the device's diagnostic sensors show. */
static const struct {
	const char *key, *name, *unit, *device_class;
} discovery_health_sensors[] = {
	{ "edges_lost", "Edges lost", NULL, NULL },
	{ "publishes_failed", "Publishes failed", NULL, NULL },
	{ "reconnects", "MQTT reconnects", NULL, NULL },
	{ "uptime_s", "Uptime", "s", "duration" },
};

/* A diagnostic sensor of the device for health counter K. */
static int discovery_ha_health(const struct discovery *d, size_t k,
			       struct discovery_messages *out)
{
	char *object_id = util_printf("health_%s", discovery_health_sensors[k].key);
	char *uid = util_printf("%s_health_%s", d->topics->ha_node, discovery_health_sensors[k].key);
	char *tmpl = util_printf("{{ value_json.%s }}", discovery_health_sensors[k].key);
	char *topic = NULL, *payload = NULL;
	cJSON *obj = cJSON_CreateObject();
	bool ok = obj && object_id && uid && tmpl;

	ok = ok && discovery_json_str(obj, "name", discovery_health_sensors[k].name) &&
	     discovery_json_str(obj, "unique_id", uid) &&
	     discovery_json_str(obj, "state_topic", d->topics->health) &&
	     discovery_json_str(obj, "value_template", tmpl) &&
	     discovery_json_str(obj, "entity_category", "diagnostic") &&
	     discovery_json_str(obj, "state_class", "total_increasing");
	if (discovery_health_sensors[k].unit)
		ok = ok && discovery_json_str(obj, "unit_of_measurement",
					      discovery_health_sensors[k].unit) &&
		     discovery_json_str(obj, "device_class", discovery_health_sensors[k].device_class);
	ok = ok && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (payload)
		topic = topics_ha_device_config(d->topics, "sensor", object_id);
	free(object_id);
	free(uid);
	free(tmpl);
	if (!payload || !topic) {
		free(payload);
		free(topic);
		return -ENOMEM;
	}
	return discovery_messages_take(out, topic, payload, true);
}

/* The Home Assistant device class of a counter's rate: power for an energy meter, a flow for
 * water and gas. */
static const char *discovery_rate_class(const struct config_pin *p)
{
	return p->device_class && strcmp(p->device_class, "energy") != 0 ? "volume_flow_rate"
									 : "power";
}

/* A counter's two sensors: the total (device_class energy, water or gas, state_class
 * total_increasing, its unit: what the Energy dashboard lists without any YAML) and the rate
 * (power or volume_flow_rate, measurement). RATE picks which. */
static int discovery_ha_counter(const struct discovery *d, size_t pin, bool rate,
				struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const struct topics_pin *tp = &d->topics->pins[pin];
	const char *label = p->display_name ? p->display_name : p->name;
	char *uid = util_printf("%s_%s%s", d->topics->ha_node, tp->object_id, rate ? "_rate" : "");
	char *object_id = util_printf("%s_rate", tp->object_id);
	char *name = util_printf("%s %s", label,
				 strcmp(discovery_rate_class(p), "power") == 0 ? "power" : "flow");
	char *topic = NULL, *payload = NULL;
	cJSON *obj = cJSON_CreateObject();
	bool ok = obj && uid && object_id && name;

	ok = ok && discovery_json_str(obj, "name", rate ? name : label) &&
	     discovery_json_str(obj, "unique_id", uid) &&
	     discovery_json_str(obj, "state_topic", rate ? tp->rate : tp->state) &&
	     discovery_json_str(obj, "device_class",
				rate ? discovery_rate_class(p)
				     : (p->device_class ? p->device_class : "energy")) &&
	     discovery_json_str(obj, "state_class", rate ? "measurement" : "total_increasing") &&
	     discovery_json_str(obj, "unit_of_measurement", rate ? p->rate_unit : p->unit) &&
	     cJSON_AddNumberToObject(obj, "suggested_display_precision",
				     rate ? p->rate_precision : p->precision) &&
	     cJSON_AddNumberToObject(obj, "qos", p->qos) && discovery_json_common(d, obj);
	if (ok)
		payload = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (payload)
		topic = rate ? topics_ha_device_config(d->topics, "sensor", object_id)
			     : topics_ha_config(d->topics, pin, "sensor");
	free(uid);
	free(object_id);
	free(name);
	if (!payload || !topic) {
		free(payload);
		free(topic);
		return -ENOMEM;
	}
	return discovery_messages_take(out, topic, payload, true);
}

int discovery_ha_configs(const struct discovery *d, struct discovery_messages *out)
{
	int r = 0;

	if (!d->cfg->discovery.homeassistant)
		return 0;
	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++) {
		const struct config_pin *p = &d->cfg->pins[i];

		if (p->is_cover) {
			r = discovery_ha_cover(d, i, out);
			continue;
		}
		/* The kind names the component (src/kind.h); events get an "event" entity. */
		if (d->topics->pins[i].has_state && kind_of(p)->own_driver) /* a PWM light */
			r = discovery_ha_light(d, i, out);
		else if (d->topics->pins[i].has_state)
			r = discovery_ha_config(d, i, kind_of(p)->ha_component(p), out);
		if (r == 0 && d->topics->pins[i].has_event)
			r = discovery_ha_config(d, i, "event", out);
		if (r == 0 && d->topics->pins[i].commands && p->pulse_ms)
			r = discovery_ha_pulse_button(d, i, out);
		/* A counter (its topics have a rate): a sensor for the total and one for the rate. */
		if (r == 0 && d->topics->pins[i].rate)
			r = discovery_ha_counter(d, i, false, out);
		if (r == 0 && d->topics->pins[i].rate)
			r = discovery_ha_counter(d, i, true, out);
	}
	/* The device's own diagnostic sensors: the health counters. */
	for (size_t k = 0; r == 0 && k < sizeof(discovery_health_sensors) /
						  sizeof(discovery_health_sensors[0]); k++)
		r = discovery_ha_health(d, k, out);
	return r;
}

/* ---- Homie ------------------------------------------------------------------------------ */

/* Appends "<homie base>/<node>/<property>/<attr>" = VALUE, retained. */
static int discovery_homie_attr(const struct discovery *d, struct discovery_messages *out,
				size_t pin, const char *property, const char *attr,
				const char *value)
{
	return discovery_messages_take(out, topics_homie_attr(d->topics, pin, property, attr),
				       strdup(value), true);
}

const char *discovery_homie_event_word(const struct config *cfg, enum kind_event event)
{
	static const char *const openhab[] = {
		[KIND_EVENT_SINGLE] = "SHORT_PRESSED",
		[KIND_EVENT_DOUBLE] = "DOUBLE_PRESSED",
		[KIND_EVENT_LONG] = "LONG_PRESSED",
	};

	if (cfg->discovery.homie_events == CONFIG_HOMIE_EVENTS_OPENHAB &&
	    (size_t)event < sizeof(openhab) / sizeof(openhab[0]))
		return openhab[event];
	return kind_event_name(event);
}

static int discovery_homie_property(const struct discovery *d, size_t pin, const char *property,
				    struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	char name[CONFIG_NAME_MAX + 16];
	int r;

	if (strcmp(property, "state") == 0) {
		r = discovery_homie_attr(d, out, pin, property, "$name",
					 p->display_name ? p->display_name : p->name);
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$datatype", "boolean");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$settable",
						 d->topics->pins[pin].commands ? "true" : "false");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$retained", "true");
		return r;
	}
	if (strcmp(property, "brightness") == 0) { /* a PWM light: a dimmer in openHAB */
		snprintf(name, sizeof(name), "%s brightness",
			 p->display_name ? p->display_name : p->name);
		r = discovery_homie_attr(d, out, pin, property, "$name", name);
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$datatype", "integer");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$format", "0:100");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$unit", "%");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$settable", "true");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$retained", "true");
		return r;
	}
	snprintf(name, sizeof(name), "%s event", p->display_name ? p->display_name : p->name);
	r = discovery_homie_attr(d, out, pin, property, "$name", name);
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$datatype", "enum");
	if (r == 0) {
		char format[64];

		snprintf(format, sizeof(format), "%s,%s%s%s",
			 discovery_homie_event_word(d->cfg, KIND_EVENT_SINGLE),
			 p->double_press_ms ? discovery_homie_event_word(d->cfg, KIND_EVENT_DOUBLE) : "",
			 p->double_press_ms ? "," : "",
			 discovery_homie_event_word(d->cfg, KIND_EVENT_LONG));
		r = discovery_homie_attr(d, out, pin, property, "$format", format);
	}
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$settable", "false");
	/* Presses are moments: published without the retain flag. */
	if (r == 0)
		r = discovery_homie_attr(d, out, pin, property, "$retained", "false");
	return r;
}

/* A pin is a Homie node when it publishes something: a switch input with publish_state =
 * false (kept for its bindings) has no property that would ever get a value. */
static bool discovery_homie_node(const struct discovery *d, size_t pin)
{
	return d->topics->pins[pin].has_state || d->topics->pins[pin].has_event ||
	       d->topics->pins[pin].rate; /* a counter: total and rate */
}

/* A counter's node properties: total and rate, floats with their units, not settable. */
static int discovery_homie_counter(const struct discovery *d, size_t pin,
				   struct discovery_messages *out)
{
	const struct config_pin *p = &d->cfg->pins[pin];
	const char *label = p->display_name ? p->display_name : p->name;
	char name[CONFIG_NAME_MAX + 16];
	int r = discovery_homie_add(d, out, pin, "$properties", "total,rate");

	for (int k = 0; k < 2 && r == 0; k++) {
		const char *property = k ? "rate" : "total";

		snprintf(name, sizeof(name), "%s %s", label, property);
		r = discovery_homie_attr(d, out, pin, property, "$name", name);
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$datatype", "float");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$unit",
						 k ? p->rate_unit : p->unit);
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$settable", "false");
		if (r == 0)
			r = discovery_homie_attr(d, out, pin, property, "$retained", "true");
	}
	return r;
}

int discovery_homie_tree(const struct discovery *d, struct discovery_messages *out)
{
	char *nodes = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	if (!d->topics->homie_base)
		return 0;
	mem = open_memstream(&nodes, &len);
	if (!mem)
		return -ENOMEM;
	for (size_t i = 0, n = 0; i < d->cfg->n_pins; i++)
		if (discovery_homie_node(d, i))
			fprintf(mem, "%s%s", n++ ? "," : "", d->topics->pins[i].node_id);
	if (fclose(mem) != 0) {
		free(nodes);
		return -ENOMEM;
	}
	r = discovery_homie_add(d, out, SIZE_MAX, "$state", "init");
	if (r == 0)
		r = discovery_homie_add(d, out, SIZE_MAX, "$homie", DISCOVERY_HOMIE_VERSION);
	if (r == 0)
		r = discovery_homie_add(d, out, SIZE_MAX, "$name", d->name);
	/* Required even when empty; an empty retained message is not kept by the broker. */
	if (r == 0)
		r = discovery_homie_add(d, out, SIZE_MAX, "$extensions", "");
	if (r == 0)
		r = discovery_homie_add(d, out, SIZE_MAX, "$implementation", "gpio2mqtt");
	if (r == 0)
		r = discovery_homie_add(d, out, SIZE_MAX, "$nodes", nodes);
	free(nodes);

	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++) {
		const struct config_pin *p = &d->cfg->pins[i];
		bool has_state = d->topics->pins[i].has_state;
		bool has_event = d->topics->pins[i].has_event;

		if (!discovery_homie_node(d, i))
			continue;
		r = discovery_homie_add(d, out, i, "$name",
					p->display_name ? p->display_name : p->name);
		if (r == 0)
			r = discovery_homie_add(d, out, i, "$type", kind_of(p)->homie_type);
		if (r == 0 && p->is_cover) {
			r = discovery_homie_cover(d, i, out);
			continue;
		}
		if (r == 0 && d->topics->pins[i].rate) {
			r = discovery_homie_counter(d, i, out);
			continue;
		}
		if (r == 0 && d->topics->pins[i].homie_brightness) /* a PWM light */
			r = discovery_homie_add(d, out, i, "$properties", "state,brightness");
		else if (r == 0)
			r = discovery_homie_add(d, out, i, "$properties",
						has_state && has_event ? "state,event"
						: has_event	       ? "event"
								       : "state");
		if (r == 0 && d->topics->pins[i].homie_brightness)
			r = discovery_homie_property(d, i, "brightness", out);
		if (r == 0 && has_state)
			r = discovery_homie_property(d, i, "state", out);
		if (r == 0 && has_event)
			r = discovery_homie_property(d, i, "event", out);
	}
	return r;
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
	for (size_t i = 0; i < d->cfg->n_pins && r == 0; i++) {
		const char *value = d->topics->pins[i].homie_state;

		if (value)
			r = discovery_messages_take(&list, strdup(value), strdup("false"), true);
		/* A PWM light's brightness values (Homie; plain payloads: <base>/<name>/brightness) */
		value = d->topics->pins[i].homie_brightness;
		if (r == 0 && value)
			r = discovery_messages_take(&list, strdup(value), strdup("0"), true);
		value = d->topics->pins[i].brightness;
		if (r == 0 && value && d->cfg->pins[i].retain &&
		    d->cfg->pins[i].payload == CONFIG_PAYLOAD_PLAIN)
			r = discovery_messages_take(&list, strdup(value), strdup("0"), true);
		/* The pin's own retained state, so that it goes with the pin (or with retain). */
		if (r == 0 && d->topics->pins[i].has_state && d->cfg->pins[i].retain)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].state),
						    strdup("OFF"), true);
		/* A counter's: its total and rate, and their Homie values. */
		if (r == 0 && d->topics->pins[i].rate && d->cfg->pins[i].retain)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].state),
						    strdup("0"), true);
		if (r == 0 && d->topics->pins[i].rate && d->cfg->pins[i].retain)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].rate),
						    strdup("0"), true);
		if (r == 0 && d->topics->pins[i].homie_total)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].homie_total),
						    strdup("0"), true);
		if (r == 0 && d->topics->pins[i].homie_rate)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].homie_rate),
						    strdup("0"), true);
		/* A cover's position, and its Homie value. */
		if (r == 0 && d->topics->pins[i].position && d->cfg->pins[i].retain)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].position),
						    strdup("0"), true);
		if (r == 0 && d->topics->pins[i].homie_position)
			r = discovery_messages_take(&list, strdup(d->topics->pins[i].homie_position),
						    strdup("0"), true);
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

/* The retained topics a pin may have one level under its state topic <base>/<name> (see
 * topics.c): a PWM light's brightness with plain payloads, a counter's rate, a cover's
 * position. Nothing else there is ours: commands (/set, /pulse) are never retained by us. */
static const char *const discovery_pin_subtopics[] = { "brightness", "rate", "position" };

/* Whether LEVEL (after "<base>/") names a pin's retained topic: "<name>" or
 * "<name>/<one of discovery_pin_subtopics>", the name not status or health (no pin has those
 * names; a list that says so is not believed). */
static bool discovery_pin_level_ours(const char *level)
{
	const char *slash = strchr(level, '/');
	size_t len = slash ? (size_t)(slash - level) : strlen(level);

	if (len == 0 || (len == 6 && strncmp(level, "status", 6) == 0) ||
	    (len == 6 && strncmp(level, "health", 6) == 0))
		return false;
	if (!slash)
		return true;
	for (size_t i = 0; i < sizeof(discovery_pin_subtopics) / sizeof(*discovery_pin_subtopics);
	     i++)
		if (strcmp(slash + 1, discovery_pin_subtopics[i]) == 0)
			return true;
	return false;
}

/* Whether TOPIC can only have been announced by this machine: a Home Assistant config
 * "<any prefix>/<component>/<our node id>/<object id>/config" (any prefix, so documents under a
 * prefix the configuration no longer uses are still ours to clear) or anything under our Homie
 * device "homie/<our device>/". Both ids are derived from the machine id. */
static bool discovery_topic_ours(const struct discovery *d, const char *topic)
{
	size_t homie_len = strlen("homie/") + strlen(d->topics->homie_device);
	const char *base = d->cfg->mqtt.base_topic, *level;
	const char *levels[4] = { NULL };
	const char *end = topic + strlen(topic);
	size_t n = 0, node_len = strlen(d->topics->ha_node), base_len = strlen(base);

	/* A pin's state one level under our base topic, or its brightness, rate or position. */
	if (strncmp(topic, base, base_len) == 0 && topic[base_len] == '/') {
		level = topic + base_len + 1;
		return discovery_pin_level_ours(level);
	}
	if (strncmp(topic, "homie/", 6) == 0 && strncmp(topic + 6, d->topics->homie_device,
							strlen(d->topics->homie_device)) == 0 &&
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
	       memcmp(levels[2], d->topics->ha_node, node_len) == 0;
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
