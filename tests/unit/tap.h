/* SPDX-License-Identifier: MIT */
#pragma once

/* A tiny TAP producer for the unit tests: each check prints "ok N - what" or "not ok N - what"
 * with the values that differed, and tap_done() prints the plan and returns the exit status. */

#include <stdbool.h>
#include <stddef.h>

void tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_done(void);
