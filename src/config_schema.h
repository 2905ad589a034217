/* SPDX-License-Identifier: MIT */
#pragma once

/* Every configuration key, declared once: one table per group of the file (top level, mqtt,
 * mqtt.brokers[], mqtt.tls, inputs[]/outputs[], bindings[], interlocks[], discovery). The tables
 * are plain data; config.c reads a group by walking its table (libconfig stays there), and
 * config_dump.c prints a group (gpio2mqtt --check -v) by walking the same table.
 *
 * One row (struct config_key) says:
 *   name     the key as written in the file
 *   type     how it is read and printed and what C type the field has (enum config_key_type)
 *   offset   where the value lands in the group's struct (CONFIG_FIELD checks the field's type)
 *   min/max  the accepted range of an integer; range replaces "between MIN and MAX" in the
 *            message when the plain wording would mislead ("0, 1 or 2")
 *   words    the accepted words of an enum key, with their values
 *   def      the default of an integer, bool or enum key; def_string that of a string key
 *            (NULL: not set, and then it is not printed)
 *   inherit  a pin key whose default is the mqtt group's key of the same meaning (qos, ...):
 *            the offset in struct config_mqtt, or CONFIG_NO_INHERIT
 *   applies  the pin kinds it applies to (CONFIG_KIND_*); 0: every kind (and every non-pin
 *            group). In a pin of another kind of the same direction the key is an error
 *            ("applies only to mode = ..."), in a pin of the other direction an unknown key.
 *   flags    CONFIG_KEY_* below
 *   hook     the hand-written part, run by config.c right after the row is read (the semantic
 *            checks: names, lines, bindings, interlocks, secrets, TLS files) and used by
 *            config_dump.c for rows it cannot print generically. CONFIG_HOOK_NONE for plain keys.
 *   sub      a GROUP or LIST row: the table of the group, or of each element
 *   shape    a top-level GROUP: how it is written, for "KEY must be a group: SHAPE"
 * Rows are read in table order, and printed in table order: the order is part of the format
 * (errors on one line come out in reading order; the golden dumps follow it).
 *
 * Adding a key:
 *   1. add the field to its struct in config.h (with its meaning and default in a comment);
 *   2. add one row to the group's table in config_schema.c (type, field, range or words,
 *      default, applies), e.g. for a (made-up) pin key of outputs only:
 *        ROW_UINT("hold_ms", PIN(hold_ms, unsigned int), 0, 60000, 0,
 *                 .applies = CONFIG_KINDS_OUTPUT),
 *      and CONFIG_KEY_REQUEST / CONFIG_KEY_CONNECTION in .flags when a change on reload must
 *      re-request the line / reconnect;
 *   3. only when the key needs more than a type and range check (a file that must exist, a
 *      relation to another key): add a CONFIG_HOOK_ value, its case in config_hook_run()
 *      (config.c), and its case in config_dump_hook() (config_dump.c) if it is not printed like
 *      its type;
 *   4. regenerate the golden dumps (GOLDEN_UPDATE=1 meson test config-dump) and review their
 *      diff. Freeing (config_free) and the reload comparisons (CONFIG_KEY_REQUEST,
 *      CONFIG_KEY_CONNECTION) follow from the row.
 * A new pin kind adds its CONFIG_KIND_ bit, its rows to config_pin_keys (applies = its bit) and
 * its case in config_pin_kind(). Two messages know today's kinds and grow with a new one: "KEY
 * applies only to mode = ..." (config_group_read) and "only inputs have it"
 * (config_key_owner_note). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* An accepted word of an enum key. Tables end with { NULL, 0 }. */
struct config_enum_name {
	const char *name;
	int value;
};

/* What a row's field is. */
enum config_key_type {
	CONFIG_KEY_INT,     /* int, an integer in the file */
	CONFIG_KEY_UINT,    /* unsigned int, an integer in the file */
	CONFIG_KEY_BOOL,    /* bool, true or false */
	CONFIG_KEY_ENUM,    /* an enum, one of the row's words */
	CONFIG_KEY_STRING,  /* char *, a non-empty string; NULL when not set */
	CONFIG_KEY_PIN_REF, /* size_t, an index into config.pins written as the pin's name */
	CONFIG_KEY_GROUP,   /* a group of its own (sub): read by its hook or config_parse(),
			     * printed from sub unless DUMP_BY_HAND */
	CONFIG_KEY_LIST,    /* a list or array: read and printed by the row's hook */
};

/* Pin kinds, as bits of a row's applies mask. */
enum config_kind {
	CONFIG_KIND_SWITCH = 1u << 0, /* input, mode = "switch" */
	CONFIG_KIND_BUTTON = 1u << 1, /* input, mode = "button" */
	CONFIG_KIND_OUTPUT = 1u << 2, /* GPIO output */
	CONFIG_KIND_LIGHT = 1u << 3,  /* PWM light (lights = ( ... )) */
	CONFIG_KIND_COUNTER = 1u << 5, /* input, mode = "counter" (a meter's pulses) */
	CONFIG_KIND_COVER = 1u << 6,  /* a cover (src/cover.h): drives outputs, has no line */
};
#define CONFIG_KINDS_INPUT (CONFIG_KIND_SWITCH | CONFIG_KIND_BUTTON | CONFIG_KIND_COUNTER)
#define CONFIG_KINDS_OUTPUT CONFIG_KIND_OUTPUT
#define CONFIG_KINDS_GPIO (CONFIG_KINDS_INPUT | CONFIG_KIND_OUTPUT) /* a pin with a GPIO line */
#define CONFIG_KINDS_ANY UINT32_MAX /* a group that is not a pin */

enum config_key_flag {
	/* Read by the row's hook, not by the generic reader (the row still names a known key
	 * and, unless its type says otherwise, is printed generically). */
	CONFIG_KEY_BY_HAND = 1u << 0,
	/* Not a key: a value worked out at load time, printed as a comment ("# password = ..."). */
	CONFIG_KEY_COMMENT = 1u << 1,
	/* Printed as "<hidden>", never as itself. */
	CONFIG_KEY_SECRET = 1u << 2,
	/* Names the group in messages ("input 'hall'"): read before the group's keys are
	 * checked, so that those messages carry the name. */
	CONFIG_KEY_NAMES_GROUP = 1u << 3,
	/* Printed by the row's hook in config_dump.c. */
	CONFIG_KEY_DUMP_BY_HAND = 1u << 4,
	/* Part of a GPIO line's request: changed on reload, the line is requested again
	 * (config_pin_request_equal). */
	CONFIG_KEY_REQUEST = 1u << 5,
	/* Part of the MQTT connection: changed on reload, the client reconnects
	 * (config_mqtt_connection_equal). */
	CONFIG_KEY_CONNECTION = 1u << 6,
};

/* The hand-written part of a row (see the header comment). */
enum config_hook {
	CONFIG_HOOK_NONE,
	/* top level (mqtt and discovery are groups read by config_parse()) */
	CONFIG_HOOK_INPUTS,
	CONFIG_HOOK_OUTPUTS,
	CONFIG_HOOK_INTERLOCKS,
	CONFIG_HOOK_STATE_DIR,
	/* mqtt */
	CONFIG_HOOK_BROKERS,
	CONFIG_HOOK_CLIENT_ID,
	CONFIG_HOOK_PASSWORD_FILE,
	CONFIG_HOOK_BASE_TOPIC,
	CONFIG_HOOK_RECONNECT_MAX,
	CONFIG_HOOK_TLS,
	/* mqtt.brokers[] */
	CONFIG_HOOK_HOST,
	/* mqtt.tls */
	CONFIG_HOOK_TLS_FILE,
	CONFIG_HOOK_TLS_DIR,
	CONFIG_HOOK_TLS_KEY_FILE,
	CONFIG_HOOK_KEY_PASSWORD_FILE,
	/* pins */
	CONFIG_HOOK_NAME,
	CONFIG_HOOK_LINE,
	CONFIG_HOOK_OFFSET,
	CONFIG_HOOK_PUBLISH_STATE,
	CONFIG_HOOK_DEVICE_CLASS,
	CONFIG_HOOK_DISPLAY_NAME, /* display_name, device_name: text for people */
	CONFIG_HOOK_BUTTON_TIMES,
	CONFIG_HOOK_BINDINGS,
	CONFIG_HOOK_PULSE,
	/* bindings[] */
	CONFIG_HOOK_BINDING_OUTPUT,
	/* interlocks[] */
	CONFIG_HOOK_INTERLOCK_OUTPUTS,
	/* discovery */
	CONFIG_HOOK_PREFIX,
	/* covers (read by config_cover.c) */
	CONFIG_HOOK_COVERS,
	CONFIG_HOOK_COVER_RELAY,
	CONFIG_HOOK_COVER_ENDSTOP, /* an input: an end-stop or a wall button */
	/* counters (unit, rate_unit) */
	CONFIG_HOOK_COUNTER_UNIT,
	/* PWM lights (src/config_light.c) */
	CONFIG_HOOK_LIGHTS,
	CONFIG_HOOK_PWM,
	/* payload: "json" is refused where a kind publishes plain values only (counters) */
	CONFIG_HOOK_PAYLOAD,
};

#define CONFIG_NO_INHERIT SIZE_MAX

struct config_key {
	const char *name;
	enum config_key_type type;
	size_t offset;
	long long min, max;
	const char *range;
	const struct config_enum_name *words;
	long long def;
	const char *def_string;
	size_t inherit;
	uint32_t applies;
	uint32_t flags;
	enum config_hook hook;
	const struct config_key *sub; /* GROUP and LIST: the table of the group or of each element */
	const char *shape; /* a top-level GROUP: how it is written, for "must be a group" */
};

/* The tables; each ends with a row whose name is NULL. */
extern const struct config_key config_top_keys[];
extern const struct config_key config_mqtt_keys[];
extern const struct config_key config_broker_keys[];
extern const struct config_key config_tls_keys[];
extern const struct config_key config_pin_keys[];
extern const struct config_key config_binding_keys[];
extern const struct config_key config_interlock_keys[];
extern const struct config_key config_discovery_keys[];

extern const struct config_enum_name config_mode_names[];
extern const struct config_enum_name config_cover_class_names[];

/* The row called NAME, or NULL. */
const struct config_key *config_key_find(const struct config_key *table, const char *name);

/* Whether ROW applies to a pin of KIND (a CONFIG_KIND_ bit, or CONFIG_KINDS_ANY). */
bool config_key_applies(const struct config_key *row, uint32_t kind);
/* The kinds that share KIND's direction (the keys a pin of KIND may carry at all). */
uint32_t config_kind_family(uint32_t kind);
/* The kind of PIN as read so far (its direction and mode). */
uint32_t config_pin_kind(const struct config_pin *pin);
/* "input", "output", "light" or "cover": the pin's list in the file, for messages. */
const char *config_pin_word(const struct config_pin *pin);
/* The modes an input key with APPLIES belongs to, for "KEY applies only to mode = ...":
 * "\"button\"", "\"switch\" or \"button\"". */
const char *config_kind_modes(uint32_t applies);

/* Sets every field of TABLE in BASE to its default (INT, UINT, BOOL and ENUM rows; a row with
 * inherit takes the value at that offset of INHERIT_FROM when it is not NULL). */
void config_keys_default(const struct config_key *table, void *base, const void *inherit_from);

/* The defaults that come from the hostname (mqtt.client_id, mqtt.base_topic) where the file
 * set none. Returns 0 or -ENOMEM. */
int config_defaults_finish(struct config *cfg);

/* The value of an INT, UINT, BOOL or ENUM row's field in BASE, and setting it. */
long long config_key_get(const struct config_key *row, const void *base);
void config_key_set(const struct config_key *row, void *base, long long value);
/* The address of a STRING row's field in BASE. */
char **config_key_string_at(const struct config_key *row, void *base);
const char *config_key_string_get(const struct config_key *row, const void *base);

/* The closest key to the unknown KEY among the rows applying to FAMILY, or NULL when none is
 * close ("did you mean"). */
const char *config_key_suggest(const struct config_key *table, uint32_t family, const char *key);
/* The note for a key that belongs to pins of the other direction ("only inputs have it"). */
const char *config_key_owner_note(const struct config_key *row);

/* Sets *VALUE to WORD's value in NAMES; false when WORD is not one of them. */
bool config_enum_lookup(const struct config_enum_name *names, const char *word, int *value);
/* The words of NAMES for a message: "a", "b", "c". */
void config_enum_list(const struct config_enum_name *names, char *buf, size_t size);
/* The word of VALUE in NAMES, or "?". */
const char *config_enum_to_string(const struct config_enum_name *names, int value);
