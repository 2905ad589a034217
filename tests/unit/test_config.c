/* SPDX-License-Identifier: MIT */
/* config.c against a corpus: each .conf file in tests/unit/config/good must load (some are
 * checked field by field); each .conf file in tests/unit/config/bad must fail with exactly the
 * error lines of its sibling .expected file. Paths are relative to tests/unit, so messages read
 * "config/bad/foo.conf:7: ...". */
#include "config.h"
#include "config_schema.h"
#include "kind.h"
#include "tap.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_GOOD_FILES 10
#define MIN_BAD_FILES 45
#define PASSWORD "s3cret-Pa55!"
#define LINE_MAX_TEST 1024

/* ---- small helpers ---------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

/* The *.conf names in DIR, sorted. */
static size_t list_conf_files(const char *dir, char ***out)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		tap_diag("cannot open %s: %s", dir, strerror(errno));
		*out = NULL;
		return 0;
	}
	while ((e = readdir(d))) {
		char **grown;

		if (!has_suffix(e->d_name, ".conf"))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			abort();
		names = grown;
		names[n] = strdup(e->d_name);
		if (!names[n])
			abort();
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	return n;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Lines of PATH without their newlines; -1 when it cannot be read. */
static long read_lines(const char *path, char lines[][LINE_MAX_TEST], size_t max)
{
	char buf[LINE_MAX_TEST];
	long n = 0;
	FILE *fp;

	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(buf, sizeof(buf), fp) && (size_t)n < max) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(lines[n++], LINE_MAX_TEST, "%s", buf);
	}
	fclose(fp);
	return n;
}

/* The hostname part of the defaults, computed independently of config.c: up to the first dot,
 * anything but a visible ASCII character that is not + # / becomes '_'. */
static void expected_host(char *out, size_t size)
{
	char raw[300] = "";
	size_t i;

	if (gethostname(raw, sizeof(raw) - 1) != 0 || raw[0] == '\0' || raw[0] == '.')
		snprintf(raw, sizeof(raw), "unknown");
	raw[strcspn(raw, ".")] = '\0';
	for (i = 0; raw[i] && i < 64 && i + 1 < size; i++) {
		unsigned char c = (unsigned char)raw[i];

		out[i] = (isgraph(c) && c < 0x80 && c != '+' && c != '#' && c != '/') ? (char)c : '_';
	}
	out[i] = '\0';
}

static struct config *load_good(const char *path)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	char line[LINE_MAX_TEST];
	int r;

	r = config_load(path, &cfg, &errors);
	tap_ok(r == 0 && cfg && errors.n == 0, "%s loads", path);
	for (size_t i = 0; i < errors.n; i++) {
		config_error_format(&errors.items[i], line, sizeof(line));
		tap_diag("  %s", line);
	}
	config_errors_clear(&errors);
	return r == 0 ? cfg : NULL;
}

static const struct config_pin *pin_by_name(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (strcmp(cfg->pins[i].name, name) == 0)
			return &cfg->pins[i];
	}
	return NULL;
}

/* ---- the corpus ------------------------------------------------------------------------- */

static void test_bad_file(const char *name)
{
	static char want[256][LINE_MAX_TEST];
	char path[512], expected_path[512], got[256][LINE_MAX_TEST];
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	size_t n_got = 0;
	long n_want;
	bool same;
	int r;

	snprintf(path, sizeof(path), "config/bad/%s", name);
	snprintf(expected_path, sizeof(expected_path), "config/bad/%.*s.expected",
		 (int)(strlen(name) - strlen(".conf")), name);
	n_want = read_lines(expected_path, want, 256);
	if (n_want < 0) {
		tap_ok(false, "%s has a .expected file", path);
		return;
	}

	r = config_load(path, &cfg, &errors);
	for (size_t i = 0; i < errors.n && n_got < 256; i++)
		config_error_format(&errors.items[i], got[n_got++], LINE_MAX_TEST);

	same = r == -EINVAL && cfg == NULL && (long)n_got == n_want;
	for (size_t i = 0; same && i < n_got; i++)
		same = strcmp(got[i], want[i]) == 0;
	tap_ok(same, "%s: %ld error(s) as expected", path, n_want);
	if (!same) {
		tap_diag("  return %d (want %d), cfg %s", r, -EINVAL, cfg ? "set" : "NULL");
		for (size_t i = 0; i < n_got || (long)i < n_want; i++) {
			const char *g = i < n_got ? got[i] : "(none)";
			const char *w = (long)i < n_want ? want[i] : "(none)";

			if (strcmp(g, w) != 0)
				tap_diag("  line %zu\n#     got:  %s\n#     want: %s", i + 1, g, w);
		}
	}
	/* no file in the corpus may leak the password */
	for (size_t i = 0; i < n_got; i++) {
		if (strstr(got[i], PASSWORD))
			tap_ok(false, "%s: error %zu does not contain the password", path, i + 1);
	}
	config_free(cfg);
	config_errors_clear(&errors);
}

static void test_bad_corpus(void)
{
	char **names;
	size_t n = list_conf_files("config/bad", &names);

	tap_ok(n >= MIN_BAD_FILES, "config/bad has at least %d files (has %zu)", MIN_BAD_FILES, n);
	for (size_t i = 0; i < n; i++)
		test_bad_file(names[i]);
	free_names(names, n);
}

static void test_good_corpus(void)
{
	char **names;
	char path[512];
	size_t n = list_conf_files("config/good", &names);

	tap_ok(n >= MIN_GOOD_FILES, "config/good has at least %d files (has %zu)", MIN_GOOD_FILES,
	       n);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "config/good/%s", names[i]);
		config_free(load_good(path));
	}
	free_names(names, n);
}

/* ---- good files field by field ---------------------------------------------------------- */

static void test_minimal(void)
{
	char host[80], want[128];
	struct config *cfg = load_good("config/good/minimal.conf");
	const struct config_pin *p;

	if (!cfg)
		return;
	expected_host(host, sizeof(host));
	tap_is_str(cfg->path, "config/good/minimal.conf", "minimal: path");
	tap_is_int((long long)cfg->mqtt.n_brokers, 1, "minimal: one broker");
	tap_is_str(cfg->mqtt.brokers[0].host, "localhost", "minimal: broker host localhost");
	tap_is_int(cfg->mqtt.brokers[0].port, 1883, "minimal: broker port 1883");
	snprintf(want, sizeof(want), "gpio2mqtt-%s", host);
	tap_is_str(cfg->mqtt.client_id, want, "minimal: client id from the hostname");
	snprintf(want, sizeof(want), "gpio2mqtt/%s", host);
	tap_is_str(cfg->mqtt.base_topic, want, "minimal: base topic from the hostname");
	tap_ok(cfg->mqtt.username == NULL, "minimal: no username");
	tap_ok(cfg->mqtt.password_file == NULL, "minimal: no password_file");
	tap_ok(cfg->mqtt.password == NULL, "minimal: no password");
	tap_is_int(cfg->mqtt.protocol, CONFIG_PROTOCOL_V5, "minimal: protocol v5");
	tap_is_int(cfg->mqtt.keepalive, 60, "minimal: keepalive 60");
	tap_is_int(cfg->mqtt.qos, 1, "minimal: qos 1");
	tap_ok(cfg->mqtt.retain, "minimal: retain true");
	tap_ok(!cfg->mqtt.accept_retained_commands, "minimal: retained commands ignored");
	tap_is_int(cfg->mqtt.reconnect_min_ms, 500, "minimal: reconnect_min_ms 500");
	tap_is_int(cfg->mqtt.reconnect_max_ms, 30000, "minimal: reconnect_max_ms 30000");
	tap_is_int((long long)cfg->n_pins, 1, "minimal: one pin");
	tap_is_int((long long)cfg->n_inputs, 1, "minimal: one input");
	tap_is_int((long long)cfg->n_outputs, 0, "minimal: no output");
	p = &cfg->pins[0];
	tap_is_str(p->name, "button", "minimal: pin name");
	tap_is_int(p->direction, CONFIG_DIRECTION_INPUT, "minimal: pin is an input");
	tap_is_str(p->line.name, "GPIO17", "minimal: line name");
	tap_ok(p->line.chip == NULL, "minimal: no chip");
	tap_is_int(p->source_line, 2, "minimal: pin source line");
	tap_is_int(p->bias, CONFIG_BIAS_AS_IS, "minimal: bias as-is");
	tap_ok(!p->active_low, "minimal: active high");
	tap_is_int(p->debounce_ms, 0, "minimal: no debounce");
	tap_is_int(p->qos, 1, "minimal: pin qos from mqtt");
	tap_ok(p->retain, "minimal: pin retain from mqtt");
	tap_ok(p->device_class == NULL, "minimal: no device_class");
	tap_ok(cfg->discovery.homeassistant, "minimal: Home Assistant discovery on by default");
	tap_is_str(cfg->discovery.prefix, "homeassistant", "minimal: discovery prefix");
	tap_ok(!cfg->discovery.homie, "minimal: Homie off by default");
	config_free(cfg);
}

static void test_discovery(void)
{
	struct config *cfg = load_good("config/good/discovery.conf");

	if (!cfg)
		return;
	tap_ok(cfg->discovery.homeassistant, "discovery: homeassistant");
	tap_is_str(cfg->discovery.prefix, "ha/discovery", "discovery: prefix");
	tap_ok(cfg->discovery.homie, "discovery: homie");
	tap_is_str(cfg->pins[0].device_class, "garage_door", "discovery: device_class");
	tap_is_int(cfg->pins[1].component, CONFIG_COMPONENT_LIGHT, "discovery: component light");
	tap_is_int(cfg->pins[2].component, CONFIG_COMPONENT_SWITCH, "discovery: component switch");
	config_free(cfg);
}

static void test_full(void)
{
	struct config *cfg = load_good("config/good/full.conf");
	const struct config_mqtt *m;
	const struct config_pin *p;

	if (!cfg)
		return;
	m = &cfg->mqtt;
	tap_is_int((long long)m->n_brokers, 2, "full: two brokers");
	tap_is_str(m->brokers[0].host, "broker.example.org", "full: broker 0 host");
	tap_is_int(m->brokers[0].port, 8883, "full: broker 0 port");
	tap_is_int(m->brokers[0].source_line, 4, "full: broker 0 line");
	tap_is_str(m->brokers[1].host, "10.0.0.2", "full: broker 1 host");
	tap_is_int(m->brokers[1].port, 1883, "full: broker 1 default port");
	tap_is_str(m->client_id, "pi-cupboard", "full: client_id");
	tap_is_str(m->username, "gpio", "full: username");
	tap_is_str(m->password_file, "config/password.txt", "full: password_file");
	tap_is_str(m->password, PASSWORD, "full: password is the first line");
	tap_is_int(m->protocol, CONFIG_PROTOCOL_V311, "full: protocol v3.1.1");
	tap_is_int(m->keepalive, 30, "full: keepalive");
	tap_is_str(m->base_topic, "home/cupboard/gpio", "full: base_topic");
	tap_is_int(m->qos, 2, "full: qos");
	tap_ok(!m->retain, "full: retain false");
	tap_ok(m->accept_retained_commands, "full: accept_retained_commands");
	tap_is_int(m->reconnect_min_ms, 250, "full: reconnect_min_ms");
	tap_is_int(m->reconnect_max_ms, 10000, "full: reconnect_max_ms");

	tap_is_int((long long)cfg->n_pins, 7, "full: 7 pins");
	tap_is_int((long long)cfg->n_inputs, 4, "full: 4 inputs");
	tap_is_int((long long)cfg->n_outputs, 3, "full: 3 outputs");
	/* inputs first, in file order, then outputs */
	const char *order[] = { "button", "door", "küche", "hall", "relay", "lamp", "led" };
	for (size_t i = 0; i < 7; i++) {
		tap_is_str(cfg->pins[i].name, order[i], "full: pin %zu in order", i);
		tap_is_int(cfg->pins[i].direction,
			   i < 4 ? CONFIG_DIRECTION_INPUT : CONFIG_DIRECTION_OUTPUT,
			   "full: pin %zu direction", i);
	}

	p = &cfg->pins[0];
	tap_is_str(p->line.name, "GPIO17", "full: button line");
	tap_is_int(p->source_line, 20, "full: button source line");
	tap_is_int(p->bias, CONFIG_BIAS_PULL_UP, "full: button bias");
	tap_ok(p->active_low, "full: button active_low");
	tap_is_int(p->debounce_ms, 20, "full: button debounce");
	tap_is_int(p->qos, 0, "full: button qos override");
	tap_ok(p->retain, "full: button retain override");
	p = &cfg->pins[1];
	tap_ok(p->line.name == NULL, "full: door has no line name");
	tap_is_str(p->line.chip, "gpiochip0", "full: door chip");
	tap_is_int(p->line.offset, 4, "full: door offset");
	tap_is_int(p->bias, CONFIG_BIAS_PULL_DOWN, "full: door bias");
	tap_is_int(p->qos, 2, "full: door qos from mqtt");
	tap_ok(!p->retain, "full: door retain from mqtt");
	p = &cfg->pins[2];
	tap_is_int(p->bias, CONFIG_BIAS_DISABLED, "full: küche bias");
	tap_is_int(p->debounce_ms, 10000, "full: küche debounce at the maximum");
	p = &cfg->pins[3];
	tap_is_int(p->bias, CONFIG_BIAS_AS_IS, "full: hall bias");
	p = &cfg->pins[4];
	tap_is_str(p->line.name, "GPIO27", "full: relay line");
	tap_is_int(p->drive, CONFIG_DRIVE_PUSH_PULL, "full: relay drive");
	tap_ok(!p->active_low, "full: relay active high");
	tap_ok(!p->initial, "full: relay initial off");
	tap_is_int(p->qos, 1, "full: relay qos");
	tap_ok(p->retain, "full: relay retain");
	p = &cfg->pins[5];
	tap_is_str(p->line.chip, "/dev/gpiochip0", "full: lamp chip");
	tap_is_int(p->line.offset, 22, "full: lamp offset");
	tap_is_int(p->drive, CONFIG_DRIVE_OPEN_DRAIN, "full: lamp drive");
	tap_ok(p->initial, "full: lamp initial on");
	tap_is_int(p->bias, CONFIG_BIAS_PULL_UP, "full: lamp bias");
	p = &cfg->pins[6];
	tap_is_str(p->line.chip, "pinctrl-rp1", "full: led chip");
	tap_is_int(p->line.offset, 65535, "full: led offset at the maximum");
	tap_is_int(p->drive, CONFIG_DRIVE_OPEN_SOURCE, "full: led drive");
	tap_ok(!p->initial, "full: led initial default off");
	config_free(cfg);
}

static void test_chip_offset(void)
{
	struct config *cfg = load_good("config/good/chip-offset.conf");
	const struct config_pin *p;

	if (!cfg)
		return;
	tap_is_int((long long)cfg->n_pins, 5, "chip-offset: 5 pins");
	p = pin_by_name(cfg, "b");
	tap_ok(p && p->line.chip && strcmp(p->line.chip, "gpiochip1") == 0 && p->line.offset == 0,
	       "chip-offset: b is gpiochip1 offset 0");
	p = pin_by_name(cfg, "c");
	tap_ok(p && p->line.chip && strcmp(p->line.chip, "gpiochip0") == 0 && p->line.offset == 1,
	       "chip-offset: c is gpiochip0 offset 1");
	p = pin_by_name(cfg, "e");
	tap_ok(p && p->direction == CONFIG_DIRECTION_OUTPUT && p->line.name == NULL &&
		       strcmp(p->line.chip, "/dev/gpiochip0") == 0 && p->line.offset == 2,
	       "chip-offset: e is an output on /dev/gpiochip0 offset 2");
	config_free(cfg);
}

static void test_overrides(void)
{
	struct config *cfg = load_good("config/good/overrides.conf");
	const struct { const char *name; int qos; bool retain; } want[] = {
		{ "default", 0, false }, { "qos2", 2, false }, { "retained", 0, true },
		{ "both", 1, true },     { "none", 0, false },
	};

	if (!cfg)
		return;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct config_pin *p = pin_by_name(cfg, want[i].name);

		tap_ok(p != NULL, "overrides: pin %s exists", want[i].name);
		if (!p)
			continue;
		tap_is_int(p->qos, want[i].qos, "overrides: %s qos", want[i].name);
		tap_is_int(p->retain, want[i].retain, "overrides: %s retain", want[i].name);
	}
	config_free(cfg);
}

static void test_password(void)
{
	char summary[256];
	struct config *cfg = load_good("config/good/password.conf");

	if (cfg) {
		tap_is_str(cfg->mqtt.username, "gpio", "password: username");
		tap_is_str(cfg->mqtt.password, PASSWORD, "password: first line, no newline");
		tap_is_int(config_summary(cfg, summary, sizeof(summary)), 0, "password: summary");
		tap_ok(strstr(summary, PASSWORD) == NULL, "password: not in the summary");
		config_free(cfg);
	}
	cfg = load_good("config/good/password-crlf.conf");
	if (cfg) {
		tap_is_str(cfg->mqtt.password, "crlf-s3cret", "password: CR LF stripped");
		config_free(cfg);
	}
}

static void test_mqtt_connection(void)
{
	struct config *cfg = load_good("config/good/tls.conf");
	const struct config_tls *t;

	if (cfg) {
		t = &cfg->mqtt.tls;
		tap_ok(t->enabled, "tls: enabled by the group");
		tap_is_int(cfg->mqtt.brokers[0].port, 8883, "tls: default port 8883");
		tap_is_int(cfg->mqtt.brokers[1].port, 8884, "tls: explicit port kept");
		tap_is_str(t->ca_file, "config/password.txt", "tls: ca_file");
		tap_is_str(t->ca_path, "config", "tls: ca_path");
		tap_is_str(t->cert_file, "config/password.txt", "tls: cert_file");
		tap_is_str(t->key_file, "config/password-crlf.txt", "tls: key_file");
		tap_is_str(t->key_password_file, "config/password.txt", "tls: key_password_file");
		tap_is_str(t->key_password, PASSWORD, "tls: key password is the first line");
		tap_is_int(t->min_version, CONFIG_TLS_V1_3, "tls: min_version");
		tap_ok(t->insecure_skip_verify, "tls: insecure_skip_verify");
		tap_is_int(cfg->mqtt.offline_events, 0, "offline_events 0");
		tap_is_int(cfg->mqtt.health_interval_s, 0, "health_interval_s 0 (on request only)");
		config_free(cfg);
	}
	cfg = load_good("config/good/minimal.conf");
	if (cfg) {
		tap_ok(!cfg->mqtt.tls.enabled, "minimal: no TLS");
		tap_ok(cfg->mqtt.tls.ca_file == NULL && cfg->mqtt.tls.key_password == NULL,
		       "minimal: no TLS files");
		tap_is_int(cfg->mqtt.tls.min_version, CONFIG_TLS_V1_2, "minimal: TLS 1.2 minimum");
		tap_ok(!cfg->mqtt.tls.insecure_skip_verify, "minimal: verification on");
		tap_is_int(cfg->mqtt.offline_events, 100, "minimal: offline_events 100");
		tap_is_int(cfg->mqtt.health_interval_s, 60, "minimal: health_interval_s 60");
		config_free(cfg);
	}
	unsetenv("CREDENTIALS_DIRECTORY");
	cfg = load_good("config/good/credential.conf");
	if (cfg) {
		tap_ok(cfg->mqtt.password == NULL, "credential: none without CREDENTIALS_DIRECTORY");
		config_free(cfg);
	}
	setenv("CREDENTIALS_DIRECTORY", "config/credentials", 1);
	cfg = load_good("config/good/credential.conf");
	if (cfg) {
		tap_is_str(cfg->mqtt.password, "cred-s3cret", "credential: mqtt-password read");
		tap_ok(cfg->mqtt.password_from_credential, "credential: marked as such");
		config_free(cfg);
	}
	cfg = load_good("config/good/password.conf");
	if (cfg) {
		tap_is_str(cfg->mqtt.password, PASSWORD, "credential: password_file wins");
		config_free(cfg);
	}
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_other_good(void)
{
	struct config *cfg;

	cfg = load_good("config/good/int64.conf");
	if (cfg) {
		tap_is_str(cfg->mqtt.brokers[0].host, "::1", "int64: IPv6 host");
		tap_is_int(cfg->mqtt.brokers[0].port, 1884, "int64: port from 1884L");
		tap_is_int(cfg->mqtt.keepalive, 120, "int64: keepalive from 120L");
		tap_is_int(cfg->pins[0].debounce_ms, 5, "int64: debounce from 5L");
		config_free(cfg);
	}
	cfg = load_good("config/good/reconnect-min-only.conf");
	if (cfg) {
		tap_is_int(cfg->mqtt.reconnect_min_ms, 45000, "reconnect: min as given");
		tap_is_int(cfg->mqtt.reconnect_max_ms, 45000, "reconnect: default cap raised to min");
		config_free(cfg);
	}
	cfg = load_good("config/good/outputs-only.conf");
	if (cfg) {
		tap_is_int((long long)cfg->n_inputs, 0, "outputs-only: no inputs");
		tap_is_int((long long)cfg->n_outputs, 3, "outputs-only: 3 outputs");
		tap_is_str(cfg->pins[1].name, "温度", "outputs-only: UTF-8 name kept");
		config_free(cfg);
	}
}

/* ---- errors outside the corpus ---------------------------------------------------------- */

static void test_missing_file(void)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	char line[256];
	int r;

	r = config_load("config/nope.conf", &cfg, &errors);
	tap_is_int(r, -EINVAL, "missing file: -EINVAL");
	tap_ok(cfg == NULL, "missing file: no config");
	tap_is_int((long long)errors.n, 1, "missing file: one error");
	if (errors.n == 1) {
		tap_is_int(errors.items[0].line, 0, "missing file: line 0");
		config_error_format(&errors.items[0], line, sizeof(line));
		tap_is_str(line, "config/nope.conf: cannot open: No such file or directory",
			   "missing file: message");
	}
	config_errors_clear(&errors);
	tap_ok(errors.items == NULL && errors.n == 0, "errors_clear empties the list");

	/* errors accumulate across loads until cleared; NULL errors is allowed */
	config_load("config/nope.conf", &cfg, &errors);
	config_load("config/bad/empty.conf", &cfg, &errors);
	tap_is_int((long long)errors.n, 2, "errors of two loads accumulate");
	config_errors_clear(&errors);
	tap_is_int(config_load("config/bad/many-errors.conf", &cfg, NULL), -EINVAL,
		   "NULL errors: still -EINVAL");
	tap_ok(cfg == NULL, "NULL errors: no config");

	r = config_load("config", &cfg, &errors);
	tap_is_int(r, -EINVAL, "a directory: -EINVAL");
	if (errors.n == 1) {
		config_error_format(&errors.items[0], line, sizeof(line));
		tap_is_str(line, "config: cannot open: Is a directory", "a directory: message");
	} else {
		tap_ok(false, "a directory: one error (got %zu)", errors.n);
	}
	config_errors_clear(&errors);
}

static void test_error_format(void)
{
	struct config_error with = { .file = (char *)"a.conf", .line = 17, .message = (char *)"x" };
	struct config_error without = { .file = (char *)"a.conf", .line = 0, .message = (char *)"y" };
	char buf[64], small[8];

	tap_is_int(config_error_format(&with, buf, sizeof(buf)), 0, "format: fits");
	tap_is_str(buf, "a.conf:17: x", "format: FILE:LINE: message");
	config_error_format(&without, buf, sizeof(buf));
	tap_is_str(buf, "a.conf: y", "format: FILE: message without a line");
	tap_is_int(config_error_format(&with, small, sizeof(small)), -ENOSPC, "format: -ENOSPC");
	tap_is_str(small, "a.conf:", "format: truncated text is terminated");
}

/* ---- config_topic_level_valid ----------------------------------------------------------- */

static void test_topic_level(void)
{
	static const struct {
		const char *name;
		bool valid;
	} cases[] = {
		{ "button", true },
		{ "hall_light-2", true },
		{ "küche", true },
		{ "温度", true },
		{ "emoji\xf0\x9f\x92\xa1", true },
		{ "a.b~c", true },
		{ "price$", true },
		{ "status", true }, /* a valid level; reserved only as a pin name */
		{ "with space", true },
		{ "a234567890123456789012345678901234567890123456789012345678901234", true },
		{ "a2345678901234567890123456789012345678901234567890123456789012345", false },
		{ "", false },
		{ "a+b", false },
		{ "+", false },
		{ "a#", false },
		{ "kitchen/light", false },
		{ "/", false },
		{ "$SYS", false },
		{ "tab\there", false },
		{ "nl\n", false },
		{ "del\x7f", false },
		{ "c1\xc2\x85", false },
		{ "\xff", false },
		{ "k\xfc" "che", false },           /* Latin-1, not UTF-8 */
		{ "over\xc0\xaflong", false },      /* overlong '/' */
		{ "cut\xe2\x82", false },           /* truncated sequence */
		{ "sur\xed\xa0\x80", false },       /* UTF-16 surrogate */
		{ "big\xf4\x90\x80\x80", false },   /* above U+10FFFF */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(config_topic_level_valid(cases[i].name) == cases[i].valid,
		       "topic level #%zu (%zu bytes) is %s", i, strlen(cases[i].name),
		       cases[i].valid ? "valid" : "invalid");
	tap_ok(!config_topic_level_valid(NULL), "topic level NULL is invalid");
}

/* ---- summary and names ------------------------------------------------------------------ */

static void test_summary(void)
{
	struct config_broker brokers[] = {
		{ .host = (char *)"localhost", .port = 1883 },
		{ .host = (char *)"b", .port = 1884 },
		{ .host = (char *)"c", .port = 1885 },
	};
	struct config cfg = {
		.mqtt = { .brokers = brokers, .n_brokers = 1, .base_topic = (char *)"gpio2mqtt/pi",
			  .password = (char *)PASSWORD },
		.n_inputs = 1,
		.n_outputs = 0,
	};
	char buf[256], small[10];

	tap_is_int(config_summary(&cfg, buf, sizeof(buf)), 0, "summary: fits");
	tap_is_str(buf, "1 input, 0 outputs, broker localhost:1883, base topic gpio2mqtt/pi",
		   "summary: 1 input, 0 outputs");
	cfg.n_inputs = 2;
	cfg.n_outputs = 3;
	config_summary(&cfg, buf, sizeof(buf));
	tap_is_str(buf, "2 inputs, 3 outputs, broker localhost:1883, base topic gpio2mqtt/pi",
		   "summary: 2 inputs, 3 outputs");
	cfg.n_inputs = 0;
	cfg.n_outputs = 1;
	config_summary(&cfg, buf, sizeof(buf));
	tap_is_str(buf, "0 inputs, 1 output, broker localhost:1883, base topic gpio2mqtt/pi",
		   "summary: 0 inputs, 1 output");
	cfg.mqtt.n_brokers = 3;
	config_summary(&cfg, buf, sizeof(buf));
	tap_is_str(buf, "0 inputs, 1 output, brokers localhost:1883 (+2 more), base topic "
			"gpio2mqtt/pi",
		   "summary: several brokers");
	tap_ok(strstr(buf, PASSWORD) == NULL, "summary: no password");
	brokers[0].host = (char *)"::1";
	cfg.mqtt.n_brokers = 1;
	config_summary(&cfg, buf, sizeof(buf));
	tap_is_str(buf, "0 inputs, 1 output, broker [::1]:1883, base topic gpio2mqtt/pi",
		   "summary: IPv6 host in brackets");
	tap_is_int(config_summary(&cfg, small, sizeof(small)), -ENOSPC, "summary: -ENOSPC");

	struct config *full = load_good("config/good/full.conf");
	if (full) {
		config_summary(full, buf, sizeof(buf));
		tap_is_str(buf, "4 inputs, 3 outputs, brokers broker.example.org:8883 (+1 more), "
				"base topic home/cupboard/gpio",
			   "summary of full.conf");
		tap_ok(strstr(buf, PASSWORD) == NULL, "summary of full.conf: no password");
		config_free(full);
	}
}

static void test_to_string(void)
{
	tap_is_str(config_bias_to_string(CONFIG_BIAS_AS_IS), "as-is", "bias as-is");
	tap_is_str(config_bias_to_string(CONFIG_BIAS_DISABLED), "disabled", "bias disabled");
	tap_is_str(config_bias_to_string(CONFIG_BIAS_PULL_UP), "pull-up", "bias pull-up");
	tap_is_str(config_bias_to_string(CONFIG_BIAS_PULL_DOWN), "pull-down", "bias pull-down");
	tap_is_str(config_drive_to_string(CONFIG_DRIVE_PUSH_PULL), "push-pull", "drive push-pull");
	tap_is_str(config_drive_to_string(CONFIG_DRIVE_OPEN_DRAIN), "open-drain",
		   "drive open-drain");
	tap_is_str(config_drive_to_string(CONFIG_DRIVE_OPEN_SOURCE), "open-source",
		   "drive open-source");
	config_free(NULL);
	config_errors_clear(NULL);
	tap_ok(true, "config_free(NULL) and config_errors_clear(NULL) are no-ops");
}

static void test_light_control(void)
{
	struct config *cfg = load_good("config/good/light-control.conf");
	const struct config_pin *p;
	const struct config_interlock *il;

	if (!cfg)
		return;
	tap_is_str(cfg->state_dir, "/tmp/gpio2mqtt-test-state", "light: state_dir");
	p = &cfg->pins[0];
	tap_is_str(p->name, "wall_button", "light: pin 0 is wall_button");
	tap_is_int(p->mode, CONFIG_INPUT_MODE_BUTTON, "light: button mode");
	tap_is_int(p->double_press_ms, 300, "light: double_press_ms");
	tap_is_int(p->long_press_ms, 1000, "light: long_press_ms");
	tap_ok(p->publish_state, "light: publish_state set on a button");
	tap_is_int(p->payload, CONFIG_PAYLOAD_JSON, "light: json payload");
	tap_is_int((long long)p->n_bindings, 2, "light: two bindings");
	tap_is_str(cfg->pins[p->bindings[0].output].name, "hall_light", "light: binding 0 output");
	tap_is_int(p->bindings[0].action, CONFIG_BINDING_TOGGLE, "light: binding 0 toggles");
	tap_is_int(p->bindings[0].when, CONFIG_BINDING_ALWAYS, "light: binding 0 always (default)");
	tap_is_str(cfg->pins[p->bindings[1].output].name, "porch", "light: binding 1 output");
	tap_is_int(p->bindings[1].action, CONFIG_BINDING_ON, "light: binding 1 on");
	tap_is_int(p->bindings[1].when, CONFIG_BINDING_OFFLINE, "light: binding 1 offline");
	p = &cfg->pins[1];
	tap_is_int(p->mode, CONFIG_INPUT_MODE_SWITCH, "light: rocker is a switch (default)");
	tap_ok(p->publish_state, "light: switches publish their state by default");
	tap_is_int(p->bindings[0].action, CONFIG_BINDING_FOLLOW, "light: follow");
	tap_is_int(p->bindings[1].action, CONFIG_BINDING_OFF, "light: off");
	p = &cfg->pins[2];
	tap_ok(!p->publish_state, "light: buttons do not publish their state by default");
	tap_is_int(p->double_press_ms, 0, "light: double presses off");
	tap_is_int(p->long_press_ms, 800, "light: long_press_ms default");
	tap_is_int((long long)p->n_bindings, 0, "light: no bindings");
	p = &cfg->pins[3];
	tap_is_str(p->name, "hall_light", "light: pin 3 is hall_light");
	tap_is_int(p->power_on, CONFIG_POWER_ON_RESTORE, "light: power_on restore");
	tap_ok(!p->initial, "light: restore requests OFF until the state file says otherwise");
	tap_is_int(p->on_exit, CONFIG_ON_EXIT_OFF, "light: on_exit off");
	tap_ok(p->accept_retained, "light: accept_retained");
	tap_is_int((long long)p->interlock, (long long)CONFIG_INTERLOCK_NONE, "light: no group");
	p = &cfg->pins[4];
	tap_is_int(p->power_on, CONFIG_POWER_ON_ON, "light: porch power_on on");
	tap_ok(p->initial, "light: porch requested ON");
	tap_ok(!p->accept_retained, "light: accept_retained default from mqtt (false)");
	tap_is_int(p->on_exit, CONFIG_ON_EXIT_KEEP, "light: on_exit default keep");
	tap_is_int(cfg->pins[6].pulse_ms, 500, "light: garage pulse_ms");
	tap_is_int(cfg->pins[5].pulse_ms, 0, "light: no pulse by default");

	tap_is_int((long long)cfg->n_interlocks, 2, "light: two interlock groups");
	il = &cfg->interlocks[0];
	tap_is_int((long long)il->n_outputs, 2, "light: group 0 has two outputs");
	tap_is_str(cfg->pins[il->outputs[0]].name, "shutter_up", "light: group 0 first");
	tap_is_str(cfg->pins[il->outputs[1]].name, "shutter_down", "light: group 0 second");
	tap_is_int(il->wait_ms, 750, "light: group 0 wait");
	tap_is_int(cfg->interlocks[1].wait_ms, 500, "light: default wait 500 ms");
	tap_is_int((long long)cfg->pins[7].interlock, 0, "light: shutter_up in group 0");
	tap_is_int((long long)cfg->pins[5].interlock, 1, "light: fan in group 1 (list syntax)");
	config_free(cfg);

	cfg = load_good("config/good/minimal.conf");
	if (cfg) {
		tap_is_str(cfg->state_dir, "/var/lib/gpio2mqtt", "default state_dir");
		tap_is_int((long long)cfg->n_interlocks, 0, "no interlocks by default");
		config_free(cfg);
	}
}

/* What a reload compares (src/main.c, src/gpio.c): lines, request settings, connection. */
static void test_reload_compare(void)
{
	struct config *a = load_good("config/good/minimal.conf");
	struct config *b = load_good("config/good/minimal.conf");
	struct config_pin p, q;

	if (!a || !b) {
		config_free(a);
		config_free(b);
		return;
	}
	p = a->pins[0];
	q = b->pins[0];
	tap_ok(config_pin_line_equal(&p, &q), "compare: the same line");
	tap_ok(config_pin_request_equal(&p, &q), "compare: the same request");
	q.debounce_ms = p.debounce_ms + 1;
	tap_ok(config_pin_line_equal(&p, &q) && !config_pin_request_equal(&p, &q),
	       "compare: debounce_ms differs: same line, other request");
	q = b->pins[0];
	q.initial = !p.initial;
	tap_ok(config_pin_request_equal(&p, &q), "compare: the initial level is not compared");
	q.line.name = NULL;
	q.line.chip = (char *)"gpiochip0";
	tap_ok(!config_pin_line_equal(&p, &q), "compare: name vs chip + offset differ");
	tap_ok(config_mqtt_connection_equal(&a->mqtt, &b->mqtt), "compare: the same connection");
	b->mqtt.qos = a->mqtt.qos ? 0 : 1;
	b->mqtt.health_interval_s = 7;
	tap_ok(config_mqtt_connection_equal(&a->mqtt, &b->mqtt),
	       "compare: qos and health_interval_s need no reconnect");
	b->mqtt.brokers[0].port++;
	tap_ok(!config_mqtt_connection_equal(&a->mqtt, &b->mqtt), "compare: another port");
	b->mqtt.brokers[0].port--;
	b->mqtt.keepalive++;
	tap_ok(!config_mqtt_connection_equal(&a->mqtt, &b->mqtt), "compare: another keepalive");
	config_free(a);
	config_free(b);
}

/* Each part of a line request, and each part of the MQTT connection, on its own: a change of
 * one makes the two unequal; what is not part of it does not. */
static void test_reload_compare_each(void)
{
	struct config *full = load_good("config/good/full.conf");
	struct config *a = load_good("config/good/tls.conf");
	struct config *b = load_good("config/good/tls.conf");
	struct config_mqtt m, own;
	struct config_pin p, q;
	char other[] = "other";

	if (!full || !a || !b || full->n_inputs == 0 || full->n_outputs == 0) {
		tap_ok(false, "full.conf and tls.conf load");
		config_free(full);
		config_free(a);
		config_free(b);
		return;
	}
	p = full->pins[0];
#define REQUEST(field, value, same, what)                                                     \
	do {                                                                                   \
		q = p;                                                                         \
		q.field = value;                                                               \
		tap_ok(config_pin_request_equal(&p, &q) == (same), "request: %s", what);       \
	} while (0)
	REQUEST(bias, p.bias == CONFIG_BIAS_PULL_UP ? CONFIG_BIAS_AS_IS : CONFIG_BIAS_PULL_UP,
		false, "another bias");
	REQUEST(active_low, !p.active_low, false, "another active_low");
	REQUEST(direction, CONFIG_DIRECTION_OUTPUT, false, "another direction");
	REQUEST(debounce_ms, p.debounce_ms + 1, p.direction != CONFIG_DIRECTION_INPUT,
		"another debounce_ms (inputs only)");
	REQUEST(long_press_ms, p.long_press_ms + 1, true, "long_press_ms is not requested");
	REQUEST(mode, p.mode == CONFIG_INPUT_MODE_BUTTON ? CONFIG_INPUT_MODE_SWITCH
							 : CONFIG_INPUT_MODE_BUTTON,
		true, "mode is not requested");
	REQUEST(payload, CONFIG_PAYLOAD_JSON, true, "payload is not requested");
	p = full->pins[full->n_inputs];
	REQUEST(drive, CONFIG_DRIVE_OPEN_DRAIN, false, "another drive (outputs)");
	REQUEST(power_on, CONFIG_POWER_ON_RESTORE, true, "power_on is not requested");
	REQUEST(pulse_ms, 100, true, "pulse_ms is not requested");
#undef REQUEST

	m = a->mqtt;
	own = b->mqtt;
#define CONNECTION(field, value, same, what)                                                  \
	do {                                                                                   \
		b->mqtt = m;                                                                   \
		b->mqtt.field = value;                                                         \
		tap_ok(config_mqtt_connection_equal(&a->mqtt, &b->mqtt) == (same),             \
		       "connection: %s", what);                                                \
	} while (0)
	CONNECTION(client_id, other, false, "another client_id");
	CONNECTION(username, other, false, "another username");
	CONNECTION(password_file, other, false, "another password_file");
	CONNECTION(password, other, false, "another password");
	CONNECTION(password_from_credential, !m.password_from_credential, false,
		   "password from a credential");
	CONNECTION(protocol, CONFIG_PROTOCOL_V311, m.protocol == CONFIG_PROTOCOL_V311,
		   "another protocol");
	CONNECTION(base_topic, other, false, "another base_topic (the Last Will)");
	CONNECTION(reconnect_min_ms, m.reconnect_min_ms + 1, false, "another reconnect_min_ms");
	CONNECTION(reconnect_max_ms, m.reconnect_max_ms + 1, false, "another reconnect_max_ms");
	CONNECTION(offline_events, m.offline_events + 1, false, "another offline_events");
	CONNECTION(tls.enabled, !m.tls.enabled, false, "TLS on or off");
	CONNECTION(tls.ca_file, other, false, "another ca_file");
	CONNECTION(tls.ca_path, other, false, "another ca_path");
	CONNECTION(tls.cert_file, other, false, "another cert_file");
	CONNECTION(tls.key_file, other, false, "another key_file");
	CONNECTION(tls.key_password_file, other, false, "another key_password_file");
	CONNECTION(tls.key_password, other, false, "another key password");
	CONNECTION(tls.min_version, CONFIG_TLS_V1_3, m.tls.min_version == CONFIG_TLS_V1_3,
		   "another min_version");
	CONNECTION(tls.insecure_skip_verify, !m.tls.insecure_skip_verify, false,
		   "insecure_skip_verify");
	CONNECTION(qos, m.qos ? 0 : 1, true, "qos needs no reconnect");
	CONNECTION(retain, !m.retain, true, "retain needs no reconnect");
	CONNECTION(accept_retained_commands, !m.accept_retained_commands, true,
		   "accept_retained_commands needs no reconnect");
	CONNECTION(health_interval_s, m.health_interval_s + 1, true,
		   "health_interval_s needs no reconnect");
#undef CONNECTION
	b->mqtt = own; /* the fields above point into a or at OTHER */
	config_free(full);
	config_free(a);
	config_free(b);
}

/* The grammar is libconfig's: a comma after a list's last element is a syntax error (with its
 * line) before libconfig 1.7 and allowed from 1.7 on. */
/* A password file must be a regular file of bounded size: a FIFO would block --check and the
 * start for ever, /dev/zero would never end. Each is one clear error. */
static void test_secret_files(void)
{
	char dir[] = "/tmp/test-config-secret-XXXXXX", conf[256], fifo[256], big[256];
	static const struct {
		const char *what;
		const char *path; /* NULL: the FIFO, "" : the big file */
		const char *want;
	} cases[] = {
		{ "a FIFO", NULL, "it is not a regular file" },
		{ "a link to /dev/zero", "/dev/zero", "it is not a regular file" },
		{ "a 5 KiB file", "", "it is larger than a password file can be (4 KiB)" },
	};
	FILE *f;

	if (!tap_ok(mkdtemp(dir) != NULL, "secret files: temporary directory"))
		return;
	snprintf(conf, sizeof(conf), "%s/g.conf", dir);
	snprintf(fifo, sizeof(fifo), "%s/pw.fifo", dir);
	snprintf(big, sizeof(big), "%s/pw.big", dir);
	tap_ok(mkfifo(fifo, 0600) == 0, "secret files: a FIFO");
	f = fopen(big, "w");
	for (int i = 0; f && i < 5 * 1024; i++)
		fputc('x', f);
	if (f)
		fclose(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_errors errors = { 0 };
		struct config *cfg = NULL;
		char line[LINE_MAX_TEST] = "";
		const char *path = !cases[i].path ? fifo : cases[i].path[0] ? cases[i].path : big;
		int r;

		f = fopen(conf, "w");
		if (f) {
			fprintf(f, "mqtt = { username = \"gpio\"; password_file = \"%s\"; };\n"
				   "outputs = ( { name = \"relay\"; line = \"GPIO27\"; } );\n",
				path);
			fclose(f);
		}
		r = config_load(conf, &cfg, &errors);
		if (errors.n > 0)
			config_error_format(&errors.items[0], line, sizeof(line));
		tap_is_int(r, -EINVAL, "password_file %s: refused, not waited for", cases[i].what);
		tap_ok(errors.n == 1 && strstr(line, ":1: mqtt: cannot read password_file") &&
			       strstr(line, cases[i].want),
		       "password_file %s: %s", cases[i].what, line);
		config_free(cfg);
		config_errors_clear(&errors);
	}
	unlink(conf);
	unlink(fifo);
	unlink(big);
	rmdir(dir);
}

static void test_trailing_comma(void)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	char line[LINE_MAX_TEST] = "";
	int r = config_load("config/trailing-comma.conf", &cfg, &errors);

	if (errors.n > 0)
		config_error_format(&errors.items[0], line, sizeof(line));
	if (LIBCONFIG_TRAILING_COMMA) {
		tap_is_int(r, 0, "trailing comma: loads with libconfig >= 1.7");
		tap_ok(cfg && cfg->n_inputs == 1 && strcmp(cfg->pins[0].name, "a") == 0,
		       "trailing comma: the one input is there");
	} else {
		tap_is_int(r, -EINVAL, "trailing comma: -EINVAL with libconfig < 1.7");
		tap_is_str(line,
			   "config/trailing-comma.conf:5: syntax error (the comma at line 4, after "
			   "the last element of a list? libconfig before 1.7 does not accept one)",
			   "trailing comma: a syntax error at its line, the comma named");
	}
	config_free(cfg);
	config_errors_clear(&errors);
}

/* Every kind in one file: the pins' order (GPIO pins, then lights, then covers), their kinds,
 * and the GPIO part (config_line_pins(): what gpio.c is given) holding the GPIO pins only. */
static void test_all_kinds(void)
{
	static const struct {
		const char *name;
		uint32_t kind;
		const struct pin_kind *module;
	} want[] = {
		{ "door", CONFIG_KIND_SWITCH, &kind_switch },
		{ "electricity", CONFIG_KIND_COUNTER, &kind_counter },
		{ "wall_up", CONFIG_KIND_BUTTON, &kind_button },
		{ "relay", CONFIG_KIND_OUTPUT, &kind_output },
		{ "up", CONFIG_KIND_OUTPUT, &kind_output },
		{ "down", CONFIG_KIND_OUTPUT, &kind_output },
		{ "strip", CONFIG_KIND_LIGHT, &kind_light },
		{ "shutter", CONFIG_KIND_COVER, &kind_cover },
	};
	const size_t n = sizeof(want) / sizeof(want[0]);
	struct config *cfg = load_good("config/good/all-kinds.conf");
	size_t lines;

	if (!cfg)
		return; /* load_good() failed the test */
	tap_is_int((long long)cfg->n_pins, (long long)n, "all kinds: 8 pins");
	for (size_t i = 0; i < n && i < cfg->n_pins; i++) {
		const struct config_pin *p = &cfg->pins[i];

		tap_is_str(p->name, want[i].name, "all kinds: pin %zu is %s", i, want[i].name);
		tap_ok(config_pin_kind(p) == want[i].kind && kind_of(p) == want[i].module,
		       "all kinds: %s is a %s", want[i].name, want[i].module->name);
	}
	lines = config_line_pins(cfg);
	tap_is_int((long long)lines, 6, "all kinds: the first 6 pins have a GPIO line");
	for (size_t i = 0; i < cfg->n_pins; i++)
		tap_ok(((config_pin_kind(&cfg->pins[i]) & CONFIG_KINDS_GPIO) != 0) == (i < lines),
		       "all kinds: %s is %s the GPIO part", cfg->pins[i].name,
		       i < lines ? "in" : "not in");
	tap_is_int((long long)cfg->n_lights, 1, "all kinds: one light");
	tap_ok(cfg->pins[lines].light, "all kinds: the light comes right after the GPIO pins");
	tap_is_int((long long)cfg->n_inputs, 3, "all kinds: 3 inputs");
	tap_is_int((long long)cfg->n_outputs, 4, "all kinds: 4 outputs (the light counted)");
	if (cfg->n_pins == n) {
		const struct config_pin *c = &cfg->pins[7];

		tap_ok(c->cover_relay[COVER_RELAY_UP] == 4 && c->cover_relay[COVER_RELAY_DOWN] == 5,
		       "all kinds: the cover's relays are the outputs up and down (4, 5)");
		tap_ok(c->cover_button[1] == 2 && c->cover_button[0] == CONFIG_PIN_NONE,
		       "all kinds: the cover's up button is the input wall_up (2)");
	}
	config_free(cfg);
}

int main(void)
{
	if (chdir(TEST_DATA_DIR) != 0) {
		tap_diag("chdir %s: %s", TEST_DATA_DIR, strerror(errno));
		return 1;
	}
	test_bad_corpus();
	test_good_corpus();
	test_trailing_comma();
	test_secret_files();
	test_minimal();
	test_full();
	test_light_control();
	test_all_kinds();
	test_chip_offset();
	test_overrides();
	test_password();
	test_other_good();
	test_mqtt_connection();
	test_discovery();
	test_missing_file();
	test_error_format();
	test_topic_level();
	test_summary();
	test_to_string();
	test_reload_compare();
	test_reload_compare_each();
	return tap_done();
}
