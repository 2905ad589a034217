/* SPDX-License-Identifier: MIT */
/* The counters' file (see meter_store.h). */
#include "meter_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "sealed.h"

#define METER_STORE_MAGIC "gpio2mqtt-meters 1\n"
#define METER_STORE_SIZE_MAX (256 * 1024)

void meter_store_init(struct meter_store *st, const char *path0, const char *path1)
{
	*st = (struct meter_store){ 0 };
	snprintf(st->path[0], sizeof(st->path[0]), "%s", path0);
	snprintf(st->path[1], sizeof(st->path[1]), "%s", path1);
}

void meter_store_data_clear(struct meter_store_data *data)
{
	for (size_t i = 0; i < data->n; i++)
		free(data->entries[i].name);
	free(data->entries);
	*data = (struct meter_store_data){ 0 };
}

const struct meter_store_entry *meter_store_find(const struct meter_store_data *data,
						 const char *name)
{
	for (size_t i = 0; i < data->n; i++)
		if (strcmp(data->entries[i].name, name) == 0)
			return &data->entries[i];
	return NULL;
}

int meter_store_format(const struct meter_store_data *data, char **out, size_t *len)
{
	char *body = NULL;
	size_t body_len = 0;
	FILE *mem;
	int r;

	*out = NULL;
	*len = 0;
	mem = open_memstream(&body, &body_len);
	if (!mem)
		return -ENOMEM;
	fprintf(mem, "generation %" PRIu64 "\n", data->generation);
	for (size_t i = 0; i < data->n; i++)
		fprintf(mem, "%s %" PRIu64 "\n", data->entries[i].name, data->entries[i].count);
	if (fclose(mem) != 0) {
		free(body);
		return -ENOMEM;
	}
	r = sealed_seal(METER_STORE_MAGIC, body, body_len, out, len);
	free(body);
	return r;
}

static int meter_store_bad(char *why, size_t size, const char *what)
{
	snprintf(why, size, "%s", what);
	return -EINVAL;
}

/* A decimal number filling TEXT exactly, without sign or leading spaces. */
static bool meter_store_number(const char *text, uint64_t *value)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	*value = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0';
}

int meter_store_parse(char *text, size_t len, struct meter_store_data *out, char *why,
		      size_t why_size)
{
	char *line, *next, *word;
	int r;

	*out = (struct meter_store_data){ 0 };
	r = sealed_open(text, len, METER_STORE_MAGIC, &line);
	if (r == SEALED_NO_CHECKSUM)
		return meter_store_bad(why, why_size, "it has no checksum line (cut short?)");
	if (r > 0)
		return meter_store_bad(why, why_size, sealed_outcome_string(r));
	if (strncmp(line, "generation ", strlen("generation ")) != 0 || !strchr(line, '\n'))
		return meter_store_bad(why, why_size, "it has no generation line");
	next = strchr(line, '\n');
	*next = '\0';
	if (!meter_store_number(line + strlen("generation "), &out->generation))
		return meter_store_bad(why, why_size, "its generation is not a number");
	for (next++; (r = sealed_record(&next, &line, &word)) != SEALED_END;) {
		struct meter_store_entry *grown;
		uint64_t count;

		if (r != 0 || !meter_store_number(word, &count))
			goto bad_line;
		grown = realloc(out->entries, (out->n + 1) * sizeof(*grown));
		if (!grown)
			goto no_memory;
		out->entries = grown;
		out->entries[out->n].name = strdup(line);
		if (!out->entries[out->n].name)
			goto no_memory;
		out->entries[out->n++].count = count;
	}
	return 0;

bad_line:
	meter_store_data_clear(out);
	return meter_store_bad(why, why_size, "a counter's line is malformed");
no_memory:
	meter_store_data_clear(out);
	return -ENOMEM;
}

/* One file: 0 (OUT filled), FILE_READ_MISSING, -EINVAL with WHY, or another negative errno. */
static int meter_store_read(const char *path, struct meter_store_data *out, char *why,
			    size_t why_size)
{
	size_t len;
	char *text;
	int r;

	*out = (struct meter_store_data){ 0 };
	r = file_read_regular(path, METER_STORE_SIZE_MAX, &text, &len);
	if (r == FILE_READ_MISSING)
		return r;
	if (r > 0)
		return meter_store_bad(why, why_size, file_read_outcome_string(r));
	if (r < 0) {
		snprintf(why, why_size, "%s", strerror(-r));
		return r == -ENOMEM ? r : -EINVAL;
	}
	r = meter_store_parse(text, len, out, why, why_size);
	free(text);
	return r;
}

int meter_store_load(struct meter_store *st, struct meter_store_data *out, char *why,
		     size_t why_size)
{
	struct meter_store_data d[2];
	char reason[2][160] = { "", "" };
	int r[2], newest = -1, damaged = -1;

	why[0] = '\0';
	*out = (struct meter_store_data){ 0 };
	for (int i = 0; i < 2; i++) {
		r[i] = meter_store_read(st->path[i], &d[i], reason[i], sizeof(reason[i]));
		if (r[i] == -ENOMEM) {
			meter_store_data_clear(&d[0]);
			return -ENOMEM;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (r[i] == 0 && (newest < 0 || d[i].generation > d[newest].generation))
			newest = i;
		else if (r[i] != 0 && r[i] != FILE_READ_MISSING)
			damaged = i;
	}
	if (damaged >= 0)
		snprintf(why, why_size, "%s: %s", st->path[damaged], reason[damaged]);
	if (newest < 0) {
		if (damaged < 0)
			snprintf(why, why_size, "neither %s nor %s exists yet", st->path[0],
				 st->path[1]);
		return damaged < 0 ? METER_STORE_OUTCOME_MISSING : METER_STORE_OUTCOME_CORRUPT;
	}
	*out = d[newest];
	meter_store_data_clear(&d[1 - newest]);
	st->generation = out->generation;
	/* A damaged file may have held a newer save (a disk that lost a write): the good one is
	 * the last good value. The next save replaces the damaged one (saves alternate). */
	return damaged >= 0 ? METER_STORE_OUTCOME_FALLBACK : 0;
}

int meter_store_save(struct meter_store *st, struct meter_store_data *data)
{
	uint64_t generation = st->generation + 1;
	size_t len;
	char *text;
	int r;

	if (!st->path[0][0])
		return 0;
	data->generation = generation;
	r = meter_store_format(data, &text, &len);
	if (r < 0)
		return r;
	r = file_replace(st->path[generation % 2], text, len);
	free(text);
	if (r == 0)
		st->generation = generation;
	return r;
}
