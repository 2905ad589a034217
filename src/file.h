/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Replaces PATH with the LEN bytes of DATA so that a reader, even after a power cut, finds the
 * old file or the new one, never a mix: a temporary file of our own beside PATH (two daemons
 * sharing a directory never write the same one), fsync, rename, then fsync of the directory.
 * The file gets mode 0644. Returns 0 or a negative errno; nothing is left behind on failure. */
int file_replace(const char *path, const void *data, size_t len);
