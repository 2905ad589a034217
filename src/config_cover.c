/* SPDX-License-Identifier: MIT */
/* covers = ( ... ): each element a cover pin, read by the rows of config_pin_keys that apply to
 * CONFIG_KIND_COVER, then checked as a whole: the outputs its wiring needs, each named once and
 * owned by this cover alone, end-stops that are inputs, travel times, the longest run. */
#include "config_cover.h"

#include "config_check.h"
#include "config_schema.h"
#include "config_text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_cover_reader {
	struct config *cfg;
	const char *path;
	struct config_errors *errors;
	size_t n_before; /* pins before the covers: the ones a cover may name */
};

static int config_cover_report(struct config_cover_reader *rd, const config_setting_t *where,
			       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int config_cover_report(struct config_cover_reader *rd, const config_setting_t *where,
			       const char *fmt, ...)
{
	const char *file = rd->path;
	char *message;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (where && config_setting_source_file(where))
		file = config_setting_source_file(where);
	return config_errors_add(rd->errors, file, where ? (int)config_setting_source_line(where) : 0,
				 message);
}

/* A config_check_* result at WHERE. */
static int config_cover_take(struct config_cover_reader *rd, const config_setting_t *where, int r,
			     char *message)
{
	const char *file = rd->path;

	if (r != CONFIG_CHECK_PROBLEM)
		return r < 0 ? r : 0;
	if (where && config_setting_source_file(where))
		file = config_setting_source_file(where);
	return config_errors_add(rd->errors, file, where ? (int)config_setting_source_line(where) : 0,
				 message);
}

/* A reference to an output (a relay) or an input (an end-stop) by name. */
static int config_cover_ref(struct config_cover_reader *rd, const config_setting_t *s,
			    const char *ctx, const struct config_key *row, struct config_pin *pin)
{
	enum config_direction want = row->hook == CONFIG_HOOK_COVER_ENDSTOP
					     ? CONFIG_DIRECTION_INPUT
					     : CONFIG_DIRECTION_OUTPUT;
	const char *word = want == CONFIG_DIRECTION_INPUT ? "input" : "output";
	char quoted[CONFIG_QUOTE_MAX];
	const char *name;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_cover_report(rd, s, "%s: %s must be the name of an %s", ctx, row->name,
					   word);
	name = config_setting_get_string(s);
	config_quote(quoted, sizeof(quoted), name);
	for (size_t i = 0; i < rd->n_before; i++) {
		const struct config_pin *other = &rd->cfg->pins[i];

		if (!other->name || strcmp(other->name, name) != 0)
			continue;
		if (other->direction != want)
			return config_cover_report(rd, s, "%s: %s: %s is an %s, not an %s", ctx,
						   row->name, quoted, config_pin_word(other),
						   word);
		if (other->light) /* a PWM channel: a cover's relay is a GPIO output */
			return config_cover_report(rd, s, "%s: %s: %s is a light, not a GPIO "
							  "output", ctx, row->name, quoted);
		if (other->mode == CONFIG_INPUT_MODE_COUNTER && want == CONFIG_DIRECTION_INPUT)
			return config_cover_report(rd, s, "%s: %s: %s is a counter; its pulses go "
							  "to the meter, not to a cover", ctx,
						   row->name, quoted);
		memcpy((char *)pin + row->offset, &i, sizeof(i));
		return 0;
	}
	return config_cover_report(rd, s, "%s: %s: no %s called %s", ctx, row->name, word, quoted);
}

/* One row's key, by its type. */
static int config_cover_row(struct config_cover_reader *rd, const config_setting_t *g,
			    const char *ctx, const struct config_key *row, struct config_pin *pin)
{
	const config_setting_t *s = config_setting_get_member(g, row->name);
	char list[160], *message = NULL;
	long long v;
	int e;

	if (!s)
		return 0;
	switch (row->type) {
	case CONFIG_KEY_INT:
	case CONFIG_KEY_UINT:
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64)
			return config_cover_report(rd, s, "%s: %s must be an integer", ctx, row->name);
		v = config_setting_get_int64(s);
		if (v < row->min || v > row->max) {
			if (row->range)
				return config_cover_report(rd, s, "%s: %s must be %s", ctx, row->name,
							   row->range);
			return config_cover_report(rd, s, "%s: %s must be between %lld and %lld", ctx,
						   row->name, row->min, row->max);
		}
		config_key_set(row, pin, v);
		return 0;
	case CONFIG_KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_cover_report(rd, s, "%s: %s must be true or false", ctx,
						   row->name);
		config_key_set(row, pin, config_setting_get_bool(s));
		return 0;
	case CONFIG_KEY_ENUM:
		if (config_setting_type(s) == CONFIG_TYPE_STRING &&
		    config_enum_lookup(row->words, config_setting_get_string(s), &e)) {
			config_key_set(row, pin, e);
			return 0;
		}
		config_enum_list(row->words, list, sizeof(list));
		return config_cover_report(rd, s, "%s: %s must be one of %s", ctx, row->name, list);
	case CONFIG_KEY_STRING: {
		char **at = config_key_string_at(row, pin);
		const char *text = config_setting_get_string(s);

		if (!text || !text[0])
			return config_cover_report(rd, s, "%s: %s must be a non-empty string", ctx,
						   row->name);
		if (row->hook == CONFIG_HOOK_DISPLAY_NAME) {
			e = config_check_display_name(ctx, row->name, text, &message);
			if (e != CONFIG_CHECK_OK)
				return config_cover_take(rd, s, e, message);
		}
		free(*at);
		*at = strdup(text);
		return *at ? 0 : -ENOMEM;
	}
	case CONFIG_KEY_PIN_REF:
		return config_cover_ref(rd, s, ctx, row, pin);
	default:
		return 0;
	}
}

/* The name: a topic level, not used by any other pin. Points CTX at "cover 'name'". */
static int config_cover_name(struct config_cover_reader *rd, const config_setting_t *g,
			     char *ctx, size_t ctx_size, struct config_pin *pin)
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	char *message = NULL;
	const char *name;
	int r;

	if (!s)
		return config_cover_report(rd, g, "%s: name is missing", ctx);
	name = config_setting_get_string(s);
	if (!name)
		return config_cover_report(rd, s, "%s: name must be a string", ctx);
	r = config_check_pin_name(ctx, name, &message);
	if (r != CONFIG_CHECK_OK)
		return config_cover_take(rd, s, r, message);
	snprintf(ctx, ctx_size, "cover '%s'", name);
	for (size_t i = 0; i + 1 < rd->cfg->n_pins; i++) {
		const struct config_pin *other = &rd->cfg->pins[i];

		if (other->name && strcmp(other->name, name) == 0)
			return config_cover_report(rd, s, "%s: name already used by the %s at line %d",
						   ctx, config_pin_word(other),
						   other->source_line);
	}
	pin->name = strdup(name);
	return pin->name ? 0 : -ENOMEM;
}

/* Every key of G is a cover's key. */
static int config_cover_keys(struct config_cover_reader *rd, const config_setting_t *g,
			     const char *ctx)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned int)i);
		const char *key = config_setting_name(s);
		const struct config_key *row = config_key_find(config_pin_keys, key);
		int r = 0;

		if (row && config_key_applies(row, CONFIG_KIND_COVER) &&
		    !(row->flags & CONFIG_KEY_COMMENT))
			continue;
		if (row && row->applies == CONFIG_KINDS_GPIO) /* line, chip, bias, ... */
			r = config_cover_report(rd, s, "%s: unknown key %s (a cover has no line of its "
						       "own: it drives the outputs its wiring names)",
						ctx, key);
		else
			r = config_cover_report(rd, s, "%s: unknown key %s", ctx, key);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *config_cover_role_key(enum cover_relay relay)
{
	static const char *const keys[COVER_RELAYS] = { "up", "down", "power", "direction",
							"output" };

	return keys[relay];
}

/* An output that is a relay of this cover: started OFF, stopped OFF, driven by nobody else. */
static int config_cover_relay_check(struct config_cover_reader *rd, const config_setting_t *s,
				    const char *ctx, size_t self, size_t out)
{
	struct config_pin *o = &rd->cfg->pins[out];

	if (o->interlock != CONFIG_INTERLOCK_NONE)
		return config_cover_report(rd, s, "%s: output '%s' is in the interlock group at line "
						  "%d; a cover's relays get their own (dead_time_ms)",
					   ctx, o->name, rd->cfg->interlocks[o->interlock].source_line);
	if (o->pulse_ms)
		return config_cover_report(rd, s, "%s: output '%s' has pulse_ms; a cover times its "
						  "relays itself (press_ms for wiring = \"pulse\")",
					   ctx, o->name);
	if (o->power_on != CONFIG_POWER_ON_OFF)
		return config_cover_report(rd, s, "%s: output '%s' must have power_on = \"off\" (a "
						  "restart never starts a motor)", ctx, o->name);
	for (size_t i = rd->n_before; i < self; i++) {
		for (size_t r = 0; r < COVER_RELAYS; r++)
			if (rd->cfg->pins[i].cover_relay[r] == out)
				return config_cover_report(rd, s, "%s: output '%s' already belongs to "
								  "cover '%s'", ctx, o->name,
							   rd->cfg->pins[i].name
								   ? rd->cfg->pins[i].name
								   : "?");
	}
	for (size_t i = 0; i < rd->n_before; i++) {
		const struct config_pin *in = &rd->cfg->pins[i];

		for (size_t b = 0; b < in->n_bindings; b++)
			if (in->bindings[b].output == out)
				return config_cover_report(rd, s, "%s: output '%s' is bound to input "
								  "'%s'; a cover's relays take no "
								  "commands of their own", ctx,
							   o->name, in->name);
	}
	/* When the daemon stops, the motor stops. */
	rd->cfg->pins[out].on_exit = CONFIG_ON_EXIT_OFF;
	return 0;
}

/* A travel time that is not there (an invalid one was reported as such). */
static int config_cover_travel_missing(struct config_cover_reader *rd, const config_setting_t *g,
				       const char *ctx, const char *key, const char *way)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (!s)
		return config_cover_report(rd, g, "%s: %s is missing (how long a full travel %s "
						  "takes)", ctx, key, way);
	if ((config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) &&
	    config_setting_get_int64(s) == 0)
		return config_cover_report(rd, s, "%s: %s must be above 0", ctx, key);
	return 0;
}

/* The obstruction input is none of the cover's end-stops and wall buttons. */
static int config_cover_obstruction_check(struct config_cover_reader *rd,
					  const config_setting_t *g, const char *ctx,
					  const struct config_pin *pin)
{
	static const char *const keys[] = { "closed_endstop", "open_endstop", "down_button",
					    "up_button" };
	const size_t refs[] = { pin->cover_endstop[0], pin->cover_endstop[1],
				pin->cover_button[0], pin->cover_button[1] };

	if (pin->cover_obstruction == CONFIG_PIN_NONE)
		return 0;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
		if (refs[i] == pin->cover_obstruction)
			return config_cover_report(rd, config_setting_get_member(g, "obstruction"),
						   "%s: obstruction and %s name the same input",
						   ctx, keys[i]);
	return 0;
}

/* The cover as a whole, once its keys are read. */
static int config_cover_check(struct config_cover_reader *rd, const config_setting_t *g,
			      const char *ctx, size_t self)
{
	struct config_pin *pin = &rd->cfg->pins[self];
	struct cover_config *c = &pin->cover;
	char wiring[32];
	unsigned int longest, least;
	int r = 0;

	snprintf(wiring, sizeof(wiring), "%s",
		 config_enum_to_string(config_key_find(config_pin_keys, "wiring")->words,
				       (int)c->wiring));
	for (size_t k = 0; k < COVER_RELAYS && r == 0; k++) {
		const char *key = config_cover_role_key((enum cover_relay)k);
		const config_setting_t *s = config_setting_get_member(g, key);
		bool used = cover_relay_used(c, (enum cover_relay)k);

		if (used && !s)
			r = config_cover_report(rd, g, "%s: %s is missing (wiring = \"%s\" needs it)",
						ctx, key, wiring);
		else if (!used && s)
			r = config_cover_report(rd, s, "%s: %s does not apply to wiring = \"%s\"", ctx,
						key, wiring);
		else if (s && pin->cover_relay[k] != CONFIG_PIN_NONE)
			r = config_cover_relay_check(rd, s, ctx, self, pin->cover_relay[k]);
		if (!used)
			pin->cover_relay[k] = CONFIG_PIN_NONE;
	}
	for (size_t a = 0; a < COVER_RELAYS && r == 0; a++) {
		for (size_t b = a + 1; b < COVER_RELAYS && r == 0; b++) {
			if (pin->cover_relay[a] == CONFIG_PIN_NONE ||
			    pin->cover_relay[a] != pin->cover_relay[b])
				continue;
			r = config_cover_report(rd, config_setting_get_member(g,
						config_cover_role_key((enum cover_relay)b)),
						"%s: %s and %s name the same output '%s'", ctx,
						config_cover_role_key((enum cover_relay)a),
						config_cover_role_key((enum cover_relay)b),
						rd->cfg->pins[pin->cover_relay[a]].name);
		}
	}
	if (r < 0)
		return r;
	if (pin->cover_endstop[0] != CONFIG_PIN_NONE && pin->cover_endstop[0] == pin->cover_endstop[1])
		r = config_cover_report(rd, config_setting_get_member(g, "open_endstop"),
					"%s: closed_endstop and open_endstop name the same input", ctx);
	if (r == 0 && pin->cover_button[0] != CONFIG_PIN_NONE &&
	    pin->cover_button[0] == pin->cover_button[1])
		r = config_cover_report(rd, config_setting_get_member(g, "down_button"),
					"%s: up_button and down_button name the same input", ctx);
	for (size_t b = 0; b < 2 && r == 0; b++) {
		if (pin->cover_button[b] != CONFIG_PIN_NONE &&
		    (pin->cover_button[b] == pin->cover_endstop[0] ||
		     pin->cover_button[b] == pin->cover_endstop[1]))
			r = config_cover_report(rd, config_setting_get_member(g, b ? "up_button"
										   : "down_button"),
						"%s: input '%s' is an end-stop of the cover, not a "
						"button", ctx, rd->cfg->pins[pin->cover_button[b]].name);
	}
	if (r < 0)
		return r;
	if (r == 0)
		r = config_cover_obstruction_check(rd, g, ctx, pin);
	c->obstruction = pin->cover_obstruction != CONFIG_PIN_NONE;
	c->endstop[COVER_END_CLOSED] = pin->cover_endstop[COVER_END_CLOSED] != CONFIG_PIN_NONE;
	c->endstop[COVER_END_OPEN] = pin->cover_endstop[COVER_END_OPEN] != CONFIG_PIN_NONE;
	if (r == 0 && c->travel_up_ms == 0)
		r = config_cover_travel_missing(rd, g, ctx, "travel_up_ms", "from closed to open");
	if (r == 0 && c->travel_down_ms == 0)
		r = config_cover_travel_missing(rd, g, ctx, "travel_down_ms", "from open to closed");
	if (r < 0 || c->travel_up_ms == 0 || c->travel_down_ms == 0)
		return r;
	/* The longest run to an end: the start delay, the longer travel and a tenth of it. */
	longest = c->travel_up_ms > c->travel_down_ms ? c->travel_up_ms : c->travel_down_ms;
	least = c->start_delay_ms + longest + longest / 10;
	if (c->max_run_ms == 0)
		c->max_run_ms = c->start_delay_ms + longest + longest / 2;
	else if (c->max_run_ms < least)
		r = config_cover_report(rd, config_setting_get_member(g, "max_run_ms"),
					"%s: max_run_ms must be at least %u (start_delay_ms, the "
					"longer travel time and a tenth of it)", ctx, least);
	return r;
}

static int config_cover_parse(struct config_cover_reader *rd, const config_setting_t *g,
			      unsigned int index)
{
	size_t self = rd->cfg->n_pins;
	struct config_pin *pin = &rd->cfg->pins[self];
	char ctx[CONFIG_NAME_MAX + 16];
	int r;

	snprintf(ctx, sizeof(ctx), "cover #%u", index + 1);
	if (!config_setting_is_group(g))
		return config_cover_report(rd, g, "%s must be a group: { name = \"...\"; up = \"...\"; "
						  "down = \"...\"; travel_up_ms = ...; "
						  "travel_down_ms = ...; }", ctx);
	*pin = (struct config_pin){
		.direction = CONFIG_DIRECTION_COVER,
		.is_cover = true,
		.source_line = (int)config_setting_source_line(g),
		.interlock = CONFIG_INTERLOCK_NONE,
	};
	config_keys_default(config_pin_keys, pin, &rd->cfg->mqtt);
	for (size_t k = 0; k < COVER_RELAYS; k++)
		pin->cover_relay[k] = CONFIG_PIN_NONE;
	pin->cover_endstop[0] = pin->cover_endstop[1] = CONFIG_PIN_NONE;
	pin->cover_button[0] = pin->cover_button[1] = CONFIG_PIN_NONE;
	pin->cover_obstruction = CONFIG_PIN_NONE;
	rd->cfg->n_pins++; /* counted now, so that config_free() frees what it holds */

	r = config_cover_name(rd, g, ctx, sizeof(ctx), pin);
	if (r < 0)
		return r;
	r = config_cover_keys(rd, g, ctx);
	if (r < 0)
		return r;
	for (const struct config_key *row = config_pin_keys; row->name; row++) {
		if (row->hook == CONFIG_HOOK_NAME || (row->flags & CONFIG_KEY_COMMENT) ||
		    !config_key_applies(row, CONFIG_KIND_COVER))
			continue;
		r = config_cover_row(rd, g, ctx, row, pin);
		if (r < 0)
			return r;
	}
	return config_cover_check(rd, g, ctx, self);
}

int config_covers_parse(struct config *cfg, const config_setting_t *root, const char *path,
			struct config_errors *errors)
{
	const config_setting_t *list = config_setting_get_member(root, "covers");
	struct config_cover_reader rd = { cfg, path, errors, cfg->n_pins };
	struct config_pin *pins;
	int n, r;

	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return config_cover_report(&rd, list, "covers must be a list of groups: ( { ... }, "
						      "{ ... } )");
	n = config_setting_length(list);
	pins = realloc(cfg->pins, (cfg->n_pins + (size_t)n + 1) * sizeof(*pins));
	if (!pins)
		return -ENOMEM;
	cfg->pins = pins;
	for (int i = 0; i < n; i++) {
		r = config_cover_parse(&rd, config_setting_get_elem(list, (unsigned int)i),
				       (unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t config_line_pins(const struct config *cfg)
{
	size_t n = 0;

	while (n < cfg->n_pins && !cfg->pins[n].light &&
	       cfg->pins[n].direction != CONFIG_DIRECTION_COVER)
		n++;
	return n;
}

const char *config_cover_class_to_string(enum config_cover_class cover_class)
{
	return config_enum_to_string(config_cover_class_names, (int)cover_class);
}
