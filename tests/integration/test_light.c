/* SPDX-License-Identifier: MIT */
/* PWM lights (issue 17) through the daemon: a sysfs tree of plain files stands for /sys
 * (GPIO2MQTT_SYSFS), with the channel already exported (a plain file cannot create the
 * directory an export makes: that path is the unit test's, with the real kernel in the VM
 * suite). Commands in plain words, numbers and Home Assistant's JSON, ON going back to the last
 * brightness, the duty the channel ends at, the state file, a restart restoring it, a button
 * bound to the light, and the unexport at the end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "harness.h"

static struct {
	struct broker broker;
	char sys[PATH_LEN];
	char chan[PATH_LEN + 64];
	char gpio[PATH_LEN];
	char config[PATH_LEN];
	char state[PATH_LEN];
	char out[PATH_LEN], err[PATH_LEN];
	volatile pid_t daemon;
	int runs;
} T;

#define BASE "g2m-light"
#define STATE_TOPIC BASE "/strip"

static void mkdirs(const char *path)
{
	char buf[PATH_LEN];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	}
	mkdir(buf, 0755);
}

static bool attr_write(const char *attr, const char *text)
{
	char path[PATH_LEN + 128];

	snprintf(path, sizeof(path), "%s/%s", T.chan, attr);
	return file_write(path, text);
}

/* The attribute's value as the daemon last wrote it ("" when unreadable). */
static void attr_read(const char *attr, char *buf, size_t size)
{
	char path[PATH_LEN + 128];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", T.chan, attr);
	text = file_read(path, NULL);
	snprintf(buf, size, "%s", text ? text : "");
	buf[strcspn(buf, "\n")] = '\0';
	free(text);
}

/* Waits until ATTR reads WANT. */
static bool attr_wait(const char *attr, const char *want, const char *why)
{
	char got[64] = "";
	int64_t end = now_ms() + TIMEOUT_MS;

	do {
		attr_read(attr, got, sizeof(got));
		if (strcmp(got, want) == 0)
			break;
		pause_ms(10);
	} while (now_ms() < end);
	return tap_is_str(got, want, "%s", why);
}

static bool write_config(bool discovery);

static bool setup(void)
{
	char id[64], path[PATH_LEN + 64];
	struct watch_opts o = { .sub = "#", .id = id };

	snprintf(id, sizeof(id), "g2m-light-watch-%ld", (long)getpid());
	tmp_path(T.sys, "sys");
	tmp_path(T.gpio, "gpio");
	tmp_path(T.config, "light.conf");
	tmp_path(T.state, "state");
	mkdirs(T.gpio);
	mkdirs(T.state);
	/* /sys/class/pwm/pwmchip3 -> devices/platform/test-pwm.0, channel 1 exported */
	snprintf(path, sizeof(path), "%s/devices/platform/test-pwm.0", T.sys);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3", T.sys);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3/device", T.sys);
	if (symlink("../../../devices/platform/test-pwm.0", path) != 0)
		return tap_ok(false, "symlink %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3/npwm", T.sys);
	file_write(path, "2\n");
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3/unexport", T.sys);
	file_write(path, "");
	snprintf(T.chan, sizeof(T.chan), "%s/class/pwm/pwmchip3/pwm1", T.sys);
	mkdirs(T.chan);
	attr_write("period", "0\n");
	attr_write("duty_cycle", "0\n");
	attr_write("enable", "0\n");
	attr_write("polarity", "normal\n");

	if (!tap_ok(broker_start_free(&T.broker, "mosquitto", "allow_anonymous true\n"),
		    "mosquitto on 127.0.0.1"))
		return false;
	o.port = T.broker.port;
	return tap_ok(write_config(false), "configuration written") &&
	       tap_ok(watch_start(&o), "watcher subscribed to #");
}

/* The configuration, with Home Assistant discovery and Homie when DISCOVERY. */
static bool write_config(bool discovery)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "mqtt = { brokers = ( { host = \"127.0.0.1\"; port = %d; } ); base_topic = \"" BASE
		 "\";\n  client_id = \"g2m-light-%ld\"; reconnect_min_ms = 100; reconnect_max_ms = "
		 "1000; };\n"
		 "inputs = ( { name = \"wall\"; line = \"GPIO17\"; mode = \"button\"; "
		 "double_press_ms = 0;\n  long_press_ms = 60000; bindings = ( { output = \"strip\"; "
		 "} ); } );\n"
		 "lights = ( { name = \"strip\"; pwm = { chip = \"test-pwm.0\"; channel = 1; "
		 "frequency_hz = 1000; gamma = 1.0; };\n  power_on = \"restore\"; transition_ms = 0; "
		 "brightness_scale = 255; payload = \"json\"; } );\n"
		 "state_dir = \"%s\";\ndiscovery = { homeassistant = %s; homie = %s; };\n",
		 T.broker.port, (long)getpid(), T.state, discovery ? "true" : "false",
		 discovery ? "true" : "false");
	return file_write(T.config, text);
}

static bool daemon_up(void)
{
	char sys_var[PATH_LEN + 32], gpio_var[PATH_LEN + 32], name[64];
	const char *const env[] = { sys_var, gpio_var, NULL };
	char *argv[] = { (char *)H.daemon_path, "-d", "-c", T.config, NULL };

	snprintf(sys_var, sizeof(sys_var), "GPIO2MQTT_SYSFS=%s", T.sys);
	snprintf(gpio_var, sizeof(gpio_var), "GPIO2MQTT_TEST_GPIO_DIR=%s", T.gpio);
	T.runs++;
	snprintf(name, sizeof(name), "daemon-%d.stdout", T.runs);
	tmp_path(T.out, name);
	snprintf(name, sizeof(name), "daemon-%d.stderr", T.runs);
	tmp_path(T.err, name);
	child_track(&T.daemon);
	T.daemon = spawn(argv, T.out, T.err, env);
	return tap_ok(T.daemon > 0, "daemon started (run %d)", T.runs);
}

static bool daemon_stop(void)
{
	int status = 0;
	pid_t pid = T.daemon;

	kill(pid, SIGTERM);
	if (!tap_ok(child_wait(pid, TIMEOUT_MS, &status), "the daemon stops on SIGTERM"))
		return false;
	T.daemon = 0;
	return tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0");
}

/* The next state of the light after *C contains every one of NEEDLES. */
static bool expect_state(size_t *c, const char *const needles[], const char *why)
{
	struct msg m;
	bool ok;

	if (!watch_next(c, STATE_TOPIC, TIMEOUT_MS, &m))
		return tap_ok(false, "%s: no state published", why);
	ok = true;
	for (size_t i = 0; needles[i]; i++)
		ok = ok && strstr(m.payload, needles[i]);
	if (!ok)
		tap_diag("got %s", m.payload);
	return tap_ok(ok, "%s", why);
}

static void command(const char *payload)
{
	watch_publish(STATE_TOPIC "/set", payload, strlen(payload), false);
}

static void scenario_commands(void)
{
	char path[PATH_LEN + 64], *text;
	size_t c = watch_mark();

	if (!daemon_up())
		return;
	expect_state(&c, (const char *const[]){ "\"state\":\"OFF\"", "\"brightness\":255", NULL },
		     "starts OFF (no state file yet), brightness full to go back to");
	attr_wait("period", "1000000", "the period is 1 ms (1000 Hz)");
	attr_wait("enable", "1", "the channel is enabled");
	attr_wait("duty_cycle", "0", "at duty 0");

	command("{\"state\":\"ON\",\"brightness\":128}");
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":128", NULL },
		     "JSON ON at 128 of 255");
	attr_wait("duty_cycle", "502000", "duty 50.2 % (gamma 1)");

	command("OFF");
	expect_state(&c, (const char *const[]){ "\"state\":\"OFF\"", "\"brightness\":128", NULL },
		     "OFF keeps the brightness to go back to");
	attr_wait("duty_cycle", "0", "dark");

	command("ON");
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":128", NULL },
		     "ON goes back to 128");
	attr_wait("duty_cycle", "502000", "at the same duty");

	command("64");
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":64", NULL },
		     "a plain number is a brightness");
	attr_wait("duty_cycle", "251000", "duty 25.1 %");

	command("{\"brightness\":255,\"transition\":0.3}");
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":255", NULL },
		     "a fade to full publishes its target at once");
	attr_wait("duty_cycle", "1000000", "and the fade ends at the full duty");

	command("dim please");
	tap_ok(file_wait_count(T.err, "command ignored", 1, TIMEOUT_MS),
	       "a payload that is no command is refused with a warning");

	/* A button bound to the light: a short press toggles it. */
	snprintf(path, sizeof(path), "%s/input", T.gpio);
	file_write(path, "wall 1\nwall 0\n");
	expect_state(&c, (const char *const[]){ "\"state\":\"OFF\"", NULL },
		     "a short press on the bound button toggles OFF");
	attr_wait("duty_cycle", "0", "dark again");

	command("ON");
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":255", NULL },
		     "ON again");
	snprintf(path, sizeof(path), "%s/outputs.state", T.state);
	for (int64_t end = now_ms() + TIMEOUT_MS; now_ms() < end; pause_ms(10)) {
		text = file_read(path, NULL);
		if (text && strstr(text, "strip ON:10000"))
			break;
		free(text);
		text = NULL;
	}
	tap_ok(text != NULL, "the state file keeps ON and the brightness (strip ON:10000)");
	free(text);

	/* A reload with the light unchanged: not one write to its channel. */
	{
		struct stat before, after;
		char duty[PATH_LEN + 128];

		snprintf(duty, sizeof(duty), "%s/duty_cycle", T.chan);
		stat(duty, &before);
		pause_ms(20); /* a write now would show in the file's time */
		kill(T.daemon, SIGHUP);
		tap_ok(file_wait_count(T.err, "is valid and applied", 1, TIMEOUT_MS), "reloaded");
		stat(duty, &after);
		tap_ok(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
			       before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
		       "the unchanged light's duty_cycle was not written");
		attr_wait("duty_cycle", "1000000", "still at full");
	}
	if (!daemon_stop())
		return;
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip3/unexport", T.sys);
	text = file_read(path, NULL);
	tap_ok(text && strcmp(text, "1") == 0, "the channel is unexported at the end");
	free(text);

	/* The channel found exported (it still is: plain files), its duty lost: restored. */
	attr_write("duty_cycle", "0\n");
	c = watch_mark();
	if (!daemon_up())
		return;
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":255", NULL },
		     "a restart restores ON at full");
	attr_wait("duty_cycle", "1000000", "and drives the full duty again");
	tap_ok(file_wait_count(T.err, "taking it over", 1, TIMEOUT_MS),
	       "an exported channel is taken over, with a notice");
	daemon_stop();
}

/* The message retained on the topic ending in SUFFIX under PREFIX, from the watcher's record. */
static const char *retained_ending(size_t from, const char *prefix, const char *suffix,
				   char *topic, size_t size)
{
	const char *found = NULL;
	struct msg m;

	for (size_t i = from; watch_at(i, &m); i++) {
		size_t tl = strlen(m.topic), sl = strlen(suffix);

		if (strncmp(m.topic, prefix, strlen(prefix)) == 0 && tl >= sl &&
		    strcmp(m.topic + tl - sl, suffix) == 0) {
			found = m.payload;
			snprintf(topic, size, "%s", m.topic);
		}
	}
	return found;
}

static void scenario_discovery(void)
{
	char topic[256], set[300];
	const char *doc, *v = NULL;
	size_t c = watch_mark();
	cJSON *o;

	if (!write_config(true) || !daemon_up())
		return;
	expect_state(&c, (const char *const[]){ "\"state\":\"OFF\"", NULL }, "started");
	for (int64_t end = now_ms() + TIMEOUT_MS; now_ms() < end; pause_ms(10)) {
		v = retained_ending(0, "homie/", "/$state", topic, sizeof(topic));
		if (v && strcmp(v, "ready") == 0)
			break;
	}
	if (!tap_ok(v && strcmp(v, "ready") == 0, "Homie $state ready (after every document)"))
		return;
	doc = retained_ending(0, "homeassistant/light/", "/strip/config", topic, sizeof(topic));
	o = doc ? cJSON_Parse(doc) : NULL;
	if (!tap_ok(o != NULL, "Home Assistant: a light config for strip (%s)", doc ? topic : "none"))
		return;
	v = cJSON_GetStringValue(cJSON_GetObjectItem(o, "schema"));
	tap_is_str(v ? v : "", "json", "the JSON schema (payload = json)");
	tap_ok(cJSON_IsTrue(cJSON_GetObjectItem(o, "brightness")), "brightness: true");
	tap_is_int((long long)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "brightness_scale")), 255,
		   "brightness_scale 255, as configured");
	v = cJSON_GetStringValue(cJSON_GetObjectItem(o, "command_topic"));
	tap_is_str(v ? v : "", STATE_TOPIC "/set", "the command topic");
	v = cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "supported_color_modes"),
						    0));
	tap_is_str(v ? v : "", "brightness", "supported_color_modes [\"brightness\"]");
	tap_ok(!cJSON_GetObjectItem(o, "payload_on") && !cJSON_GetObjectItem(o, "state_value_template"),
	       "no key of the default schema (Home Assistant would refuse the document)");
	cJSON_Delete(o);

	v = retained_ending(0, "homie/", "/strip/$properties", topic, sizeof(topic));
	tap_is_str(v ? v : "", "state,brightness", "Homie: the light's node has state and brightness");
	v = retained_ending(0, "homie/", "/strip/brightness/$format", topic, sizeof(topic));
	tap_is_str(v ? v : "", "0:100", "brightness $format 0:100");
	v = retained_ending(0, "homie/", "/strip/brightness/$unit", topic, sizeof(topic));
	tap_is_str(v ? v : "", "%", "brightness $unit %%");
	v = retained_ending(0, "homie/", "/strip/brightness/$settable", topic, sizeof(topic));
	tap_is_str(v ? v : "", "true", "brightness is settable");

	/* openHAB's dimmer sends percent, whatever the light's scale. */
	snprintf(set, sizeof(set), "%.*s/set", (int)(strlen(topic) - strlen("/$settable")), topic);
	c = watch_mark();
	watch_publish(set, "50", 2, false);
	expect_state(&c, (const char *const[]){ "\"state\":\"ON\"", "\"brightness\":128", NULL },
		     "Homie brightness 50 %% is 128 of 255");
	attr_wait("duty_cycle", "500000", "duty 50 %% (gamma 1)");
	snprintf(set, sizeof(set), "%.*s", (int)(strlen(topic) - strlen("/$settable")), topic);
	tap_ok(watch_wait(c, set, "50", TIMEOUT_MS) >= 0, "the Homie brightness value is 50");
	daemon_stop();
}

/* Issue 17: a light with plain payloads removed by a reload takes its retained brightness
 * with it; topics of the same shape that are not ours stay, even when the list of announced
 * topics names them. */
static void scenario_removal(void)
{
	const char *const foreign[] = { BASE "/strip/color", BASE "/x/strip/brightness" };
	char text[2048], topics[PATH_LEN + 32];
	struct snapshot s;
	size_t c = watch_mark();
	FILE *f;

	snprintf(text, sizeof(text),
		 "mqtt = { brokers = ( { host = \"127.0.0.1\"; port = %d; } ); base_topic = \"" BASE
		 "\";\n  client_id = \"g2m-light-%ld\"; };\n"
		 "inputs = ( { name = \"wall\"; line = \"GPIO17\"; } );\n"
		 "lights = ( { name = \"strip\"; pwm = { chip = \"test-pwm.0\"; channel = 1; "
		 "frequency_hz = 1000; gamma = 1.0; }; transition_ms = 0; } );\n"
		 "state_dir = \"%s\";\ndiscovery = { homeassistant = true; homie = false; };\n",
		 T.broker.port, (long)getpid(), T.state);
	if (!tap_ok(file_write(T.config, text), "a light with plain payloads") || !daemon_up())
		return;
	if (!tap_ok(watch_wait(c, STATE_TOPIC, "OFF", TIMEOUT_MS) >= 0, "started, off"))
		return;
	command("60");
	if (!tap_ok(watch_wait(c, STATE_TOPIC "/brightness", "60", TIMEOUT_MS) >= 0,
		    "its brightness is published"))
		return;
	snprintf(topics, sizeof(topics), "%s/discovery.topics", T.state);
	if (!tap_ok(file_wait_count(topics, STATE_TOPIC "/brightness\n", 1, TIMEOUT_MS),
		    "the retained brightness is in the list of announced topics"))
		return;
	f = fopen(topics, "a");
	for (size_t i = 0; f && i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		watch_publish(foreign[i], "keep", 4, true);
		fprintf(f, "%s\n", foreign[i]);
	}
	if (!tap_ok(f && fclose(f) == 0, "foreign retained topics, also listed"))
		return;

	/* The light goes. */
	snprintf(text, sizeof(text),
		 "mqtt = { brokers = ( { host = \"127.0.0.1\"; port = %d; } ); base_topic = \"" BASE
		 "\";\n  client_id = \"g2m-light-%ld\"; };\n"
		 "inputs = ( { name = \"wall\"; line = \"GPIO17\"; } );\n"
		 "state_dir = \"%s\";\ndiscovery = { homeassistant = true; homie = false; };\n",
		 T.broker.port, (long)getpid(), T.state);
	c = watch_mark();
	if (!tap_ok(file_write(T.config, text), "the configuration without the light"))
		return;
	kill(T.daemon, SIGHUP);
	tap_ok(watch_wait(c, STATE_TOPIC, "", TIMEOUT_MS) >= 0, "the removed light's state cleared");
	tap_ok(watch_wait(c, STATE_TOPIC "/brightness", "", TIMEOUT_MS) >= 0,
	       "its retained brightness cleared");
	if (tap_ok(snapshot_take(T.broker.port, BASE "/#", &s), "read what is retained")) {
		tap_ok(!snapshot_find(&s, STATE_TOPIC "/brightness") && !snapshot_find(&s, STATE_TOPIC),
		       "nothing of the light is retained");
		for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
			const struct msg *m = snapshot_find(&s, foreign[i]);

			tap_ok(m && strcmp(m->payload, "keep") == 0, "not ours, left alone: %s",
			       foreign[i]);
		}
		for (size_t i = 0; i < s.n; i++)
			tap_diag("retained: %s", s.items[i].topic);
		snapshot_free(&s);
	}
	daemon_stop();
}

static void finish(void)
{
	if (tap_failures() && T.err[0])
		dump_file("daemon log", T.err, 200);
	if (T.daemon > 0)
		child_kill(&T.daemon, SIGKILL);
}

static const struct scenario scenarios[] = {
	{ "commands", scenario_commands },
	{ "discovery", scenario_discovery },
	{ "removal", scenario_removal },
};

int main(int argc, char **argv)
{
	const struct harness_program p = {
		.tmp_prefix = "g2m-light",
		.scenarios = scenarios,
		.n_scenarios = sizeof(scenarios) / sizeof(scenarios[0]),
		.setup = setup,
		.finish = finish,
	};

	return harness_main(argc, argv, &p);
}
