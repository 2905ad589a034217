/* SPDX-License-Identifier: MIT */
#include "kind.h"

const char *kind_event_name(enum kind_event event)
{
	switch (event) {
	case KIND_EVENT_SINGLE:
		return "single";
	case KIND_EVENT_DOUBLE:
		return "double";
	case KIND_EVENT_LONG:
		return "long";
	}
	return "unknown";
}

bool kind_input_has_state(const struct config_pin *c)
{
	return c->publish_state;
}

const char *kind_input_ha_component(const struct config_pin *c)
{
	return "binary_sensor";
}

bool kind_input_persists(const struct config_pin *c)
{
	return false;
}

/* A new kind: one more line here (and, once the config table lands, the key that selects it). */
const struct pin_kind *kind_of(const struct config_pin *c)
{
	if (c->direction == CONFIG_DIRECTION_OUTPUT)
		return &kind_output;
	if (c->mode == CONFIG_INPUT_MODE_BUTTON)
		return &kind_button;
	return &kind_switch;
}
