/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/* Priorities are syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). Under
 * systemd (JOURNAL_STREAM set and stderr is that stream) each line carries a "<N>" prefix so the
 * journal records its priority; otherwise lines read "gpio2mqtt: warning: ...". */
void log_init(int max_priority);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same without the "error: "/"warning: " word on a terminal, for lines that carry their own
 * prefix, such as "gpio2mqtt.conf:17: ...". */
void log_plain(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
