/* SPDX-License-Identifier: MIT */
/* A GPIO output (a relay, a light): driven by commands, pulses and bindings. Its logic is the
 * output rules every output shares and bridge.c keeps central: interlocks, pulses, "the last
 * command wins", and the level it starts with (power_on, restored from the state file). */
#include "config_schema.h"
#include "kind.h"

static bool kind_output_has_state(const struct config_pin *c)
{
	return true;
}

static const char *kind_output_ha_component(const struct config_pin *c)
{
	return c->component == CONFIG_COMPONENT_LIGHT ? "light" : "switch";
}

static bool kind_output_persists(const struct config_pin *c)
{
	return c->power_on == CONFIG_POWER_ON_RESTORE;
}

const struct pin_kind kind_output = {
	.name = "output",
	.config_kind = CONFIG_KIND_OUTPUT,
	.has_state = kind_output_has_state,
	.is_output = true,
	.ha_component = kind_output_ha_component,
	.homie_type = "output",
	.persists = kind_output_persists,
};
