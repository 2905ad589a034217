/* SPDX-License-Identifier: MIT */
#pragma once

/* The PWM lights of the running daemon: each light's channel (src/pwm.c) and model
 * (src/light.c), commands, bindings from inputs, fades on the daemon's timer, and what to
 * publish. daemon.c calls these and then takes the lights whose state must be published
 * (lights_changed_take()); it publishes them and saves the state file. Lights are the last
 * cfg->n_lights pins (config.h); PIN below is a pin index of the configuration. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pwm.h"

struct lights;

/* Opens and starts every light of CFG (which must outlive the lights) through SYS (NULL: the
 * real /sys, or the directory in $GPIO2MQTT_SYSFS, a test hook). ON and VALUES (indexed like
 * cfg->pins) are the restored state of power_on = "restore" lights (ON, and the level ON goes
 * back to, 0..LIGHT_LEVEL_MAX); NULL: none. Returns 0, or pwm_open()'s or pwm_apply()'s
 * negative errno when a channel cannot be opened or started (logged by pwm.c; -ENOENT: no
 * such chip, -ERANGE: no such channel); then nothing stays exported. */
/* --check on the target: every light's PWM chip and channel must exist on this machine.
 * Returns the number of problems, each reported at the light's pwm group as FILE:LINE (a
 * machine without any PWM chip is noted, not counted). */
size_t lights_check(const struct config *cfg);

int lights_open(struct lights **out, const struct config *cfg, const struct pwm_sysfs *sys,
		const bool *on, const unsigned int *values);
/* Unexports every channel (each keeps its output as it is) and frees L. NULL is fine. */
void lights_close(struct lights *l);

/* A reload: CFG replaces the configuration. A light with the same name on the same chip and
 * channel keeps its channel and brightness (with an unchanged curve and frequency, nothing is
 * written); a new one opens at its power_on level; one no longer configured is released.
 * All or nothing: on failure (logged) nothing changed. */
int lights_reload(struct lights *l, const struct config *cfg);

/* A command for light PIN: the payload (ON, OFF, TOGGLE, a brightness 0..brightness_scale, or
 * JSON), or with PERCENT a Homie brightness 0..100. Returns 0 (the state is always published
 * again), -EINVAL for a payload that is no command (logged), -ENOENT for a pin that is no
 * light. */
int lights_command(struct lights *l, size_t pin, const void *payload, size_t len, bool percent,
		   uint64_t now);
/* Input PIN became ACTIVE at NOW: its bindings to lights act (a button toggles on a short
 * press and dims while held; a switch toggles on each change; follow, on, off as for outputs). */
void lights_edge(struct lights *l, size_t pin, bool active, uint64_t now);
/* Bindings with when = "offline" act only while this is false. */
void lights_connected_set(struct lights *l, bool connected);

/* Fades and ramps to NOW. */
void lights_tick(struct lights *l, uint64_t now);
/* When lights_tick() is due, or UINT64_MAX. */
uint64_t lights_deadline(const struct lights *l);

/* on_exit = "off": those lights go dark at once (their state is to be published). */
void lights_exit(struct lights *l);

/* The next light whose state is to be published (after a command, a change, a reload...):
 * true and *PIN, cleared; false when there is none left. */
bool lights_changed_take(struct lights *l, size_t *pin);

/* Light PIN: ON (on or going on), its brightness in its scale and in percent (the last one
 * while OFF), and the level ON goes back to (for the state file). */
bool lights_on(const struct lights *l, size_t pin);
unsigned int lights_brightness(const struct lights *l, size_t pin, unsigned int scale);
unsigned int lights_value(const struct lights *l, size_t pin);
