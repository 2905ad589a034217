/* SPDX-License-Identifier: MIT */
#pragma once

/* The text side of loading a configuration, without libconfig: UTF-8 and MQTT topic checks,
 * quoting values for messages, "did you mean" closeness, the hostname used in defaults, and the
 * list of errors. Internal to config*.c. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

#define CONFIG_QUOTE_MAX 96 /* a value quoted in a message, cut with "..." */
#define CONFIG_HOST_MAX 64  /* bytes of the hostname used in defaults */

/* Why a string is not a valid topic level (or topic). */
enum config_topic_problem {
	CONFIG_TOPIC_OK,
	CONFIG_TOPIC_EMPTY,
	CONFIG_TOPIC_TOO_LONG,
	CONFIG_TOPIC_UTF8,
	CONFIG_TOPIC_WILDCARD,
	CONFIG_TOPIC_SLASH,
	CONFIG_TOPIC_CONTROL,
	CONFIG_TOPIC_DOLLAR,
	CONFIG_TOPIC_EMPTY_LEVEL,
};

/* Checks S as one topic level (LEVEL) or as a whole topic of several levels. */
enum config_topic_problem config_topic_check(const char *s, bool level);

/* Valid UTF-8 without control characters: text for people (a display name). */
bool config_text_valid(const char *s);

/* Writes S in double quotes for a message: printable ASCII and valid non-control UTF-8 as they
 * are, '"' and '\' escaped, any other byte as \xNN; a long value is cut with "...". SIZE must be
 * at least 16. */
void config_quote(char *buf, size_t size, const char *s);

/* How close KEY is to the known key CANDIDATE, smaller is closer; above 3: not close. */
size_t config_key_closeness(const char *key, const char *candidate);

/* The hostname for defaults (client id, base topic): up to its first '.', made safe for a
 * client id and a topic level; GPIO2MQTT_HOSTNAME replaces it (a test hook). */
void config_hostname_get(char *buf, size_t size);

/* After a syntax error at LINE: when FP's text has a comma followed (past blanks and comments)
 * by the ')' or ']' that closes a list on LINE, the line of that comma; else 0 (libconfig 1.5
 * refuses such a comma with only "syntax error"). Reads FP from its start. */
int config_trailing_comma_line(FILE *fp, int line);

/* Appends "FILE:LINE: MESSAGE" to ERRORS, taking MESSAGE (freed also on failure). Returns 0 or
 * -ENOMEM. */
int config_errors_add(struct config_errors *errors, const char *file, int line, char *message);
/* Orders the errors from index FIRST on by line, keeping the order of errors on one line. */
void config_errors_sort(struct config_errors *errors, size_t first);
