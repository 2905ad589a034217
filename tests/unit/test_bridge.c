/* SPDX-License-Identifier: MIT */
/* The bridge logic, driven directly: payloads, topics, edges and commands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "tap.h"

/* A payload printable on one TAP line. */
static const char *escape(const char *s)
{
	static char buf[128];
	size_t n = 0;

	for (; *s && n + 5 < sizeof(buf); s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", *s);
		else
			buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}

static void test_command_parse(void)
{
	static const struct {
		const char *payload;
		int want; /* a bridge_command, or -EINVAL */
	} cases[] = {
		{ "ON", BRIDGE_COMMAND_ON },	     { "on", BRIDGE_COMMAND_ON },
		{ "On", BRIDGE_COMMAND_ON },	     { " ON\n", BRIDGE_COMMAND_ON },
		{ "\tOFF\r\n", BRIDGE_COMMAND_OFF }, { "off", BRIDGE_COMMAND_OFF },
		{ "TOGGLE", BRIDGE_COMMAND_TOGGLE }, { "toggle", BRIDGE_COMMAND_TOGGLE },
		{ "ToGgLe", BRIDGE_COMMAND_TOGGLE }, { "1", BRIDGE_COMMAND_ON },
		{ "0", BRIDGE_COMMAND_OFF },	     { "true", BRIDGE_COMMAND_ON },
		{ "TRUE", BRIDGE_COMMAND_ON },	     { "false", BRIDGE_COMMAND_OFF },
		{ "False", BRIDGE_COMMAND_OFF },     { "", -EINVAL },
		{ "   ", -EINVAL },		     { "ONN", -EINVAL },
		{ "O N", -EINVAL },		     { "01", -EINVAL },
		{ "2", -EINVAL },		     { "yes", -EINVAL },
		{ "{\"state\":\"ON\"}", -EINVAL },   { "TOGGLE!", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum bridge_command got = (enum bridge_command)-1;
		int r = bridge_command_parse(cases[i].payload, strlen(cases[i].payload), &got);

		tap_is_int(r < 0 ? r : (int)got, cases[i].want, "command '%s'", escape(cases[i].payload));
	}

	/* The payload is a byte string, not a C string: a NUL inside makes it invalid, and only
	 * LEN bytes are looked at. */
	enum bridge_command got;
	tap_is_int(bridge_command_parse("ON\0X", 4, &got), -EINVAL, "embedded NUL rejected");
	tap_is_int(bridge_command_parse("ONXXX", 2, &got), 0, "only len bytes are read");
	tap_is_int(got, BRIDGE_COMMAND_ON, "... and they say ON");
	tap_is_int(bridge_command_parse(NULL, 0, &got), -EINVAL, "NULL payload rejected");

	char big[2000];
	memset(big, 'O', sizeof(big));
	tap_is_int(bridge_command_parse(big, sizeof(big), &got), -EINVAL, "2000 bytes rejected");
}

static void test_topics(void)
{
	char buf[64];
	const char *name;
	size_t len;

	tap_is_int(bridge_topic_build(buf, sizeof(buf), "gpio2mqtt/pi", "lamp", NULL), 0,
		   "state topic built");
	tap_is_str(buf, "gpio2mqtt/pi/lamp", "state topic");
	tap_is_int(bridge_topic_build(buf, sizeof(buf), "gpio2mqtt/pi", "lamp", "/set"), 0,
		   "set topic built");
	tap_is_str(buf, "gpio2mqtt/pi/lamp/set", "set topic");
	tap_is_int(bridge_topic_build(buf, 10, "gpio2mqtt/pi", "lamp", NULL), -ENAMETOOLONG,
		   "too long for the buffer");
	tap_is_int(bridge_topic_build(buf, 18, "gpio2mqtt/pi", "lamp", NULL), 0,
		   "exactly fits (17 bytes + NUL)");

	tap_is_int(bridge_topic_parse_set("gpio2mqtt/pi", "gpio2mqtt/pi/lamp/set", &name, &len), 0,
		   "set topic parsed");
	tap_ok(len == 4 && strncmp(name, "lamp", len) == 0, "name is 'lamp'");
	tap_is_int(bridge_topic_parse_set("a", "a/küche/set", &name, &len), 0, "UTF-8 name");
	tap_ok(len == strlen("küche") && strncmp(name, "küche", len) == 0, "name is 'küche'");

	static const char *const not_set[] = {
		"gpio2mqtt/pi/lamp",	   "gpio2mqtt/pi/set",	     "gpio2mqtt/pi//set",
		"gpio2mqtt/pi/a/b/set",	   "gpio2mqtt/pix/lamp/set", "gpio2mqtt/p/lamp/set",
		"other/pi/lamp/set",	   "gpio2mqtt/pi/lamp/sett", "gpio2mqtt/pi/lamp/set/x",
		"gpio2mqtt/pi/lamp/status", "",
	};
	for (size_t i = 0; i < sizeof(not_set) / sizeof(not_set[0]); i++)
		tap_is_int(bridge_topic_parse_set("gpio2mqtt/pi", not_set[i], &name, &len), -ENOENT,
			   "'%s' is not a command topic", not_set[i]);

	tap_is_str(bridge_state_payload(true), "ON", "active is ON");
	tap_is_str(bridge_state_payload(false), "OFF", "inactive is OFF");
}

static struct config_pin pins[] = {
	{ .name = "button", .direction = CONFIG_DIRECTION_INPUT },
	{ .name = "lamp", .direction = CONFIG_DIRECTION_OUTPUT },
	{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT },
};

static void test_pins(void)
{
	const bool levels[] = { false, false, true };
	struct bridge *b;
	size_t pin = 99;

	tap_is_int(bridge_new(&b, pins, 3, levels), 0, "bridge created");
	tap_is_int((long long)bridge_pin_count(b), 3, "3 pins");
	tap_is_int(bridge_pin_find(b, "lamp", 4, &pin), 0, "lamp found");
	tap_is_int((long long)pin, 1, "lamp is pin 1");
	tap_is_int(bridge_pin_find(b, "lampe", 4, &pin), 0, "only name_len bytes compared");
	tap_is_int(bridge_pin_find(b, "lam", 3, &pin), -ENOENT, "a prefix is not a name");
	tap_is_int(bridge_pin_find(b, "nope", 4, &pin), -ENOENT, "unknown name");
	tap_ok(!bridge_pin_active(b, 1) && bridge_pin_active(b, 2), "initial levels kept");
	tap_ok(!bridge_pin_active(b, 7), "out of range pin reads inactive");
	bridge_free(b);
}

static void test_edges(void)
{
	const bool levels[] = { false, false, true };
	struct bridge_actions a;
	struct bridge *b;

	bridge_new(&b, pins, 3, levels);
	tap_is_int(bridge_input_edge(b, 0, true, &a), 0, "rising edge");
	tap_is_int((long long)a.n, 1, "one action");
	tap_ok(a.items[0].type == BRIDGE_ACTION_PUBLISH_STATE && a.items[0].pin == 0 &&
		       a.items[0].active,
	       "publish button ON");
	tap_ok(bridge_pin_active(b, 0), "button is now active");

	tap_is_int(bridge_input_edge(b, 0, true, &a), 0, "same level again");
	tap_is_int((long long)a.n, 0, "nothing published for an unchanged level");

	tap_is_int(bridge_input_edge(b, 0, false, &a), 0, "falling edge");
	tap_ok(a.n == 1 && !a.items[0].active, "publish button OFF");

	tap_is_int(bridge_input_edge(b, 1, true, &a), -EINVAL, "an edge on an output is refused");
	tap_is_int((long long)a.n, 0, "and does nothing");
	tap_ok(!bridge_pin_active(b, 1), "output unchanged");
	tap_is_int(bridge_input_edge(b, 3, true, &a), -EINVAL, "unknown pin refused");
	bridge_free(b);
}

static void test_commands(void)
{
	const bool levels[] = { false, false, true };
	struct bridge_actions a;
	struct bridge *b;

	bridge_new(&b, pins, 3, levels);

	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_ON, &a), BRIDGE_OUTCOME_CHANGED,
		   "ON changes an OFF output");
	tap_is_int((long long)a.n, 2, "drive + publish");
	tap_ok(a.items[0].type == BRIDGE_ACTION_SET_OUTPUT && a.items[0].pin == 1 &&
		       a.items[0].active,
	       "drive lamp ON first");
	tap_ok(a.items[1].type == BRIDGE_ACTION_PUBLISH_STATE && a.items[1].active,
	       "then publish ON");

	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_ON, &a), BRIDGE_OUTCOME_UNCHANGED,
		   "ON again changes nothing");
	tap_is_int((long long)a.n, 1, "only the echo");
	tap_ok(a.items[0].type == BRIDGE_ACTION_PUBLISH_STATE && a.items[0].active,
	       "echo ON, no drive (no glitch)");

	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_TOGGLE, &a), BRIDGE_OUTCOME_CHANGED,
		   "TOGGLE");
	tap_ok(a.n == 2 && !a.items[0].active && !bridge_pin_active(b, 1), "toggled to OFF");
	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_TOGGLE, &a), BRIDGE_OUTCOME_CHANGED,
		   "TOGGLE again");
	tap_ok(a.n == 2 && a.items[0].active && bridge_pin_active(b, 1), "toggled to ON");

	tap_is_int(bridge_output_command(b, 2, BRIDGE_COMMAND_OFF, &a), BRIDGE_OUTCOME_CHANGED,
		   "OFF on the relay that started ON");
	tap_ok(!bridge_pin_active(b, 2) && bridge_pin_active(b, 1), "outputs are independent");

	tap_is_int(bridge_output_command(b, 0, BRIDGE_COMMAND_ON, &a), -EPERM,
		   "a command for an input is refused");
	tap_is_int((long long)a.n, 0, "and does nothing");
	tap_ok(!bridge_pin_active(b, 0), "input state unchanged");
	tap_is_int(bridge_output_command(b, 5, BRIDGE_COMMAND_ON, &a), -EINVAL,
		   "unknown pin refused");
	tap_is_int(bridge_output_command(b, 1, (enum bridge_command)42, &a), -EINVAL,
		   "unknown command refused");

	bridge_pin_sync(b, 1, false);
	tap_ok(!bridge_pin_active(b, 1), "sync sets the state read back from the line");
	bridge_free(b);
}

int main(void)
{
	test_command_parse();
	test_topics();
	test_pins();
	test_edges();
	test_commands();
	return tap_done();
}
