/* SPDX-License-Identifier: MIT */
#pragma once

/* A dimmable light, pure: brightness, the perceptual curve from brightness to PWM duty, fades
 * and local dimming from a button. No I/O and no clock: the time comes in (milliseconds on a
 * monotonic clock), and the caller drives the duty of light_duty_ns(level) whenever a call
 * says the level changed, and calls light_tick() at light_deadline(). A fade is computed from
 * its start and end at every tick, so a late timer never makes it slower or leaves it short,
 * and a new command interrupts it from wherever it is.
 *
 * Brightness inside is a level 0..LIGHT_LEVEL_MAX (hundredths of a percent), linear in
 * perceived brightness: a fade or a ramp moves evenly through it and the curve (gamma, minimum
 * and maximum duty) makes duty of it. Outside it is 0..SCALE (100 for percent, 255 for Home
 * Assistant's default). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIGHT_LEVEL_MAX 10000U
/* A fade or a ramp moves this often: 16 ms, so that a step still comes within 20 ms (the goal)
 * when the main loop wakes a few milliseconds late (the benchmark's fade step p99 was 21.5 ms on
 * a 20 ms grid). */
#define LIGHT_STEP_MS 16U
#define LIGHT_NO_DEADLINE UINT64_MAX
#define LIGHT_TRANSITION_MAX_MS 3600000U /* an hour */
#define LIGHT_RAMP_FLOOR (LIGHT_LEVEL_MAX / 100U) /* dimming down by hand stops at 1 % */

/* From brightness to duty. */
struct light_curve {
	uint64_t period_ns;
	double gamma;    /* 1.0: linear duty; 2.2..2.8: what eyes see as even steps on LEDs */
	double min_duty; /* the duty of the lowest brightness above 0, 0..1 */
	double max_duty; /* the duty of full brightness, min_duty..1 */
};

/* The duty (ns of the period) of LEVEL: 0 for 0, else min + (max - min) * (level/MAX)^gamma,
 * never 0 for a level above 0 when min_duty is above 0. */
uint64_t light_duty_ns(const struct light_curve *c, unsigned int level);
/* The level whose duty is closest to DUTY_NS (for a channel found running at start). */
unsigned int light_level_of_duty(const struct light_curve *c, uint64_t duty_ns);

/* LEVEL as a brightness 0..SCALE (rounded; never 0 for a level above 0), and back. */
unsigned int light_brightness(unsigned int level, unsigned int scale);
unsigned int light_level(unsigned int brightness, unsigned int scale);

/* A command as Home Assistant, openHAB and people send it. */
enum light_switch {
	LIGHT_SWITCH_NONE, /* brightness alone */
	LIGHT_SWITCH_ON,
	LIGHT_SWITCH_OFF,
	LIGHT_SWITCH_TOGGLE,
};

struct light_command {
	enum light_switch sw;
	bool has_level;
	unsigned int level;         /* 0..LIGHT_LEVEL_MAX */
	bool has_transition;
	unsigned int transition_ms; /* 0..LIGHT_TRANSITION_MAX_MS */
};

/* ON, OFF, TOGGLE (also 1/0, true/false, on/off... as for outputs), a brightness number
 * 0..SCALE (0 is OFF), or JSON {"state":"ON","brightness":N,"transition":S} with S in seconds
 * (Home Assistant's JSON schema; every member optional, at least one). Case-insensitive words,
 * surrounding whitespace ignored. Returns 0 or -EINVAL. */
int light_command_parse(const void *payload, size_t len, unsigned int scale,
			struct light_command *out);

/* What a call changed: bits. */
enum light_change {
	LIGHT_CHANGE_LEVEL = 1u << 0, /* the output level moved: drive light_duty_ns(level) */
	LIGHT_CHANGE_STATE = 1u << 1, /* ON/OFF or the brightness asked for changed: publish */
};

enum light_ramp {
	LIGHT_RAMP_IDLE,
	LIGHT_RAMP_PRESSED, /* a button is down, not yet held long enough */
	LIGHT_RAMP_RUNNING, /* held: the level moves while it stays down */
};

struct light {
	unsigned int level;   /* what the output does now */
	unsigned int target;  /* where it is going: the state published (0: OFF) */
	unsigned int last_on; /* the last target above 0: what ON goes back to */
	/* a fade from FROM at START to TARGET at END (END == 0: none) */
	unsigned int from;
	uint64_t start, end;
	uint64_t at;          /* the time of the fade's last step */
	/* local dimming */
	enum light_ramp ramp;
	bool up;              /* the direction of the running or last ramp */
	uint64_t hold_at;     /* PRESSED: when the press becomes a hold */
	uint64_t ramp_at;     /* RUNNING: the time of the last ramp step */
	unsigned int ramp_ms; /* RUNNING: the time a ramp takes from 0 to full */
};

/* A light at LEVEL (as found or restored), LAST_ON the level ON goes back to (0: full). */
void light_init(struct light *l, unsigned int level, unsigned int last_on);

/* Carries out CMD at NOW with a fade of its transition, or DEFAULT_MS. ON goes back to the last
 * brightness above 0, a brightness above 0 switches on, 0 switches off. Returns changes. */
unsigned int light_command(struct light *l, const struct light_command *cmd,
			   unsigned int default_ms, uint64_t now);

/* Moves a running fade or ramp to NOW, and turns a press held past its time into a ramp.
 * Returns changes. */
unsigned int light_tick(struct light *l, uint64_t now);
/* When light_tick() is due next, or LIGHT_NO_DEADLINE. */
uint64_t light_deadline(const struct light *l);

/* A button bound to the light, at NOW: pressed (PRESSED true) and released. A release before
 * HOLD_MS toggles (with a fade of DEFAULT_MS); held longer, the level ramps over RAMP_MS from
 * 0 to full while the button stays down, up from OFF, otherwise the other way than the last
 * ramp (down from full, up from the floor), and stays where it is at the release. Returns
 * changes. */
unsigned int light_button(struct light *l, bool pressed, unsigned int hold_ms,
			  unsigned int ramp_ms, unsigned int default_ms, uint64_t now);

/* ON when the light is (going) on. */
bool light_is_on(const struct light *l);
