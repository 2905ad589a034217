/* SPDX-License-Identifier: MIT */
#include "bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct bridge_pin {
	const char *name; /* points into the config, which outlives the bridge */
	bool is_output;
	bool active;
};

struct bridge {
	struct bridge_pin *pins;
	size_t n_pins;
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

int bridge_topic_build(char *buf, size_t size, const char *base, const char *name,
		       const char *suffix)
{
	int n = snprintf(buf, size, "%s/%s%s", base, name, suffix ? suffix : "");

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int bridge_topic_parse_set(const char *base, const char *topic, const char **name,
			   size_t *name_len)
{
	static const char suffix[] = "/set";
	size_t base_len = strlen(base);
	size_t topic_len = strlen(topic);
	const char *start, *end;

	if (topic_len < base_len + 1 + 1 + strlen(suffix))
		return -ENOENT;
	if (strncmp(topic, base, base_len) != 0 || topic[base_len] != '/')
		return -ENOENT;
	if (strcmp(topic + topic_len - strlen(suffix), suffix) != 0)
		return -ENOENT;
	start = topic + base_len + 1;
	end = topic + topic_len - strlen(suffix);
	if (memchr(start, '/', (size_t)(end - start)))
		return -ENOENT;
	*name = start;
	*name_len = (size_t)(end - start);
	return 0;
}

int bridge_new(struct bridge **out, const struct config_pin *pins, size_t n_pins,
	       const bool *levels)
{
	struct bridge *bridge = calloc(1, sizeof(*bridge));

	if (!bridge)
		return -ENOMEM;
	bridge->pins = calloc(n_pins ? n_pins : 1, sizeof(*bridge->pins));
	if (!bridge->pins) {
		free(bridge);
		return -ENOMEM;
	}
	bridge->n_pins = n_pins;
	for (size_t i = 0; i < n_pins; i++) {
		bridge->pins[i].name = pins[i].name;
		bridge->pins[i].is_output = pins[i].direction == CONFIG_DIRECTION_OUTPUT;
		bridge->pins[i].active = levels[i];
	}
	*out = bridge;
	return 0;
}

void bridge_free(struct bridge *bridge)
{
	if (!bridge)
		return;
	free(bridge->pins);
	free(bridge);
}

int bridge_pin_find(const struct bridge *bridge, const char *name, size_t name_len, size_t *pin)
{
	for (size_t i = 0; i < bridge->n_pins; i++) {
		const char *pin_name = bridge->pins[i].name;

		if (strlen(pin_name) == name_len && memcmp(pin_name, name, name_len) == 0) {
			*pin = i;
			return 0;
		}
	}
	return -ENOENT;
}

bool bridge_pin_active(const struct bridge *bridge, size_t pin)
{
	return pin < bridge->n_pins && bridge->pins[pin].active;
}

size_t bridge_pin_count(const struct bridge *bridge)
{
	return bridge->n_pins;
}

static void bridge_actions_add(struct bridge_actions *actions, enum bridge_action_type type,
			       size_t pin, bool active)
{
	if (actions->n < BRIDGE_ACTIONS_MAX)
		actions->items[actions->n++] = (struct bridge_action){ type, pin, active };
}

int bridge_input_edge(struct bridge *bridge, size_t pin, bool active,
		      struct bridge_actions *actions)
{
	actions->n = 0;
	if (pin >= bridge->n_pins || bridge->pins[pin].is_output)
		return -EINVAL;
	if (bridge->pins[pin].active == active)
		return 0;
	bridge->pins[pin].active = active;
	bridge_actions_add(actions, BRIDGE_ACTION_PUBLISH_STATE, pin, active);
	return 0;
}

int bridge_output_command(struct bridge *bridge, size_t pin, enum bridge_command command,
			  struct bridge_actions *actions)
{
	bool target;
	int outcome;

	actions->n = 0;
	if (pin >= bridge->n_pins)
		return -EINVAL;
	if (!bridge->pins[pin].is_output)
		return -EPERM;

	switch (command) {
	case BRIDGE_COMMAND_ON:
		target = true;
		break;
	case BRIDGE_COMMAND_OFF:
		target = false;
		break;
	case BRIDGE_COMMAND_TOGGLE:
		target = !bridge->pins[pin].active;
		break;
	default:
		return -EINVAL;
	}

	if (target != bridge->pins[pin].active) {
		bridge->pins[pin].active = target;
		bridge_actions_add(actions, BRIDGE_ACTION_SET_OUTPUT, pin, target);
		outcome = BRIDGE_OUTCOME_CHANGED;
	} else {
		outcome = BRIDGE_OUTCOME_UNCHANGED;
	}
	/* Home Assistant and openHAB expect the resulting state back, changed or not. */
	bridge_actions_add(actions, BRIDGE_ACTION_PUBLISH_STATE, pin, target);
	return outcome;
}

void bridge_pin_sync(struct bridge *bridge, size_t pin, bool active)
{
	if (pin < bridge->n_pins)
		bridge->pins[pin].active = active;
}
