/* SPDX-License-Identifier: MIT */
/* topics.c driven directly: the topics a configuration is given and how incoming topics are
 * routed. (The topic assertions of test_bridge.c moved here with the layout.) */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "topics.h"

#define ID_A "0123456789abcdef"

static struct config_pin pins[] = {
	{ .name = "lamp", .direction = CONFIG_DIRECTION_OUTPUT },
	{ .name = "gate", .direction = CONFIG_DIRECTION_OUTPUT },
	{ .name = "door", .direction = CONFIG_DIRECTION_INPUT, .publish_state = true },
	{ .name = "bell", .direction = CONFIG_DIRECTION_INPUT, .mode = CONFIG_INPUT_MODE_BUTTON },
};

static struct config cfg = {
	.mqtt = { .base_topic = "gpio2mqtt/pi" },
	.pins = pins,
	.n_pins = sizeof(pins) / sizeof(pins[0]),
	.discovery = { .homeassistant = true, .prefix = "homeassistant", .homie = true },
};

static int route(const struct topics *t, const char *topic, const char **name, size_t *len)
{
	struct topics_match m = { .pin = SIZE_MAX };
	int r = topics_route(t, topic, &m);

	*name = m.name;
	*len = m.name_len;
	return r;
}

static void test_build(void)
{
	struct topics *t = NULL;
	char buf[64];

	tap_is_int(topics_new(&t, &cfg, ID_A), 0, "topics built");
	if (!t)
		return;
	tap_is_str(t->pins[0].state, "gpio2mqtt/pi/lamp", "state topic");
	tap_is_str(t->pins[0].set, "gpio2mqtt/pi/lamp/set", "set topic");
	tap_is_str(t->pins[1].pulse, "gpio2mqtt/pi/gate/pulse", "pulse topic");
	tap_is_str(t->pins[3].event, "gpio2mqtt/pi/bell/event", "event topic");
	tap_is_str(t->status, "gpio2mqtt/pi/status", "status topic");
	tap_is_str(t->health, "gpio2mqtt/pi/health", "health topic");
	tap_is_str(t->health_get, "gpio2mqtt/pi/health/get", "health request topic");
	/* Subscriptions: each pin's own topics, never a wildcard. */
	{
		size_t want = 1; /* health/get */
		bool exact = true, has_lamp = false, has_gate_pulse = false, has_bell_pulse = false;

		for (size_t i = 0; i < t->n_pins; i++)
			want += t->pins[i].commands ? 2 : 1;
		tap_is_int((long long)t->n_subscriptions, (long long)want,
			   "one set per pin, one pulse per output, health/get");
		for (size_t i = 0; i < t->n_subscriptions; i++) {
			exact &= strpbrk(t->subscriptions[i], "+#") == NULL;
			has_lamp |= strcmp(t->subscriptions[i], "gpio2mqtt/pi/lamp/set") == 0;
			has_gate_pulse |= strcmp(t->subscriptions[i], "gpio2mqtt/pi/gate/pulse") == 0;
			has_bell_pulse |= strcmp(t->subscriptions[i], "gpio2mqtt/pi/bell/pulse") == 0;
		}
		tap_ok(exact, "no wildcard subscription");
		tap_ok(has_lamp, "lamp/set subscribed");
		tap_ok(has_gate_pulse, "gate/pulse subscribed (an output)");
		tap_ok(!has_bell_pulse, "no bell/pulse (an input takes no pulses)");
		tap_is_str(t->subscriptions[t->n_subscriptions - 1], "gpio2mqtt/pi/health/get",
			   "health/get subscribed");
	}
	tap_is_str(t->ha_status, "homeassistant/status", "Home Assistant birth topic");
	tap_is_str(t->homie_state, "homie/gpio2mqtt-" ID_A "/$state", "Homie $state");

	/* A buffer of the exact size holds it; one byte less does not. */
	tap_is_int(topics_homie_value(t, 0, "state", buf, 10), -ENAMETOOLONG,
		   "too long for the buffer");
	tap_is_int(topics_homie_value(t, 0, "state", buf, strlen(t->pins[0].homie_state) + 1), 0,
		   "exactly fits");
	tap_is_str(buf, "homie/gpio2mqtt-" ID_A "/lamp/state", "Homie value topic");
	topics_free(t);

	tap_is_int(topics_new(&t, &cfg, "0123"), -EINVAL, "short id refused");
	tap_is_int(topics_new(&t, &cfg, "0123456789ABCDEF"), -EINVAL, "upper-case id refused");
}

static void test_route(void)
{
	static const char *const not_set[] = {
		"gpio2mqtt/pi/lamp",	   "gpio2mqtt/pi/set",	     "gpio2mqtt/pi//set",
		"gpio2mqtt/pi/a/b/set",	   "gpio2mqtt/pix/lamp/set", "gpio2mqtt/p/lamp/set",
		"other/pi/lamp/set",	   "gpio2mqtt/pi/lamp/sett", "gpio2mqtt/pi/lamp/set/x",
		"gpio2mqtt/pi/lamp/status", "",
	};
	struct config_pin utf8_pins[] = { { .name = "küche", .direction = CONFIG_DIRECTION_OUTPUT } };
	struct config utf8 = { .mqtt = { .base_topic = "a" }, .pins = utf8_pins, .n_pins = 1 };
	struct topics *t = NULL;
	struct topics_match m;
	const char *name;
	size_t len;

	if (topics_new(&t, &cfg, ID_A) < 0)
		return;
	tap_is_int(route(t, "gpio2mqtt/pi/lamp/set", &name, &len), TOPICS_ROUTE_SET,
		   "set topic parsed");
	tap_ok(len == 4 && strncmp(name, "lamp", len) == 0, "name is 'lamp'");
	tap_is_int(route(t, "gpio2mqtt/pi/gate/pulse", &name, &len), TOPICS_ROUTE_PULSE,
		   "pulse topic parsed");
	tap_ok(len == 4 && strncmp(name, "gate", len) == 0, "name is 'gate'");
	tap_is_int(topics_route(t, "gpio2mqtt/pi/gate/pulse", &m), TOPICS_ROUTE_PULSE,
		   "a pulse topic is not a set topic");
	tap_is_int((long long)m.pin, 1, "gate is pin 1");
	tap_ok(topics_pin_find(t, "gate", 4, &m.pin), "gate found");
	tap_is_int((long long)m.pin, 1, "gate is pin 1");
	tap_ok(topics_pin_find(t, "gatex", 4, &m.pin), "only name_len bytes compared");
	tap_ok(!topics_pin_find(t, "gat", 3, &m.pin), "a prefix is not a name (lookup)");
	tap_ok(!topics_pin_find(t, "nope", 4, &m.pin), "unknown name");
	tap_is_int(route(t, "gpio2mqtt/pi/lam/set", &name, &len), TOPICS_ROUTE_UNKNOWN_PIN,
		   "a prefix is not a name");
	tap_ok(len == 3 && strncmp(name, "lam", len) == 0, "the unknown name is 'lam'");
	tap_is_int(route(t, "gpio2mqtt/pi/door/set", &name, &len), TOPICS_ROUTE_SET,
		   "a command to an input is routed (and refused by the caller)");
	tap_is_int(route(t, "gpio2mqtt/pi/health/get", &name, &len), TOPICS_ROUTE_HEALTH_GET,
		   "health request");
	tap_is_int(route(t, "homeassistant/status", &name, &len), TOPICS_ROUTE_HA_STATUS,
		   "Home Assistant birth");
	tap_is_int(topics_route(t, "homie/gpio2mqtt-" ID_A "/gate/state/set", &m), TOPICS_ROUTE_SET,
		   "Homie set");
	tap_is_int((long long)m.pin, 1, "Homie set on gate");
	for (size_t i = 0; i < sizeof(not_set) / sizeof(not_set[0]); i++)
		tap_is_int(route(t, not_set[i], &name, &len), TOPICS_ROUTE_NONE,
			   "'%s' is not a command topic", not_set[i]);
	topics_free(t);

	if (topics_new(&t, &utf8, ID_A) < 0)
		return;
	tap_is_int(route(t, "a/küche/set", &name, &len), TOPICS_ROUTE_SET, "UTF-8 name");
	tap_ok(len == strlen("küche") && strncmp(name, "küche", len) == 0, "name is 'küche'");
	topics_free(t);
}

int main(void)
{
	test_build();
	test_route();
	return tap_done();
}
