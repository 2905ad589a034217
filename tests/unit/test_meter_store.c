/* SPDX-License-Identifier: MIT */
/* The counters' file (src/meter_store.c): its format, the checksum, the two generations and the
 * fallback to the previous save. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meter_store.h"
#include "tap.h"

static char dir[] = "/tmp/test-meter-store-XXXXXX";
static char path0[256], path1[256];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static struct meter_store_data two_counters(uint64_t a, uint64_t b)
{
	static struct meter_store_entry e[2];
	static char na[] = "electricity", nb[] = "gas meter";

	e[0] = (struct meter_store_entry){ .name = na, .count = a };
	e[1] = (struct meter_store_entry){ .name = nb, .count = b };
	return (struct meter_store_data){ .entries = e, .n = 2 };
}

static void test_format(void)
{
	struct meter_store_data d = two_counters(18446744073709551615ULL, 7), back;
	char *text, why[128];
	size_t len;

	d.generation = 42;
	tap_is_int(meter_store_format(&d, &text, &len), 0, "format");
	{
		const char *want = "gpio2mqtt-meters 1\ngeneration 42\n"
				   "electricity 18446744073709551615\ngas meter 7\nchecksum ";

		tap_ok(strncmp(text, want, strlen(want)) == 0 &&
			       len == strlen(want) + 17 && text[len - 1] == '\n',
		       "the text: magic, generation, counts, checksum");
	}
	tap_is_int(meter_store_parse(text, len, &back, why, sizeof(why)), 0, "parses back");
	tap_is_int((long long)back.generation, 42, "generation back");
	tap_is_int((long long)back.n, 2, "two counters back");
	tap_ok(meter_store_find(&back, "electricity") &&
		       meter_store_find(&back, "electricity")->count == 18446744073709551615ULL,
	       "2^64 - 1 back exactly");
	tap_ok(meter_store_find(&back, "gas meter") && meter_store_find(&back, "gas meter")->count == 7,
	       "a name with a space back");
	meter_store_data_clear(&back);
	free(text);

	/* One changed digit: the checksum says so. */
	meter_store_format(&d, &text, &len);
	text[strlen("gpio2mqtt-meters 1\ngeneration 42\nelectricity 1")] = '2';
	tap_is_int(meter_store_parse(text, len, &back, why, sizeof(why)), -EINVAL, "a flipped digit");
	tap_is_str(why, "its checksum does not match", "  ... the checksum does not match");
	free(text);
	meter_store_format(&d, &text, &len);
	text[len / 2] = '\0';
	tap_is_int(meter_store_parse(text, len / 2, &back, why, sizeof(why)), -EINVAL,
		   "cut in the middle");
	free(text);
}

static void test_generations(void)
{
	struct meter_store st;
	struct meter_store_data d = two_counters(100, 5), got;
	char why[1024];

	meter_store_init(&st, path0, path1);
	tap_is_int(meter_store_load(&st, &got, why, sizeof(why)), METER_STORE_OUTCOME_MISSING,
		   "no file yet: missing");
	tap_is_int(meter_store_save(&st, &d), 0, "save 1");
	tap_ok(access(path1, F_OK) == 0 && access(path0, F_OK) != 0, "save 1 goes to meters-1");
	d = two_counters(200, 6);
	tap_is_int(meter_store_save(&st, &d), 0, "save 2");
	tap_ok(access(path0, F_OK) == 0, "save 2 goes to meters-0");

	meter_store_init(&st, path0, path1);
	tap_is_int(meter_store_load(&st, &got, why, sizeof(why)), 0, "both good: loaded");
	tap_is_int((long long)meter_store_find(&got, "electricity")->count, 200, "the newest save");
	tap_is_int((long long)st.generation, 2, "its generation");
	meter_store_data_clear(&got);

	/* A power cut cannot cut a file (atomic replace), but a disk can lose it: the newest
	 * damaged, the previous save is the last good value. */
	write_text(path0, "gpio2mqtt-meters 1\ngeneration 3\nelectricity 9");
	meter_store_init(&st, path0, path1);
	tap_is_int(meter_store_load(&st, &got, why, sizeof(why)), METER_STORE_OUTCOME_FALLBACK,
		   "the newest damaged: fallback");
	tap_is_int((long long)meter_store_find(&got, "electricity")->count, 100,
		   "the previous save's count");
	tap_ok(strstr(why, path0) && strstr(why, "checksum"), "WHY names the damaged file and why");
	meter_store_data_clear(&got);
	d = two_counters(300, 7);
	tap_is_int(meter_store_save(&st, &d), 0, "the next save");
	meter_store_init(&st, path0, path1);
	tap_is_int(meter_store_load(&st, &got, why, sizeof(why)), 0,
		   "it replaced the damaged file: both good again");
	tap_is_int((long long)meter_store_find(&got, "electricity")->count, 300, "the new count");
	meter_store_data_clear(&got);

	write_text(path0, "garbage");
	write_text(path1, "");
	meter_store_init(&st, path0, path1);
	tap_is_int(meter_store_load(&st, &got, why, sizeof(why)), METER_STORE_OUTCOME_CORRUPT,
		   "both damaged: corrupt, never a silently wrong count");
	tap_is_int((long long)got.n, 0, "  ... and no counts");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		tap_ok(false, "a temporary directory");
		return tap_done();
	}
	snprintf(path0, sizeof(path0), "%s/meters-0.state", dir);
	snprintf(path1, sizeof(path1), "%s/meters-1.state", dir);
	test_format();
	test_generations();
	unlink(path0);
	unlink(path1);
	rmdir(dir);
	return tap_done();
}
