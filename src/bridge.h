/* SPDX-License-Identifier: MIT */
#pragma once

/* The bridge logic, pure: no I/O, no clock, no libraries. Edges, commands and the time go in,
 * actions come out (drive an output, publish a state or a button event), and daemon.c carries
 * them out and arms one timer for bridge_next_deadline(). Unit tests drive these functions
 * directly.
 *
 * Invariants: an output's level changes only through one function, which also publishes it; at
 * most one output of an interlock group is ON at any time, and after one goes OFF the group's
 * wait passes before another goes ON; a pulse always ends. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "kind.h"

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

#define BRIDGE_PULSE_MAX_MS 86400000U /* one day */

/* A pulse duration: decimal milliseconds 1..BRIDGE_PULSE_MAX_MS, surrounding whitespace
 * ignored. Returns 0 or -EINVAL. */
int bridge_pulse_parse(const void *payload, size_t len, unsigned int *duration_ms);

enum bridge_action_type {
	BRIDGE_ACTION_SET_OUTPUT,    /* drive output PIN to ACTIVE */
	BRIDGE_ACTION_PUBLISH_STATE, /* publish the state of PIN, which is ACTIVE */
	BRIDGE_ACTION_PUBLISH_EVENT, /* publish EVENT of button PIN */
	BRIDGE_ACTION_PUBLISH_COVER, /* publish the state and position of cover PIN */
	BRIDGE_ACTION_COVER_OBSTRUCTION, /* cover PIN's obstruction input became ACTIVE (a run
					  * stopped, nothing starts) or not: say so, once */
};

struct bridge_action {
	enum bridge_action_type type;
	size_t pin;
	bool active;
	enum kind_event event;
};


struct bridge;

/* Expected outcomes of a command. */
enum bridge_outcome {
	BRIDGE_OUTCOME_CHANGED = 1,   /* the output changed level */
	BRIDGE_OUTCOME_UNCHANGED = 2, /* already at that level: nothing is driven, state echoed */
	BRIDGE_OUTCOME_PENDING = 3,   /* interlock: ON once the group's wait is over */
	BRIDGE_OUTCOME_OBSTRUCTED = 4, /* a cover's obstruction input is active: it does not
					* start (state echoed) */
};

#define BRIDGE_NO_DEADLINE UINT64_MAX

/* Every function that takes NOW (milliseconds on a monotonic clock) may produce actions; they
 * replace the previous call's and are read with bridge_actions(). CFG must outlive the bridge.
 * LEVELS holds the level of every pin at start (inputs as read, outputs as requested). */
int bridge_new(struct bridge **out, const struct config *cfg, const bool *levels);
void bridge_free(struct bridge *bridge);

/* At most one output of an interlock group may start ON: clears the others in LEVELS (indexed
 * like cfg->pins) and returns how many were cleared. */
size_t bridge_levels_sanitize(const struct config *cfg, bool *levels);

/* The actions produced by the last call; valid until the next call. */
const struct bridge_action *bridge_actions(const struct bridge *bridge, size_t *n);

bool bridge_pin_active(const struct bridge *bridge, size_t pin);
size_t bridge_pin_count(const struct bridge *bridge);

/* Bindings with when = "offline" act only while this is false. */
void bridge_connected_set(struct bridge *bridge, bool connected);

/* An input reached level ACTIVE at NOW. A level equal to the known one (a duplicate report after
 * lost edges) changes nothing. Returns 0, -EINVAL for an output or an unknown pin, -ENOMEM. */
int bridge_input_edge(struct bridge *bridge, size_t pin, bool active, uint64_t now);

/* A command for output PIN: returns a bridge_outcome, -EPERM when PIN is an input, -EINVAL
 * for an unknown pin or command, -ENOMEM. The resulting state is always published (echoed). */
int bridge_output_command(struct bridge *bridge, size_t pin, enum bridge_command command,
			  uint64_t now);

/* One pulse: ON now, OFF after DURATION_MS (> 0); a pulse already running restarts with the
 * new duration. Same returns as bridge_output_command(). */
int bridge_output_pulse(struct bridge *bridge, size_t pin, unsigned int duration_ms, uint64_t now);

/* Carries out what is due at NOW: pulse ends, interlock waits, press timeouts. */
int bridge_tick(struct bridge *bridge, uint64_t now);
/* When bridge_tick() must be called next, or BRIDGE_NO_DEADLINE. */
uint64_t bridge_next_deadline(const struct bridge *bridge);

/* Output PIN was driven to ACTIVE at NOW (read after the line changed, rounded up): an
 * interlock wait counts from the moment the line really went OFF, however late that was after
 * the decision. */
void bridge_output_driven(struct bridge *bridge, size_t pin, bool active, uint64_t now);

/* The line of PIN was read back as ACTIVE (e.g. after a failed set): the state follows it. */
void bridge_pin_sync(struct bridge *bridge, size_t pin, bool active);

/* ---- covers (src/cover.h) -----------------------------------------------------------------
 * A cover pin drives its relay outputs through the same output rules: its motor relays are an
 * interlock group (the configuration makes it), so the dead time after the real OFF is the
 * interlock's wait. The relays take no commands of their own (-EPERM). */

/* Cover PIN's position at start: 0..100 (restored), or -1 when unknown. Before any other call;
 * it drives nothing. Returns 0, -EINVAL when PIN is not a cover. */
int bridge_cover_restore(struct bridge *bridge, size_t pin, int position);

/* A command for cover PIN (POSITION only with COVER_COMMAND_POSITION). Returns 0, -EPERM when
 * PIN is not a cover, -EINVAL for an unknown pin or a bad command, -ENOMEM. The resulting
 * state is always published. */
int bridge_cover_command(struct bridge *bridge, size_t pin, enum cover_command command,
			 unsigned int position, uint64_t now);

/* The model of cover PIN (its state and position), or NULL when PIN is not a cover. */
const struct cover *bridge_cover(const struct bridge *bridge, size_t pin);
