/* SPDX-License-Identifier: MIT */
/* The semantic checks of single values (config_check.h), without libconfig: config.c runs them
 * from the rows' hooks and reports their messages at the key's FILE:LINE. */
#include "config_check.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_text.h"
#include "file.h"

#define CONFIG_CLIENT_ID_MAX 128

static const char *const config_reserved_names[] = { "status", "health", NULL };

/* Sets *MESSAGE to the formatted problem. Returns CONFIG_CHECK_PROBLEM or -ENOMEM. */
static int config_problem(char **message, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int config_problem(char **message, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(message, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*message = NULL;
		return -ENOMEM;
	}
	return CONFIG_CHECK_PROBLEM;
}

int config_check_host(const char *ctx, const char *host, char **message)
{
	for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return config_problem(message, "%s: host must not contain spaces or control "
						       "characters", ctx);
	}
	return CONFIG_CHECK_OK;
}

int config_check_client_id(const char *id, char **message)
{
	size_t len = strlen(id);

	if (len > CONFIG_CLIENT_ID_MAX)
		return config_problem(message, "mqtt: client_id must be at most %d characters (is %zu)",
				      CONFIG_CLIENT_ID_MAX, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= 0x20 || c >= 0x7f)
			return config_problem(message, "mqtt: client_id must be printable ASCII without "
						       "spaces");
	}
	return CONFIG_CHECK_OK;
}

int config_check_base_topic(const char *topic, char **message)
{
	char quoted[CONFIG_QUOTE_MAX];

	config_quote(quoted, sizeof(quoted), topic);
	switch (config_topic_check(topic, false)) {
	case CONFIG_TOPIC_OK:
		return CONFIG_CHECK_OK;
	case CONFIG_TOPIC_UTF8:
		return config_problem(message, "mqtt: base_topic %s is not valid UTF-8", quoted);
	case CONFIG_TOPIC_WILDCARD:
		return config_problem(message, "mqtt: base_topic %s must not contain '+' or '#' (MQTT "
					       "wildcards)", quoted);
	case CONFIG_TOPIC_CONTROL:
		return config_problem(message, "mqtt: base_topic %s must not contain control "
					       "characters", quoted);
	case CONFIG_TOPIC_DOLLAR:
		return config_problem(message, "mqtt: base_topic %s must not start with '$' (reserved "
					       "for broker topics)", quoted);
	case CONFIG_TOPIC_EMPTY_LEVEL:
	default:
		return config_problem(message, "mqtt: base_topic %s must not have empty levels (no "
					       "leading or trailing '/', no '//')", quoted);
	}
}

int config_check_discovery_topic(const char *key, const char *value, char **message)
{
	char quoted[CONFIG_QUOTE_MAX];

	if (config_topic_check(value, false) == CONFIG_TOPIC_OK)
		return CONFIG_CHECK_OK;
	config_quote(quoted, sizeof(quoted), value);
	return config_problem(message, "discovery: %s %s must be a valid topic: UTF-8, no '+' "
				       "or '#', no control characters, not starting with '$', no "
				       "empty levels", key, quoted);
}

int config_check_pin_name(const char *ctx, const char *name, char **message)
{
	char quoted[CONFIG_QUOTE_MAX];

	config_quote(quoted, sizeof(quoted), name);
	switch (config_topic_check(name, true)) {
	case CONFIG_TOPIC_OK:
		break;
	case CONFIG_TOPIC_EMPTY:
		return config_problem(message, "%s: name must not be empty", ctx);
	case CONFIG_TOPIC_TOO_LONG:
		return config_problem(message, "%s: name must be at most %d bytes (is %zu)", ctx,
				      CONFIG_NAME_MAX, strlen(name));
	case CONFIG_TOPIC_UTF8:
		return config_problem(message, "%s: name %s is not valid UTF-8", ctx, quoted);
	case CONFIG_TOPIC_WILDCARD:
		return config_problem(message, "%s: name %s must not contain '+' or '#' (MQTT "
					       "wildcards)", ctx, quoted);
	case CONFIG_TOPIC_SLASH:
		return config_problem(message, "%s: name %s must not contain '/' (it is one topic "
					       "level)", ctx, quoted);
	case CONFIG_TOPIC_CONTROL:
		return config_problem(message, "%s: name %s must not contain control characters", ctx,
				      quoted);
	case CONFIG_TOPIC_DOLLAR:
	default:
		return config_problem(message, "%s: name %s must not start with '$' (reserved for "
					       "broker topics)", ctx, quoted);
	}
	for (const char *const *r = config_reserved_names; *r; r++) {
		if (strcmp(*r, name) == 0)
			return config_problem(message, "%s: name %s is reserved (it would collide with "
						       "<base>/%s)", ctx, quoted, name);
	}
	return CONFIG_CHECK_OK;
}

/* Home Assistant's binary_sensor device classes are lowercase words joined by '_' ("door",
 * "garage_door"); the list grows with Home Assistant, so only the form is checked. */
/* Home Assistant's binary_sensor device classes (homeassistant/components/binary_sensor, 2026):
 * anything else makes Home Assistant drop the entity, and say so only in its own log. */
static const char *const config_ha_binary_sensor_classes[] = {
	"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
	"garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
	"occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety",
	"smoke", "sound", "tamper", "update", "vibration", "window",
};

int config_check_device_class(const char *ctx, const char *value, char **message)
{
	size_t n = sizeof(config_ha_binary_sensor_classes) / sizeof(config_ha_binary_sensor_classes[0]);
	char quoted[CONFIG_QUOTE_MAX];
	const char *best = NULL;
	size_t best_score = 3; /* a near miss (case, one or two letters), not a mere prefix */

	for (size_t i = 0; i < n; i++) {
		const char *c = config_ha_binary_sensor_classes[i];
		size_t score;

		if (strcmp(value, c) == 0)
			return CONFIG_CHECK_OK;
		score = config_key_closeness(value, c);
		if (score < best_score) {
			best_score = score;
			best = c;
		}
	}
	/* Words people use for a class that Home Assistant names otherwise. */
	static const char *const aliases[][2] = {
		{ "contact", "opening" }, { "reed", "opening" }, { "pir", "motion" },
		{ "water", "moisture" },  { "leak", "moisture" }, { "flood", "moisture" },
		{ "fire", "smoke" },
	};
	for (size_t i = 0; !best && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(value, aliases[i][0]) == 0)
			best = aliases[i][1];
	/* "garage door", "Garage-Door": the same words with another separator or case. */
	if (!best) {
		char folded[64];
		size_t i;

		for (i = 0; value[i] && i + 1 < sizeof(folded); i++)
			folded[i] = value[i] == ' ' || value[i] == '-' ?
					    '_' :
					    (char)tolower((unsigned char)value[i]);
		folded[i] = '\0';
		for (size_t k = 0; k < n; k++)
			if (strcmp(folded, config_ha_binary_sensor_classes[k]) == 0)
				best = config_ha_binary_sensor_classes[k];
	}
	config_quote(quoted, sizeof(quoted), value);
	if (best)
		return config_problem(message, "%s: device_class %s is not a Home Assistant binary "
					       "sensor class (did you mean \"%s\"?)",
				      ctx, quoted, best);
	return config_problem(message, "%s: device_class %s is not a Home Assistant binary sensor "
				       "class; one of: door, window, garage_door, opening, motion, "
				       "occupancy, presence, moisture, smoke, gas, ... (gpio2mqtt(5) "
				       "lists all %zu)",
			      ctx, quoted, n);
}

int config_check_line_number(const char *ctx, int n, char **message)
{
	return config_problem(message, "%s: line must be a string: a line name such as \"GPIO%d\" "
				       "(gpioinfo lists them), or chip and offset = %d",
			      ctx, n, n);
}

int config_check_line_reuse(const char *ctx, const struct config_line *line,
			    const struct config_line *other, const char *other_ctx, int other_line,
			    char **message)
{
	char quoted[CONFIG_QUOTE_MAX];

	if (line->name && other->name && strcmp(line->name, other->name) == 0) {
		config_quote(quoted, sizeof(quoted), line->name);
		return config_problem(message, "%s: line %s already used by %s (line %d)", ctx,
				      quoted, other_ctx, other_line);
	}
	if (line->chip && other->chip && strcmp(line->chip, other->chip) == 0 &&
	    line->offset == other->offset) {
		config_quote(quoted, sizeof(quoted), line->chip);
		return config_problem(message, "%s: chip %s offset %u already used by %s (line %d)",
				      ctx, quoted, line->offset, other_ctx, other_line);
	}
	return CONFIG_CHECK_OK;
}

int config_check_display_name(const char *ctx, const char *key, const char *value,
			      char **message)
{
	if (strlen(value) > CONFIG_DISPLAY_NAME_MAX)
		return config_problem(message, "%s: %s must be at most %d bytes (is %zu)", ctx, key,
				      CONFIG_DISPLAY_NAME_MAX, strlen(value));
	if (!config_text_valid(value))
		return config_problem(message, "%s: %s must be valid UTF-8 without control "
					       "characters", ctx, key);
	return CONFIG_CHECK_OK;
}

/* Presses shorter than the debounce period never reach us. */
int config_check_long_press(const char *ctx, const struct config_pin *pin, char **message)
{
	if (pin->long_press_ms <= pin->debounce_ms)
		return config_problem(message, "%s: long_press_ms (%u) must be longer than "
					       "debounce_ms (%u)", ctx, pin->long_press_ms,
				      pin->debounce_ms);
	return CONFIG_CHECK_OK;
}

int config_check_double_press(const char *ctx, const struct config_pin *pin, char **message)
{
	if (pin->double_press_ms && pin->double_press_ms <= pin->debounce_ms)
		return config_problem(message, "%s: double_press_ms (%u) must be longer than "
					       "debounce_ms (%u), or 0 to turn double presses off",
				      ctx, pin->double_press_ms, pin->debounce_ms);
	return CONFIG_CHECK_OK;
}

int config_check_pulse(const char *ctx, const struct config_pin *pin, char **message)
{
	if (pin->pulse_ms && pin->power_on != CONFIG_POWER_ON_OFF)
		return config_problem(message, "%s: pulse_ms cannot be combined with power_on = \"%s\" "
					       "(a pulse output starts OFF)", ctx,
				      pin->power_on == CONFIG_POWER_ON_ON ? "on" : "restore");
	return CONFIG_CHECK_OK;
}

int config_check_tls_path(const char *key, bool dir, const char *value, char **message)
{
	char quoted[CONFIG_QUOTE_MAX];
	struct stat st;

	config_quote(quoted, sizeof(quoted), value);
	if (stat(value, &st) < 0)
		return config_problem(message, "mqtt.tls: cannot read %s %s: %s", key, quoted,
				      strerror(errno));
	if (dir && !S_ISDIR(st.st_mode))
		return config_problem(message, "mqtt.tls: %s %s is not a directory", key, quoted);
	if (!dir && S_ISDIR(st.st_mode))
		return config_problem(message, "mqtt.tls: %s %s is a directory, not a file", key,
				      quoted);
	if (access(value, R_OK | (dir ? X_OK : 0)) < 0)
		return config_problem(message, "mqtt.tls: cannot read %s %s: %s", key, quoted,
				      strerror(errno));
	return CONFIG_CHECK_OK;
}

int config_secret_read(const char *ctx, const char *what, const char *path, char **out,
		       char **message)
{
	char quoted[CONFIG_QUOTE_MAX];
	char *data = NULL;
	size_t len;
	int r;

	config_quote(quoted, sizeof(quoted), path);
	/* A regular file of bounded size only: a FIFO would block --check and the start for ever,
	 * a device such as /dev/zero would never end. */
	r = file_read_regular(path, CONFIG_SECRET_SIZE_MAX, &data, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return config_problem(message, "%s: cannot read %s %s: %s", ctx, what, quoted,
				      strerror(-r));
	if (r > 0)
		return config_problem(message, "%s: cannot read %s %s: %s", ctx, what, quoted,
				      r == FILE_READ_MISSING	 ? strerror(ENOENT) :
				      r == FILE_READ_TOO_LARGE ? "it is larger than a password file "
								   "can be (4 KiB)" :
								   file_read_outcome_string(r));
	len = strcspn(data, "\n");
	while (len > 0 && data[len - 1] == '\r')
		len--;
	data[len] = '\0';
	if (len == 0) {
		r = config_problem(message, "%s: %s %s is empty (the password is its first line)", ctx,
				   what, quoted);
		explicit_bzero(data, CONFIG_SECRET_SIZE_MAX);
		free(data);
		return r;
	}
	*out = data;
	return CONFIG_CHECK_OK;
}

/* A counter's sensor classes: the three Home Assistant's Energy dashboard takes, each with the
 * units it accepts for the total and for the rate (power, volume_flow_rate). */
struct config_meter_class {
	const char *name;
	const char *const units[8];
	const char *const rate_units[11];
};
static const struct config_meter_class config_meter_classes[] = {
	{ "energy", { "Wh", "kWh", "MWh", "GWh", "MJ", "GJ" }, { "W", "kW", "MW", "GW" } },
	{ "water", { "L", "m³", "ft³", "gal", "CCF", "MCF" },
	  { "m³/h", "m³/s", "L/min", "L/h", "L/s", "mL/s", "ft³/min", "gal/min", "gal/h", "gal/d" } },
	{ "gas", { "m³", "ft³", "CCF", "MCF" },
	  { "m³/h", "m³/s", "L/min", "L/h", "L/s", "ft³/min", "gal/min", "gal/h", "gal/d" } },
};

static const struct config_meter_class *config_meter_class_find(const char *name)
{
	for (size_t i = 0; i < sizeof(config_meter_classes) / sizeof(config_meter_classes[0]); i++)
		if (strcmp(config_meter_classes[i].name, name ? name : "energy") == 0)
			return &config_meter_classes[i];
	return NULL;
}

int config_check_pin_device_class(const char *ctx, const struct config_pin *pin, const char *value,
				  char **message)
{
	char quoted[CONFIG_QUOTE_MAX];

	if (pin->direction != CONFIG_DIRECTION_INPUT || pin->mode != CONFIG_INPUT_MODE_COUNTER)
		return config_check_device_class(ctx, value, message);
	if (config_meter_class_find(value))
		return CONFIG_CHECK_OK;
	config_quote(quoted, sizeof(quoted), value);
	return config_problem(message, "%s: device_class %s is not a meter's class; one of: "
				       "\"energy\", \"water\", \"gas\"", ctx, quoted);
}

int config_check_pin_payload(const char *ctx, const struct config_pin *pin, char **message)
{
	if (pin->payload != CONFIG_PAYLOAD_JSON || pin->direction != CONFIG_DIRECTION_INPUT ||
	    pin->mode != CONFIG_INPUT_MODE_COUNTER)
		return CONFIG_CHECK_OK;
	return config_problem(message, "%s: payload = \"json\" does not apply to a counter: it "
				       "publishes plain numbers and takes plain commands (a total "
				       "such as 12345.678, or reset)", ctx);
}

int config_check_counter_unit(const char *ctx, const struct config_pin *pin, const char *key,
			      const char *value, char **message)
{
	const struct config_meter_class *c = config_meter_class_find(pin->device_class);
	bool rate = strcmp(key, "rate_unit") == 0;
	const char *const *units, *v = value ? value : (rate ? "W" : "kWh");
	char quoted[CONFIG_QUOTE_MAX], list[160] = "";
	size_t n, used = 0;

	const char *def = rate ? "W" : "kWh"; /* the rows' defaults, for energy */

	if (!c)
		return CONFIG_CHECK_OK; /* a wrong device_class is reported at its own line */
	units = rate ? c->rate_units : c->units;
	n = rate ? sizeof(c->rate_units) / sizeof(c->rate_units[0])
		 : sizeof(c->units) / sizeof(c->units[0]);
	for (size_t i = 0; i < n && units[i]; i++) {
		if (strcmp(units[i], v) == 0)
			return CONFIG_CHECK_OK;
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s\"%s\"",
					 i ? ", " : "", units[i]);
		if (used >= sizeof(list))
			break;
	}
	if (!value)
		return config_problem(message, "%s: a %s meter needs %s (its default \"%s\" is for "
					       "energy); one of: %s", ctx, c->name, key, def, list);
	config_quote(quoted, sizeof(quoted), value);
	return config_problem(message, "%s: %s %s is not a unit Home Assistant takes for a%s %s "
				       "meter%s; one of: %s", ctx, key, quoted,
			      c->name[0] == 'e' ? "n" : "", c->name,
			      pin->device_class ? "" : " (device_class is \"energy\" unless set)",
			      list);
}
