/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The sealed envelope that every state file of the daemon shares:
 *   <magic line>                 (e.g. "gpio2mqtt-state 1\n")
 *   <records>                    (the body: whole lines, the store's own business)
 *   checksum <16 hex digits: FNV-1a 64 (util_fnv1a from UTIL_FNV1A_OFFSET) of every byte before
 *            this line>
 * A file whose envelope is not intact is corrupt and is trusted in no part. */

/* Outcomes of sealed_open() and sealed_read() other than 0. The first three are the
 * file_read_outcome values of file.h (sealed_read() hands them on unchanged). */
enum sealed_outcome {
	SEALED_MISSING = 1,            /* FILE_READ_MISSING: no such file */
	SEALED_NOT_REGULAR = 2,        /* FILE_READ_NOT_REGULAR */
	SEALED_TOO_LARGE = 3,          /* FILE_READ_TOO_LARGE */
	SEALED_NUL = 4,                /* it contains NUL bytes */
	SEALED_NO_MAGIC = 5,           /* it does not start with the format line */
	SEALED_NO_CHECKSUM = 6,        /* it has no checksum line */
	SEALED_CHECKSUM_MALFORMED = 7, /* its checksum line is malformed */
	SEALED_CHECKSUM_MISMATCH = 8,  /* its checksum does not match */
	/* sealed_record() */
	SEALED_END = 9,                /* no record left */
	SEALED_UNTERMINATED = 10,      /* a line is not terminated */
	SEALED_MALFORMED = 11,         /* a line without a space, or with nothing before it */
};

/* Checks the envelope of the LEN bytes at TEXT (NUL-terminated at TEXT[LEN]) against MAGIC (the
 * whole first line, with its newline). When it is intact, cuts TEXT before the checksum line and
 * points *BODY at the records (a NUL-terminated string inside TEXT, empty when there are none).
 * Returns 0 or a sealed_outcome from SEALED_NUL on (*BODY is then NULL and TEXT unchanged). */
int sealed_open(char *text, size_t len, const char *magic, char **body);

/* The next record of a body from sealed_open(), at *CURSOR: a line "<name> <value>" split at its
 * last space. Returns 0 (*NAME and *VALUE NUL-terminated inside the body, *CURSOR on the next
 * line), SEALED_END when no record is left, SEALED_UNTERMINATED, or SEALED_MALFORMED (*NAME is
 * then the whole line, without its newline). */
int sealed_record(char **cursor, char **name, char **value);

/* Reads PATH with file_read_regular() (at most MAX bytes) and opens it with sealed_open().
 * Returns 0 (*TEXT is the whole file, to be freed; *BODY points into it), a sealed_outcome
 * (*TEXT and *BODY are NULL) or a negative errno. */
int sealed_read(const char *path, size_t max, const char *magic, char **text, char **body);

/* MAGIC, the BODY_LEN bytes of BODY and the checksum line, in *OUT (*OUT_LEN bytes,
 * NUL-terminated, to be freed). Returns 0 or -ENOMEM. */
int sealed_seal(const char *magic, const char *body, size_t body_len, char **out,
		size_t *out_len);

/* sealed_seal() then file_replace() of PATH. Returns 0 or a negative errno. */
int sealed_write(const char *path, const char *magic, const char *body, size_t body_len);

/* A human-readable reason for a sealed_outcome, e.g. "its checksum does not match". */
const char *sealed_outcome_string(int outcome);
