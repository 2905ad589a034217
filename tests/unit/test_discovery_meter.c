/* SPDX-License-Identifier: MIT */
/* A counter's kind (kind_counter.c) and discovery (discovery.c, topics.c): Home Assistant's two sensors with what the
 * Energy dashboard needs (device_class energy/water/gas, state_class total_increasing, a unit it
 * accepts), the rate as power or volume_flow_rate, and the Homie node with its units. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_schema.h"
#include "kind.h"
#include "discovery.h"
#include "tap.h"
#include "topics.h"

#define ID "0123456789abcdef"
#define NODE "gpio2mqtt_" ID

static const struct discovery_message *find(const struct discovery_messages *l, const char *topic)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].topic, topic) == 0)
			return &l->items[i];
	return NULL;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static void check_sensor(const struct discovery_messages *l, const char *object_id,
			 const char *state_topic, const char *device_class, const char *state_class,
			 const char *unit, int precision)
{
	char topic[256];
	const struct discovery_message *m;
	cJSON *obj;

	snprintf(topic, sizeof(topic), "homeassistant/sensor/" NODE "/%s/config", object_id);
	m = find(l, topic);
	if (!tap_ok(m && m->retain, "%s: a retained sensor config", object_id))
		return;
	obj = cJSON_Parse(m->payload);
	if (!tap_ok(obj != NULL, "%s: JSON", object_id))
		return;
	tap_is_str(str(obj, "state_topic"), state_topic, "%s: state_topic", object_id);
	tap_is_str(str(obj, "device_class"), device_class, "%s: device_class", object_id);
	tap_is_str(str(obj, "state_class"), state_class, "%s: state_class", object_id);
	tap_is_str(str(obj, "unit_of_measurement"), unit, "%s: unit", object_id);
	tap_is_int((long long)cJSON_GetNumberValue(
			   cJSON_GetObjectItemCaseSensitive(obj, "suggested_display_precision")),
		   precision, "%s: suggested_display_precision", object_id);
	tap_ok(strstr(str(obj, "unique_id"), object_id) != NULL, "%s: unique_id has the object id",
	       object_id);
	tap_ok(cJSON_GetObjectItemCaseSensitive(obj, "device") &&
		       cJSON_GetObjectItemCaseSensitive(obj, "availability"),
	       "%s: device and availability", object_id);
	tap_ok(!cJSON_GetObjectItemCaseSensitive(obj, "command_topic"),
	       "%s: no command topic", object_id);
	cJSON_Delete(obj);
}

/* The Homie attribute homie/<device>/PATH is WANT. */
static void homie_is(const struct discovery_messages *l, const char *path, const char *want,
		     const char *desc)
{
	char topic[256];
	const struct discovery_message *m;

	snprintf(topic, sizeof(topic), "homie/gpio2mqtt-" ID "/%s", path);
	m = find(l, topic);
	tap_is_str(m ? m->payload : "(none)", want, "Homie: %s", desc);
}

int main(void)
{
	struct discovery_messages ha = { 0 }, homie = { 0 };
	struct config_errors errors = { 0 };
	struct discovery *d = NULL;
	struct topics *t = NULL;
	struct config *cfg = NULL;

	if (!tap_ok(config_load("config/good/counter.conf", &cfg, &errors) == 0, "config loads") ||
	    !tap_ok(topics_new(&t, cfg, ID) == 0, "topics") ||
	    !tap_ok(discovery_new(&d, t, "pi", "1.0") == 0, "discovery"))
		return tap_done();
	/* The kind: no ON/OFF state, no events, no commands under the output rules, not in
	 * outputs.state; a "sensor" in Home Assistant. */
	{
		const struct config_pin *p = &cfg->pins[0];
		const struct pin_kind *k = kind_of(p);

		tap_ok(config_pin_kind(p) == CONFIG_KIND_COUNTER && k == &kind_counter,
		       "mode = \"counter\" is the counter kind");
		tap_ok(k->is_counter && !k->has_state(p) && !k->has_events && !k->is_output &&
			       !k->persists(p) && !k->edge,
		       "a counter: no state, events, commands, restore or bridge logic");
		tap_is_str(k->ha_component(p), "sensor", "its component is a sensor");
		tap_ok(t->pins[0].rate && strcmp(t->pins[0].rate, "gpio2mqtt/pi/electricity/rate") == 0,
		       "its rate topic");
		tap_ok(!t->pins[0].commands, "no pulse subscription (commands: set only)");
	}
	tap_ok(discovery_ha_configs(d, &ha) == 0, "Home Assistant configs");
	check_sensor(&ha, "electricity", "gpio2mqtt/pi/electricity", "energy", "total_increasing",
		     "kWh", 3);
	check_sensor(&ha, "electricity_rate", "gpio2mqtt/pi/electricity/rate", "power",
		     "measurement", "W", 0);
	check_sensor(&ha, "water", "gpio2mqtt/pi/water", "water", "total_increasing", "m³", 3);
	check_sensor(&ha, "water_rate", "gpio2mqtt/pi/water/rate", "volume_flow_rate",
		     "measurement", "L/min", 1);
	check_sensor(&ha, "gas", "gpio2mqtt/pi/gas", "gas", "total_increasing", "m³", 2);
	check_sensor(&ha, "gas_rate", "gpio2mqtt/pi/gas/rate", "volume_flow_rate", "measurement",
		     "m³/h", 3);
	tap_ok(!find(&ha, "homeassistant/binary_sensor/" NODE "/electricity/config"),
	       "a counter is no binary sensor");

	tap_ok(discovery_homie_tree(d, &homie) == 0, "the Homie tree");
	homie_is(&homie, "$nodes", "electricity,water,gas", "every counter is a node");
	homie_is(&homie, "water/$properties", "total,rate", "its properties: total and rate");
	homie_is(&homie, "water/total/$unit", "m³", "total's unit");
	homie_is(&homie, "water/rate/$unit", "L/min", "rate's unit");
	homie_is(&homie, "gas/rate/$datatype", "float", "a float");
	homie_is(&homie, "electricity/$type", "meter", "$type meter");

	discovery_messages_clear(&ha);
	discovery_messages_clear(&homie);
	discovery_free(d);
	topics_free(t);
	config_free(cfg);
	return tap_done();
}
