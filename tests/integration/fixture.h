/* SPDX-License-Identifier: MIT */
#pragma once

/* The world of test-daemon and test-ops on top of the harness (harness.h): one temporary
 * directory, one broker, one daemon on the good configuration (five pins: inputs button and
 * door, outputs relay, lamp and buzzer), the GPIO double's files (gpio_double.c), and the
 * watcher on <base>/#.
 *
 * "Nothing was published" is never checked by waiting: a fence (a command to another pin, whose
 * echo is awaited) is sent after the message under test; the daemon handles messages in order,
 * so anything the first one caused would have been published before the fence's echo. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

#define RECONNECT_TIMEOUT_MS 15000 /* broker restarts: daemon backoff is at most 1 s here */
#define EXIT_TIMEOUT_MS 5000
#define LOG_TIMEOUT_MS 2000 /* a log line due before an already received message */

/* The key of an output's level at start (it was "initial" before power_on's "restore"). */
#define INITIAL_KEY "power_on"

struct fixture {
	char gpio_dir[PATH_LEN];
	char config[PATH_LEN];
	char daemon_out[PATH_LEN];
	char daemon_err[PATH_LEN];
	char base[128];
	int fifo;
	int daemon_runs;
	bool accept_retained; /* mqtt.accept_retained_commands in the good config */
	struct broker broker;
	volatile pid_t daemon;
};

extern struct fixture T;

/* What gpio_open must be asked for with the good config (the double's "requested" file). */
extern const char *const requested_lines[6];

/* Pins and their states right after start (door starts active through the double's "initial"
 * file); buzzer is published with retain = false. */
struct start_state {
	const char *pin;
	const char *state;
	bool retain;
};
#define N_START_STATES 5
extern const struct start_state start_states[N_START_STATES];

/* ---- set-up ------------------------------------------------------------------------------ */

bool setup_dirs(void); /* the GPIO double's directory and FIFO, a free port, the good config */
bool setup_broker(void); /* setup_dirs, the broker, the watcher */
/* setup_broker, the daemon on the good config, and its start-up publishes ("at start"); *C is
 * past them. */
bool setup_daemon(size_t *c);
bool broker_up(void); /* the broker (again) on T.broker.port */
bool watch_up(void); /* the watcher (again) on <base>/# */
bool write_config_key(const char *path, const char *initial_key);
bool write_good_config(const char *path);
/* main() of test-daemon and test-ops: harness_main() with this world's clean-up, and after the
 * scenario a check that no daemon run reported a sanitizer error. */
int fixture_main(int argc, char **argv, const struct scenario *scenarios, size_t n);

/* ---- the daemon -------------------------------------------------------------------------- */

/* Starts the daemon with EXTRA arguments (NULL-terminated), with the GPIO double's directory in
 * its environment when GPIO_ENV; its stdout and stderr go to T.daemon_out and T.daemon_err. */
bool daemon_spawn(const char *const extra[], bool gpio_env);
bool daemon_start(void); /* on the good config, with debug logging */
/* Runs the daemon to completion: true when it exited within the time, *STATUS its status. */
bool daemon_run(const char *const args[], bool gpio_env, int *status);
bool expect_alive(const char *why);
/* Looks for one line of the daemon's stderr, from byte FROM on, containing every one of NEEDLES
 * (NULL-terminated); waits up to TIMEOUT_MS for it. A needle "#N" matches the number N as a whole
 * word. */
bool stderr_has_line(off_t from, const char *const needles[], int timeout_ms);

/* ---- MQTT -------------------------------------------------------------------------------- */

void topic_of(char *buf, size_t size, const char *pin); /* <base>/PIN, PIN NULL: <base>/status */
/* Checks that the next message on <base>/PIN (PIN NULL: <base>/status) after *CURSOR is
 * PAYLOAD with the retain flag RETAIN. */
bool expect_msg(size_t *cursor, const char *pin, const char *payload, bool retain,
		int timeout_ms, const char *why);
/* Waits for the start-up publishes from cursor *C: status online and every pin's state; moves
 * *C past the last of them. */
bool expect_start(size_t *c, const char *why, int timeout_ms);
bool pub(const char *pin_topic, const void *payload, size_t len, bool retain);
bool pub_str(const char *pin_topic, const char *payload, bool retain);
bool retained_get(const char *pin, char *out, size_t size);
bool expect_retained(const char *pin, const char *payload, const char *why);

/* ---- the GPIO double --------------------------------------------------------------------- */

void gpio_path(char *buf, const char *name);
bool gpio_input(const char *lines); /* "pin level\n" lines into the double's input FIFO */
/* The levels the double saw for output PIN, in order, consecutive repeats merged: "0 1 0". A
 * repeated gpio_set() of the same level is not a level change; *SETS counts every call. */
void output_changes(const char *pin, char *buf, size_t size, unsigned int *sets);
bool expect_output(const char *pin, const char *changes, const char *why);
/* Waits until file NAME in the GPIO double's directory contains NEEDLE. */
bool gpio_wait_file(const char *name, const char *needle, int timeout_ms);
/* The last level the double reported for input PIN (from events.log), or the initial level. */
int gpio_input_level(const char *pin, int initial);
