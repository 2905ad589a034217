/* SPDX-License-Identifier: MIT */
/* A pulse counter (mode = "counter"): a meter's S0 output or reed contact, each pulse counted
 * into a 64-bit total kept across restarts. Its logic is src/meter.c (pure) run by
 * src/meters.c, which publishes the total on <base>/<name> and the rate on <base>/<name>/rate,
 * takes a new total or "reset" on <base>/<name>/set and keeps the counts in the state
 * directory. The bridge has nothing to do for it: no ON/OFF state, no events, no bindings. */
#include "config_schema.h"
#include "kind.h"

static bool kind_counter_has_state(const struct config_pin *c)
{
	return false; /* the total is no ON/OFF state: src/meters.c publishes it */
}

static const char *kind_counter_ha_component(const struct config_pin *c)
{
	return "sensor";
}

static bool kind_counter_persists(const struct config_pin *c)
{
	return false; /* not in outputs.state: its count has a file of its own (meter_store.h) */
}

const struct pin_kind kind_counter = {
	.name = "counter",
	.config_kind = CONFIG_KIND_COUNTER,
	.has_state = kind_counter_has_state,
	.ha_component = kind_counter_ha_component,
	.homie_type = "meter",
	.persists = kind_counter_persists,
	.is_counter = true,
};
