/* SPDX-License-Identifier: MIT */
#pragma once

/* The one TAP producer of the unit and integration tests: each check prints "ok N - what" or
 * "not ok N - what" with the values that differed, and returns whether it passed; tap_done()
 * prints the plan and returns the exit status. */

#include <stdbool.h>
#include <stddef.h>

bool tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool tap_is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned int tap_failures(void); /* failed checks so far */
int tap_done(void);
