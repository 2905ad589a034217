/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "kind.h"
#include "sealed.h"
#include "util.h"

/* Format, one record per line:
 *   gpio2mqtt-state 1
 *   <name> ON|OFF        (one line per restore output)
 *   <name> ON|OFF:<n>    (a PWM light: on or off, and the brightness level ON goes back to,
 *                         0..10000; written only by versions that know lights)
 *   checksum <16 hex digits: FNV-1a 64 of every byte before this line>   (sealed.h)
 * Anything else, or a checksum that does not match, makes the file corrupt. */
#define STATE_MAGIC "gpio2mqtt-state 1\n"
#define STATE_SIZE_MAX (64 * 1024)

bool state_needed(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (kind_of(&cfg->pins[i])->persists(&cfg->pins[i]))
			return true;
	}
	return false;
}

static int state_corrupt(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int state_corrupt(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return STATE_OUTCOME_CORRUPT;
}

static int state_parse(char *body, const struct config *cfg, bool *levels, unsigned int *values,
		       char *why, size_t why_size)
{
	bool *found_levels, *found;
	unsigned long value = 0;
	char *line, *word;
	int r;

	/* Apply nothing unless the whole file is good. */
	found_levels = calloc(cfg->n_pins ? cfg->n_pins : 1, 2 * sizeof(bool));
	if (!found_levels)
		return -ENOMEM;
	found = found_levels + (cfg->n_pins ? cfg->n_pins : 1);
	while ((r = sealed_record(&body, &line, &word)) != SEALED_END) {
		bool on;

		if (r == SEALED_UNTERMINATED) {
			r = state_corrupt(why, why_size, "%s", "a line is not terminated");
			goto free_found;
		}
		if (r == SEALED_MALFORMED) {
			r = state_corrupt(why, why_size, "malformed line '%s'", line);
			goto free_found;
		}
		/* A light's ":<level>" after its word. */
		value = 0;
		if (strchr(word, ':')) {
			char *colon = strchr(word, ':'), *vend;

			value = strtoul(colon + 1, &vend, 10);
			if (vend == colon + 1 || *vend || value > 10000) {
				r = state_corrupt(why, why_size, "bad level for '%s'", line);
				goto free_found;
			}
			*colon = '\0';
		}
		if (strcmp(word, "ON") == 0) {
			on = true;
		} else if (strcmp(word, "OFF") == 0) {
			on = false;
		} else {
			r = state_corrupt(why, why_size, "bad level for '%s'", line);
			goto free_found;
		}
		/* A pin since removed from the configuration is skipped. */
		for (size_t i = 0; i < cfg->n_pins; i++) {
			if (strcmp(cfg->pins[i].name, line) == 0 &&
			    kind_of(&cfg->pins[i])->persists(&cfg->pins[i])) {
				found[i] = true;
				found_levels[i] = on;
				if (values)
					values[i] = (unsigned int)value;
			}
		}
	}
	r = 0;
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (found[i])
			levels[i] = found_levels[i];
	}
free_found:
	free(found_levels);
	return r;
}

int state_load(const char *path, const struct config *cfg, bool *levels, char *why,
	       size_t why_size)
{
	return state_load_values(path, cfg, levels, NULL, why, why_size);
}

int state_load_values(const char *path, const struct config *cfg, bool *levels,
		      unsigned int *values, char *why, size_t why_size)
{
	char *data, *body;
	int r;

	why[0] = '\0';
	r = sealed_read(path, STATE_SIZE_MAX, STATE_MAGIC, &data, &body);
	if (r == SEALED_MISSING) {
		snprintf(why, why_size, "no state file yet");
		return STATE_OUTCOME_MISSING;
	}
	if (r > 0)
		return state_corrupt(why, why_size, "%s", sealed_outcome_string(r));
	if (r < 0)
		return r;
	r = state_parse(body, cfg, levels, values, why, why_size);
	free(data);
	return r;
}

int state_save(const char *path, const struct config *cfg, const bool *levels)
{
	return state_save_values(path, cfg, levels, NULL);
}

int state_save_values(const char *path, const struct config *cfg, const bool *levels,
		      const unsigned int *values)
{
	char *body = NULL;
	size_t len = 0;
	FILE *mem;
	int r;

	mem = open_memstream(&body, &len);
	if (!mem)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (!kind_of(&cfg->pins[i])->persists(&cfg->pins[i]))
			continue;
		if (values && cfg->pins[i].light)
			fprintf(mem, "%s %s:%u\n", cfg->pins[i].name, levels[i] ? "ON" : "OFF",
				values[i]);
		else
			fprintf(mem, "%s %s\n", cfg->pins[i].name, levels[i] ? "ON" : "OFF");
	}
	if (fclose(mem) != 0) {
		free(body);
		return -ENOMEM;
	}
	r = sealed_write(path, STATE_MAGIC, body, len);
	free(body);
	return r;
}
