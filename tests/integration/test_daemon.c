/* SPDX-License-Identifier: MIT */
/* Integration tests: the real daemon (gpio2mqtt-test: main.c + the core library, GPIO replaced by
 * gpio_double.c) against a real mosquitto on 127.0.0.1. Each scenario runs in its own temporary
 * directory with its own broker on its own free port, so scenarios run in parallel. TAP output.
 *
 *   test-daemon SCENARIO DAEMON MOSQUITTO
 *
 * The world (fixture.h): an MQTT v5 "watcher" client subscribes to <base>/# with
 * retain-as-published, so the retain flag the daemon set is visible on live messages too, and
 * records every message in order. */

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

static void scenario_startup(void)
{
	char path[PATH_LEN], *req;
	size_t c, status_c;

	if (!setup_broker())
		return;
	/* Commands left retained on the broker by someone else: must not be acted on. */
	if (!pub_str("relay/set", "ON", true) || !pub_str("lamp/set", "OFF", true))
		return;
	c = watch_mark();
	if (!daemon_start())
		return;

	gpio_path(path, "requested");
	tap_ok(gpio_wait_file("requested", "consumer", TIMEOUT_MS),
	       "the daemon requests its GPIO lines (gpio_open)");
	req = file_read(path, NULL);
	for (size_t i = 0; i < sizeof(requested_lines) / sizeof(requested_lines[0]); i++) {
		bool ok = req && strstr(req, requested_lines[i]);
		char want[256];

		snprintf(want, sizeof(want), "%s", requested_lines[i]);
		want[strcspn(want, "\n")] = '\0';
		tap_ok(ok, "gpio_open request from the config: %s", want);
	}
	if (req && tap_failures())
		dump_file("requested", path, 20);
	free(req);

	status_c = c;
	expect_msg(&status_c, NULL, "online", true, TIMEOUT_MS, "at start");
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = c;
		char topic[256];
		long first;

		expect_msg(&pc, start_states[i].pin, start_states[i].state,
				  start_states[i].retain, TIMEOUT_MS, "at start");
		topic_of(topic, sizeof(topic), start_states[i].pin);
		first = watch_find(c, SIZE_MAX, topic, NULL);
		tap_ok(first >= 0 && (size_t)first >= status_c,
		       "at start: %s published after \"online\"", topic);
	}

	/* Fences: a live command to each output; its echo must be the next state message, and the
	 * level must still be the initial one. */
	{
		size_t rc = c, lc = c;

		pub_str("relay/set", "OFF", false);
		pub_str("lamp/set", "ON", false);
		expect_msg(&rc, "relay", "OFF", true, TIMEOUT_MS, "at start (initial state)");
		expect_msg(&rc, "relay", "OFF", true, TIMEOUT_MS,
			   "retained relay/set ON ignored: next relay state is the live OFF's echo");
		expect_msg(&lc, "lamp", "ON", true, TIMEOUT_MS, "at start (initial state)");
		expect_msg(&lc, "lamp", "ON", true, TIMEOUT_MS,
			   "retained lamp/set OFF ignored: next lamp state is the live ON's echo");
	}
	expect_output("relay", "0", "retained relay/set ON not acted on");
	expect_output("lamp", "1", "retained lamp/set OFF not acted on");
	expect_output("buzzer", "0", "initial level from the config");

	expect_retained(NULL, "online", "at start");
	expect_retained("button", "OFF", "at start");
	expect_retained("door", "ON", "at start (input initially active in the double)");
	expect_retained("relay", "OFF", "at start");
	expect_retained("lamp", "ON", "at start");
	expect_alive("after start-up");
}

static void scenario_inputs(void)
{
	size_t c, fence_c, from;
	long end;
	char topic[256];
	off_t mark;

	if (!setup_daemon(&c))
		return;

	c = watch_mark();
	gpio_input("button 1\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "edge button 1");
	gpio_input("button 0\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "edge button 0");
	gpio_input("door 0\n");
	expect_msg(&c, "door", "OFF", true, TIMEOUT_MS, "edge door 0");
	gpio_input("door 1\n");
	expect_msg(&c, "door", "ON", true, TIMEOUT_MS, "edge door 1");

	/* A burst in one read (one write to the FIFO): the newest state per pin, once. */
	from = c = watch_mark();
	gpio_input("button 1\nbutton 0\nbutton 1\ndoor 0\n");
	expect_msg(&c, "button", "ON", true, TIMEOUT_MS, "burst: the newest of 3 edges");
	fence_c = from;
	expect_msg(&fence_c, "door", "OFF", true, TIMEOUT_MS, "burst: door edge after the button's");
	pub_str("relay/set", "OFF", false);
	fence_c = from;
	if (expect_msg(&fence_c, "relay", "OFF", true, TIMEOUT_MS, "fence after the burst")) {
		unsigned int n = 0;

		topic_of(topic, sizeof(topic), "button");
		end = (long)fence_c;
		for (size_t i = from; (long)i < end;) {
			long idx = watch_find(i, (size_t)end, topic, NULL);

			if (idx < 0)
				break;
			n++;
			i = (size_t)idx + 1;
		}
		tap_ok(n == 1, "burst: exactly 1 button message for 3 edges in one read");
		if (n != 1) {
			tap_diag("got %u:", n);
			watch_dump(from, (size_t)end, topic);
		}
	}

	/* Lost edges reported by the kernel: a warning with the count, and the state follows. */
	mark = file_size(T.daemon_err);
	c = watch_mark();
	gpio_input("button 0 lost=3\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "edge after 3 lost edges");
	{
		const char *const needles[] = { "button", "#3", NULL };

		tap_ok(stderr_has_line(mark, needles, TIMEOUT_MS),
		       "3 lost edges on 'button': a log line naming the pin and the count 3");
	}
	{
		const char *const needles[] = { "warning", "button", NULL };

		tap_ok(stderr_has_line(mark, needles, TIMEOUT_MS),
		       "lost edges on 'button': logged as a warning");
	}

	/* More lost than reported: the double reads the line afterwards and reports its real
	 * level in the same read, so the published state is the line's level. */
	c = watch_mark();
	gpio_input("button 1 lost=2 now=0\n");
	expect_msg(&c, "button", "OFF", true, TIMEOUT_MS, "the line's real level after the loss");
	tap_ok(gpio_input_level("button", 0) == 0, "the double's button level is 0");
	expect_retained("button", "OFF", "after lost edges: retained state = the line's level");
	expect_retained("door", "OFF", "after the edges");
	expect_alive("after the input edges");
}

struct command {
	const char *payload;
	size_t len;
	const char *echo;
	const char *levels; /* relay's level changes so far */
};

#define CMD(p, e, l) { p, sizeof(p) - 1, e, l }

static void scenario_commands(void)
{
	static const struct command cmds[] = {
		CMD("ON", "ON", "0 1"),
		CMD("ON", "ON", "0 1"), /* same again: echo, no level change */
		CMD("OFF", "OFF", "0 1 0"),
		CMD("OFF", "OFF", "0 1 0"),
		CMD("TOGGLE", "ON", "0 1 0 1"),
		CMD("TOGGLE", "OFF", "0 1 0 1 0"),
		CMD("1", "ON", "0 1 0 1 0 1"),
		CMD("1", "ON", "0 1 0 1 0 1"),
		CMD("0", "OFF", "0 1 0 1 0 1 0"),
		CMD("true", "ON", "0 1 0 1 0 1 0 1"),
		CMD("false", "OFF", "0 1 0 1 0 1 0 1 0"),
		CMD("on", "ON", "0 1 0 1 0 1 0 1 0 1"),
		CMD(" On ", "ON", "0 1 0 1 0 1 0 1 0 1"),
		CMD("off", "OFF", "0 1 0 1 0 1 0 1 0 1 0"),
		CMD("toggle", "ON", "0 1 0 1 0 1 0 1 0 1 0 1"),
		CMD("False", "OFF", "0 1 0 1 0 1 0 1 0 1 0 1 0"),
		CMD("TRUE", "ON", "0 1 0 1 0 1 0 1 0 1 0 1 0 1"),
		CMD("\tOFF\r\n", "OFF", "0 1 0 1 0 1 0 1 0 1 0 1 0 1 0"),
		CMD("ToGgLe", "ON", "0 1 0 1 0 1 0 1 0 1 0 1 0 1 0 1"),
	};
	size_t c;
	char buf[64];
	unsigned int sets;

	if (!setup_daemon(&c))
		return;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char why[128];

		snprintf(why, sizeof(why), "relay/set %s",
			 show(cmds[i].payload, cmds[i].len, buf, sizeof(buf)));
		c = watch_mark();
		if (!pub("relay/set", cmds[i].payload, cmds[i].len, false))
			continue;
		expect_msg(&c, "relay", cmds[i].echo, true, TIMEOUT_MS, why);
		expect_output("relay", cmds[i].levels, why);
	}
	output_changes("relay", buf, sizeof(buf), &sets);
	if (sets > 17)
		tap_diag("note: gpio_set was called for relay %u times for 16 level changes "
			 "(repeated commands re-set the same level; harmless)", sets - 1);

	/* Per-pin retain = false: the echo is not retained. */
	c = watch_mark();
	if (pub_str("buzzer/set", "ON", false))
		expect_msg(&c, "buzzer", "ON", false, TIMEOUT_MS, "buzzer/set ON (retain = false)");
	expect_output("buzzer", "0 1", "buzzer/set ON");
	expect_output("lamp", "1", "commands to relay and buzzer leave lamp alone");
	expect_retained("relay", "ON", "after the commands");
	expect_alive("after the commands");
}

/* The info line a command earns ("pin 'relay': ON (command 'ON')") is written after the line
 * was driven: a log write (to the journal, under systemd) never delays a relay. */
static void scenario_command_log_after_drive(void)
{
	static const char drive[] = "gpio-double: drive relay 1";
	static const char logged[] = "pin 'relay': ON (command 'ON')";
	char path[PATH_LEN];
	const char *at_drive, *at_log;
	off_t mark;
	size_t c;
	char *err;

	if (!setup_daemon(&c))
		return;
	gpio_path(path, "trace_sets");
	if (!tap_ok(file_write(path, ""), "the double traces its gpio_set() calls"))
		return;
	mark = file_size(T.daemon_err);
	c = watch_mark();
	if (!pub_str("relay/set", "ON", false) ||
	    !expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON echoed"))
		return;
	tap_ok(file_wait_count(T.daemon_err, logged, 1, LOG_TIMEOUT_MS), "the command is logged");
	err = file_read(T.daemon_err, NULL);
	if (!tap_ok(err != NULL && (off_t)strlen(err) >= mark, "the daemon's stderr is readable"))
		goto out;
	at_drive = strstr(err + mark, drive);
	at_log = strstr(err + mark, logged);
	tap_ok(at_drive != NULL, "the line was driven ('%s')", drive);
	tap_ok(at_drive && at_log && at_drive < at_log,
	       "the line was driven before the command's log line was written");
	if (!(at_drive && at_log && at_drive < at_log))
		dump_file("daemon stderr", T.daemon_err, 20);
out:
	free(err);
	unlink(path);
	expect_alive("after the command");
}

static void scenario_bad_commands(void)
{
	static char big[1000];
	static const struct {
		const char *payload;
		size_t len;
	} garbage[] = {
		{ "BLAH", 4 }, { "ONN", 3 }, { big, sizeof(big) },
		{ "ON\0X", 4 }, { "2", 1 }, { "O N", 3 }, { "ON ON", 5 },
	};
	size_t c, from;
	char buf[64], why[160], topic[256];

	memset(big, 'X', sizeof(big));
	if (!setup_daemon(&c))
		return;
	/* relay ON, so a payload misread as ON or OFF would both be visible as a level or echo. */
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON");

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		const char *const needles[] = { "relay", NULL };
		const char *const warn[] = { "warning", "relay", NULL };
		off_t mark = file_size(T.daemon_err);
		size_t fc;

		snprintf(why, sizeof(why), "relay/set %s",
			 show(garbage[i].payload, garbage[i].len, buf, sizeof(buf)));
		from = fc = watch_mark();
		if (!pub("relay/set", garbage[i].payload, garbage[i].len, false) ||
		    !pub_str("lamp/set", "ON", false))
			continue;
		if (!expect_msg(&fc, "lamp", "ON", true, TIMEOUT_MS, "fence: lamp/set ON echoed"))
			continue;
		topic_of(topic, sizeof(topic), "relay");
		tap_ok(watch_find(from, fc, topic, NULL) < 0, "%s: no state published", why);
		if (watch_find(from, fc, topic, NULL) >= 0)
			watch_dump(from, fc, topic);
		expect_output("relay", "0 1", why);
		tap_ok(stderr_has_line(mark, warn, LOG_TIMEOUT_MS), "%s: a warning naming the pin",
		       why);
		if (!stderr_has_line(mark, needles, 0))
			tap_diag("no stderr line mentioning 'relay' after the command");
	}

	/* An empty message clears a retained command (mosquitto_pub -r -n): nothing happens and
	 * nothing is called a bad command. */
	{
		const char *const warn[] = { "warning", "relay", NULL };
		off_t mark = file_size(T.daemon_err);
		size_t fc;

		from = fc = watch_mark();
		if (pub("relay/set", "", 0, true) && pub_str("lamp/set", "ON", false) &&
		    expect_msg(&fc, "lamp", "ON", true, TIMEOUT_MS, "fence: lamp/set ON echoed")) {
			topic_of(topic, sizeof(topic), "relay");
			tap_ok(watch_find(from, fc, topic, NULL) < 0,
			       "empty retained relay/set (a clear): no state published");
			expect_output("relay", "0 1", "empty retained relay/set");
			tap_ok(!stderr_has_line(mark, warn, 0),
			       "empty retained relay/set: not logged as a bad command");
		}
	}

	/* /set on an input: ignored with a warning; on an unknown name: never even received, as
	 * the daemon subscribes to its own pins' topics only (no wildcard). */
	{
		static const char *const targets[] = { "button", "door", "ghost" };

		for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
			const char *const warn[] = { "warning", targets[i], NULL };
			off_t mark = file_size(T.daemon_err);
			char sub[96];
			size_t fc;

			snprintf(sub, sizeof(sub), "%s/set", targets[i]);
			snprintf(why, sizeof(why), "%s/set ON", targets[i]);
			from = fc = watch_mark();
			if (!pub_str(sub, "ON", false) || !pub_str("lamp/set", "ON", false))
				continue;
			if (!expect_msg(&fc, "lamp", "ON", true, TIMEOUT_MS,
					"fence: lamp/set ON echoed"))
				continue;
			topic_of(topic, sizeof(topic), targets[i]);
			tap_ok(watch_find(from, fc, topic, NULL) < 0, "%s: no state published on %s",
			       why, topic);
			expect_output("relay", "0 1", why);
			expect_output("lamp", "1", why);
			if (strcmp(targets[i], "ghost") == 0)
				tap_ok(!stderr_has_line(mark, warn, 0),
				       "%s: not subscribed, so nothing to warn about", why);
			else
				tap_ok(stderr_has_line(mark, warn, LOG_TIMEOUT_MS),
				       "%s: a warning naming '%s'", why, targets[i]);
		}
		tap_ok(gpio_input_level("button", 0) == 0 && gpio_input_level("door", 1) == 1,
		       "/set on inputs: the double reports no input change");
	}

	/* Still serving after all that. */
	c = watch_mark();
	pub_str("relay/set", "OFF", false);
	expect_msg(&c, "relay", "OFF", true, TIMEOUT_MS, "relay/set OFF after the bad commands");
	expect_output("relay", "0 1 0", "relay/set OFF after the bad commands");
	expect_alive("after the bad commands");
}

static void scenario_reconnect(void)
{
	static const char *const level_word[] = { "OFF", "ON" };
	const char *want[N_START_STATES];
	size_t c;
	int status;

	for (size_t i = 0; i < N_START_STATES; i++)
		want[i] = start_states[i].state;
	if (!setup_daemon(&c))
		return;

	for (int round = 1; round <= 2; round++) {
		int level = round == 1 ? 1 : 0;
		const char *relay_cmd = round == 1 ? "ON" : "OFF";
		char line[32], why[96], needle[32];
		unsigned int subs = watch_subacks();

		/* Broker killed; an input changes while it is away. */
		c = watch_mark();
		kill(T.broker.pid, SIGKILL);
		waitpid(T.broker.pid, &status, 0);
		T.broker.pid = 0;
		snprintf(line, sizeof(line), "button %d\n", level);
		gpio_input(line);
		want[0] = level_word[level]; /* start_states[0] is button */
		snprintf(needle, sizeof(needle), "button %d lost=0", level);
		snprintf(why, sizeof(why), "round %d, broker down", round);
		tap_ok(gpio_wait_file("events.log", needle, TIMEOUT_MS),
		       "%s: the daemon still serves GPIO (edge dispatched)", why);
		expect_alive(why);

		/* Same port, empty broker (no persistence): whatever is there came after. */
		snprintf(why, sizeof(why), "round %d, broker restarted", round);
		if (!tap_ok(broker_up(), "%s on the same port %d", why, T.broker.port))
			return;
		if (!tap_ok(watch_wait_subacks(subs + 1, RECONNECT_TIMEOUT_MS),
			    "%s: watcher resubscribed", why))
			return;
		/* Published by the daemon after the restart, live or (when the daemon was back
		 * before the watcher) as retained messages on the watcher's new subscription. */
		{
			size_t sc = c;

			/* Without "online" the rest would only time out one by one. */
			if (!expect_msg(&sc, NULL, "online", true, RECONNECT_TIMEOUT_MS, why))
				return;
		}
		for (size_t i = 0; i < N_START_STATES; i++) {
			size_t pc = c;

			if (!start_states[i].retain)
				continue; /* may go out before the watcher is back */
			expect_msg(&pc, start_states[i].pin, want[i], true, RECONNECT_TIMEOUT_MS,
				   why);
		}

		snprintf(why, sizeof(why), "round %d, after reconnect", round);
		{
			char got[64] = "";
			int dl = gpio_input_level("button", 0);
			bool have = retained_get("button", got, sizeof(got));

			tap_ok(have && strcmp(got, level_word[dl]) == 0,
			       "%s: retained button state \"%s\" = the double's level %d", why,
			       have ? got : "(none)", dl);
		}
		expect_retained(NULL, "online", why);
		expect_retained("relay", want[2], why); /* start_states[2] is relay */

		/* Resubscribed: a command works. */
		c = watch_mark();
		pub_str("relay/set", relay_cmd, false);
		expect_msg(&c, "relay", relay_cmd, true, TIMEOUT_MS, "relay/set after reconnect");
		expect_output("relay", round == 1 ? "0 1" : "0 1 0", why);
		want[2] = relay_cmd;
	}
	expect_alive("after two broker restarts");
}

static void scenario_broker_late(void)
{
	size_t c;
	int64_t until;
	int status;
	bool alive = true;

	if (!setup_dirs())
		return;
	/* Nothing listens on T.broker.port yet. */
	if (!daemon_start())
		return;
	tap_ok(gpio_wait_file("requested", "consumer", TIMEOUT_MS),
	       "broker down: the daemon requests its GPIO lines anyway");
	gpio_input("button 1\n");
	tap_ok(gpio_wait_file("events.log", "button 1 lost=0", TIMEOUT_MS),
	       "broker down: the daemon serves GPIO (edge dispatched)");
	/* Longer than reconnect_max_ms: several failed connection attempts. */
	until = now_ms() + 2500;
	while (alive && now_ms() < until) {
		alive = child_alive(T.daemon, &status);
		pause_ms(20);
	}
	if (!tap_ok(alive, "broker down for 2.5 s: the daemon keeps running")) {
		char buf[64];

		tap_diag("it ended: %s", status_str(status, buf, sizeof(buf)));
		T.daemon = 0;
		return;
	}
	if (!tap_ok(broker_up(), "mosquitto starts on 127.0.0.1:%d", T.broker.port))
		return;
	if (!tap_ok(watch_up(), "watcher subscribed to %s/#", T.base))
		return;
	/* The daemon may have published before the watcher subscribed: retained messages then
	 * arrive with the subscription, so the retained pins are seen either way. */
	c = 0;
	if (!expect_msg(&c, NULL, "online", true, RECONNECT_TIMEOUT_MS, "broker up"))
		return;
	for (size_t i = 0; i < N_START_STATES; i++) {
		size_t pc = 0;
		const char *want = start_states[i].state;

		if (!start_states[i].retain)
			continue;
		if (strcmp(start_states[i].pin, "button") == 0)
			want = "ON";
		expect_msg(&pc, start_states[i].pin, want, true, RECONNECT_TIMEOUT_MS, "broker up");
	}
	expect_retained("button", "ON", "broker up");
	c = watch_mark();
	pub_str("relay/set", "ON", false);
	expect_msg(&c, "relay", "ON", true, TIMEOUT_MS, "relay/set ON once connected");
	expect_output("relay", "0 1", "relay/set ON once connected");
	expect_alive("after the late broker");
}

static void scenario_stop_signal(int sig, const char *sig_name)
{
	size_t c;
	int status;
	char buf[64], path[PATH_LEN];

	if (!setup_daemon(&c))
		return;
	c = watch_mark();
	kill(T.daemon, sig);
	if (tap_ok(child_wait(T.daemon, EXIT_TIMEOUT_MS, &status), "%s: the daemon exits", sig_name)) {
		T.daemon = 0;
		tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status 0", sig_name);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			tap_diag("got: %s", status_str(status, buf, sizeof(buf)));
	} else {
		child_kill(&T.daemon, SIGKILL);
	}
	expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, sig_name);
	expect_retained(NULL, "offline", sig_name);
	gpio_path(path, "released");
	tap_ok(file_exists(path), "%s: the GPIO lines are released (gpio_close)", sig_name);
}

static void scenario_sigterm(void)
{
	scenario_stop_signal(SIGTERM, "SIGTERM");
}

static void scenario_sigint(void)
{
	scenario_stop_signal(SIGINT, "SIGINT");
}

/* With mqtt.accept_retained_commands = true, a retained command waiting on the broker is
 * carried out at start. */
/* A flood of commands while the main loop is held up: the incoming queue fills, and the newest
 * command must still win (a newer command supersedes an older one for the same pin; never the
 * newest is dropped). */
static void scenario_command_flood(void)
{
	enum { FLOOD = 1500 };
	char stall[PATH_LEN];
	const char *const warn[] = { "warning", "incoming messages dropped", NULL };
	int64_t deadline;
	size_t c;
	int sent = 0;

	if (!setup_daemon(&c))
		return;
	/* lamp starts ON: its OFF reaches the double, which then stalls the main loop for 3 s. */
	gpio_path(stall, "stall_ms");
	if (!tap_ok(file_write(stall, "3000"), "the double will hold the main loop for 3 s") ||
	    !pub_str("lamp/set", "OFF", false))
		return;
	deadline = now_ms() + TIMEOUT_MS;
	while (file_exists(stall) && now_ms() < deadline)
		pause_ms(5);
	if (!tap_ok(!file_exists(stall), "the main loop is held up"))
		return;
	for (int i = 0; i < FLOOD; i++)
		sent += pub_str("relay/set", "OFF", false);
	sent += pub_str("relay/set", "ON", false);
	tap_ok(sent == FLOOD + 1, "%d commands published while the daemon is busy: %d OFF, then ON",
	       sent, FLOOD);
	{
		char topic[256];

		topic_of(topic, sizeof(topic), "relay");
		tap_ok(watch_wait(c, topic, "ON", RECONNECT_TIMEOUT_MS) >= 0,
		       "the last command, ON, wins: relay ON published");
	}
	expect_output("relay", "0 1", "the last command wins");
	tap_ok(stderr_has_line(0, warn, LOG_TIMEOUT_MS), "the dropped commands are logged");
	expect_alive("after the flood");
}

static void scenario_retained_accepted(void)
{
	size_t c;
	struct msg m;
	char topic[256];
	bool found = false;

	T.accept_retained = true;
	if (!setup_broker())
		return;
	if (!pub_str("relay/set", "ON", true))
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	topic_of(topic, sizeof(topic), "relay");
	while (!found && watch_next(&c, topic, TIMEOUT_MS, &m))
		found = strcmp(m.payload, "ON") == 0 && m.retain;
	tap_ok(found, "accept_retained_commands = true: retained relay/set ON carried out: "
		     "%s \"ON\" retained", topic);
	expect_output("relay", "0 1", "accept_retained_commands = true");
	expect_retained("relay", "ON", "accept_retained_commands = true");
	expect_alive("accept_retained_commands = true");
}

static void scenario_sigkill(void)
{
	size_t c;
	int status;

	if (!setup_daemon(&c))
		return;
	c = watch_mark();
	kill(T.daemon, SIGKILL);
	waitpid(T.daemon, &status, 0);
	T.daemon = 0;
	expect_msg(&c, NULL, "offline", true, TIMEOUT_MS, "SIGKILL: the Last Will");
	expect_retained(NULL, "offline", "SIGKILL: the Last Will");

	/* And a new daemon comes back online over it. */
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_msg(&c, NULL, "online", true, TIMEOUT_MS, "restarted after SIGKILL");
	expect_retained(NULL, "online", "restarted after SIGKILL");
	expect_alive("restarted after SIGKILL");
}

/* Runs the daemon with ARGS, checks its exit status and that its stderr has every NEEDLES
 * string (NULL-terminated list, may be empty). */
static bool expect_run(const char *why, const char *const args[], bool gpio_env, int want_exit,
		       const char *const needles[])
{
	int status;
	char buf[64];
	bool ok;
	size_t len = 0;
	char *err;

	if (!tap_ok(daemon_run(args, gpio_env, &status), "%s: the daemon exits", why))
		return false;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == want_exit;
	if (!tap_ok(ok, "%s: exit status %d", why, want_exit))
		tap_diag("got: %s", status_str(status, buf, sizeof(buf)));
	err = file_read(T.daemon_err, &len);
	for (const char *const *n = needles; n && *n; n++) {
		bool has = err && strstr(err, *n);

		ok &= has;
		tap_ok(has, "%s: stderr has \"%s\"", why, *n);
	}
	if (!ok)
		dump_file("daemon stderr", T.daemon_err, 20);
	free(err);
	return ok;
}

static void expect_no_gpio(const char *why)
{
	char req[PATH_LEN], outs[PATH_LEN];

	gpio_path(req, "requested");
	gpio_path(outs, "outputs.log");
	tap_ok(!file_exists(req) && !file_exists(outs), "%s: no GPIO line touched", why);
}

static void scenario_config(void)
{
	char bad[PATH_LEN], bad2[PATH_LEN], syntax[PATH_LEN], path[PATH_LEN];
	char l6[PATH_LEN + 8], l5[PATH_LEN + 8], l8[PATH_LEN + 8], l3[PATH_LEN + 8];

	if (!setup_dirs())
		return;
	path_in(bad, H.tmp, "bad.conf");
	path_in(bad2, H.tmp, "bad2.conf");
	path_in(syntax, H.tmp, "syntax.conf");
	file_write(bad, "mqtt = {\n"
			"  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			"  base_topic = \"g2m-int/config\";\n"
			"};\n"
			"inputs = (\n"
			"  { name = \"button\"; line = \"GPIO17\"; bias = \"sideways\"; }\n"
			");\n");
	file_write(bad2, "mqtt = {\n"
			 "  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			 "};\n"
			 "inputs = (\n"
			 "  { name = \"button\"; line = \"GPIO17\"; bias = \"sideways\"; }\n"
			 ");\n"
			 "outputs = (\n"
			 "  { name = \"relay\"; line = \"GPIO27\"; drive = \"open-sesame\"; }\n"
			 ");\n");
	file_write(syntax, "mqtt = {\n"
			   "  brokers = ( { host = \"127.0.0.1\"; port = 1; } );\n"
			   "  keepalive = ;\n"
			   "};\n");
	snprintf(l6, sizeof(l6), "%s:6:", bad);
	snprintf(l5, sizeof(l5), "%s:5:", bad2);
	snprintf(l8, sizeof(l8), "%s:8:", bad2);
	snprintf(l3, sizeof(l3), "%s:3:", syntax);

	{
		const char *const args[] = { "-c", bad, NULL };
		const char *const needles[] = { l6, "bias", NULL };

		expect_run("bad bias", args, true, 78, needles);
		expect_no_gpio("bad bias");
	}
	{
		const char *const args[] = { "-c", syntax, NULL };
		const char *const needles[] = { l3, NULL };

		expect_run("syntax error", args, true, 78, needles);
		expect_no_gpio("syntax error");
	}
	{
		const char *const args[] = { "--check", "-c", bad2, NULL };
		const char *const needles[] = { l5, l8, NULL };
		char *out;

		expect_run("--check, two errors", args, true, 78, needles);
		out = file_read(T.daemon_out, NULL);
		tap_ok(!out || !strstr(out, "configuration OK"),
		       "--check, two errors: no \"configuration OK\"");
		free(out);
	}
	{
		const char *const args[] = { "-c", T.config, "--check", NULL };
		const char *const none[] = { NULL };
		char *out;

		expect_run("--check, good config", args, true, 0, none);
		out = file_read(T.daemon_out, NULL);
		tap_ok(out && strncmp(out, "configuration OK", 16) == 0,
		       "--check, good config: stdout starts with \"configuration OK\"");
		if (!out || strncmp(out, "configuration OK", 16) != 0)
			dump_file("stdout", T.daemon_out, 10);
		free(out);
		expect_no_gpio("--check, good config");
	}
	{
		const char *const args[] = { "-n", "-c", T.config, NULL };
		const char *const none[] = { NULL };

		expect_run("-n, good config", args, true, 0, none);
	}

	/* "initial" gave way to power_on (off | on | restore): an old file says so clearly. */
	{
		char old_conf[PATH_LEN];
		const char *const args[] = { "--check", "-c", old_conf, NULL };
		const char *const needles[] = { "unknown key 'initial'", NULL };

		path_in(old_conf, H.tmp, "old-initial.conf");
		write_config_key(old_conf, "initial");
		expect_run("--check, outputs with the old key initial", args, true, 78, needles);
	}

	/* GPIO refusals: a busy line exits 1 (another program may let it go: a restart can help),
	 * a line that does not exist is the file's mistake: exit 78 (no restart loop). */
	gpio_path(path, "busy");
	file_write(path, "relay\n");
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "pin 'relay'", "busy", "gpioset", NULL };

		expect_run("busy line", args, true, 1, needles);
	}
	unlink(path);
	gpio_path(path, "missing");
	file_write(path, "lamp\n");
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "pin 'lamp': no line named 'GPIO22' on any chip",
						NULL };

		expect_run("missing line", args, true, 78, needles);
	}
	/* --check on the target looks every line up (and names the closest); --no-gpio does
	 * not, for a file checked on another machine. */
	{
		const char *const args[] = { "--check", "-c", T.config, NULL };
		const char *const needles[] = { ": pin 'lamp': no line named 'GPIO22'", "closest",
						"1 line not usable on this machine", NULL };
		const char *const offline[] = { "--check", "--no-gpio", "-c", T.config, NULL };
		const char *const ok[] = { NULL }; /* "configuration OK" is on stdout */

		expect_run("--check, a line this machine does not have", args, true, 78, needles);
		expect_run("--check --no-gpio: the lines are not looked up", offline, true, 0, ok);
	}
	unlink(path);
	gpio_path(path, "busy");
	file_write(path, "relay\n");
	{
		const char *const args[] = { "--check", "-c", T.config, NULL };
		const char *const needles[] = { "pin 'relay'", "is busy: used by 'gpioset'", NULL };

		expect_run("--check, a line another program holds", args, true, 78, needles);
	}
	unlink(path);
	{
		const char *const args[] = { "-c", T.config, NULL };
		const char *const needles[] = { "GPIO2MQTT_TEST_GPIO_DIR", NULL };

		expect_run("GPIO double without its directory", args, false, 1, needles);
	}
}

static const struct scenario scenarios[] = {
	{ "startup", scenario_startup },
	{ "inputs", scenario_inputs },
	{ "commands", scenario_commands },
	{ "command-log-after-drive", scenario_command_log_after_drive },
	{ "bad-commands", scenario_bad_commands },
	{ "reconnect", scenario_reconnect },
	{ "broker-late", scenario_broker_late },
	{ "sigterm", scenario_sigterm },
	{ "sigint", scenario_sigint },
	{ "retained-accepted", scenario_retained_accepted },
	{ "sigkill", scenario_sigkill },
	{ "command-flood", scenario_command_flood },
	{ "config", scenario_config },
};

int main(int argc, char **argv)
{
	return fixture_main(argc, argv, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
}
