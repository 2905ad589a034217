/* SPDX-License-Identifier: MIT */
#pragma once

/* The semantic checks of single values (names, hosts, topics, device classes, button timings,
 * pulses, TLS files, secret files), without libconfig. Each returns CONFIG_CHECK_OK,
 * CONFIG_CHECK_PROBLEM with *MESSAGE set to the whole message (malloc'd; config.c reports it at
 * the key's FILE:LINE and owns it from then on), or -ENOMEM. CTX names the group in messages
 * ("input 'hall'"). */

#include <stdbool.h>

#include "config.h"

enum config_check {
	CONFIG_CHECK_OK,
	CONFIG_CHECK_PROBLEM,
};

#define CONFIG_SECRET_SIZE_MAX 4096 /* bytes in a password file (its first line is used) */

int config_check_host(const char *ctx, const char *host, char **message);
int config_check_client_id(const char *id, char **message);
int config_check_base_topic(const char *topic, char **message);
/* A discovery topic (prefix, birth_topic): a valid topic without wildcards. */
int config_check_discovery_topic(const char *key, const char *value, char **message);
/* A pin name is one topic level and not a reserved one ("status", "health"). */
int config_check_pin_name(const char *ctx, const char *name, char **message);
int config_check_device_class(const char *ctx, const char *value, char **message);
/* device_class of PIN: a binary sensor class, or for a counter a meter's sensor class (energy,
 * water, gas: those Home Assistant's Energy dashboard takes). */
int config_check_pin_device_class(const char *ctx, const struct config_pin *pin, const char *value,
				  char **message);
/* payload of PIN: "json" where the kind has JSON payloads (not a counter: plain numbers). */
int config_check_pin_payload(const char *ctx, const struct config_pin *pin, char **message);
/* A counter's unit or rate_unit (KEY), VALUE: one Home Assistant accepts for its device class
 * (energy when none is set). */
int config_check_counter_unit(const char *ctx, const struct config_pin *pin, const char *key,
			      const char *value, char **message);
/* line = N (a number): always a problem, with the line name and the chip + offset form meant. */
int config_check_line_number(const char *ctx, int n, char **message);
/* LINE is the line OTHER (of pin OTHER_CTX, at OTHER_LINE in the file) already uses: a problem. */
int config_check_line_reuse(const char *ctx, const struct config_line *line,
			    const struct config_line *other, const char *other_ctx, int other_line,
			    char **message);
/* A name for people (display_name, device_name): valid UTF-8, no control characters, at most
 * CONFIG_DISPLAY_NAME_MAX bytes. */
#define CONFIG_DISPLAY_NAME_MAX 128
int config_check_display_name(const char *ctx, const char *key, const char *value,
			      char **message);
int config_check_long_press(const char *ctx, const struct config_pin *pin, char **message);
int config_check_double_press(const char *ctx, const struct config_pin *pin, char **message);
/* pulse_ms only with power_on = "off". */
int config_check_pulse(const char *ctx, const struct config_pin *pin, char **message);
/* The file (DIR: directory) named by the mqtt.tls key KEY must be readable now, so that --check
 * catches a wrong path; its contents are checked by TLS at connect time. */
int config_check_tls_path(const char *key, bool dir, const char *value, char **message);
/* Reads the first line of PATH into *OUT (a password; the caller wipes it). Messages say
 * "CTX: ... WHAT PATH ..." and never contain anything read from the file. */
int config_secret_read(const char *ctx, const char *what, const char *path, char **out,
		       char **message);
