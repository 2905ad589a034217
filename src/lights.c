/* SPDX-License-Identifier: MIT */
/* The PWM lights of the running daemon (see lights.h). */
#include "lights.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "light.h"
#include "log.h"

struct lights_one {
	size_t pin;
	const struct config_pin *cfg;
	struct pwm *pwm;
	struct light model;
	struct light_curve curve;
	bool changed; /* to be published */
};

struct lights {
	const struct config *cfg;
	struct pwm_sysfs sys;
	struct lights_one *items;
	size_t n;
	bool connected;
};

static struct lights_one *lights_find(const struct lights *l, size_t pin)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (l->items[i].pin == pin)
			return &l->items[i];
	}
	return NULL;
}

static void lights_curve(const struct config_pin *c, struct light_curve *curve)
{
	*curve = (struct light_curve){
		.period_ns = 1000000000ULL / c->pwm.frequency_hz,
		.gamma = c->pwm.gamma,
		.min_duty = c->pwm.min_duty / 100.0,
		.max_duty = c->pwm.max_duty / 100.0,
	};
}

/* Drives the channel at the model's level. */
static int lights_apply(struct lights_one *o)
{
	struct pwm_state want = {
		.period_ns = o->curve.period_ns,
		.duty_ns = light_duty_ns(&o->curve, o->model.level),
		.inversed = o->cfg->pwm.inversed,
		.enabled = true,
	};

	return pwm_apply(o->pwm, &want);
}

/* What a call of the model changed: the duty driven, the state to be published. */
static void lights_changes(struct lights_one *o, unsigned int changes)
{
	if (changes & LIGHT_CHANGE_LEVEL)
		lights_apply(o);
	if (changes & LIGHT_CHANGE_STATE)
		o->changed = true;
}

/* The level a light starts at. */
static void lights_start_model(struct lights_one *o, const bool *on, const unsigned int *values)
{
	const struct config_pin *c = o->cfg;
	unsigned int last_on = values ? values[o->pin] : 0;

	switch (c->power_on) {
	case CONFIG_POWER_ON_ON:
		light_init(&o->model, last_on ? last_on : LIGHT_LEVEL_MAX, last_on);
		break;
	case CONFIG_POWER_ON_RESTORE:
		light_init(&o->model, on && on[o->pin] ? (last_on ? last_on : LIGHT_LEVEL_MAX) : 0,
			   last_on);
		break;
	case CONFIG_POWER_ON_OFF:
	default:
		light_init(&o->model, 0, last_on);
		break;
	}
}

/* Opens and starts the light at PIN of CFG into O. */
static int lights_one_open(const struct config *cfg, const struct pwm_sysfs *sys, size_t pin,
			   struct lights_one *o, const bool *on, const unsigned int *values)
{
	const struct config_pin *c = &cfg->pins[pin];
	int r;

	*o = (struct lights_one){ .pin = pin, .cfg = c, .changed = true };
	lights_curve(c, &o->curve);
	r = pwm_open(sys, c->name, c->pwm.chip, c->pwm.channel, &o->pwm);
	if (r < 0)
		return r;
	lights_start_model(o, on, values);
	r = lights_apply(o);
	if (r < 0) {
		pwm_close(o->pwm);
		o->pwm = NULL;
		return r;
	}
	log_info("light '%s': PWM %s at %u Hz, brightness %u %%", c->name, pwm_path(o->pwm),
		 c->pwm.frequency_hz, light_brightness(o->model.level, 100));
	return 0;
}

int lights_open(struct lights **out, const struct config *cfg, const struct pwm_sysfs *sys,
		const bool *on, const unsigned int *values)
{
	struct lights *l = calloc(1, sizeof(*l));
	size_t first = config_line_pins(cfg); /* the lights follow the GPIO pins */
	int r = 0;

	if (!l)
		return -ENOMEM;
	l->cfg = cfg;
	if (sys)
		l->sys = *sys;
	else
		pwm_sysfs_default(&l->sys);
	l->items = calloc(cfg->n_lights ? cfg->n_lights : 1, sizeof(*l->items));
	if (!l->items) {
		free(l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_lights && r == 0; i++) {
		r = lights_one_open(cfg, &l->sys, first + i, &l->items[l->n], on, values);
		if (r == 0)
			l->n++;
	}
	if (r < 0) {
		lights_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void lights_close(struct lights *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		pwm_close(l->items[i].pwm);
	free(l->items);
	free(l);
}

int lights_reload(struct lights *l, const struct config *cfg)
{
	size_t first = config_line_pins(cfg); /* the lights follow the GPIO pins */
	struct lights_one *items = calloc(cfg->n_lights ? cfg->n_lights : 1, sizeof(*items));
	bool *kept = calloc(l->n ? l->n : 1, sizeof(*kept));
	size_t n = 0;
	int r = 0;

	if (!items || !kept) {
		free(items);
		free(kept);
		log_error("reload: lights: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_lights && r == 0; i++, n++) {
		const struct config_pin *c = &cfg->pins[first + i];

		for (size_t k = 0; k < l->n && !items[n].pwm; k++) {
			const struct config_pin *old = l->items[k].cfg;

			if (kept[k] || strcmp(old->name, c->name) != 0 ||
			    strcmp(old->pwm.chip, c->pwm.chip) != 0 || old->pwm.channel != c->pwm.channel)
				continue;
			kept[k] = true;
			items[n] = l->items[k];
			items[n].pin = first + i;
			items[n].cfg = c;
			items[n].changed = true;
			lights_curve(c, &items[n].curve);
		}
		if (!items[n].pwm)
			r = lights_one_open(cfg, &l->sys, first + i, &items[n], NULL, NULL);
	}
	if (r < 0) {
		/* Nothing changed: the new channels go, the kept ones stay where they were. */
		for (size_t i = 0; i < n; i++) {
			bool old = false;

			for (size_t k = 0; k < l->n; k++)
				old = old || (kept[k] && l->items[k].pwm == items[i].pwm);
			if (!old)
				pwm_close(items[i].pwm);
		}
		free(items);
		free(kept);
		log_error("reload: a light could not be started; the running configuration stays "
			  "in force");
		return r;
	}
	for (size_t k = 0; k < l->n; k++) {
		if (!kept[k])
			pwm_close(l->items[k].pwm);
	}
	/* A kept light with a new curve or frequency: the same brightness, the new duty (an
	 * unchanged one writes nothing). */
	for (size_t i = 0; i < n; i++)
		lights_apply(&items[i]);
	free(l->items);
	free(kept);
	l->items = items;
	l->n = n;
	l->cfg = cfg;
	return 0;
}

int lights_command(struct lights *l, size_t pin, const void *payload, size_t len, bool percent,
		   uint64_t now)
{
	struct lights_one *o = lights_find(l, pin);
	struct light_command cmd;
	unsigned int scale;

	if (!o)
		return -ENOENT;
	scale = percent ? 100 : o->cfg->brightness_scale;
	if (light_command_parse(payload, len, scale, &cmd) < 0) {
		log_warning("light '%s': command ignored: expected ON, OFF, TOGGLE, a brightness "
			    "0..%u or {\"state\":\"ON\",\"brightness\":N,\"transition\":S}",
			    o->cfg->name, scale);
		return -EINVAL;
	}
	lights_changes(o, light_command(&o->model, &cmd, o->cfg->transition_ms, now));
	log_info("light '%s': %s, brightness %u %%", o->cfg->name,
		 light_is_on(&o->model) ? "ON" : "OFF", light_brightness(o->model.target, 100));
	o->changed = true; /* echoed, changed or not */
	return 0;
}

void lights_edge(struct lights *l, size_t pin, bool active, uint64_t now)
{
	const struct config_pin *in = &l->cfg->pins[pin];
	bool per_press = kind_of(in)->toggles_on_press;

	for (size_t i = 0; i < in->n_bindings; i++) {
		const struct config_binding *b = &in->bindings[i];
		struct lights_one *o = lights_find(l, b->output);
		struct light_command cmd = { .sw = LIGHT_SWITCH_NONE };
		unsigned int changes;

		if (!o || (b->when == CONFIG_BINDING_OFFLINE && l->connected))
			continue;
		if (b->action == CONFIG_BINDING_TOGGLE && per_press) {
			/* A button: a short press toggles, a hold dims. */
			changes = light_button(&o->model, active, in->long_press_ms, o->cfg->dim_ms,
					       o->cfg->transition_ms, now);
			lights_changes(o, changes);
			continue;
		}
		switch (b->action) {
		case CONFIG_BINDING_TOGGLE:
			cmd.sw = LIGHT_SWITCH_TOGGLE;
			break;
		case CONFIG_BINDING_FOLLOW:
			cmd.sw = active ? LIGHT_SWITCH_ON : LIGHT_SWITCH_OFF;
			break;
		case CONFIG_BINDING_ON:
		case CONFIG_BINDING_OFF:
			if (!active)
				continue;
			cmd.sw = b->action == CONFIG_BINDING_ON ? LIGHT_SWITCH_ON : LIGHT_SWITCH_OFF;
			break;
		}
		lights_changes(o, light_command(&o->model, &cmd, o->cfg->transition_ms, now));
	}
}

void lights_connected_set(struct lights *l, bool connected)
{
	if (l)
		l->connected = connected;
}

void lights_tick(struct lights *l, uint64_t now)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (light_deadline(&l->items[i].model) <= now)
			lights_changes(&l->items[i], light_tick(&l->items[i].model, now));
	}
}

uint64_t lights_deadline(const struct lights *l)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; l && i < l->n; i++) {
		uint64_t d = light_deadline(&l->items[i].model);

		if (d < next)
			next = d;
	}
	return next;
}

void lights_exit(struct lights *l)
{
	for (size_t i = 0; l && i < l->n; i++) {
		struct lights_one *o = &l->items[i];
		unsigned int last_on = o->model.last_on;

		if (o->cfg->on_exit != CONFIG_ON_EXIT_OFF || o->model.level == 0)
			continue;
		light_init(&o->model, 0, last_on);
		if (lights_apply(o) == 0)
			o->changed = true;
	}
}

bool lights_changed_take(struct lights *l, size_t *pin)
{
	for (size_t i = 0; l && i < l->n; i++) {
		if (l->items[i].changed) {
			l->items[i].changed = false;
			*pin = l->items[i].pin;
			return true;
		}
	}
	return false;
}

bool lights_on(const struct lights *l, size_t pin)
{
	const struct lights_one *o = lights_find(l, pin);

	return o && light_is_on(&o->model);
}

unsigned int lights_brightness(const struct lights *l, size_t pin, unsigned int scale)
{
	const struct lights_one *o = lights_find(l, pin);

	if (!o)
		return 0;
	return light_brightness(light_is_on(&o->model) ? o->model.target : o->model.last_on, scale);
}

unsigned int lights_value(const struct lights *l, size_t pin)
{
	const struct lights_one *o = lights_find(l, pin);

	return o ? o->model.last_on : 0;
}

/* See lights.h. */
size_t lights_check(const struct config *cfg)
{
	size_t problems = 0;
	struct pwm_sysfs sys;
	bool noted = false;

	pwm_sysfs_default(&sys);
	for (size_t i = 0; i < cfg->n_pins; i++) {
		const struct config_pin *p = &cfg->pins[i];
		char msg[1400];
		int r;

		if (!p->light)
			continue;
		r = pwm_check(&sys, p->name, p->pwm.chip, p->pwm.channel, msg, sizeof(msg));

		if (r == PWM_CHECK_NO_CHIPS && !noted)
			log_notice("no PWM chip on this machine: the PWM lights were not looked up");
		noted = noted || r == PWM_CHECK_NO_CHIPS;
		if (r < 0) {
			log_plain(LOG_ERR, "%s:%d: %s", cfg->path, p->pwm.source_line, msg);
			problems++;
		}
	}
	return problems;
}
