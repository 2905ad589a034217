/* SPDX-License-Identifier: MIT */
#pragma once

/* Where the daemon keeps files across restarts: the state directory, systemd's
 * StateDirectory= ($STATE_DIRECTORY, the first of a ':'-separated list) when set, else the
 * configuration's state_dir. */

#include <stddef.h>

#include "config.h"

/* "<state directory>/<FILE>" into BUF: 0 or -ENAMETOOLONG. */
int paths_state_file(const struct config *cfg, const char *file, char *buf, size_t size);

/* Creates the directory PATH (a file's path) is in, as nobody does outside systemd; a failure
 * is logged (the write that follows then fails and says so too). */
void paths_dir_create(const char *path);
