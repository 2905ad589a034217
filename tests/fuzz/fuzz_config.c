/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the configuration loader (libconfig's parser, then every check of config.c
 * and the key tables) on arbitrary bytes, and the --check -v dump of whatever loads. Built with
 * -Dfuzz=enabled (clang); see tests/fuzz/README.md. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static FILE *devnull;
	static int fd = -1;
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;

	if (fd < 0) {
		fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
		devnull = fopen("/dev/null", "we");
		if (fd < 0 || !devnull)
			return -1;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		log_init(LOG_EMERG); /* the loader logs nothing; keep it so */
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return -1;
	if (config_load(path, &cfg, &errors) == 0) {
		config_dump(cfg, devnull);
		config_free(cfg);
	}
	for (size_t i = 0; i < errors.n; i++) {
		char line[1024];

		config_error_format(&errors.items[i], line, sizeof(line));
	}
	config_errors_clear(&errors);
	return 0;
}
