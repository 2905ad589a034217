/* SPDX-License-Identifier: MIT */
/* Integration tests of covers (issue 19): the daemon (gpio2mqtt-test, GPIO replaced by
 * gpio_double.c) against a real mosquitto on a free port of 127.0.0.1. TAP output.
 *
 *   test-cover SCENARIO DAEMON MOSQUITTO
 *
 * The relays' history is the double's outputs.log ("NAME LEVEL" per gpio_set(), in order): the
 * safety checks read it whole (never both directions ON). No sleeps as assertions: every wait
 * is for a message or a file, with a deadline. */

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	struct broker broker;
	volatile pid_t daemon;
	char err[PATH_LEN];
	char base[128];
	char sys[PATH_LEN]; /* a sysfs tree of plain files for a PWM light; empty: none */
	unsigned int runs;
} T;

static const char *pins =
	"inputs = ( { name = \"btn_up\"; line = \"GPIO5\"; mode = \"button\"; },\n"
	"           { name = \"btn_down\"; line = \"GPIO6\"; mode = \"button\"; } );\n"
	"outputs = ( { name = \"up\"; line = \"GPIO23\"; },\n"
	"            { name = \"down\"; line = \"GPIO24\"; } );\n"
	"covers = ( { name = \"shutter\"; up = \"up\"; down = \"down\";\n"
	"             travel_up_ms = 1500; travel_down_ms = 1500; dead_time_ms = 400;\n"
	"             up_button = \"btn_up\"; down_button = \"btn_down\"; } );\n";

static const char *discovery = "homeassistant = false;";

static bool config_write(void)
{
	char path[PATH_LEN], text[4096];

	tmp_path(path, "cover.conf");
	snprintf(T.base, sizeof(T.base), "g2m-cover/%s", H.scenario);
	snprintf(text, sizeof(text),
		 "mqtt = {\n"
		 "  brokers = ( { host = \"127.0.0.1\"; port = %d; } );\n"
		 "  client_id = \"g2m-cover-%s-%ld\";\n"
		 "  base_topic = \"%s\";\n"
		 "  keepalive = 5; reconnect_min_ms = 200; reconnect_max_ms = 1000;\n"
		 "};\n"
		 "state_dir = \"%s/state\";\n"
		 "discovery = { %s };\n"
		 "%s",
		 T.broker.port, H.scenario, (long)getpid(), T.base, H.tmp, discovery, pins);
	return file_write(path, text);
}

static bool daemon_start(void)
{
	char conf[PATH_LEN], gpio[PATH_LEN], name[64], gpio_env[PATH_LEN + 40];
	char sys_env[PATH_LEN + 40];
	const char *env[] = { gpio_env, T.sys[0] ? sys_env : NULL, NULL };
	char *argv[] = { (char *)H.daemon_path, (char *)"-d", (char *)"-c", conf, NULL };

	tmp_path(conf, "cover.conf");
	tmp_path(gpio, "gpio");
	mkdir(gpio, 0755);
	snprintf(gpio_env, sizeof(gpio_env), "GPIO2MQTT_TEST_GPIO_DIR=%s", gpio);
	snprintf(sys_env, sizeof(sys_env), "GPIO2MQTT_SYSFS=%s", T.sys);
	snprintf(name, sizeof(name), "daemon-run%u.log", ++T.runs);
	tmp_path(T.err, name);
	child_track(&T.daemon);
	T.daemon = spawn(argv, T.err, NULL, env);
	return tap_ok(T.daemon > 0, "start the daemon");
}

static bool daemon_stop(void)
{
	int status = 0;

	kill(T.daemon, SIGTERM);
	if (!tap_ok(child_wait(T.daemon, 5000, &status) && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0,
		    "SIGTERM: a clean stop"))
		return false;
	T.daemon = 0;
	return true;
}

static void topic_of(char *buf, size_t size, const char *sub)
{
	snprintf(buf, size, "%s/%s", T.base, sub);
}

static bool expect_msg(size_t from, const char *sub, const char *payload, const char *why)
{
	char topic[256];
	long i;

	topic_of(topic, sizeof(topic), sub);
	i = watch_wait(from, topic, payload, TIMEOUT_MS);
	tap_ok(i >= 0, "%s: %s \"%s\"", why, topic, payload);
	return i >= 0;
}

/* Waits for the cover to say STATE at POSITION (its two topics, after FROM). */
static bool expect_cover(size_t from, const char *state, const char *position, const char *why)
{
	return expect_msg(from, "shutter", state, why) &&
	       expect_msg(from, "shutter/position", position, why);
}

static bool pub(const char *sub, const char *payload)
{
	char topic[256];

	topic_of(topic, sizeof(topic), sub);
	return watch_publish(topic, payload, strlen(payload), false);
}

/* An edge of input NAME through the double's FIFO. */
static bool input_edge(const char *name, int level)
{
	char path[PATH_LEN], line[64];
	int fd, n;
	bool ok;

	tmp_path(path, "gpio/input");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return tap_ok(false, "open the double's input FIFO");
	n = snprintf(line, sizeof(line), "%s %d\n", name, level);
	ok = write(fd, line, (size_t)n) == n;
	close(fd);
	return tap_ok(ok, "input %s -> %d", name, level);
}

/* The relays' history from outputs.log: both never ON together; returns the sequence of
 * changes ("up 1,up 0,down 1,...") in BUF. */
static bool relays_history(char *buf, size_t size, bool *overlap)
{
	char path[PATH_LEN], *text, *line, *save = NULL;
	int up = 0, down = 0;
	size_t n = 0;

	tmp_path(path, "gpio/outputs.log");
	text = file_read(path, NULL);
	buf[0] = '\0';
	*overlap = false;
	if (!text)
		return false;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		int level, *at;

		if (sscanf(line, "%31s %d", name, &level) != 2)
			continue;
		at = strcmp(name, "up") == 0 ? &up : strcmp(name, "down") == 0 ? &down : NULL;
		if (!at || *at == level)
			continue;
		*at = level;
		if (up && down)
			*overlap = true;
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s %d", n ? "," : "",
				      name, level);
	}
	free(text);
	return true;
}

static bool state_file_has(const char *needle)
{
	char path[PATH_LEN];

	tmp_path(path, "state/covers.state");
	return file_wait_count(path, needle, 1, TIMEOUT_MS);
}

/* The position published with the first "stopped" from FROM on (the state comes first, its
 * position right after); -1 when none came. */
static int stop_position(size_t from)
{
	char topic[256];
	struct msg m;
	long i;

	topic_of(topic, sizeof(topic), "shutter");
	i = watch_wait(from, topic, "stopped", TIMEOUT_MS);
	if (i < 0)
		return -1;
	topic_of(topic, sizeof(topic), "shutter/position");
	i = watch_wait((size_t)i + 1, topic, NULL, TIMEOUT_MS);
	return i >= 0 && watch_at((size_t)i, &m) ? atoi(m.payload) : -1;
}

/* Commands over MQTT: a reversal waits the dead time after the real OFF, STOP, a position,
 * the relays refuse their own commands, and the position is kept in covers.state. */
static void scenario_commands(void)
{
	char history[512], topic[256];
	int position;
	long i;
	size_t c;
	bool overlap;

	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "unknown position at the first start: stopped at 50");

	c = watch_mark();
	pub("shutter/set", "CLOSE");
	expect_cover(c, "closing", "50", "CLOSE");
	c = watch_mark();
	expect_cover(c, "closed", "0", "a full run down: closed, recalibrated");
	tap_ok(state_file_has("shutter 0\n"), "covers.state keeps position 0");

	c = watch_mark();
	pub("shutter/set", "OPEN");
	expect_msg(c, "up", "ON", "OPEN: the up relay");
	c = watch_mark();
	pub("shutter/set", "CLOSE");
	expect_msg(c, "up", "OFF", "CLOSE while opening: up OFF");
	expect_msg(c, "down", "ON", "... then down ON");
	c = watch_mark();
	pub("shutter/set", "STOP");
	expect_msg(c, "down", "OFF", "STOP: down OFF");
	{
		/* The motor ran only briefly each way: stopped, or closed again. */
		struct msg m = { 0 };
		bool got;

		topic_of(topic, sizeof(topic), "shutter");
		got = watch_next(&c, topic, TIMEOUT_MS, &m);
		tap_ok(got && (strcmp(m.payload, "stopped") == 0 || strcmp(m.payload, "closed") == 0),
		       "STOP: %s (stopped or closed)", got ? m.payload : "nothing");
	}

	c = watch_mark();
	pub("up/set", "ON");
	pub("shutter/set", "60");
	topic_of(topic, sizeof(topic), "shutter");
	i = watch_wait(c, topic, "opening", TIMEOUT_MS);
	tap_ok(i >= 0, "position 60: opening");
	/* Time-based: the relay goes OFF a few ms after the decision, 15 ms are 1 %. A stop before
	 * (the STOP above) is published before "opening". */
	position = i >= 0 ? stop_position((size_t)i + 1) : -1;
	tap_ok(position >= 58 && position <= 62, "position 60 reached within 2 (is %d)", position);
	tap_ok(state_file_has("shutter "), "covers.state keeps the position");

	tap_ok(relays_history(history, sizeof(history), &overlap), "outputs.log read");
	tap_ok(!overlap, "up and down never ON together");
	tap_ok(strcmp(history, "down 1,down 0,up 1,up 0,down 1,down 0,up 1,up 0") == 0,
	       "relay history: %s (the up/set ON made no change)", history);
	daemon_stop();
}

/* A restart never starts a motor, and the cover starts where it was; a stop mid-travel
 * switches the relays OFF (a cover's relays have on_exit = "off"). */
static void scenario_restart(void)
{
	char path[PATH_LEN];
	size_t c;

	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "first start");
	c = watch_mark();
	pub("shutter/set", "OPEN");
	expect_msg(c, "up", "ON", "OPEN: up ON");
	if (!daemon_stop())
		return;
	tmp_path(path, "gpio/out/up");
	tap_ok(file_wait_count(path, "0", 1, TIMEOUT_MS), "the stop switched the up relay OFF");

	tmp_path(path, "state/covers.state");
	tap_ok(file_write(path, "not a state file\n"), "a corrupt covers.state");
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "corrupt file: unknown, standing still");
	tmp_path(path, "gpio/out/up");
	tap_ok(file_count(path, "0") == 1, "the up relay starts OFF");
	tmp_path(path, "gpio/out/down");
	tap_ok(file_count(path, "0") == 1, "the down relay starts OFF");
	daemon_stop();
}

/* Wall buttons: a press moves, a press of the other button stops. */
static void scenario_buttons(void)
{
	size_t c;

	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "start");
	c = watch_mark();
	input_edge("btn_up", 1);
	input_edge("btn_up", 0);
	expect_msg(c, "up", "ON", "the up button: up");
	expect_msg(c, "shutter", "opening", "the up button: opening");
	c = watch_mark();
	input_edge("btn_down", 1);
	input_edge("btn_down", 0);
	expect_msg(c, "up", "OFF", "the down button while opening: stop");
	expect_msg(c, "shutter", "stopped", "stopped");
	daemon_stop();
}

/* The position while it moves: every position_interval_ms, with the state closing, until the
 * run ends; with 0, none in between. */
static void scenario_moving(void)
{
	char topic[256], ptopic[256];
	struct msg m;
	size_t c, cur;
	long end;
	int between = 0, last = 50;
	bool closing_only = true, falling = true;

	pins = "outputs = ( { name = \"up\"; line = \"GPIO23\"; },\n"
	       "            { name = \"down\"; line = \"GPIO24\"; } );\n"
	       "covers = ( { name = \"shutter\"; up = \"up\"; down = \"down\";\n"
	       "             travel_up_ms = 3000; travel_down_ms = 3000; dead_time_ms = 100;\n"
	       "             position_interval_ms = 400; } );\n";
	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "start");
	topic_of(topic, sizeof(topic), "shutter");
	topic_of(ptopic, sizeof(ptopic), "shutter/position");
	c = watch_mark();
	pub("shutter/set", "CLOSE");
	expect_cover(c, "closing", "50", "CLOSE");
	/* Every state and position until "closed" (1.5 s of travel and a tenth of 3 s). */
	end = watch_wait(c, topic, "closed", TIMEOUT_MS);
	tap_ok(end >= 0, "the run ends closed");
	for (cur = c; end >= 0 && cur < (size_t)end && watch_at(cur, &m); cur++) {
		if (strcmp(m.topic, topic) == 0) {
			closing_only &= strcmp(m.payload, "closing") == 0;
		} else if (strcmp(m.topic, ptopic) == 0) {
			int p = atoi(m.payload);

			falling &= p <= last;
			last = p;
			between += p > 0 && p < 50;
		}
	}
	tap_ok(between >= 2, "positions in between while it moves (%d)", between);
	tap_ok(falling, "the positions fall");
	tap_ok(closing_only, "the state while it moves is closing");
	daemon_stop();

	/* position_interval_ms = 0: the position only when it starts and stops. */
	pins = "outputs = ( { name = \"up\"; line = \"GPIO23\"; },\n"
	       "            { name = \"down\"; line = \"GPIO24\"; } );\n"
	       "covers = ( { name = \"shutter\"; up = \"up\"; down = \"down\";\n"
	       "             travel_up_ms = 3000; travel_down_ms = 3000; dead_time_ms = 100;\n"
	       "             position_interval_ms = 0; } );\n";
	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "closed", "0", "restart: closed at 0");
	c = watch_mark();
	pub("shutter/set", "OPEN");
	expect_cover(c, "opening", "0", "OPEN");
	expect_cover(c, "open", "100", "open");
	between = 0;
	for (cur = c; watch_next(&cur, ptopic, 0, &m);)
		between += atoi(m.payload) > 0 && atoi(m.payload) < 100;
	tap_ok(between == 0, "no position in between with position_interval_ms = 0 (%d)", between);
	daemon_stop();
}

/* The first message on SUB from FROM on whose payload contains NEEDLE; its index or -1. */
static long expect_part(size_t from, const char *sub, const char *needle, const char *why)
{
	char topic[256];
	struct msg m;
	size_t cur = from;

	topic_of(topic, sizeof(topic), sub);
	while (watch_next(&cur, topic, TIMEOUT_MS, &m)) {
		if (strstr(m.payload, needle)) {
			tap_ok(true, "%s: %s has %s", why, topic, needle);
			return (long)cur - 1;
		}
	}
	tap_ok(false, "%s: %s has %s", why, topic, needle);
	return -1;
}

/* The obstruction input: a run stops at once, nothing starts while it is active, the JSON
 * state says so, the log says it once; once cleared, commands are taken again. */
static void scenario_obstruction(void)
{
	char history[512];
	size_t c;
	bool overlap;

	pins = "inputs = ( { name = \"beam\"; line = \"GPIO4\"; } );\n"
	       "outputs = ( { name = \"up\"; line = \"GPIO23\"; },\n"
	       "            { name = \"down\"; line = \"GPIO24\"; } );\n"
	       "covers = ( { name = \"shutter\"; up = \"up\"; down = \"down\";\n"
	       "             travel_up_ms = 20000; travel_down_ms = 20000; dead_time_ms = 100;\n"
	       "             obstruction = \"beam\"; payload = \"json\"; } );\n";
	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_part(c, "shutter", "\"obstruction\":false", "start: no obstruction");
	c = watch_mark();
	pub("shutter/set", "OPEN");
	expect_msg(c, "up", "ON", "OPEN: up");
	expect_part(c, "shutter", "\"state\":\"opening\"", "OPEN: opening");
	c = watch_mark();
	input_edge("beam", 1);
	expect_msg(c, "up", "OFF", "the obstruction switches the motor OFF");
	expect_part(c, "shutter", "\"state\":\"stopped\"", "obstruction: stopped");
	expect_part(c, "shutter", "\"obstruction\":true", "obstruction: published");
	c = watch_mark();
	pub("shutter/set", "CLOSE");
	expect_part(c, "shutter", "\"obstruction\":true", "CLOSE while obstructed: state echoed");
	tap_ok(file_wait_count(T.err, "refused: its obstruction input 'beam' is active", 1,
			       TIMEOUT_MS),
	       "the refusal is logged");
	tap_ok(file_count(T.err, "obstruction 'beam' active") == 1, "the obstruction logged once");
	tap_ok(relays_history(history, sizeof(history), &overlap), "outputs.log read");
	tap_ok(strcmp(history, "up 1,up 0") == 0, "nothing started while obstructed (%s)", history);
	c = watch_mark();
	input_edge("beam", 0);
	expect_part(c, "shutter", "\"obstruction\":false", "cleared: published");
	tap_ok(file_wait_count(T.err, "obstruction 'beam' cleared", 1, TIMEOUT_MS),
	       "the clearing is logged");
	c = watch_mark();
	pub("shutter/set", "CLOSE");
	expect_msg(c, "down", "ON", "cleared: CLOSE runs down");
	tap_ok(relays_history(history, sizeof(history), &overlap) && !overlap,
	       "up and down never ON together");
	daemon_stop();
}

/* The payload of the first message on TOPIC from FROM on (NULL when none came). */
static const char *payload_of(size_t from, const char *topic)
{
	struct msg m;
	long i = watch_wait(from, topic, NULL, TIMEOUT_MS);

	return i >= 0 && watch_at((size_t)i, &m) ? m.payload : NULL;
}

/* Home Assistant's cover config and the Homie cover node. */
static void scenario_discovery(void)
{
	static const char *const ha_keys[][3] = {
		/* key, a topic under the base, or a literal value */
		{ "command_topic", "shutter/set", NULL },
		{ "state_topic", "shutter", NULL },
		{ "position_topic", "shutter/position", NULL },
		{ "set_position_topic", "shutter/set", NULL },
		{ "payload_stop", NULL, "STOP" },
		{ "device_class", NULL, "shutter" },
		{ "state_opening", NULL, "opening" },
	};
	char topic[256], want[256], *dev = NULL;
	const char *p;
	size_t c;
	long i;

	discovery = "homeassistant = true; homie = true;";
	if (!config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	expect_cover(c, "stopped", "50", "start");
	/* the device id is in the Homie $state topic */
	for (size_t k = c; k < watch_mark() && !dev; k++) {
		struct msg m;

		if (watch_at(k, &m) && strncmp(m.topic, "homie/", 6) == 0 && strstr(m.topic, "/$state"))
			dev = strndup(m.topic + 6, strcspn(m.topic + 6, "/"));
	}
	if (!tap_ok(dev != NULL, "Homie device seen"))
		return;
	snprintf(topic, sizeof(topic), "homeassistant/cover/%s/shutter/config", dev);
	for (size_t k = 0; k < strlen(dev); k++)
		if (topic[20 + k] == '-')
			topic[20 + k] = '_'; /* gpio2mqtt_<id> for Home Assistant */
	p = payload_of(c, topic);
	if (tap_ok(p != NULL, "Home Assistant cover config on %s", topic)) {
		for (size_t k = 0; k < sizeof(ha_keys) / sizeof(ha_keys[0]); k++) {
			if (ha_keys[k][1])
				snprintf(want, sizeof(want), "\"%s\":\"%s/%s\"", ha_keys[k][0], T.base,
					 ha_keys[k][1]);
			else
				snprintf(want, sizeof(want), "\"%s\":\"%s\"", ha_keys[k][0],
					 ha_keys[k][2]);
			tap_ok(strstr(p, want) != NULL, "HA config has %s", want);
		}
	}
	snprintf(topic, sizeof(topic), "homie/%s/shutter/$type", dev);
	p = payload_of(c, topic);
	tap_ok(p && strcmp(p, "cover") == 0, "Homie node type cover");
	snprintf(topic, sizeof(topic), "homie/%s/shutter/$properties", dev);
	p = payload_of(c, topic);
	tap_ok(p && strcmp(p, "state,position,command") == 0, "Homie properties state,position,command");
	snprintf(topic, sizeof(topic), "homie/%s/shutter/position/$settable", dev);
	p = payload_of(c, topic);
	tap_ok(p && strcmp(p, "true") == 0, "Homie position settable");

	c = watch_mark();
	snprintf(topic, sizeof(topic), "homie/%s/shutter/position/set", dev);
	watch_publish(topic, "40", 2, false);
	expect_msg(c, "shutter", "closing", "Homie position/set 40: closing");
	topic_of(topic, sizeof(topic), "shutter");
	i = watch_wait(c, topic, "stopped", TIMEOUT_MS);
	tap_ok(i >= 0, "... then stopped");
	snprintf(topic, sizeof(topic), "homie/%s/shutter/position", dev);
	p = i >= 0 ? payload_of((size_t)i + 1, topic) : NULL;
	tap_ok(p && atoi(p) >= 38 && atoi(p) <= 42, "Homie position about 40 (%s)", p ? p : "none");
	free(dev);
	daemon_stop();
}

/* A sysfs tree of plain files under T.sys with PWM chip test-pwm.0 (pwmchip3), its channel 1
 * already exported (a plain file cannot make the directory an export creates). */
static bool pwm_tree(void)
{
	static const char *const dirs[] = { "", "/devices", "/devices/platform",
					    "/devices/platform/test-pwm.0", "/class",
					    "/class/pwm", "/class/pwm/pwmchip3",
					    "/class/pwm/pwmchip3/pwm1" };
	static const char *const files[][2] = {
		{ "/class/pwm/pwmchip3/npwm", "2\n" },
		{ "/class/pwm/pwmchip3/unexport", "" },
		{ "/class/pwm/pwmchip3/pwm1/period", "0\n" },
		{ "/class/pwm/pwmchip3/pwm1/duty_cycle", "0\n" },
		{ "/class/pwm/pwmchip3/pwm1/enable", "0\n" },
		{ "/class/pwm/pwmchip3/pwm1/polarity", "normal\n" },
	};
	char path[PATH_LEN + 64];
	bool ok = true;

	tmp_path(T.sys, "sys");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", T.sys, dirs[i]);
		ok = ok && (mkdir(path, 0755) == 0 || errno == EEXIST);
	}
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3/device", T.sys);
	ok = ok && symlink("../../../devices/platform/test-pwm.0", path) == 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", T.sys, files[i][0]);
		ok = ok && file_write(path, files[i][1]);
	}
	return tap_ok(ok, "a sysfs tree with PWM chip test-pwm.0, channel 1 exported");
}

/* Every kind in one daemon: a switch, a counter, a button, three outputs, a PWM light and a
 * cover. The GPIO double is asked for the six GPIO lines only (its "requested" report: neither
 * the light nor the cover reaches gpio.c), and each kind works next to the others. */
static void scenario_all_kinds(void)
{
	static const char *const gpio_pins[] = { "door input", "meter input", "btn_up input",
						 "relay output", "up output", "down output" };
	char path[PATH_LEN], history[512], *text;
	size_t c;
	bool overlap;
	int lines = 0;

	pins = "inputs = ( { name = \"door\"; line = \"GPIO4\"; },\n"
	       "  { name = \"meter\"; line = \"GPIO17\"; mode = \"counter\"; save_pulses = 1; },\n"
	       "  { name = \"btn_up\"; line = \"GPIO5\"; mode = \"button\"; } );\n"
	       "covers = ( { name = \"shutter\"; up = \"up\"; down = \"down\";\n"
	       "  travel_up_ms = 1500; travel_down_ms = 1500; dead_time_ms = 400; } );\n"
	       "outputs = ( { name = \"relay\"; line = \"GPIO27\"; },\n"
	       "  { name = \"up\"; line = \"GPIO23\"; }, { name = \"down\"; line = \"GPIO24\"; } );\n"
	       "lights = ( { name = \"strip\"; pwm = { chip = \"test-pwm.0\"; channel = 1; };\n"
	       "  transition_ms = 0; } );\n";
	if (!pwm_tree() || !config_write())
		return;
	c = watch_mark();
	if (!daemon_start())
		return;
	if (!expect_cover(c, "stopped", "50", "all kinds: the cover starts"))
		return; /* not up: nothing below could pass (the harness ends the daemon) */
	tmp_path(path, "gpio/requested");
	text = file_read(path, NULL);
	tap_ok(text != NULL, "all kinds: the GPIO double was asked for lines");
	for (const char *p = text ? text : ""; *p; p++)
		lines += *p == '\n';
	tap_is_int(lines, 7, "all kinds: the consumer and six lines, no more");
	for (size_t i = 0; i < sizeof(gpio_pins) / sizeof(gpio_pins[0]); i++)
		tap_ok(text && strstr(text, gpio_pins[i]), "all kinds: requested: %s", gpio_pins[i]);
	tap_ok(text && !strstr(text, "strip") && !strstr(text, "shutter"),
	       "all kinds: neither the light nor the cover is a GPIO line");
	free(text);

	c = watch_mark();
	pub("relay/set", "ON");
	expect_msg(c, "relay", "ON", "all kinds: the output takes its command");
	pub("strip/set", "ON");
	expect_msg(c, "strip", "ON", "all kinds: the light takes its command");
	input_edge("door", 1);
	expect_msg(c, "door", "ON", "all kinds: the switch publishes its edge");
	input_edge("meter", 1);
	input_edge("meter", 0);
	expect_msg(c, "meter", "0.001", "all kinds: the counter counts its pulse");
	pub("shutter/set", "OPEN");
	expect_msg(c, "shutter", "opening", "all kinds: the cover opens");
	pub("shutter/set", "STOP");
	expect_msg(c, "shutter", "stopped", "all kinds: and stops");
	tap_ok(relays_history(history, sizeof(history), &overlap) &&
		       strncmp(history, "up 1,up 0", 9) == 0 && !overlap,
	       "all kinds: the cover drove its up relay ON then OFF (%s)", history);
	daemon_stop();
}

static const struct scenario scenarios[] = {
	{ "commands", scenario_commands },
	{ "restart", scenario_restart },
	{ "buttons", scenario_buttons },
	{ "discovery", scenario_discovery },
	{ "all-kinds", scenario_all_kinds },
	{ "moving", scenario_moving },
	{ "obstruction", scenario_obstruction },
};

static bool setup(void)
{
	char id[64];
	struct watch_opts o = { .sub = "#", .id = id };

	snprintf(id, sizeof(id), "g2m-cover-watch-%ld", (long)getpid());
	if (!tap_ok(access(H.tmp, W_OK) == 0, "temporary directory") ||
	    !tap_ok(broker_start_free(&T.broker, "mosquitto", "allow_anonymous true\n"),
		    "mosquitto on 127.0.0.1"))
		return false;
	o.port = T.broker.port;
	return tap_ok(watch_start(&o), "watcher subscribed to #");
}

static void finish(void)
{
	if (tap_failures() && T.err[0])
		dump_file("daemon log", T.err, 200);
}

int main(int argc, char **argv)
{
	const struct harness_program p = {
		.tmp_prefix = "g2m-cover",
		.scenarios = scenarios,
		.n_scenarios = sizeof(scenarios) / sizeof(scenarios[0]),
		.setup = setup,
		.finish = finish,
	};

	return harness_main(argc, argv, &p);
}
