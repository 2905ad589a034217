/* SPDX-License-Identifier: MIT */
/* reload_plan() driven directly: which running pin each new pin continues, at which level. */
#include <stdint.h>
#include <stdio.h>

#include "reload.h"
#include "tap.h"

#define OUT(n, l, on) { .name = n, .direction = CONFIG_DIRECTION_OUTPUT, .line = { .name = l }, \
			.power_on = on }
#define IN(n, l) { .name = n, .direction = CONFIG_DIRECTION_INPUT, .line = { .name = l } }

int main(void)
{
	struct config_pin old_pins[] = {
		OUT("lamp", "GPIO27", CONFIG_POWER_ON_OFF),
		OUT("fan", "GPIO22", CONFIG_POWER_ON_OFF),
		IN("door", "GPIO17"),
	};
	bool old_levels[] = { true, true, true };
	struct config_pin new_pins[] = {
		OUT("kitchen_lamp", "GPIO27", CONFIG_POWER_ON_OFF), /* renamed, same line */
		OUT("fan", "GPIO5", CONFIG_POWER_ON_OFF),           /* moved, same name */
		OUT("heater", "GPIO6", CONFIG_POWER_ON_ON),         /* new, power_on = on */
		OUT("pump", "GPIO13", CONFIG_POWER_ON_RESTORE),     /* new, restore: OFF */
		OUT("door", "GPIO17", CONFIG_POWER_ON_OFF),         /* the input's line, now output */
		IN("bell", "GPIO26"),                                /* new input */
	};
	struct config old = { .pins = old_pins, .n_pins = 3 };
	struct config cfg = { .pins = new_pins, .n_pins = 6 };
	size_t from[6];
	bool levels[6];
	size_t group_outputs[] = { 0, 1 };
	struct config_interlock group = { .outputs = group_outputs, .n_outputs = 2 };

	tap_is_int((long long)reload_plan(&old, old_levels, &cfg, from, levels), 0,
		   "no interlock: nothing switched OFF");
	tap_is_int((long long)from[0], 0, "a renamed pin on the same line continues it");
	tap_ok(levels[0], "and keeps its level");
	tap_is_int((long long)from[1], 1, "a pin moved to another line continues by name");
	tap_ok(levels[1], "and keeps its level");
	tap_ok(from[2] == SIZE_MAX && levels[2], "a new output with power_on = on starts ON");
	tap_ok(from[3] == SIZE_MAX && !levels[3], "a new output with restore starts OFF");
	tap_ok(from[4] == SIZE_MAX && !levels[4],
	       "an input's line taken by an output is a new pin (same direction only)");
	tap_ok(from[5] == SIZE_MAX && !levels[5], "a new input starts OFF until read");

	cfg.interlocks = &group;
	cfg.n_interlocks = 1;
	tap_is_int((long long)reload_plan(&old, old_levels, &cfg, from, levels), 1,
		   "interlocked, both ON: one switched OFF");
	tap_ok(levels[0] && !levels[1], "the first one listed stays ON");
	return tap_done();
}
