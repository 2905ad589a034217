/* SPDX-License-Identifier: MIT */
#pragma once

/* The MQTT topic layout, in one place. Every topic of a configuration is built once, when it is
 * loaded (or reloaded): the daemon's own (<base>/status, <base>/health, the subscriptions), each
 * pin's (<base>/<name>, /set, /pulse, /event), the ids discovery names things by, and the
 * Home Assistant and Homie topics. Incoming topics are routed by topics_route(). Nothing else
 * formats a topic: discovery.c asks here for the topics of its documents.
 *
 *   <base>/status                     online | offline (retained; the Last Will without Homie)
 *   <base>/health, <base>/health/get  the health report and the request for one
 *   <base>/<name>                     a pin's state
 *   <base>/<name>/set, /pulse         commands to an output
 *   <base>/<name>/event               button events
 *   <base>/<name>/rate                a counter's rate (its total is on <base>/<name>)
 *   <prefix>/status                   Home Assistant's birth message
 *   <prefix>/<component>/<node>/<object>/config   Home Assistant discovery
 *   homie/<device>/...                the Homie 4 tree; .../<node>/state/set commands
 *
 * Ids: a 16-hex-digit id derived from the machine id (discovery_id_derive()) names the device:
 * "gpio2mqtt_<id>" for Home Assistant, "gpio2mqtt-<id>" for Homie (a-z, 0-9, '-' only). Pin
 * names become object and node ids; a name that is not already a valid id is cleaned and gets a
 * short hash of the full name, so two names never share an id. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define TOPICS_ID_LEN 16 /* hex digits of the device id */
#define TOPICS_HOMIE_ROOT "homie"
/* Home Assistant's birth topic unless discovery.birth_topic says otherwise. */
#define TOPICS_HA_BIRTH_DEFAULT "homeassistant/status"

struct topics_pin {
	char *state;       /* <base>/<name> */
	char *set;         /* <base>/<name>/set */
	char *pulse;       /* <base>/<name>/pulse */
	char *event;       /* <base>/<name>/event */
	char *object_id;   /* Home Assistant object id */
	char *node_id;     /* Homie node id */
	char *homie_state; /* homie/<device>/<node>/state; NULL: Homie off or no state */
	char *homie_event; /* homie/<device>/<node>/event; NULL: Homie off or no events */
	char *homie_set;   /* homie/<device>/<node>/state/set; NULL: Homie off or no commands */
	bool has_state;    /* the pin publishes a state */
	bool has_event;    /* the pin publishes button events */
	bool commands;     /* the pin takes commands (set, pulse, Homie set) */
	/* counters (kind->is_counter; NULL for other kinds): the total is on STATE */
	char *rate;        /* <base>/<name>/rate */
	char *homie_total; /* homie/<device>/<node>/total; NULL: Homie off */
	char *homie_rate;  /* homie/<device>/<node>/rate; NULL: Homie off */
	/* PWM lights (NULL for every other kind) */
	char *brightness;  /* <base>/<name>/brightness: the brightness with plain payloads */
	char *homie_brightness;     /* homie/<device>/<node>/brightness; NULL: Homie off */
	char *homie_brightness_set; /* homie/<device>/<node>/brightness/set; NULL: Homie off */
	/* covers only (NULL for every other pin): <base>/<name>/position, and Homie's position
	 * property and its set topic (NULL: Homie off) */
	char *position;
	char *homie_position;
	char *homie_position_set;
};

struct topics {
	const struct config *cfg;
	char ha_node[sizeof("gpio2mqtt_") + TOPICS_ID_LEN];
	char homie_device[sizeof("gpio2mqtt-") + TOPICS_ID_LEN];
	char *status;        /* <base>/status */
	char *health;        /* <base>/health */
	char *health_get;    /* <base>/health/get */
	/* What the daemon subscribes to for commands: every pin's own set topic (an input's too,
	 * so a command sent to it is answered with a warning), every output's pulse topic, and
	 * health/get. Never a wildcard: a malformed retained topic under the base (which a
	 * lenient broker may hold) would otherwise come back at every subscribe, and libmosquitto
	 * drops the connection for it. */
	char **subscriptions;
	size_t n_subscriptions;
	char *ha_status;     /* discovery.birth_topic (Home Assistant's birth message, "online":
			      * announce again); NULL: Home Assistant discovery off */
	char *homie_base;    /* homie/<device>; NULL: Homie off (so are the next two) */
	char *homie_state;   /* homie/<device>/$state */
	struct topics_pin *pins; /* indexed like cfg->pins */
	size_t n_pins;
};

/* Expected outcomes other than 0. */
enum topics_outcome {
	TOPICS_OUTCOME_NONE = 1, /* no such topic for this pin (Homie off, or no such property) */
};

/* ID: TOPICS_ID_LEN lowercase hex digits. CFG must outlive the topics. Returns 0, -EINVAL for a
 * malformed ID, -ENOMEM. */
int topics_new(struct topics **out, const struct config *cfg, const char *id);
void topics_free(struct topics *t);

/* The Home Assistant object id and the Homie node id of PIN; NULL for no such pin. */
const char *topics_object_id(const struct topics *t, size_t pin);
const char *topics_node_id(const struct topics *t, size_t pin);

/* The topic of PIN's Homie property value ("state" or "event") into BUF: 0,
 * TOPICS_OUTCOME_NONE when Homie is off or the pin has no such property, -ENAMETOOLONG. */
int topics_homie_value(const struct topics *t, size_t pin, const char *property, char *buf,
		       size_t size);

/* Newly allocated (NULL: out of memory): "<prefix>/<component>/<node>/<object>/config" of PIN,
 * and the Homie attribute topic "homie/<device>[/<node>[/<property>]]/<attr>" (PIN SIZE_MAX: a
 * device attribute; PROPERTY NULL: a node attribute). */
char *topics_ha_config(const struct topics *t, size_t pin, const char *component);
/* The config topic of an entity of the device itself (not of a pin): OBJECT_ID under our node. */
char *topics_ha_device_config(const struct topics *t, const char *component,
			      const char *object_id);
char *topics_homie_attr(const struct topics *t, size_t pin, const char *property,
			const char *attr);

/* Whether a pin is called NAME (LEN bytes, not NUL-terminated); sets *PIN. */
bool topics_pin_find(const struct topics *t, const char *name, size_t len, size_t *pin);

/* Where an incoming message goes. */
enum topics_route {
	TOPICS_ROUTE_NONE = 1,    /* not one of ours */
	TOPICS_ROUTE_HEALTH_GET,  /* <base>/health/get */
	TOPICS_ROUTE_HA_STATUS,   /* <prefix>/status */
	TOPICS_ROUTE_SET,         /* <base>/<name>/set or Homie .../state/set of an output PIN */
	TOPICS_ROUTE_PULSE,       /* <base>/<name>/pulse of PIN */
	TOPICS_ROUTE_UNKNOWN_PIN, /* <base>/<name>/set or /pulse, no pin called NAME */
	TOPICS_ROUTE_BRIGHTNESS,  /* Homie .../brightness/set of light PIN (0..100 %) */
};

struct topics_match {
	size_t pin;       /* SET, PULSE */
	const char *name; /* SET, PULSE, UNKNOWN_PIN: the name as it appears in the topic */
	size_t name_len;
};

/* Routes TOPIC: returns a topics_route and fills MATCH. Homie commands are tried first, then
 * <base>/<name>/set, then /pulse. */
int topics_route(const struct topics *t, const char *topic, struct topics_match *match);
