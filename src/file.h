/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Replaces PATH with the LEN bytes of DATA so that a reader, even after a power cut, finds the
 * old file or the new one, never a mix: a temporary file of our own beside PATH (two daemons
 * sharing a directory never write the same one), fsync, rename, then fsync of the directory.
 * The file gets mode 0644. Returns 0 or a negative errno; nothing is left behind on failure. */
int file_replace(const char *path, const void *data, size_t len);

/* Outcomes of file_read_regular() other than 0: what a state directory may hold by mistake or
 * malice, which the daemon ignores (with a warning) rather than trusts. */
enum file_read_outcome {
	FILE_READ_MISSING = 1,     /* no such file */
	FILE_READ_NOT_REGULAR = 2, /* a FIFO, a device, a directory, a socket...: not read */
	FILE_READ_TOO_LARGE = 3,   /* larger than the caller's limit: not read */
};

/* Reads PATH whole into *DATA (NUL-terminated, to be freed; *LEN bytes without the NUL) when it is
 * a regular file of at most MAX bytes. It is opened without blocking (a FIFO cannot hold the
 * caller up) and checked with fstat() on the open descriptor, so a symbolic link is followed
 * only to a regular file. Returns 0, a file_read_outcome (*DATA is NULL), or a negative errno
 * (-EISDIR for a directory). */
int file_read_regular(const char *path, size_t max, char **data, size_t *len);

/* A human-readable reason for a file_read_outcome. */
const char *file_read_outcome_string(int outcome);
