/* SPDX-License-Identifier: MIT */
/* A switch input: a contact that stays where it is put (a wall switch, a door or window
 * contact). Its state is published on every change; bindings follow it (bridge.c). */
#include "kind.h"

static bool kind_switch_has_state(const struct config_pin *c)
{
	return c->publish_state;
}

static const char *kind_switch_ha_component(const struct config_pin *c)
{
	return "binary_sensor";
}

static bool kind_switch_persists(const struct config_pin *c)
{
	return false; /* an input is read at start */
}

const struct pin_kind kind_switch = {
	.name = "switch",
	.has_state = kind_switch_has_state,
	.ha_component = kind_switch_ha_component,
	.homie_type = "input",
	.persists = kind_switch_persists,
};
