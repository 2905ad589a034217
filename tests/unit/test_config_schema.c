/* SPDX-License-Identifier: MIT */
/* The key tables (src/config_schema.h) hold together: names unique in a group, enum defaults
 * among their words, structural rows with a table or a hook, the pin kinds, and every value a
 * good configuration loads to within its row's range. A row added with a slip fails here before
 * it reaches a user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_schema.h"
#include "tap.h"

struct table {
	const char *name;
	const struct config_key *keys;
};

static const struct table tables[] = {
	{ "top level", config_top_keys },   { "mqtt", config_mqtt_keys },
	{ "brokers", config_broker_keys },  { "tls", config_tls_keys },
	{ "pins", config_pin_keys },        { "bindings", config_binding_keys },
	{ "interlocks", config_interlock_keys }, { "discovery", config_discovery_keys },
};

static void test_table(const struct table *t)
{
	bool unique = true, enums = true, structs = true, hooks = true, ranges = true;

	for (const struct config_key *row = t->keys; row->name; row++) {
		int value;

		for (const struct config_key *later = row + 1; later->name; later++)
			unique = unique && strcmp(row->name, later->name) != 0;
		if (row->type == CONFIG_KEY_ENUM) {
			const char *word = row->words ? config_enum_to_string(row->words, (int)row->def)
						      : "?";

			enums = enums && strcmp(word, "?") != 0 &&
				config_enum_lookup(row->words, word, &value) && value == row->def;
		}
		if (row->type == CONFIG_KEY_GROUP || row->type == CONFIG_KEY_LIST)
			structs = structs && (row->sub || row->hook != CONFIG_HOOK_NONE);
		if (row->flags & CONFIG_KEY_DUMP_BY_HAND)
			hooks = hooks && row->hook != CONFIG_HOOK_NONE;
		if (row->type == CONFIG_KEY_INT || row->type == CONFIG_KEY_UINT)
			ranges = ranges && row->min <= row->max;
		if (!unique || !enums || !structs || !hooks || !ranges) {
			tap_diag("  at %s: %s", t->name, row->name);
			break;
		}
	}
	tap_ok(unique, "%s: every key once", t->name);
	tap_ok(enums, "%s: every enum default is one of its words", t->name);
	tap_ok(structs, "%s: every group or list has its table or its hook", t->name);
	tap_ok(hooks, "%s: every row printed by hand has a hook", t->name);
	tap_ok(ranges, "%s: every range is min <= max", t->name);
}

static void test_kinds(void)
{
	struct config_pin pin = { .direction = CONFIG_DIRECTION_INPUT };
	const struct config_key *dbl = config_key_find(config_pin_keys, "double_press_ms");
	const struct config_key *drive = config_key_find(config_pin_keys, "drive");
	const struct config_key *bias = config_key_find(config_pin_keys, "bias");

	tap_ok(config_pin_kind(&pin) == CONFIG_KIND_SWITCH, "kind: an input is a switch by default");
	pin.mode = CONFIG_INPUT_MODE_BUTTON;
	tap_ok(config_pin_kind(&pin) == CONFIG_KIND_BUTTON, "kind: mode = button");
	pin.direction = CONFIG_DIRECTION_OUTPUT;
	tap_ok(config_pin_kind(&pin) == CONFIG_KIND_OUTPUT, "kind: an output");
	if (!dbl || !drive || !bias) {
		tap_ok(false, "the pin table has double_press_ms, drive and bias");
		return;
	}
	tap_ok(config_key_applies(dbl, CONFIG_KIND_BUTTON) &&
		       !config_key_applies(dbl, CONFIG_KIND_SWITCH) &&
		       config_key_applies(dbl, config_kind_family(CONFIG_KIND_SWITCH)),
	       "applies: double_press_ms is a button's, known to every input");
	tap_ok(!config_key_applies(drive, config_kind_family(CONFIG_KIND_BUTTON)),
	       "applies: drive is unknown to inputs");
	tap_ok(config_key_applies(bias, CONFIG_KIND_SWITCH) &&
		       config_key_applies(bias, CONFIG_KIND_OUTPUT) &&
		       config_key_applies(bias, CONFIG_KINDS_ANY),
	       "applies: bias is every pin's");
	tap_ok(config_key_find(config_mqtt_keys, "nope") == NULL, "find: an unknown key");
}

/* Every integer a good configuration loads to lies in its row's range, defaults included (a
 * broker's port too, which is resolved from TLS after reading). */
static bool in_range(const struct config_key *table, const void *base, const char *what)
{
	for (const struct config_key *row = table; row->name; row++) {
		long long v;

		if (row->type != CONFIG_KEY_INT && row->type != CONFIG_KEY_UINT)
			continue;
		v = config_key_get(row, base);
		if (v < row->min || v > row->max) {
			tap_diag("  %s: %s = %lld, not in %lld..%lld", what, row->name, v, row->min,
				 row->max);
			return false;
		}
	}
	return true;
}

static void test_loaded_ranges(const char *path)
{
	struct config *cfg = NULL;
	bool ok;

	if (config_load(path, &cfg, NULL) < 0) {
		tap_ok(false, "%s loads", path);
		return;
	}
	ok = in_range(config_mqtt_keys, &cfg->mqtt, "mqtt") &&
	     in_range(config_tls_keys, &cfg->mqtt.tls, "mqtt.tls");
	for (size_t i = 0; ok && i < cfg->mqtt.n_brokers; i++)
		ok = in_range(config_broker_keys, &cfg->mqtt.brokers[i], "broker");
	for (size_t i = 0; ok && i < cfg->n_pins; i++)
		ok = in_range(config_pin_keys, &cfg->pins[i], cfg->pins[i].name);
	for (size_t i = 0; ok && i < cfg->n_interlocks; i++)
		ok = in_range(config_interlock_keys, &cfg->interlocks[i], "interlock");
	tap_ok(ok, "%s: every integer within its row's range", path);
	config_free(cfg);
}

int main(void)
{
	static const char *const goods[] = {
		"../../conf/gpio2mqtt.conf", "../../conf/light-control.conf",
		"config/good/minimal.conf",  "config/good/full.conf",
		"config/good/overrides.conf", "config/good/tls.conf",
	};

	setenv("GPIO2MQTT_HOSTNAME", "golden", 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		test_table(&tables[i]);
	test_kinds();
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++)
		test_loaded_ranges(goods[i]);
	return tap_done();
}
