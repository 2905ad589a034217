/* SPDX-License-Identifier: MIT */
#include "restore.h"

#include <string.h>

#include "log.h"
#include "paths.h"
#include "state.h"

void restore_setup(struct restore *r, const struct config *cfg)
{
	if (!state_needed(cfg))
		return;
	if (paths_state_file(cfg, "outputs.state", r->path, sizeof(r->path)) < 0) {
		log_warning("the state directory's path is too long; output states are not kept");
		r->path[0] = '\0';
		return;
	}
	paths_dir_create(r->path);
}

void restore_load(struct restore *r, const struct config *cfg, bool *levels)
{
	restore_load_values(r, cfg, levels, NULL);
}

void restore_load_values(struct restore *r, const struct config *cfg, bool *levels,
			 unsigned int *values)
{
	char why[256];
	int e;

	restore_setup(r, cfg);
	if (!r->path[0])
		return;
	e = state_load_values(r->path, cfg, levels, values, why, sizeof(why));
	if (e == 0)
		log_info("output states restored from %s", r->path);
	else if (e == STATE_OUTCOME_MISSING)
		log_warning("%s: %s; outputs with power_on = \"restore\" start OFF", r->path, why);
	else if (e == STATE_OUTCOME_CORRUPT)
		log_warning("%s is corrupt (%s); outputs with power_on = \"restore\" start OFF",
			    r->path, why);
	else
		log_warning("cannot read %s: %s; outputs with power_on = \"restore\" start OFF",
			    r->path, strerror(-e));
}

void restore_save(struct restore *r, const struct config *cfg, const bool *levels)
{
	restore_save_values(r, cfg, levels, NULL);
}

void restore_save_values(struct restore *r, const struct config *cfg, const bool *levels,
			 const unsigned int *values)
{
	int e;

	if (!r->path[0])
		return;
	e = state_save_values(r->path, cfg, levels, values);
	if (e < 0 && !r->failed)
		log_error("cannot save the output states to %s: %s (power_on = \"restore\" will use "
			  "older states)", r->path, strerror(-e));
	else if (e == 0 && r->failed)
		log_notice("output states saved to %s again", r->path);
	r->failed = e < 0;
}
