/* SPDX-License-Identifier: MIT */
#pragma once

/* Home Assistant MQTT discovery and the Homie 4 device tree. Pure where it can be: the
 * configuration and the machine's id go in, lists of messages (topic, payload, retain) come out,
 * and announce.c publishes them. Reading the machine id and the list of announced topics (kept in the
 * state directory, so a pin removed from the configuration gets its retained documents cleared)
 * are the only file I/O, in separate functions at the end.
 *
 * JSON is built with cJSON (Debian libcjson-dev): it escapes '"', '\' and control characters and
 * passes UTF-8 through unchanged, which is what Home Assistant parses.
 *
 * Ids: a 16-hex-digit machine id derived from /etc/machine-id (never the machine id itself,
 * which machine-id(5) asks not to expose) names the device. Every topic and id of the documents
 * comes from src/topics.h, which owns the layout. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "kind.h"
#include "topics.h"

/* Test hook: the file read instead of /etc/machine-id. */
#define DISCOVERY_MACHINE_ID_ENV "GPIO2MQTT_MACHINE_ID_FILE"
#define DISCOVERY_MACHINE_ID_FILE "/etc/machine-id"
#define DISCOVERY_ID_LEN TOPICS_ID_LEN /* hex digits of the derived id */
/* In the state directory: every retained discovery topic published, one per line. */
#define DISCOVERY_TOPICS_FILE "discovery.topics"

#define DISCOVERY_HOMIE_ROOT "homie"
#define DISCOVERY_HOMIE_VERSION "4.0.0"

struct discovery_message {
	char *topic;
	char *payload; /* NUL-terminated; "" clears a retained message */
	bool retain;
};

struct discovery_messages {
	struct discovery_message *items;
	size_t n;
	size_t cap;
};

void discovery_messages_clear(struct discovery_messages *list);

struct discovery;

/* TOPICS: the configuration's topics (topics_new() with the id of discovery_id_derive()), which
 * must outlive the object; NAME: the device's friendly name (the hostname); VERSION: the
 * daemon's. Returns 0 or -ENOMEM. */
int discovery_new(struct discovery **out, const struct topics *topics, const char *name,
		  const char *version);
void discovery_free(struct discovery *d);

/* Derives the id from the contents of a machine-id file (32 hex digits, surrounding whitespace
 * ignored, any case): a 64-bit FNV-1a hash of "gpio2mqtt:" and the lowercase id, as 16 hex
 * digits. Returns 0, or -EINVAL when MACHINE_ID is not 32 hex digits. */
int discovery_id_derive(const char *machine_id, char out[DISCOVERY_ID_LEN + 1]);

/* The id when no machine id can be read: derived from NAME (the hostname), so it changes with
 * it. */
void discovery_id_from_name(const char *name, char out[DISCOVERY_ID_LEN + 1]);

/* True when a message on TOPIC with PAYLOAD is Home Assistant coming online (its birth message),
 * which asks for every config and then every state again. */
bool discovery_ha_online(const struct discovery *d, const char *topic, const char *payload,
			 size_t len);

/* Appends every Home Assistant config (retained JSON on
 * <prefix>/<component>/<node_id>/<object_id>/config) when that is on. */
int discovery_ha_configs(const struct discovery *d, struct discovery_messages *out);
/* The value of a button's Homie event property for EVENT: "single"... or, with
 * discovery.homie_events = "openhab", "SHORT_PRESSED"... (openHAB's system.button trigger). */
const char *discovery_homie_event_word(const struct config *cfg, enum kind_event event);

/* Appends the Homie tree when Homie is on: $state "init", the device, node and property
 * attributes. Not the property values and not "ready": those follow the states. */
int discovery_homie_tree(const struct discovery *d, struct discovery_messages *out);

/* Every retained topic this configuration publishes, but <base>/status (configs, Homie
 * attributes, $state and property values, and each pin's retained state), sorted: the list kept
 * in the state file, so that what a removed pin left on the broker is cleared. */
int discovery_topics_owned(const struct discovery *d, char ***topics, size_t *n);
/* Appends an empty retained message for every topic of PREVIOUS not in OWNED (both sorted) that
 * only this machine can have announced (a Home Assistant config under its node id, whatever the
 * prefix, or a topic under its Homie device): a list that names other topics (a hand-edited or
 * hostile file) never clears what is not ours. */
int discovery_removals(const struct discovery *d, char *const *previous, size_t n_previous,
		       char *const *owned, size_t n_owned, struct discovery_messages *out);
void discovery_topics_free(char **topics, size_t n);

/* ---- file I/O --------------------------------------------------------------------------- */

/* Reads the machine id from $GPIO2MQTT_MACHINE_ID_FILE, else /etc/machine-id, and derives the
 * id. Returns 0, -EINVAL when the file does not hold a machine id, or a negative errno. */
int discovery_id_read(char out[DISCOVERY_ID_LEN + 1]);

#define DISCOVERY_TOPICS_SIZE_MAX (1024 * 1024) /* bytes: far more than any configuration owns */

/* Reads the announced topics from PATH (sorted, duplicates dropped). Returns 0 (an absent file is
 * an empty list), FILE_READ_NOT_REGULAR or FILE_READ_TOO_LARGE (src/file.h: not read, an empty
 * list) or a negative errno. */
int discovery_topics_load(const char *path, char ***topics, size_t *n);
/* Writes TOPICS to PATH atomically (temporary file, fsync, rename). */
int discovery_topics_save(const char *path, char *const *topics, size_t n);
