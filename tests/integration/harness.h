/* SPDX-License-Identifier: MIT */
#pragma once

/* The integration harness shared by every integration program (test-daemon, test-ops, test-mqtt,
 * test-discovery): the scenario's temporary directory, children (brokers, daemons, tools) that
 * never outlive the test, mosquitto on a free port of 127.0.0.1, the "watcher" (an MQTT client
 * recording every message it sees, in order), snapshots of what a broker has retained, and
 * main() with TAP output through tests/unit/tap.h.
 *
 * The daemon is a black box here: the harness only starts programs, reads files and speaks
 * MQTT. A program's own fixture (its configuration, its GPIO double files) lives beside it. */

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tap.h"

#define TIMEOUT_MS 5000 /* a message or condition that does not come in time fails */
#define PATH_LEN 512

/* ---- the scenario's world ---------------------------------------------------------------- */

struct harness {
	const char *scenario;
	const char *daemon_path;
	const char *mosquitto_path;
	char *const *args; /* the program's own arguments after MOSQUITTO */
	char tmp[PATH_LEN]; /* the scenario's temporary directory */
	/* The login of the harness's own MQTT clients (watcher, snapshots); NULL: anonymous. */
	const char *client_user, *client_pass;
};

extern struct harness H;

struct scenario {
	const char *name;
	void (*fn)(void);
};

struct harness_program {
	const char *usage_args; /* the program's own arguments, for the usage line */
	int n_args; /* how many there are */
	const char *tmp_prefix; /* the temporary directory is $TMPDIR/<prefix>-<scenario>-XXXXXX */
	const struct scenario *scenarios;
	size_t n_scenarios;
	/* Optional: a reason to skip this scenario ("1..0 # SKIP reason"), or NULL to run it. */
	const char *(*skip)(void);
	/* Optional: runs before the scenario; false stops the test ("Bail out!"). */
	bool (*setup)(void);
	/* Optional: runs after the scenario (more checks, diagnostics on failure), then cleanup. */
	void (*finish)(void);
	void (*cleanup)(void);
};

/* Parses SCENARIO DAEMON MOSQUITTO [program arguments], blocks the fatal signals (a thread kills
 * every child and exits on them), makes the temporary directory, runs the scenario, cleans up and
 * prints the TAP plan. Returns the exit status. */
int harness_main(int argc, char **argv, const struct harness_program *p);

/* ---- time, files ------------------------------------------------------------------------- */

int64_t now_ms(void);
void pause_ms(int ms);
/* The whole file, NUL-terminated, or NULL when it cannot be read; *LEN (may be NULL) its size. */
char *file_read(const char *path, size_t *len);
bool file_write(const char *path, const char *text); /* mode 0644 */
bool file_write_mode(const char *path, const char *text, mode_t mode);
bool file_exists(const char *path);
off_t file_size(const char *path);
int file_count(const char *path, const char *needle); /* occurrences of NEEDLE */
bool file_wait_count(const char *path, const char *needle, int want, int timeout_ms);
void rmtree(const char *path);
/* The last MAX_LINES lines of a file as TAP diagnostics. */
void dump_file(const char *title, const char *path, unsigned int max_lines);
/* DIR/NAME into BUF (PATH_LEN bytes); tmp_path: in the scenario's directory. */
void path_in(char *buf, const char *dir, const char *name);
void tmp_path(char *buf, const char *name);
/* A payload for humans: printable ASCII as is, the rest as \xNN, long ones cut. */
const char *show(const char *p, size_t len, char *buf, size_t size);

/* ---- children ---------------------------------------------------------------------------- */

/* PID is killed when the test is killed or ends (broker_start adds its broker itself). */
void child_track(volatile pid_t *pid);
/* fork + exec: stdin /dev/null, stdout into OUT, stderr into ERR (NULL: OUT as well), signals
 * reset, killed when the test dies. The environment is ours without systemd's variables and
 * the harness's own, plus ENV_EXTRA ("NAME=value", NULL-terminated; may be NULL), which also
 * replaces an inherited variable of the same name. -1 when fork fails. */
pid_t spawn(char *const argv[], const char *out, const char *err, const char *const env_extra[]);
bool child_wait(pid_t pid, int timeout_ms, int *status); /* true and *STATUS when it exited */
bool child_alive(pid_t pid, int *status);
/* SIG, then SIGKILL after TIMEOUT_MS; *PID becomes 0. */
void child_kill(volatile pid_t *pid, int sig);
const char *status_str(int status, char *buf, size_t size);
/* Runs ARGV to completion (30 s at most), output into LOG: true when it exited with 0. */
bool run_tool(char *const argv[], const char *log);

/* ---- brokers ----------------------------------------------------------------------------- */

struct broker {
	int port;
	volatile pid_t pid;
	char conf[PATH_LEN];
	char log[PATH_LEN];
};

int free_port(void);
bool port_accepts(int port);
/* Starts mosquitto on 127.0.0.1:B->port with <NAME>.conf and <NAME>.log in the temporary
 * directory. EXTRA holds more mosquitto.conf lines (may be NULL): those before its first
 * "listener" are global, the rest belong to the listeners it defines, whose ports MORE_PORTS
 * lists. Waits until every listener accepts connections. */
bool broker_start(struct broker *b, const char *name, const char *extra, const int *more_ports,
		  size_t n_more);
/* The same on a free port; the port may be taken again before mosquitto binds it, so up to three
 * ports are tried. */
bool broker_start_free(struct broker *b, const char *name, const char *extra);

/* ---- the watcher ------------------------------------------------------------------------- */

struct msg {
	char *topic;
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retain;
};

struct watch_opts {
	int port;
	const char *sub; /* the subscription, e.g. "<base>/#" */
	const char *id; /* client id */
	bool v311; /* MQTT 3.1.1 instead of v5 (v5 subscribes with retain-as-published) */
	bool keep_session; /* a session the broker keeps (and queues for) while we are away */
};

/* Connects, subscribes (again on every reconnect) and waits for the SUBACK. Messages recorded
 * before a watch_stop() stay: indexes (cursors) stay valid across restarts of the watcher. */
bool watch_start(const struct watch_opts *o);
void watch_stop(void);
/* The index the next message will get: a cursor meaning "from now on". */
size_t watch_mark(void);
unsigned int watch_subacks(void);
bool watch_wait_subacks(unsigned int want, int timeout_ms);
/* Message I (its strings stay valid until the end of the test); false when there is none yet. */
bool watch_at(size_t i, struct msg *out);
/* Index of the first message at or after FROM on TOPIC (with PAYLOAD unless NULL), waiting up to
 * TIMEOUT_MS; -1 when none came. */
long watch_wait(size_t from, const char *topic, const char *payload, int timeout_ms);
/* The next message on TOPIC at or after *CURSOR; *CURSOR moves past it. */
bool watch_next(size_t *cursor, const char *topic, int timeout_ms, struct msg *out);
/* The same as watch_wait in [FROM, TO), without waiting. */
long watch_find(size_t from, size_t to, const char *topic, const char *payload);
/* Lists the messages in [FROM, TO) on topics starting with PREFIX (NULL: all) as diagnostics. */
void watch_dump(size_t from, size_t to, const char *prefix);
/* Publishes TOPIC with QoS 1 from the watcher and waits for the broker's PUBACK (a failed check
 * otherwise). */
bool watch_publish(const char *topic, const void *payload, size_t len, bool retain);

/* ---- what a broker has retained ---------------------------------------------------------- */

struct snapshot {
	struct msg *items;
	size_t n, cap;
};

/* Every retained message under PATTERN at broker PORT now: a fence message published after the
 * SUBACK comes after every retained one. */
bool snapshot_take(int port, const char *pattern, struct snapshot *s);
const struct msg *snapshot_find(const struct snapshot *s, const char *topic);
void snapshot_free(struct snapshot *s);
