/* SPDX-License-Identifier: MIT */
/* gpio2mqtt --check -v against golden files (the OpenBSD bgpd -nv regress idea): each input's
 * config_dump() output must equal tests/unit/golden/<name>.out byte for byte, so any change to a
 * default or to the format shows up as a diff in review. The hostname-derived defaults are made
 * stable by GPIO2MQTT_HOSTNAME (config.c's test hook).
 *
 * After an intended change, regenerate with: GOLDEN_UPDATE=1 meson test config-dump
 * and review the diff of tests/unit/golden. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"

struct golden {
	const char *conf; /* relative to tests/unit (the test's working directory) */
	const char *name; /* golden/<name>.out */
};

static const struct golden goldens[] = {
	{ "../../conf/gpio2mqtt.conf", "conf-gpio2mqtt" },
	{ "../../conf/light-control.conf", "conf-light-control" },
	{ "config/good/minimal.conf", "minimal" },
	{ "config/good/full.conf", "full" },
	{ "config/good/chip-offset.conf", "chip-offset" },
	{ "config/good/overrides.conf", "overrides" },
	{ "config/good/password.conf", "password" },
	{ "config/good/tls.conf", "tls" },
	{ "config/good/discovery.conf", "discovery" },
	{ "config/good/name-limits.conf", "name-limits" },
	{ "config/good/counter.conf", "counter" },
	{ "config/good/pwm-light.conf", "pwm-light" }, /* PWM lights */
	{ "config/good/covers.conf", "covers" },
};

static char *file_read(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *fp = fopen(path, "re");
	FILE *mem;
	int c;

	if (!fp)
		return NULL;
	mem = open_memstream(&buf, &cap);
	if (!mem) {
		fclose(fp);
		return NULL;
	}
	while ((c = fgetc(fp)) != EOF)
		fputc(c, mem);
	fclose(fp);
	fclose(mem);
	*len = cap;
	return buf;
}

/* The first line where GOT and WANT differ, for the diagnostics. */
static void diff_show(const char *got, const char *want)
{
	int line = 1;

	while (*got && *got == *want) {
		if (*got == '\n')
			line++;
		got++;
		want++;
	}
	tap_diag("  first difference at line %d:", line);
	tap_diag("    got:  %.*s", (int)strcspn(got, "\n"), got);
	tap_diag("    want: %.*s", (int)strcspn(want, "\n"), want);
}

static void test_golden(const struct golden *g, bool update)
{
	struct config_errors errors = { 0 };
	struct config *cfg = NULL;
	char path[256], *got = NULL, *want;
	size_t got_len = 0, want_len = 0;
	FILE *mem;
	int r;

	r = config_load(g->conf, &cfg, &errors);
	tap_ok(r == 0, "%s loads", g->conf);
	config_errors_clear(&errors);
	if (r < 0)
		return;
	mem = open_memstream(&got, &got_len);
	if (!mem) {
		tap_ok(false, "%s: open_memstream", g->name);
		config_free(cfg);
		return;
	}
	config_dump(cfg, mem);
	fclose(mem);
	config_free(cfg);

	snprintf(path, sizeof(path), "golden/%s.out", g->name);
	if (update) {
		FILE *fp = fopen(path, "we");

		tap_ok(fp && fwrite(got, 1, got_len, fp) == got_len && fclose(fp) == 0,
		       "%s written", path);
		free(got);
		return;
	}
	want = file_read(path, &want_len);
	tap_ok(want != NULL, "%s exists", path);
	if (want) {
		bool same = got_len == want_len && memcmp(got, want, got_len) == 0;

		tap_ok(same, "%s: --check -v output equals %s", g->conf, path);
		if (!same)
			diff_show(got, want);
	}
	free(want);
	free(got);
}

/* Every secret is masked: the password files' contents never appear. */
static void test_secrets_hidden(void)
{
	struct config *cfg = NULL;
	char *got = NULL;
	size_t len = 0;
	FILE *mem;

	if (config_load("config/good/password.conf", &cfg, NULL) < 0 || !cfg->mqtt.password) {
		tap_ok(false, "password.conf loads with a password");
		config_free(cfg);
		return;
	}
	mem = open_memstream(&got, &len);
	if (mem) {
		config_dump(cfg, mem);
		fclose(mem);
	}
	tap_ok(got && !strstr(got, cfg->mqtt.password), "the password is not in the output");
	tap_ok(got && strstr(got, "password = \"<hidden>\";"), "the password shows as <hidden>");
	free(got);
	config_free(cfg);
}

int main(void)
{
	bool update = getenv("GOLDEN_UPDATE") && getenv("GOLDEN_UPDATE")[0];

	setenv("GPIO2MQTT_HOSTNAME", "golden", 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++)
		test_golden(&goldens[i], update);
	test_secrets_hidden();
	return tap_done();
}
