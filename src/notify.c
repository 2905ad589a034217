/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "build-config.h"
#include "util.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void notify_send(const char *state)
{
#if HAVE_LIBSYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

void notify_ready(void)
{
	notify_send("READY=1");
}

void notify_reloading(void)
{
	char buf[64];

	/* systemd 253+ wants MONOTONIC_USEC with RELOADING=1 for Type=notify-reload; older ones
	 * ignore the extra field. */
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)util_clock_us(CLOCK_MONOTONIC));
	notify_send(buf);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(buf);
}

void notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
#if HAVE_LIBSYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return usec;
#endif
	return 0;
}

uint64_t notify_watchdog_interval_usec(void)
{
	return notify_watchdog_usec() / 2;
}
