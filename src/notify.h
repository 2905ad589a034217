/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* sd_notify(3) for the service manager; every call is a no-op when gpio2mqtt is built without
 * libsystemd or not started by systemd. */

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_watchdog(void);

/* WatchdogSec= of the service (WATCHDOG_USEC), or 0 when the watchdog is off. */
uint64_t notify_watchdog_usec(void);
/* The interval at which notify_watchdog() must be called (half of WATCHDOG_USEC), or 0 when
 * the service manager expects no pings. */
uint64_t notify_watchdog_interval_usec(void);
