/* SPDX-License-Identifier: MIT */
/* The world of test-daemon and test-ops: the good configuration (five pins), the GPIO double's
 * files, one broker, the watcher on <base>/#, and the checks on what the daemon publishes. See
 * fixture.h. */

#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture T = { .fifo = -1 };

void gpio_path(char *buf, const char *name)
{
	path_in(buf, T.gpio_dir, name);
}

void topic_of(char *buf, size_t size, const char *pin)
{
	snprintf(buf, size, "%s/%s", T.base, pin ? pin : "status");
}

/* Checks that the next message on <base>/PIN (PIN NULL: <base>/status) after *CURSOR is
 * PAYLOAD with the retain flag RETAIN. */
bool expect_msg(size_t *cursor, const char *pin, const char *payload, bool retain,
		int timeout_ms, const char *why)
{
	char topic[256], buf[160];
	struct msg m;
	size_t from = *cursor;
	bool ok;

	topic_of(topic, sizeof(topic), pin);
	if (!watch_next(cursor, topic, timeout_ms, &m)) {
		tap_ok(false, "%s: %s \"%s\"%s", why, topic, payload, retain ? " retained" : "");
		tap_diag("no message on %s within %d ms; messages since:", topic, timeout_ms);
		watch_dump(from, SIZE_MAX, NULL);
		return false;
	}
	ok = strcmp(m.payload, payload) == 0 && m.len == strlen(payload) && m.retain == retain;
	tap_ok(ok, "%s: %s \"%s\"%s", why, topic, payload, retain ? " retained" : "");
	if (!ok) {
		tap_diag("got:  %s%s", show(m.payload, m.len, buf, sizeof(buf)),
			 m.retain ? " retained" : " not retained");
		tap_diag("want: \"%s\"%s", payload, retain ? " retained" : " not retained");
	}
	return ok;
}

/* Publishes <base>/PIN_TOPIC with QoS 1 and waits for the broker's PUBACK. */
bool pub(const char *pin_topic, const void *payload, size_t len, bool retain)
{
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/%s", T.base, pin_topic);
	return watch_publish(topic, payload, len, retain);
}

bool pub_str(const char *pin_topic, const char *payload, bool retain)
{
	return pub(pin_topic, payload, strlen(payload), retain);
}

/* ---------------------------------------------------------------------------------------------
 * A fresh subscriber: what is retained on the broker right now. */

/* The retained message on <base>/PIN, by subscribing with a new client: true when there is one
 * (retained messages come right after the SUBACK). */
bool retained_get(const char *pin, char *out, size_t size)
{
	struct snapshot s;
	const struct msg *m;
	char topic[256];
	bool ok;

	topic_of(topic, sizeof(topic), pin);
	if (!snapshot_take(T.broker.port, topic, &s))
		return false;
	m = snapshot_find(&s, topic);
	ok = m != NULL;
	if (ok)
		snprintf(out, size, "%s", m->payload);
	snapshot_free(&s);
	return ok;
}

bool expect_retained(const char *pin, const char *payload, const char *why)
{
	char got[256] = "", topic[256];
	bool have = retained_get(pin, got, sizeof(got));
	bool ok = have && strcmp(got, payload) == 0;

	topic_of(topic, sizeof(topic), pin);
	tap_ok(ok, "%s: retained on the broker: %s \"%s\"", why, topic, payload);
	if (!have)
		tap_diag("a new subscriber to %s got no retained message within %d ms", topic,
			 TIMEOUT_MS);
	else if (!ok)
		tap_diag("retained: \"%s\", want \"%s\"", got, payload);
	return ok;
}

/* ---------------------------------------------------------------------------------------------
 * The GPIO double's files */

bool gpio_input(const char *lines)
{
	size_t len = strlen(lines);
	ssize_t n = write(T.fifo, lines, len); /* < PIPE_BUF: atomic */

	if (n != (ssize_t)len) {
		tap_ok(false, "write to the GPIO double's input FIFO");
		tap_diag("write: %s", n < 0 ? strerror(errno) : "short");
		return false;
	}
	return true;
}

/* The levels the double saw for output PIN, in order, consecutive repeats merged: "0 1 0". A
 * repeated gpio_set() of the same level is not a level change; *SETS counts every call. */
void output_changes(const char *pin, char *buf, size_t size, unsigned int *sets)
{
	char path[PATH_LEN];
	char *log, *save = NULL, *line;
	int last = -1;
	size_t o = 0;

	buf[0] = '\0';
	if (sets)
		*sets = 0;
	gpio_path(path, "outputs.log");
	log = file_read(path, NULL);
	if (!log)
		return;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[80];
		int level;

		if (sscanf(line, "%79s %d", name, &level) != 2 || strcmp(name, pin) != 0)
			continue;
		if (sets)
			(*sets)++;
		if (level == last)
			continue;
		last = level;
		o += (size_t)snprintf(buf + o, size - o, "%s%d", o ? " " : "", level);
		if (o >= size)
			break;
	}
	free(log);
}

bool expect_output(const char *pin, const char *changes, const char *why)
{
	char got[1024];
	bool ok;

	output_changes(pin, got, sizeof(got), NULL);
	ok = strcmp(got, changes) == 0;
	tap_ok(ok, "%s: output '%s' levels in the GPIO double: %s", why, pin, changes);
	if (!ok)
		tap_diag("got levels: \"%s\"", got);
	return ok;
}

/* Waits until file NAME in the GPIO double's directory contains NEEDLE. */
bool gpio_wait_file(const char *name, const char *needle, int timeout_ms)
{
	char path[PATH_LEN];
	int64_t deadline = now_ms() + timeout_ms;

	gpio_path(path, name);
	for (;;) {
		char *text = file_read(path, NULL);
		bool found = text && strstr(text, needle);

		free(text);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		pause_ms(10);
	}
}

/* The last level the double reported for input PIN (from events.log), or the initial level. */
int gpio_input_level(const char *pin, int initial)
{
	char path[PATH_LEN], *log, *save = NULL, *line;
	int level = initial;

	gpio_path(path, "events.log");
	log = file_read(path, NULL);
	if (!log)
		return level;
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[80];
		int l;

		if (sscanf(line, "%79s %d", name, &l) == 2 && strcmp(name, pin) == 0)
			level = l;
	}
	free(log);
	return level;
}

/* ---------------------------------------------------------------------------------------------
 * The daemon */

static const char good_config_fmt[] =
	"# gpio2mqtt integration test configuration\n"
	"mqtt = {\n"
	"  brokers = ( { host = \"127.0.0.1\"; port = %d; } );\n"
	"  client_id = \"gpio2mqtt-int-%s-%ld\";\n"
	"  base_topic = \"%s\";\n"
	"  protocol = \"v5\";\n"
	"  keepalive = 5;\n"
	"  qos = 1;\n"
	"  retain = true;\n"
	"  reconnect_min_ms = 200;\n"
	"  reconnect_max_ms = 1000;\n"
	"  accept_retained_commands = %s;\n"
	"};\n"
	"inputs = (\n"
	"  { name = \"button\"; line = \"GPIO17\"; bias = \"pull-up\"; active_low = true; "
	"debounce_ms = 20; },\n"
	"  { name = \"door\"; chip = \"gpiochip0\"; offset = 3; }\n"
	");\n"
	"outputs = (\n"
	"  { name = \"relay\"; line = \"GPIO27\"; %s = \"off\"; },\n"
	"  { name = \"lamp\"; line = \"GPIO22\"; drive = \"open-drain\"; %s = \"on\"; },\n"
	"  { name = \"buzzer\"; line = \"GPIO23\"; retain = false; qos = 0; }\n"
	");\n"
	"state_dir = \"%s\";\n";

/* What gpio_open must be asked for with the config above (the double's "requested" file). */
const char *const requested_lines[] = {
	"consumer gpio2mqtt\n",
	"button input line=GPIO17 bias=pull-up active_low=1 debounce_ms=20\n",
	"door input line=gpiochip0:3 bias=as-is active_low=0 debounce_ms=0\n",
	"relay output line=GPIO27 bias=as-is active_low=0 drive=push-pull initial=0\n",
	"lamp output line=GPIO22 bias=as-is active_low=0 drive=open-drain initial=1\n",
	"buzzer output line=GPIO23 bias=as-is active_low=0 drive=push-pull initial=0\n",
};

/* Pins and their states right after start (door starts active through the double's "initial"
 * file); buzzer is published with retain = false. */
const struct start_state start_states[] = {
	{ "button", "OFF", true },
	{ "door", "ON", true },
	{ "relay", "OFF", true },
	{ "lamp", "ON", true },
	{ "buzzer", "OFF", false },
};

_Static_assert(sizeof(start_states) / sizeof(start_states[0]) == N_START_STATES,
	       "N_START_STATES");

bool write_config_key(const char *path, const char *initial_key)
{
	char text[2048];

	snprintf(text, sizeof(text), good_config_fmt, T.broker.port, H.scenario, (long)getpid(), T.base,
		 T.accept_retained ? "true" : "false", initial_key, initial_key, H.tmp);
	return file_write(path, text);
}

bool write_good_config(const char *path)
{
	return write_config_key(path, INITIAL_KEY);
}

bool daemon_spawn(const char *const extra[], bool gpio_env)
{
	char name[64];
	char *argv[12];
	size_t n = 0;
	char gpio_var[PATH_LEN + 32];
	const char *const env[] = { gpio_var, NULL };

	T.daemon_runs++;
	snprintf(name, sizeof(name), "daemon-%d.stdout", T.daemon_runs);
	path_in(T.daemon_out, H.tmp, name);
	snprintf(name, sizeof(name), "daemon-%d.stderr", T.daemon_runs);
	path_in(T.daemon_err, H.tmp, name);
	argv[n++] = (char *)H.daemon_path;
	for (; extra && *extra && n < 10; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	snprintf(gpio_var, sizeof(gpio_var), "GPIO2MQTT_TEST_GPIO_DIR=%s", T.gpio_dir);
	child_track(&T.daemon);
	T.daemon = spawn(argv, T.daemon_out, T.daemon_err, gpio_env ? env : NULL);
	return T.daemon > 0;
}

/* Starts the daemon on the good config, with debug logging for the diagnostics. */
bool daemon_start(void)
{
	const char *const args[] = { "-d", "-c", T.config, NULL };

	return tap_ok(daemon_spawn(args, true), "start %s", H.daemon_path);
}

/* Runs the daemon to completion: true when it exited within the time, *STATUS its status. */
bool daemon_run(const char *const args[], bool gpio_env, int *status)
{
	if (!daemon_spawn(args, gpio_env))
		return false;
	if (!child_wait(T.daemon, EXIT_TIMEOUT_MS, status)) {
		tap_diag("the daemon did not exit within %d ms; killed", EXIT_TIMEOUT_MS);
		child_kill(&T.daemon, SIGKILL);
		return false;
	}
	T.daemon = 0;
	return true;
}

bool expect_alive(const char *why)
{
	int status;
	char buf[64];

	if (T.daemon > 0 && child_alive(T.daemon, &status))
		return tap_ok(true, "%s: the daemon is running", why);
	tap_ok(false, "%s: the daemon is running", why);
	if (T.daemon > 0) {
		tap_diag("it ended: %s", status_str(status, buf, sizeof(buf)));
		T.daemon = 0;
	}
	return false;
}

/* Looks for one line of the daemon's stderr, from byte FROM on, containing every one of NEEDLES
 * (NULL-terminated); waits up to TIMEOUT_MS for it. A needle "#N" matches the number N as a whole
 * word. */
bool stderr_has_line(off_t from, const char *const needles[], int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		size_t len = 0;
		char *text = file_read(T.daemon_err, &len);
		bool found = false;

		if (text && (size_t)from < len) {
			char *save = NULL;

			for (char *line = strtok_r(text + from, "\n", &save); line && !found;
			     line = strtok_r(NULL, "\n", &save)) {
				bool all = true;

				for (const char *const *nd = needles; *nd && all; nd++) {
					if ((*nd)[0] == '#') {
						const char *num = *nd + 1, *p = line;
						size_t nl = strlen(num);
						bool word = false;

						while ((p = strstr(p, num))) {
							bool before = p == line || (p[-1] < '0' || p[-1] > '9');
							bool after = p[nl] < '0' || p[nl] > '9';

							if (before && after) {
								word = true;
								break;
							}
							p++;
						}
						all = word;
					} else {
						all = strstr(line, *nd) != NULL;
					}
				}
				found = all;
			}
		}
		free(text);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		pause_ms(20);
	}
}

bool setup_dirs(void)
{
	char path[PATH_LEN];

	path_in(T.gpio_dir, H.tmp, "gpio");
	path_in(T.config, H.tmp, "gpio2mqtt.conf");
	snprintf(T.base, sizeof(T.base), "g2m-int/%s", H.scenario);
	if (mkdir(T.gpio_dir, 0755) < 0)
		return tap_ok(false, "mkdir %s", T.gpio_dir);
	gpio_path(path, "input");
	if (mkfifo(path, 0600) < 0)
		return tap_ok(false, "mkfifo %s", path);
	/* Read-write: never blocks, and what is written waits in the pipe for the daemon. */
	T.fifo = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (T.fifo < 0)
		return tap_ok(false, "open %s", path);
	gpio_path(path, "initial");
	if (!file_write(path, "door 1\n"))
		return tap_ok(false, "write %s", path);
	T.broker.port = free_port();
	if (T.broker.port <= 0)
		return tap_ok(false, "find a free port");
	return write_good_config(T.config);
}

/* The broker of the good config, on T.broker.port (again after a restart). */
bool broker_up(void)
{
	return broker_start(&T.broker, "mosquitto", "allow_anonymous true\n", NULL, 0);
}

/* The watcher on <base>/#. */
bool watch_up(void)
{
	char sub[160], id[64];
	const struct watch_opts o = { .port = T.broker.port, .sub = sub, .id = id };

	snprintf(sub, sizeof(sub), "%s/#", T.base);
	snprintf(id, sizeof(id), "g2m-watch-%ld", (long)getpid());
	return watch_start(&o);
}

/* Directories, a broker, the watcher. */
bool setup_broker(void)
{
	bool started = false;

	if (!setup_dirs())
		return false;
	/* The free port may be taken again before mosquitto binds it: then try another. */
	for (int attempt = 0; attempt < 3 && !started; attempt++) {
		if (attempt > 0) {
			tap_diag("retrying with another port");
			child_kill(&T.broker.pid, SIGKILL);
			T.broker.port = free_port();
			if (T.broker.port <= 0 || !write_good_config(T.config))
				break;
		}
		started = broker_up();
	}
	if (!tap_ok(started, "mosquitto starts on 127.0.0.1:%d", T.broker.port))
		return false;
	return tap_ok(watch_up(), "watcher subscribed to %s/#", T.base);
}

/* setup_broker, the daemon on the good config, and its start-up publishes; *C is past them. */
bool setup_daemon(size_t *c)
{
	if (!setup_broker() || !daemon_start())
		return false;
	*c = watch_mark();
	return expect_start(c, "at start", TIMEOUT_MS);
}

/* Waits for the start-up publishes from cursor *C: status online and every pin's state; moves
 * *C past the last of them. */
bool expect_start(size_t *c, const char *why, int timeout_ms)
{
	size_t from = *c, last = from;
	bool ok = expect_msg(&last, NULL, "online", true, timeout_ms, why);

	if (!ok)
		return false; /* not connected: the states would only time out one by one */
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = from;

		ok &= expect_msg(&pc, start_states[i].pin, start_states[i].state,
				 start_states[i].retain, timeout_ms, why);
		if (pc > last)
			last = pc;
	}
	*c = last;
	return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Scenarios */

/* Under -Db_sanitize a sanitizer report in any daemon run is a failure, also when the daemon
 * went on (UBSan without halt_on_error) or was killed at the end. */
static void sanitizer_check(void)
{
	const char *const marks[] = { "runtime error:", "AddressSanitizer",
					      "LeakSanitizer", "UndefinedBehaviorSanitizer" };
	bool clean = true;

	if (T.daemon_runs == 0)
		return;
	for (int run = 1; run <= T.daemon_runs; run++) {
		char name[64], path[PATH_LEN];
		char *text;

		snprintf(name, sizeof(name), "daemon-%d.stderr", run);
		path_in(path, H.tmp, name);
		text = file_read(path, NULL);
		for (size_t i = 0; text && i < sizeof(marks) / sizeof(marks[0]); i++) {
			if (strstr(text, marks[i])) {
				clean = false;
				tap_diag("%s has \"%s\"", name, marks[i]);
				dump_file(name, path, 60);
				break;
			}
		}
		free(text);
	}
	tap_ok(clean, "no sanitizer report in the daemon's stderr (%d runs)", T.daemon_runs);
}

/* After the scenario: the sanitizer check, and the daemon's and broker's logs on a failure. */
static void fixture_finish(void)
{
	sanitizer_check();
	if (tap_failures()) {
		if (T.daemon_err[0])
			dump_file("daemon stderr", T.daemon_err, 80);
		if (T.broker.log[0])
			dump_file("mosquitto log", T.broker.log, 30);
	}
}

static void fixture_cleanup(void)
{
	if (T.fifo >= 0)
		close(T.fifo);
}

int fixture_main(int argc, char **argv, const struct scenario *scenarios, size_t n)
{
	const struct harness_program p = {
		.tmp_prefix = "g2m-int",
		.scenarios = scenarios,
		.n_scenarios = n,
		.finish = fixture_finish,
		.cleanup = fixture_cleanup,
	};

	return harness_main(argc, argv, &p);
}
