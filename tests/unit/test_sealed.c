/* SPDX-License-Identifier: MIT */
/* The sealed envelope of the state files (src/sealed.c): a good file, every way it can be
 * damaged, splitting the records, and sealing then reading back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "sealed.h"
#include "tap.h"

#define MAGIC "gpio2mqtt-state 1\n"
/* FNV-1a 64 of MAGIC "kitchen ON\nhall OFF:5000\n", worked out apart from the code under test. */
#define GOOD MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e457\n"

static char dir[] = "/tmp/test-sealed-XXXXXX";

/* sealed_open() on a copy of TEXT (LEN bytes); *BODY_OUT gets a copy of the body or "". */
static int open_copy(const char *text, size_t len, char *body_out, size_t body_size)
{
	char *copy = malloc(len + 1), *body = (char *)"unset";
	int r;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	r = sealed_open(copy, len, MAGIC, &body);
	snprintf(body_out, body_size, "%s", body ? body : "(null)");
	free(copy);
	return r;
}

static void test_good(void)
{
	char body[256];

	tap_is_int(open_copy(GOOD, strlen(GOOD), body, sizeof(body)), 0, "a good file opens");
	tap_is_str(body, "kitchen ON\nhall OFF:5000\n", "  ... its body is the records");
	tap_is_int(open_copy(MAGIC "checksum 3fc0c259465a1069\n",
			     strlen(MAGIC "checksum 3fc0c259465a1069\n"), body, sizeof(body)),
		   0, "a file without records opens");
	tap_is_str(body, "", "  ... its body is empty");
	tap_is_int(open_copy(MAGIC "checksum 3FC0C259465A1069\n",
			     strlen(MAGIC "checksum 3FC0C259465A1069\n"), body, sizeof(body)),
		   0, "upper-case hex digits are accepted (as before)");
}

struct bad_case {
	const char *what;
	const char *text;
	int want;
	const char *reason;
};

static void test_bad(void)
{
	static const struct bad_case cases[] = {
		{ "another format line", "gpio2mqtt-covers 1\nkitchen ON\nchecksum 5e68caf8b2a5e457\n",
		  SEALED_NO_MAGIC, "it does not start with the format line" },
		{ "shorter than the format line", "gpio2mqtt", SEALED_NO_MAGIC,
		  "it does not start with the format line" },
		{ "an empty file", "", SEALED_NO_MAGIC, "it does not start with the format line" },
		{ "no checksum line (cut short)", MAGIC "kitchen ON\nhall OF", SEALED_NO_CHECKSUM,
		  "it has no checksum line" },
		{ "15 digits", MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e45\n",
		  SEALED_CHECKSUM_MALFORMED, "its checksum line is malformed" },
		{ "17 digits", MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e4570\n",
		  SEALED_CHECKSUM_MALFORMED, "its checksum line is malformed" },
		{ "no newline after the checksum",
		  MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e457",
		  SEALED_CHECKSUM_MALFORMED, "its checksum line is malformed" },
		{ "a record after the checksum line",
		  MAGIC "kitchen ON\nchecksum 5e68caf8b2a5e457\nhall OFF:5000\n",
		  SEALED_CHECKSUM_MALFORMED, "its checksum line is malformed" },
		{ "a non-hex digit", MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e45g\n",
		  SEALED_CHECKSUM_MALFORMED, "its checksum line is malformed" },
		{ "one record changed", MAGIC "kitchen ON\nhall OFF:5001\nchecksum 5e68caf8b2a5e457\n",
		  SEALED_CHECKSUM_MISMATCH, "its checksum does not match" },
		{ "one checksum digit changed",
		  MAGIC "kitchen ON\nhall OFF:5000\nchecksum 5e68caf8b2a5e458\n",
		  SEALED_CHECKSUM_MISMATCH, "its checksum does not match" },
	};
	char body[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tap_is_int(open_copy(cases[i].text, strlen(cases[i].text), body, sizeof(body)),
			   cases[i].want, "%s is refused", cases[i].what);
		tap_is_str(body, "(null)", "  ... with no body");
		tap_is_str(sealed_outcome_string(cases[i].want), cases[i].reason, "  ... because %s",
			   cases[i].reason);
	}
	/* A NUL inside: LEN counts it, strlen() stops at it. */
	tap_is_int(open_copy(GOOD, strlen(GOOD) + 1, body, sizeof(body)), SEALED_NUL,
		   "a NUL byte is refused");
	tap_is_str(sealed_outcome_string(SEALED_NUL), "it contains NUL bytes",
		   "  ... because it contains NUL bytes");
}

static void test_read(void)
{
	char path[256], *text = (char *)"unset", *body = (char *)"unset";
	FILE *f;

	snprintf(path, sizeof(path), "%s/outputs.state", dir);
	tap_is_int(sealed_read(path, 1024, MAGIC, &text, &body), SEALED_MISSING,
		   "a missing file is told apart");
	tap_ok(!text && !body, "  ... with nothing to free");
	tap_is_str(sealed_outcome_string(SEALED_MISSING), "it does not exist",
		   "  ... and file.h's reason");

	f = fopen(path, "w");
	if (f) {
		fputs(GOOD, f);
		fclose(f);
	}
	tap_is_int(sealed_read(path, 1024, MAGIC, &text, &body), 0, "a good file is read");
	tap_is_str(body, "kitchen ON\nhall OFF:5000\n", "  ... its body");
	tap_ok(text && body == text + strlen(MAGIC), "  ... inside the text to free");
	free(text);

	tap_is_int(sealed_read(path, strlen(GOOD) - 1, MAGIC, &text, &body), SEALED_TOO_LARGE,
		   "over the size limit it is not read");
	tap_ok(!text && !body, "  ... with nothing to free");

	tap_is_int(sealed_read(path, 1024, "gpio2mqtt-meters 1\n", &text, &body), SEALED_NO_MAGIC,
		   "another store's file is refused");
	tap_ok(!text && !body, "  ... with nothing to free (the text is released)");
	unlink(path);

	tap_is_int(mkfifo(path, 0600), 0, "a FIFO in its place");
	tap_is_int(sealed_read(path, 1024, MAGIC, &text, &body), SEALED_NOT_REGULAR,
		   "  ... is not read");
	unlink(path);
}

static void test_records(void)
{
	char body[] = "kitchen ON\nhall light OFF:5000\n", *cursor = body, *name, *value;
	char bad[] = "kitchen ON\nnospace\n", trailing[] = "kitchen ON\nhall OF";
	char empty_name[] = " ON\n", nothing[] = "";

	tap_is_int(sealed_record(&cursor, &name, &value), 0, "a first record");
	tap_is_str(name, "kitchen", "  ... its name");
	tap_is_str(value, "ON", "  ... its value");
	tap_is_int(sealed_record(&cursor, &name, &value), 0, "a second record");
	tap_is_str(name, "hall light", "  ... a name with a space (split at the last one)");
	tap_is_str(value, "OFF:5000", "  ... its value");
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_END, "then the end");
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_END, "  ... and it stays there");

	cursor = nothing;
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_END, "an empty body has no record");

	cursor = bad;
	sealed_record(&cursor, &name, &value);
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_MALFORMED, "a line without a space");
	tap_is_str(name, "nospace", "  ... named whole");
	tap_ok(!value, "  ... with no value");

	cursor = empty_name;
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_MALFORMED,
		   "a line with nothing before its space");

	cursor = trailing;
	sealed_record(&cursor, &name, &value);
	tap_is_int(sealed_record(&cursor, &name, &value), SEALED_UNTERMINATED,
		   "a last line without its newline");
	tap_is_str(sealed_outcome_string(SEALED_UNTERMINATED), "a line is not terminated",
		   "  ... is not terminated");
}

static void test_round_trip(void)
{
	const char *records = "kitchen ON\nhall OFF:5000\n";
	char path[256], *text, *body;
	size_t len;

	tap_is_int(sealed_seal(MAGIC, records, strlen(records), &text, &len), 0, "sealing");
	tap_is_int((long long)len, (long long)strlen(GOOD), "  ... the length");
	tap_is_str(text, GOOD, "  ... the exact bytes");
	free(text);

	tap_is_int(sealed_seal(MAGIC, "", 0, &text, &len), 0, "sealing no records");
	tap_is_str(text, MAGIC "checksum 3fc0c259465a1069\n", "  ... the exact bytes");
	free(text);

	snprintf(path, sizeof(path), "%s/covers.state", dir);
	tap_is_int(sealed_write(path, MAGIC, records, strlen(records)), 0, "writing");
	tap_is_int(sealed_read(path, 1024, MAGIC, &text, &body), 0, "  ... reads back");
	tap_is_str(body, records, "  ... the same records");
	free(text);
	unlink(path);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_good();
	test_bad();
	test_read();
	test_records();
	test_round_trip();
	rmdir(dir);
	return tap_done();
}
