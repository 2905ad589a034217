/* SPDX-License-Identifier: MIT */
/* libconfig in, plain structs out. Every problem in the file is collected as "FILE:LINE: message"
 * in one pass; the caller prints them. Nothing here logs, and the MQTT password is never put in a
 * message. */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_CLIENT_ID_MAX 128
#define CONFIG_OFFSET_MAX 65535
#define CONFIG_CTX_MAX 96   /* "output '" + a name of CONFIG_NAME_MAX bytes + "'" */
#define CONFIG_QUOTE_MAX 96 /* a value quoted in a message, cut with "..." */
#define CONFIG_HOST_MAX 64  /* bytes of the hostname used in defaults */

/* What reading one optional key found; negative errno when memory ran out. */
enum config_value {
	CONFIG_VALUE_ABSENT,
	CONFIG_VALUE_SET,
	CONFIG_VALUE_INVALID,
};

/* Why a string is not a valid topic level (or topic). */
enum config_topic_problem {
	CONFIG_TOPIC_OK,
	CONFIG_TOPIC_EMPTY,
	CONFIG_TOPIC_TOO_LONG,
	CONFIG_TOPIC_UTF8,
	CONFIG_TOPIC_WILDCARD,
	CONFIG_TOPIC_SLASH,
	CONFIG_TOPIC_CONTROL,
	CONFIG_TOPIC_DOLLAR,
	CONFIG_TOPIC_EMPTY_LEVEL,
};

struct config_enum_name {
	const char *name;
	int value;
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
};

static const char *const config_top_keys[] = {
	"mqtt", "inputs", "outputs", "interlocks", "state_dir", "discovery", NULL,
};
static const char *const config_discovery_keys[] = { "homeassistant", "prefix", "homie", NULL };
static const char *const config_mqtt_keys[] = {
	"brokers", "client_id", "username", "password_file", "protocol", "keepalive",
	"base_topic", "qos", "retain", "accept_retained_commands", "reconnect_min_ms",
	"reconnect_max_ms", "tls", "offline_events", "health_interval_s", NULL,
};
static const char *const config_broker_keys[] = { "host", "port", NULL };
static const char *const config_tls_keys[] = {
	"ca_file", "ca_path", "cert_file", "key_file", "key_password_file", "min_version",
	"insecure_skip_verify", NULL,
};
static const char *const config_pin_keys[] = {
	"name", "line", "chip", "offset", "bias", "active_low", "qos", "retain",
	"accept_retained", "payload", NULL,
};
static const char *const config_input_keys[] = {
	"debounce_ms", "mode", "double_press_ms", "long_press_ms", "publish_state", "bindings",
	"device_class", NULL,
};
static const char *const config_output_keys[] = {
	"drive", "power_on", "on_exit", "pulse_ms", "component", NULL,
};
static const char *const config_binding_keys[] = { "output", "action", "when", NULL };
static const char *const config_interlock_keys[] = { "outputs", "wait_ms", NULL };
static const char *const config_reserved_names[] = { "status", "health", NULL };

static const struct config_enum_name config_bias_names[] = {
	{ "pull-up", CONFIG_BIAS_PULL_UP },
	{ "pull-down", CONFIG_BIAS_PULL_DOWN },
	{ "disabled", CONFIG_BIAS_DISABLED },
	{ "as-is", CONFIG_BIAS_AS_IS },
	{ NULL, 0 },
};
static const struct config_enum_name config_drive_names[] = {
	{ "push-pull", CONFIG_DRIVE_PUSH_PULL },
	{ "open-drain", CONFIG_DRIVE_OPEN_DRAIN },
	{ "open-source", CONFIG_DRIVE_OPEN_SOURCE },
	{ NULL, 0 },
};
static const struct config_enum_name config_power_on_names[] = {
	{ "off", CONFIG_POWER_ON_OFF },
	{ "on", CONFIG_POWER_ON_ON },
	{ "restore", CONFIG_POWER_ON_RESTORE },
	{ NULL, 0 },
};
static const struct config_enum_name config_on_exit_names[] = {
	{ "keep", CONFIG_ON_EXIT_KEEP },
	{ "off", CONFIG_ON_EXIT_OFF },
	{ NULL, 0 },
};
static const struct config_enum_name config_mode_names[] = {
	{ "switch", CONFIG_INPUT_MODE_SWITCH },
	{ "button", CONFIG_INPUT_MODE_BUTTON },
	{ NULL, 0 },
};
static const struct config_enum_name config_action_names[] = {
	{ "toggle", CONFIG_BINDING_TOGGLE },
	{ "follow", CONFIG_BINDING_FOLLOW },
	{ "on", CONFIG_BINDING_ON },
	{ "off", CONFIG_BINDING_OFF },
	{ NULL, 0 },
};
static const struct config_enum_name config_when_names[] = {
	{ "always", CONFIG_BINDING_ALWAYS },
	{ "offline", CONFIG_BINDING_OFFLINE },
	{ NULL, 0 },
};
static const struct config_enum_name config_payload_names[] = {
	{ "plain", CONFIG_PAYLOAD_PLAIN },
	{ "json", CONFIG_PAYLOAD_JSON },
	{ NULL, 0 },
};
static const struct config_enum_name config_component_names[] = {
	{ "switch", CONFIG_COMPONENT_SWITCH },
	{ "light", CONFIG_COMPONENT_LIGHT },
	{ NULL, 0 },
};
static const struct config_enum_name config_protocol_names[] = {
	{ "v5", CONFIG_PROTOCOL_V5 },
	{ "v3.1.1", CONFIG_PROTOCOL_V311 },
	{ NULL, 0 },
};
static const struct config_enum_name config_tls_version_names[] = {
	{ "tlsv1.2", CONFIG_TLS_V1_2 },
	{ "tlsv1.3", CONFIG_TLS_V1_3 },
	{ NULL, 0 },
};

/* ---- strings ---------------------------------------------------------------------------- */

/* Decodes one UTF-8 sequence strictly (no overlongs, no surrogates, nothing above U+10FFFF).
 * Returns its length, or 0 when S does not start with a valid sequence. */
static size_t config_utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool config_codepoint_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Checks S as one topic level (LEVEL) or as a whole topic of several levels. */
static enum config_topic_problem config_topic_check(const char *s, bool level)
{
	const unsigned char *p;
	size_t len = strlen(s);
	uint32_t cp;
	size_t n;

	if (len == 0)
		return CONFIG_TOPIC_EMPTY;
	if (level && len > CONFIG_NAME_MAX)
		return CONFIG_TOPIC_TOO_LONG;
	for (p = (const unsigned char *)s; *p; p += n) {
		n = config_utf8_decode(p, &cp);
		if (n == 0)
			return CONFIG_TOPIC_UTF8;
	}
	if (strpbrk(s, "+#"))
		return CONFIG_TOPIC_WILDCARD;
	if (level && strchr(s, '/'))
		return CONFIG_TOPIC_SLASH;
	for (p = (const unsigned char *)s; *p; p += n) {
		n = config_utf8_decode(p, &cp);
		if (config_codepoint_is_control(cp))
			return CONFIG_TOPIC_CONTROL;
	}
	if (s[0] == '$')
		return CONFIG_TOPIC_DOLLAR;
	if (!level && (s[0] == '/' || s[len - 1] == '/' || strstr(s, "//")))
		return CONFIG_TOPIC_EMPTY_LEVEL;
	return CONFIG_TOPIC_OK;
}

bool config_topic_level_valid(const char *name)
{
	return name && config_topic_check(name, true) == CONFIG_TOPIC_OK;
}

/* Writes S in double quotes for a message: printable ASCII and valid non-control UTF-8 as they
 * are, '"' and '\' escaped, any other byte as \xNN; a long value is cut with "...". SIZE must be
 * at least 16. */
static void config_quote(char *buf, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0, n;
	uint32_t cp;

	buf[used++] = '"';
	while (*p) {
		char piece[8];
		size_t piece_len;

		n = config_utf8_decode(p, &cp);
		if (n > 1 && !config_codepoint_is_control(cp)) {
			memcpy(piece, p, n);
			piece_len = n;
		} else if (n == 1 && !config_codepoint_is_control(cp)) {
			piece_len = 0;
			if (*p == '"' || *p == '\\')
				piece[piece_len++] = '\\';
			piece[piece_len++] = (char)*p;
		} else {
			n = 1;
			piece_len = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
		}
		/* keep room for "...", the closing quote and the NUL */
		if (used + piece_len + 5 > size) {
			memcpy(buf + used, "...", 3);
			used += 3;
			break;
		}
		memcpy(buf + used, piece, piece_len);
		used += piece_len;
		p += n;
	}
	buf[used++] = '"';
	buf[used] = '\0';
}

/* Optimal string alignment distance, capped: anything above CAP returns CAP + 1. */
static size_t config_edit_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb] > cap ? cap + 1 : d[la][lb];
}

/* ---- errors ----------------------------------------------------------------------------- */

static int config_errors_add(struct config_errors *errors, const char *file, int line,
			     char *message)
{
	struct config_error *items;
	char *file_copy;

	file_copy = strdup(file);
	if (!file_copy)
		goto free_message;
	items = realloc(errors->items, (errors->n + 1) * sizeof(*items));
	if (!items)
		goto free_file;
	errors->items = items;
	items[errors->n++] = (struct config_error){ .file = file_copy, .line = line, .message = message };
	return 0;

free_file:
	free(file_copy);
free_message:
	free(message);
	return -ENOMEM;
}

static int config_loader_vreport(struct config_loader *ld, const char *file, int line,
				 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static int config_loader_vreport(struct config_loader *ld, const char *file, int line,
				 const char *fmt, va_list ap)
{
	char *message;

	if (vasprintf(&message, fmt, ap) < 0)
		return -ENOMEM;
	return config_errors_add(ld->errors, file, line, message);
}

/* Records one problem at FILE:LINE. Returns 0 or -ENOMEM. */
static int config_loader_report_at(struct config_loader *ld, const char *file, int line,
				   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int config_loader_report_at(struct config_loader *ld, const char *file, int line,
				   const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = config_loader_vreport(ld, file, line, fmt, ap);
	va_end(ap);
	return r;
}

/* Records one problem at WHERE (its file and line; the file itself, line 0, without a setting).
 * Returns 0 or -ENOMEM. */
static int config_loader_report(struct config_loader *ld, const config_setting_t *where,
				const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int config_loader_report(struct config_loader *ld, const config_setting_t *where,
				const char *fmt, ...)
{
	const char *file = ld->path;
	va_list ap;
	int line = 0, r;

	if (where) {
		line = (int)config_setting_source_line(where);
		if (config_setting_source_file(where))
			file = config_setting_source_file(where);
	}
	va_start(ap, fmt);
	r = config_loader_vreport(ld, file, line, fmt, ap);
	va_end(ap);
	return r;
}

/* Orders the errors of this run by line, keeping the order of errors on the same line. */
static void config_errors_sort(struct config_errors *errors, size_t first)
{
	for (size_t i = first + 1; i < errors->n; i++) {
		struct config_error e = errors->items[i];
		size_t j = i;

		while (j > first && errors->items[j - 1].line > e.line) {
			errors->items[j] = errors->items[j - 1];
			j--;
		}
		errors->items[j] = e;
	}
}

int config_error_format(const struct config_error *err, char *buf, size_t size)
{
	int n;

	if (!err || !buf || size == 0)
		return -EINVAL;
	if (err->line > 0)
		n = snprintf(buf, size, "%s:%d: %s", err->file, err->line, err->message);
	else
		n = snprintf(buf, size, "%s: %s", err->file, err->message);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENOSPC : 0;
}

void config_errors_clear(struct config_errors *errors)
{
	if (!errors)
		return;
	for (size_t i = 0; i < errors->n; i++) {
		free(errors->items[i].file);
		free(errors->items[i].message);
	}
	free(errors->items);
	errors->items = NULL;
	errors->n = 0;
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

static int config_key_bool(struct config_loader *ld, const config_setting_t *group, const char *ctx,
			   const char *key, bool *value)
{
	const config_setting_t *s = config_member(group, key);

	if (!s)
		return CONFIG_VALUE_ABSENT;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return config_result(config_loader_report(ld, s, "%s: %s must be true or false", ctx,
							  key),
				     CONFIG_VALUE_INVALID);
	*value = config_setting_get_bool(s);
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

static int config_key_enum(struct config_loader *ld, const config_setting_t *group, const char *ctx,
			   const char *key, const struct config_enum_name *names, int *value)
{
	const config_setting_t *s = config_member(group, key);
	char list[128] = "";
	size_t used = 0;

	if (!s)
		return CONFIG_VALUE_ABSENT;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		for (const struct config_enum_name *e = names; e->name; e++) {
			if (strcmp(e->name, config_setting_get_string(s)) == 0) {
				*value = e->value;
				return CONFIG_VALUE_SET;
			}
		}
	}
	for (const struct config_enum_name *e = names; e->name && used < sizeof(list); e++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s\"%s\"", used ? ", " : "",
				 e->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return config_result(config_loader_report(ld, s, "%s: %s must be one of %s", ctx, key, list),
			     CONFIG_VALUE_INVALID);
}

static bool config_key_listed(const char *const *keys, const char *key)
{
	for (; keys && *keys; keys++) {
		if (strcmp(*keys, key) == 0)
			return true;
	}
	return false;
}

/* How close KEY is to the known key CANDIDATE, smaller is closer; above 3: not close. Case-only
 * differences score 0; a small edit distance (1 for keys of up to 4 characters, else 2) scores
 * that distance; one key being the other plus a suffix ("debounce" for "debounce_ms") scores 3. */
static size_t config_key_closeness(const char *key, const char *candidate)
{
	size_t lk = strlen(key), lc = strlen(candidate);
	size_t cap = lk <= 4 ? 1 : 2, d;

	if (strcasecmp(key, candidate) == 0)
		return 0;
	d = config_edit_distance(key, candidate, cap);
	if (d <= cap)
		return d;
	if (lk >= 4 && lc >= 4 && strncmp(key, candidate, lk < lc ? lk : lc) == 0)
		return 3;
	return 4;
}

static const char *config_key_suggest(const char *const *keys, const char *key, const char *best,
				      size_t *best_closeness)
{
	for (; keys && *keys; keys++) {
		size_t c = config_key_closeness(key, *keys);

		if (c < *best_closeness) {
			*best_closeness = c;
			best = *keys;
		}
	}
	return best;
}

/* Reports every key of GROUP that is in neither KNOWN nor EXTRA. A key in OTHER (the keys of the
 * other pin direction) is reported with OTHER_NOTE. CTX NULL: the top level. */
static int config_check_keys(struct config_loader *ld, const config_setting_t *group,
			     const char *ctx, const char *const *known, const char *const *extra,
			     const char *const *other, const char *other_note)
{
	const char *prefix = ctx ? ctx : "", *colon = ctx ? ": " : "";
	int r;

	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned int)i);
		const char *key = config_setting_name(s), *hint;
		size_t closeness = 4;

		if (!key || config_key_listed(known, key) || config_key_listed(extra, key))
			continue;
		if (config_key_listed(other, key)) {
			r = config_loader_report(ld, s, "%s%sunknown key '%s' (%s)", prefix, colon, key,
						 other_note);
		} else {
			hint = config_key_suggest(known, key, NULL, &closeness);
			hint = config_key_suggest(extra, key, hint, &closeness);
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

/* ---- defaults from the hostname --------------------------------------------------------- */

/* The hostname up to its first '.', with every byte that is not printable ASCII or is '+', '#'
 * or '/' replaced by '_', so that it fits both a client id and a topic level. */
static void config_hostname_get(char *buf, size_t size)
{
	const char *fixed = getenv("GPIO2MQTT_HOSTNAME");
	char host[256];
	size_t i;

	/* A test hook (documented in gpio2mqtt(8)): golden --check -v outputs must not depend on
	 * the machine they run on. */
	if (fixed && fixed[0])
		snprintf(host, sizeof(host), "%s", fixed);
	else if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (!host[0])
		snprintf(host, sizeof(host), "unknown");
	for (i = 0; host[i] && i < CONFIG_HOST_MAX && i + 1 < size; i++) {
		unsigned char c = (unsigned char)host[i];

		buf[i] = (c > 0x20 && c < 0x7f && c != '+' && c != '#' && c != '/') ? (char)c : '_';
	}
	buf[i] = '\0';
}

/* ---- mqtt ------------------------------------------------------------------------------- */

static int config_parse_broker(struct config_loader *ld, const config_setting_t *g, unsigned int i)
{
	struct config_broker *b = &ld->cfg->mqtt.brokers[ld->cfg->mqtt.n_brokers];
	char ctx[CONFIG_CTX_MAX];
	const char *host;
	long long v;
	int r;

	snprintf(ctx, sizeof(ctx), "mqtt.brokers[%u]", i);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { host = \"...\"; port = 1883; }",
					    ctx);
	ld->cfg->mqtt.n_brokers++;
	b->port = 0; /* default set by config_parse_mqtt once TLS is known */
	b->source_line = (int)config_setting_source_line(g);

	r = config_check_keys(ld, g, ctx, config_broker_keys, NULL, NULL, NULL);
	if (r < 0)
		return r;

	r = config_key_string(ld, g, ctx, "host", true, &host);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_ABSENT) {
		r = config_loader_report(ld, g, "%s: host is missing", ctx);
	} else if (r == CONFIG_VALUE_SET) {
		bool clean = true;

		for (const unsigned char *p = (const unsigned char *)host; *p; p++)
			clean = clean && *p > 0x20 && *p != 0x7f;
		if (!clean)
			r = config_loader_report(ld, config_member(g, "host"),
						 "%s: host must not contain spaces or control characters",
						 ctx);
		else if (!(b->host = strdup(host)))
			r = -ENOMEM;
	}
	if (r < 0)
		return r;

	r = config_key_int(ld, g, ctx, "port", 1, 65535, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		b->port = (int)v;
	return 0;
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

static int config_parse_client_id(struct config_loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *s = config_member(mqtt, "client_id");
	const char *id;
	size_t len;
	int r;

	r = config_key_string(ld, mqtt, "mqtt", "client_id", true, &id);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	len = strlen(id);
	if (len > CONFIG_CLIENT_ID_MAX)
		return config_loader_report(ld, s, "mqtt: client_id must be at most %d characters (is %zu)",
					    CONFIG_CLIENT_ID_MAX, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c <= 0x20 || c >= 0x7f)
			return config_loader_report(ld, s, "mqtt: client_id must be printable ASCII "
							   "without spaces");
	}
	ld->cfg->mqtt.client_id = strdup(id);
	return ld->cfg->mqtt.client_id ? 0 : -ENOMEM;
}

static int config_parse_base_topic(struct config_loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *s = config_member(mqtt, "base_topic");
	char quoted[CONFIG_QUOTE_MAX];
	const char *topic;
	int r;

	r = config_key_string(ld, mqtt, "mqtt", "base_topic", true, &topic);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	config_quote(quoted, sizeof(quoted), topic);
	switch (config_topic_check(topic, false)) {
	case CONFIG_TOPIC_OK:
		break;
	case CONFIG_TOPIC_UTF8:
		return config_loader_report(ld, s, "mqtt: base_topic %s is not valid UTF-8", quoted);
	case CONFIG_TOPIC_WILDCARD:
		return config_loader_report(ld, s, "mqtt: base_topic %s must not contain '+' or '#' "
						   "(MQTT wildcards)", quoted);
	case CONFIG_TOPIC_CONTROL:
		return config_loader_report(ld, s, "mqtt: base_topic %s must not contain control "
						   "characters", quoted);
	case CONFIG_TOPIC_DOLLAR:
		return config_loader_report(ld, s, "mqtt: base_topic %s must not start with '$' "
						   "(reserved for broker topics)", quoted);
	case CONFIG_TOPIC_EMPTY_LEVEL:
	default:
		return config_loader_report(ld, s, "mqtt: base_topic %s must not have empty levels "
						   "(no leading or trailing '/', no '//')", quoted);
	}
	ld->cfg->mqtt.base_topic = strdup(topic);
	return ld->cfg->mqtt.base_topic ? 0 : -ENOMEM;
}

/* Reads the first line of PATH into *OUT (a secret: a password). Messages say "CTX: ... WHAT
 * PATH ..." and never contain anything read from the file. */
static int config_read_secret(struct config_loader *ld, const config_setting_t *where,
			      const char *ctx, const char *what, const char *path, char **out)
{
	char quoted[CONFIG_QUOTE_MAX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	int r = 0;

	config_quote(quoted, sizeof(quoted), path);
	fp = fopen(path, "re");
	if (!fp && errno == ENOMEM)
		return -ENOMEM;
	if (!fp)
		return config_loader_report(ld, where, "%s: cannot read %s %s: %s", ctx, what, quoted,
					    strerror(errno));
	errno = 0;
	len = getline(&line, &cap, fp);
	if (len < 0 && errno == ENOMEM) {
		r = -ENOMEM;
		goto free_line;
	}
	if (len < 0 && ferror(fp)) {
		r = config_loader_report(ld, where, "%s: cannot read %s %s: %s", ctx, what, quoted,
					 strerror(errno ? errno : EIO));
		goto free_line;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (len <= 0) {
		r = config_loader_report(ld, where, "%s: %s %s is empty (the password is its first "
						    "line)", ctx, what, quoted);
		goto free_line;
	}
	*out = line;
	line = NULL;

free_line:
	if (line) {
		explicit_bzero(line, cap);
		free(line);
	}
	fclose(fp);
	return r;
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

/* A file named by KEY in the mqtt.tls group must be readable (DIR: a directory) now, so that
 * --check catches a wrong path; its contents are checked by TLS at connect time. */
static int config_parse_tls_path(struct config_loader *ld, const config_setting_t *g,
				 const char *key, bool dir, char **out)
{
	const config_setting_t *s = config_member(g, key);
	char quoted[CONFIG_QUOTE_MAX];
	const char *value;
	struct stat st;
	int r;

	r = config_key_string(ld, g, "mqtt.tls", key, true, &value);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	config_quote(quoted, sizeof(quoted), value);
	if (stat(value, &st) < 0)
		r = config_loader_report(ld, s, "mqtt.tls: cannot read %s %s: %s", key, quoted,
					 strerror(errno));
	else if (dir && !S_ISDIR(st.st_mode))
		r = config_loader_report(ld, s, "mqtt.tls: %s %s is not a directory", key, quoted);
	else if (!dir && S_ISDIR(st.st_mode))
		r = config_loader_report(ld, s, "mqtt.tls: %s %s is a directory, not a file", key,
					 quoted);
	else if (access(value, R_OK | (dir ? X_OK : 0)) < 0)
		r = config_loader_report(ld, s, "mqtt.tls: cannot read %s %s: %s", key, quoted,
					 strerror(errno));
	else if (!(*out = strdup(value)))
		r = -ENOMEM;
	return r < 0 ? r : 0;
}

/* mqtt.tls = { ca_file; ca_path; cert_file; key_file; key_password_file; min_version;
 * insecure_skip_verify; }: present means TLS to every broker. */
static int config_parse_tls(struct config_loader *ld, const config_setting_t *mqtt)
{
	const config_setting_t *g = config_member(mqtt, "tls");
	struct config_tls *t = &ld->cfg->mqtt.tls;
	int r, e;

	if (!g)
		return 0;
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "mqtt: tls must be a group: tls = { ca_file = "
						   "\"...\"; };");
	t->enabled = true;
	r = config_check_keys(ld, g, "mqtt.tls", config_tls_keys, NULL, NULL, NULL);
	if (r < 0)
		return r;
	r = config_parse_tls_path(ld, g, "ca_file", false, &t->ca_file);
	if (r == 0)
		r = config_parse_tls_path(ld, g, "ca_path", true, &t->ca_path);
	if (r == 0)
		r = config_parse_tls_path(ld, g, "cert_file", false, &t->cert_file);
	if (r == 0)
		r = config_parse_tls_path(ld, g, "key_file", false, &t->key_file);
	if (r < 0)
		return r;
	if (config_member(g, "cert_file") && !config_member(g, "key_file"))
		r = config_loader_report(ld, config_member(g, "cert_file"),
					 "mqtt.tls: cert_file needs key_file");
	else if (config_member(g, "key_file") && !config_member(g, "cert_file"))
		r = config_loader_report(ld, config_member(g, "key_file"),
					 "mqtt.tls: key_file needs cert_file");
	if (r < 0)
		return r;
	if (config_member(g, "key_password_file")) {
		const char *value;

		r = config_key_string(ld, g, "mqtt.tls", "key_password_file", true, &value);
		if (r < 0)
			return r;
		if (r == CONFIG_VALUE_SET) {
			t->key_password_file = strdup(value);
			if (!t->key_password_file)
				return -ENOMEM;
			if (!config_member(g, "key_file"))
				r = config_loader_report(ld, config_member(g, "key_password_file"),
							 "mqtt.tls: key_password_file needs key_file");
			else
				r = config_read_secret(ld, config_member(g, "key_password_file"),
						       "mqtt.tls", "key_password_file",
						       t->key_password_file, &t->key_password);
			if (r < 0)
				return r;
		}
	}
	r = config_key_enum(ld, g, "mqtt.tls", "min_version", config_tls_version_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		t->min_version = (enum config_tls_version)e;
	r = config_key_bool(ld, g, "mqtt.tls", "insecure_skip_verify", &t->insecure_skip_verify);
	return r < 0 ? r : 0;
}

static int config_parse_credentials(struct config_loader *ld, const config_setting_t *mqtt)
{
	struct config_mqtt *m = &ld->cfg->mqtt;
	const char *value;
	int r, user;

	user = config_key_string(ld, mqtt, "mqtt", "username", true, &value);
	if (user < 0)
		return user;
	if (user == CONFIG_VALUE_SET && !(m->username = strdup(value)))
		return -ENOMEM;

	r = config_key_string(ld, mqtt, "mqtt", "password_file", true, &value);
	if (r == CONFIG_VALUE_ABSENT && user == CONFIG_VALUE_SET)
		return config_read_credential(ld, config_member(mqtt, "username"));
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	m->password_file = strdup(value);
	if (!m->password_file)
		return -ENOMEM;
	if (user == CONFIG_VALUE_ABSENT) {
		r = config_loader_report(ld, config_member(mqtt, "password_file"),
					 "mqtt: password_file needs username");
		if (r < 0)
			return r;
	}
	return config_read_secret(ld, config_member(mqtt, "password_file"), "mqtt", "password_file",
				  m->password_file, &m->password);
}

static int config_parse_mqtt(struct config_loader *ld, const config_setting_t *root)
{
	const config_setting_t *g = config_member(root, "mqtt");
	struct config_mqtt *m = &ld->cfg->mqtt;
	char range[64];
	bool max_set = false;
	long long v;
	int r, e;

	if (g && !config_setting_is_group(g)) {
		r = config_loader_report(ld, g, "mqtt must be a group: mqtt = { brokers = ( { host = "
						"\"...\"; } ); ... };");
		if (r < 0)
			return r;
		g = NULL;
	}
	if (g) {
		r = config_check_keys(ld, g, "mqtt", config_mqtt_keys, NULL, NULL, NULL);
		if (r < 0)
			return r;
	}

	r = config_parse_tls(ld, g);
	if (r < 0)
		return r;
	r = config_parse_brokers(ld, g);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_brokers; i++) {
		if (m->brokers[i].port == 0)
			m->brokers[i].port = m->tls.enabled ? 8883 : 1883;
	}
	r = config_parse_client_id(ld, g);
	if (r < 0)
		return r;
	r = config_parse_credentials(ld, g);
	if (r < 0)
		return r;
	r = config_key_enum(ld, g, "mqtt", "protocol", config_protocol_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->protocol = (enum config_protocol)e;
	r = config_key_int(ld, g, "mqtt", "keepalive", 5, 3600, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->keepalive = (int)v;
	r = config_parse_base_topic(ld, g);
	if (r < 0)
		return r;
	r = config_key_int(ld, g, "mqtt", "qos", 0, 2, "0, 1 or 2", &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->qos = (int)v;
	r = config_key_bool(ld, g, "mqtt", "retain", &m->retain);
	if (r < 0)
		return r;
	r = config_key_bool(ld, g, "mqtt", "accept_retained_commands", &m->accept_retained_commands);
	if (r < 0)
		return r;
	r = config_key_int(ld, g, "mqtt", "reconnect_min_ms", 100, 60000, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->reconnect_min_ms = (int)v;
	snprintf(range, sizeof(range), "between reconnect_min_ms (%d) and 600000", m->reconnect_min_ms);
	r = config_key_int(ld, g, "mqtt", "reconnect_max_ms", m->reconnect_min_ms, 600000, range, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET) {
		m->reconnect_max_ms = (int)v;
		max_set = true;
	}
	/* only the minimum given: the default cap must not be below it */
	if (!max_set && m->reconnect_max_ms < m->reconnect_min_ms)
		m->reconnect_max_ms = m->reconnect_min_ms;
	r = config_key_int(ld, g, "mqtt", "offline_events", 0, 100000, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->offline_events = (int)v;
	r = config_key_int(ld, g, "mqtt", "health_interval_s", 0, 86400,
			   "between 0 (no periodic health) and 86400", &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		m->health_interval_s = (int)v;
	return 0;
}

/* ---- pins ------------------------------------------------------------------------------- */

static const char *config_direction_word(enum config_direction direction)
{
	return direction == CONFIG_DIRECTION_INPUT ? "input" : "output";
}

/* Checks the pin's name; on success points CTX at "input 'name'". */
static int config_parse_pin_name(struct config_loader *ld, const config_setting_t *g,
				 struct config_pin *pin, char *ctx, size_t ctx_size)
{
	const config_setting_t *s = config_member(g, "name");
	size_t self = ld->cfg->n_pins - 1;
	struct config_pin_seen *seen = &ld->seen[self];
	char quoted[CONFIG_QUOTE_MAX];
	const char *name;
	int r;

	r = config_key_string(ld, g, ctx, "name", false, &name);
	if (r == CONFIG_VALUE_ABSENT)
		return config_loader_report(ld, g, "%s: name is missing", ctx);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	config_quote(quoted, sizeof(quoted), name);
	switch (config_topic_check(name, true)) {
	case CONFIG_TOPIC_OK:
		break;
	case CONFIG_TOPIC_EMPTY:
		return config_loader_report(ld, s, "%s: name must not be empty", ctx);
	case CONFIG_TOPIC_TOO_LONG:
		return config_loader_report(ld, s, "%s: name must be at most %d bytes (is %zu)", ctx,
					    CONFIG_NAME_MAX, strlen(name));
	case CONFIG_TOPIC_UTF8:
		return config_loader_report(ld, s, "%s: name %s is not valid UTF-8", ctx, quoted);
	case CONFIG_TOPIC_WILDCARD:
		return config_loader_report(ld, s, "%s: name %s must not contain '+' or '#' (MQTT "
						   "wildcards)", ctx, quoted);
	case CONFIG_TOPIC_SLASH:
		return config_loader_report(ld, s, "%s: name %s must not contain '/' (it is one topic "
						   "level)", ctx, quoted);
	case CONFIG_TOPIC_CONTROL:
		return config_loader_report(ld, s, "%s: name %s must not contain control characters",
					    ctx, quoted);
	case CONFIG_TOPIC_DOLLAR:
	default:
		return config_loader_report(ld, s, "%s: name %s must not start with '$' (reserved for "
						   "broker topics)", ctx, quoted);
	}
	if (config_key_listed(config_reserved_names, name))
		return config_loader_report(ld, s, "%s: name %s is reserved (it would collide with "
						   "<base>/%s)", ctx, quoted, name);

	pin->name = strdup(name);
	if (!pin->name)
		return -ENOMEM;
	snprintf(ctx, ctx_size, "%s '%s'", config_direction_word(pin->direction), name);
	for (size_t i = 0; i < self; i++) {
		const struct config_pin *other = &ld->cfg->pins[i];

		if (ld->seen[i].name_line && strcmp(other->name, name) == 0)
			return config_loader_report(ld, s, "%s: name already used by %s at line %d", ctx,
						    config_direction_word(other->direction),
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
	char quoted[CONFIG_QUOTE_MAX];
	long long offset = 0;
	bool valid = true;
	int r;

	r = config_key_string(ld, g, ctx, "line", true, &line);
	if (r < 0)
		return r;
	valid = valid && r != CONFIG_VALUE_INVALID;
	r = config_key_string(ld, g, ctx, "chip", true, &chip);
	if (r < 0)
		return r;
	valid = valid && r != CONFIG_VALUE_INVALID;
	r = config_key_int(ld, g, ctx, "offset", 0, CONFIG_OFFSET_MAX, NULL, &offset);
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
		const struct config_line *other = &ld->cfg->pins[i].line;

		if (!ld->seen[i].line_line)
			continue;
		if (pin->line.name && other->name && strcmp(pin->line.name, other->name) == 0) {
			config_quote(quoted, sizeof(quoted), pin->line.name);
			return config_loader_report(ld, at, "%s: line %s already used by %s (line %d)",
						    ctx, quoted, ld->seen[i].ctx, ld->seen[i].line_line);
		}
		if (pin->line.chip && other->chip && strcmp(pin->line.chip, other->chip) == 0 &&
		    pin->line.offset == other->offset) {
			config_quote(quoted, sizeof(quoted), pin->line.chip);
			return config_loader_report(ld, at, "%s: chip %s offset %u already used by %s "
							    "(line %d)", ctx, quoted, pin->line.offset,
						    ld->seen[i].ctx, ld->seen[i].line_line);
		}
	}
	seen->line_line = (int)config_setting_source_line(at);
	return 0;
}

static int config_parse_binding(struct config_loader *ld, const config_setting_t *g,
				struct config_pin *pin, const char *ctx, unsigned int index)
{
	struct config_binding *b = &pin->bindings[pin->n_bindings];
	struct config_binding_pending *grown;
	const config_setting_t *output;
	char bctx[CONFIG_CTX_MAX + 32];
	const char *name;
	int r, e;

	snprintf(bctx, sizeof(bctx), "%s: bindings[%u]", ctx, index);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { output = \"...\"; action = "
						   "\"toggle\"; }", bctx);
	r = config_check_keys(ld, g, bctx, config_binding_keys, NULL, NULL, NULL);
	if (r < 0)
		return r;
	*b = (struct config_binding){ .action = CONFIG_BINDING_TOGGLE, .when = CONFIG_BINDING_ALWAYS };
	r = config_key_enum(ld, g, bctx, "action", config_action_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		b->action = (enum config_binding_action)e;
	r = config_key_enum(ld, g, bctx, "when", config_when_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		b->when = (enum config_binding_when)e;
	r = config_key_string(ld, g, bctx, "output", true, &name);
	if (r == CONFIG_VALUE_ABSENT)
		return config_loader_report(ld, g, "%s: output is missing", bctx);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	output = config_member(g, "output");
	grown = realloc(ld->pending, (ld->n_pending + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ld->pending = grown;
	ld->pending[ld->n_pending++] = (struct config_binding_pending){
		.input = ld->cfg->n_pins - 1,
		.binding = pin->n_bindings,
		.output = output,
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

/* Home Assistant's binary_sensor device classes are lowercase words joined by '_' ("door",
 * "garage_door"); the list grows with Home Assistant, so only the form is checked. */
static int config_parse_device_class(struct config_loader *ld, const config_setting_t *g,
				     struct config_pin *pin, const char *ctx)
{
	char quoted[CONFIG_QUOTE_MAX];
	const char *value;
	size_t len;
	int r;

	r = config_key_string(ld, g, ctx, "device_class", true, &value);
	if (r != CONFIG_VALUE_SET)
		return r < 0 ? r : 0;
	len = strlen(value);
	if (len > 32 || strspn(value, "abcdefghijklmnopqrstuvwxyz_") != len) {
		config_quote(quoted, sizeof(quoted), value);
		return config_loader_report(ld, config_member(g, "device_class"),
					    "%s: device_class %s must be a Home Assistant binary "
					    "sensor class such as \"door\", \"window\" or \"motion\" "
					    "(lowercase letters and '_')", ctx, quoted);
	}
	pin->device_class = strdup(value);
	return pin->device_class ? 0 : -ENOMEM;
}

static int config_parse_input(struct config_loader *ld, const config_setting_t *g,
			      struct config_pin *pin, const char *ctx)
{
	long long v;
	int r, e;

	r = config_key_int(ld, g, ctx, "debounce_ms", 0, 10000, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->debounce_ms = (unsigned int)v;
	r = config_key_enum(ld, g, ctx, "mode", config_mode_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->mode = (enum config_input_mode)e;
	pin->publish_state = pin->mode == CONFIG_INPUT_MODE_SWITCH;
	r = config_key_bool(ld, g, ctx, "publish_state", &pin->publish_state);
	if (r < 0)
		return r;
	r = config_parse_device_class(ld, g, pin, ctx);
	if (r < 0)
		return r;

	if (pin->mode == CONFIG_INPUT_MODE_BUTTON) {
		r = config_key_int(ld, g, ctx, "double_press_ms", 0, 5000, NULL, &v);
		if (r < 0)
			return r;
		if (r == CONFIG_VALUE_SET)
			pin->double_press_ms = (unsigned int)v;
		r = config_key_int(ld, g, ctx, "long_press_ms", 100, 60000, NULL, &v);
		if (r < 0)
			return r;
		if (r == CONFIG_VALUE_SET)
			pin->long_press_ms = (unsigned int)v;
		/* Presses shorter than the debounce period never reach us. */
		if (pin->long_press_ms <= pin->debounce_ms) {
			r = config_loader_report(ld, g, "%s: long_press_ms (%u) must be longer than "
							"debounce_ms (%u)", ctx, pin->long_press_ms,
						 pin->debounce_ms);
			if (r < 0)
				return r;
		}
		if (pin->double_press_ms && pin->double_press_ms <= pin->debounce_ms) {
			r = config_loader_report(ld, g, "%s: double_press_ms (%u) must be longer than "
							"debounce_ms (%u), or 0 to turn double presses "
							"off", ctx, pin->double_press_ms,
						 pin->debounce_ms);
			if (r < 0)
				return r;
		}
	} else {
		static const char *const button_keys[] = { "double_press_ms", "long_press_ms" };

		for (size_t i = 0; i < sizeof(button_keys) / sizeof(button_keys[0]); i++) {
			const config_setting_t *s = config_member(g, button_keys[i]);

			if (!s)
				continue;
			r = config_loader_report(ld, s, "%s: %s applies only to mode = \"button\"",
						 ctx, button_keys[i]);
			if (r < 0)
				return r;
		}
	}
	return config_parse_bindings(ld, g, pin, ctx);
}

static int config_parse_output(struct config_loader *ld, const config_setting_t *g,
			       struct config_pin *pin, const char *ctx)
{
	long long v;
	int r, e;

	r = config_key_enum(ld, g, ctx, "drive", config_drive_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->drive = (enum config_drive)e;
	r = config_key_enum(ld, g, ctx, "power_on", config_power_on_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->power_on = (enum config_power_on)e;
	pin->initial = pin->power_on == CONFIG_POWER_ON_ON;
	r = config_key_enum(ld, g, ctx, "on_exit", config_on_exit_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->on_exit = (enum config_on_exit)e;
	r = config_key_int(ld, g, ctx, "pulse_ms", 0, 86400000, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->pulse_ms = (unsigned int)v;
	r = config_key_enum(ld, g, ctx, "component", config_component_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->component = (enum config_component)e;
	if (pin->pulse_ms && pin->power_on != CONFIG_POWER_ON_OFF)
		return config_loader_report(ld, config_member(g, "pulse_ms"),
					    "%s: pulse_ms cannot be combined with power_on = \"%s\" "
					    "(a pulse output starts OFF)", ctx,
					    pin->power_on == CONFIG_POWER_ON_ON ? "on" : "restore");
	return 0;
}

static int config_parse_pin(struct config_loader *ld, const config_setting_t *g,
			    enum config_direction direction, unsigned int index)
{
	struct config_pin *pin = &ld->cfg->pins[ld->cfg->n_pins];
	struct config_pin_seen *seen = &ld->seen[ld->cfg->n_pins];
	const struct config_mqtt *m = &ld->cfg->mqtt;
	char ctx[CONFIG_CTX_MAX];
	long long v;
	int r, e;

	snprintf(ctx, sizeof(ctx), "%s #%u", config_direction_word(direction), index + 1);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { name = \"...\"; line = "
						   "\"...\"; }", ctx);

	*pin = (struct config_pin){
		.direction = direction,
		.source_line = (int)config_setting_source_line(g),
		.bias = CONFIG_BIAS_AS_IS,
		.drive = CONFIG_DRIVE_PUSH_PULL,
		.qos = m->qos,
		.retain = m->retain,
		.accept_retained = m->accept_retained_commands,
		.double_press_ms = 400,
		.long_press_ms = 800,
		.publish_state = true,
		.interlock = CONFIG_INTERLOCK_NONE,
	};
	*seen = (struct config_pin_seen){ 0 };
	/* counted before it is complete, so that config_free() frees whatever it holds */
	ld->cfg->n_pins++;
	if (direction == CONFIG_DIRECTION_INPUT)
		ld->cfg->n_inputs++;
	else
		ld->cfg->n_outputs++;

	r = config_parse_pin_name(ld, g, pin, ctx, sizeof(ctx));
	if (r < 0)
		return r;
	snprintf(seen->ctx, sizeof(seen->ctx), "%s", ctx);
	if (direction == CONFIG_DIRECTION_INPUT)
		r = config_check_keys(ld, g, ctx, config_pin_keys, config_input_keys,
				      config_output_keys, "only outputs have it");
	else
		r = config_check_keys(ld, g, ctx, config_pin_keys, config_output_keys,
				      config_input_keys, "only inputs have it");
	if (r < 0)
		return r;
	r = config_parse_pin_line(ld, g, pin, ctx);
	if (r < 0)
		return r;

	r = config_key_enum(ld, g, ctx, "bias", config_bias_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->bias = (enum config_bias)e;
	r = config_key_bool(ld, g, ctx, "active_low", &pin->active_low);
	if (r < 0)
		return r;
	if (direction == CONFIG_DIRECTION_INPUT)
		r = config_parse_input(ld, g, pin, ctx);
	else
		r = config_parse_output(ld, g, pin, ctx);
	if (r < 0)
		return r;
	r = config_key_bool(ld, g, ctx, "accept_retained", &pin->accept_retained);
	if (r < 0)
		return r;
	r = config_key_enum(ld, g, ctx, "payload", config_payload_names, &e);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->payload = (enum config_payload)e;
	r = config_key_int(ld, g, ctx, "qos", 0, 2, "0, 1 or 2", &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		pin->qos = (int)v;
	r = config_key_bool(ld, g, ctx, "retain", &pin->retain);
	return r < 0 ? r : 0;
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

static int config_parse_interlock(struct config_loader *ld, const config_setting_t *g,
				  unsigned int index)
{
	struct config_interlock *il = &ld->cfg->interlocks[ld->cfg->n_interlocks];
	const config_setting_t *outputs;
	unsigned int n_on = 0;
	char ctx[32];
	long long v;
	int r, n;

	snprintf(ctx, sizeof(ctx), "interlocks[%u]", index);
	if (!config_setting_is_group(g))
		return config_loader_report(ld, g, "%s must be a group: { outputs = [ \"a\", \"b\" ]; "
						   "}", ctx);
	r = config_check_keys(ld, g, ctx, config_interlock_keys, NULL, NULL, NULL);
	if (r < 0)
		return r;
	*il = (struct config_interlock){
		.wait_ms = 500,
		.source_line = (int)config_setting_source_line(g),
	};
	ld->cfg->n_interlocks++;
	r = config_key_int(ld, g, ctx, "wait_ms", 0, 60000, NULL, &v);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET)
		il->wait_ms = (unsigned int)v;

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

static int config_parse_state_dir(struct config_loader *ld, const config_setting_t *root)
{
	const char *dir = "/var/lib/gpio2mqtt";
	int r;

	r = config_key_string(ld, root, "top level", "state_dir", true, &dir);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET && dir[0] != '/')
		return config_loader_report(ld, config_member(root, "state_dir"),
					    "state_dir must be an absolute path");
	ld->cfg->state_dir = strdup(dir);
	return ld->cfg->state_dir ? 0 : -ENOMEM;
}

static int config_parse_discovery(struct config_loader *ld, const config_setting_t *root)
{
	const config_setting_t *g = config_member(root, "discovery");
	struct config_discovery *dc = &ld->cfg->discovery;
	const char *prefix = "homeassistant";
	char quoted[CONFIG_QUOTE_MAX];
	int r;

	if (g && !config_setting_is_group(g)) {
		r = config_loader_report(ld, g, "discovery must be a group: discovery = { "
						"homeassistant = true; };");
		if (r < 0)
			return r;
		g = NULL;
	}
	if (g) {
		r = config_check_keys(ld, g, "discovery", config_discovery_keys, NULL, NULL, NULL);
		if (r < 0)
			return r;
	}
	r = config_key_bool(ld, g, "discovery", "homeassistant", &dc->homeassistant);
	if (r < 0)
		return r;
	r = config_key_bool(ld, g, "discovery", "homie", &dc->homie);
	if (r < 0)
		return r;
	r = config_key_string(ld, g, "discovery", "prefix", true, &prefix);
	if (r < 0)
		return r;
	if (r == CONFIG_VALUE_SET && config_topic_check(prefix, false) != CONFIG_TOPIC_OK) {
		config_quote(quoted, sizeof(quoted), prefix);
		return config_loader_report(ld, config_member(g, "prefix"),
					    "discovery: prefix %s must be a valid topic: UTF-8, no "
					    "'+' or '#', no control characters, not starting with "
					    "'$', no empty levels", quoted);
	}
	dc->prefix = strdup(prefix);
	return dc->prefix ? 0 : -ENOMEM;
}

/* ---- loading ---------------------------------------------------------------------------- */

static int config_defaults_finish(struct config *cfg)
{
	char host[CONFIG_HOST_MAX + 1];

	config_hostname_get(host, sizeof(host));
	if (!cfg->mqtt.client_id && asprintf(&cfg->mqtt.client_id, "gpio2mqtt-%s", host) < 0) {
		cfg->mqtt.client_id = NULL;
		return -ENOMEM;
	}
	if (!cfg->mqtt.base_topic && asprintf(&cfg->mqtt.base_topic, "gpio2mqtt/%s", host) < 0) {
		cfg->mqtt.base_topic = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int config_parse(struct config_loader *ld, const config_setting_t *root)
{
	const config_setting_t *inputs, *outputs;
	bool bad_list = false;
	size_t n;
	int r;

	r = config_check_keys(ld, root, NULL, config_top_keys, NULL, NULL, NULL);
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
	n = (inputs ? (size_t)config_setting_length(inputs) : 0) +
	    (outputs ? (size_t)config_setting_length(outputs) : 0);
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
	r = config_bindings_resolve(ld);
	if (r < 0)
		return r;
	r = config_parse_interlocks(ld, root);
	if (r < 0)
		return r;
	r = config_parse_discovery(ld, root);
	if (r < 0)
		return r;
	return config_parse_state_dir(ld, root);
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
	cfg->mqtt.protocol = CONFIG_PROTOCOL_V5;
	cfg->mqtt.keepalive = 60;
	cfg->mqtt.qos = 1;
	cfg->mqtt.retain = true;
	cfg->mqtt.accept_retained_commands = false;
	cfg->mqtt.reconnect_min_ms = 500;
	cfg->mqtt.reconnect_max_ms = 30000;
	cfg->mqtt.tls.min_version = CONFIG_TLS_V1_2;
	cfg->mqtt.offline_events = 100;
	cfg->mqtt.health_interval_s = 60;
	cfg->discovery.homeassistant = true;
	return cfg;
}

/* Reads PATH into LC. Returns 0, -EINVAL when the file cannot be opened or parsed (reported),
 * or -ENOMEM. */
static int config_file_read(struct config_loader *ld, config_t *lc)
{
	struct stat st;
	FILE *fp;
	int r;

	fp = fopen(ld->path, "re");
	if (!fp && errno == ENOMEM)
		return -ENOMEM;
	if (!fp) {
		r = config_loader_report_at(ld, ld->path, 0, "cannot open: %s", strerror(errno));
		return r < 0 ? r : -EINVAL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		r = config_loader_report_at(ld, ld->path, 0, "cannot open: %s", strerror(EISDIR));
		goto close_file;
	}
	if (!config_read(lc, fp)) {
		if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
			r = config_loader_report_at(ld, ld->path, 0, "cannot read: %s",
						    config_error_text(lc) ? config_error_text(lc)
									  : strerror(EIO));
		else
			r = config_loader_report_at(ld,
						    config_error_file(lc) ? config_error_file(lc)
									  : ld->path,
						    config_error_line(lc), "%s",
						    config_error_text(lc) ? config_error_text(lc)
									  : "syntax error");
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

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->mqtt.n_brokers; i++)
		free(cfg->mqtt.brokers[i].host);
	free(cfg->mqtt.brokers);
	free(cfg->mqtt.client_id);
	free(cfg->mqtt.username);
	free(cfg->mqtt.password_file);
	if (cfg->mqtt.password) {
		explicit_bzero(cfg->mqtt.password, strlen(cfg->mqtt.password));
		free(cfg->mqtt.password);
	}
	free(cfg->mqtt.base_topic);
	free(cfg->mqtt.tls.ca_file);
	free(cfg->mqtt.tls.ca_path);
	free(cfg->mqtt.tls.cert_file);
	free(cfg->mqtt.tls.key_file);
	free(cfg->mqtt.tls.key_password_file);
	if (cfg->mqtt.tls.key_password) {
		explicit_bzero(cfg->mqtt.tls.key_password, strlen(cfg->mqtt.tls.key_password));
		free(cfg->mqtt.tls.key_password);
	}
	for (size_t i = 0; i < cfg->n_pins; i++) {
		free(cfg->pins[i].name);
		free(cfg->pins[i].line.name);
		free(cfg->pins[i].line.chip);
		free(cfg->pins[i].bindings);
		free(cfg->pins[i].device_class);
	}
	free(cfg->pins);
	for (size_t i = 0; i < cfg->n_interlocks; i++)
		free(cfg->interlocks[i].outputs);
	free(cfg->interlocks);
	free(cfg->state_dir);
	free(cfg->discovery.prefix);
	free(cfg->path);
	free(cfg);
}

/* ---- presenting ------------------------------------------------------------------------- */

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

static const char *config_enum_to_string(const struct config_enum_name *names, int value)
{
	for (; names->name; names++) {
		if (names->value == value)
			return names->name;
	}
	return "?";
}

const char *config_bias_to_string(enum config_bias bias)
{
	return config_enum_to_string(config_bias_names, (int)bias);
}

const char *config_drive_to_string(enum config_drive drive)
{
	return config_enum_to_string(config_drive_names, (int)drive);
}

/* ---- the resolved configuration (--check -v) -------------------------------------------- */

/* A string as a libconfig literal: '"' and '\' escaped, other bytes below 0x20 and 0x7f as
 * \xNN. NULL (a key that is not set) prints as "" with a comment, so every key always appears. */
static void config_dump_literal(FILE *out, const char *value)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void config_dump_string(FILE *out, const char *indent, const char *key, const char *value)
{
	fprintf(out, "%s%s = ", indent, key);
	config_dump_literal(out, value);
	fprintf(out, ";%s\n", value ? "" : " # not set");
}

static void config_dump_secret(FILE *out, const char *indent, const char *key, const char *value)
{
	if (value)
		fprintf(out, "%s%s = \"<hidden>\";\n", indent, key);
	else
		config_dump_string(out, indent, key, NULL);
}

static void config_dump_bool(FILE *out, const char *indent, const char *key, bool value)
{
	fprintf(out, "%s%s = %s;\n", indent, key, value ? "true" : "false");
}

static void config_dump_enum(FILE *out, const char *indent, const char *key,
			     const struct config_enum_name *names, int value)
{
	fprintf(out, "%s%s = \"%s\";\n", indent, key, config_enum_to_string(names, value));
}

static void config_dump_mqtt(const struct config_mqtt *m, FILE *out)
{
	const char *in = "  ";

	fprintf(out, "mqtt = {\n  brokers = (\n");
	for (size_t i = 0; i < m->n_brokers; i++) {
		fprintf(out, "    {\n");
		config_dump_string(out, "      ", "host", m->brokers[i].host);
		fprintf(out, "      port = %d;\n    }%s\n", m->brokers[i].port,
			i + 1 < m->n_brokers ? "," : "");
	}
	fprintf(out, "  );\n");
	config_dump_string(out, in, "client_id", m->client_id);
	config_dump_string(out, in, "username", m->username);
	config_dump_string(out, in, "password_file", m->password_file);
	config_dump_secret(out, "  # ", "password", m->password);
	config_dump_bool(out, "  # ", "password_from_credential", m->password_from_credential);
	config_dump_enum(out, in, "protocol", config_protocol_names, (int)m->protocol);
	fprintf(out, "  keepalive = %d;\n", m->keepalive);
	config_dump_string(out, in, "base_topic", m->base_topic);
	fprintf(out, "  qos = %d;\n", m->qos);
	config_dump_bool(out, in, "retain", m->retain);
	config_dump_bool(out, in, "accept_retained_commands", m->accept_retained_commands);
	fprintf(out, "  reconnect_min_ms = %d;\n  reconnect_max_ms = %d;\n", m->reconnect_min_ms,
		m->reconnect_max_ms);
	fprintf(out, "  offline_events = %d;\n", m->offline_events);
	fprintf(out, "  health_interval_s = %d;\n", m->health_interval_s);
	if (!m->tls.enabled) {
		fprintf(out, "  # tls: not set (plain MQTT)\n};\n");
		return;
	}
	fprintf(out, "  tls = {\n");
	config_dump_string(out, "    ", "ca_file", m->tls.ca_file);
	config_dump_string(out, "    ", "ca_path", m->tls.ca_path);
	config_dump_string(out, "    ", "cert_file", m->tls.cert_file);
	config_dump_string(out, "    ", "key_file", m->tls.key_file);
	config_dump_string(out, "    ", "key_password_file", m->tls.key_password_file);
	config_dump_secret(out, "    # ", "key_password", m->tls.key_password);
	config_dump_enum(out, "    ", "min_version", config_tls_version_names,
			 (int)m->tls.min_version);
	config_dump_bool(out, "    ", "insecure_skip_verify", m->tls.insecure_skip_verify);
	fprintf(out, "  };\n};\n");
}

static void config_dump_pin(const struct config *cfg, const struct config_pin *p, FILE *out)
{
	const char *in = "    ";

	config_dump_string(out, in, "name", p->name);
	if (p->line.chip) {
		config_dump_string(out, in, "chip", p->line.chip);
		fprintf(out, "    offset = %u;\n", p->line.offset);
	} else {
		config_dump_string(out, in, "line", p->line.name);
	}
	config_dump_enum(out, in, "bias", config_bias_names, (int)p->bias);
	config_dump_bool(out, in, "active_low", p->active_low);
	if (p->direction == CONFIG_DIRECTION_INPUT) {
		fprintf(out, "    debounce_ms = %u;\n", p->debounce_ms);
		config_dump_enum(out, in, "mode", config_mode_names, (int)p->mode);
		fprintf(out, "    double_press_ms = %u;\n    long_press_ms = %u;\n",
			p->double_press_ms, p->long_press_ms);
		config_dump_bool(out, in, "publish_state", p->publish_state);
		config_dump_string(out, in, "device_class", p->device_class);
		fprintf(out, "    bindings = (");
		for (size_t i = 0; i < p->n_bindings; i++) {
			const struct config_binding *b = &p->bindings[i];

			fprintf(out, "%s\n      { output = ", i ? "," : "");
			config_dump_literal(out, cfg->pins[b->output].name);
			fprintf(out, "; action = \"%s\"; when = \"%s\"; }",
				config_enum_to_string(config_action_names, (int)b->action),
				config_enum_to_string(config_when_names, (int)b->when));
		}
		fprintf(out, "%s);\n", p->n_bindings ? "\n    " : " ");
	} else {
		config_dump_enum(out, in, "drive", config_drive_names, (int)p->drive);
		config_dump_enum(out, in, "power_on", config_power_on_names, (int)p->power_on);
		config_dump_enum(out, in, "on_exit", config_on_exit_names, (int)p->on_exit);
		fprintf(out, "    pulse_ms = %u;\n", p->pulse_ms);
		config_dump_enum(out, in, "component", config_component_names, (int)p->component);
	}
	config_dump_enum(out, in, "payload", config_payload_names, (int)p->payload);
	fprintf(out, "    qos = %d;\n", p->qos);
	config_dump_bool(out, in, "retain", p->retain);
	config_dump_bool(out, in, "accept_retained", p->accept_retained);
}

static void config_dump_pins(const struct config *cfg, enum config_direction direction,
			     const char *key, FILE *out)
{
	bool first = true;

	fprintf(out, "%s = (", key);
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (cfg->pins[i].direction != direction)
			continue;
		fprintf(out, "%s\n  {\n", first ? "" : ",");
		config_dump_pin(cfg, &cfg->pins[i], out);
		fprintf(out, "  }");
		first = false;
	}
	fprintf(out, "%s);\n", first ? " " : "\n");
}

void config_dump(const struct config *cfg, FILE *out)
{
	fprintf(out, "# gpio2mqtt: the resolved configuration (every default filled in)\n");
	config_dump_mqtt(&cfg->mqtt, out);
	config_dump_pins(cfg, CONFIG_DIRECTION_INPUT, "inputs", out);
	config_dump_pins(cfg, CONFIG_DIRECTION_OUTPUT, "outputs", out);
	fprintf(out, "interlocks = (");
	for (size_t i = 0; i < cfg->n_interlocks; i++) {
		const struct config_interlock *il = &cfg->interlocks[i];

		fprintf(out, "%s\n  { outputs = (", i ? "," : "");
		for (size_t j = 0; j < il->n_outputs; j++) {
			fprintf(out, "%s", j ? ", " : " ");
			config_dump_literal(out, cfg->pins[il->outputs[j]].name);
		}
		fprintf(out, " ); wait_ms = %u; }", il->wait_ms);
	}
	fprintf(out, "%s);\n", cfg->n_interlocks ? "\n" : " ");
	config_dump_string(out, "", "state_dir", cfg->state_dir);
	fprintf(out, "discovery = {\n");
	config_dump_bool(out, "  ", "homeassistant", cfg->discovery.homeassistant);
	config_dump_string(out, "  ", "prefix", cfg->discovery.prefix);
	config_dump_bool(out, "  ", "homie", cfg->discovery.homie);
	fprintf(out, "};\n");
}

/* ---- comparing (reload) ----------------------------------------------------------------- */

static bool config_str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool config_pin_line_equal(const struct config_pin *a, const struct config_pin *b)
{
	if (a->line.chip || b->line.chip)
		return config_str_equal(a->line.chip, b->line.chip) &&
		       a->line.offset == b->line.offset;
	return config_str_equal(a->line.name, b->line.name);
}

bool config_pin_request_equal(const struct config_pin *a, const struct config_pin *b)
{
	if (!config_pin_line_equal(a, b) || a->direction != b->direction || a->bias != b->bias ||
	    a->active_low != b->active_low)
		return false;
	if (a->direction == CONFIG_DIRECTION_INPUT)
		return a->debounce_ms == b->debounce_ms;
	return a->drive == b->drive;
}

bool config_mqtt_connection_equal(const struct config_mqtt *a, const struct config_mqtt *b)
{
	const struct config_tls *s = &a->tls, *t = &b->tls;

	if (a->n_brokers != b->n_brokers)
		return false;
	for (size_t i = 0; i < a->n_brokers; i++) {
		if (!config_str_equal(a->brokers[i].host, b->brokers[i].host) ||
		    a->brokers[i].port != b->brokers[i].port)
			return false;
	}
	return config_str_equal(a->client_id, b->client_id) &&
	       config_str_equal(a->username, b->username) &&
	       config_str_equal(a->password_file, b->password_file) &&
	       config_str_equal(a->password, b->password) &&
	       a->password_from_credential == b->password_from_credential &&
	       a->protocol == b->protocol && a->keepalive == b->keepalive &&
	       config_str_equal(a->base_topic, b->base_topic) &&
	       a->reconnect_min_ms == b->reconnect_min_ms &&
	       a->reconnect_max_ms == b->reconnect_max_ms &&
	       a->offline_events == b->offline_events && s->enabled == t->enabled &&
	       config_str_equal(s->ca_file, t->ca_file) && config_str_equal(s->ca_path, t->ca_path) &&
	       config_str_equal(s->cert_file, t->cert_file) &&
	       config_str_equal(s->key_file, t->key_file) &&
	       config_str_equal(s->key_password_file, t->key_password_file) &&
	       config_str_equal(s->key_password, t->key_password) &&
	       s->min_version == t->min_version &&
	       s->insecure_skip_verify == t->insecure_skip_verify;
}
