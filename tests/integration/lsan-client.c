/* SPDX-License-Identifier: MIT */
/* Linked into the test programs only, never into the daemon: their MQTT listener threads run
 * until exit, and LeakSanitizer then sometimes counts libmosquitto's buffers of a connection
 * still in use as leaked (seen about twice in twelve sanitizer runs). The daemon under test is
 * a separate binary, so its leaks are still reported in full. */
const char *__lsan_default_suppressions(void);

__attribute__((used)) const char *__lsan_default_suppressions(void)
{
	return "leak:libmosquitto.so\n";
}
