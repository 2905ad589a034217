/* SPDX-License-Identifier: MIT */
/* gpio2mqtt --check -v: the resolved configuration, printed by walking the key tables of
 * config_schema.h. Every key that is set or applies is printed with its value (defaults filled
 * in); an optional string that is not set and a key of another pin kind are left out, so that
 * the output is itself a valid configuration that loads to the same result (tests/unit/
 * test_config_dump.c and check-roundtrip.sh hold it to that). Secrets print as "<hidden>" in
 * comments. */
#include "config.h"
#include "config_light.h"
#include "config_schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A string as a libconfig literal: '"' and '\' escaped, other bytes below 0x20 and 0x7f as
 * \xNN. */
static void config_dump_literal(FILE *out, const char *value)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void config_dump_indent(FILE *out, int depth)
{
	fprintf(out, "%*s", depth * 2, "");
}

static void config_dump_group(FILE *out, const struct config *cfg, const struct config_key *table,
			      const void *base, uint32_t kind, int depth, bool one_line);

/* A list of groups: "KEY = (" then each element, then ")". */
static void config_dump_list(FILE *out, const struct config *cfg, const struct config_key *row,
			     const void *elements, size_t size, size_t n, bool one_line, int depth)
{
	fprintf(out, "%s = (", row->name);
	for (size_t i = 0; i < n; i++) {
		const void *element = (const char *)elements + i * size;

		fprintf(out, "%s\n", i ? "," : "");
		config_dump_indent(out, depth + 1);
		if (one_line) {
			fprintf(out, "{");
			config_dump_group(out, cfg, row->sub, element, CONFIG_KINDS_ANY, 0, true);
			fprintf(out, " }");
		} else {
			fprintf(out, "{\n");
			config_dump_group(out, cfg, row->sub, element, CONFIG_KINDS_ANY, depth + 2, false);
			config_dump_indent(out, depth + 1);
			fprintf(out, "}");
		}
	}
	if (n) {
		fprintf(out, "\n");
		config_dump_indent(out, depth);
	} else {
		fprintf(out, " ");
	}
	fprintf(out, ")");
}

/* The pins of one direction (they share config.pins, inputs first). */
static void config_dump_pins(FILE *out, const struct config *cfg, const struct config_key *row,
			     enum config_direction direction)
{
	bool first = true;

	fprintf(out, "%s = (", row->name);
	for (size_t i = 0; i < cfg->n_pins; i++) {
		const struct config_pin *pin = &cfg->pins[i];

		if (pin->direction != direction)
			continue;
		if (pin->light != (row->hook == CONFIG_HOOK_LIGHTS)) /* lights: a list of their own */
			continue;
		fprintf(out, "%s\n  {\n", first ? "" : ",");
		config_dump_group(out, cfg, row->sub, pin, config_pin_kind(pin), 2, false);
		fprintf(out, "  }");
		first = false;
	}
	fprintf(out, "%s)", first ? " " : "\n");
}

/* Rows that are not printed like their type. Returns false when nothing was printed. */
static bool config_dump_hook(FILE *out, const struct config *cfg, const struct config_key *row,
			     const void *base, int depth)
{
	const struct config_mqtt *m = base;
	const struct config_pin *pin = base;
	const struct config_interlock *il = base;

	switch (row->hook) {
	case CONFIG_HOOK_INPUTS:
		config_dump_pins(out, cfg, row, CONFIG_DIRECTION_INPUT);
		return true;
	case CONFIG_HOOK_OUTPUTS:
	case CONFIG_HOOK_LIGHTS:
		config_dump_pins(out, cfg, row, CONFIG_DIRECTION_OUTPUT);
		return true;
	case CONFIG_HOOK_COVERS:
		config_dump_pins(out, cfg, row, CONFIG_DIRECTION_COVER);
		return true;
	case CONFIG_HOOK_PWM:
		config_light_pwm_dump(out, &pin->pwm);
		return true;
	case CONFIG_HOOK_INTERLOCKS:
		config_dump_list(out, cfg, row, cfg->interlocks, sizeof(*cfg->interlocks),
				 cfg->n_interlocks, true, depth);
		return true;
	case CONFIG_HOOK_BROKERS:
		config_dump_list(out, cfg, row, m->brokers, sizeof(*m->brokers), m->n_brokers, false,
				 depth);
		return true;
	case CONFIG_HOOK_BINDINGS:
		config_dump_list(out, cfg, row, pin->bindings, sizeof(*pin->bindings), pin->n_bindings,
				 true, depth);
		return true;
	case CONFIG_HOOK_TLS:
		if (!m->tls.enabled) {
			fprintf(out, "# tls: not set (plain MQTT)");
			return false;
		}
		fprintf(out, "tls = {\n");
		config_dump_group(out, cfg, row->sub, &m->tls, CONFIG_KINDS_ANY, depth + 1, false);
		config_dump_indent(out, depth);
		fprintf(out, "}");
		return true;
	case CONFIG_HOOK_OFFSET: /* only with chip */
		if (!pin->line.chip)
			return false;
		fprintf(out, "%s = %u", row->name, pin->line.offset);
		return true;
	case CONFIG_HOOK_INTERLOCK_OUTPUTS:
		fprintf(out, "%s = (", row->name);
		for (size_t i = 0; i < il->n_outputs; i++) {
			fprintf(out, "%s", i ? ", " : " ");
			config_dump_literal(out, cfg->pins[il->outputs[i]].name);
		}
		fprintf(out, " )");
		return true;
	default:
		return false;
	}
}

/* Prints one row's "key = value" without the ';'. Returns false when nothing was printed. */
static bool config_dump_value(FILE *out, const struct config *cfg, const struct config_key *row,
			      const void *base, int depth)
{
	const char *value;
	size_t index;

	if (row->type == CONFIG_KEY_STRING) {
		value = config_key_string_get(row, base);
		if (!value)
			return false;
		fprintf(out, "%s = ", row->name);
		if (row->flags & CONFIG_KEY_SECRET)
			fprintf(out, "\"<hidden>\"");
		else
			config_dump_literal(out, value);
		return true;
	}
	switch (row->type) {
	case CONFIG_KEY_INT:
	case CONFIG_KEY_UINT:
		fprintf(out, "%s = %lld", row->name, config_key_get(row, base));
		return true;
	case CONFIG_KEY_BOOL:
		fprintf(out, "%s = %s", row->name, config_key_get(row, base) ? "true" : "false");
		return true;
	case CONFIG_KEY_ENUM:
		fprintf(out, "%s = \"%s\"", row->name,
			config_enum_to_string(row->words, (int)config_key_get(row, base)));
		return true;
	case CONFIG_KEY_PIN_REF:
		memcpy(&index, (const char *)base + row->offset, sizeof(index));
		fprintf(out, "%s = ", row->name);
		config_dump_literal(out, cfg->pins[index].name);
		return true;
	case CONFIG_KEY_GROUP:
		fprintf(out, "%s = {\n", row->name);
		config_dump_group(out, cfg, row->sub, (const char *)base + row->offset,
				  CONFIG_KINDS_ANY, depth + 1, false);
		config_dump_indent(out, depth);
		fprintf(out, "}");
		return true;
	default:
		return false;
	}
}

/* Whether ROW has something to print: an optional string that is not set and an offset
 * without a chip are left out. */
static bool config_dump_present(const struct config_key *row, const void *base)
{
	if (row->type == CONFIG_KEY_STRING)
		return config_key_string_get(row, base) != NULL;
	if (row->hook == CONFIG_HOOK_OFFSET)
		return ((const struct config_pin *)base)->line.chip != NULL;
	if (row->type == CONFIG_KEY_PIN_REF) { /* a cover's optional outputs and inputs */
		size_t index;

		memcpy(&index, (const char *)base + row->offset, sizeof(index));
		return index != CONFIG_PIN_NONE;
	}
	if (row->hook == CONFIG_HOOK_COVERS) { /* base: the configuration */
		const struct config *cfg = base;

		for (size_t i = 0; i < cfg->n_pins; i++)
			if (cfg->pins[i].is_cover)
				return true;
		return false;
	}
	if (row->hook == CONFIG_HOOK_LIGHTS) /* only when there are any: older files stay alike */
		return ((const struct config *)base)->n_lights > 0;
	return true;
}

/* Every row of TABLE that applies to KIND, one per line at DEPTH, or all on one line. */
static void config_dump_group(FILE *out, const struct config *cfg, const struct config_key *table,
			      const void *base, uint32_t kind, int depth, bool one_line)
{
	for (const struct config_key *row = table; row->name; row++) {
		bool printed;

		if (!config_key_applies(row, kind) || !config_dump_present(row, base))
			continue;
		if (one_line)
			fputc(' ', out);
		else
			config_dump_indent(out, depth);
		if (row->flags & CONFIG_KEY_COMMENT)
			fprintf(out, "# ");
		if (row->flags & CONFIG_KEY_DUMP_BY_HAND)
			printed = config_dump_hook(out, cfg, row, base, depth);
		else
			printed = config_dump_value(out, cfg, row, base, depth);
		fprintf(out, "%s%s", printed ? ";" : "", one_line ? "" : "\n");
	}
}

/* ---- the one-line summary ------------------------------------------------------------------------- */

int config_summary(const struct config *cfg, char *buf, size_t size)
{
	const struct config_broker *b;
	bool bracket;
	int n;

	if (!cfg || !buf || size == 0)
		return -EINVAL;
	if (cfg->mqtt.n_brokers == 0) {
		n = snprintf(buf, size, "%zu input%s, %zu output%s, no broker, base topic %s",
			     cfg->n_inputs, cfg->n_inputs == 1 ? "" : "s", cfg->n_outputs,
			     cfg->n_outputs == 1 ? "" : "s",
			     cfg->mqtt.base_topic ? cfg->mqtt.base_topic : "(none)");
	} else {
		b = &cfg->mqtt.brokers[0];
		bracket = b->host && strchr(b->host, ':'); /* an IPv6 address */
		if (cfg->mqtt.n_brokers == 1)
			n = snprintf(buf, size, "%zu input%s, %zu output%s, broker %s%s%s:%d, "
						"base topic %s",
				     cfg->n_inputs, cfg->n_inputs == 1 ? "" : "s", cfg->n_outputs,
				     cfg->n_outputs == 1 ? "" : "s", bracket ? "[" : "",
				     b->host ? b->host : "?", bracket ? "]" : "", b->port,
				     cfg->mqtt.base_topic ? cfg->mqtt.base_topic : "(none)");
		else
			n = snprintf(buf, size, "%zu input%s, %zu output%s, brokers %s%s%s:%d "
						"(+%zu more), base topic %s",
				     cfg->n_inputs, cfg->n_inputs == 1 ? "" : "s", cfg->n_outputs,
				     cfg->n_outputs == 1 ? "" : "s", bracket ? "[" : "",
				     b->host ? b->host : "?", bracket ? "]" : "", b->port,
				     cfg->mqtt.n_brokers - 1,
				     cfg->mqtt.base_topic ? cfg->mqtt.base_topic : "(none)");
	}
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENOSPC : 0;
}

void config_dump(const struct config *cfg, FILE *out)
{
	fprintf(out, "# gpio2mqtt: the resolved configuration (every default filled in)\n");
	config_dump_group(out, cfg, config_top_keys, cfg, CONFIG_KINDS_ANY, 0, false);
}
