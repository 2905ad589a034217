/* SPDX-License-Identifier: MIT */
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

int paths_state_file(const struct config *cfg, const char *file, char *buf, size_t size)
{
	const char *dir = getenv("STATE_DIRECTORY");
	size_t len;
	int n;

	if (dir && dir[0])
		len = strcspn(dir, ":");
	else
		len = strlen(dir = cfg->state_dir);
	n = snprintf(buf, size, "%.*s/%s", (int)len, dir, file);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void paths_dir_create(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warning("cannot create %s: %s", dir, strerror(errno));
}
