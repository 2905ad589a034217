/* SPDX-License-Identifier: MIT */
/* libconfig in, plain structs out. Every problem in the file is collected as "FILE:LINE: message"
 * in one pass; the caller prints them. Nothing here logs, and the MQTT password is never put in a
 * message. */
#include "config.h"
#include "config_check.h"
#include "config_cover.h"
#include "config_light.h"
#include "config_schema.h"
#include "config_text.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_CTX_MAX 96   /* "output '" + a name of CONFIG_NAME_MAX bytes + "'" */

/* What reading one optional key found; negative errno when memory ran out. */
enum config_value {
	CONFIG_VALUE_ABSENT,
	CONFIG_VALUE_SET,
	CONFIG_VALUE_INVALID,
};

/* Where an accepted pin's name and line are, for messages about a later duplicate. */
struct config_pin_seen {
	char ctx[CONFIG_CTX_MAX]; /* "input 'a'" or "input #2" */
	int name_line;            /* 0: the name is not usable for duplicate checks */
	int line_line;            /* 0: the line is not usable for duplicate checks */
};

/* A binding as written, resolved to an output once every pin is known. */
struct config_binding_pending {
	size_t input;
	size_t binding; /* index into the input's bindings */
	const config_setting_t *output; /* the "output" setting (its string and line) */
};

struct config_loader {
	const char *path;
	struct config_errors *errors;
	struct config *cfg;
	struct config_pin_seen *seen; /* parallel to cfg->pins */
	struct config_binding_pending *pending;
	size_t n_pending;
	bool lights; /* reading the lights list (PWM lights, src/config_light.c) */
};

/* ---- errors ----------------------------------------------------------------------------- */

/* Records MESSAGE, the result R of a config_check_* function, at WHERE (its file and line; the
 * file itself, line 0, without a setting). Returns 0 or -ENOMEM. */
static int config_loader_take(struct config_loader *ld, const config_setting_t *where, int r,
			      char *message)
{
	const char *file = ld->path;
	int line = 0;

	if (r != CONFIG_CHECK_PROBLEM)
		return r < 0 ? r : 0;
	if (where) {
		line = (int)config_setting_source_line(where);
		if (config_setting_source_file(where))
			file = config_setting_source_file(where);
	}
	return config_errors_add(ld->errors, file, line, message);
}

/* Records one problem at WHERE. Returns 0 or -ENOMEM. */
static int config_loader_report(struct config_loader *ld, const config_setting_t *where,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int config_loader_report(struct config_loader *ld, const config_setting_t *where,
				const char *fmt, ...)
{
	char *message;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return config_loader_take(ld, where, CONFIG_CHECK_PROBLEM, message);
}

/* ---- reading single values -------------------------------------------------------------- */

static config_setting_t *config_member(const config_setting_t *group, const char *key)
{
	return group ? config_setting_get_member(group, key) : NULL;
}

static int config_result(int r, enum config_value value)
{
	return r < 0 ? r : (int)value;
}

/* Reads an integer (int or int64, nothing else) in MIN..MAX. RANGE, when not NULL, replaces the
 * "between MIN and MAX" wording of the message. */
static int config_key_int(struct config_loader *ld, const config_setting_t *group, const char *ctx,
			  const char *key, long long min, long long max, const char *range,
			  long long *value)
{
	const config_setting_t *s = config_member(group, key);
	long long v;

	if (!s)
		return CONFIG_VALUE_ABSENT;
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return config_result(config_loader_report(ld, s, "%s: %s must be an integer", ctx, key),
				     CONFIG_VALUE_INVALID);
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		if (range)
			return config_result(config_loader_report(ld, s, "%s: %s must be %s", ctx, key,
								  range),
					     CONFIG_VALUE_INVALID);
		return config_result(config_loader_report(ld, s, "%s: %s must be between %lld and %lld",
							  ctx, key, min, max),
				     CONFIG_VALUE_INVALID);
	}
	*value = v;
	return CONFIG_VALUE_SET;
}

/* Reads a string; NONEMPTY rejects "". */
static int config_key_string(struct config_loader *ld, const config_setting_t *group,
			     const char *ctx, const char *key, bool nonempty, const char **value)
{
	const config_setting_t *s = config_member(group, key);

	if (!s)
		return CONFIG_VALUE_ABSENT;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return config_result(config_loader_report(ld, s, "%s: %s must be a string", ctx, key),
				     CONFIG_VALUE_INVALID);
	*value = config_setting_get_string(s);
	if (nonempty && !**value)
		return config_result(config_loader_report(ld, s, "%s: %s must not be empty", ctx, key),
				     CONFIG_VALUE_INVALID);
	return CONFIG_VALUE_SET;
}

/* Reports every key of GROUP that is not a row of TABLE applying to KIND's family of pins
 * (CONFIG_KINDS_ANY: not a pin). A key of a pin of the other direction is named as such.
 * CTX NULL: the top level. */
static int config_check_keys(struct config_loader *ld, const config_setting_t *group,
			     const char *ctx, const struct config_key *table, uint32_t kind)
{
	const char *prefix = ctx ? ctx : "", *colon = ctx ? ": " : "";
	uint32_t family = config_kind_family(kind);
	int r;

	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);
		const char *key = config_setting_name(s), *hint;
		const struct config_key *row = key ? config_key_find(table, key) : NULL;

		if (row && (row->flags & CONFIG_KEY_COMMENT))
			row = NULL;
		if (!key || (row && config_key_applies(row, family)))
			continue;
		if (row) {
			r = config_loader_report(ld, s, "%s%sunknown key '%s' (%s)", prefix, colon, key,
						 config_key_owner_note(row));
		} else {
			hint = config_key_suggest(table, family, key);
			if (hint)
				r = config_loader_report(ld, s, "%s%sunknown key '%s' (did you mean '%s'?)",
							 prefix, colon, key, hint);
			else
				r = config_loader_report(ld, s, "%s%sunknown key '%s'", prefix, colon, key);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the generic reader: one group by its table (config_schema.h) ------------------------- */

static int config_hook_run(struct config_loader *ld, const struct config_key *row,
			   const config_setting_t *g, char *ctx, size_t ctx_size, void *base,
			   int found);

/* Reads ROW's key from G into BASE by its type (BY_HAND rows are left to their hook). Returns
 * what was found (enum config_value) or -ENOMEM. */
static int config_row_read(struct config_loader *ld, const config_setting_t *g, const char *ctx,
			   const struct config_key *row, void *base)
{
	const config_setting_t *s = config_member(g, row->name);
	char list[128];
	long long v;
	int r, e;

	if (!s || (row->flags & CONFIG_KEY_BY_HAND))
		return s ? CONFIG_VALUE_SET : CONFIG_VALUE_ABSENT;
	switch (row->type) {
	case CONFIG_KEY_INT:
	case CONFIG_KEY_UINT:
		r = config_key_int(ld, g, ctx, row->name, row->min, row->max, row->range, &v);
		if (r == CONFIG_VALUE_SET)
			config_key_set(row, base, v);
		return r;
	case CONFIG_KEY_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return config_result(config_loader_report(ld, s, "%s: %s must be true or false",
								  ctx, row->name),
					     CONFIG_VALUE_INVALID);
		config_key_set(row, base, config_setting_get_bool(s));
		return CONFIG_VALUE_SET;
	case CONFIG_KEY_ENUM:
		if (config_setting_type(s) == CONFIG_TYPE_STRING &&
		    config_enum_lookup(row->words, config_setting_get_string(s), &e)) {
			config_key_set(row, base, e);
			return CONFIG_VALUE_SET;
		}
		config_enum_list(row->words, list, sizeof(list));
		return config_result(config_loader_report(ld, s, "%s: %s must be one of %s", ctx,
							  row->name, list),
				     CONFIG_VALUE_INVALID);
	case CONFIG_KEY_STRING: {
		char **at = config_key_string_at(row, base);
		const char *text;

		r = config_key_string(ld, g, ctx, row->name, true, &text);
		if (r != CONFIG_VALUE_SET)
			return r;
		free(*at);
		*at = strdup(text);
		return *at ? r : -ENOMEM;
	}
	default:
		return CONFIG_VALUE_ABSENT;
	}
}

/* Reads ROW, runs its hook and fills in a string default. */
static int config_row_run(struct config_loader *ld, const config_setting_t *g, char *ctx,
			  size_t ctx_size, const struct config_key *row, void *base)
{
	int r, found;

	found = config_row_read(ld, g, ctx, row, base);
	if (found < 0)
		return found;
	r = config_hook_run(ld, row, g, ctx, ctx_size, base, found);
	if (r < 0)
		return r;
	if (row->type == CONFIG_KEY_STRING && row->def_string && !config_key_string_get(row, base)) {
		char **at = config_key_string_at(row, base);

		*at = strdup(row->def_string);
		if (!*at)
			return -ENOMEM;
	}
	return 0;
}

/* The kind of a pin (config_pin_kind) for the reader; NULL for groups that are not pins. */
static uint32_t config_pin_kind_of(const void *pin)
{
	return config_pin_kind(pin);
}

/* Reads the group G (NULL: absent, every key takes its default) into BASE by TABLE: the rows
 * that name the group, then the check for unknown keys, then every other row in table order.
 * A key of a pin kind other than the pin's (as read so far: mode comes before the button keys)
 * is reported. CTX is the group in messages; the name row may rewrite it. */
static int config_group_read(struct config_loader *ld, const config_setting_t *g, char *ctx,
			     size_t ctx_size, const struct config_key *table, void *base,
			     uint32_t (*kind_of)(const void *base))
{
	const struct config_key *row;
	uint32_t kind;
	int r;

	for (row = table; row->name; row++) {
		if (!(row->flags & CONFIG_KEY_NAMES_GROUP))
			continue;
		r = config_row_run(ld, g, ctx, ctx_size, row, base);
		if (r < 0)
			return r;
	}
	if (g) {
		r = config_check_keys(ld, g, ctx, table, kind_of ? kind_of(base) : CONFIG_KINDS_ANY);
		if (r < 0)
			return r;
	}
	for (row = table; row->name; row++) {
		if (row->flags & (CONFIG_KEY_NAMES_GROUP | CONFIG_KEY_COMMENT))
			continue;
		kind = kind_of ? kind_of(base) : CONFIG_KINDS_ANY;
		if (config_key_applies(row, kind)) {
			r = config_row_run(ld, g, ctx, ctx_size, row, base);
		} else if (config_key_applies(row, config_kind_family(kind)) &&
			   config_member(g, row->name)) {
			/* a key of another mode: name the mode it belongs to */
			r = config_loader_report(ld, config_member(g, row->name),
						 "%s: %s applies only to mode = %s", ctx, row->name,
						 config_kind_modes(row->applies));
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- mqtt ------------------------------------------------------------------------------- */

static int config_parse_broker(struct config_loader *ld, const config_setting_t *g, unsigned int i)
{
	struct config_broker *b = &ld->cfg->mqtt.brokers[ld->cfg->mqtt.n_brokers];
	char ctx[CONFIG_CTX_MAX];

	snprintf(ctx, sizeof(ctx), "mqtt.brokers[%u]", i);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { host = \"...\"; port = 1883; }",
					    ctx);
	ld->cfg->mqtt.n_brokers++;
	config_keys_default(config_broker_keys, b, NULL);
	b->source_line = (int)config_setting_source_line(g);
	return config_group_read(ld, g, ctx, sizeof(ctx), config_broker_keys, b, NULL);
}

static int config_parse_brokers(struct config_loader *ld, const config_setting_t *mqtt)
{
	struct config_mqtt *m = &ld->cfg->mqtt;
	const config_setting_t *list = config_member(mqtt, "brokers");
	int n, r;

	if (!list) {
		m->brokers = calloc(1, sizeof(*m->brokers));
		if (!m->brokers)
			return -ENOMEM;
		m->n_brokers = 1;
		m->brokers[0].port = 0; /* default set by config_parse_mqtt once TLS is known */
		m->brokers[0].host = strdup("localhost");
		return m->brokers[0].host ? 0 : -ENOMEM;
	}
	n = config_setting_is_list(list) ? config_setting_length(list) : 0;
	if (n == 0)
		return config_loader_report(ld, list, "mqtt: brokers must be a non-empty list of groups: "
						      "( { host = \"...\"; port = 1883; } )");
	m->brokers = calloc((size_t)n, sizeof(*m->brokers));
	if (!m->brokers)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r = config_parse_broker(ld, config_setting_get_elem(list, (unsigned int)i),
					(unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_read_secret(struct config_loader *ld, const config_setting_t *where,
			      const char *ctx, const char *what, const char *path, char **out)
{
	char *message = NULL;
	int r = config_secret_read(ctx, what, path, out, &message);

	return config_loader_take(ld, where, r, message);
}

/* Without password_file, the password may come from the systemd credential "mqtt-password"
 * (LoadCredential=mqtt-password:... in the unit), when the daemon runs with one. */
static int config_read_credential(struct config_loader *ld, const config_setting_t *where)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path;
	int r;

	if (!dir || !dir[0])
		return 0;
	if (asprintf(&path, "%s/mqtt-password", dir) < 0)
		return -ENOMEM;
	r = 0;
	if (access(path, F_OK) == 0) {
		r = config_read_secret(ld, where, "mqtt", "systemd credential", path,
				       &ld->cfg->mqtt.password);
		ld->cfg->mqtt.password_from_credential = ld->cfg->mqtt.password != NULL;
	}
	free(path);
	return r;
}

/* cert_file and key_file come together. */
static int config_parse_tls_pair(struct config_loader *ld, const config_setting_t *g)
{
	if (config_member(g, "cert_file") && !config_member(g, "key_file"))
		return config_loader_report(ld, config_member(g, "cert_file"),
					    "mqtt.tls: cert_file needs key_file");
	if (config_member(g, "key_file") && !config_member(g, "cert_file"))
		return config_loader_report(ld, config_member(g, "key_file"),
					    "mqtt.tls: key_file needs cert_file");
	return 0;
}

/* mqtt.tls: present means TLS to every broker. */
static int config_parse_tls(struct config_loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *g = config_member(mqtt, "tls");
	struct config_tls *t = &ld->cfg->mqtt.tls;
	char ctx[] = "mqtt.tls";

	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "mqtt: tls must be a group: tls = { ca_file = "
						   "\"...\"; };");
	t->enabled = true;
	return config_group_read(ld, g, ctx, sizeof(ctx), config_tls_keys, t, NULL);
}

static int config_parse_key_password(struct config_loader *ld, const config_setting_t *g,
				     struct config_tls *t)
{
	const config_setting_t *s = config_member(g, "key_password_file");

	if (!config_member(g, "key_file"))
		return config_loader_report(ld, s, "mqtt.tls: key_password_file needs key_file");
	return config_read_secret(ld, s, "mqtt.tls", "key_password_file", t->key_password_file,
				  &t->key_password);
}

/* password_file needs username; without it, the password may come from a systemd credential. */
static int config_parse_password_file(struct config_loader *ld, const config_setting_t *g,
				      int found)
{
	struct config_mqtt *m = &ld->cfg->mqtt;
	int r;

	if (found == CONFIG_VALUE_ABSENT && m->username)
		return config_read_credential(ld, config_member(g, "username"));
	if (found != CONFIG_VALUE_SET)
		return 0;
	if (!config_member(g, "username")) {
		r = config_loader_report(ld, config_member(g, "password_file"),
					 "mqtt: password_file needs username");
		if (r < 0)
			return r;
	}
	return config_read_secret(ld, config_member(g, "password_file"), "mqtt", "password_file",
				  m->password_file, &m->password);
}

/* reconnect_max_ms: at least reconnect_min_ms; given only the minimum, the default cap follows
 * it up. */
static int config_parse_reconnect_max(struct config_loader *ld, const config_setting_t *g,
				      const struct config_key *row)
{
	struct config_mqtt *m = &ld->cfg->mqtt;
	char range[64];
	long long v;
	int r;

	snprintf(range, sizeof(range), "between reconnect_min_ms (%d) and %lld", m->reconnect_min_ms,
		 row->max);
	r = config_key_int(ld, g, "mqtt", row->name, m->reconnect_min_ms, row->max, range, &v);
	if (r == CONFIG_VALUE_SET)
		m->reconnect_max_ms = (int)v;
	else if (m->reconnect_max_ms < m->reconnect_min_ms)
		m->reconnect_max_ms = m->reconnect_min_ms;
	return r < 0 ? r : 0;
}

/* A top-level group (mqtt, discovery) by its ROW: one that is not a group is reported and read
 * as absent, so that every key takes its default. */
static int config_parse_top_group(struct config_loader *ld, const config_setting_t *root,
				  const struct config_key *row)
{
	const config_setting_t *g = config_member(root, row->name);
	char ctx[32];
	int r;

	snprintf(ctx, sizeof(ctx), "%s", row->name);
	if (g && !config_setting_is_group(g)) {
		r = config_loader_report(ld, g, "%s must be a group: %s", row->name, row->shape);
		if (r < 0)
			return r;
		g = NULL;
	}
	return config_group_read(ld, g, ctx, sizeof(ctx), row->sub, (char *)ld->cfg + row->offset,
				 NULL);
}

static int config_parse_mqtt(struct config_loader *ld, const config_setting_t *root)
{
	struct config_mqtt *m = &ld->cfg->mqtt;
	int r;

	r = config_parse_top_group(ld, root, config_key_find(config_top_keys, "mqtt"));
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_brokers; i++) {
		if (m->brokers[i].port == 0)
			m->brokers[i].port = m->tls.enabled ? 8883 : 1883;
	}
	return 0;
}

/* ---- pins ------------------------------------------------------------------------------- */

/* Checks the pin's name; on success points CTX at "input 'name'". */
static int config_parse_pin_name(struct config_loader *ld, const config_setting_t *g,
				 struct config_pin *pin, char *ctx, size_t ctx_size)
{
	const config_setting_t *s = config_member(g, "name");
	size_t self = ld->cfg->n_pins - 1;
	struct config_pin_seen *seen = &ld->seen[self];
	char *message = NULL;
	const char *name;
	int r;

	r = config_key_string(ld, g, ctx, "name", false, &name);
	if (r == CONFIG_VALUE_ABSENT)
		return config_loader_report(ld, g, "%s: name is missing", ctx);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	r = config_check_pin_name(ctx, name, &message);
	if (r != CONFIG_CHECK_OK)
		return config_loader_take(ld, s, r, message);
	pin->name = strdup(name);
	if (!pin->name)
		return -ENOMEM;
	snprintf(ctx, ctx_size, "%s '%s'", config_pin_word(pin), name);
	for (size_t i = 0; i < self; i++) {
		const struct config_pin *other = &ld->cfg->pins[i];

		if (ld->seen[i].name_line && strcmp(other->name, name) == 0)
			return config_loader_report(ld, s, "%s: name already used by %s at line %d", ctx,
						    config_pin_word(other),
						    ld->seen[i].name_line);
	}
	seen->name_line = (int)config_setting_source_line(s);
	return 0;
}

static int config_parse_pin_line(struct config_loader *ld, const config_setting_t *g,
				 struct config_pin *pin, const char *ctx)
{
	const config_setting_t *line_s = config_member(g, "line");
	const config_setting_t *chip_s = config_member(g, "chip");
	const config_setting_t *offset_s = config_member(g, "offset");
	size_t self = ld->cfg->n_pins - 1;
	struct config_pin_seen *seen = &ld->seen[self];
	const config_setting_t *at;
	const char *line = NULL, *chip = NULL;
	char *message = NULL;
	long long offset = 0;
	bool valid = true;
	int r;

	/* line = 12: a number where a line name is meant (the Pi's header numbering). */
	if (line_s && config_setting_type(line_s) == CONFIG_TYPE_INT) {
		r = config_check_line_number(ctx, config_setting_get_int(line_s), &message);
		r = config_loader_take(ld, line_s, r, message);
		if (r < 0)
			return r;
		valid = false;
	} else {
		r = config_key_string(ld, g, ctx, "line", true, &line);
		if (r < 0)
			return r;
		valid = valid && r != CONFIG_VALUE_INVALID;
	}
	r = config_key_string(ld, g, ctx, "chip", true, &chip);
	if (r < 0)
		return r;
	valid = valid && r != CONFIG_VALUE_INVALID;
	r = config_key_int(ld, g, ctx, "offset", 0, config_key_find(config_pin_keys, "offset")->max,
			   NULL, &offset);
	if (r < 0)
		return r;
	valid = valid && r != CONFIG_VALUE_INVALID;

	if (line_s && (chip_s || offset_s))
		return config_loader_report(ld, chip_s ? chip_s : offset_s,
					    "%s: use either line or chip + offset, not both", ctx);
	if (!line_s && !chip_s && !offset_s)
		return config_loader_report(ld, g, "%s: line is missing (line = \"NAME\"; or chip = "
						   "\"CHIP\"; offset = N;)", ctx);
	if (chip_s && !offset_s)
		return config_loader_report(ld, chip_s, "%s: chip needs an offset", ctx);
	if (offset_s && !chip_s)
		return config_loader_report(ld, offset_s, "%s: offset needs a chip", ctx);
	if (!valid)
		return 0;

	if (line_s) {
		pin->line.name = strdup(line);
		if (!pin->line.name)
			return -ENOMEM;
		at = line_s;
	} else {
		pin->line.chip = strdup(chip);
		if (!pin->line.chip)
			return -ENOMEM;
		pin->line.offset = (unsigned int)offset;
		at = chip_s;
	}
	for (size_t i = 0; i < self; i++) {
		if (!ld->seen[i].line_line)
			continue;
		r = config_check_line_reuse(ctx, &pin->line, &ld->cfg->pins[i].line, ld->seen[i].ctx,
					    ld->seen[i].line_line, &message);
		if (r != CONFIG_CHECK_OK)
			return config_loader_take(ld, at, r, message);
	}
	seen->line_line = (int)config_setting_source_line(at);
	return 0;
}

static int config_parse_binding(struct config_loader *ld, const config_setting_t *g,
				struct config_pin *pin, const char *ctx, unsigned int index)
{
	struct config_binding *b = &pin->bindings[pin->n_bindings];
	char bctx[CONFIG_CTX_MAX + 32];

	snprintf(bctx, sizeof(bctx), "%s: bindings[%u]", ctx, index);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { output = \"...\"; action = "
						   "\"toggle\"; }", bctx);
	config_keys_default(config_binding_keys, b, NULL);
	return config_group_read(ld, g, bctx, sizeof(bctx), config_binding_keys, b, NULL);
}

/* A binding's output is a name until every pin is known (config_bindings_resolve). */
static int config_parse_binding_output(struct config_loader *ld, const config_setting_t *g,
				       const char *bctx)
{
	struct config_pin *pin = &ld->cfg->pins[ld->cfg->n_pins - 1];
	struct config_binding_pending *grown;
	const char *name;
	int r;

	r = config_key_string(ld, g, bctx, "output", true, &name);
	if (r == CONFIG_VALUE_ABSENT)
		return config_loader_report(ld, g, "%s: output is missing", bctx);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	grown = realloc(ld->pending, (ld->n_pending + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ld->pending = grown;
	ld->pending[ld->n_pending++] = (struct config_binding_pending){
		.input = ld->cfg->n_pins - 1,
		.binding = pin->n_bindings,
		.output = config_member(g, "output"),
	};
	pin->n_bindings++;
	return 0;
}

static int config_parse_bindings(struct config_loader *ld, const config_setting_t *g,
				 struct config_pin *pin, const char *ctx)
{
	const config_setting_t *list = config_member(g, "bindings");
	int n, r;

	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return config_loader_report(ld, list, "%s: bindings must be a list of groups: ( { "
						      "output = \"...\"; action = \"toggle\"; } )",
					    ctx);
	n = config_setting_length(list);
	pin->bindings = calloc(n ? (size_t)n : 1, sizeof(*pin->bindings));
	if (!pin->bindings)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r = config_parse_binding(ld, config_setting_get_elem(list, (unsigned int)i), pin, ctx,
					 (unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_parse_pin(struct config_loader *ld, const config_setting_t *g,
			    enum config_direction direction, unsigned int index)
{
	struct config_pin *pin = &ld->cfg->pins[ld->cfg->n_pins];
	struct config_pin_seen *seen = &ld->seen[ld->cfg->n_pins];
	char ctx[CONFIG_CTX_MAX];
	int r;

	*pin = (struct config_pin){
		.direction = direction,
		.source_line = (int)config_setting_source_line(g),
		.interlock = CONFIG_INTERLOCK_NONE,
		.light = ld->lights,
	};
	snprintf(ctx, sizeof(ctx), "%s #%u", config_pin_word(pin), index + 1);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { name = \"...\"; line = "
						   "\"...\"; }", ctx);
	config_keys_default(config_pin_keys, pin, &ld->cfg->mqtt);
	*seen = (struct config_pin_seen){ 0 };
	/* counted before it is complete, so that config_free() frees whatever it holds */
	ld->cfg->n_pins++;
	if (direction == CONFIG_DIRECTION_INPUT)
		ld->cfg->n_inputs++;
	else
		ld->cfg->n_outputs++;
	ld->cfg->n_lights += ld->lights;

	r = config_group_read(ld, g, ctx, sizeof(ctx), config_pin_keys, pin, config_pin_kind_of);
	snprintf(seen->ctx, sizeof(seen->ctx), "%s", ctx);
	pin->initial = pin->direction == CONFIG_DIRECTION_OUTPUT &&
		       pin->power_on == CONFIG_POWER_ON_ON;
	return r;
}

static int config_parse_pins(struct config_loader *ld, const config_setting_t *list,
			     enum config_direction direction)
{
	int r;

	for (int i = 0; i < config_setting_length(list); i++) {
		r = config_parse_pin(ld, config_setting_get_elem(list, (unsigned int)i), direction,
				     (unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Returns the list under KEY, or NULL when it is absent or not a list (reported; *BAD set). */
static int config_pin_list(struct config_loader *ld, const config_setting_t *root, const char *key,
			   const config_setting_t **list, bool *bad)
{
	const config_setting_t *s = config_member(root, key);

	*list = NULL;
	if (!s)
		return 0;
	if (!config_setting_is_list(s)) {
		*bad = true;
		return config_loader_report(ld, s, "%s must be a list of groups: ( { ... }, { ... } )",
					    key);
	}
	*list = s;
	return 0;
}

/* ---- bindings, interlocks, state directory ---------------------------------------------- */

static size_t config_pin_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (cfg->pins[i].name && strcmp(cfg->pins[i].name, name) == 0)
			return i;
	}
	return SIZE_MAX;
}

/* The output called NAME for a message at WHERE in CTX; SIZE_MAX (reported) when there is none. */
static int config_output_find(struct config_loader *ld, const config_setting_t *where,
			      const char *ctx, const char *name, size_t *index)
{
	char quoted[CONFIG_QUOTE_MAX];

	*index = config_pin_index(ld->cfg, name);
	config_quote(quoted, sizeof(quoted), name);
	if (*index == SIZE_MAX)
		return config_loader_report(ld, where, "%s: no output called %s", ctx, quoted);
	if (ld->cfg->pins[*index].direction != CONFIG_DIRECTION_OUTPUT) {
		*index = SIZE_MAX;
		return config_loader_report(ld, where, "%s: %s is an input, not an output", ctx,
					    quoted);
	}
	return 0;
}

static int config_bindings_resolve(struct config_loader *ld)
{
	for (size_t i = 0; i < ld->n_pending; i++) {
		const struct config_binding_pending *p = &ld->pending[i];
		struct config_pin *input = &ld->cfg->pins[p->input];
		char ctx[CONFIG_CTX_MAX + 32];
		size_t output;
		int r;

		snprintf(ctx, sizeof(ctx), "input '%s': bindings[%zu]", input->name ? input->name : "?",
			 p->binding);
		r = config_output_find(ld, p->output, ctx, config_setting_get_string(p->output),
				       &output);
		if (r < 0)
			return r;
		/* Unresolved bindings point at the input itself and are never used: the file is
		 * rejected. */
		input->bindings[p->binding].output = output == SIZE_MAX ? p->input : output;
	}
	return 0;
}

/* The outputs of an interlock group: at least two, each in one group only, at most one of
 * them with power_on = "on". */
static int config_parse_interlock_outputs(struct config_loader *ld, const config_setting_t *g,
					  const char *ctx)
{
	struct config_interlock *il = &ld->cfg->interlocks[ld->cfg->n_interlocks - 1];
	const config_setting_t *outputs;
	unsigned int n_on = 0;
	int r, n;

	outputs = config_member(g, "outputs");
	if (!outputs)
		return config_loader_report(ld, g, "%s: outputs is missing", ctx);
	if (!config_setting_is_array(outputs) && !config_setting_is_list(outputs))
		return config_loader_report(ld, outputs, "%s: outputs must be an array of output "
							 "names: [ \"a\", \"b\" ]", ctx);
	n = config_setting_length(outputs);
	if (n < 2)
		return config_loader_report(ld, outputs, "%s: outputs must name at least two outputs",
					    ctx);
	il->outputs = calloc((size_t)n, sizeof(*il->outputs));
	if (!il->outputs)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(outputs, (unsigned int)i);
		struct config_pin *pin;
		size_t out;

		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			r = config_loader_report(ld, s, "%s: outputs must be an array of output names: "
							"[ \"a\", \"b\" ]", ctx);
			if (r < 0)
				return r;
			continue;
		}
		r = config_output_find(ld, s, ctx, config_setting_get_string(s), &out);
		if (r < 0)
			return r;
		if (out == SIZE_MAX)
			continue;
		pin = &ld->cfg->pins[out];
		if (pin->interlock == ld->cfg->n_interlocks - 1) {
			r = config_loader_report(ld, s, "%s: output '%s' is listed twice", ctx,
						 pin->name);
		} else if (pin->interlock != CONFIG_INTERLOCK_NONE) {
			r = config_loader_report(ld, s, "%s: output '%s' is already in the interlock "
							"group at line %d (an output can be in one "
							"group only)", ctx, pin->name,
						 ld->cfg->interlocks[pin->interlock].source_line);
		} else {
			pin->interlock = ld->cfg->n_interlocks - 1;
			il->outputs[il->n_outputs++] = out;
			if (pin->power_on == CONFIG_POWER_ON_ON && ++n_on == 2)
				r = config_loader_report(ld, s, "%s: more than one output of the group "
								"has power_on = \"on\" (at most one "
								"may be ON)", ctx);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int config_parse_interlock(struct config_loader *ld, const config_setting_t *g,
				  unsigned int index)
{
	struct config_interlock *il = &ld->cfg->interlocks[ld->cfg->n_interlocks];
	char ctx[32];

	snprintf(ctx, sizeof(ctx), "interlocks[%u]", index);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { outputs = [ \"a\", \"b\" ]; "
						   "}", ctx);
	*il = (struct config_interlock){ .source_line = (int)config_setting_source_line(g) };
	config_keys_default(config_interlock_keys, il, NULL);
	ld->cfg->n_interlocks++;
	return config_group_read(ld, g, ctx, sizeof(ctx), config_interlock_keys, il, NULL);
}

static int config_parse_interlocks(struct config_loader *ld, const config_setting_t *root)
{
	const config_setting_t *list = config_member(root, "interlocks");
	int n, r;

	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return config_loader_report(ld, list, "interlocks must be a list of groups: ( { "
						      "outputs = [ \"a\", \"b\" ]; } )");
	n = config_setting_length(list);
	ld->cfg->interlocks = calloc(n ? (size_t)n : 1, sizeof(*ld->cfg->interlocks));
	if (!ld->cfg->interlocks)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r = config_parse_interlock(ld, config_setting_get_elem(list, (unsigned int)i),
					   (unsigned int)i);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the hand-written part of each row (config_schema.h, enum config_hook) ---------------- */

/* Runs ROW's hook after the generic reader found FOUND (enum config_value) in G. BASE is the
 * group's struct. Returns 0 or -ENOMEM; problems are reported. */
static int config_hook_run(struct config_loader *ld, const struct config_key *row,
			   const config_setting_t *g, char *ctx, size_t ctx_size, void *base,
			   int found)
{
	const config_setting_t *s = config_member(g, row->name), *at = s;
	const char *value = row->type == CONFIG_KEY_STRING ? config_key_string_get(row, base) : NULL;
	bool set = found == CONFIG_VALUE_SET;
	struct config_pin *pin = base;
	int r = CONFIG_CHECK_OK;
	char *message = NULL;

	switch (row->hook) {
	case CONFIG_HOOK_STATE_DIR:
		return set && value[0] != '/'
			       ? config_loader_report(ld, s, "state_dir must be an absolute path")
			       : 0;
	case CONFIG_HOOK_BROKERS:
		return config_parse_brokers(ld, g);
	case CONFIG_HOOK_CLIENT_ID:
		if (set)
			r = config_check_client_id(value, &message);
		break;
	case CONFIG_HOOK_PASSWORD_FILE:
		return config_parse_password_file(ld, g, found);
	case CONFIG_HOOK_BASE_TOPIC:
		if (set)
			r = config_check_base_topic(value, &message);
		break;
	case CONFIG_HOOK_RECONNECT_MAX:
		return config_parse_reconnect_max(ld, g, row);
	case CONFIG_HOOK_TLS:
		return config_parse_tls(ld, g);
	case CONFIG_HOOK_HOST:
		if (found == CONFIG_VALUE_ABSENT)
			return config_loader_report(ld, g, "%s: host is missing", ctx);
		if (set)
			r = config_check_host(ctx, value, &message);
		break;
	case CONFIG_HOOK_TLS_FILE:
	case CONFIG_HOOK_TLS_DIR:
		if (set)
			r = config_check_tls_path(row->name, row->hook == CONFIG_HOOK_TLS_DIR, value,
						  &message);
		break;
	case CONFIG_HOOK_TLS_KEY_FILE:
		if (set)
			r = config_check_tls_path(row->name, false, value, &message);
		r = config_loader_take(ld, s, r, message);
		return r < 0 ? r : config_parse_tls_pair(ld, g);
	case CONFIG_HOOK_KEY_PASSWORD_FILE:
		return set ? config_parse_key_password(ld, g, base) : 0;
	case CONFIG_HOOK_NAME:
		return config_parse_pin_name(ld, g, pin, ctx, ctx_size);
	case CONFIG_HOOK_LINE:
		return config_parse_pin_line(ld, g, pin, ctx);
	case CONFIG_HOOK_PUBLISH_STATE:
		if (!set)
			pin->publish_state = pin->mode == CONFIG_INPUT_MODE_SWITCH;
		return 0;
	case CONFIG_HOOK_DEVICE_CLASS:
		if (set)
			r = config_check_pin_device_class(ctx, pin, value, &message);
		break;
	case CONFIG_HOOK_DISPLAY_NAME:
		if (set)
			r = config_check_display_name(ctx ? ctx : "discovery", row->name, value,
						      &message);
		break;
	case CONFIG_HOOK_BUTTON_TIMES: /* both reported at the pin */
		r = config_check_long_press(ctx, pin, &message);
		r = config_loader_take(ld, g, r, message);
		if (r < 0)
			return r;
		r = config_check_double_press(ctx, pin, &message);
		at = g;
		break;
	case CONFIG_HOOK_BINDINGS:
		return config_parse_bindings(ld, g, pin, ctx);
	case CONFIG_HOOK_PULSE:
		r = config_check_pulse(ctx, pin, &message);
		break;
	case CONFIG_HOOK_BINDING_OUTPUT:
		return config_parse_binding_output(ld, g, ctx);
	case CONFIG_HOOK_INTERLOCK_OUTPUTS:
		return config_parse_interlock_outputs(ld, g, ctx);
	case CONFIG_HOOK_PREFIX:
		if (set)
			r = config_check_discovery_topic(row->name, value, &message);
		break;
	case CONFIG_HOOK_COUNTER_UNIT: /* unit, rate_unit: against the device class */
		r = config_check_counter_unit(ctx, pin, row->name, value, &message);
		at = s ? s : g;
		break;
	case CONFIG_HOOK_PWM:
		return config_light_pwm_read(ld->errors, ld->path, g, ctx, pin);
	case CONFIG_HOOK_PAYLOAD:
		r = set ? config_check_pin_payload(ctx, pin, &message) : CONFIG_CHECK_OK;
		break;
	default: /* top-level groups and lists: config_parse(); offset: the line hook */
		return 0;
	}
	return config_loader_take(ld, at, r, message);
}

/* ---- loading ---------------------------------------------------------------------------- */

static int config_parse(struct config_loader *ld, const config_setting_t *root)
{
	const config_setting_t *inputs, *outputs, *lights;
	char ctx[] = "top level";
	bool bad_list = false;
	size_t n;
	int r;

	r = config_check_keys(ld, root, NULL, config_top_keys, CONFIG_KINDS_ANY);
	if (r < 0)
		return r;
	r = config_parse_mqtt(ld, root);
	if (r < 0)
		return r;
	r = config_defaults_finish(ld->cfg);
	if (r < 0)
		return r;

	r = config_pin_list(ld, root, "inputs", &inputs, &bad_list);
	if (r < 0)
		return r;
	r = config_pin_list(ld, root, "outputs", &outputs, &bad_list);
	if (r < 0)
		return r;
	r = config_pin_list(ld, root, "lights", &lights, &bad_list);
	if (r < 0)
		return r;
	n = (inputs ? (size_t)config_setting_length(inputs) : 0) +
	    (outputs ? (size_t)config_setting_length(outputs) : 0) +
	    (lights ? (size_t)config_setting_length(lights) : 0);
	if (n == 0) {
		if (bad_list)
			return 0;
		return config_loader_report(ld, NULL, "no inputs or outputs configured (add inputs = "
						      "( ... ); or outputs = ( ... );)");
	}
	ld->cfg->pins = calloc(n, sizeof(*ld->cfg->pins));
	ld->seen = calloc(n, sizeof(*ld->seen));
	if (!ld->cfg->pins || !ld->seen)
		return -ENOMEM;
	if (inputs) {
		r = config_parse_pins(ld, inputs, CONFIG_DIRECTION_INPUT);
		if (r < 0)
			return r;
	}
	if (outputs) {
		r = config_parse_pins(ld, outputs, CONFIG_DIRECTION_OUTPUT);
		if (r < 0)
			return r;
	}
	ld->lights = true; /* after every GPIO pin (config.h: n_lights) */
	r = lights ? config_parse_pins(ld, lights, CONFIG_DIRECTION_OUTPUT) : 0;
	ld->lights = false;
	if (r < 0)
		return r;
	r = config_bindings_resolve(ld);
	if (r < 0)
		return r;
	r = config_parse_interlocks(ld, root);
	if (r == 0)
		r = config_light_finish(ld->errors, ld->cfg);
	if (r == 0) /* after every GPIO pin and light (config_line_pins()) */
		r = config_covers_parse(ld->cfg, root, ld->path, ld->errors);
	if (r < 0)
		return r;
	r = config_parse_top_group(ld, root, config_key_find(config_top_keys, "discovery"));
	if (r < 0)
		return r;
	return config_row_run(ld, root, ctx, sizeof(ctx), config_key_find(config_top_keys, "state_dir"),
			      ld->cfg);
}

static struct config *config_new(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->path = strdup(path);
	if (!cfg->path) {
		free(cfg);
		return NULL;
	}
	config_keys_default(config_mqtt_keys, &cfg->mqtt, NULL);
	config_keys_default(config_tls_keys, &cfg->mqtt.tls, NULL);
	config_keys_default(config_discovery_keys, &cfg->discovery, NULL);
	return cfg;
}

/* Reads PATH into LC. Returns 0, -EINVAL when the file cannot be opened or parsed (reported),
 * or -ENOMEM. */
static int config_file_read(struct config_loader *ld, config_t *lc)
{
	char *message;
	struct stat st;
	FILE *fp;
	int r;

	fp = fopen(ld->path, "re");
	if (!fp && errno == ENOMEM)
		return -ENOMEM;
	if (!fp) {
		r = config_loader_report(ld, NULL, "cannot open: %s", strerror(errno));
		return r < 0 ? r : -EINVAL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		r = config_loader_report(ld, NULL, "cannot open: %s", strerror(EISDIR));
		goto close_file;
	}
	if (!config_read(lc, fp)) {
		const char *text = config_error_text(lc);

		int comma = config_error_type(lc) == CONFIG_ERR_FILE_IO ?
				    0 :
				    config_trailing_comma_line(fp, config_error_line(lc));

		if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
			r = config_loader_report(ld, NULL, "cannot read: %s", text ? text : strerror(EIO));
		else if (comma && asprintf(&message, "%s (the comma at line %d, after the last "
						     "element of a list? libconfig before 1.7 does "
						     "not accept one)",
					   text ? text : "syntax error", comma) < 0)
			r = -ENOMEM;
		else if (!comma && !(message = strdup(text ? text : "syntax error")))
			r = -ENOMEM;
		else
			r = config_errors_add(ld->errors, config_error_file(lc) ? config_error_file(lc)
									: ld->path,
					      config_error_line(lc), message);
		goto close_file;
	}
	fclose(fp);
	return 0;

close_file:
	fclose(fp);
	return r < 0 ? r : -EINVAL;
}

int config_load(const char *path, struct config **out, struct config_errors *errors)
{
	struct config_errors local = { 0 };
	struct config_loader ld = { .path = path, .errors = errors ? errors : &local };
	size_t first = ld.errors->n;
	config_t lc;
	int r;

	if (!path || !out)
		return -EINVAL;
	config_init(&lc);
	r = config_file_read(&ld, &lc);
	if (r < 0)
		goto destroy_libconfig;

	ld.cfg = config_new(path);
	if (!ld.cfg) {
		r = -ENOMEM;
		goto destroy_libconfig;
	}
	r = config_parse(&ld, config_root_setting(&lc));
	if (r == 0 && ld.errors->n > first)
		r = -EINVAL;
	if (r < 0)
		goto free_config;

	*out = ld.cfg;
	ld.cfg = NULL;

free_config:
	config_free(ld.cfg);
	free(ld.seen);
	free(ld.pending);
destroy_libconfig:
	config_destroy(&lc);
	config_errors_sort(ld.errors, first);
	config_errors_clear(&local);
	return r;
}

