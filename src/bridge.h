/* SPDX-License-Identifier: MIT */
#pragma once

/* The bridge logic, pure: no I/O, no clock, no libraries. Edges and commands go in, actions
 * come out (drive an output, publish a state), and main.c carries them out. Unit tests drive
 * these functions directly. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum bridge_command {
	BRIDGE_COMMAND_OFF,
	BRIDGE_COMMAND_ON,
	BRIDGE_COMMAND_TOGGLE,
};

/* ON, OFF, TOGGLE, 1, 0, true, false in any case, with surrounding whitespace ignored.
 * Returns 0, or -EINVAL for anything else (including embedded NUL bytes). */
int bridge_command_parse(const void *payload, size_t len, enum bridge_command *out);

/* "ON" or "OFF". */
const char *bridge_state_payload(bool active);

/* Writes "<base>/<name><suffix>" into BUF; -ENAMETOOLONG when it does not fit. */
int bridge_topic_build(char *buf, size_t size, const char *base, const char *name,
		       const char *suffix);

/* When TOPIC is "<base>/<name>/set", points *NAME at <name> inside TOPIC and returns 0;
 * otherwise -ENOENT. */
int bridge_topic_parse_set(const char *base, const char *topic, const char **name,
			   size_t *name_len);

enum bridge_action_type {
	BRIDGE_ACTION_SET_OUTPUT,    /* drive output PIN to ACTIVE */
	BRIDGE_ACTION_PUBLISH_STATE, /* publish the state of PIN, which is ACTIVE */
};

struct bridge_action {
	enum bridge_action_type type;
	size_t pin;
	bool active;
};

#define BRIDGE_ACTIONS_MAX 4

struct bridge_actions {
	struct bridge_action items[BRIDGE_ACTIONS_MAX];
	size_t n;
};

struct bridge;

/* Expected outcomes of bridge_output_command(). */
enum bridge_outcome {
	BRIDGE_OUTCOME_CHANGED = 1,   /* the output changes level; its new state is published */
	BRIDGE_OUTCOME_UNCHANGED = 2, /* already at that level: nothing is driven, state echoed */
};

/* LEVELS holds the level of every pin at start (inputs as read, outputs as requested). */
int bridge_new(struct bridge **out, const struct config_pin *pins, size_t n_pins,
	       const bool *levels);
void bridge_free(struct bridge *bridge);

/* The pin called NAME (NAME_LEN bytes), or -ENOENT. */
int bridge_pin_find(const struct bridge *bridge, const char *name, size_t name_len, size_t *pin);
bool bridge_pin_active(const struct bridge *bridge, size_t pin);
size_t bridge_pin_count(const struct bridge *bridge);

/* An input reached level ACTIVE: publish it unless the state already says so (a duplicate
 * report after lost edges). Returns 0, -EINVAL for an output or an unknown pin. */
int bridge_input_edge(struct bridge *bridge, size_t pin, bool active,
		      struct bridge_actions *actions);

/* A command for PIN: returns a bridge_outcome with the actions to take, -EPERM when PIN is an
 * input, -EINVAL for an unknown pin. */
int bridge_output_command(struct bridge *bridge, size_t pin, enum bridge_command command,
			  struct bridge_actions *actions);

/* The line of PIN was read back as ACTIVE (e.g. after a failed set): the state follows it. */
void bridge_pin_sync(struct bridge *bridge, size_t pin, bool active);
