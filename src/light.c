/* SPDX-License-Identifier: MIT */
/* A dimmable light, pure (see light.h). */
#include "light.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "bridge.h"

uint64_t light_duty_ns(const struct light_curve *c, unsigned int level)
{
	double x, duty;
	uint64_t ns;

	if (level == 0)
		return 0;
	if (level > LIGHT_LEVEL_MAX)
		level = LIGHT_LEVEL_MAX;
	x = (double)level / LIGHT_LEVEL_MAX;
	duty = c->min_duty + (c->max_duty - c->min_duty) * pow(x, c->gamma);
	ns = (uint64_t)llround(duty * (double)c->period_ns);
	if (ns > c->period_ns)
		ns = c->period_ns;
	/* A level above 0 with a minimum above 0 is never dark. */
	if (ns == 0 && c->min_duty > 0)
		ns = 1;
	return ns;
}

unsigned int light_level_of_duty(const struct light_curve *c, uint64_t duty_ns)
{
	unsigned int lo = 1, hi = LIGHT_LEVEL_MAX;

	if (duty_ns == 0 || c->period_ns == 0)
		return 0;
	/* light_duty_ns() does not decrease with the level: the first level at or above. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (light_duty_ns(c, mid) < duty_ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 1 && duty_ns - light_duty_ns(c, lo - 1) < light_duty_ns(c, lo) - duty_ns)
		lo--;
	return lo;
}

unsigned int light_brightness(unsigned int level, unsigned int scale)
{
	unsigned int b;

	if (level == 0)
		return 0;
	b = (unsigned int)(((uint64_t)level * scale + LIGHT_LEVEL_MAX / 2) / LIGHT_LEVEL_MAX);
	return b ? b : 1;
}

unsigned int light_level(unsigned int brightness, unsigned int scale)
{
	if (brightness >= scale)
		return LIGHT_LEVEL_MAX;
	return (unsigned int)(((uint64_t)brightness * LIGHT_LEVEL_MAX + scale / 2) / scale);
}

/* ---- commands --------------------------------------------------------------------------- */

static bool light_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A decimal number 0..SCALE. */
static int light_number_parse(const char *p, size_t len, unsigned int scale, unsigned int *out)
{
	unsigned long v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(p[i] - '0');
		if (v > scale)
			return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int light_word_parse(const char *p, size_t len, unsigned int scale,
			    struct light_command *out)
{
	enum bridge_command word;
	unsigned int b;
	/* 0 and 1 are OFF and ON, as for every output; other numbers are brightness. */
	bool word01 = len == 1 && (p[0] == '0' || p[0] == '1');

	if (!word01 && light_number_parse(p, len, scale, &b) == 0) {
		out->has_level = true;
		out->level = light_level(b, scale);
		return 0;
	}
	if (bridge_command_parse(p, len, &word) < 0)
		return -EINVAL;
	out->sw = word == BRIDGE_COMMAND_ON	 ? LIGHT_SWITCH_ON
		  : word == BRIDGE_COMMAND_OFF ? LIGHT_SWITCH_OFF
					       : LIGHT_SWITCH_TOGGLE;
	return 0;
}

static int light_json_parse(const char *p, size_t len, unsigned int scale,
			    struct light_command *out)
{
	const cJSON *state, *brightness, *transition;
	cJSON *doc = cJSON_ParseWithLength(p, len);
	int r = 0;

	if (!doc || !cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return -EINVAL;
	}
	state = cJSON_GetObjectItemCaseSensitive(doc, "state");
	brightness = cJSON_GetObjectItemCaseSensitive(doc, "brightness");
	transition = cJSON_GetObjectItemCaseSensitive(doc, "transition");
	if (!state && !brightness)
		r = -EINVAL;
	if (state) {
		if (!cJSON_IsString(state) ||
		    light_word_parse(state->valuestring, strlen(state->valuestring), scale, out) < 0 ||
		    out->has_level)
			r = -EINVAL;
	}
	if (brightness) {
		double b = cJSON_GetNumberValue(brightness);

		if (!cJSON_IsNumber(brightness) || !(b >= 0 && b <= scale))
			r = -EINVAL;
		else {
			out->has_level = true;
			out->level = light_level((unsigned int)lround(b), scale);
		}
	}
	if (transition) {
		double s = cJSON_GetNumberValue(transition);

		if (!cJSON_IsNumber(transition) || !(s >= 0 && s * 1000 <= LIGHT_TRANSITION_MAX_MS))
			r = -EINVAL;
		else {
			out->has_transition = true;
			out->transition_ms = (unsigned int)lround(s * 1000);
		}
	}
	cJSON_Delete(doc);
	return r;
}

int light_command_parse(const void *payload, size_t len, unsigned int scale,
			struct light_command *out)
{
	const char *p = payload;
	struct light_command c = { .sw = LIGHT_SWITCH_NONE };
	int r;

	if (!p || scale == 0)
		return -EINVAL;
	while (len > 0 && light_space(p[0])) {
		p++;
		len--;
	}
	while (len > 0 && light_space(p[len - 1]))
		len--;
	if (len > 0 && memchr(p, '\0', len))
		return -EINVAL;
	r = len > 0 && p[0] == '{' ? light_json_parse(p, len, scale, &c)
				    : light_word_parse(p, len, scale, &c);
	if (r == 0)
		*out = c;
	return r;
}

/* ---- state ------------------------------------------------------------------------------ */

void light_init(struct light *l, unsigned int level, unsigned int last_on)
{
	if (level > LIGHT_LEVEL_MAX)
		level = LIGHT_LEVEL_MAX;
	if (last_on == 0 || last_on > LIGHT_LEVEL_MAX)
		last_on = level ? level : LIGHT_LEVEL_MAX;
	*l = (struct light){ .level = level, .target = level, .last_on = last_on };
}

bool light_is_on(const struct light *l)
{
	return l->target > 0;
}

/* Sets the level now; returns LIGHT_CHANGE_LEVEL when it moved. */
static unsigned int light_level_set(struct light *l, unsigned int level)
{
	if (l->level == level)
		return 0;
	l->level = level;
	return LIGHT_CHANGE_LEVEL;
}

/* Heads for TARGET over MS from NOW (0: at once), from wherever the output is. */
static unsigned int light_go(struct light *l, unsigned int target, unsigned int ms, uint64_t now)
{
	unsigned int changes = l->target != target ? LIGHT_CHANGE_STATE : 0;

	l->target = target;
	if (target > 0)
		l->last_on = target;
	l->ramp = LIGHT_RAMP_IDLE;
	l->end = 0;
	if (ms == 0 || l->level == target)
		return changes | light_level_set(l, target);
	l->from = l->level;
	l->start = now;
	l->end = now + ms;
	/* The first step at once: a command shows without waiting a step. */
	return changes | light_tick(l, now);
}

unsigned int light_command(struct light *l, const struct light_command *cmd,
			   unsigned int default_ms, uint64_t now)
{
	unsigned int ms = cmd->has_transition ? cmd->transition_ms : default_ms;
	unsigned int target;

	switch (cmd->sw) {
	case LIGHT_SWITCH_OFF:
		target = 0;
		break;
	case LIGHT_SWITCH_TOGGLE:
		target = light_is_on(l) ? 0 : cmd->has_level && cmd->level ? cmd->level : l->last_on;
		break;
	case LIGHT_SWITCH_ON:
		target = cmd->has_level && cmd->level ? cmd->level : l->last_on;
		if (!cmd->has_level && light_is_on(l))
			target = l->target; /* ON while on: stays as it is */
		break;
	case LIGHT_SWITCH_NONE:
	default:
		target = cmd->has_level ? cmd->level : l->target;
		break;
	}
	return light_go(l, target, ms, now);
}

/* The ramp's step to NOW. */
static unsigned int light_ramp_step(struct light *l, uint64_t now)
{
	uint64_t dt = now > l->ramp_at ? now - l->ramp_at : 0;
	uint64_t delta = l->ramp_ms ? dt * LIGHT_LEVEL_MAX / l->ramp_ms : LIGHT_LEVEL_MAX;
	unsigned int level = l->level;

	if (delta == 0)
		return 0;
	l->ramp_at = now;
	if (l->up)
		level = level + delta >= LIGHT_LEVEL_MAX ? LIGHT_LEVEL_MAX : level + (unsigned int)delta;
	else
		level = level <= LIGHT_RAMP_FLOOR + delta ? LIGHT_RAMP_FLOOR
							  : level - (unsigned int)delta;
	return light_level_set(l, level);
}

unsigned int light_tick(struct light *l, uint64_t now)
{
	unsigned int changes = 0;

	if (l->ramp == LIGHT_RAMP_PRESSED && now >= l->hold_at) {
		/* Held: ramp, up from OFF or the floor, down from full, else the other way. */
		l->end = 0;
		if (!light_is_on(l) || l->level <= LIGHT_RAMP_FLOOR)
			l->up = true;
		else if (l->level >= LIGHT_LEVEL_MAX)
			l->up = false;
		else
			l->up = !l->up;
		if (!light_is_on(l)) {
			changes |= light_level_set(l, 0);
			l->target = LIGHT_RAMP_FLOOR;
			changes |= LIGHT_CHANGE_STATE;
		}
		l->ramp = LIGHT_RAMP_RUNNING;
		l->ramp_at = now;
		return changes;
	}
	if (l->ramp == LIGHT_RAMP_RUNNING)
		return light_ramp_step(l, now);
	if (l->end == 0)
		return 0;
	l->at = now;
	if (now >= l->end) {
		l->end = 0;
		return light_level_set(l, l->target);
	}
	{
		uint64_t span = l->end - l->start, done = now > l->start ? now - l->start : 0;
		long long diff = (long long)l->target - (long long)l->from;
		long long level = (long long)l->from + diff * (long long)done / (long long)span;

		return light_level_set(l, (unsigned int)level);
	}
}

uint64_t light_deadline(const struct light *l)
{
	uint64_t d = LIGHT_NO_DEADLINE;

	if (l->ramp == LIGHT_RAMP_RUNNING) {
		/* At its end a ramp waits for the release without a timer. */
		if ((l->up && l->level >= LIGHT_LEVEL_MAX) ||
		    (!l->up && l->level <= LIGHT_RAMP_FLOOR))
			return LIGHT_NO_DEADLINE;
		return l->ramp_at + LIGHT_STEP_MS;
	}
	if (l->end) {
		/* The next step on the fade's own grid (START + k * LIGHT_STEP_MS), not a step
		 * after the last one: the loop's wake-up delay would add up into every interval. */
		uint64_t done = l->at > l->start ? l->at - l->start : 0;
		uint64_t next = l->start + (done / LIGHT_STEP_MS + 1) * LIGHT_STEP_MS;

		d = next < l->end ? next : l->end;
	}
	if (l->ramp == LIGHT_RAMP_PRESSED && l->hold_at < d)
		d = l->hold_at;
	return d;
}

unsigned int light_button(struct light *l, bool pressed, unsigned int hold_ms,
			  unsigned int ramp_ms, unsigned int default_ms, uint64_t now)
{
	unsigned int changes = 0;

	if (pressed) {
		if (l->ramp != LIGHT_RAMP_IDLE)
			return 0;
		l->ramp = LIGHT_RAMP_PRESSED;
		l->hold_at = now + hold_ms;
		l->ramp_ms = ramp_ms;
		return 0;
	}
	switch (l->ramp) {
	case LIGHT_RAMP_PRESSED: {
		struct light_command toggle = { .sw = LIGHT_SWITCH_TOGGLE };

		l->ramp = LIGHT_RAMP_IDLE;
		return light_command(l, &toggle, default_ms, now);
	}
	case LIGHT_RAMP_RUNNING:
		changes = light_ramp_step(l, now);
		l->ramp = LIGHT_RAMP_IDLE;
		if (l->target != l->level)
			changes |= LIGHT_CHANGE_STATE;
		l->target = l->level;
		if (l->level)
			l->last_on = l->level;
		return changes;
	case LIGHT_RAMP_IDLE:
		break;
	}
	return 0;
}
