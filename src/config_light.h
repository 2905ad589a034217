/* SPDX-License-Identifier: MIT */
#pragma once

/* The configuration of PWM lights that the key tables cannot express: the pwm group with its
 * floating-point curve (read with libconfig, so it lives beside config.c), printed for
 * --check -v, and the checks across groups (a light is no member of an interlock group). */

#include <stdio.h>

#include "config.h"

struct config_setting_t;

/* Reads the pwm group of the light PIN (its group G, CTX "light 'name'") into PIN->pwm with
 * every default filled in; each problem is appended to ERRORS as FILE:LINE (PATH when the
 * setting has no file of its own). Returns 0 or -ENOMEM. */
int config_light_pwm_read(struct config_errors *errors, const char *path,
			  const struct config_setting_t *g, const char *ctx, struct config_pin *pin);

/* Prints "pwm = { ... }" (without the ';') as config_dump() does, loading to the same values. */
void config_light_pwm_dump(FILE *out, const struct config_pwm *pwm);

/* The checks that need the whole configuration: no light in an interlock group. Returns 0 or
 * -ENOMEM; problems are appended to ERRORS. */
int config_light_finish(struct config_errors *errors, const struct config *cfg);
