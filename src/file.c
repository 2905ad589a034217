/* SPDX-License-Identifier: MIT */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int file_replace(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, dir_fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = file_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		goto unlink_tmp;
	/* The rename itself must reach the disk before anyone relies on it. */
	snprintf(dir, sizeof(dir), "%s", path);
	dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0) {
		fsync(dir_fd);
		close(dir_fd);
	}
	return 0;

unlink_tmp:
	unlink(tmp);
	return r;
}

int file_read_regular(const char *path, size_t max, char **data, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, r;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? FILE_READ_MISSING : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : FILE_READ_NOT_REGULAR;
		goto close_fd;
	}
	if ((uintmax_t)st.st_size > max) {
		r = FILE_READ_TOO_LARGE;
		goto close_fd;
	}
	buf = malloc(max + 1);
	if (!buf) {
		r = -ENOMEM;
		goto close_fd;
	}
	/* Read up to one byte past the limit: a file that grew since fstat() is too large too. */
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto free_buf;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			r = FILE_READ_TOO_LARGE;
			goto free_buf;
		}
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	close(fd);
	return 0;

free_buf:
	free(buf);
close_fd:
	close(fd);
	return r;
}

const char *file_read_outcome_string(int outcome)
{
	switch (outcome) {
	case FILE_READ_MISSING:
		return "it does not exist";
	case FILE_READ_NOT_REGULAR:
		return "it is not a regular file";
	case FILE_READ_TOO_LARGE:
		return "it is too large";
	default:
		return "it cannot be read";
	}
}
