/* SPDX-License-Identifier: MIT */
/* The configuration's keys, one table per group (the row format and the recipe for adding a key
 * are in config_schema.h). Plain data and small accessors: no libconfig here. */
#include "config_schema.h"

#include "config_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The offset of FIELD in STRUCT, refusing to compile when the field is not of type TYPE. */
#define CONFIG_FIELD(st, field, type)                                                          \
	(offsetof(st, field) +                                                                 \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((st *)0)->field), type) ? 1 : -1]))
/* The offset of an enum FIELD (enums are read and written as int). */
#define CONFIG_ENUM_FIELD(st, field)                                                           \
	(offsetof(st, field) + 0 * sizeof(char[sizeof(((st *)0)->field) == sizeof(int) ? 1 : -1]))

#define PIN(field, type) CONFIG_FIELD(struct config_pin, field, type)
#define MQTT(field, type) CONFIG_FIELD(struct config_mqtt, field, type)
#define TLS(field, type) CONFIG_FIELD(struct config_tls, field, type)

/* The accepted words of each enum key: data, one table per key, alike in shape by nature (a
 * duplicate finder lists them; there is nothing to share). */
static const struct config_enum_name config_bias_names[] = {
	{ "pull-up", CONFIG_BIAS_PULL_UP },
	{ "pull-down", CONFIG_BIAS_PULL_DOWN },
	{ "disabled", CONFIG_BIAS_DISABLED },
	{ "as-is", CONFIG_BIAS_AS_IS },
	{ NULL, 0 },
};
static const struct config_enum_name config_drive_names[] = {
	{ "push-pull", CONFIG_DRIVE_PUSH_PULL },
	{ "open-drain", CONFIG_DRIVE_OPEN_DRAIN },
	{ "open-source", CONFIG_DRIVE_OPEN_SOURCE },
	{ NULL, 0 },
};
static const struct config_enum_name config_power_on_names[] = {
	{ "off", CONFIG_POWER_ON_OFF },
	{ "on", CONFIG_POWER_ON_ON },
	{ "restore", CONFIG_POWER_ON_RESTORE },
	{ NULL, 0 },
};
static const struct config_enum_name config_on_exit_names[] = {
	{ "keep", CONFIG_ON_EXIT_KEEP },
	{ "off", CONFIG_ON_EXIT_OFF },
	{ NULL, 0 },
};
const struct config_enum_name config_mode_names[] = {
	{ "switch", CONFIG_INPUT_MODE_SWITCH },
	{ "button", CONFIG_INPUT_MODE_BUTTON },
	{ "counter", CONFIG_INPUT_MODE_COUNTER },
	{ NULL, 0 },
};
static const struct config_enum_name config_action_names[] = {
	{ "toggle", CONFIG_BINDING_TOGGLE },
	{ "follow", CONFIG_BINDING_FOLLOW },
	{ "on", CONFIG_BINDING_ON },
	{ "off", CONFIG_BINDING_OFF },
	{ NULL, 0 },
};
static const struct config_enum_name config_when_names[] = {
	{ "always", CONFIG_BINDING_ALWAYS },
	{ "offline", CONFIG_BINDING_OFFLINE },
	{ NULL, 0 },
};
static const struct config_enum_name config_homie_events_names[] = {
	{ "plain", CONFIG_HOMIE_EVENTS_PLAIN },
	{ "openhab", CONFIG_HOMIE_EVENTS_OPENHAB },
	{ NULL, 0 },
};

static const struct config_enum_name config_counter_edge_names[] = {
	{ "rising", CONFIG_COUNTER_EDGE_RISING },
	{ "falling", CONFIG_COUNTER_EDGE_FALLING },
	{ NULL, 0 },
};
static const struct config_enum_name config_payload_names[] = {
	{ "plain", CONFIG_PAYLOAD_PLAIN },
	{ "json", CONFIG_PAYLOAD_JSON },
	{ NULL, 0 },
};
static const struct config_enum_name config_component_names[] = {
	{ "switch", CONFIG_COMPONENT_SWITCH },
	{ "light", CONFIG_COMPONENT_LIGHT },
	{ NULL, 0 },
};
static const struct config_enum_name config_wiring_names[] = {
	{ "up-down", COVER_WIRING_UP_DOWN },
	{ "power-direction", COVER_WIRING_POWER_DIRECTION },
	{ "pulse", COVER_WIRING_PULSE },
	{ NULL, 0 },
};
/* Home Assistant's cover device classes. */
const struct config_enum_name config_cover_class_names[] = {
	{ "shutter", CONFIG_COVER_SHUTTER },
	{ "blind", CONFIG_COVER_BLIND },
	{ "garage", CONFIG_COVER_GARAGE },
	{ "gate", CONFIG_COVER_GATE },
	{ "awning", CONFIG_COVER_AWNING },
	{ "curtain", CONFIG_COVER_CURTAIN },
	{ "shade", CONFIG_COVER_SHADE },
	{ "window", CONFIG_COVER_WINDOW },
	{ "door", CONFIG_COVER_DOOR },
	{ NULL, 0 },
};
static const struct config_enum_name config_protocol_names[] = {
	{ "v5", CONFIG_PROTOCOL_V5 },
	{ "v3.1.1", CONFIG_PROTOCOL_V311 },
	{ NULL, 0 },
};
static const struct config_enum_name config_tls_version_names[] = {
	{ "tlsv1.2", CONFIG_TLS_V1_2 },
	{ "tlsv1.3", CONFIG_TLS_V1_3 },
	{ NULL, 0 },
};

/* Shorthands for the common row shapes; every field not named is 0 / NULL. */
#define ROW_INT(n, off, lo, hi, d, ...)                                                        \
	{ .name = n, .type = CONFIG_KEY_INT, .offset = off, .min = lo, .max = hi, .def = d,     \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
#define ROW_UINT(n, off, lo, hi, d, ...)                                                       \
	{ .name = n, .type = CONFIG_KEY_UINT, .offset = off, .min = lo, .max = hi, .def = d,    \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
#define ROW_BOOL(n, off, d, ...)                                                               \
	{ .name = n, .type = CONFIG_KEY_BOOL, .offset = off, .def = d,                          \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
#define ROW_ENUM(n, off, w, d, ...)                                                            \
	{ .name = n, .type = CONFIG_KEY_ENUM, .offset = off, .words = w, .def = d,              \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
#define ROW_STRING(n, off, ...)                                                                \
	{ .name = n, .type = CONFIG_KEY_STRING, .offset = off, .inherit = CONFIG_NO_INHERIT,    \
	  __VA_ARGS__ }
/* a top-level group, read by config_parse() and printed generically */
#define ROW_GROUP(n, ...)                                                                      \
	{ .name = n, .type = CONFIG_KEY_GROUP, .flags = CONFIG_KEY_BY_HAND,                     \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
/* a group or list read and printed by its hook */
#define ROW_HAND(n, t, h, ...)                                                                 \
	{ .name = n, .type = t, .hook = h, .flags = CONFIG_KEY_BY_HAND | CONFIG_KEY_DUMP_BY_HAND, \
	  .inherit = CONFIG_NO_INHERIT, __VA_ARGS__ }
#define ROW_END { .name = NULL }
/* a cover's output or input, by name (read by config_cover.c; not printed when not set) */
#define ROW_COVER_REF(n, field, h)                                                             \
	{ .name = n, .type = CONFIG_KEY_PIN_REF, .offset = PIN(field, size_t),                  \
	  .inherit = CONFIG_NO_INHERIT, .applies = CONFIG_KIND_COVER, .flags = CONFIG_KEY_BY_HAND, \
	  .hook = h }

/* A broker is part of the connection (CONFIG_KEY_CONNECTION). */
const struct config_key config_broker_keys[] = {
	ROW_STRING("host", CONFIG_FIELD(struct config_broker, host, char *),
		   .flags = CONFIG_KEY_CONNECTION, .hook = CONFIG_HOOK_HOST),
	/* 0: the default (8883 with TLS, else 1883), set once TLS is known */
	ROW_INT("port", CONFIG_FIELD(struct config_broker, port, int), 1, 65535, 0,
		.flags = CONFIG_KEY_CONNECTION),
	ROW_END,
};

/* Every mqtt.tls key is part of the connection. */
#define CONN CONFIG_KEY_CONNECTION
const struct config_key config_tls_keys[] = {
	ROW_STRING("ca_file", TLS(ca_file, char *), .flags = CONN, .hook = CONFIG_HOOK_TLS_FILE),
	ROW_STRING("ca_path", TLS(ca_path, char *), .flags = CONN, .hook = CONFIG_HOOK_TLS_DIR),
	ROW_STRING("cert_file", TLS(cert_file, char *), .flags = CONN, .hook = CONFIG_HOOK_TLS_FILE),
	ROW_STRING("key_file", TLS(key_file, char *), .flags = CONN,
		   .hook = CONFIG_HOOK_TLS_KEY_FILE),
	ROW_STRING("key_password_file", TLS(key_password_file, char *), .flags = CONN,
		   .hook = CONFIG_HOOK_KEY_PASSWORD_FILE),
	ROW_STRING("key_password", TLS(key_password, char *),
		   .flags = CONFIG_KEY_COMMENT | CONFIG_KEY_SECRET | CONN),
	ROW_ENUM("min_version", CONFIG_ENUM_FIELD(struct config_tls, min_version),
		 config_tls_version_names, CONFIG_TLS_V1_2, .flags = CONN),
	ROW_BOOL("insecure_skip_verify", TLS(insecure_skip_verify, bool), false, .flags = CONN),
	ROW_END,
};

/* Rows with CONN make the connection: changed on reload, the client reconnects. */
const struct config_key config_mqtt_keys[] = {
	/* first, as before the tables (messages on one line keep their order); it decides the
	 * brokers' default port */
	ROW_HAND("tls", CONFIG_KEY_GROUP, CONFIG_HOOK_TLS, .offset = MQTT(tls, struct config_tls),
		 .sub = config_tls_keys),
	ROW_HAND("brokers", CONFIG_KEY_LIST, CONFIG_HOOK_BROKERS, .sub = config_broker_keys),
	ROW_STRING("client_id", MQTT(client_id, char *), .flags = CONN,
		   .hook = CONFIG_HOOK_CLIENT_ID),
	ROW_STRING("username", MQTT(username, char *), .flags = CONN),
	ROW_STRING("password_file", MQTT(password_file, char *), .flags = CONN,
		   .hook = CONFIG_HOOK_PASSWORD_FILE),
	ROW_STRING("password", MQTT(password, char *),
		   .flags = CONFIG_KEY_COMMENT | CONFIG_KEY_SECRET | CONN),
	ROW_BOOL("password_from_credential", MQTT(password_from_credential, bool), false,
		 .flags = CONFIG_KEY_COMMENT | CONN),
	ROW_ENUM("protocol", CONFIG_ENUM_FIELD(struct config_mqtt, protocol), config_protocol_names,
		 CONFIG_PROTOCOL_V5, .flags = CONN),
	ROW_INT("keepalive", MQTT(keepalive, int), 5, 3600, 60, .flags = CONN),
	/* the Last Will's topic */
	ROW_STRING("base_topic", MQTT(base_topic, char *), .flags = CONN,
		   .hook = CONFIG_HOOK_BASE_TOPIC),
	ROW_INT("qos", MQTT(qos, int), 0, 2, 1, .range = "0, 1 or 2"),
	ROW_BOOL("retain", MQTT(retain, bool), true),
	ROW_BOOL("accept_retained_commands", MQTT(accept_retained_commands, bool), false),
	ROW_INT("reconnect_min_ms", MQTT(reconnect_min_ms, int), 100, 60000, 500, .flags = CONN),
	/* the minimum is reconnect_min_ms: read by the hook */
	ROW_INT("reconnect_max_ms", MQTT(reconnect_max_ms, int), 100, 600000, 30000,
		.flags = CONFIG_KEY_BY_HAND | CONN, .hook = CONFIG_HOOK_RECONNECT_MAX),
	ROW_INT("offline_events", MQTT(offline_events, int), 0, 100000, 100, .flags = CONN),
	ROW_INT("health_interval_s", MQTT(health_interval_s, int), 0, 86400, 60,
		.range = "between 0 (no periodic health) and 86400"),
	ROW_END,
};
#undef CONN

const struct config_key config_binding_keys[] = {
	ROW_ENUM("action", CONFIG_ENUM_FIELD(struct config_binding, action), config_action_names,
		 CONFIG_BINDING_TOGGLE),
	ROW_ENUM("when", CONFIG_ENUM_FIELD(struct config_binding, when), config_when_names,
		 CONFIG_BINDING_ALWAYS),
	/* resolved once every pin is known */
	{ .name = "output", .type = CONFIG_KEY_PIN_REF,
	  .offset = CONFIG_FIELD(struct config_binding, output, size_t),
	  .inherit = CONFIG_NO_INHERIT, .flags = CONFIG_KEY_BY_HAND,
	  .hook = CONFIG_HOOK_BINDING_OUTPUT },
	ROW_END,
};

/* Pins: inputs and outputs share one table; applies says which kinds a key belongs to. */
const struct config_key config_pin_keys[] = {
	ROW_STRING("name", PIN(name, char *),
		   .flags = CONFIG_KEY_BY_HAND | CONFIG_KEY_NAMES_GROUP, .hook = CONFIG_HOOK_NAME),
	/* line, or chip + offset: all three read by the line hook */
	ROW_STRING("line", PIN(line.name, char *), .flags = CONFIG_KEY_BY_HAND,
		   .hook = CONFIG_HOOK_LINE, .applies = CONFIG_KINDS_GPIO),
	ROW_STRING("chip", PIN(line.chip, char *), .flags = CONFIG_KEY_BY_HAND,
		   .applies = CONFIG_KINDS_GPIO),
	ROW_UINT("offset", PIN(line.offset, unsigned int), 0, 65535, 0,
		 .flags = CONFIG_KEY_BY_HAND | CONFIG_KEY_DUMP_BY_HAND, .hook = CONFIG_HOOK_OFFSET,
		 .applies = CONFIG_KINDS_GPIO),
	/* REQUEST: part of the line request (config_pin_request_equal) */
	ROW_ENUM("bias", CONFIG_ENUM_FIELD(struct config_pin, bias), config_bias_names,
		 CONFIG_BIAS_AS_IS, .flags = CONFIG_KEY_REQUEST, .applies = CONFIG_KINDS_GPIO),
	ROW_BOOL("active_low", PIN(active_low, bool), false, .flags = CONFIG_KEY_REQUEST,
		 .applies = CONFIG_KINDS_GPIO),
	ROW_UINT("debounce_ms", PIN(debounce_ms, unsigned int), 0, 10000, 0,
		 .applies = CONFIG_KINDS_INPUT, .flags = CONFIG_KEY_REQUEST),
	ROW_ENUM("mode", CONFIG_ENUM_FIELD(struct config_pin, mode), config_mode_names,
		 CONFIG_INPUT_MODE_SWITCH, .applies = CONFIG_KINDS_INPUT),
	/* default: true for switches, false for buttons (the hook) */
	ROW_BOOL("publish_state", PIN(publish_state, bool), true,
		 .applies = CONFIG_KIND_SWITCH | CONFIG_KIND_BUTTON,
		 .hook = CONFIG_HOOK_PUBLISH_STATE),
	ROW_STRING("device_class", PIN(device_class, char *), .applies = CONFIG_KINDS_INPUT,
		   .hook = CONFIG_HOOK_DEVICE_CLASS),
	ROW_STRING("display_name", PIN(display_name, char *), .hook = CONFIG_HOOK_DISPLAY_NAME),
	ROW_UINT("double_press_ms", PIN(double_press_ms, unsigned int), 0, 5000, 400,
		 .applies = CONFIG_KIND_BUTTON),
	ROW_UINT("long_press_ms", PIN(long_press_ms, unsigned int), 100, 60000, 800,
		 .applies = CONFIG_KIND_BUTTON, .hook = CONFIG_HOOK_BUTTON_TIMES),
	ROW_HAND("bindings", CONFIG_KEY_LIST, CONFIG_HOOK_BINDINGS,
		 .applies = CONFIG_KIND_SWITCH | CONFIG_KIND_BUTTON,
		   .sub = config_binding_keys),
	ROW_ENUM("drive", CONFIG_ENUM_FIELD(struct config_pin, drive), config_drive_names,
		 CONFIG_DRIVE_PUSH_PULL, .applies = CONFIG_KINDS_OUTPUT, .flags = CONFIG_KEY_REQUEST),
	ROW_ENUM("power_on", CONFIG_ENUM_FIELD(struct config_pin, power_on), config_power_on_names,
		 CONFIG_POWER_ON_OFF, .applies = CONFIG_KINDS_OUTPUT | CONFIG_KIND_LIGHT),
	ROW_ENUM("on_exit", CONFIG_ENUM_FIELD(struct config_pin, on_exit), config_on_exit_names,
		 CONFIG_ON_EXIT_KEEP, .applies = CONFIG_KINDS_OUTPUT | CONFIG_KIND_LIGHT),
	/* after power_on: the hook checks the two together */
	ROW_UINT("pulse_ms", PIN(pulse_ms, unsigned int), 0, 86400000, 0,
		 .applies = CONFIG_KINDS_OUTPUT, .hook = CONFIG_HOOK_PULSE),
	ROW_ENUM("component", CONFIG_ENUM_FIELD(struct config_pin, component),
		 config_component_names, CONFIG_COMPONENT_SWITCH, .applies = CONFIG_KINDS_OUTPUT),
	/* PWM lights: the channel and its curve (read and printed by src/config_light.c), the
	 * default fade, the time of a ramp by hand, the brightness scale */
	ROW_HAND("pwm", CONFIG_KEY_GROUP, CONFIG_HOOK_PWM, .applies = CONFIG_KIND_LIGHT),
	ROW_UINT("transition_ms", PIN(transition_ms, unsigned int), 0, 3600000, 300,
		 .applies = CONFIG_KIND_LIGHT),
	ROW_UINT("dim_ms", PIN(dim_ms, unsigned int), 500, 60000, 4000,
		 .applies = CONFIG_KIND_LIGHT),
	ROW_UINT("brightness_scale", PIN(brightness_scale, unsigned int), 1, 10000, 100,
		 .applies = CONFIG_KIND_LIGHT),
	{ .name = "accept_retained", .type = CONFIG_KEY_BOOL, .offset = PIN(accept_retained, bool),
	  .inherit = MQTT(accept_retained_commands, bool) },
	ROW_ENUM("payload", CONFIG_ENUM_FIELD(struct config_pin, payload), config_payload_names,
		 CONFIG_PAYLOAD_PLAIN, .hook = CONFIG_HOOK_PAYLOAD),
	{ .name = "qos", .type = CONFIG_KEY_INT, .offset = PIN(qos, int), .min = 0, .max = 2,
	  .range = "0, 1 or 2", .inherit = MQTT(qos, int) },
	{ .name = "retain", .type = CONFIG_KEY_BOOL, .offset = PIN(retain, bool),
	  .inherit = MQTT(retain, bool) },
	/* counters (mode = "counter"; src/meter.h) */
	ROW_ENUM("edge", CONFIG_ENUM_FIELD(struct config_pin, counter_edge),
		 config_counter_edge_names, CONFIG_COUNTER_EDGE_RISING, .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("pulses_per_unit", PIN(pulses_per_unit, unsigned int), 1, 1000000, 1000,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("precision", PIN(precision, unsigned int), 0, 6, 3, .applies = CONFIG_KIND_COUNTER),
	ROW_STRING("unit", PIN(unit, char *), .def_string = "kWh", .applies = CONFIG_KIND_COUNTER,
		   .hook = CONFIG_HOOK_COUNTER_UNIT),
	ROW_STRING("rate_unit", PIN(rate_unit, char *), .def_string = "W",
		   .applies = CONFIG_KIND_COUNTER, .hook = CONFIG_HOOK_COUNTER_UNIT),
	ROW_UINT("rate_scale", PIN(rate_scale, unsigned int), 1, 1000000, 1000,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("rate_period_s", PIN(rate_period_s, unsigned int), 1, 86400, 3600,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("rate_precision", PIN(rate_precision, unsigned int), 0, 6, 0,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("rate_interval_ms", PIN(rate_interval_ms, unsigned int), 0, 3600000, 10000,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("rate_threshold_pct", PIN(rate_threshold_pct, unsigned int), 0, 1000, 5,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("rate_timeout_s", PIN(rate_timeout_s, unsigned int), 1, 86400, 600,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("save_pulses", PIN(save_pulses, unsigned int), 0, 1000000, 100,
		 .applies = CONFIG_KIND_COUNTER),
	ROW_UINT("save_interval_s", PIN(save_interval_s, unsigned int), 1, 86400, 60,
		 .applies = CONFIG_KIND_COUNTER),
	/* covers (src/cover.h; read and checked by config_cover.c) */
	ROW_ENUM("class", CONFIG_ENUM_FIELD(struct config_pin, cover_class),
		 config_cover_class_names, CONFIG_COVER_SHUTTER, .applies = CONFIG_KIND_COVER),
	ROW_ENUM("wiring", CONFIG_ENUM_FIELD(struct config_pin, cover.wiring), config_wiring_names,
		 COVER_WIRING_UP_DOWN, .applies = CONFIG_KIND_COVER),
	ROW_COVER_REF("up", cover_relay[COVER_RELAY_UP], CONFIG_HOOK_COVER_RELAY),
	ROW_COVER_REF("down", cover_relay[COVER_RELAY_DOWN], CONFIG_HOOK_COVER_RELAY),
	ROW_COVER_REF("power", cover_relay[COVER_RELAY_POWER], CONFIG_HOOK_COVER_RELAY),
	ROW_COVER_REF("direction", cover_relay[COVER_RELAY_DIRECTION], CONFIG_HOOK_COVER_RELAY),
	ROW_COVER_REF("output", cover_relay[COVER_RELAY_PULSE], CONFIG_HOOK_COVER_RELAY),
	ROW_UINT("press_ms", PIN(cover.pulse_ms, unsigned int), 1, 10000, 500,
		 .applies = CONFIG_KIND_COVER),
	/* required: 0 is "not set" (config_cover.c) */
	ROW_UINT("travel_up_ms", PIN(cover.travel_up_ms, unsigned int), 0, 600000, 0,
		 .applies = CONFIG_KIND_COVER),
	ROW_UINT("travel_down_ms", PIN(cover.travel_down_ms, unsigned int), 0, 600000, 0,
		 .applies = CONFIG_KIND_COVER),
	ROW_UINT("start_delay_ms", PIN(cover.start_delay_ms, unsigned int), 0, 10000, 0,
		 .applies = CONFIG_KIND_COVER),
	ROW_UINT("dead_time_ms", PIN(cover_dead_ms, unsigned int), 0, 60000, 500,
		 .applies = CONFIG_KIND_COVER),
	/* 0: the default, worked out from the travel times (config_cover.c) */
	ROW_UINT("max_run_ms", PIN(cover.max_run_ms, unsigned int), 0, 3600000, 0,
		 .applies = CONFIG_KIND_COVER),
	ROW_COVER_REF("closed_endstop", cover_endstop[COVER_END_CLOSED], CONFIG_HOOK_COVER_ENDSTOP),
	ROW_COVER_REF("open_endstop", cover_endstop[COVER_END_OPEN], CONFIG_HOOK_COVER_ENDSTOP),
	ROW_COVER_REF("up_button", cover_button[1], CONFIG_HOOK_COVER_ENDSTOP),
	ROW_COVER_REF("down_button", cover_button[0], CONFIG_HOOK_COVER_ENDSTOP),
	ROW_ENUM("button_when", CONFIG_ENUM_FIELD(struct config_pin, cover_button_when),
		 config_when_names, CONFIG_BINDING_ALWAYS, .applies = CONFIG_KIND_COVER),
	/* while it moves, the position this often; 0: only when it starts and stops */
	ROW_UINT("position_interval_ms", PIN(cover.position_interval_ms, unsigned int), 0, 60000,
		 1000, .applies = CONFIG_KIND_COVER),
	ROW_COVER_REF("obstruction", cover_obstruction, CONFIG_HOOK_COVER_ENDSTOP),
	ROW_END,
};

const struct config_key config_interlock_keys[] = {
	ROW_UINT("wait_ms", CONFIG_FIELD(struct config_interlock, wait_ms, unsigned int), 0, 60000,
		 500),
	ROW_HAND("outputs", CONFIG_KEY_LIST, CONFIG_HOOK_INTERLOCK_OUTPUTS),
	ROW_END,
};

const struct config_key config_discovery_keys[] = {
	ROW_BOOL("homeassistant", CONFIG_FIELD(struct config_discovery, homeassistant, bool), true),
	ROW_BOOL("homie", CONFIG_FIELD(struct config_discovery, homie, bool), false),
	ROW_ENUM("homie_events", CONFIG_ENUM_FIELD(struct config_discovery, homie_events),
		 config_homie_events_names, CONFIG_HOMIE_EVENTS_PLAIN),
	ROW_STRING("device_name", CONFIG_FIELD(struct config_discovery, device_name, char *),
		   .hook = CONFIG_HOOK_DISPLAY_NAME),
	ROW_STRING("prefix", CONFIG_FIELD(struct config_discovery, prefix, char *),
		   .def_string = "homeassistant", .hook = CONFIG_HOOK_PREFIX),
	/* Home Assistant's birth message: its own setting, as in Home Assistant, where it does
	 * not follow the discovery prefix. */
	ROW_STRING("birth_topic", CONFIG_FIELD(struct config_discovery, birth_topic, char *),
		   .def_string = "homeassistant/status", .hook = CONFIG_HOOK_PREFIX),
	ROW_END,
};

/* The top level: read in the order config.c's config_parse() needs (pins before interlocks),
 * printed in table order. */
const struct config_key config_top_keys[] = {
	ROW_GROUP("mqtt", .offset = CONFIG_FIELD(struct config, mqtt, struct config_mqtt),
		  .sub = config_mqtt_keys,
		  .shape = "mqtt = { brokers = ( { host = \"...\"; } ); ... };"),
	ROW_HAND("inputs", CONFIG_KEY_LIST, CONFIG_HOOK_INPUTS, .sub = config_pin_keys),
	ROW_HAND("outputs", CONFIG_KEY_LIST, CONFIG_HOOK_OUTPUTS, .sub = config_pin_keys),
	ROW_HAND("lights", CONFIG_KEY_LIST, CONFIG_HOOK_LIGHTS, .sub = config_pin_keys),
	ROW_HAND("interlocks", CONFIG_KEY_LIST, CONFIG_HOOK_INTERLOCKS,
		   .sub = config_interlock_keys),
	ROW_HAND("covers", CONFIG_KEY_LIST, CONFIG_HOOK_COVERS, .sub = config_pin_keys),
	ROW_STRING("state_dir", CONFIG_FIELD(struct config, state_dir, char *),
		   .def_string = "/var/lib/gpio2mqtt", .hook = CONFIG_HOOK_STATE_DIR),
	ROW_GROUP("discovery",
		  .offset = CONFIG_FIELD(struct config, discovery, struct config_discovery),
		  .sub = config_discovery_keys, .shape = "discovery = { homeassistant = true; };"),
	ROW_END,
};

const struct config_key *config_key_find(const struct config_key *table, const char *name)
{
	for (; table->name; table++) {
		if (strcmp(table->name, name) == 0)
			return table;
	}
	return NULL;
}

bool config_key_applies(const struct config_key *row, uint32_t kind)
{
	return row->applies == 0 || (row->applies & kind) != 0;
}

uint32_t config_kind_family(uint32_t kind)
{
	if (kind == CONFIG_KINDS_ANY)
		return kind;
	if (kind == CONFIG_KIND_COVER)
		return CONFIG_KIND_COVER;
	if (kind == CONFIG_KIND_LIGHT)
		return kind;
	if (kind & CONFIG_KINDS_INPUT)
		return CONFIG_KINDS_INPUT;
	return CONFIG_KINDS_OUTPUT;
}

uint32_t config_pin_kind(const struct config_pin *pin)
{
	if (pin->is_cover)
		return CONFIG_KIND_COVER;
	if (pin->light)
		return CONFIG_KIND_LIGHT;
	if (pin->direction == CONFIG_DIRECTION_OUTPUT)
		return CONFIG_KIND_OUTPUT;
	if (pin->mode == CONFIG_INPUT_MODE_COUNTER)
		return CONFIG_KIND_COUNTER;
	return pin->mode == CONFIG_INPUT_MODE_BUTTON ? CONFIG_KIND_BUTTON : CONFIG_KIND_SWITCH;
}

const char *config_pin_word(const struct config_pin *pin)
{
	if (pin->light)
		return "light";
	if (pin->direction == CONFIG_DIRECTION_COVER)
		return "cover";
	return pin->direction == CONFIG_DIRECTION_INPUT ? "input" : "output";
}

const char *config_kind_modes(uint32_t applies)
{
	if (applies == CONFIG_KIND_COUNTER)
		return "\"counter\"";
	if ((applies & CONFIG_KINDS_INPUT) == (CONFIG_KIND_SWITCH | CONFIG_KIND_BUTTON))
		return "\"switch\" or \"button\"";
	return applies & CONFIG_KIND_BUTTON ? "\"button\"" : "\"switch\"";
}

long long config_key_get(const struct config_key *row, const void *base)
{
	const char *at = (const char *)base + row->offset;
	unsigned int u;
	bool b;
	int i;

	switch (row->type) {
	case CONFIG_KEY_UINT:
		memcpy(&u, at, sizeof(u));
		return u;
	case CONFIG_KEY_BOOL:
		memcpy(&b, at, sizeof(b));
		return b;
	case CONFIG_KEY_INT:
	case CONFIG_KEY_ENUM:
		memcpy(&i, at, sizeof(i));
		return i;
	default:
		return 0;
	}
}

void config_key_set(const struct config_key *row, void *base, long long value)
{
	char *at = (char *)base + row->offset;
	unsigned int u = (unsigned int)value;
	bool b = value != 0;
	int i = (int)value;

	switch (row->type) {
	case CONFIG_KEY_UINT:
		memcpy(at, &u, sizeof(u));
		break;
	case CONFIG_KEY_BOOL:
		memcpy(at, &b, sizeof(b));
		break;
	case CONFIG_KEY_INT:
	case CONFIG_KEY_ENUM:
		memcpy(at, &i, sizeof(i));
		break;
	default:
		break;
	}
}

char **config_key_string_at(const struct config_key *row, void *base)
{
	return (char **)(void *)((char *)base + row->offset);
}

const char *config_key_string_get(const struct config_key *row, const void *base)
{
	const char *value;

	memcpy(&value, (const char *)base + row->offset, sizeof(value));
	return value;
}

const char *config_key_suggest(const struct config_key *table, uint32_t family, const char *key)
{
	/* Words other GPIO tools use for a key that has another name here. */
	static const char *const aliases[][2] = {
		{ "pull", "bias" },	   { "pull_up", "bias" },      { "pullup", "bias" },
		{ "pud", "bias" },	   { "invert", "active_low" }, { "inverted", "active_low" },
		{ "gpio", "line" },	   { "pin", "line" },	       { "initial", "power_on" },
		{ "initial_state", "power_on" },
	};
	size_t best_closeness = 4;
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		const struct config_key *row;

		if (strcasecmp(key, aliases[i][0]) != 0)
			continue;
		row = config_key_find(table, aliases[i][1]);
		if (row && !(row->flags & CONFIG_KEY_COMMENT) && config_key_applies(row, family))
			return row->name;
	}

	for (const struct config_key *row = table; row->name; row++) {
		size_t c;

		if ((row->flags & CONFIG_KEY_COMMENT) || !config_key_applies(row, family))
			continue;
		c = config_key_closeness(key, row->name);
		if (c < best_closeness) {
			best_closeness = c;
			best = row->name;
		}
	}
	return best;
}

/* The note for a key that belongs to pins of the other direction. */
const char *config_key_owner_note(const struct config_key *row)
{
	if (row->applies == CONFIG_KIND_LIGHT)
		return "only lights have it";
	if (row->applies == CONFIG_KINDS_GPIO)
		return "a light has no GPIO line";
	if (row->applies == CONFIG_KIND_COVER)
		return "only covers have it";
	if ((row->applies & CONFIG_KINDS_INPUT) == row->applies)
		return "only inputs have it";
	return "only outputs have it";
}

bool config_enum_lookup(const struct config_enum_name *names, const char *word, int *value)
{
	for (; names->name; names++) {
		if (strcmp(names->name, word) == 0) {
			*value = names->value;
			return true;
		}
	}
	return false;
}

void config_enum_list(const struct config_enum_name *names, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; names->name && used < size; names++) {
		int n = snprintf(buf + used, size - used, "%s\"%s\"", used ? ", " : "", names->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void config_keys_default(const struct config_key *table, void *base, const void *inherit_from)
{
	for (const struct config_key *row = table; row->name; row++) {
		long long value = row->def;

		if (row->flags & CONFIG_KEY_COMMENT)
			continue;
		if (row->inherit != CONFIG_NO_INHERIT && inherit_from) {
			struct config_key from = *row;

			from.offset = row->inherit;
			value = config_key_get(&from, inherit_from);
		}
		config_key_set(row, base, value);
	}
}

/* Moved here from config.c (which must stay within 1200 lines) unchanged. */
int config_defaults_finish(struct config *cfg)
{
	char host[CONFIG_HOST_MAX + 1];

	config_hostname_get(host, sizeof(host));
	if (!cfg->mqtt.client_id && asprintf(&cfg->mqtt.client_id, "gpio2mqtt-%s", host) < 0) {
		cfg->mqtt.client_id = NULL;
		return -ENOMEM;
	}
	if (!cfg->mqtt.base_topic && asprintf(&cfg->mqtt.base_topic, "gpio2mqtt/%s", host) < 0) {
		cfg->mqtt.base_topic = NULL;
		return -ENOMEM;
	}
	return 0;
}

const char *config_enum_to_string(const struct config_enum_name *names, int value)
{
	for (; names->name; names++) {
		if (names->value == value)
			return names->name;
	}
	return "?";
}

const char *config_bias_to_string(enum config_bias bias)
{
	return config_enum_to_string(config_bias_names, (int)bias);
}

const char *config_drive_to_string(enum config_drive drive)
{
	return config_enum_to_string(config_drive_names, (int)drive);
}

/* ---- freeing ---------------------------------------------------------------------------- */

/* Frees every STRING field of TABLE in BASE, wiping a SECRET one first. */
static void config_keys_free(const struct config_key *table, void *base)
{
	for (const struct config_key *row = table; row->name; row++) {
		char **at;

		if (row->type != CONFIG_KEY_STRING)
			continue;
		at = config_key_string_at(row, base);
		if (*at && (row->flags & CONFIG_KEY_SECRET))
			explicit_bzero(*at, strlen(*at));
		free(*at);
		*at = NULL;
	}
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->mqtt.n_brokers; i++)
		config_keys_free(config_broker_keys, &cfg->mqtt.brokers[i]);
	free(cfg->mqtt.brokers);
	config_keys_free(config_mqtt_keys, &cfg->mqtt);
	config_keys_free(config_tls_keys, &cfg->mqtt.tls);
	for (size_t i = 0; i < cfg->n_pins; i++) {
		config_keys_free(config_pin_keys, &cfg->pins[i]);
		free(cfg->pins[i].bindings);
		free(cfg->pins[i].pwm.chip);
	}
	free(cfg->pins);
	for (size_t i = 0; i < cfg->n_interlocks; i++)
		free(cfg->interlocks[i].outputs);
	free(cfg->interlocks);
	config_keys_free(config_discovery_keys, &cfg->discovery);
	config_keys_free(config_top_keys, cfg);
	free(cfg->path);
	free(cfg);
}

/* ---- comparing (reload) ----------------------------------------------------------------- */

static bool config_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether A and B agree on every row of TABLE that has FLAG and applies to KIND. */
static bool config_keys_equal(const struct config_key *table, const void *a, const void *b,
			      uint32_t flag, uint32_t kind)
{
	for (const struct config_key *row = table; row->name; row++) {
		if (!(row->flags & flag) || !config_key_applies(row, kind))
			continue;
		if (row->type == CONFIG_KEY_STRING) {
			if (!config_str_equal(config_key_string_get(row, a),
					      config_key_string_get(row, b)))
				return false;
		} else if (config_key_get(row, a) != config_key_get(row, b)) {
			return false;
		}
	}
	return true;
}

bool config_pin_line_equal(const struct config_pin *a, const struct config_pin *b)
{
	if (a->line.chip || b->line.chip)
		return config_str_equal(a->line.chip, b->line.chip) &&
		       a->line.offset == b->line.offset;
	return config_str_equal(a->line.name, b->line.name);
}

bool config_pin_request_equal(const struct config_pin *a, const struct config_pin *b)
{
	return config_pin_line_equal(a, b) && a->direction == b->direction &&
	       config_keys_equal(config_pin_keys, a, b, CONFIG_KEY_REQUEST, config_pin_kind(a));
}

bool config_mqtt_connection_equal(const struct config_mqtt *a, const struct config_mqtt *b)
{
	if (a->n_brokers != b->n_brokers || a->tls.enabled != b->tls.enabled)
		return false;
	for (size_t i = 0; i < a->n_brokers; i++) {
		if (!config_keys_equal(config_broker_keys, &a->brokers[i], &b->brokers[i],
				       CONFIG_KEY_CONNECTION, CONFIG_KINDS_ANY))
			return false;
	}
	return config_keys_equal(config_mqtt_keys, a, b, CONFIG_KEY_CONNECTION, CONFIG_KINDS_ANY) &&
	       config_keys_equal(config_tls_keys, &a->tls, &b->tls, CONFIG_KEY_CONNECTION,
				 CONFIG_KINDS_ANY);
}
