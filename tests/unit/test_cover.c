/* SPDX-License-Identifier: MIT */
/* Covers: the position model (src/cover.c) alone, and driven through bridge.c with its relays,
 * where the interlock rule gives the reversal its dead time. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "cover.h"
#include "cover_state.h"
#include "tap.h"
#include "topics.h"

/* ---- the model alone -------------------------------------------------------------------- */

static const struct cover_config shutter = {
	.wiring = COVER_WIRING_UP_DOWN,
	.travel_up_ms = 20000,
	.travel_down_ms = 16000,
	.start_delay_ms = 400,
	.max_run_ms = 30000,
};

static bool asks(const struct cover_out *out, enum cover_relay relay, bool active)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->items[i].relay == relay && out->items[i].active == active)
			return true;
	return false;
}

static void test_position_model(void)
{
	struct cover m;
	struct cover_out out = { .n = 0 };

	cover_init(&m, &shutter, 0);
	tap_is_int(cover_state_get(&m), COVER_STATE_CLOSED, "restored at 0: closed");
	tap_ok(cover_deadline(&m) == COVER_NO_DEADLINE, "a start asks for nothing and waits for nothing");

	tap_is_int(cover_command(&m, COVER_COMMAND_OPEN, 0, 1000, &out), 0, "OPEN");
	tap_ok(out.n == 2 && out.items[0].relay == COVER_RELAY_DOWN && !out.items[0].active &&
		       out.items[1].relay == COVER_RELAY_UP && out.items[1].active,
	       "OPEN asks DOWN off, then UP on");
	tap_is_int(cover_state_get(&m), COVER_STATE_OPENING, "opening as soon as it is asked");
	tap_is_int(cover_position(&m, 5000), 0, "nothing moves before the relay is really ON");

	cover_relay_driven(&m, COVER_RELAY_UP, true, 1010);
	tap_is_int(cover_position(&m, 1410), 0, "the start delay: not moved yet");
	tap_is_int(cover_position(&m, 1410 + 10000), 50, "half the up travel time: 50");
	tap_is_int(cover_position(&m, 1410 + 5000), 25, "a quarter: 25");
	/* To the end: the rest of the travel from 0, plus a tenth of it. */
	tap_is_int((long long)cover_deadline(&m), 1410 + 20000 + 2000,
		   "a run to the end lasts the travel plus a tenth, after the start delay");
	out.n = 0;
	cover_tick(&m, 1410 + 20000 + 2000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false) && asks(&out, COVER_RELAY_DOWN, false) &&
		       !asks(&out, COVER_RELAY_UP, true),
	       "at the end both relays are asked OFF");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 1410 + 22003);
	out.n = 0;
	cover_tick(&m, 1410 + 22003, &out);
	tap_ok(out.changed, "the stop is published");
	tap_is_int(cover_state_get(&m), COVER_STATE_OPEN, "open");
	tap_is_int(cover_position(&m, 50000), 100, "position 100");

	/* A position: down from 100 to 30 takes 70 % of the down travel. */
	out.n = 0;
	cover_command(&m, COVER_COMMAND_POSITION, 30, 60000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false) && asks(&out, COVER_RELAY_DOWN, true),
	       "position 30 from 100 runs down");
	cover_relay_driven(&m, COVER_RELAY_DOWN, true, 60000);
	tap_is_int((long long)cover_deadline(&m), 60000 + 400 + 11200,
		   "it stops after the start delay and 70 %% of 16 s");
	out.n = 0;
	cover_tick(&m, 60000 + 400 + 11200, &out);
	tap_ok(asks(&out, COVER_RELAY_DOWN, false), "DOWN asked OFF at the target");
	cover_relay_driven(&m, COVER_RELAY_DOWN, false, 60000 + 400 + 11200);
	tap_is_int(cover_position(&m, 90000), 30, "position 30");
	tap_is_int(cover_state_get(&m), COVER_STATE_STOPPED, "stopped in between");

	/* A relay reported late: the position counts from the motor's real ON. */
	out.n = 0;
	cover_tick(&m, 100000, &out); /* publishes the stop at 30 */
	cover_command(&m, COVER_COMMAND_POSITION, 60, 100000, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, true, 101000);
	tap_is_int((long long)cover_deadline(&m), 101000 + 400 + 6000,
		   "ON reported 1 s late: the run to 60 counts from then");
	tap_is_int(cover_position(&m, 101000 + 400 + 3000), 45, "halfway: 45");
	out.n = 0;
	cover_tick(&m, 101000 + 400 + 6000, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, false, 101000 + 400 + 6000);
	tap_is_int(cover_position(&m, 200000), 60, "position 60");

	/* The same position again: nothing moves, the state is echoed. */
	out.n = 0;
	out.changed = false;
	cover_command(&m, COVER_COMMAND_POSITION, 60, 210000, &out);
	tap_ok(out.n == 0 && out.changed, "a position it is at: no relay, the state echoed");
	tap_is_int(cover_command(&m, COVER_COMMAND_POSITION, 101, 210000, &out), -EINVAL,
		   "position 101 refused");

	/* The longest run ends it even when the travel time is wrong. */
	struct cover_config slow = shutter;
	slow.max_run_ms = 5000;
	cover_init(&m, &slow, 0);
	out.n = 0;
	cover_command(&m, COVER_COMMAND_OPEN, 0, 0, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, true, 0);
	tap_is_int((long long)cover_deadline(&m), 5000, "max_run_ms ends a run that would be longer");
	out.n = 0;
	cover_tick(&m, 5000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false), "... with the relay OFF");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 5000);
	tap_is_int(cover_position(&m, 9000), 23, "and the position where it got to (4.6 s of 20)");
	tap_is_int(cover_state_get(&m), COVER_STATE_STOPPED, "stopped, not open");

	/* An unknown position: a full run to an end makes it known. */
	cover_init(&m, &shutter, -1);
	tap_is_int(cover_position(&m, 0), 50, "unknown: 50 is assumed");
	out.n = 0;
	cover_command(&m, COVER_COMMAND_CLOSE, 0, 0, &out);
	cover_relay_driven(&m, COVER_RELAY_DOWN, true, 0);
	tap_is_int((long long)cover_deadline(&m), 400 + 16000 + 1600,
		   "unknown: CLOSE runs the whole travel");
	out.n = 0;
	cover_tick(&m, cover_deadline(&m), &out);
	cover_relay_driven(&m, COVER_RELAY_DOWN, false, 18100);
	tap_is_int(cover_position(&m, 20000), 0, "recalibrated at 0");
	tap_is_int(cover_state_get(&m), COVER_STATE_CLOSED, "closed");

	/* Wall buttons: a press moves, a press of either stops. */
	out.n = 0;
	cover_button(&m, true, 30000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, true), "up button: up");
	cover_relay_driven(&m, COVER_RELAY_UP, true, 30000);
	out.n = 0;
	cover_button(&m, false, 31000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false) && asks(&out, COVER_RELAY_DOWN, false) &&
		       !asks(&out, COVER_RELAY_DOWN, true),
	       "the other button while it moves: stop, not reverse");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 31000);
	out.n = 0;
	cover_button(&m, false, 32000, &out);
	tap_ok(asks(&out, COVER_RELAY_DOWN, true), "down button while stopped: down");
	out.n = 0;
	cover_button(&m, false, 32100, &out);
	tap_ok(asks(&out, COVER_RELAY_DOWN, false) && !asks(&out, COVER_RELAY_DOWN, true),
	       "the same button again, before the relay even moved: stop");
}

/* While the motor runs, the position goes out every position_interval_ms from its real ON;
 * with 0, only when it starts and stops. No deadline when nothing moves. */
static void test_position_reports(void)
{
	struct cover_config cfg = shutter;
	struct cover m;
	struct cover_out out = { .n = 0 };

	cfg.position_interval_ms = 1000;
	cover_init(&m, &cfg, 0);
	tap_ok(cover_deadline(&m) == COVER_NO_DEADLINE, "reports: standing still, no deadline");
	cover_command(&m, COVER_COMMAND_OPEN, 0, 0, &out);
	tap_ok(cover_deadline(&m) == COVER_NO_DEADLINE,
	       "reports: none before the relay is really ON");
	cover_relay_driven(&m, COVER_RELAY_UP, true, 100);
	tap_is_int((long long)cover_deadline(&m), 1100, "reports: the first a second after the ON");
	out = (struct cover_out){ .n = 0 };
	cover_tick(&m, 1100, &out);
	tap_ok(out.changed && out.n == 0, "reports: publish, no relay asked");
	tap_is_int(cover_state_get(&m), COVER_STATE_OPENING, "reports: still opening");
	tap_is_int(cover_position(&m, 1100), 3, "reports: at 3 (600 ms of 20 s)");
	tap_is_int((long long)cover_deadline(&m), 2100, "reports: the next a second later");
	out = (struct cover_out){ .n = 0 };
	cover_tick(&m, 2600, &out); /* a late tick: the next one stays on the grid */
	tap_ok(out.changed, "reports: a late tick publishes");
	tap_is_int((long long)cover_deadline(&m), 3100, "reports: the next on the grid");
	out = (struct cover_out){ .n = 0 };
	cover_tick(&m, 9000, &out); /* very late: the next one a full interval on */
	tap_is_int((long long)cover_deadline(&m), 10000, "reports: none missed in a row");
	/* The end of the run: 100 + 400 + 20000 + 2000; the report at 23000 would be after it. */
	for (uint64_t t = 10000; t <= 22000; t += 1000) {
		out = (struct cover_out){ .n = 0 };
		cover_tick(&m, t, &out);
	}
	tap_ok(out.changed && out.n == 0, "reports: at 22 s, published");
	tap_is_int(cover_position(&m, 22000), 100, "reports: at 100 by time");
	tap_is_int(cover_state_get(&m), COVER_STATE_OPENING, "reports: ... still opening");
	tap_is_int((long long)cover_deadline(&m), 22500, "reports: then the end of the run first");
	out = (struct cover_out){ .n = 0 };
	cover_tick(&m, 22500, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false) && !out.changed,
	       "reports: the run ends, published once really OFF");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 22510);
	out = (struct cover_out){ .n = 0 };
	cover_tick(&m, 22510, &out);
	tap_ok(out.changed, "reports: the stop is published");
	tap_ok(cover_deadline(&m) == COVER_NO_DEADLINE, "reports: stopped, no deadline");

	/* 0: only at start and stop; the only deadline is the end of the run. */
	cfg.position_interval_ms = 0;
	cover_init(&m, &cfg, 0);
	out = (struct cover_out){ .n = 0 };
	cover_command(&m, COVER_COMMAND_OPEN, 0, 0, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, true, 100);
	tap_is_int((long long)cover_deadline(&m), 22500, "no reports: the end of the run only");
}

static void test_endstop(void)
{
	struct cover_config cfg = shutter;
	struct cover m;
	struct cover_out out = { .n = 0 };

	cfg.endstop[COVER_END_OPEN] = true;
	cover_init(&m, &cfg, 20);
	cover_command(&m, COVER_COMMAND_OPEN, 0, 0, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, true, 0);
	tap_is_int((long long)cover_deadline(&m), 30000,
		   "with an end-stop a run to that end lasts until it, or max_run_ms");
	/* The travel time is off: the end-stop comes at 60 % by time. */
	out.n = 0;
	cover_endstop(&m, COVER_END_OPEN, true, 400 + 8000, &out);
	tap_ok(asks(&out, COVER_RELAY_UP, false), "the end-stop switches the motor OFF");
	tap_is_int(cover_state_get(&m), COVER_STATE_STOPPED,
		   "asked to stop: stopped (not opening) while the relay goes OFF");
	tap_ok(cover_moving(&m), "... but it counts as moving until the relay is OFF");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 8402);
	tap_is_int(cover_position(&m, 9000), 100, "the end-stop recalibrates: 100, not 60");
	tap_is_int(cover_state_get(&m), COVER_STATE_OPEN, "open");

	out.n = 0;
	cover_command(&m, COVER_COMMAND_OPEN, 0, 10000, &out);
	tap_ok(!asks(&out, COVER_RELAY_UP, true), "OPEN at the open end-stop: the motor stays OFF");

	/* An end-stop reached while standing still (moved by hand) sets the position. */
	struct cover_config both = shutter;
	both.endstop[COVER_END_CLOSED] = true;
	cover_init(&m, &both, -1);
	out.n = 0;
	cover_endstop(&m, COVER_END_CLOSED, true, 100, &out);
	tap_ok(out.changed && out.n == 0, "closed end-stop at rest: published, nothing driven");
	tap_is_int(cover_state_get(&m), COVER_STATE_CLOSED, "closed");
}

static void test_parse(void)
{
	static const struct {
		const char *payload;
		int command; /* or -EINVAL */
		unsigned int position;
	} cases[] = {
		{ "OPEN", COVER_COMMAND_OPEN, 0 },
		{ " close\t", COVER_COMMAND_CLOSE, 0 },
		{ "Stop", COVER_COMMAND_STOP, 0 },
		{ "0", COVER_COMMAND_POSITION, 0 },
		{ "42", COVER_COMMAND_POSITION, 42 },
		{ "100", COVER_COMMAND_POSITION, 100 },
		{ "101", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "4 2", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "OPENED", -EINVAL, 0 },
		{ "{\"position\": 37}", COVER_COMMAND_POSITION, 37 },
		{ "{\"state\":\"CLOSE\"}", COVER_COMMAND_CLOSE, 0 },
		{ "{ \"command\" : \"stop\" }", COVER_COMMAND_STOP, 0 },
		{ "{\"state\":\"50\"}", -EINVAL, 0 },
		{ "{\"position\":\"50\"}", -EINVAL, 0 },
		{ "{\"position\":500}", -EINVAL, 0 },
		{ "{\"tilt\":5}", -EINVAL, 0 },
		{ "{\"state\":\"OPEN\"", -EINVAL, 0 },
		{ "{\"state\":\"OPEN\",\"x\":1}", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum cover_command command = (enum cover_command)-1;
		unsigned int position = 999;
		int r = cover_command_parse(cases[i].payload, strlen(cases[i].payload), &command,
					    &position);

		tap_is_int(r < 0 ? r : (int)command, cases[i].command, "payload '%s'",
			   cases[i].payload);
		if (r == 0 && command == COVER_COMMAND_POSITION)
			tap_is_int(position, cases[i].position, "... position %u", cases[i].position);
	}
	enum cover_command command;
	unsigned int position;
	tap_is_int(cover_command_parse("OPEN\0", 5, &command, &position), -EINVAL, "embedded NUL");
	tap_is_int(cover_command_parse(NULL, 0, &command, &position), -EINVAL, "NULL");
}

/* ---- through the bridge: the relays under the interlock rule ---------------------------- */

#define RIG_PINS 6
#define RIG_LAG 3 /* ms between a decision and the line really changing */

struct rig {
	struct config cfg;
	struct config_pin pins[RIG_PINS];
	struct config_interlock group;
	size_t members[2];
	struct bridge *bridge;
	size_t cover;
	bool level[RIG_PINS];
	uint64_t off_at[RIG_PINS]; /* when each relay really went OFF */
	bool ever_off[RIG_PINS];
	unsigned int ons[RIG_PINS];
	uint64_t last_on[RIG_PINS];
	unsigned int violations;  /* two motor relays ON, or an ON inside the dead time */
	unsigned int dir_changes_powered; /* power + direction: the direction moved under power */
	unsigned int publishes;
};

/* Carries out the last call's actions as daemon.c does: each line change is reported back
 * RIG_LAG ms after the decision; checks the safety rules on the way. */
static void rig_run(struct rig *r, uint64_t now)
{
	size_t n;
	const struct bridge_action *a = bridge_actions(r->bridge, &n);
	struct bridge_action copy[64];

	if (n > 64)
		n = 64;
	memcpy(copy, a, n * sizeof(*a));
	for (size_t i = 0; i < n; i++) {
		size_t pin = copy[i].pin;
		uint64_t at = now + RIG_LAG;

		if (copy[i].type == BRIDGE_ACTION_PUBLISH_COVER)
			r->publishes++;
		if (copy[i].type != BRIDGE_ACTION_SET_OUTPUT)
			continue;
		if (copy[i].active && pin < r->group.n_outputs) {
			for (size_t k = 0; k < r->group.n_outputs; k++) {
				size_t other = r->group.outputs[k];

				if (other != pin && r->level[other])
					r->violations++;
				if (r->ever_off[other] && at < r->off_at[other] + r->group.wait_ms) {
					if (getenv("RIG_DEBUG"))
						tap_diag("ON %zu at %llu, %zu OFF at %llu", pin,
							 (unsigned long long)at, other,
							 (unsigned long long)r->off_at[other]);
					r->violations++;
				}
			}
		}
		if (copy[i].active) {
			r->ons[pin]++;
			r->last_on[pin] = at;
		} else {
			r->off_at[pin] = at;
			r->ever_off[pin] = true;
		}
		if (r->cfg.pins[r->cover].cover.wiring == COVER_WIRING_POWER_DIRECTION &&
		    pin == r->cfg.pins[r->cover].cover_relay[COVER_RELAY_DIRECTION] &&
		    r->level[r->cfg.pins[r->cover].cover_relay[COVER_RELAY_POWER]])
			r->dir_changes_powered++;
		r->level[pin] = copy[i].active;
		bridge_output_driven(r->bridge, pin, copy[i].active, at);
	}
}

/* Runs every tick due up to UNTIL, in order. */
static void rig_advance(struct rig *r, uint64_t until)
{
	for (int guard = 0; guard < 1000; guard++) {
		uint64_t next = bridge_next_deadline(r->bridge);

		if (next > until)
			return;
		bridge_tick(r->bridge, next);
		rig_run(r, next);
	}
	tap_ok(false, "ticks do not settle before %llu", (unsigned long long)until);
}

static void rig_command(struct rig *r, enum cover_command command, unsigned int position,
			uint64_t now)
{
	rig_advance(r, now);
	bridge_cover_command(r->bridge, r->cover, command, position, now);
	rig_run(r, now);
}

/* Outputs 0..n-1 are the relays, the last pin is the cover; the bridge makes the interlock
 * group of its motor relays (listed in the rig as r->group, to check). */
static void rig_new(struct rig *r, const struct cover_config *model, size_t n_relays,
		    const enum cover_relay *roles, size_t n_group, unsigned int dead_ms)
{
	bool levels[RIG_PINS] = { false };

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n_relays; i++) {
		r->pins[i] = (struct config_pin){ .name = "relay",
						  .direction = CONFIG_DIRECTION_OUTPUT,
						  .interlock = CONFIG_INTERLOCK_NONE };
	}
	r->cover = n_relays;
	r->pins[r->cover] = (struct config_pin){ .name = "cover", .is_cover = true,
						 .cover = *model, .cover_dead_ms = dead_ms,
						 .interlock = CONFIG_INTERLOCK_NONE };
	for (size_t k = 0; k < COVER_RELAYS; k++)
		r->pins[r->cover].cover_relay[k] = CONFIG_PIN_NONE;
	for (size_t i = 0; i < n_relays; i++)
		r->pins[r->cover].cover_relay[roles[i]] = i;
	r->pins[r->cover].cover_endstop[0] = r->pins[r->cover].cover_endstop[1] = CONFIG_PIN_NONE;
	for (size_t i = 0; i < n_group; i++)
		r->members[i] = i;
	r->group = (struct config_interlock){ .outputs = r->members, .n_outputs = n_group,
					      .wait_ms = dead_ms };
	r->cfg.pins = r->pins;
	r->cfg.n_pins = n_relays + 1;
	r->cfg.n_outputs = n_relays;
	if (bridge_new(&r->bridge, &r->cfg, levels) < 0)
		abort();
}

static unsigned int rig_position(const struct rig *r, uint64_t now)
{
	return cover_position(bridge_cover(r->bridge, r->cover), now);
}

static void test_reversal(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_UP, COVER_RELAY_DOWN };
	struct rig r;
	size_t n;

	rig_new(&r, &shutter, 2, roles, 2, 600);
	bridge_cover_restore(r.bridge, r.cover, 0);
	tap_ok(bridge_next_deadline(r.bridge) == BRIDGE_NO_DEADLINE,
	       "bridge with a cover: a start drives and waits for nothing");

	rig_command(&r, COVER_COMMAND_OPEN, 0, 1000);
	tap_ok(r.level[0] && !r.level[1], "OPEN: the up relay ON at once (nothing was ON before)");
	tap_ok(r.publishes == 1, "the state published");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "opening",
		   "opening");

	/* Reversal at 6 s: UP OFF now, DOWN only 600 ms after UP really went OFF. */
	rig_command(&r, COVER_COMMAND_CLOSE, 0, 6000);
	tap_ok(!r.level[0] && !r.level[1], "CLOSE while opening: UP OFF, DOWN not yet");
	tap_is_int((long long)r.off_at[0], 6000 + RIG_LAG, "UP really OFF after the lag");
	rig_advance(&r, 6000 + RIG_LAG + 599);
	tap_ok(!r.level[1], "DOWN still OFF 599 ms after the real OFF");
	rig_advance(&r, 6000 + RIG_LAG + 600);
	tap_ok(r.level[1], "DOWN ON 600 ms after the real OFF");
	tap_is_int((long long)r.last_on[1], 6000 + RIG_LAG + 600 + RIG_LAG, "... driven then");
	/* Up ran from 1003 to 6003: 4.6 s of 20 after the start delay = 23 %. */
	tap_is_int(rig_position(&r, 6000 + RIG_LAG + 600 + RIG_LAG), 23,
		   "the position counts the real running time up: 23");

	/* STOP: everything OFF, whatever was asked. */
	rig_command(&r, COVER_COMMAND_STOP, 0, 8000);
	tap_ok(!r.level[0] && !r.level[1], "STOP: both relays OFF");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "stopped",
		   "stopped");
	rig_advance(&r, 100000);
	tap_ok(!r.level[0] && !r.level[1], "and nothing starts afterwards");

	/* The relays take no command of their own. */
	tap_is_int(bridge_output_command(r.bridge, 0, BRIDGE_COMMAND_ON, 100000), -EPERM,
		   "a cover's relay refuses ON on its own topic");
	tap_is_int(bridge_output_pulse(r.bridge, 1, 500, 100000), -EPERM, "... and a pulse");
	bridge_actions(r.bridge, &n);
	tap_is_int((long long)n, 0, "... and drives nothing");
	tap_is_int(bridge_cover_command(r.bridge, 0, COVER_COMMAND_OPEN, 0, 100000), -EPERM,
		   "a relay is not a cover");

	/* Random commands: never both, never inside the dead time, every run ends. */
	srand(19);
	uint64_t now = 200000;
	for (int i = 0; i < 3000; i++) {
		static const enum cover_command commands[] = { COVER_COMMAND_OPEN,
							       COVER_COMMAND_CLOSE,
							       COVER_COMMAND_STOP,
							       COVER_COMMAND_POSITION };

		now += (uint64_t)(rand() % 3000);
		rig_command(&r, commands[rand() % 4], (unsigned int)(rand() % 101), now);
	}
	rig_advance(&r, now + shutter.max_run_ms + 1000);
	tap_is_int(r.violations, 0, "3000 random commands: no overlap, no ON inside the dead time");
	tap_ok(!r.level[0] && !r.level[1], "every run ended (max_run_ms at the latest)");
	tap_ok(r.ons[0] > 100 && r.ons[1] > 100, "both directions ran (%u, %u times)", r.ons[0],
	       r.ons[1]);
	bridge_free(r.bridge);
}

static void test_power_direction(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_POWER, COVER_RELAY_DIRECTION };
	struct cover_config cfg = shutter;
	struct rig r;

	cfg.wiring = COVER_WIRING_POWER_DIRECTION;
	/* The power relay alone is the interlock group: its restarts wait the dead time. */
	rig_new(&r, &cfg, 2, roles, 1, 500);
	bridge_cover_restore(r.bridge, r.cover, 50);
	rig_command(&r, COVER_COMMAND_CLOSE, 0, 1000);
	tap_ok(r.level[0] && r.level[1], "CLOSE: direction ON (down), power ON");
	tap_is_int(r.dir_changes_powered, 0, "the direction was set before the power");
	rig_command(&r, COVER_COMMAND_OPEN, 0, 3000);
	tap_ok(!r.level[0] && !r.level[1], "OPEN while closing: power OFF, then direction OFF");
	rig_advance(&r, 3000 + RIG_LAG + 499);
	tap_ok(!r.level[0], "power still OFF 499 ms after its real OFF");
	rig_advance(&r, 3000 + RIG_LAG + 500);
	tap_ok(r.level[0] && !r.level[1], "power ON (up) 500 ms after its real OFF");
	rig_command(&r, COVER_COMMAND_STOP, 0, 4000);
	tap_ok(!r.level[0] && !r.level[1], "STOP: power OFF");

	srand(7);
	uint64_t now = 10000;
	for (int i = 0; i < 2000; i++) {
		now += (uint64_t)(rand() % 2000);
		rig_command(&r, (enum cover_command)(rand() % 4), (unsigned int)(rand() % 101), now);
	}
	rig_advance(&r, now + cfg.max_run_ms + 1000);
	tap_is_int(r.violations, 0, "2000 random commands: power never ON inside the dead time");
	tap_is_int(r.dir_changes_powered, 0, "the direction never changed under power");
	tap_ok(!r.level[0], "every run ended");
	bridge_free(r.bridge);
}

static void test_garage(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_PULSE };
	struct cover_config cfg = {
		.wiring = COVER_WIRING_PULSE,
		.travel_up_ms = 15000,
		.travel_down_ms = 15000,
		.max_run_ms = 25000,
		.pulse_ms = 500,
	};
	struct rig r;

	/* The pulse output alone is the interlock group: 1 s between pulses, from the real OFF. */
	rig_new(&r, &cfg, 1, roles, 1, 1000);
	bridge_cover_restore(r.bridge, r.cover, 0);

	rig_command(&r, COVER_COMMAND_OPEN, 0, 1000);
	tap_is_int(r.ons[0], 1, "OPEN when closed: one pulse");
	rig_advance(&r, 1500 + RIG_LAG);
	tap_ok(!r.level[0], "the pulse ends after pulse_ms");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "opening",
		   "opening");

	rig_command(&r, COVER_COMMAND_STOP, 0, 7000 + RIG_LAG);
	tap_is_int(r.ons[0], 2, "STOP while opening: one pulse");
	rig_advance(&r, 9000);
	tap_is_int(rig_position(&r, 9000), 40, "stopped at 6 s of 15: 40");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "stopped",
		   "stopped");

	/* After a stop while opening, the opener's next pulse closes. */
	rig_command(&r, COVER_COMMAND_CLOSE, 0, 10000);
	tap_is_int(r.ons[0], 3, "CLOSE after stopping while opening: one pulse");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "closing",
		   "closing");

	/* OPEN while closing: stop, then open: two pulses, the second 1 s after the first's OFF. */
	rig_command(&r, COVER_COMMAND_OPEN, 0, 12000);
	tap_is_int(r.ons[0], 4, "OPEN while closing: the stop pulse at once");
	rig_advance(&r, 12500 + RIG_LAG + 999);
	tap_is_int(r.ons[0], 4, "no second pulse within 1 s of the first's real OFF");
	rig_advance(&r, 12500 + RIG_LAG + 1000);
	tap_is_int(r.ons[0], 5, "the open pulse 1 s after it");
	tap_is_int(r.violations, 0, "pulses never closer than the dead time");
	/* Down 2 s (40 -> 26.7), then up from the open pulse until the end: the opener stops
	 * there by itself, no pulse. */
	rig_advance(&r, 60000);
	tap_is_int(r.ons[0], 5, "no pulse at the end: the opener stops itself");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "open",
		   "open");
	rig_command(&r, COVER_COMMAND_OPEN, 0, 61000);
	tap_is_int(r.ons[0], 5, "OPEN when open: no pulse");
	rig_command(&r, COVER_COMMAND_CLOSE, 0, 62000);
	tap_is_int(r.ons[0], 6, "CLOSE when open: one pulse");
	/* A position: 50 stops it halfway with a pulse. */
	rig_advance(&r, 80000);
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "closed",
		   "closed by time");
	rig_command(&r, COVER_COMMAND_POSITION, 50, 81000);
	tap_is_int(r.ons[0], 7, "position 50 from closed: an open pulse");
	rig_advance(&r, 81000 + RIG_LAG + 7500);
	tap_is_int(r.ons[0], 8, "and the stop pulse at 50 %%");
	rig_advance(&r, 100000);
	tap_is_int(rig_position(&r, 100000), 50, "position 50");
	bridge_free(r.bridge);
}

/* Two wall buttons (inputs 3 and 4) bound to the cover, pressed while the broker is away. */
static void test_wall_buttons(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_UP, COVER_RELAY_DOWN };
	struct rig r;

	rig_new(&r, &shutter, 2, roles, 2, 500);
	bridge_free(r.bridge);
	for (size_t b = 3; b <= 4; b++)
		r.pins[b] = (struct config_pin){ .name = b == 3 ? "up_button" : "down_button",
						 .direction = CONFIG_DIRECTION_INPUT,
						 .mode = CONFIG_INPUT_MODE_BUTTON,
						 .long_press_ms = 800,
						 .interlock = CONFIG_INTERLOCK_NONE };
	r.pins[r.cover].cover_button[1] = 3;
	r.pins[r.cover].cover_button[0] = 4;
	r.pins[r.cover].cover_button_when = CONFIG_BINDING_OFFLINE;
	r.cfg.n_pins = 5;
	{
		bool levels[RIG_PINS] = { false };

		if (bridge_new(&r.bridge, &r.cfg, levels) < 0)
			abort();
	}
	bridge_cover_restore(r.bridge, r.cover, 50);

	bridge_connected_set(r.bridge, true);
	bridge_input_edge(r.bridge, 3, true, 1000);
	rig_run(&r, 1000);
	bridge_input_edge(r.bridge, 3, false, 1100);
	rig_run(&r, 1100);
	tap_ok(!r.level[0] && !r.level[1], "when = offline: a press with the broker there moves nothing");

	bridge_connected_set(r.bridge, false);
	bridge_input_edge(r.bridge, 3, true, 2000);
	rig_run(&r, 2000);
	tap_ok(r.level[0] && !r.level[1], "broker away: the up button opens");
	bridge_input_edge(r.bridge, 3, false, 2100);
	rig_run(&r, 2100);
	tap_ok(r.level[0], "the release changes nothing");
	bridge_input_edge(r.bridge, 4, true, 3000);
	rig_run(&r, 3000);
	tap_ok(!r.level[0] && !r.level[1], "the down button while it opens: stop, not reverse");
	bridge_input_edge(r.bridge, 4, false, 3100);
	rig_run(&r, 3100);
	rig_advance(&r, 3600);
	tap_ok(!r.level[1], "and it stays stopped");
	bridge_input_edge(r.bridge, 4, true, 4000);
	rig_run(&r, 4000);
	tap_ok(r.level[1], "the down button while stopped: down");
	bridge_input_edge(r.bridge, 4, false, 4100);
	rig_run(&r, 4100);
	bridge_input_edge(r.bridge, 4, true, 4500);
	rig_run(&r, 4500);
	tap_ok(!r.level[0] && !r.level[1], "the same button again: stop");
	tap_is_int(r.violations, 0, "no overlap, no ON inside the dead time");
	bridge_free(r.bridge);
}

/* An end-stop input already active at start says where the cover is; nothing moves. */
static void test_endstop_at_start(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_UP, COVER_RELAY_DOWN };
	struct cover_config cfg = shutter;
	bool levels[RIG_PINS] = { false };
	struct rig r;
	size_t n;

	cfg.endstop[COVER_END_CLOSED] = true;
	rig_new(&r, &cfg, 2, roles, 2, 500);
	bridge_free(r.bridge);
	r.pins[3] = (struct config_pin){ .name = "bottom", .direction = CONFIG_DIRECTION_INPUT,
					 .interlock = CONFIG_INTERLOCK_NONE };
	r.pins[r.cover].cover_endstop[COVER_END_CLOSED] = 3;
	r.cfg.n_pins = 4;
	levels[3] = true;
	if (bridge_new(&r.bridge, &r.cfg, levels) < 0)
		abort();
	bridge_cover_restore(r.bridge, r.cover, 70);
	bridge_actions(r.bridge, &n);
	tap_is_int((long long)n, 0, "end-stop active at start: nothing driven");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "closed",
		   "end-stop active at start: closed, whatever the file said (70)");
	tap_ok(!cover_moving(bridge_cover(r.bridge, r.cover)), "and it does not move");
	rig_command(&r, COVER_COMMAND_CLOSE, 0, 1000);
	tap_ok(!r.level[1], "CLOSE at the closed end-stop: the down relay stays OFF");
	bridge_free(r.bridge);
}

/* The obstruction input, the model alone: a run stops at once (STOP), nothing starts while it
 * is active, STOP is still taken, and a cover without one ignores it. */
static void test_obstruction_model(void)
{
	struct cover_config cfg = shutter;
	struct cover m;
	struct cover_out out = { .n = 0 };

	cover_init(&m, &shutter, 0);
	cover_obstruction(&m, true, 0, &out);
	tap_ok(!cover_obstructed(&m) && !out.changed, "no obstruction input: ignored");

	cfg.obstruction = true;
	cover_init(&m, &cfg, 0);
	cover_command(&m, COVER_COMMAND_OPEN, 0, 0, &out);
	cover_relay_driven(&m, COVER_RELAY_UP, true, 0);
	out = (struct cover_out){ .n = 0 };
	cover_obstruction(&m, true, 5400, &out);
	tap_ok(cover_obstructed(&m), "obstruction: active");
	tap_ok(asks(&out, COVER_RELAY_UP, false) && asks(&out, COVER_RELAY_DOWN, false) &&
		       !asks(&out, COVER_RELAY_UP, true) && !asks(&out, COVER_RELAY_DOWN, true),
	       "obstruction during a run: every relay asked OFF at once");
	tap_ok(out.changed, "obstruction: published");
	tap_is_int(cover_state_get(&m), COVER_STATE_STOPPED, "obstruction: stopped");
	cover_relay_driven(&m, COVER_RELAY_UP, false, 5410);
	tap_is_int(cover_position(&m, 6000), 25, "obstruction: stopped where it got to (25)");
	tap_is_int(cover_state_get(&m), COVER_STATE_STOPPED, "obstruction: stopped, once OFF");

	out = (struct cover_out){ .n = 0 };
	tap_is_int(cover_command(&m, COVER_COMMAND_OPEN, 0, 7000, &out), COVER_OUTCOME_OBSTRUCTED,
		   "obstructed: OPEN refused");
	tap_ok(out.n == 0 && out.changed, "obstructed: nothing asked, the state echoed");
	tap_is_int(cover_command(&m, COVER_COMMAND_POSITION, 10, 7000, &out),
		   COVER_OUTCOME_OBSTRUCTED, "obstructed: a position refused");
	tap_is_int(cover_command(&m, COVER_COMMAND_POSITION, 101, 7000, &out), -EINVAL,
		   "obstructed: position 101 still invalid");
	out = (struct cover_out){ .n = 0 };
	cover_button(&m, true, 7000, &out);
	tap_ok(out.n == 0 && !cover_moving(&m), "obstructed: a wall button starts nothing");
	out = (struct cover_out){ .n = 0 };
	tap_is_int(cover_command(&m, COVER_COMMAND_STOP, 0, 7000, &out), 0,
		   "obstructed: STOP taken");
	tap_ok(asks(&out, COVER_RELAY_UP, false) && asks(&out, COVER_RELAY_DOWN, false),
	       "obstructed: STOP asks every relay OFF");
	tap_ok(cover_deadline(&m) == COVER_NO_DEADLINE || cover_deadline(&m) == 0,
	       "obstructed: nothing to wait for but a publish");

	out = (struct cover_out){ .n = 0 };
	cover_obstruction(&m, false, 8000, &out);
	tap_ok(!cover_obstructed(&m) && out.changed && out.n == 0,
	       "cleared: published, nothing starts by itself");
	out = (struct cover_out){ .n = 0 };
	tap_is_int(cover_command(&m, COVER_COMMAND_OPEN, 0, 9000, &out), 0, "cleared: OPEN taken");
	tap_ok(asks(&out, COVER_RELAY_UP, true), "cleared: OPEN asks UP ON");
}

/* The obstruction input through bridge.c: its edge stops the relays and says so once; a
 * command is refused while it is active, also when it was active at start. */
static void test_obstruction_bridge(void)
{
	static const enum cover_relay roles[] = { COVER_RELAY_UP, COVER_RELAY_DOWN };
	struct cover_config cfg = shutter;
	bool levels[RIG_PINS] = { false };
	const struct bridge_action *a;
	struct rig r;
	size_t n, said;

	cfg.obstruction = true;
	rig_new(&r, &cfg, 2, roles, 2, 500);
	bridge_free(r.bridge);
	r.pins[3] = (struct config_pin){ .name = "beam", .direction = CONFIG_DIRECTION_INPUT,
					 .interlock = CONFIG_INTERLOCK_NONE };
	r.pins[r.cover].cover_obstruction = 3;
	r.cfg.n_pins = 4;
	if (bridge_new(&r.bridge, &r.cfg, levels) < 0)
		abort();
	bridge_cover_restore(r.bridge, r.cover, 0);
	rig_command(&r, COVER_COMMAND_OPEN, 0, 1000);
	tap_ok(r.level[0], "bridge: OPEN runs up");
	bridge_input_edge(r.bridge, 3, true, 3000);
	a = bridge_actions(r.bridge, &n);
	said = 0;
	for (size_t i = 0; i < n; i++)
		said += a[i].type == BRIDGE_ACTION_COVER_OBSTRUCTION && a[i].pin == r.cover &&
			a[i].active;
	tap_is_int((long long)said, 1, "bridge: the obstruction said once");
	rig_run(&r, 3000);
	tap_ok(!r.level[0] && !r.level[1], "bridge: the obstruction switched the motor OFF");
	tap_is_str(cover_state_name(cover_state_get(bridge_cover(r.bridge, r.cover))), "stopped",
		   "bridge: stopped");
	tap_is_int(bridge_cover_command(r.bridge, r.cover, COVER_COMMAND_CLOSE, 0, 4000),
		   BRIDGE_OUTCOME_OBSTRUCTED, "bridge: CLOSE refused while obstructed");
	rig_run(&r, 4000);
	rig_advance(&r, 10000);
	tap_ok(!r.level[0] && !r.level[1], "bridge: nothing started");
	bridge_input_edge(r.bridge, 3, true, 10000);
	bridge_actions(r.bridge, &n);
	tap_is_int((long long)n, 0, "bridge: the same level again says nothing");
	bridge_input_edge(r.bridge, 3, false, 11000);
	a = bridge_actions(r.bridge, &n);
	said = 0;
	for (size_t i = 0; i < n; i++)
		said += a[i].type == BRIDGE_ACTION_COVER_OBSTRUCTION && !a[i].active;
	tap_is_int((long long)said, 1, "bridge: cleared, said once");
	rig_run(&r, 11000);
	tap_is_int(bridge_cover_command(r.bridge, r.cover, COVER_COMMAND_CLOSE, 0, 12000), 0,
		   "bridge: CLOSE taken once cleared");
	rig_run(&r, 12000);
	rig_advance(&r, 12600);
	tap_ok(r.level[1], "bridge: down runs");
	tap_is_int(r.violations, 0, "bridge: no overlap, no ON inside the dead time");
	bridge_free(r.bridge);

	/* Active at start: nothing starts. */
	levels[3] = true;
	if (bridge_new(&r.bridge, &r.cfg, levels) < 0)
		abort();
	bridge_cover_restore(r.bridge, r.cover, 0);
	tap_is_int(bridge_cover_command(r.bridge, r.cover, COVER_COMMAND_OPEN, 0, 1000),
		   BRIDGE_OUTCOME_OBSTRUCTED, "bridge: obstruction active at start: OPEN refused");
	bridge_free(r.bridge);
}

/* covers.state: saved and read back, every known position; anything damaged is corrupt and
 * changes nothing. */
static void test_state_file(void)
{
	struct config_pin pins[3] = {
		{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT },
		{ .name = "shutter", .direction = CONFIG_DIRECTION_COVER, .is_cover = true },
		{ .name = "garage", .direction = CONFIG_DIRECTION_COVER, .is_cover = true },
	};
	struct config cfg = { .pins = pins, .n_pins = 3 };
	char dir[] = "/tmp/test-cover-XXXXXX", path[64], why[128];
	int saved[3] = { -1, 37, -1 }, got[3] = { -1, -1, -1 };
	FILE *fp;

	if (!mkdtemp(dir)) {
		tap_ok(false, "temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/covers.state", dir);
	tap_is_int(cover_state_load(path, &cfg, got, why, sizeof(why)), COVER_STATE_OUTCOME_MISSING,
		   "no file yet: missing");
	tap_is_int(cover_state_save(path, &cfg, saved), 0, "saved");
	tap_is_int(cover_state_load(path, &cfg, got, why, sizeof(why)), 0, "read back");
	tap_ok(got[0] == -1 && got[1] == 37 && got[2] == -1,
	       "the known position back (37), the unknown one left alone");

	/* one byte changed: the checksum says so, nothing is applied */
	fp = fopen(path, "r+");
	if (fp) {
		fseek(fp, (long)strlen("gpio2mqtt-covers 1\nshutter "), SEEK_SET);
		fputc('9', fp);
		fclose(fp);
	}
	got[1] = -1;
	tap_is_int(cover_state_load(path, &cfg, got, why, sizeof(why)), COVER_STATE_OUTCOME_CORRUPT,
		   "a changed position: corrupt (%s)", why);
	tap_is_int(got[1], -1, "... and nothing applied");
	unlink(path);
	rmdir(dir);
}

/* A cover's topics: its position, and with Homie its position and command set topics, routed
 * as commands to it. */
static void test_cover_topics(void)
{
	struct config_pin pins[2] = {
		{ .name = "relay", .direction = CONFIG_DIRECTION_OUTPUT },
		{ .name = "shutter", .direction = CONFIG_DIRECTION_COVER, .is_cover = true },
	};
	struct config cfg = { .pins = pins, .n_pins = 2 };
	struct topics_match m;
	struct topics *t;
	char topic[128];

	cfg.mqtt.base_topic = (char *)"g2m/pi";
	for (int homie = 0; homie <= 1; homie++) {
		cfg.discovery.homie = homie;
		if (topics_new(&t, &cfg, "0123456789abcdef") < 0) {
			tap_ok(false, "topics built");
			return;
		}
		tap_is_str(t->pins[1].position, "g2m/pi/shutter/position", "homie %d: position topic",
			   homie);
		tap_ok(t->pins[0].position == NULL, "homie %d: an output has none", homie);
		tap_ok(t->pins[1].commands && t->pins[1].has_state,
		       "homie %d: a cover has a state and takes commands", homie);
		tap_is_int(topics_route(t, "g2m/pi/shutter/set", &m), TOPICS_ROUTE_SET,
			   "homie %d: <base>/shutter/set routed", homie);
		if (homie) {
			snprintf(topic, sizeof(topic), "%s/shutter/position/set", t->homie_base);
			tap_ok(topics_route(t, topic, &m) == TOPICS_ROUTE_SET && m.pin == 1,
			       "Homie position/set routed to the cover");
			snprintf(topic, sizeof(topic), "%s/shutter/command/set", t->homie_base);
			tap_ok(topics_route(t, topic, &m) == TOPICS_ROUTE_SET && m.pin == 1,
			       "Homie command/set routed to the cover");
			snprintf(topic, sizeof(topic), "%s/relay/position/set", t->homie_base);
			tap_ok(topics_route(t, topic, &m) != TOPICS_ROUTE_SET,
			       "an output has no position/set");
		}
		topics_free(t);
	}
}

int main(void)
{
	test_position_model();
	test_position_reports();
	test_obstruction_model();
	test_obstruction_bridge();
	test_endstop();
	test_parse();
	test_reversal();
	test_power_direction();
	test_garage();
	test_wall_buttons();
	test_endstop_at_start();
	test_state_file();
	test_cover_topics();
	return tap_done();
}
