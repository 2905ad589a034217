/* SPDX-License-Identifier: MIT */
#pragma once

/* covers.state: the position of every cover, kept across restarts and power cuts, in the state
 * directory beside outputs.state and written the same way (src/file.h: temporary file, fsync,
 * rename, fsync of the directory), so a reader finds the old file or the new one. */

#include <stddef.h>

#include "config.h"

/* Outcomes of cover_state_load() other than 0. */
enum cover_state_outcome {
	COVER_STATE_OUTCOME_MISSING = 1, /* no file yet: positions unknown */
	COVER_STATE_OUTCOME_CORRUPT = 2, /* unreadable contents: positions unknown */
};

/* Sets POSITIONS[i] (0..100) for every cover of CFG found in PATH; others are left alone.
 * Returns 0, a cover_state_outcome (the reason in WHY), or a negative errno. */
int cover_state_load(const char *path, const struct config *cfg, int *positions, char *why,
		     size_t why_size);

/* Writes POSITIONS (indexed like cfg->pins) of every cover whose position is known (>= 0). */
int cover_state_save(const char *path, const struct config *cfg, const int *positions);
