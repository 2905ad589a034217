/* SPDX-License-Identifier: MIT */
/* The sealed envelope of the state files (see sealed.h). */
#include "sealed.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "util.h"

#define SEALED_CHECKSUM "checksum "
#define SEALED_DIGITS 16

_Static_assert((int)SEALED_MISSING == (int)FILE_READ_MISSING &&
		       (int)SEALED_NOT_REGULAR == (int)FILE_READ_NOT_REGULAR &&
		       (int)SEALED_TOO_LARGE == (int)FILE_READ_TOO_LARGE,
	       "sealed_read() hands file_read_regular()'s outcomes on");

int sealed_open(char *text, size_t len, const char *magic, char **body)
{
	size_t magic_len = strlen(magic);
	char *sum, *end;
	uint64_t want;

	*body = NULL;
	if (strlen(text) != len)
		return SEALED_NUL;
	if (len < magic_len || memcmp(text, magic, magic_len) != 0)
		return SEALED_NO_MAGIC;
	sum = strstr(text, "\n" SEALED_CHECKSUM);
	if (!sum)
		return SEALED_NO_CHECKSUM;
	sum++;
	errno = 0;
	want = strtoull(sum + strlen(SEALED_CHECKSUM), &end, 16);
	if (errno || end != sum + strlen(SEALED_CHECKSUM) + SEALED_DIGITS || strcmp(end, "\n") != 0)
		return SEALED_CHECKSUM_MALFORMED;
	if (util_fnv1a(text, (size_t)(sum - text), UTIL_FNV1A_OFFSET) != want)
		return SEALED_CHECKSUM_MISMATCH;
	*sum = '\0';
	*body = text + magic_len;
	return 0;
}

int sealed_record(char **cursor, char **name, char **value)
{
	char *line = *cursor, *space, *nl;

	*name = NULL;
	*value = NULL;
	if (!*line)
		return SEALED_END;
	nl = strchr(line, '\n');
	if (!nl)
		return SEALED_UNTERMINATED;
	*nl = '\0';
	*cursor = nl + 1;
	*name = line;
	space = strrchr(line, ' ');
	if (!space || space == line)
		return SEALED_MALFORMED;
	*space = '\0';
	*value = space + 1;
	return 0;
}

int sealed_read(const char *path, size_t max, const char *magic, char **text, char **body)
{
	size_t len;
	int r;

	*body = NULL;
	r = file_read_regular(path, max, text, &len);
	if (r != 0)
		return r;
	r = sealed_open(*text, len, magic, body);
	if (r != 0) {
		free(*text);
		*text = NULL;
	}
	return r;
}

int sealed_seal(const char *magic, const char *body, size_t body_len, char **out,
		size_t *out_len)
{
	size_t magic_len = strlen(magic), len = magic_len + body_len;
	/* "checksum " + 16 digits + "\n" + NUL */
	size_t tail = strlen(SEALED_CHECKSUM) + SEALED_DIGITS + 2;
	char *text;

	*out = NULL;
	*out_len = 0;
	text = malloc(len + tail);
	if (!text)
		return -ENOMEM;
	memcpy(text, magic, magic_len);
	memcpy(text + magic_len, body, body_len);
	snprintf(text + len, tail, SEALED_CHECKSUM "%016" PRIx64 "\n",
		 util_fnv1a(text, len, UTIL_FNV1A_OFFSET));
	*out = text;
	*out_len = len + tail - 1;
	return 0;
}

int sealed_write(const char *path, const char *magic, const char *body, size_t body_len)
{
	size_t len;
	char *text;
	int r;

	r = sealed_seal(magic, body, body_len, &text, &len);
	if (r < 0)
		return r;
	r = file_replace(path, text, len);
	free(text);
	return r;
}

const char *sealed_outcome_string(int outcome)
{
	switch (outcome) {
	case SEALED_MISSING:
	case SEALED_NOT_REGULAR:
	case SEALED_TOO_LARGE:
		return file_read_outcome_string(outcome);
	case SEALED_NUL:
		return "it contains NUL bytes";
	case SEALED_NO_MAGIC:
		return "it does not start with the format line";
	case SEALED_NO_CHECKSUM:
		return "it has no checksum line";
	case SEALED_CHECKSUM_MALFORMED:
		return "its checksum line is malformed";
	case SEALED_CHECKSUM_MISMATCH:
		return "its checksum does not match";
	case SEALED_END:
		return "no record is left";
	case SEALED_UNTERMINATED:
		return "a line is not terminated";
	case SEALED_MALFORMED:
		return "a line is malformed";
	}
	return "unknown outcome";
}
