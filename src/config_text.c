/* SPDX-License-Identifier: MIT */
/* The text side of loading a configuration (config_text.h): no libconfig here. */
#include "config_text.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

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
enum config_topic_problem config_topic_check(const char *s, bool level)
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

bool config_text_valid(const char *s)
{
	uint32_t cp;

	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = config_utf8_decode(p, &cp);

		if (n == 0 || config_codepoint_is_control(cp))
			return false;
		p += n;
	}
	return true;
}

bool config_topic_level_valid(const char *name)
{
	return name && config_topic_check(name, true) == CONFIG_TOPIC_OK;
}

/* Writes S in double quotes for a message: printable ASCII and valid non-control UTF-8 as they
 * are, '"' and '\' escaped, any other byte as \xNN; a long value is cut with "...". SIZE must be
 * at least 16. */
void config_quote(char *buf, size_t size, const char *s)
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

/* How close KEY is to the known key CANDIDATE, smaller is closer; above 3: not close. Case-only
 * differences score 0; a small edit distance (1 for keys of up to 4 characters, else 2) scores
 * that distance; one key being the other plus a suffix ("debounce" for "debounce_ms") scores 3. */
size_t config_key_closeness(const char *key, const char *candidate)
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

/* After a syntax error at LINE: when FP's text has a comma followed (past blanks and comments)
 * by the ')' or ']' that closes a list on LINE, the line of that comma; else 0. libconfig 1.5
 * does not accept a comma after a list's last element, and says only "syntax error". */
int config_trailing_comma_line(FILE *fp, int line)
{
	int c, cur = 1, comma_line = 0;

	rewind(fp);
	while ((c = getc(fp)) != EOF) {
		if (c == '\n') {
			cur++;
			continue;
		}
		if (c == '"') { /* a string: commas inside do not count */
			while ((c = getc(fp)) != EOF && c != '"') {
				if (c == '\\')
					c = getc(fp);
				if (c == '\n')
					cur++;
			}
			comma_line = 0;
			continue;
		}
		if (c == '#' || (c == '/' && (c = getc(fp)) == '/')) {
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			cur++;
			continue;
		}
		if (c == '*') { /* after a '/': a block comment */
			int prev = 0;

			while ((c = getc(fp)) != EOF && !(prev == '*' && c == '/')) {
				if (c == '\n')
					cur++;
				prev = c;
			}
			continue;
		}
		if (c == ',') {
			comma_line = cur;
		} else if ((c == ')' || c == ']') && comma_line) {
			if (cur == line)
				return comma_line;
			comma_line = 0;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			comma_line = 0;
		}
	}
	return 0;
}

/* ---- defaults from the hostname --------------------------------------------------------- */

/* The hostname up to its first '.', with every byte that is not printable ASCII or is '+', '#'
 * or '/' replaced by '_', so that it fits both a client id and a topic level. */
void config_hostname_get(char *buf, size_t size)
{
	const char *fixed = getenv("GPIO2MQTT_HOSTNAME");
	char host[256];
	size_t i;

	/* A test hook (documented in gpio2mqtt(8)): golden --check -v outputs must not depend on
	 * the machine they run on. */
	if (fixed && fixed[0]) {
		snprintf(host, sizeof(host), "%s", fixed);
		host[strcspn(host, ".")] = '\0';
	} else {
		util_hostname(host, sizeof(host), "unknown");
	}
	for (i = 0; host[i] && i < CONFIG_HOST_MAX && i + 1 < size; i++) {
		unsigned char c = (unsigned char)host[i];

		buf[i] = (c > 0x20 && c < 0x7f && c != '+' && c != '#' && c != '/') ? (char)c : '_';
	}
	buf[i] = '\0';
}

/* ---- errors ----------------------------------------------------------------------------- */

int config_errors_add(struct config_errors *errors, const char *file, int line, char *message)
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

/* Orders the errors of this run by line, keeping the order of errors on the same line. */
void config_errors_sort(struct config_errors *errors, size_t first)
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

