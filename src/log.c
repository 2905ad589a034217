/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_max_priority = LOG_INFO;
static bool log_journal;

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected stderr to; it is inherited by
 * children that may have stderr redirected elsewhere, so compare it with stderr itself. */
static bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(int max_priority)
{
	log_max_priority = max_priority;
	log_journal = log_stderr_is_journal();
}

__attribute__((format(printf, 3, 0))) static void log_vmsg(int priority, bool label,
							   const char *fmt, va_list ap)
{
	char line[1024];
	int n = 0;

	if (priority > log_max_priority)
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>", priority);
	else if (label && priority <= LOG_ERR)
		n = snprintf(line, sizeof(line), "error: ");
	else if (label && priority == LOG_WARNING)
		n = snprintf(line, sizeof(line), "warning: ");

	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);

	/* One write per line keeps lines whole when the network thread logs at the same time. */
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, true, fmt, ap);
	va_end(ap);
}

void log_plain(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, false, fmt, ap);
	va_end(ap);
}
