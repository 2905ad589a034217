/* SPDX-License-Identifier: MIT */
/* The build's ABI choices that matter on 32-bit targets (armhf): the daemon stats configuration,
 * credential and TLS files that may live on filesystems with 64-bit inode numbers, where a
 * 32-bit ino_t/off_t stat() fails with EOVERFLOW. meson passes -D_FILE_OFFSET_BITS=64 itself
 * today; this guards it. Run natively and under qemu-arm (unit-armhf). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "tap.h"

int main(void)
{
	struct stat st;

	tap_is_int((long long)sizeof(off_t), 8, "off_t is 64-bit (_FILE_OFFSET_BITS=64)");
	tap_is_int((long long)sizeof(ino_t), 8, "ino_t is 64-bit (_FILE_OFFSET_BITS=64)");
	tap_ok(stat("meson.build", &st) == 0, "stat() of a file works: %s", strerror(errno));
	/* time_t is 32-bit on bookworm's armhf and 64-bit on trixie's: the code must not care,
	 * so this is a diagnostic, not a check */
	tap_diag("sizeof(time_t) = %zu, sizeof(long) = %zu", sizeof(time_t), sizeof(long));
	return tap_done();
}
