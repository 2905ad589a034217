/* SPDX-License-Identifier: MIT */
/* A switch input: a contact that stays where it is put (a wall switch, a door or window
 * contact). Its state is published on every change; bindings follow it (bridge.c). */
#include "config_schema.h"
#include "kind.h"

const struct pin_kind kind_switch = {
	.name = "switch",
	.config_kind = CONFIG_KIND_SWITCH,
	.has_state = kind_input_has_state,
	.ha_component = kind_input_ha_component,
	.homie_type = "input",
	.persists = kind_input_persists,
};
