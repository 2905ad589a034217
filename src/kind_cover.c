/* SPDX-License-Identifier: MIT */
/* A cover (a roller shutter, a blind, a garage door, a gate): no line of its own, it drives
 * outputs of the file by role (up + down relay, power + direction relay, or one pulse output of
 * a garage door opener). Its model is src/cover.c; bridge.c carries its requests out under the
 * output rules (its motor relays are an interlock group: the dead time of a reversal). */
#include "config_schema.h"
#include "kind.h"

static bool kind_cover_has_state(const struct config_pin *c)
{
	return true;
}

static const char *kind_cover_ha_component(const struct config_pin *c)
{
	return "cover";
}

/* Its relays are never restored (a restart never starts a motor); its position is kept apart
 * from the levels. */
static bool kind_cover_persists(const struct config_pin *c)
{
	return false;
}

const struct pin_kind kind_cover = {
	.name = "cover",
	.config_kind = CONFIG_KIND_COVER,
	.has_state = kind_cover_has_state,
	.ha_component = kind_cover_ha_component,
	.homie_type = "cover",
	.persists = kind_cover_persists,
};
