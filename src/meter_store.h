/* SPDX-License-Identifier: MIT */
#pragma once

/* The counters' file: every counter's count of pulses, kept across restarts, SIGKILL and power
 * cuts. Two generations, meters-0.state and meters-1.state in the state directory: save N goes
 * to meters-(N % 2).state, written atomically (file_replace(): temporary file, fsync, rename,
 * fsync of the directory), so a power cut at any moment leaves the newest complete save in one
 * file and the one before it in the other. Loading takes the newest generation whose checksum
 * holds; a damaged newest file falls back to the previous save (the last good value), never
 * to a silently wrong one.
 *
 * Format, one record per line:
 *   gpio2mqtt-meters 1
 *   generation <decimal>
 *   <name> <decimal count>      (one line per counter; a name may contain spaces)
 *   checksum <16 hex digits: FNV-1a 64 of every byte before this line> */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meter_store_entry {
	char *name;
	uint64_t count;
};

/* The contents of one file. */
struct meter_store_data {
	uint64_t generation;
	struct meter_store_entry *entries;
	size_t n;
};

struct meter_store {
	char path[2][PATH_MAX]; /* meters-0.state, meters-1.state; empty: nothing is kept */
	uint64_t generation;    /* of the newest save found or written; the next is one more */
};

/* Outcomes of meter_store_load() other than 0 (0: the newest file is good). */
enum meter_store_outcome {
	METER_STORE_OUTCOME_FALLBACK = 1, /* the newest file is damaged: the previous save used */
	METER_STORE_OUTCOME_MISSING = 2,  /* no file yet: every count starts at 0 */
	METER_STORE_OUTCOME_CORRUPT = 3,  /* files, none good: every count starts at 0 */
};

/* The two paths from DIR_FILE0 and DIR_FILE1 (full paths). */
void meter_store_init(struct meter_store *st, const char *path0, const char *path1);

/* Reads both files into OUT (freed with meter_store_data_clear()), the newest good one.
 * Returns 0 or a meter_store_outcome, with what was wrong with which file in WHY; -ENOMEM. */
int meter_store_load(struct meter_store *st, struct meter_store_data *out, char *why,
		     size_t why_size);

/* Writes the next generation of DATA's entries (DATA->generation is ignored and set). Returns
 * 0 or a negative errno (the older files are left as they were). */
int meter_store_save(struct meter_store *st, struct meter_store_data *data);

/* The text of DATA (malloc'd into *OUT, *LEN bytes) and back: for the tests and the two
 * functions above. meter_store_parse() returns 0, -EINVAL (with the reason in WHY) or -ENOMEM;
 * it modifies TEXT (NUL-terminated, LEN bytes). */
int meter_store_format(const struct meter_store_data *data, char **out, size_t *len);
int meter_store_parse(char *text, size_t len, struct meter_store_data *out, char *why,
		      size_t why_size);

void meter_store_data_clear(struct meter_store_data *data);
/* The entry called NAME in DATA, or NULL. */
const struct meter_store_entry *meter_store_find(const struct meter_store_data *data,
						 const char *name);
