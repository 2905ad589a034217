/* SPDX-License-Identifier: MIT */
/* Pulse counters (issue 18) end to end: the real daemon with the GPIO double and a real broker.
 * Pulses in, the exact total out; the count kept across SIGKILL (nothing published is taken
 * back), a damaged newest file falling back to the previous save, set and reset commands, lost
 * edges on the health topic, and a reload in the middle of counting. The world of test-daemon
 * (fixture.h) with one counter added to its inputs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fixture.h"

/* 10 pulses per kWh, one decimal: each pulse is 0.1 kWh. A save every 5 pulses or 1 s. */
#define COUNTER                                                                                \
	"  { name = \"energy\"; line = \"GPIO5\"; mode = \"counter\"; pulses_per_unit = 10; "  \
	"precision = 1; save_pulses = 5; save_interval_s = 1; rate_interval_ms = 0; },\n"

static bool config_add_counter(void)
{
	char *text = file_read(T.config, NULL), *at, *out = NULL;
	bool ok = false;

	if (text && (at = strstr(text, "inputs = (\n")) &&
	    asprintf(&out, "%.*s%s%s%s", (int)(at - text), text, "inputs = (\n", COUNTER,
		     at + strlen("inputs = (\n")) >= 0)
		ok = file_write(T.config, out);
	free(out);
	free(text);
	return tap_ok(ok, "config: the counter 'energy' added");
}

static bool pulses(int n)
{
	char *lines = malloc((size_t)n * 20 + 1);
	size_t used = 0;
	bool ok;

	if (!lines)
		return false;
	lines[0] = '\0';
	for (int i = 0; i < n; i++)
		used += (size_t)sprintf(lines + used, "energy 1\nenergy 0\n");
	ok = gpio_input(lines);
	free(lines);
	return ok;
}

/* The total on <base>/energy: the first message at or after *C with PAYLOAD, every total
 * before it no larger (a published total never goes back); *C moves past it. */
static bool expect_total(size_t *c, const char *payload, const char *why)
{
	char topic[256];
	long at;
	double last = -1;

	topic_of(topic, sizeof(topic), "energy");
	at = watch_wait(*c, topic, payload, TIMEOUT_MS);
	if (!tap_ok(at >= 0, "%s: total %s published", why, payload)) {
		watch_dump(*c, SIZE_MAX, topic);
		return false;
	}
	for (size_t i = *c; i <= (size_t)at; i++) {
		struct msg m;
		double v;

		if (!watch_at(i, &m) || strcmp(m.topic, topic) != 0)
			continue;
		v = strtod(m.payload, NULL);
		if (v < last) {
			tap_ok(false, "%s: the totals never go back (%.1f after %.1f)", why, v, last);
			return false;
		}
		last = v;
	}
	*c = (size_t)at + 1;
	return true;
}

/* The counts in the two files: the one with NEEDLE (e.g. "energy 25\n"). */
static bool files_have(const char *needle)
{
	char path[PATH_LEN];
	bool found = false;

	for (int i = 0; i < 2 && !found; i++) {
		char *text;

		snprintf(path, sizeof(path), "%.400s/meters-%d.state", H.tmp, i);
		text = file_read(path, NULL);
		found = text && strstr(text, needle);
		free(text);
	}
	return found;
}

/* The newer of the two files (the higher generation), or -1. */
static int newest_file(void)
{
	unsigned long long best = 0;
	int newest = -1;

	for (int i = 0; i < 2; i++) {
		char path[PATH_LEN], *text, *g;

		snprintf(path, sizeof(path), "%.400s/meters-%d.state", H.tmp, i);
		text = file_read(path, NULL);
		g = text ? strstr(text, "generation ") : NULL;
		if (g && (newest < 0 || strtoull(g + 11, NULL, 10) > best)) {
			best = strtoull(g + 11, NULL, 10);
			newest = i;
		}
		free(text);
	}
	return newest;
}

static bool start(size_t *c, const char *why)
{
	*c = watch_mark();
	return daemon_start() && expect_start(c, why, TIMEOUT_MS);
}

/* The broker, the watcher and the daemon with the counter, started; *C: from now on. */
static bool setup_counter(size_t *c)
{
	if (!setup_broker() || !config_add_counter() || !start(c, "at start"))
		return false;
	*c = watch_mark();
	return true;
}

static void scenario_count(void)
{
	char topic[256], path[PATH_LEN];
	size_t c, c0;
	int status;

	if (!setup_broker() || !config_add_counter())
		return;
	c0 = watch_mark();
	if (!start(&c, "at start"))
		return;
	if (!expect_total(&c0, "0.0", "at start, no file yet"))
		return;
	c = watch_mark();
	/* 25 pulses: saved (and published) at every fifth, the last at 25. */
	if (!pulses(25) || !expect_total(&c, "2.5", "25 pulses"))
		return;
	tap_ok(files_have("energy 25\n"), "the file holds 25 pulses");
	topic_of(topic, sizeof(topic), "energy/rate");
	tap_ok(watch_wait(0, topic, NULL, TIMEOUT_MS) >= 0, "a rate is published on %s", topic);

	/* SIGKILL: the restarted daemon publishes what was published before, never less. */
	c = watch_mark();
	child_kill(&T.daemon, SIGKILL);
	/* The broker's Last Will first, so that the restart's "online" follows it. */
	if (!expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, "SIGKILL: the Last Will"))
		return;
	c0 = watch_mark();
	if (!start(&c, "after SIGKILL"))
		return;
	c = c0;
	if (!expect_total(&c, "2.5", "after SIGKILL, restarted"))
		return;
	/* 3 pulses, fewer than save_pulses: written and published after save_interval_s. */
	if (!pulses(3) || !expect_total(&c, "2.8", "3 more pulses, after save_interval_s"))
		return;

	/* Set (a meter exchange) and reset: logged, saved and published at once. */
	if (!pub_str("energy/set", "1234.5", false) || !expect_total(&c, "1234.5", "set 1234.5"))
		return;
	tap_ok(files_have("energy 12345\n"), "the set total is in the file");
	if (!pub_str("energy/set", " RESET\n", false))
		return;
	topic_of(topic, sizeof(topic), "energy");
	tap_ok(watch_wait(c, topic, "0.0", TIMEOUT_MS) >= 0, "reset: total 0.0 published");
	tap_ok(files_have("energy 0\n"), "the reset is in the file");
	{
		const char *const set_log[] = { "counter 'energy'", "set to 1234.5 kWh",
						"was 2.8 kWh", NULL };
		const char *const reset_log[] = { "counter 'energy'", "reset to 0.0 kWh", NULL };

		tap_ok(stderr_has_line(0, set_log, LOG_TIMEOUT_MS), "the set is logged");
		tap_ok(stderr_has_line(0, reset_log, LOG_TIMEOUT_MS), "the reset is logged");
	}
	c0 = watch_mark();
	c = c0;
	if (!pub_str("energy/set", "-3", false) || !pub_str("relay/set", "ON", false) ||
	    !expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "fence after a bad total"))
		return;
	tap_ok(watch_find(c0, c, topic, NULL) < 0 && files_have("energy 0\n"),
	       "a bad total (-3) publishes and saves nothing");

	/* A damaged newest file: the previous save (the set total) is the last good value. */
	kill(T.daemon, SIGTERM);
	tap_ok(child_wait(T.daemon, EXIT_TIMEOUT_MS, &status) && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0, "SIGTERM: a clean stop");
	T.daemon = 0;
	snprintf(path, sizeof(path), "%.400s/meters-%d.state", H.tmp, newest_file() == 1);
	if (!tap_ok(file_write(path, "gpio2mqtt-meters 1\ngeneration 99\nenergy 7"),
		    "the newest file cut short"))
		return;
	c0 = watch_mark();
	if (!start(&c, "with a damaged newest file"))
		return;
	expect_total(&c0, "1234.5", "the previous save is used");
	{
		const char *const warn[] = { "counters:", "checksum", "the other file", NULL };

		tap_ok(stderr_has_line(0, warn, LOG_TIMEOUT_MS), "a warning names the damaged file");
	}
}

/* Lost edges: counted per counter, on the health topic and in the log. */
static void scenario_lost(void)
{
	char topic[256];
	size_t c, h;
	struct msg m;

	if (!setup_counter(&c))
		return;
	if (!gpio_input("energy 1 lost=4\nenergy 0\n") || !pulses(4) ||
	    !expect_total(&c, "0.5", "5 pulses reported after 4 lost edges"))
		return;
	h = watch_mark();
	if (!pub_str("health/get", "", false))
		return;
	snprintf(topic, sizeof(topic), "%s/health", T.base);
	if (!tap_ok(watch_next(&h, topic, TIMEOUT_MS, &m), "health answers"))
		return;
	if (!tap_ok(strstr(m.payload, "\"counters_edges_lost\":{\"energy\":4}") != NULL,
		    "health: counters_edges_lost {\"energy\":4}"))
		tap_diag("health: %s", m.payload);
	{
		const char *const warn[] = { "counter 'energy'", "dropped 4 edges",
					     "up to 2 pulses may be missing", NULL };

		tap_ok(stderr_has_line(0, warn, LOG_TIMEOUT_MS), "the lost edges are logged");
	}
}

/* A reload while counting: no pulse lost, none counted twice. */
static void scenario_reload(void)
{
	char events[PATH_LEN];
	off_t from;
	size_t c;

	if (!setup_counter(&c))
		return;
	if (!pulses(10) || !expect_total(&c, "1.0", "10 pulses"))
		return;
	/* 3 pulses the daemon has seen (the double logs each event) but not yet saved. */
	gpio_path(events, "events.log");
	if (!pulses(3) || !tap_ok(file_wait_count(events, "energy 1 lost=0", 13, TIMEOUT_MS),
				  "the 3 pulses were read"))
		return;
	/* precision 2 from now on; the 3 unsaved pulses cross the reload. */
	{
		char *text = file_read(T.config, NULL), *at = text ? strstr(text, "precision = 1") : NULL;

		if (!tap_ok(at != NULL, "config: precision found"))
			return;
		at[strlen("precision = ")] = '2';
		file_write(T.config, text);
		free(text);
	}
	from = file_size(T.daemon_err);
	kill(T.daemon, SIGHUP);
	/* Saved (and published with the old precision) before the new settings apply. */
	if (!expect_total(&c, "1.3", "the reload saves the unsaved pulses first"))
		return;
	{
		const char *const applied[] = { "reload:", "applied", NULL };

		if (!tap_ok(stderr_has_line(from, applied, TIMEOUT_MS), "the reload is applied"))
			return;
	}
	if (!pulses(7) || !expect_total(&c, "2.00", "3 before and 7 after the reload"))
		return;
	tap_ok(files_have("energy 20\n"), "the file holds 20 pulses");
}

/* Counting while the broker is down: on reconnect the right total (as saved) and a rate. */
static void scenario_offline(void)
{
	char events[PATH_LEN], topic[256];
	unsigned int subs;
	size_t c;
	int status;

	if (!setup_counter(&c))
		return;
	if (!pulses(2) || !expect_total(&c, "0.2", "2 pulses (saved after 1 s)"))
		return;
	subs = watch_subacks();
	kill(T.broker.pid, SIGKILL);
	waitpid(T.broker.pid, &status, 0);
	T.broker.pid = 0;
	/* 15 pulses while nobody listens: 3 saves (5 each), nothing published. */
	gpio_path(events, "events.log");
	if (!pulses(15) || !tap_ok(file_wait_count(events, "energy 1 lost=0", 17, TIMEOUT_MS),
				   "broker down: the 15 pulses were read"))
		return;
	tap_ok(file_wait_count(events, "energy 0 lost=0", 17, TIMEOUT_MS) && expect_alive("broker down"),
	       "broker down: the daemon counts on");
	c = watch_mark();
	if (!tap_ok(broker_up(), "broker restarted on port %d", T.broker.port) ||
	    !tap_ok(watch_wait_subacks(subs + 1, RECONNECT_TIMEOUT_MS), "watcher resubscribed"))
		return;
	topic_of(topic, sizeof(topic), "energy");
	tap_ok(watch_wait(c, topic, "1.7", RECONNECT_TIMEOUT_MS) >= 0,
	       "reconnected: the total of all 17 pulses (1.7) is published");
	topic_of(topic, sizeof(topic), "energy/rate");
	tap_ok(watch_wait(c, topic, NULL, TIMEOUT_MS) >= 0, "reconnected: a rate is published");
	tap_ok(files_have("energy 17\n"), "the file holds 17 pulses");
}

static const struct scenario scenarios[] = {
	{ "count", scenario_count },
	{ "lost", scenario_lost },
	{ "reload", scenario_reload },
	{ "offline", scenario_offline },
};

int main(int argc, char **argv)
{
	return fixture_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
