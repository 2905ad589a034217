/* SPDX-License-Identifier: MIT */
/* Operations (issue 7): <base>/health, the watchdog, reload, in the world of test-daemon
 * (fixture.h: its broker, watcher, GPIO double and good configuration):
 *
 *   test-ops SCENARIO DAEMON MOSQUITTO
 */

#include "fixture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers */

/* Replaces the first NEEDLE in the config file with REPLACEMENT. */
static bool config_edit(const char *needle, const char *replacement)
{
	char *text = file_read(T.config, NULL), *at, *out = NULL;
	bool ok = false;

	if (text && (at = strstr(text, needle)) &&
	    asprintf(&out, "%.*s%s%s", (int)(at - text), text, replacement,
		     at + strlen(needle)) >= 0)
		ok = file_write(T.config, out);
	free(out);
	free(text);
	/* One line in the TAP output, whatever the texts hold. */
	return tap_ok(ok, "config: \"%.*s\"... -> \"%.*s\"...", (int)strcspn(needle, "\n"), needle,
		      (int)strcspn(replacement, "\n"), replacement);
}

/* The number after "KEY": in JSON, or -1. */
static long long json_num(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	if (!p)
		return -1;
	p += strlen(needle);
	if (*p < '0' || *p > '9')
		return -1;
	return strtoll(p, NULL, 10);
}

/* Asks for <base>/health and returns the next one after the request in *OUT (a copy to free). */
static bool health_get(char **out, const char *why)
{
	char topic[256];
	size_t c = watch_mark();
	struct msg m;

	*out = NULL;
	if (!pub_str("health/get", "", false))
		return false;
	snprintf(topic, sizeof(topic), "%s/health", T.base);
	if (!tap_ok(watch_next(&c, topic, TIMEOUT_MS, &m), "%s: %s answers health/get", why, topic))
		return false;
	if (m.retain)
		tap_ok(false, "%s: health is not retained", why);
	*out = strdup(m.payload);
	return *out != NULL;
}

/* Asks for health until KEY is at least MIN (the broker's acknowledgements arrive at their own
 * pace), TIMEOUT_MS at most; returns the last value. */
static long long health_wait(const char *key, long long min, const char *why)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	long long v = -1;
	char *json = NULL;

	do {
		free(json);
		if (!health_get(&json, why))
			return -1;
		v = json_num(json, key);
		if (v >= min)
			break;
		pause_ms(50);
	} while (now_ms() < deadline);
	if (!tap_ok(v >= min, "%s: health %s = %lld >= %lld", why, key, v, min))
		tap_diag("health: %s", json);
	free(json);
	return v;
}

/* ---------------------------------------------------------------------------------------------
 * Scenarios */

/* <base>/health: every field there, on request and periodically, never retained; the numbers
 * move with edges, acknowledged publishes and a broker restart. */
static void scenario_health(void)
{
	static const char *const keys[] = {
		"uptime_s", "edges_seen", "edges_lost", "publishes_acknowledged",
		"publishes_failed", "publishes_denied", "reconnects", "queue_depth",
		"queue_inflight", "queue_held", "queue_incoming", "config_generation",
	};
	char topic[256], broker[64], *json = NULL;
	long long edges, lost, acked;
	size_t c;
	struct msg m;
	int status, n;

	if (!setup_broker())
		return;
	/* A short period, so the periodic publish is seen within the test's time. */
	if (!config_edit("keepalive = 5;", "keepalive = 5; health_interval_s = 1;"))
		return;
	if (!daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;

	if (!health_get(&json, "at start"))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tap_ok(json_num(json, keys[i]) >= 0, "at start: health has \"%s\" (a number)", keys[i]);
	tap_ok(json_num(json, "config_generation") == 1, "at start: config_generation 1");
	tap_ok(json_num(json, "reconnects") == 0, "at start: reconnects 0");
	tap_ok(json_num(json, "publishes_denied") == 0, "at start: publishes_denied 0");
	tap_ok(json_num(json, "publishes_failed") == 0, "at start: publishes_failed 0");
	tap_ok(strstr(json, "\"connected\":true") != NULL, "at start: connected true");
	snprintf(broker, sizeof(broker), "\"broker\":\"127.0.0.1:%d\"", T.broker.port);
	tap_ok(strstr(json, broker) != NULL, "at start: health names the broker (%s)", broker);
	edges = json_num(json, "edges_seen");
	lost = json_num(json, "edges_lost");
	if (tap_failures())
		tap_diag("health: %s", json);
	free(json);

	/* Edges, one of them after 3 the kernel dropped. */
	c = watch_mark();
	gpio_input("button 1\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "edge button 1");
	gpio_input("button 0 lost=3\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "edge button 0 after 3 lost");
	if (health_get(&json, "after 2 edges")) {
		tap_ok(json_num(json, "edges_seen") == edges + 2, "after 2 edges: edges_seen %lld",
		       edges + 2);
		tap_ok(json_num(json, "edges_lost") == lost + 3, "after 3 lost: edges_lost %lld",
		       lost + 3);
		if (tap_failures())
			tap_diag("health: %s", json);
		free(json);
	}
	/* An edge after 2 lost, and the line read afterwards at another level (what gpio.c does
	 * after a loss): that read is no edge of its own, so seen + lost = 1 + 2 made. */
	gpio_input("button 1 lost=2 now=0\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS,
		   "the newest state of the read, the line's level after the loss: OFF");
	if (health_get(&json, "after a loss and a read")) {
		tap_ok(json_num(json, "edges_seen") == edges + 3,
		       "the level read after a loss is not counted as an edge: edges_seen %lld",
		       edges + 3);
		tap_ok(json_num(json, "edges_lost") == lost + 5, "edges_lost %lld", lost + 5);
		if (tap_failures())
			tap_diag("health: %s", json);
		free(json);
	}

	/* Acknowledged publishes: a command's echo is one more QoS 1 publish. */
	acked = health_wait("publishes_acknowledged", 1, "after start");
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON");
	health_wait("publishes_acknowledged", acked + 1, "after relay/set ON");

	/* Periodic, without a request, not retained. */
	snprintf(topic, sizeof(topic), "%s/health", T.base);
	c = watch_mark();
	n = 0;
	while (n < 2 && watch_next(&c, topic, 3000, &m)) {
		tap_ok(!m.retain, "periodic health %d: not retained", n + 1);
		n++;
	}
	tap_ok(n == 2, "health_interval_s = 1: two periodic health messages within 6 s");

	/* A broker restart is one reconnect. */
	kill(T.broker.pid, SIGKILL);
	waitpid(T.broker.pid, &status, 0);
	T.broker.pid = 0;
	{
		unsigned int subs = watch_subacks();

		c = watch_mark();
		if (!tap_ok(broker_up(), "broker restarted on port %d", T.broker.port))
			return;
		if (!tap_ok(watch_wait_subacks(subs + 1, RECONNECT_TIMEOUT_MS),
			    "watcher resubscribed"))
			return;
	}
	if (!expect_msg(&c, NULL, "online", true, RECONNECT_TIMEOUT_MS, "after a broker restart"))
		return;
	health_wait("reconnects", 1, "after a broker restart");
	expect_alive("after the health checks");
}

/* ---------------------------------------------------------------------------------------------
 * The service manager's notify socket: read all the time (sd_notify blocks when its queue is
 * full), with the arrival time of every WATCHDOG=1. */

#define PINGS_MAX 4096

static struct {
	int fd;
	pthread_mutex_t lock;
	int64_t pings[PINGS_MAX];
	size_t n_pings;
	char path[PATH_LEN];
} N = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static void *notify_reader(void *arg)
{
	char buf[4096];
	ssize_t n;

	(void)arg;
	while ((n = recv(N.fd, buf, sizeof(buf) - 1, 0)) >= 0) {
		buf[n] = '\0';
		if (!strstr(buf, "WATCHDOG=1"))
			continue;
		pthread_mutex_lock(&N.lock);
		if (N.n_pings < PINGS_MAX)
			N.pings[N.n_pings++] = now_ms();
		pthread_mutex_unlock(&N.lock);
	}
	return NULL;
}

static bool notify_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t thread;

	path_in(N.path, H.tmp, "notify");
	if (strlen(N.path) >= sizeof(sa.sun_path))
		return tap_ok(false, "notify socket path fits");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", N.path);
	N.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (N.fd < 0 || bind(N.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return tap_ok(false, "bind the notify socket %s: %s", N.path, strerror(errno));
	if (pthread_create(&thread, NULL, notify_reader, NULL) != 0)
		return tap_ok(false, "start the notify reader");
	pthread_detach(thread);
	return true;
}

/* WATCHDOG=1 received in [FROM, TO) (ms on now_ms()'s clock). */
static size_t pings_between(int64_t from, int64_t to)
{
	size_t n = 0;

	pthread_mutex_lock(&N.lock);
	for (size_t i = 0; i < N.n_pings; i++)
		n += N.pings[i] >= from && N.pings[i] < to;
	pthread_mutex_unlock(&N.lock);
	return n;
}

/* Waits up to TIMEOUT_MS for WANT pings at or after FROM. */
static bool pings_wait(int64_t from, size_t want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (pings_between(from, INT64_MAX) < want) {
		if (now_ms() >= deadline)
			return false;
		pause_ms(20);
	}
	return true;
}

/* The daemon under a service manager's watchdog (WATCHDOG_USEC, NOTIFY_SOCKET), through env(1):
 * the harness's child environment leaves the systemd variables out. */
static bool daemon_start_watchdog(const char *watchdog_usec, const char *stall_s)
{
	static char notify_var[PATH_LEN + 16], usec_var[64], stall_var[64];
	const char *args[10];
	const char *daemon = H.daemon_path;
	size_t n = 0;
	bool ok;

	snprintf(notify_var, sizeof(notify_var), "NOTIFY_SOCKET=%s", N.path);
	snprintf(usec_var, sizeof(usec_var), "WATCHDOG_USEC=%s", watchdog_usec);
	args[n++] = notify_var;
	args[n++] = usec_var;
	if (stall_s) {
		snprintf(stall_var, sizeof(stall_var), "GPIO2MQTT_TEST_STALL_NETWORK=%s", stall_s);
		args[n++] = stall_var;
	}
	args[n++] = daemon;
	args[n++] = "-d";
	args[n++] = "-c";
	args[n++] = T.config;
	args[n] = NULL;
	H.daemon_path = "/usr/bin/env";
	ok = daemon_spawn(args, true);
	H.daemon_path = daemon;
	return tap_ok(ok, "start %s under a watchdog of %s us%s%s", daemon, watchdog_usec,
		      stall_s ? ", network thread stalled for " : "", stall_s ? stall_s : "");
}

static void daemon_stop_wait(const char *why)
{
	int status;

	if (T.daemon <= 0)
		return;
	kill(T.daemon, SIGTERM);
	if (!tap_ok(child_wait(T.daemon, EXIT_TIMEOUT_MS, &status), "%s: the daemon stops", why))
		child_kill(&T.daemon, SIGKILL);
	T.daemon = 0;
}

/* WATCHDOG=1 every half WatchdogSec while the main loop and the network thread both run; none
 * while the network thread is stuck (GPIO2MQTT_TEST_STALL_NETWORK), and again once it runs. */
static void scenario_watchdog(void)
{
	static const char *const withheld[] = { "watchdog:", "no more watchdog pings", NULL };
	static const char *const stalls[] = { "test hook: the network thread stalls", NULL };
	static const char *const resumed[] = { "watchdog:", "pinging again", NULL };
	int64_t t0, t_withheld, t_resumed;
	size_t c;

	if (!setup_broker() || !notify_listen())
		return;

	/* WatchdogSec = 400 ms: a ping every 200 ms. */
	t0 = now_ms();
	if (!daemon_start_watchdog("400000", NULL))
		return;
	c = watch_mark();
	if (!expect_start(&c, "watchdog on", TIMEOUT_MS))
		return;
	tap_ok(pings_wait(t0, 1, TIMEOUT_MS), "WATCHDOG=1 arrives");
	t0 = now_ms();
	tap_ok(pings_wait(t0, 8, TIMEOUT_MS), "8 more pings within %d ms (one every 200 ms)",
	       TIMEOUT_MS);
	/* A ping that arrived in this very millisecond counts as well. */
	tap_ok(pings_between(t0, now_ms() + 1) >= 8, "pings keep coming while both threads run");
	daemon_stop_wait("watchdog on");

	/* The network thread stuck for 3 s once connected: the pings stop, then come back. */
	if (!daemon_start_watchdog("400000", "3"))
		return;
	if (!tap_ok(stderr_has_line(0, stalls, TIMEOUT_MS), "the network thread stalls (test hook)"))
		return;
	if (!tap_ok(stderr_has_line(0, withheld, TIMEOUT_MS),
		    "the daemon says it withholds the pings"))
		return;
	t_withheld = now_ms();
	if (!tap_ok(stderr_has_line(0, resumed, TIMEOUT_MS),
		    "the daemon says it pings again after the stall"))
		return;
	t_resumed = now_ms();
	/* Margins: a ping sent just before the first message may be read after it was seen, and
	 * the first ping after the second one may be read before this loop saw the message. */
	tap_ok(t_resumed - t_withheld >= 1500, "pings withheld for most of the stall (%lld ms)",
	       (long long)(t_resumed - t_withheld));
	tap_ok(pings_between(t_withheld + 100, t_resumed - 250) == 0,
	       "no WATCHDOG=1 while the network thread is stuck (%zu seen)",
	       pings_between(t_withheld + 100, t_resumed - 250));
	tap_ok(pings_wait(t_resumed, 3, TIMEOUT_MS), "WATCHDOG=1 again once it runs");
	expect_alive("after the stall");
	daemon_stop_wait("after the stall");
}

/* ---------------------------------------------------------------------------------------------
 * Reload (SIGHUP) */

/* What the GPIO double's FILE got since byte FROM ("" when nothing). */
static char *gpio_file_since(const char *file, off_t from)
{
	char path[PATH_LEN], *text;
	size_t len = 0;

	gpio_path(path, file);
	text = file_read(path, &len);
	if (!text)
		return strdup("");
	if ((size_t)from >= len) {
		free(text);
		return strdup("");
	}
	memmove(text, text + from, len - (size_t)from + 1);
	return text;
}

static off_t gpio_file_size(const char *file)
{
	char path[PATH_LEN];

	gpio_path(path, file);
	return file_size(path);
}

/* SIGHUP, then waits for the line of the reload's outcome (every one of NEEDLES) in the
 * daemon's stderr after what was there. An applied reload republishes "online" and every state
 * (in the config's order): when APPLIED, they are awaited, so later checks see only what came
 * after. */
static bool reload_wait(const char *const needles[], bool applied, const char *why)
{
	off_t from = file_size(T.daemon_err);
	size_t c = watch_mark();

	if (!tap_ok(T.daemon > 0 && kill(T.daemon, SIGHUP) == 0, "%s: SIGHUP", why))
		return false;
	if (!tap_ok(stderr_has_line(from, needles, TIMEOUT_MS),
		    "%s: the daemon says \"%s ... %s\"", why, needles[0],
		    needles[1] ? needles[1] : "")) {
		dump_file("daemon stderr", T.daemon_err, 30);
		return false;
	}
	if (applied) {
		char topic[256];
		struct msg m;

		topic_of(topic, sizeof(topic), NULL);
		tap_ok(watch_next(&c, topic, TIMEOUT_MS, &m), "%s: status republished", why);
		topic_of(topic, sizeof(topic), "lamp");
		tap_ok(watch_next(&c, topic, TIMEOUT_MS, &m), "%s: states republished", why);
	}
	return true;
}

static bool reload(const char *const needles[], const char *why)
{
	return reload_wait(needles, true, why);
}

static void expect_requests(off_t from, const char *want, const char *why)
{
	char *got = gpio_file_since("requests.log", from);
	bool ok = strcmp(got, want) == 0;

	tap_ok(ok, "%s: the GPIO requests and releases are exactly the expected ones", why);
	if (!ok) {
		tap_diag("got:  \"%s\"", got);
		tap_diag("want: \"%s\"", want);
	}
	free(got);
}

/* A reload applies only what changed: an unchanged config touches no line; one pin changed is
 * the only one released and requested again, no output level moves (the double records every
 * set); a removed pin's discovery document is cleared; a config with errors or a line that
 * cannot be requested changes nothing; changed connection settings reconnect. */
static void scenario_reload(void)
{
	static const char *const applied2[] = { "reload:", "is valid and applied", "generation 2",
						NULL };
	static const char *const applied3[] = { "reload:", "generation 3", NULL };
	static const char *const applied4[] = { "reload:", "generation 4", NULL };
	static const char *const applied5[] = { "reload:", "generation 5", NULL };
	static const char *const errors[] = { "reload:", "has errors", NULL };
	static const char *const busy[] = { "reload:", "is busy", "stays in force", NULL };
	static const char *const reconnects[] = { "reload:", "connecting again", NULL };
	char *good = NULL, *json = NULL, file_line[PATH_LEN + 2];
	off_t req, outs;
	size_t c;

	if (!setup_daemon(&c))
		return;
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON before the reloads");
	expect_output("relay", "0 1", "before the reloads");
	expect_output("lamp", "1", "before the reloads");

	/* 1. The same file again: nothing is requested, released or driven. */
	req = gpio_file_size("requests.log");
	outs = gpio_file_size("outputs.log");
	c = watch_mark();
	if (!reload(applied2, "unchanged config"))
		return;
	expect_requests(req, "", "unchanged config");
	tap_ok(gpio_file_size("outputs.log") == outs, "unchanged config: no output was set");
	if (health_get(&json, "after a reload")) {
		tap_ok(json_num(json, "config_generation") == 2, "after a reload: config_generation 2");
		tap_ok(json_num(json, "reconnects") == 0, "same broker settings: no reconnect");
		free(json);
	}

	/* 2. One output moves to another line, one input gets another debounce. */
	good = file_read(T.config, NULL);
	if (!config_edit("line = \"GPIO23\"", "line = \"GPIO24\"") ||
	    !config_edit("debounce_ms = 20;", "debounce_ms = 30;"))
		return;
	req = gpio_file_size("requests.log");
	c = watch_mark();
	if (!reload(applied3, "two pins changed"))
		return;
	expect_requests(req,
			"release button\n"
			"release buzzer\n"
			"request button input line=GPIO17 bias=pull-up active_low=1 debounce_ms=30\n"
			"request buzzer output line=GPIO24 bias=as-is active_low=0 drive=push-pull "
			"initial=0\n",
			"two pins changed");
	expect_output("relay", "0 1", "two pins changed: relay never moved");
	expect_output("lamp", "1", "two pins changed: lamp never moved");
	c = watch_mark();
	gpio_input("button 1\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "the re-requested input still works");
	c = watch_mark();
	pub_str("relay/set", "OFF", false);
	expect_msg(&c, "relay", "OFF", true, TIMEOUT_MS, "commands still work after the reload");
	expect_output("relay", "0 1 0", "relay/set OFF after the reload");

	/* 3. A removed pin: released, its Home Assistant config cleared. */
	if (!config_edit(",\n  { name = \"buzzer\"; line = \"GPIO24\"; retain = false; qos = 0; }",
			 ""))
		return;
	req = gpio_file_size("requests.log");
	if (!reload(applied4, "buzzer removed"))
		return;
	expect_requests(req, "release buzzer\n", "buzzer removed");
	{
		static const char *const cleared[] = { "discovery: clearing", "no longer configured",
						       NULL };

		tap_ok(stderr_has_line(0, cleared, TIMEOUT_MS),
		       "buzzer removed: its discovery document is cleared");
	}

	/* 4. Errors: logged as FILE:LINE, nothing changes. */
	req = gpio_file_size("requests.log");
	outs = gpio_file_size("outputs.log");
	if (!config_edit("debounce_ms = 30;", "debounce_ms = 30; mode = \"sideways\";"))
		return;
	if (reload_wait(errors, false, "config with errors")) {
		snprintf(file_line, sizeof(file_line), "%s:", T.config);
		{
			const char *const where[] = { file_line, "mode must be one of", NULL };

			tap_ok(stderr_has_line(0, where, TIMEOUT_MS),
			       "config with errors: the error is logged as FILE:LINE");
		}
	}
	expect_requests(req, "", "config with errors");
	tap_ok(gpio_file_size("outputs.log") == outs, "config with errors: no output was set");
	c = watch_mark();
	pub_str("lamp/set", "OFF", false);
	expect_msg(&c, "lamp", "OFF", true, TIMEOUT_MS, "config with errors: still serving");
	if (health_get(&json, "after the failed reload")) {
		tap_ok(json_num(json, "config_generation") == 4,
		       "after the failed reload: config_generation still 4");
		free(json);
	}

	/* 5. A new line that cannot be requested: nothing changes either. */
	if (!config_edit(" mode = \"sideways\";", "") ||
	    !config_edit("drive = \"open-drain\"; power_on = \"on\"; }",
			 "drive = \"open-drain\"; power_on = \"on\"; },\n"
			 "  { name = \"fan\"; line = \"GPIO25\"; power_on = \"on\"; }"))
		return;
	{
		char path[PATH_LEN];

		gpio_path(path, "busy");
		file_write(path, "fan\n");
	}
	req = gpio_file_size("requests.log");
	outs = gpio_file_size("outputs.log");
	reload_wait(busy, false, "a busy line");
	expect_requests(req, "", "a busy line");
	tap_ok(gpio_file_size("outputs.log") == outs, "a busy line: no output was set");
	expect_alive("after a reload that could not be applied");

	/* 6. Changed connection settings (client id): a new connection, the lines untouched. */
	{
		char path[PATH_LEN];

		gpio_path(path, "busy");
		unlink(path);
	}
	if (!file_write(T.config, good) ||
	    !config_edit("client_id = \"", "client_id = \"other-"))
		return;
	req = gpio_file_size("requests.log");
	c = watch_mark();
	off_t from = file_size(T.daemon_err);
	reload_wait(applied5, false, "client_id changed");
	tap_ok(stderr_has_line(from, reconnects, TIMEOUT_MS), "client_id changed: reconnects");
	expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, "client_id changed: offline first");
	{
		/* (The old connection's Last Will may repeat "offline" before it.) */
		char topic[256];
		struct msg m;
		bool online = false;

		topic_of(topic, sizeof(topic), NULL);
		while (!online && watch_next(&c, topic, TIMEOUT_MS, &m))
			online = strcmp(m.payload, "online") == 0 && m.retain;
		tap_ok(online, "client_id changed: online again on the new connection");
		expect_retained(NULL, "online", "client_id changed");
	}
	health_wait("reconnects", 1, "client_id changed: counted as a reconnect");
	health_wait("publishes_acknowledged", 10, "client_id changed: counters go on");
	expect_output("lamp", "1 0", "client_id changed: lamp never moved");
	/* Back to buzzer on GPIO23, button with 20 ms: those two again, nothing else. */
	expect_requests(req,
			"release button\n"
			"request button input line=GPIO17 bias=pull-up active_low=1 debounce_ms=20\n"
			"request buzzer output line=GPIO23 bias=as-is active_low=0 drive=push-pull "
			"initial=0\n",
			"client_id changed");
	free(good);
	expect_alive("after the reloads");
	daemon_stop_wait("after the reloads");
}

/* Asks for health until nothing is in flight; returns publishes_acknowledged then, and in *AT
 * the index of the reply that said so (every publish before it is counted in it). -1: none. */
static long long health_settled(size_t *at, const char *why)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/health", T.base);
	do {
		size_t c = watch_mark();
		long long acked, inflight;
		char *json;

		if (!health_get(&json, why))
			return -1;
		acked = json_num(json, "publishes_acknowledged");
		inflight = json_num(json, "queue_inflight");
		free(json);
		if (inflight == 0 && watch_wait(c, topic, NULL, 0) >= 0) {
			*at = (size_t)watch_wait(c, topic, NULL, 0);
			return acked;
		}
		pause_ms(50);
	} while (now_ms() < deadline);
	tap_ok(false, "%s: nothing left in flight", why);
	return -1;
}

/* The daemon's messages in [FROM, TO) (not the watcher's own health/get and relay/set). */
static long long daemon_messages(size_t from, size_t to)
{
	long long n = 0;
	struct msg m;

	for (size_t i = from; i < to && watch_at(i, &m); i++) {
		size_t len = strlen(m.topic);

		if (len < 4 || (strcmp(m.topic + len - 4, "/get") != 0 &&
				strcmp(m.topic + len - 4, "/set") != 0))
			n++;
	}
	return n;
}

/* publishes_acknowledged is exact while a broker stalls: the broker is stopped (SIGSTOP) while
 * 2000 edges come in, then let go. States merge per pin while the in-flight window is full, so
 * fewer than 2000 go out; the count must grow by exactly the publishes the watcher received
 * from the daemon, once nothing is in flight. */
static void scenario_health_exact(void)
{
	enum { EDGES = 2000 };
	char *lines, *p, topic[256];
	long long before, after = -1, made = -1;
	size_t c, first, fence, at;
	int level = 0;
	struct msg m;
	long last = -1;
	int64_t deadline;

	if (!setup_broker())
		return;
	if (!config_edit("keepalive = 5;", "keepalive = 10; health_interval_s = 0;") ||
	    !daemon_start())
		return;
	c = watch_mark();
	if (!expect_start(&c, "at start", TIMEOUT_MS))
		return;
	before = health_settled(&first, "at start");
	lines = malloc(EDGES * 8 + 1);
	if (!tap_ok(before >= N_START_STATES && lines != NULL, "edges prepared"))
		return;
	p = lines;
	for (int i = 0; i < EDGES; i++) {
		level = !level;
		p += sprintf(p, "door %d\n", level ? 0 : 1); /* door starts ON: OFF, ON, ... */
	}
	c = watch_mark();
	kill(T.broker.pid, SIGSTOP);
	tap_ok(gpio_input(lines), "%d edges while the broker is stopped", EDGES);
	free(lines);
	{
		char events[PATH_LEN];

		gpio_path(events, "events.log");
		tap_ok(file_wait_count(events, "door ", EDGES, TIMEOUT_MS),
		       "the daemon took all %d edges", EDGES);
	}
	kill(T.broker.pid, SIGCONT);
	/* States go out in pin order when there is room: door's newest before relay's echo. */
	pub_str("relay/set", "ON", false);
	fence = c;
	if (!expect_msg(&fence, "relay", "ON", true, RECONNECT_TIMEOUT_MS, "fence after the edges"))
		return;
	topic_of(topic, sizeof(topic), "door");
	for (size_t i = c; i < fence && watch_at(i, &m); i++) {
		if (strcmp(m.topic, topic) == 0)
			last = (long)i;
	}
	tap_ok(last >= 0 && watch_at((size_t)last, &m) && strcmp(m.payload, "ON") == 0,
	       "door's last state is the last edge's: ON");
	deadline = now_ms() + TIMEOUT_MS;
	do {
		after = health_settled(&at, "after the edges");
		made = daemon_messages(first, at);
	} while (after >= 0 && after != before + made && now_ms() < deadline);
	tap_ok(after == before + made,
	       "publishes_acknowledged grew by exactly the %lld publishes received (%lld -> %lld)",
	       made, before, after);
	expect_alive("after the stalled broker");
}

static const struct scenario scenarios[] = {
	{ "health", scenario_health },
	{ "watchdog", scenario_watchdog },
	{ "reload", scenario_reload },
	{ "health-exact", scenario_health_exact },
};

int main(int argc, char **argv)
{
	return fixture_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
