/* SPDX-License-Identifier: MIT */
#include "reload.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bridge.h"
#include "config_warn.h"
#include "kind.h"
#include "log.h"
#include "mqtt.h"
#include "notify.h"

void reload_errors_log(const struct config_errors *errors)
{
	char line[1024];

	for (size_t i = 0; i < errors->n; i++) {
		config_error_format(&errors->items[i], line, sizeof(line));
		log_plain(LOG_ERR, "%s", line);
	}
}

int reload_config_read(const char *path, struct config **out)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	int r;

	r = config_load(path, &cfg, &errors);
	if (r < 0) {
		reload_errors_log(&errors);
		log_error("reload: %s has errors; the running configuration stays in force", path);
		notify_status("reload failed: %s has errors; running the previous configuration",
			      path);
		config_free(cfg);
		config_errors_clear(&errors);
		return r;
	}
	config_errors_clear(&errors);
	config_warn(&cfg->mqtt, false);
	*out = cfg;
	return 0;
}

size_t reload_plan(const struct config *old, const bool *old_levels, const struct config *cfg,
		   size_t *from, bool *levels)
{
	for (size_t i = 0; i < cfg->n_pins; i++) {
		bool is_output = kind_of(&cfg->pins[i])->is_output;

		from[i] = SIZE_MAX;
		for (size_t k = 0; k < old->n_pins && from[i] == SIZE_MAX; k++) {
			if (old->pins[k].direction == cfg->pins[i].direction &&
			    config_pin_line_equal(&old->pins[k], &cfg->pins[i]))
				from[i] = k;
		}
		for (size_t k = 0; k < old->n_pins && from[i] == SIZE_MAX; k++) {
			if (old->pins[k].direction == cfg->pins[i].direction &&
			    strcmp(old->pins[k].name, cfg->pins[i].name) == 0)
				from[i] = k;
		}
		if (from[i] != SIZE_MAX)
			levels[i] = old_levels[from[i]];
		else
			levels[i] = is_output && cfg->pins[i].power_on == CONFIG_POWER_ON_ON;
	}
	return bridge_levels_sanitize(cfg, levels);
}
