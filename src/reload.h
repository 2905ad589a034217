/* SPDX-License-Identifier: MIT */
#pragma once

/* SIGHUP's decisions, apart from carrying them out (daemon.c does): reading the new file with
 * every error logged, and which pin of the running configuration each new pin continues, at
 * which level. Pure but for the reading and its log lines. */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Logs every error of ERRORS, one line each, as FILE:LINE: message. */
void reload_errors_log(const struct config_errors *errors);

/* Reads PATH for a reload: 0 with *OUT, or a negative errno after logging every error and that
 * the running configuration stays in force (STATUS= says so too). */
int reload_config_read(const char *path, struct config **out);

/* The new configuration's pin I continues the old one's pin FROM[I], or SIZE_MAX: the same
 * direction and the same line, or else the same name (a pin moved to another line keeps its
 * state). LEVELS[I] is then OLD_LEVELS[FROM[I]]; a new output starts at power_on ("restore":
 * OFF), a new input OFF until it is read. At most one output of an interlock group stays ON:
 * returns how many were switched OFF in LEVELS. */
size_t reload_plan(const struct config *old, const bool *old_levels, const struct config *cfg,
		   size_t *from, bool *levels);
