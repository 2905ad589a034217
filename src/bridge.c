/* SPDX-License-Identifier: MIT */
#include "bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bridge_pin {
	const struct config_pin *cfg;
	bool is_output;
	bool active;
	/* outputs */
	uint64_t pulse_end; /* BRIDGE_NO_DEADLINE: no pulse running */
	/* inputs: the logic of its kind (src/kind.h) */
	const struct pin_kind *kind;
	struct kind_slot slot;
	/* covers: the model (NULL for every other pin); a cover's relay: the cover's pin */
	struct cover *cover;
	bool is_cover_relay;
	size_t cover_of;
	size_t cover_group; /* a cover's motor relay: its group + 1 (the cover's dead time); 0 */
};

struct bridge_group {
	const struct config_interlock *cfg;
	size_t pending;           /* the output waiting to go ON, or SIZE_MAX */
	uint64_t pending_at;      /* when it may */
	unsigned int pending_pulse_ms;
	bool any_off;             /* a member has gone OFF since start */
	uint64_t last_off;        /* when the last member went OFF */
};

struct bridge {
	const struct config *cfg;
	struct bridge_pin *pins;
	size_t n_pins;
	struct bridge_group *groups;
	size_t n_groups;
	bool connected;
	struct bridge_action *actions;
	size_t n_actions;
	size_t cap_actions;
	bool out_of_memory;
	struct cover *covers; /* one per cover pin */
	/* the interlock groups of the covers' motor relays, after the configured ones */
	struct config_interlock *cover_groups;
	size_t *cover_group_outputs;
};

static bool bridge_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int bridge_command_parse(const void *payload, size_t len, enum bridge_command *out)
{
	static const struct {
		const char *word;
		enum bridge_command command;
	} words[] = {
		{ "on", BRIDGE_COMMAND_ON },	  { "off", BRIDGE_COMMAND_OFF },
		{ "toggle", BRIDGE_COMMAND_TOGGLE }, { "1", BRIDGE_COMMAND_ON },
		{ "0", BRIDGE_COMMAND_OFF },	  { "true", BRIDGE_COMMAND_ON },
		{ "false", BRIDGE_COMMAND_OFF },
	};
	const char *p = payload;

	if (!p)
		return -EINVAL;
	while (len > 0 && bridge_is_space(p[0])) {
		p++;
		len--;
	}
	while (len > 0 && bridge_is_space(p[len - 1]))
		len--;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == len && strncasecmp(p, words[i].word, len) == 0) {
			*out = words[i].command;
			return 0;
		}
	}
	return -EINVAL;
}

const char *bridge_state_payload(bool active)
{
	return active ? "ON" : "OFF";
}

int bridge_pulse_parse(const void *payload, size_t len, unsigned int *duration_ms)
{
	const char *p = payload;
	unsigned long long v = 0;
	size_t digits = 0;

	if (!p)
		return -EINVAL;
	while (len > 0 && bridge_is_space(p[0])) {
		p++;
		len--;
	}
	while (len > 0 && bridge_is_space(p[len - 1]))
		len--;
	/* Leading zeros are allowed however many there are; the value is capped as it grows. */
	for (; digits < len; digits++) {
		if (p[digits] < '0' || p[digits] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long long)(p[digits] - '0');
		if (v > BRIDGE_PULSE_MAX_MS)
			return -EINVAL;
	}
	if (digits == 0 || v < 1 || v > BRIDGE_PULSE_MAX_MS)
		return -EINVAL;
	*duration_ms = (unsigned int)v;
	return 0;
}

size_t bridge_levels_sanitize(const struct config *cfg, bool *levels)
{
	size_t cleared = 0;

	for (size_t g = 0; g < cfg->n_interlocks; g++) {
		bool one_on = false;

		for (size_t i = 0; i < cfg->interlocks[g].n_outputs; i++) {
			size_t pin = cfg->interlocks[g].outputs[i];

			if (!levels[pin])
				continue;
			if (one_on) {
				levels[pin] = false;
				cleared++;
			}
			one_on = true;
		}
	}
	return cleared;
}

static int bridge_covers_new(struct bridge *bridge);

int bridge_new(struct bridge **out, const struct config *cfg, const bool *levels)
{
	struct bridge *bridge = calloc(1, sizeof(*bridge));

	if (!bridge)
		return -ENOMEM;
	bridge->cfg = cfg;
	bridge->n_pins = cfg->n_pins;
	bridge->n_groups = cfg->n_interlocks;
	bridge->pins = calloc(cfg->n_pins ? cfg->n_pins : 1, sizeof(*bridge->pins));
	bridge->groups = calloc(cfg->n_interlocks ? cfg->n_interlocks : 1, sizeof(*bridge->groups));
	bridge->cap_actions = 8 + 4 * cfg->n_pins;
	bridge->actions = calloc(bridge->cap_actions, sizeof(*bridge->actions));
	if (!bridge->pins || !bridge->groups || !bridge->actions) {
		bridge_free(bridge);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_pins; i++) {
		struct bridge_pin *p = &bridge->pins[i];

		p->cfg = &cfg->pins[i];
		p->kind = kind_of(&cfg->pins[i]);
		p->is_output = p->kind->is_output;
		p->active = levels[i];
		p->pulse_end = BRIDGE_NO_DEADLINE;
		p->slot.deadline = KIND_NO_DEADLINE;
		if (p->kind->start)
			p->kind->start(p->cfg, &p->slot, p->active);
	}
	for (size_t g = 0; g < cfg->n_interlocks; g++) {
		bridge->groups[g].cfg = &cfg->interlocks[g];
		bridge->groups[g].pending = SIZE_MAX;
	}
	if (bridge_covers_new(bridge) < 0) {
		bridge_free(bridge);
		return -ENOMEM;
	}
	*out = bridge;
	return 0;
}

void bridge_free(struct bridge *bridge)
{
	if (!bridge)
		return;
	free(bridge->covers);
	free(bridge->cover_groups);
	free(bridge->cover_group_outputs);
	free(bridge->actions);
	free(bridge->groups);
	free(bridge->pins);
	free(bridge);
}

const struct bridge_action *bridge_actions(const struct bridge *bridge, size_t *n)
{
	*n = bridge->n_actions;
	return bridge->actions;
}

bool bridge_pin_active(const struct bridge *bridge, size_t pin)
{
	return pin < bridge->n_pins && bridge->pins[pin].active;
}

size_t bridge_pin_count(const struct bridge *bridge)
{
	return bridge->n_pins;
}

void bridge_connected_set(struct bridge *bridge, bool connected)
{
	bridge->connected = connected;
}

/* ---- actions ---------------------------------------------------------------------------- */

static void bridge_begin(struct bridge *bridge)
{
	bridge->n_actions = 0;
	bridge->out_of_memory = false;
}

static int bridge_end(struct bridge *bridge, int r)
{
	return bridge->out_of_memory ? -ENOMEM : r;
}

static void bridge_action_add(struct bridge *bridge, struct bridge_action action)
{
	if (bridge->n_actions == bridge->cap_actions) {
		size_t cap = bridge->cap_actions * 2;
		struct bridge_action *grown = realloc(bridge->actions, cap * sizeof(*grown));

		if (!grown) {
			bridge->out_of_memory = true;
			return;
		}
		bridge->actions = grown;
		bridge->cap_actions = cap;
	}
	bridge->actions[bridge->n_actions++] = action;
}

static bool bridge_state_published(const struct bridge *bridge, size_t pin)
{
	for (size_t i = 0; i < bridge->n_actions; i++) {
		if (bridge->actions[i].type == BRIDGE_ACTION_PUBLISH_STATE &&
		    bridge->actions[i].pin == pin)
			return true;
	}
	return false;
}

static void bridge_state_publish(struct bridge *bridge, size_t pin)
{
	bridge_action_add(bridge, (struct bridge_action){
		.type = BRIDGE_ACTION_PUBLISH_STATE,
		.pin = pin,
		.active = bridge->pins[pin].active,
	});
}

static void bridge_events_publish(struct bridge *bridge, size_t pin,
				  const struct kind_events *events)
{
	for (size_t i = 0; i < events->n; i++)
		bridge_action_add(bridge, (struct bridge_action){
			.type = BRIDGE_ACTION_PUBLISH_EVENT,
			.pin = pin,
			.event = events->items[i],
		});
}

/* ---- outputs ---------------------------------------------------------------------------- */

static struct bridge_group *bridge_group_of(struct bridge *bridge, size_t pin)
{
	size_t g = bridge->pins[pin].cfg->interlock;

	if (bridge->pins[pin].cover_group != 0)
		return &bridge->groups[bridge->pins[pin].cover_group - 1];
	return g == CONFIG_INTERLOCK_NONE ? NULL : &bridge->groups[g];
}

/* The only place an output's level changes. */
static void bridge_level_set(struct bridge *bridge, size_t pin, bool active, uint64_t now)
{
	struct bridge_pin *p = &bridge->pins[pin];
	struct bridge_group *group = bridge_group_of(bridge, pin);

	if (p->active == active)
		return;
	p->active = active;
	if (!active) {
		p->pulse_end = BRIDGE_NO_DEADLINE;
		if (group) {
			group->any_off = true;
			group->last_off = now;
		}
	}
	bridge_action_add(bridge, (struct bridge_action){
		.type = BRIDGE_ACTION_SET_OUTPUT,
		.pin = pin,
		.active = active,
	});
	bridge_state_publish(bridge, pin);
}

static void bridge_on_now(struct bridge *bridge, size_t pin, unsigned int pulse_ms, uint64_t now)
{
	bridge_level_set(bridge, pin, true, now);
	bridge->pins[pin].pulse_end = pulse_ms ? now + pulse_ms : BRIDGE_NO_DEADLINE;
}

/* Asks for output PIN to be ACTIVE; everything that changes an output goes through here. */
static int bridge_output_request(struct bridge *bridge, size_t pin, bool active,
				 unsigned int pulse_ms, uint64_t now)
{
	struct bridge_group *group = bridge_group_of(bridge, pin);
	struct bridge_pin *p = &bridge->pins[pin];
	bool was = p->active;
	uint64_t ready_at;

	if (!active) {
		if (group && group->pending == pin)
			group->pending = SIZE_MAX;
		p->pulse_end = BRIDGE_NO_DEADLINE;
		bridge_level_set(bridge, pin, false, now);
		return was ? BRIDGE_OUTCOME_CHANGED : BRIDGE_OUTCOME_UNCHANGED;
	}
	if (!group || p->active) {
		/* Already ON: a pulse restarts (a staircase timer), a plain ON ends one. */
		bridge_on_now(bridge, pin, pulse_ms, now);
		return was ? BRIDGE_OUTCOME_UNCHANGED : BRIDGE_OUTCOME_CHANGED;
	}

	/* Interlocked: everything else OFF first, then the wait, then ON. */
	group->pending = SIZE_MAX;
	for (size_t i = 0; i < group->cfg->n_outputs; i++) {
		size_t other = group->cfg->outputs[i];

		if (other != pin)
			bridge_level_set(bridge, other, false, now);
	}
	ready_at = group->any_off ? group->last_off + group->cfg->wait_ms : 0;
	if (now >= ready_at) {
		bridge_on_now(bridge, pin, pulse_ms, now);
		return BRIDGE_OUTCOME_CHANGED;
	}
	group->pending = pin;
	group->pending_at = ready_at;
	group->pending_pulse_ms = pulse_ms;
	return BRIDGE_OUTCOME_PENDING;
}

/* ON or waiting to be ON: what TOGGLE turns OFF. */
static bool bridge_output_wanted(struct bridge *bridge, size_t pin)
{
	struct bridge_group *group = bridge_group_of(bridge, pin);

	return bridge->pins[pin].active || (group && group->pending == pin);
}

int bridge_output_command(struct bridge *bridge, size_t pin, enum bridge_command command,
			  uint64_t now)
{
	bool target;
	int r;

	bridge_begin(bridge);
	if (pin >= bridge->n_pins)
		return -EINVAL;
	if (!bridge->pins[pin].is_output || bridge->pins[pin].is_cover_relay)
		return -EPERM;
	switch (command) {
	case BRIDGE_COMMAND_ON:
		target = true;
		break;
	case BRIDGE_COMMAND_OFF:
		target = false;
		break;
	case BRIDGE_COMMAND_TOGGLE:
		target = !bridge_output_wanted(bridge, pin);
		break;
	default:
		return -EINVAL;
	}
	r = bridge_output_request(bridge, pin, target, bridge->pins[pin].cfg->pulse_ms, now);
	/* Home Assistant and openHAB expect the resulting state back, changed or not. */
	if (!bridge_state_published(bridge, pin))
		bridge_state_publish(bridge, pin);
	return bridge_end(bridge, r);
}

int bridge_output_pulse(struct bridge *bridge, size_t pin, unsigned int duration_ms, uint64_t now)
{
	int r;

	bridge_begin(bridge);
	if (pin >= bridge->n_pins || duration_ms == 0)
		return -EINVAL;
	if (!bridge->pins[pin].is_output || bridge->pins[pin].is_cover_relay)
		return -EPERM;
	r = bridge_output_request(bridge, pin, true, duration_ms, now);
	if (!bridge_state_published(bridge, pin))
		bridge_state_publish(bridge, pin);
	return bridge_end(bridge, r);
}

/* ---- covers ----------------------------------------------------------------------------- */

/* The relays that start a cover's motor: up + down, the power relay, the pulse output. */
static bool bridge_cover_motor_relay(enum cover_relay relay)
{
	return relay != COVER_RELAY_DIRECTION;
}

/* Each cover gets its model, and an interlock group of its motor relays with the dead time as
 * the wait (after the configured groups): the interlock rule is the reversal's dead time. */
static int bridge_covers_new(struct bridge *bridge)
{
	size_t n = 0, k = 0, g;
	struct bridge_group *groups;

	for (size_t i = 0; i < bridge->n_pins; i++)
		n += bridge->pins[i].cfg->is_cover;
	bridge->covers = calloc(n ? n : 1, sizeof(*bridge->covers));
	bridge->cover_groups = calloc(n ? n : 1, sizeof(*bridge->cover_groups));
	bridge->cover_group_outputs = calloc(n ? 2 * n : 1, sizeof(*bridge->cover_group_outputs));
	groups = realloc(bridge->groups, (bridge->n_groups + n + 1) * sizeof(*groups));
	if (groups)
		bridge->groups = groups;
	if (!bridge->covers || !bridge->cover_groups || !bridge->cover_group_outputs || !groups)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < bridge->n_pins; i++) {
		const struct config_pin *c = bridge->pins[i].cfg;
		struct config_interlock *il = &bridge->cover_groups[n];

		if (!c->is_cover)
			continue;
		bridge->pins[i].cover = &bridge->covers[n];
		cover_init(bridge->pins[i].cover, &c->cover, -1);
		*il = (struct config_interlock){ .outputs = &bridge->cover_group_outputs[2 * n],
						 .wait_ms = c->cover_dead_ms,
						 .source_line = c->source_line };
		g = bridge->n_groups++;
		bridge->groups[g] = (struct bridge_group){ .cfg = il, .pending = SIZE_MAX };
		n++;
		for (size_t r = 0; r < COVER_RELAYS; r++) {
			size_t o = c->cover_relay[r];

			if (!cover_relay_used(&c->cover, (enum cover_relay)r) ||
			    o >= bridge->n_pins || !bridge->pins[o].is_output ||
			    bridge->pins[o].is_cover_relay)
				continue;
			bridge->pins[o].is_cover_relay = true;
			bridge->pins[o].cover_of = i;
			if (bridge_cover_motor_relay((enum cover_relay)r) && il->n_outputs < 2) {
				bridge->pins[o].cover_group = g + 1;
				il->outputs[il->n_outputs++] = o;
			}
		}
		k++;
	}
	return k == n ? 0 : -EINVAL;
}

/* Carries out what cover PIN's model asked for. */
static void bridge_cover_apply(struct bridge *bridge, size_t pin, const struct cover_out *out,
			       uint64_t now)
{
	const struct config_pin *c = bridge->pins[pin].cfg;

	for (size_t i = 0; i < out->n; i++) {
		size_t o = c->cover_relay[out->items[i].relay];

		if (o >= bridge->n_pins || !bridge->pins[o].is_cover_relay ||
		    bridge->pins[o].cover_of != pin)
			continue;
		bridge_output_request(bridge, o, out->items[i].active, out->items[i].pulse_ms, now);
	}
	if (out->changed)
		bridge_action_add(bridge, (struct bridge_action){
			.type = BRIDGE_ACTION_PUBLISH_COVER,
			.pin = pin,
		});
}

/* An end-stop input already active when the cover starts says where it is (nothing moves). */
static void bridge_cover_endstops_read(struct bridge *bridge, size_t pin)
{
	const struct config_pin *c = bridge->pins[pin].cfg;

	for (int end = COVER_END_CLOSED; end <= COVER_END_OPEN; end++) {
		struct cover_out out = { .n = 0 };
		size_t in = c->cover_endstop[end];

		if (c->cover.endstop[end] && in < bridge->n_pins && bridge->pins[in].active)
			cover_endstop(bridge->pins[pin].cover, (enum cover_end)end, true, 0, &out);
	}
}

/* An obstruction input already active when the cover starts: nothing starts (nothing moves). */
static void bridge_cover_obstruction_read(struct bridge *bridge, size_t pin)
{
	const struct config_pin *c = bridge->pins[pin].cfg;
	struct cover_out out = { .n = 0 };
	size_t in = c->cover_obstruction;

	if (c->cover.obstruction && in < bridge->n_pins && bridge->pins[in].active)
		cover_obstruction(bridge->pins[pin].cover, true, 0, &out);
}

int bridge_cover_restore(struct bridge *bridge, size_t pin, int position)
{
	if (pin >= bridge->n_pins || !bridge->pins[pin].cover)
		return -EINVAL;
	cover_init(bridge->pins[pin].cover, &bridge->pins[pin].cfg->cover, position);
	bridge_cover_endstops_read(bridge, pin);
	bridge_cover_obstruction_read(bridge, pin);
	return 0;
}

int bridge_cover_command(struct bridge *bridge, size_t pin, enum cover_command command,
			 unsigned int position, uint64_t now)
{
	struct cover_out out = { .n = 0 };
	int r;

	bridge_begin(bridge);
	if (pin >= bridge->n_pins)
		return -EINVAL;
	if (!bridge->pins[pin].cover)
		return -EPERM;
	r = cover_command(bridge->pins[pin].cover, command, position, now, &out);
	if (r < 0)
		return r;
	out.changed = true; /* echoed, changed or not */
	bridge_cover_apply(bridge, pin, &out, now);
	return bridge_end(bridge, r == COVER_OUTCOME_OBSTRUCTED ? BRIDGE_OUTCOME_OBSTRUCTED : 0);
}

const struct cover *bridge_cover(const struct bridge *bridge, size_t pin)
{
	return pin < bridge->n_pins ? bridge->pins[pin].cover : NULL;
}

/* Input PIN is an end-stop of covers: they learn it reached (or left) its end. */
static void bridge_covers_endstop(struct bridge *bridge, size_t pin, bool active, uint64_t now)
{
	for (size_t i = 0; i < bridge->n_pins; i++) {
		const struct config_pin *c = bridge->pins[i].cfg;

		if (!bridge->pins[i].cover)
			continue;
		for (int end = COVER_END_CLOSED; end <= COVER_END_OPEN; end++) {
			struct cover_out out = { .n = 0 };

			if (!c->cover.endstop[end] || c->cover_endstop[end] != pin)
				continue;
			cover_endstop(bridge->pins[i].cover, (enum cover_end)end, active, now, &out);
			bridge_cover_apply(bridge, i, &out, now);
		}
	}
}

/* Input PIN is the obstruction input of covers: active, they stop and do not start. */
static void bridge_covers_obstruction(struct bridge *bridge, size_t pin, bool active,
				      uint64_t now)
{
	for (size_t i = 0; i < bridge->n_pins; i++) {
		const struct config_pin *c = bridge->pins[i].cfg;
		struct cover_out out = { .n = 0 };

		if (!bridge->pins[i].cover || !c->cover.obstruction || c->cover_obstruction != pin ||
		    cover_obstructed(bridge->pins[i].cover) == active)
			continue;
		cover_obstruction(bridge->pins[i].cover, active, now, &out);
		bridge_cover_apply(bridge, i, &out, now);
		bridge_action_add(bridge, (struct bridge_action){
			.type = BRIDGE_ACTION_COVER_OBSTRUCTION,
			.pin = i,
			.active = active,
		});
	}
}

/* Input PIN was pressed: the covers it is a wall button of move, or stop (cover_button()). */
static void bridge_covers_button(struct bridge *bridge, size_t pin, uint64_t now)
{
	for (size_t i = 0; i < bridge->n_pins; i++) {
		const struct config_pin *c = bridge->pins[i].cfg;

		if (!bridge->pins[i].cover ||
		    (c->cover_button_when == CONFIG_BINDING_OFFLINE && bridge->connected))
			continue;
		for (int up = 0; up <= 1; up++) {
			struct cover_out out = { .n = 0 };

			if (c->cover_button[up] != pin)
				continue;
			cover_button(bridge->pins[i].cover, up, now, &out);
			bridge_cover_apply(bridge, i, &out, now);
		}
	}
}

static void bridge_covers_tick(struct bridge *bridge, uint64_t now)
{
	for (size_t i = 0; i < bridge->n_pins; i++) {
		struct cover_out out = { .n = 0 };

		if (!bridge->pins[i].cover || cover_deadline(bridge->pins[i].cover) > now)
			continue;
		cover_tick(bridge->pins[i].cover, now, &out);
		bridge_cover_apply(bridge, i, &out, now);
	}
}

/* ---- inputs ----------------------------------------------------------------------------- */

static void bridge_bindings_run(struct bridge *bridge, size_t pin, bool pressed_edge, uint64_t now)
{
	const struct config_pin *c = bridge->pins[pin].cfg;
	bool active = bridge->pins[pin].active;

	for (size_t i = 0; i < c->n_bindings; i++) {
		const struct config_binding *b = &c->bindings[i];
		size_t out = b->output;
		unsigned int pulse_ms = bridge->pins[out].cfg->pulse_ms;

		if (b->when == CONFIG_BINDING_OFFLINE && bridge->connected)
			continue;
		if (bridge->pins[out].kind->own_driver) /* a light dims itself (src/lights.c) */
			continue;
		switch (b->action) {
		case CONFIG_BINDING_FOLLOW:
			bridge_output_request(bridge, out, active, active ? pulse_ms : 0, now);
			break;
		case CONFIG_BINDING_TOGGLE:
			/* A button toggles on each press, a switch on each change. */
			if (bridge->pins[pin].kind->toggles_on_press && !pressed_edge)
				break;
			if (bridge_output_wanted(bridge, out))
				bridge_output_request(bridge, out, false, 0, now);
			else
				bridge_output_request(bridge, out, true, pulse_ms, now);
			break;
		case CONFIG_BINDING_ON:
			if (active)
				bridge_output_request(bridge, out, true, pulse_ms, now);
			break;
		case CONFIG_BINDING_OFF:
			if (active)
				bridge_output_request(bridge, out, false, 0, now);
			break;
		}
	}
}

int bridge_input_edge(struct bridge *bridge, size_t pin, bool active, uint64_t now)
{
	struct bridge_pin *p;

	bridge_begin(bridge);
	if (pin >= bridge->n_pins || bridge->pins[pin].is_output)
		return -EINVAL;
	p = &bridge->pins[pin];
	if (p->active == active)
		return 0;
	p->active = active;
	if (p->kind->has_state(p->cfg))
		bridge_state_publish(bridge, pin);
	if (p->kind->edge) {
		struct kind_events events = { .n = 0 };

		p->kind->edge(p->cfg, &p->slot, active, now, &events);
		bridge_events_publish(bridge, pin, &events);
	}
	bridge_bindings_run(bridge, pin, active, now);
	bridge_covers_endstop(bridge, pin, active, now);
	bridge_covers_obstruction(bridge, pin, active, now);
	if (active)
		bridge_covers_button(bridge, pin, now);
	return bridge_end(bridge, 0);
}

/* ---- time ------------------------------------------------------------------------------- */

int bridge_tick(struct bridge *bridge, uint64_t now)
{
	bridge_begin(bridge);
	for (size_t i = 0; i < bridge->n_pins; i++) {
		struct bridge_pin *p = &bridge->pins[i];

		if (p->is_output && p->pulse_end <= now)
			bridge_output_request(bridge, i, false, 0, now);
		else if (!p->is_output && p->slot.deadline <= now && p->kind->timeout) {
			struct kind_events events = { .n = 0 };

			p->kind->timeout(p->cfg, &p->slot, now, &events);
			bridge_events_publish(bridge, i, &events);
		}
	}
	for (size_t g = 0; g < bridge->n_groups; g++) {
		struct bridge_group *group = &bridge->groups[g];
		size_t pin = group->pending;

		if (pin == SIZE_MAX || group->pending_at > now)
			continue;
		group->pending = SIZE_MAX;
		bridge_output_request(bridge, pin, true, group->pending_pulse_ms, now);
	}
	bridge_covers_tick(bridge, now);
	return bridge_end(bridge, 0);
}

uint64_t bridge_next_deadline(const struct bridge *bridge)
{
	uint64_t next = BRIDGE_NO_DEADLINE;

	for (size_t i = 0; i < bridge->n_pins; i++) {
		const struct bridge_pin *p = &bridge->pins[i];
		uint64_t d = p->is_output ? p->pulse_end : p->slot.deadline;

		if (d < next)
			next = d;
	}
	for (size_t g = 0; g < bridge->n_groups; g++) {
		if (bridge->groups[g].pending != SIZE_MAX && bridge->groups[g].pending_at < next)
			next = bridge->groups[g].pending_at;
	}
	for (size_t i = 0; i < bridge->n_pins; i++) {
		uint64_t d = bridge->pins[i].cover ? cover_deadline(bridge->pins[i].cover)
						   : BRIDGE_NO_DEADLINE;

		if (d < next)
			next = d;
	}
	return next;
}

void bridge_output_driven(struct bridge *bridge, size_t pin, bool active, uint64_t now)
{
	struct bridge_group *group;

	if (pin < bridge->n_pins && bridge->pins[pin].is_cover_relay) {
		const struct config_pin *c = bridge->pins[bridge->pins[pin].cover_of].cfg;

		for (size_t r = 0; r < COVER_RELAYS; r++)
			if (c->cover_relay[r] == pin)
				cover_relay_driven(bridge->pins[bridge->pins[pin].cover_of].cover,
						   (enum cover_relay)r, active, now);
	}
	if (pin >= bridge->n_pins || !bridge->pins[pin].is_output || active)
		return;
	group = bridge_group_of(bridge, pin);
	if (!group)
		return;
	if (!group->any_off || now > group->last_off) {
		group->any_off = true;
		group->last_off = now;
	}
	if (group->pending != SIZE_MAX && group->pending_at < group->last_off + group->cfg->wait_ms)
		group->pending_at = group->last_off + group->cfg->wait_ms;
}

void bridge_pin_sync(struct bridge *bridge, size_t pin, bool active)
{
	if (pin < bridge->n_pins)
		bridge->pins[pin].active = active;
}
