/* SPDX-License-Identifier: MIT */
/* A dimmable light on a kernel PWM channel (lights = ( ... )): brightness, fades and dimming
 * from a button. Its model is src/light.c (pure), its channel src/pwm.c, and src/lights.c
 * runs them for the daemon: this kind drives its own output, not a GPIO line. */
#include "config_schema.h"
#include "kind.h"

static bool kind_light_has_state(const struct config_pin *c)
{
	return true;
}

static const char *kind_light_ha_component(const struct config_pin *c)
{
	return "light";
}

static bool kind_light_persists(const struct config_pin *c)
{
	return c->power_on == CONFIG_POWER_ON_RESTORE;
}

const struct pin_kind kind_light = {
	.name = "light",
	.config_kind = CONFIG_KIND_LIGHT,
	.has_state = kind_light_has_state,
	.is_output = true,
	.ha_component = kind_light_ha_component,
	.homie_type = "light",
	.persists = kind_light_persists,
	.own_driver = true,
};
