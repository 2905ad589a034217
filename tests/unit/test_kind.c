/* SPDX-License-Identifier: MIT */
/* kind.c and the kinds: which kind a configured pin is, and what each declares (topics,
 * discovery, restore). Their logic is driven through bridge.c in test_bridge.c. */
#include <string.h>

#include "config_schema.h"
#include "kind.h"
#include "tap.h"

int main(void)
{
	struct config_pin sw = { .name = "door", .direction = CONFIG_DIRECTION_INPUT,
				 .mode = CONFIG_INPUT_MODE_SWITCH, .publish_state = true };
	struct config_pin button = { .name = "bell", .direction = CONFIG_DIRECTION_INPUT,
				     .mode = CONFIG_INPUT_MODE_BUTTON };
	struct config_pin relay = { .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT,
				    .power_on = CONFIG_POWER_ON_RESTORE };
	struct config_pin light = { .name = "lamp", .direction = CONFIG_DIRECTION_OUTPUT,
				    .component = CONFIG_COMPONENT_LIGHT,
				    .power_on = CONFIG_POWER_ON_OFF };
	struct kind_slot slot = { 0 };
	struct kind_events events = { .n = 0 };

	tap_ok(kind_of(&sw) == &kind_switch, "a switch input is a switch");
	tap_ok(kind_of(&button) == &kind_button, "a button input is a button");
	tap_ok(kind_of(&relay) == &kind_output && kind_of(&light) == &kind_output,
	       "outputs are outputs");

	/* Every kind is tied to the config table: its bit is its own, and rows apply to it. */
	for (size_t i = 0; kind_by_index(i); i++) {
		const struct pin_kind *k = kind_by_index(i);
		size_t rows = 0;

		for (size_t j = i + 1; kind_by_index(j); j++)
			if (kind_by_index(j)->config_kind == k->config_kind)
				tap_ok(false, "kinds %s and %s share a config bit", k->name,
				       kind_by_index(j)->name);
		for (const struct config_key *row = config_pin_keys; row->name; row++)
			rows += row->applies & k->config_kind ? 1 : 0;
		tap_ok(k->config_kind != 0 && (k->config_kind & (k->config_kind - 1)) == 0,
		       "kind %s has one config bit", k->name);
		tap_ok(rows > 0, "kind %s: %zu keys of its own in the pin table", k->name, rows);
	}
	{
		struct config_pin strip = { .name = "strip", .direction = CONFIG_DIRECTION_OUTPUT,
					    .light = true, .power_on = CONFIG_POWER_ON_RESTORE };

		tap_ok(kind_of(&strip) == &kind_light, "a PWM light is a light");
		tap_ok(kind_light.own_driver && !kind_output.own_driver && !kind_button.own_driver &&
			       !kind_switch.own_driver,
		       "only a light drives its own output (no GPIO line)");
		tap_ok(kind_light.is_output && kind_light.has_state(&strip) &&
			       kind_light.persists(&strip),
		       "a light takes commands, has a state, is restored with power_on = restore");
		tap_is_str(kind_light.ha_component(&strip), "light", "light: light");
	}
	tap_ok(kind_of(&sw)->config_kind == config_pin_kind(&sw) &&
		       kind_of(&button)->config_kind == config_pin_kind(&button) &&
		       kind_of(&relay)->config_kind == config_pin_kind(&relay),
	       "kind_of() follows the configuration's config_pin_kind()");

	tap_ok(kind_switch.has_state(&sw), "a switch publishes its state");
	tap_ok(!kind_button.has_state(&button), "a button without publish_state has no state");
	tap_ok(kind_output.has_state(&relay), "an output always has a state");
	tap_ok(kind_button.has_events && !kind_switch.has_events && !kind_output.has_events,
	       "only buttons publish events");
	tap_ok(kind_output.is_output && !kind_switch.is_output && !kind_button.is_output,
	       "only outputs take commands");
	tap_ok(kind_button.toggles_on_press && !kind_switch.toggles_on_press,
	       "a button toggles per press, a switch per change");

	tap_is_str(kind_switch.ha_component(&sw), "binary_sensor", "switch: binary_sensor");
	tap_is_str(kind_output.ha_component(&relay), "switch", "relay: switch");
	tap_is_str(kind_output.ha_component(&light), "light", "component = light: light");
	tap_is_str(kind_switch.homie_type, "input", "Homie type of an input");
	tap_is_str(kind_output.homie_type, "output", "Homie type of an output");

	tap_ok(kind_output.persists(&relay), "power_on = restore is kept");
	tap_ok(!kind_output.persists(&light), "power_on = off is not");
	tap_ok(!kind_switch.persists(&sw) && !kind_button.persists(&button), "inputs are read");

	kind_button.start(&button, &slot, true);
	kind_button.edge(&button, &slot, false, 10, &events);
	tap_is_int((long long)events.n, 0, "a button held at start: its release is no press");
	tap_ok(slot.deadline == KIND_NO_DEADLINE, "and nothing is due");

	tap_is_str(kind_event_name(KIND_EVENT_SINGLE), "single", "single");
	tap_is_str(kind_event_name(KIND_EVENT_LONG), "long", "long");
	return tap_done();
}
