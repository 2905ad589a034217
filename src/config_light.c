/* SPDX-License-Identifier: MIT */
/* PWM lights in the configuration (see config_light.h). */
#include "config_light.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_text.h"

#define CONFIG_PWM_SHAPE "pwm = { chip = \"1f00098000.pwm\"; channel = 2; }"

/* The pwm group's keys (for unknown keys and "did you mean"). */
static const char *const config_pwm_keys[] = {
	"chip", "channel", "frequency_hz", "polarity", "gamma", "min_duty", "max_duty", NULL,
};

struct config_light_reader {
	struct config_errors *errors;
	const char *path;
	const char *ctx;
	int r; /* the first -ENOMEM */
};

static void config_light_report(struct config_light_reader *rd, const config_setting_t *at,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void config_light_report(struct config_light_reader *rd, const config_setting_t *at,
				const char *fmt, ...)
{
	const char *file = config_setting_source_file(at);
	char *message;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0 || config_errors_add(rd->errors, file ? file : rd->path,
				       (int)config_setting_source_line(at), message) < 0)
		rd->r = -ENOMEM;
}

/* An integer key in MIN..MAX; false when absent or reported. */
static bool config_light_uint(struct config_light_reader *rd, const config_setting_t *g,
			      const char *key, long long min, long long max, unsigned int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (!s)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		config_light_report(rd, s, "%s: pwm.%s must be an integer", rd->ctx, key);
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		config_light_report(rd, s, "%s: pwm.%s must be between %lld and %lld", rd->ctx, key,
				    min, max);
		return false;
	}
	*out = (unsigned int)v;
	return true;
}

/* A number (integer or float) in MIN..MAX; false when absent or reported. */
static bool config_light_number(struct config_light_reader *rd, const config_setting_t *g,
				const char *key, double min, double max, double *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	double v;

	if (!s)
		return false;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	default:
		config_light_report(rd, s, "%s: pwm.%s must be a number", rd->ctx, key);
		return false;
	}
	if (!(v >= min && v <= max)) {
		config_light_report(rd, s, "%s: pwm.%s must be between %g and %g", rd->ctx, key, min,
				    max);
		return false;
	}
	*out = v;
	return true;
}

static void config_light_unknown_keys(struct config_light_reader *rd, const config_setting_t *g)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned int)i);
		const char *key = config_setting_name(s), *best = NULL;
		size_t best_closeness = 4;
		bool known = false;

		for (size_t k = 0; key && config_pwm_keys[k]; k++) {
			size_t c = config_key_closeness(key, config_pwm_keys[k]);

			known = known || strcmp(key, config_pwm_keys[k]) == 0;
			if (c < best_closeness) {
				best_closeness = c;
				best = config_pwm_keys[k];
			}
		}
		if (known || !key)
			continue;
		if (best)
			config_light_report(rd, s, "%s: unknown key 'pwm.%s' (did you mean '%s'?)",
					    rd->ctx, key, best);
		else
			config_light_report(rd, s, "%s: unknown key 'pwm.%s'", rd->ctx, key);
	}
}

int config_light_pwm_read(struct config_errors *errors, const char *path,
			  const struct config_setting_t *pin_group, const char *ctx,
			  struct config_pin *pin)
{
	struct config_light_reader rd = { .errors = errors, .path = path, .ctx = ctx };
	const config_setting_t *g = config_setting_get_member(pin_group, "pwm"), *s;
	struct config_pwm *pwm = &pin->pwm;
	unsigned int channel;

	pwm->frequency_hz = 1000;
	pwm->gamma = 2.2;
	pwm->min_duty = 0.0;
	pwm->max_duty = 100.0;
	if (!g) {
		config_light_report(&rd, pin_group, "%s: pwm is missing: " CONFIG_PWM_SHAPE ";", ctx);
		return rd.r;
	}
	pwm->source_line = (int)config_setting_source_line(g);
	if (!config_setting_is_group(g)) {
		config_light_report(&rd, g, "%s: pwm must be a group: " CONFIG_PWM_SHAPE ";", ctx);
		return rd.r;
	}
	config_light_unknown_keys(&rd, g);

	s = config_setting_get_member(g, "chip");
	if (!s)
		config_light_report(&rd, g, "%s: pwm.chip is missing (the PWM chip's device name, "
					    "e.g. \"1f00098000.pwm\" on a Pi 5, \"fe20c000.pwm\" on "
					    "a Pi 4)", ctx);
	else if (config_setting_type(s) != CONFIG_TYPE_STRING || !config_setting_get_string(s)[0])
		config_light_report(&rd, s, "%s: pwm.chip must be a non-empty string", ctx);
	else if (strncmp(config_setting_get_string(s), "pwmchip", 7) == 0)
		config_light_report(&rd, s, "%s: pwm.chip: name the chip by its device name (ls -l "
					    "/sys/class/pwm/%s/device), not by its number: numbers "
					    "change between kernels", ctx, config_setting_get_string(s));
	else if (!(pwm->chip = strdup(config_setting_get_string(s))))
		return -ENOMEM;

	if (config_light_uint(&rd, g, "channel", 0, 1023, &channel))
		pwm->channel = channel;
	else if (!config_setting_get_member(g, "channel"))
		config_light_report(&rd, g, "%s: pwm.channel is missing (0 for the chip's first "
					    "channel)", ctx);
	config_light_uint(&rd, g, "frequency_hz", 1, 1000000, &pwm->frequency_hz);
	s = config_setting_get_member(g, "polarity");
	if (s) {
		const char *v = config_setting_type(s) == CONFIG_TYPE_STRING
					? config_setting_get_string(s)
					: "";

		if (strcmp(v, "normal") == 0 || strcmp(v, "inversed") == 0)
			pwm->inversed = strcmp(v, "inversed") == 0;
		else
			config_light_report(&rd, s, "%s: pwm.polarity must be one of \"normal\", "
						    "\"inversed\"", ctx);
	}
	config_light_number(&rd, g, "gamma", 1.0, 4.0, &pwm->gamma);
	config_light_number(&rd, g, "min_duty", 0.0, 100.0, &pwm->min_duty);
	if (config_light_number(&rd, g, "max_duty", 0.0, 100.0, &pwm->max_duty) &&
	    !(pwm->max_duty > pwm->min_duty))
		config_light_report(&rd, config_setting_get_member(g, "max_duty"),
				    "%s: pwm.max_duty (%g) must be above min_duty (%g)", ctx,
				    pwm->max_duty, pwm->min_duty);
	return rd.r;
}

/* A number as the shortest text that reads back as the same double. */
static void config_light_number_dump(FILE *out, const char *key, double v)
{
	char text[40];

	for (int digits = 6; digits <= 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, v);
		if (strtod(text, NULL) == v)
			break;
	}
	/* With a dot, so that libconfig reads a float (an integer would do as well). */
	fprintf(out, " %s = %s%s;", key, text, strpbrk(text, ".eEn") ? "" : ".0");
}

void config_light_pwm_dump(FILE *out, const struct config_pwm *pwm)
{
	fprintf(out, "pwm = { chip = ");
	fputc('"', out);
	for (const char *p = pwm->chip ? pwm->chip : ""; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", (unsigned char)*p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
	fprintf(out, "; channel = %u; frequency_hz = %u; polarity = \"%s\";", pwm->channel,
		pwm->frequency_hz, pwm->inversed ? "inversed" : "normal");
	config_light_number_dump(out, "gamma", pwm->gamma);
	config_light_number_dump(out, "min_duty", pwm->min_duty);
	config_light_number_dump(out, "max_duty", pwm->max_duty);
	fprintf(out, " }");
}

int config_light_finish(struct config_errors *errors, const struct config *cfg)
{
	for (size_t g = 0; g < cfg->n_interlocks; g++) {
		const struct config_interlock *il = &cfg->interlocks[g];

		for (size_t i = 0; i < il->n_outputs; i++) {
			const struct config_pin *pin = &cfg->pins[il->outputs[i]];
			char *message;

			if (!pin->light)
				continue;
			if (asprintf(&message, "interlocks[%zu]: '%s' is a light; interlock groups "
					       "are for GPIO outputs (relays)", g, pin->name) < 0 ||
			    config_errors_add(errors, cfg->path, il->source_line, message) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}
