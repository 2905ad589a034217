/* SPDX-License-Identifier: MIT */
/* light.c: the curve, brightness scales, commands, fades (driven by their own deadlines, as
 * the daemon's timer does), ON going back to the last brightness, and dimming from a button. */
#include <errno.h>
#include <string.h>

#include "light.h"
#include "tap.h"

static int parse(const char *text, unsigned int scale, struct light_command *c)
{
	*c = (struct light_command){ 0 };
	return light_command_parse(text, strlen(text), scale, c);
}

static void test_curve(void)
{
	struct light_curve linear = { .period_ns = 1000000, .gamma = 1.0, .max_duty = 1.0 };
	struct light_curve square = { .period_ns = 1000000, .gamma = 2.0, .max_duty = 1.0 };
	struct light_curve led = { .period_ns = 50000, .gamma = 2.2, .min_duty = 0.02,
				   .max_duty = 0.9 };
	bool monotonic = true, roundtrip = true, lit = true;
	uint64_t prev = 0;

	tap_is_int((long long)light_duty_ns(&linear, 0), 0, "level 0 is no duty");
	tap_is_int((long long)light_duty_ns(&linear, LIGHT_LEVEL_MAX), 1000000, "full is the period");
	tap_is_int((long long)light_duty_ns(&linear, 5000), 500000, "gamma 1: half is half");
	tap_is_int((long long)light_duty_ns(&square, 5000), 250000, "gamma 2: half is a quarter");
	tap_is_int((long long)light_duty_ns(&led, LIGHT_LEVEL_MAX), 45000, "max_duty 90 %%");
	tap_is_int((long long)light_duty_ns(&led, 1), 1000, "the lowest level is min_duty (2 %%)");
	for (unsigned int l = 1; l <= LIGHT_LEVEL_MAX; l++) {
		uint64_t d = light_duty_ns(&led, l);

		monotonic = monotonic && d >= prev;
		lit = lit && d > 0;
		prev = d;
	}
	tap_ok(monotonic, "the duty never falls as the level rises");
	tap_ok(lit, "every level above 0 has a duty above 0");
	/* Low levels share a duty (a fraction of a ns): the level found gives the same duty. */
	for (unsigned int l = 0; l <= LIGHT_LEVEL_MAX; l += 7) {
		uint64_t d = light_duty_ns(&square, l);

		roundtrip = roundtrip && light_duty_ns(&square, light_level_of_duty(&square, d)) == d;
	}
	tap_ok(roundtrip, "a duty found at start is driven again as it was");
	tap_is_int(light_level_of_duty(&square, 250000), 5000, "a quarter duty is half (gamma 2)");
	tap_is_int(light_level_of_duty(&linear, 333333), 3333, "the closest level to a foreign duty");
}

static void test_scales(void)
{
	bool ok255 = true, ok100 = true;

	tap_is_int(light_brightness(LIGHT_LEVEL_MAX, 255), 255, "full is 255");
	tap_is_int(light_brightness(1, 255), 1, "the lowest level is 1, not 0 (it is ON)");
	tap_is_int(light_brightness(0, 100), 0, "OFF is 0");
	tap_is_int(light_level(128, 255), 5020, "128 of 255 is 50.20 %%");
	for (unsigned int b = 0; b <= 255; b++)
		ok255 = ok255 && light_brightness(light_level(b, 255), 255) == b;
	for (unsigned int b = 0; b <= 100; b++)
		ok100 = ok100 && light_brightness(light_level(b, 100), 100) == b;
	tap_ok(ok255, "every brightness 0..255 survives the round trip");
	tap_ok(ok100, "every brightness 0..100 survives the round trip");
}

static void test_parse(void)
{
	struct light_command c;

	tap_ok(parse(" On\n", 100, &c) == 0 && c.sw == LIGHT_SWITCH_ON && !c.has_level, "ON");
	tap_ok(parse("off", 100, &c) == 0 && c.sw == LIGHT_SWITCH_OFF, "off");
	tap_ok(parse("TOGGLE", 100, &c) == 0 && c.sw == LIGHT_SWITCH_TOGGLE, "TOGGLE");
	tap_ok(parse("1", 100, &c) == 0 && c.sw == LIGHT_SWITCH_ON, "1 is ON, as for outputs");
	tap_ok(parse("0", 100, &c) == 0 && c.sw == LIGHT_SWITCH_OFF, "0 is OFF");
	tap_ok(parse("40", 100, &c) == 0 && c.sw == LIGHT_SWITCH_NONE && c.has_level &&
		       c.level == 4000,
	       "a number is a brightness");
	tap_is_int(parse("101", 100, &c), -EINVAL, "above the scale: refused");
	tap_ok(parse("255", 255, &c) == 0 && c.level == LIGHT_LEVEL_MAX, "255 of 255 is full");
	tap_is_int(parse("50%", 100, &c), -EINVAL, "50%% is no number");
	tap_is_int(parse("", 100, &c), -EINVAL, "empty");
	tap_ok(parse("{\"state\":\"ON\",\"brightness\":128,\"transition\":2}", 255, &c) == 0 &&
		       c.sw == LIGHT_SWITCH_ON && c.has_level && c.level == 5020 &&
		       c.has_transition && c.transition_ms == 2000,
	       "Home Assistant's JSON: state, brightness, transition in seconds");
	tap_ok(parse("{\"state\":\"OFF\",\"transition\":0.5}", 255, &c) == 0 &&
		       c.sw == LIGHT_SWITCH_OFF && c.transition_ms == 500,
	       "OFF with a half-second fade");
	tap_ok(parse("{\"brightness\":0}", 100, &c) == 0 && c.has_level && c.level == 0,
	       "brightness alone");
	tap_is_int(parse("{\"state\":\"blue\"}", 100, &c), -EINVAL, "a state that is no word");
	tap_is_int(parse("{\"state\":\"40\"}", 100, &c), -EINVAL, "a number as state");
	tap_is_int(parse("{\"transition\":1}", 100, &c), -EINVAL, "a transition alone");
	tap_is_int(parse("{\"brightness\":300}", 255, &c), -EINVAL, "a brightness above scale");
	tap_is_int(parse("{\"brightness\":1,\"transition\":-1}", 255, &c), -EINVAL,
		   "a negative transition");
	tap_is_int(parse("{\"state\":\"ON\"", 100, &c), -EINVAL, "broken JSON");
	tap_is_int(light_command_parse("O\0N", 3, 100, &c), -EINVAL, "an embedded NUL");
}

/* Runs L's timer from NOW to UNTIL as the daemon does (ticks at its deadlines); checks every
 * step interval is at most LIGHT_STEP_MS and the level moves only one way (UP). Returns the
 * number of steps (level changes). */
static unsigned int run(struct light *l, uint64_t *now, uint64_t until, bool up, bool *even,
			bool *monotonic)
{
	unsigned int steps = 0, prev = l->level;

	while (light_deadline(l) != LIGHT_NO_DEADLINE && light_deadline(l) <= until) {
		uint64_t d = light_deadline(l);

		if (d - *now > LIGHT_STEP_MS)
			*even = false;
		*now = d;
		if (light_tick(l, *now) & LIGHT_CHANGE_LEVEL)
			steps++;
		if (up ? l->level < prev : l->level > prev)
			*monotonic = false;
		prev = l->level;
	}
	return steps;
}

static void test_fades(void)
{
	struct light_command on_full = { .has_level = true, .level = LIGHT_LEVEL_MAX,
					 .has_transition = true, .transition_ms = 1000 };
	struct light_command off_fast = { .sw = LIGHT_SWITCH_OFF, .has_transition = true,
					  .transition_ms = 500 };
	struct light_command set40 = { .has_level = true, .level = 4000 };
	struct light_command off = { .sw = LIGHT_SWITCH_OFF };
	struct light_command on = { .sw = LIGHT_SWITCH_ON };
	struct light_command toggle = { .sw = LIGHT_SWITCH_TOGGLE };
	struct light_command zero = { .has_level = true, .level = 0 };
	bool even = true, monotonic = true;
	struct light l;
	uint64_t now = 1000;
	unsigned int steps, ch;

	light_init(&l, 0, 0);
	ch = light_command(&l, &on_full, 0, now);
	tap_ok((ch & LIGHT_CHANGE_STATE) && light_is_on(&l), "a fade up publishes ON at its start");
	tap_ok(light_deadline(&l) == now + LIGHT_STEP_MS, "and steps %u ms later", LIGHT_STEP_MS);
	steps = run(&l, &now, 5000, true, &even, &monotonic);
	tap_ok(steps >= 1000 / LIGHT_STEP_MS, "a 1 s fade takes %u steps", steps);
	tap_ok(even && monotonic, "every step within %u ms, never down", LIGHT_STEP_MS);
	tap_is_int(l.level, LIGHT_LEVEL_MAX, "it ends at the target");
	tap_is_int((long long)now, 2000, "exactly at its end");
	tap_ok(light_deadline(&l) == LIGHT_NO_DEADLINE, "then no timer");

	/* A loop that wakes a little after each deadline (as a real one does): the steps stay
	 * on the fade's grid, so the wake-up delay does not add up into every interval (the
	 * benchmark measured 20.5 ms per step before). */
	light_init(&l, 0, 0);
	light_command(&l, &on_full, 0, 0);
	now = 0;
	for (unsigned int i = 0; i < 10; i++) {
		now = light_deadline(&l) + 1;
		light_tick(&l, now);
	}
	tap_is_int((long long)light_deadline(&l), 11 * LIGHT_STEP_MS,
		   "ticks 1 ms late: the 11th step is still due at 11 x %u ms", LIGHT_STEP_MS);

	/* A late timer: the level is where the fade should be by then. */
	light_init(&l, 0, 0);
	light_command(&l, &on_full, 0, 0);
	light_tick(&l, 500);
	tap_is_int(l.level, 5000, "a step 480 ms late catches up (half-way at half-time)");
	tap_is_int((long long)light_deadline(&l), (500 / LIGHT_STEP_MS + 1) * LIGHT_STEP_MS,
		   "and the next step keeps the fade's %u ms grid", LIGHT_STEP_MS);
	tap_ok(LIGHT_STEP_MS + 4 <= 20, "a step every %u ms: within 20 ms with 4 ms of late wake-up",
	       LIGHT_STEP_MS);

	/* Interrupted half-way: OFF fades down from where it is. */
	ch = light_command(&l, &off_fast, 0, 500);
	tap_ok((ch & LIGHT_CHANGE_STATE) && !light_is_on(&l), "OFF during a fade: state OFF at once");
	now = 500;
	even = monotonic = true;
	run(&l, &now, 5000, false, &even, &monotonic);
	tap_ok(even && monotonic && l.level == 0 && now == 1000,
	       "the fade down starts from the fade up's level and ends in 500 ms");

	/* ON goes back to the last brightness. */
	light_init(&l, 0, 0);
	ch = light_command(&l, &set40, 0, 0);
	tap_ok((ch & LIGHT_CHANGE_LEVEL) && l.level == 4000, "40 %% without transition: at once");
	light_command(&l, &off, 0, 0);
	tap_is_int(l.level, 0, "OFF");
	light_command(&l, &on, 0, 0);
	tap_is_int(l.level, 4000, "ON goes back to 40 %%");
	ch = light_command(&l, &on, 0, 0);
	tap_ok(l.level == 4000 && !(ch & (LIGHT_CHANGE_LEVEL | LIGHT_CHANGE_STATE)),
	       "ON while on changes nothing");
	light_command(&l, &zero, 0, 0);
	tap_ok(!light_is_on(&l) && l.level == 0, "brightness 0 is OFF");
	light_command(&l, &toggle, 0, 0);
	tap_is_int(l.target, 4000, "TOGGLE from OFF goes back to 40 %% (0 was not remembered)");
	light_init(&l, 0, 0);
	light_command(&l, &on, 300, 0);
	tap_is_int(l.target, LIGHT_LEVEL_MAX, "ON with nothing remembered is full, with the "
		   "default transition");
	tap_ok(light_deadline(&l) == LIGHT_STEP_MS, "which fades");
}

static void test_button(void)
{
	bool even = true, monotonic = true;
	struct light l;
	uint64_t now = 0;
	unsigned int ch;

	light_init(&l, 0, 3000);
	light_button(&l, true, 800, 4000, 0, 0);
	ch = light_button(&l, false, 800, 4000, 0, 100);
	tap_ok((ch & LIGHT_CHANGE_STATE) && l.level == 3000, "a short press toggles ON (to 30 %%)");
	light_button(&l, true, 800, 4000, 0, 1000);
	light_button(&l, false, 800, 4000, 0, 1200);
	tap_ok(!light_is_on(&l) && l.level == 0, "another short press toggles OFF");

	/* Held from OFF: ramps up from 0. */
	now = 2000;
	light_button(&l, true, 800, 4000, 0, now);
	tap_ok(light_deadline(&l) == 2800, "a press becomes a hold after hold_ms");
	ch = light_tick(&l, 2800);
	now = 2800;
	tap_ok((ch & LIGHT_CHANGE_STATE) && light_is_on(&l), "held from OFF: ON, ramping up");
	run(&l, &now, 4800, true, &even, &monotonic);
	tap_ok(even && monotonic, "ramp steps every %u ms at most, upwards", LIGHT_STEP_MS);
	tap_ok(l.level >= 4900 && l.level <= 5100, "half-way after half of dim_ms (%u)", l.level);
	ch = light_button(&l, false, 800, 4000, 0, 4800);
	tap_ok((ch & LIGHT_CHANGE_STATE) && l.target == l.level, "the release keeps that level");
	tap_ok(light_deadline(&l) == LIGHT_NO_DEADLINE, "and stops the timer");

	/* The next hold goes down, the one after up again. */
	now = 6000;
	light_button(&l, true, 800, 4000, 0, now);
	light_tick(&l, 6800);
	now = 6800;
	even = monotonic = true;
	run(&l, &now, 7800, false, &even, &monotonic);
	light_button(&l, false, 800, 4000, 0, 7800);
	tap_ok(monotonic && l.level <= 2600 && l.level >= 2400, "the second hold dims down (%u)",
	       l.level);
	now = 9000;
	light_button(&l, true, 800, 4000, 0, now);
	light_tick(&l, 9800);
	now = 9800;
	even = monotonic = true;
	run(&l, &now, 20000, true, &even, &monotonic);
	tap_ok(monotonic && l.level == LIGHT_LEVEL_MAX, "the third goes up, and stops at full");
	tap_ok(light_deadline(&l) == LIGHT_NO_DEADLINE, "no timer while held at full");
	light_button(&l, false, 800, 4000, 0, 25000);
	light_button(&l, true, 800, 4000, 0, 26000);
	light_tick(&l, 26800);
	now = 26800;
	run(&l, &now, 40000, false, &even, &monotonic);
	tap_is_int(l.level, LIGHT_RAMP_FLOOR, "from full it goes down, and stops at 1 %%, not OFF");
	light_button(&l, false, 800, 4000, 0, 40000);
	tap_ok(light_is_on(&l), "still ON");

	/* A fade keeps stepping while a button is down. */
	{
		struct light_command off = { .sw = LIGHT_SWITCH_OFF, .has_transition = true,
					     .transition_ms = 1000 };

		light_init(&l, LIGHT_LEVEL_MAX, 0);
		light_command(&l, &off, 0, 0);
		light_button(&l, true, 800, 4000, 0, 10);
		tap_ok(light_deadline(&l) == LIGHT_STEP_MS, "a fade's step comes before the hold");
	}
}

int main(void)
{
	test_curve();
	test_scales();
	test_parse();
	test_fades();
	test_button();
	return tap_done();
}
