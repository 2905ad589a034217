/* SPDX-License-Identifier: MIT */
#pragma once

/* The covers = ( ... ) list (src/cover.h): read after every input, output and interlock group,
 * by the rows of config_pin_keys that apply to CONFIG_KIND_COVER. Internal to config*.c (it
 * takes libconfig's setting). */

#include <libconfig.h>

#include "config.h"

/* Appends a cover pin (direction CONFIG_DIRECTION_COVER) to CFG for each element of ROOT's
 * covers list, and reports every problem to ERRORS as FILE:LINE (PATH when the setting has no
 * file). Returns 0 (problems reported) or -ENOMEM. */
int config_covers_parse(struct config *cfg, const config_setting_t *root, const char *path,
			struct config_errors *errors);
