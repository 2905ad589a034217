/* SPDX-License-Identifier: MIT */
#include "cover_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealed.h"

/* Format, one record per line:
 *   gpio2mqtt-covers 1
 *   <name> <position 0..100>     (one line per cover whose position is known)
 *   checksum <16 hex digits: FNV-1a 64 of every byte before this line>   (sealed.h)
 * Anything else, or a checksum that does not match, makes the file corrupt. */
#define COVER_STATE_MAGIC "gpio2mqtt-covers 1\n"
#define COVER_STATE_SIZE_MAX (64 * 1024)

static int cover_state_corrupt(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cover_state_corrupt(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return COVER_STATE_OUTCOME_CORRUPT;
}

/* "0".."100" exactly. */
static int cover_state_number(const char *s)
{
	int v = 0;

	if (!s[0] || strlen(s) > 3 || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= 100 ? v : -1;
}

static int cover_state_parse(char *body, const struct config *cfg, int *positions, char *why,
			     size_t why_size)
{
	char *line, *word;
	int *found;
	int r;

	/* Apply nothing unless the whole file is good. */
	found = malloc((cfg->n_pins ? cfg->n_pins : 1) * sizeof(*found));
	if (!found)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pins; i++)
		found[i] = -1;
	while ((r = sealed_record(&body, &line, &word)) != SEALED_END) {
		int v;

		if (r == SEALED_UNTERMINATED) {
			r = cover_state_corrupt(why, why_size, "a line is not terminated");
			goto free_found;
		}
		if (r == SEALED_MALFORMED) {
			r = cover_state_corrupt(why, why_size, "malformed line '%s'", line);
			goto free_found;
		}
		v = cover_state_number(word);
		if (v < 0) {
			r = cover_state_corrupt(why, why_size, "bad position for '%s'", line);
			goto free_found;
		}
		/* A cover since removed from the configuration is skipped. */
		for (size_t i = 0; i < cfg->n_pins; i++)
			if (cfg->pins[i].is_cover && strcmp(cfg->pins[i].name, line) == 0)
				found[i] = v;
	}
	r = 0;
	for (size_t i = 0; i < cfg->n_pins; i++)
		if (found[i] >= 0)
			positions[i] = found[i];
free_found:
	free(found);
	return r;
}

int cover_state_load(const char *path, const struct config *cfg, int *positions, char *why,
		     size_t why_size)
{
	char *data, *body;
	int r;

	why[0] = '\0';
	r = sealed_read(path, COVER_STATE_SIZE_MAX, COVER_STATE_MAGIC, &data, &body);
	if (r == SEALED_MISSING) {
		snprintf(why, why_size, "no state file yet");
		return COVER_STATE_OUTCOME_MISSING;
	}
	if (r > 0)
		return cover_state_corrupt(why, why_size, "%s", sealed_outcome_string(r));
	if (r < 0)
		return r;
	r = cover_state_parse(body, cfg, positions, why, why_size);
	free(data);
	return r;
}

int cover_state_save(const char *path, const struct config *cfg, const int *positions)
{
	char *body = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	mem = open_memstream(&body, &len);
	if (!mem)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pins; i++)
		if (cfg->pins[i].is_cover && positions[i] >= 0 && positions[i] <= 100)
			fprintf(mem, "%s %d\n", cfg->pins[i].name, positions[i]);
	if (fclose(mem) != 0) {
		free(body);
		return -ENOMEM;
	}
	r = sealed_write(path, COVER_STATE_MAGIC, body, len);
	free(body);
	return r;
}
