/* SPDX-License-Identifier: MIT */
#include "kind.h"

#include "config_schema.h"

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

/* Every kind; a new kind is one more line here. */
static const struct pin_kind *const kind_all[] = { &kind_switch, &kind_button, &kind_output,
						   &kind_counter, &kind_light, &kind_cover };

/* The configuration decides a pin's kind (config_pin_kind(), from its direction and mode);
 * this finds the module with that bit. */
const struct pin_kind *kind_of(const struct config_pin *c)
{
	uint32_t bit = config_pin_kind(c);

	for (size_t i = 0; i < sizeof(kind_all) / sizeof(kind_all[0]); i++)
		if (kind_all[i]->config_kind == bit)
			return kind_all[i];
	return &kind_switch; /* not reached: every CONFIG_KIND_ bit has its module */
}

const struct pin_kind *kind_by_index(size_t i)
{
	return i < sizeof(kind_all) / sizeof(kind_all[0]) ? kind_all[i] : NULL;
}
