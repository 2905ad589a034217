/* SPDX-License-Identifier: MIT */
#pragma once

/* power_on = "restore" for the running daemon: where the state file is (src/paths.h), the
 * levels restored at start with one log line, and the levels saved after every change, a
 * failure logged once until a save succeeds again. The file format is src/state.h's. */

#include <limits.h>
#include <stdbool.h>

#include "config.h"

struct restore {
	char path[PATH_MAX]; /* empty: no output uses power_on = "restore" */
	bool failed;         /* the last save failed */
};

/* The path for CFG when an output of it uses restore (and, outside systemd, its directory
 * created); else the path stays empty and nothing is saved. */
void restore_setup(struct restore *r, const struct config *cfg);
/* Sets LEVELS (indexed like cfg->pins) of the restored outputs from the file; a missing or
 * corrupt file is logged, and those outputs keep what LEVELS had (OFF). */
void restore_load(struct restore *r, const struct config *cfg, bool *levels);
/* Saves LEVELS of the restored outputs. */
void restore_save(struct restore *r, const struct config *cfg, const bool *levels);
/* The same with the lights' brightness VALUES (src/state.h, state_load_values()). */
void restore_load_values(struct restore *r, const struct config *cfg, bool *levels,
			 unsigned int *values);
void restore_save_values(struct restore *r, const struct config *cfg, const bool *levels,
			 const unsigned int *values);
