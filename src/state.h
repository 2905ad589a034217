/* SPDX-License-Identifier: MIT */
#pragma once

/* The state file: the last commanded level of every output with power_on = "restore", kept
 * across restarts and power cuts. Written atomically (temporary file, fsync, rename, fsync of
 * the directory), so a reader finds the old file or the new one, never a mix. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Outcomes of state_load() other than 0. */
enum state_outcome {
	STATE_OUTCOME_MISSING = 1, /* no file yet: every restore output starts OFF */
	STATE_OUTCOME_CORRUPT = 2, /* unreadable contents: every restore output starts OFF */
};

/* Sets LEVELS[i] for every restore output found in PATH (others are left alone). Returns 0,
 * a state_outcome (with the reason in WHY), or a negative errno when PATH cannot be read. */
int state_load(const char *path, const struct config *cfg, bool *levels, char *why,
	       size_t why_size);

/* Writes the level of every restore output (LEVELS indexed like cfg->pins). */
int state_save(const char *path, const struct config *cfg, const bool *levels);

/* The same with VALUES (indexed like cfg->pins; NULL: none): a PWM light's brightness level
 * (the one ON goes back to, 0..10000), kept beside its ON/OFF in the same atomic file. A
 * light's value not in the file is left alone; a file from before lights loads as it did. */
int state_load_values(const char *path, const struct config *cfg, bool *levels,
		      unsigned int *values, char *why, size_t why_size);
int state_save_values(const char *path, const struct config *cfg, const bool *levels,
		      const unsigned int *values);

/* Whether any output uses power_on = "restore". */
bool state_needed(const struct config *cfg);
