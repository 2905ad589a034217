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

/* A new kind: one more line here (and, once the config table lands, the key that selects it). */
const struct pin_kind *kind_of(const struct config_pin *c)
{
	if (c->direction == CONFIG_DIRECTION_OUTPUT)
		return &kind_output;
	if (c->mode == CONFIG_INPUT_MODE_BUTTON)
		return &kind_button;
	return &kind_switch;
}
