/* SPDX-License-Identifier: MIT */
#pragma once

/* A kind of pin (switch input, button input, GPIO output; next: PWM light, pulse counter,
 * cover) is one module, src/kind_<name>.c, that fills in one struct pin_kind: everything the
 * rest of the daemon needs to know about it, in one place.
 *
 * - config:    the keys it adds (read, range-checked and dumped by the config table);
 * - logic:     its pure state machine: edges and timeouts in, events out (bridge.c calls it
 *              and owns what spans kinds: outputs, pulses, interlocks, bindings, "the last
 *              command wins" and "a restart never drives a line to a level it did not have");
 * - topics:    which of <base>/<name>, /set, /pulse, /event it uses (topics.c builds them);
 * - discovery: its Home Assistant component and Homie node type (discovery.c);
 * - restore:   whether its level is kept in the state file (state.c).
 *
 * kind_of() maps a configured pin to its kind; adding a kind means a new file, one line in
 * kind.c, its CONFIG_KIND_ bit with its rows in config_schema.c, and its case in
 * config_pin_kind(). No header here includes another module's but config.h, and
 * no kind calls another module: every arrow points into this interface. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define KIND_NO_DEADLINE UINT64_MAX

/* Events a kind publishes on <base>/<name>/event (and Homie's event property). */
enum kind_event {
	KIND_EVENT_SINGLE,
	KIND_EVENT_DOUBLE,
	KIND_EVENT_LONG,
};

/* "single", "double", "long". */
const char *kind_event_name(enum kind_event event);

/* A pin's logic state, owned by its kind (bridge.c keeps one per pin and never reads STATE). */
struct kind_slot {
	unsigned int state;
	uint64_t deadline; /* when timeout() is due (ms, monotonic); KIND_NO_DEADLINE: never */
};

/* What one call of a kind's logic decided to publish. */
struct kind_events {
	enum kind_event items[4];
	size_t n;
};

struct pin_kind {
	const char *name; /* "switch", "button", "output" */

	/* config: the kind's CONFIG_KIND_ bit (src/config_schema.h). Its keys are the rows of
	 * config_pin_keys whose applies mask has this bit (read, range-checked and dumped by the
	 * config table, "applies only to ..." for a pin of another kind), and config_pin_kind()
	 * says which configured pins are of this kind: kind_of() follows it. */
	uint32_t config_kind;

	/* logic (pure; NULL: the kind has none of its own). START sets the slot for a pin at
	 * LEVEL when the bridge is built; EDGE takes an input's new level at NOW; TIMEOUT runs
	 * once the slot's deadline has passed. Both append what to publish to OUT. */
	void (*start)(const struct config_pin *c, struct kind_slot *s, bool level);
	void (*edge)(const struct config_pin *c, struct kind_slot *s, bool active, uint64_t now,
		     struct kind_events *out);
	void (*timeout)(const struct config_pin *c, struct kind_slot *s, uint64_t now,
			struct kind_events *out);

	/* topics */
	bool (*has_state)(const struct config_pin *c); /* <base>/<name>, retained state */
	bool has_events;                               /* <base>/<name>/event */
	bool is_output;     /* drives its line: takes /set and /pulse, under the output rules */
	bool toggles_on_press; /* a toggle binding acts on each press, not on each change */

	/* discovery: the Home Assistant component of its state entity ("switch", "light",
	 * "binary_sensor"); events get an "event" entity. The Homie node's $type. */
	const char *(*ha_component)(const struct config_pin *c);
	const char *homie_type;

	/* restore: whether its level is kept in the state file across restarts. */
	bool (*persists)(const struct config_pin *c);

	/* A pulse counter (kind_counter.c): its edges, commands and topics are src/meters.c's;
	 * false for every other kind. */
	bool is_counter;
	/* Added for PWM lights (src/kind_light.c): the kind drives its own output (src/lights.c:
	 * a PWM channel, its brightness and fades) rather than a GPIO line under bridge.c's
	 * output rules; bridge.c leaves bindings to it alone, and daemon.c hands it its commands.
	 * false: a GPIO pin. */
	bool own_driver;
};

extern const struct pin_kind kind_switch;
extern const struct pin_kind kind_button;
extern const struct pin_kind kind_output;
extern const struct pin_kind kind_counter;
extern const struct pin_kind kind_light;
extern const struct pin_kind kind_cover;

/* For the input kinds: their state is published with publish_state = true, as a
 * "binary_sensor"; an input is read at start, never restored. */
bool kind_input_has_state(const struct config_pin *c);
const char *kind_input_ha_component(const struct config_pin *c);
bool kind_input_persists(const struct config_pin *c);

/* Kind I of all kinds (0, 1, ...), NULL past the last: for checks over every kind. */
const struct pin_kind *kind_by_index(size_t i);
/* The kind of a configured pin. */
const struct pin_kind *kind_of(const struct config_pin *c);
