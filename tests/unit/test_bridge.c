/* SPDX-License-Identifier: MIT */
/* The bridge logic, driven directly: payloads, edges and commands (topics: test_topics.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static void test_pulse_parse(void)
{
	static const struct {
		const char *payload;
		long long want; /* ms, or -EINVAL */
	} cases[] = {
		{ "500", 500 },	    { " 1\n", 1 },	  { "86400000", 86400000 },
		{ "0", -EINVAL },   { "86400001", -EINVAL }, { "-5", -EINVAL },
		{ "5.5", -EINVAL }, { "", -EINVAL },	  { "ms", -EINVAL },
		{ "1e3", -EINVAL }, { "9999999999", -EINVAL }, { "5 5", -EINVAL },
		/* Leading zeros: as many as a sender likes, the value decides. */
		{ "000000001", 1 }, { "0000000001", 1 }, { "00000000000000000000500", 500 },
		{ "0086400000", 86400000 }, { "0086400001", -EINVAL },
		{ "184467440737095516160", -EINVAL }, /* 2^64 * 10: no wrap-around */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int got = 0;
		int r = bridge_pulse_parse(cases[i].payload, strlen(cases[i].payload), &got);

		tap_is_int(r < 0 ? r : (long long)got, cases[i].want, "pulse '%s'",
			   escape(cases[i].payload));
	}
}

static void test_payloads(void)
{
	tap_is_str(bridge_state_payload(true), "ON", "active is ON");
	tap_is_str(bridge_state_payload(false), "OFF", "inactive is OFF");
	tap_is_str(kind_event_name(KIND_EVENT_SINGLE), "single", "single");
	tap_is_str(kind_event_name(KIND_EVENT_DOUBLE), "double", "double");
	tap_is_str(kind_event_name(KIND_EVENT_LONG), "long", "long");
}

/* ---- a small configuration builder ------------------------------------------------------ */

#define MAX_PINS 8

static struct config cfg;
static struct config_pin cfg_pins[MAX_PINS];
static struct config_binding cfg_bindings[MAX_PINS][4];
static struct config_interlock cfg_groups[2];
static size_t cfg_group_outputs[2][MAX_PINS];

static void cfg_reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(cfg_pins, 0, sizeof(cfg_pins));
	memset(cfg_groups, 0, sizeof(cfg_groups));
	cfg.pins = cfg_pins;
	cfg.interlocks = cfg_groups;
}

static size_t cfg_input(const char *name, enum config_input_mode mode)
{
	size_t i = cfg.n_pins++;

	cfg_pins[i] = (struct config_pin){
		.name = (char *)name,
		.direction = CONFIG_DIRECTION_INPUT,
		.mode = mode,
		.publish_state = mode == CONFIG_INPUT_MODE_SWITCH,
		.double_press_ms = 400,
		.long_press_ms = 800,
		.bindings = cfg_bindings[i],
		.interlock = CONFIG_INTERLOCK_NONE,
	};
	return i;
}

static size_t cfg_output(const char *name, unsigned int pulse_ms)
{
	size_t i = cfg.n_pins++;

	cfg_pins[i] = (struct config_pin){
		.name = (char *)name,
		.direction = CONFIG_DIRECTION_OUTPUT,
		.pulse_ms = pulse_ms,
		.interlock = CONFIG_INTERLOCK_NONE,
	};
	return i;
}

static void cfg_bind(size_t input, size_t output, enum config_binding_action action,
		     enum config_binding_when when)
{
	cfg_bindings[input][cfg_pins[input].n_bindings++] =
		(struct config_binding){ .output = output, .action = action, .when = when };
}

static void cfg_interlock(unsigned int wait_ms, size_t a, size_t b, size_t c)
{
	size_t g = cfg.n_interlocks++;
	size_t members[] = { a, b, c };

	cfg_groups[g] = (struct config_interlock){ .outputs = cfg_group_outputs[g],
						   .wait_ms = wait_ms };
	for (size_t i = 0; i < 3; i++) {
		if (members[i] == SIZE_MAX)
			continue;
		cfg_group_outputs[g][cfg_groups[g].n_outputs++] = members[i];
		cfg_pins[members[i]].interlock = g;
	}
}

static struct bridge *bridge_make(void)
{
	bool levels[MAX_PINS] = { 0 };
	struct bridge *b = NULL;

	if (bridge_new(&b, &cfg, levels) < 0)
		tap_ok(false, "bridge_new failed");
	return b;
}

/* The last call's actions as text: "set lamp ON; state lamp ON; event btn single". */
static const char *acts(const struct bridge *b)
{
	static char buf[512];
	const struct bridge_action *a;
	size_t n, used = 0;

	buf[0] = '\0';
	a = bridge_actions(b, &n);
	for (size_t i = 0; i < n && used < sizeof(buf); i++) {
		const char *name = cfg_pins[a[i].pin].name;
		int w;

		if (a[i].type == BRIDGE_ACTION_SET_OUTPUT)
			w = snprintf(buf + used, sizeof(buf) - used, "%sset %s %s", used ? "; " : "",
				     name, a[i].active ? "ON" : "OFF");
		else if (a[i].type == BRIDGE_ACTION_PUBLISH_STATE)
			w = snprintf(buf + used, sizeof(buf) - used, "%sstate %s %s",
				     used ? "; " : "", name, a[i].active ? "ON" : "OFF");
		else
			w = snprintf(buf + used, sizeof(buf) - used, "%sevent %s %s",
				     used ? "; " : "", name, kind_event_name(a[i].event));
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

/* ---- foundation behaviour --------------------------------------------------------------- */

static void test_pins(void)
{
	bool levels[MAX_PINS] = { false, false, true };
	struct bridge *b;

	cfg_reset();
	cfg_input("button", CONFIG_INPUT_MODE_SWITCH);
	cfg_output("lamp", 0);
	cfg_output("relay", 0);
	tap_is_int(bridge_new(&b, &cfg, levels), 0, "bridge created");
	tap_is_int((long long)bridge_pin_count(b), 3, "3 pins");
	tap_ok(!bridge_pin_active(b, 1) && bridge_pin_active(b, 2), "initial levels kept");
	tap_ok(!bridge_pin_active(b, 7), "out of range pin reads inactive");
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "nothing scheduled");
	bridge_free(b);
}

static void test_edges(void)
{
	struct bridge *b;

	cfg_reset();
	cfg_input("button", CONFIG_INPUT_MODE_SWITCH);
	cfg_output("lamp", 0);
	b = bridge_make();
	tap_is_int(bridge_input_edge(b, 0, true, 10), 0, "rising edge");
	tap_is_str(acts(b), "state button ON", "publish button ON");
	tap_ok(bridge_pin_active(b, 0), "button is now active");
	tap_is_int(bridge_input_edge(b, 0, true, 20), 0, "same level again");
	tap_is_str(acts(b), "", "nothing published for an unchanged level");
	tap_is_int(bridge_input_edge(b, 0, false, 30), 0, "falling edge");
	tap_is_str(acts(b), "state button OFF", "publish button OFF");
	tap_is_int(bridge_input_edge(b, 1, true, 40), -EINVAL, "an edge on an output is refused");
	tap_is_str(acts(b), "", "and does nothing");
	tap_is_int(bridge_input_edge(b, 3, true, 40), -EINVAL, "unknown pin refused");
	bridge_free(b);
}

static void test_commands(void)
{
	bool levels[MAX_PINS] = { false, false, true };
	struct bridge *b;

	cfg_reset();
	cfg_input("button", CONFIG_INPUT_MODE_SWITCH);
	cfg_output("lamp", 0);
	cfg_output("relay", 0);
	bridge_new(&b, &cfg, levels);

	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_ON, 0), BRIDGE_OUTCOME_CHANGED,
		   "ON changes an OFF output");
	tap_is_str(acts(b), "set lamp ON; state lamp ON", "drive first, then publish");
	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_ON, 0), BRIDGE_OUTCOME_UNCHANGED,
		   "ON again changes nothing");
	tap_is_str(acts(b), "state lamp ON", "only the echo, no drive (no glitch)");
	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_TOGGLE, 0), BRIDGE_OUTCOME_CHANGED,
		   "TOGGLE");
	tap_is_str(acts(b), "set lamp OFF; state lamp OFF", "toggled to OFF");
	tap_is_int(bridge_output_command(b, 1, BRIDGE_COMMAND_TOGGLE, 0), BRIDGE_OUTCOME_CHANGED,
		   "TOGGLE again");
	tap_is_str(acts(b), "set lamp ON; state lamp ON", "toggled to ON");
	tap_is_int(bridge_output_command(b, 2, BRIDGE_COMMAND_OFF, 0), BRIDGE_OUTCOME_CHANGED,
		   "OFF on the relay that started ON");
	tap_ok(!bridge_pin_active(b, 2) && bridge_pin_active(b, 1), "outputs are independent");
	tap_is_int(bridge_output_command(b, 0, BRIDGE_COMMAND_ON, 0), -EPERM,
		   "a command for an input is refused");
	tap_is_str(acts(b), "", "and does nothing");
	tap_is_int(bridge_output_command(b, 5, BRIDGE_COMMAND_ON, 0), -EINVAL, "unknown pin");
	tap_is_int(bridge_output_command(b, 1, (enum bridge_command)42, 0), -EINVAL,
		   "unknown command refused");
	tap_is_int(bridge_output_pulse(b, 0, 100, 0), -EPERM, "a pulse for an input is refused");
	tap_is_int(bridge_output_pulse(b, 1, 0, 0), -EINVAL, "a pulse of 0 ms is refused");
	bridge_pin_sync(b, 1, false);
	tap_ok(!bridge_pin_active(b, 1), "sync sets the state read back from the line");
	bridge_free(b);
}

/* ---- buttons ---------------------------------------------------------------------------- */

static void test_button(unsigned int double_ms)
{
	struct bridge *b;
	size_t btn;

	cfg_reset();
	btn = cfg_input("btn", CONFIG_INPUT_MODE_BUTTON);
	cfg_pins[btn].double_press_ms = double_ms;
	b = bridge_make();
	tap_diag("button with double_press_ms = %u, long_press_ms = 800", double_ms);

	/* A short press. */
	bridge_input_edge(b, btn, true, 1000);
	tap_is_str(acts(b), "", "press: no state (publish_state is off for buttons), no event yet");
	tap_is_int((long long)bridge_next_deadline(b), 1800, "long press due at 800 ms");
	bridge_input_edge(b, btn, false, 1799);
	if (double_ms == 0) {
		tap_is_str(acts(b), "event btn single", "release at 799 ms: single at once");
	} else {
		tap_is_str(acts(b), "", "release at 799 ms: not long, waiting for a second press");
		tap_is_int((long long)bridge_next_deadline(b), 1799 + double_ms,
			   "single due when the window closes");
		bridge_tick(b, 1799 + double_ms - 1);
		tap_is_str(acts(b), "", "window still open 1 ms before");
		bridge_tick(b, 1799 + double_ms);
		tap_is_str(acts(b), "event btn single", "single when the window closes");
	}
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE, "idle");

	/* A long press. */
	bridge_input_edge(b, btn, true, 5000);
	bridge_tick(b, 5799);
	tap_is_str(acts(b), "", "not long at 799 ms");
	bridge_tick(b, 5800);
	tap_is_str(acts(b), "event btn long", "long at exactly 800 ms, while held");
	bridge_input_edge(b, btn, false, 9000);
	tap_is_str(acts(b), "", "release after a long press: nothing more");
	bridge_tick(b, 20000);
	tap_is_str(acts(b), "", "and no single later");

	if (double_ms == 0) {
		bridge_free(b);
		return;
	}
	/* A double press, the second press on the window's last millisecond. */
	bridge_input_edge(b, btn, true, 30000);
	bridge_input_edge(b, btn, false, 30100);
	bridge_input_edge(b, btn, true, 30100 + double_ms - 1);
	tap_is_str(acts(b), "", "second press inside the window: nothing yet");
	bridge_input_edge(b, btn, false, 30100 + double_ms + 50);
	tap_is_str(acts(b), "event btn double", "double on the second release");
	bridge_tick(b, 40000);
	tap_is_str(acts(b), "", "no single after a double");

	/* A second press too late: two singles. */
	bridge_input_edge(b, btn, true, 50000);
	bridge_input_edge(b, btn, false, 50100);
	bridge_tick(b, 50100 + double_ms);
	tap_is_str(acts(b), "event btn single", "window closed: single");
	bridge_input_edge(b, btn, true, 50100 + double_ms + 1);
	bridge_input_edge(b, btn, false, 50100 + double_ms + 100);
	bridge_tick(b, 50100 + double_ms + 100 + double_ms);
	tap_is_str(acts(b), "event btn single", "the late press is a single of its own");

	/* Short, then held: single and long. */
	bridge_input_edge(b, btn, true, 60000);
	bridge_input_edge(b, btn, false, 60100);
	bridge_input_edge(b, btn, true, 60200);
	bridge_tick(b, 61000);
	tap_is_str(acts(b), "event btn single; event btn long", "short then held: single, long");
	bridge_input_edge(b, btn, false, 62000);
	tap_is_str(acts(b), "", "its release: nothing");
	bridge_free(b);
}

static void test_button_held_at_start(void)
{
	bool levels[MAX_PINS] = { true };
	struct bridge *b;

	cfg_reset();
	cfg_input("btn", CONFIG_INPUT_MODE_BUTTON);
	bridge_new(&b, &cfg, levels);
	bridge_input_edge(b, 0, false, 100);
	tap_is_str(acts(b), "", "a button held at start: its release is not a press");
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "nothing scheduled");
	bridge_free(b);
}

/* ---- bindings --------------------------------------------------------------------------- */

static void test_bindings(void)
{
	size_t btn, sw, lamp, fan, heat;
	struct bridge *b;

	cfg_reset();
	btn = cfg_input("btn", CONFIG_INPUT_MODE_BUTTON);
	sw = cfg_input("sw", CONFIG_INPUT_MODE_SWITCH);
	lamp = cfg_output("lamp", 0);
	fan = cfg_output("fan", 0);
	heat = cfg_output("heat", 0);
	cfg_bind(btn, lamp, CONFIG_BINDING_TOGGLE, CONFIG_BINDING_ALWAYS);
	cfg_bind(sw, fan, CONFIG_BINDING_FOLLOW, CONFIG_BINDING_ALWAYS);
	cfg_bind(sw, heat, CONFIG_BINDING_TOGGLE, CONFIG_BINDING_OFFLINE);
	b = bridge_make();
	bridge_connected_set(b, true);

	bridge_input_edge(b, btn, true, 0);
	tap_is_str(acts(b), "set lamp ON; state lamp ON", "button press toggles the lamp at once");
	bridge_input_edge(b, btn, false, 100);
	tap_is_str(acts(b), "", "its release does nothing");
	bridge_tick(b, 500);
	tap_is_str(acts(b), "event btn single", "the event still follows");
	bridge_input_edge(b, btn, true, 1000);
	tap_is_str(acts(b), "set lamp OFF; state lamp OFF", "next press toggles it OFF");
	bridge_input_edge(b, btn, false, 1100);

	bridge_input_edge(b, sw, true, 2000);
	tap_is_str(acts(b), "state sw ON; set fan ON; state fan ON",
		   "switch ON: its state, fan follows; heat (offline only) untouched while connected");
	bridge_connected_set(b, false);
	bridge_input_edge(b, sw, false, 3000);
	tap_is_str(acts(b), "state sw OFF; set fan OFF; state fan OFF; set heat ON; state heat ON",
		   "offline: fan follows, heat toggles on the change");
	bridge_input_edge(b, sw, true, 4000);
	tap_is_str(acts(b), "state sw ON; set fan ON; state fan ON; set heat OFF; state heat OFF",
		   "a switch toggles on every change");
	bridge_connected_set(b, true);
	bridge_input_edge(b, sw, false, 5000);
	tap_is_str(acts(b), "state sw OFF; set fan OFF; state fan OFF", "online again: heat stays");
	bridge_free(b);

	cfg_reset();
	sw = cfg_input("sw", CONFIG_INPUT_MODE_SWITCH);
	lamp = cfg_output("lamp", 0);
	fan = cfg_output("fan", 0);
	cfg_bind(sw, lamp, CONFIG_BINDING_ON, CONFIG_BINDING_ALWAYS);
	cfg_bind(sw, fan, CONFIG_BINDING_OFF, CONFIG_BINDING_ALWAYS);
	b = bridge_make();
	bridge_output_command(b, fan, BRIDGE_COMMAND_ON, 0);
	bridge_input_edge(b, sw, true, 10);
	tap_is_str(acts(b), "state sw ON; set lamp ON; state lamp ON; set fan OFF; state fan OFF",
		   "on and off bindings act when the input becomes active");
	bridge_input_edge(b, sw, false, 20);
	tap_is_str(acts(b), "state sw OFF", "and not when it becomes inactive");
	bridge_free(b);
}

/* ---- pulses ----------------------------------------------------------------------------- */

static void test_pulses(void)
{
	size_t gate, lamp, btn;
	struct bridge *b;

	cfg_reset();
	gate = cfg_output("gate", 500);
	lamp = cfg_output("lamp", 0);
	btn = cfg_input("btn", CONFIG_INPUT_MODE_BUTTON);
	cfg_bind(btn, gate, CONFIG_BINDING_ON, CONFIG_BINDING_ALWAYS);
	b = bridge_make();

	tap_is_int(bridge_output_command(b, gate, BRIDGE_COMMAND_ON, 1000), BRIDGE_OUTCOME_CHANGED,
		   "ON a pulse output");
	tap_is_int((long long)bridge_next_deadline(b), 1500, "OFF due after pulse_ms");
	bridge_tick(b, 1499);
	tap_is_str(acts(b), "", "still ON 1 ms before");
	bridge_tick(b, 1500);
	tap_is_str(acts(b), "set gate OFF; state gate OFF", "OFF when the pulse ends");
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE, "done");

	bridge_output_command(b, gate, BRIDGE_COMMAND_ON, 2000);
	tap_is_int(bridge_output_command(b, gate, BRIDGE_COMMAND_ON, 2300),
		   BRIDGE_OUTCOME_UNCHANGED, "ON during a pulse");
	tap_is_int((long long)bridge_next_deadline(b), 2800, "restarts it (staircase timer)");
	bridge_output_command(b, gate, BRIDGE_COMMAND_OFF, 2400);
	tap_is_str(acts(b), "set gate OFF; state gate OFF", "OFF during a pulse ends it at once");
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "and cancels the timer");
	bridge_output_command(b, gate, BRIDGE_COMMAND_ON, 3000);
	bridge_output_command(b, gate, BRIDGE_COMMAND_TOGGLE, 3100);
	tap_is_str(acts(b), "set gate OFF; state gate OFF", "TOGGLE during a pulse: OFF");
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "timer cancelled");

	tap_is_int(bridge_output_pulse(b, lamp, 250, 4000), BRIDGE_OUTCOME_CHANGED,
		   "a pulse command on a plain output");
	tap_is_str(acts(b), "set lamp ON; state lamp ON", "ON now");
	bridge_output_pulse(b, lamp, 1000, 4100);
	tap_is_int((long long)bridge_next_deadline(b), 5100, "a second pulse restarts with its time");
	bridge_tick(b, 5100);
	tap_is_str(acts(b), "set lamp OFF; state lamp OFF", "OFF at the end");
	bridge_output_command(b, lamp, BRIDGE_COMMAND_ON, 6000);
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "a plain ON on a plain output stays ON");
	bridge_output_pulse(b, lamp, 100, 6100);
	tap_is_int((long long)bridge_next_deadline(b), 6200, "a pulse on an ON output: OFF later");
	bridge_output_command(b, lamp, BRIDGE_COMMAND_ON, 6150);
	tap_is_int((long long)bridge_next_deadline(b), (long long)BRIDGE_NO_DEADLINE,
		   "a plain ON ends the pulse and stays ON");

	bridge_input_edge(b, btn, true, 7000);
	tap_is_str(acts(b), "set gate ON; state gate ON", "a binding's ON on a pulse output");
	tap_is_int((long long)bridge_next_deadline(b), 7500, "pulses too");
	bridge_free(b);
}

/* ---- interlocks ------------------------------------------------------------------------- */

static void test_interlock(void)
{
	size_t up, down, lamp;
	struct bridge *b;

	cfg_reset();
	up = cfg_output("up", 0);
	down = cfg_output("down", 0);
	lamp = cfg_output("lamp", 0);
	cfg_interlock(500, up, down, SIZE_MAX);
	b = bridge_make();

	tap_is_int(bridge_output_command(b, up, BRIDGE_COMMAND_ON, 1000), BRIDGE_OUTCOME_CHANGED,
		   "up ON with nothing else on: at once");
	tap_is_int(bridge_output_command(b, down, BRIDGE_COMMAND_ON, 1100), BRIDGE_OUTCOME_PENDING,
		   "down ON while up is ON: pending");
	tap_is_str(acts(b), "set up OFF; state up OFF; state down OFF",
		   "up goes OFF first; down's state is echoed as still OFF");
	tap_is_int((long long)bridge_next_deadline(b), 1600, "down due after the wait");
	bridge_tick(b, 1599);
	tap_is_str(acts(b), "", "not before");
	bridge_tick(b, 1600);
	tap_is_str(acts(b), "set down ON; state down ON", "down ON after the wait");

	bridge_output_command(b, down, BRIDGE_COMMAND_OFF, 2000);
	tap_is_int(bridge_output_command(b, up, BRIDGE_COMMAND_ON, 2200), BRIDGE_OUTCOME_PENDING,
		   "up ON 200 ms after down went OFF: waits the rest");
	tap_is_int((long long)bridge_next_deadline(b), 2500, "until 500 ms after the OFF");
	tap_is_int(bridge_output_command(b, up, BRIDGE_COMMAND_TOGGLE, 2300),
		   BRIDGE_OUTCOME_UNCHANGED, "TOGGLE while pending cancels it");
	bridge_tick(b, 3000);
	tap_is_str(acts(b), "", "nothing happens later");
	tap_ok(!bridge_pin_active(b, up) && !bridge_pin_active(b, down), "both OFF");

	bridge_output_command(b, up, BRIDGE_COMMAND_ON, 5000);
	bridge_output_command(b, down, BRIDGE_COMMAND_ON, 5100);
	bridge_output_command(b, up, BRIDGE_COMMAND_ON, 5200);
	tap_is_str(acts(b), "state up OFF", "a newer request replaces the pending one");
	bridge_tick(b, 5600);
	tap_is_str(acts(b), "set up ON; state up ON", "up goes ON, down never did");
	tap_ok(!bridge_pin_active(b, down), "down stayed OFF");
	bridge_output_command(b, lamp, BRIDGE_COMMAND_ON, 5700);
	tap_is_str(acts(b), "set lamp ON; state lamp ON", "outputs outside the group are free");

	/* The OFF decided at 8000 but driven only at 8040 (a busy Pi): the wait counts from then. */
	bridge_output_command(b, down, BRIDGE_COMMAND_ON, 8000);
	tap_is_str(acts(b), "set up OFF; state up OFF; state down OFF", "down waits for up's OFF");
	tap_is_int((long long)bridge_next_deadline(b), 8500, "due 500 ms after the decision");
	bridge_output_driven(b, up, false, 8040);
	tap_is_int((long long)bridge_next_deadline(b), 8540,
		   "moved to 500 ms after the line really went OFF");
	bridge_tick(b, 8539);
	tap_is_str(acts(b), "", "not at 8539");
	bridge_tick(b, 8540);
	tap_is_str(acts(b), "set down ON; state down ON", "ON at 8540");
	bridge_output_driven(b, down, true, 8541);
	bridge_output_command(b, down, BRIDGE_COMMAND_OFF, 9000);
	bridge_output_driven(b, down, false, 9001);
	tap_is_int(bridge_output_command(b, up, BRIDGE_COMMAND_ON, 9500), BRIDGE_OUTCOME_PENDING,
		   "499 ms after the driven OFF: still waiting");
	tap_is_int((long long)bridge_next_deadline(b), 9501, "until 500 ms after 9001");
	bridge_output_driven(b, lamp, false, 99999);
	tap_is_int((long long)bridge_next_deadline(b), 9501, "outputs outside the group change nothing");

	bool levels[MAX_PINS] = { true, true, true };
	tap_is_int((long long)bridge_levels_sanitize(&cfg, levels), 1,
		   "sanitize clears one of two starting ON");
	tap_ok(levels[up] && !levels[down] && levels[lamp], "the first listed stays ON");
	bridge_free(b);
}

static void check_actions(struct bridge *b, const struct bridge_action *act, size_t n, uint64_t now,
			  uint64_t *last_off, unsigned int *ons, unsigned int *violations)
{
	(void)b;
	for (size_t i = 0; i < n; i++) {
		if (act[i].type != BRIDGE_ACTION_SET_OUTPUT || act[i].pin > 2)
			continue;
		if (!act[i].active) {
			last_off[act[i].pin] = now;
			continue;
		}
		(*ons)++;
		for (size_t o = 0; o < 3; o++) {
			if (o != act[i].pin && last_off[o] && now - last_off[o] < 250) {
				tap_diag("at %llu: %zu ON %llu ms after %zu went OFF",
					 (unsigned long long)now, act[i].pin,
					 (unsigned long long)(now - last_off[o]), o);
				(*violations)++;
			}
		}
	}
}

/* Random commands, pulses, bindings and ticks: never two ON in a group, and never one ON less
 * than the wait after another went OFF. */
static void test_interlock_random(void)
{
	size_t a, bb, c, btn, sw;
	uint64_t now = 1000, last_off[MAX_PINS] = { 0 };
	unsigned int seed = 12345, violations = 0, ons = 0;
	struct bridge *b;

	cfg_reset();
	a = cfg_output("a", 0);
	bb = cfg_output("b", 300);
	c = cfg_output("c", 0);
	btn = cfg_input("btn", CONFIG_INPUT_MODE_BUTTON);
	sw = cfg_input("sw", CONFIG_INPUT_MODE_SWITCH);
	cfg_bind(btn, a, CONFIG_BINDING_TOGGLE, CONFIG_BINDING_ALWAYS);
	cfg_bind(sw, c, CONFIG_BINDING_FOLLOW, CONFIG_BINDING_ALWAYS);
	cfg_bind(sw, bb, CONFIG_BINDING_ON, CONFIG_BINDING_ALWAYS);
	cfg_interlock(250, a, bb, c);
	b = bridge_make();

	for (int step = 0; step < 20000; step++) {
		const struct bridge_action *act;
		size_t n, on = 0, pin = (size_t)(rand_r(&seed) % 3);


		now += (uint64_t)(rand_r(&seed) % 200);
		/* As the main loop does: what fell due is carried out before anything later. */
		while (bridge_next_deadline(b) <= now) {
			uint64_t due = bridge_next_deadline(b);

			bridge_tick(b, due);
			act = bridge_actions(b, &n);
			check_actions(b, act, n, due, last_off, &ons, &violations);
		}
		switch (rand_r(&seed) % 6) {
		case 0:
			bridge_output_command(b, pin, (enum bridge_command)(rand_r(&seed) % 3), now);
			break;
		case 1:
			bridge_output_pulse(b, pin, 1 + (unsigned int)(rand_r(&seed) % 600), now);
			break;
		case 2:
			bridge_input_edge(b, btn, rand_r(&seed) % 2, now);
			break;
		case 3:
			bridge_input_edge(b, sw, rand_r(&seed) % 2, now);
			break;
		default:
			bridge_tick(b, now);
			break;
		}
		act = bridge_actions(b, &n);
		check_actions(b, act, n, now, last_off, &ons, &violations);
		for (size_t o = 0; o < 3; o++)
			on += bridge_pin_active(b, o);
		if (on > 1) {
			tap_diag("step %d at %llu: %zu outputs ON", step, (unsigned long long)now, on);
			violations++;
		}
		/* Nothing may fall due in the past. */
		if (bridge_next_deadline(b) < now) {
			tap_diag("step %d at %llu: deadline in the past", step, (unsigned long long)now);
			violations++;
		}
	}
	tap_is_int(violations, 0, "20000 random steps: at most one ON, wait always respected");
	tap_ok(ons > 100, "and outputs did go ON (%u times)", ons);
	bridge_free(b);
}

int main(void)
{
	test_command_parse();
	test_pulse_parse();
	test_payloads();
	test_pins();
	test_edges();
	test_commands();
	test_button(400);
	test_button(0);
	test_button_held_at_start();
	test_bindings();
	test_pulses();
	test_interlock();
	test_interlock_random();
	return tap_done();
}
