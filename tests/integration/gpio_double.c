/* SPDX-License-Identifier: MIT */
/* A test double for src/gpio.h, linked into gpio2mqtt-test in place of src/gpio.c. No libgpiod,
 * no kernel: the integration test drives it through files in the directory named by the
 * environment variable GPIO2MQTT_TEST_GPIO_DIR.
 *
 * Files the test may create before the daemon starts:
 *   initial    lines "NAME 0|1": initial level of an input (default 0)
 *   busy       lines "NAME": gpio_open fails with -EBUSY for that pin, as if another process
 *              ('gpioset') held the line
 *   missing    lines "NAME": gpio_open fails with -ENOENT, as if the line did not exist
 *   input      a FIFO (created here when absent). The test writes lines to it:
 *                NAME 0|1                   an edge: the input goes to that level (lost = 0)
 *                NAME 0|1 lost=N            an edge after N edges the kernel dropped
 *                NAME 0|1 lost=N now=0|1    the same, but the line reads NOW afterwards (more
 *                                           edges were lost than reported): as the real gpio.c
 *                                           does, one more event with the line's level follows
 *
 * Files the double writes (each with write(2), so the test sees them at once):
 *   requested  written by a successful gpio_open once every pin is "requested": one line
 *              "consumer NAME", then per pin "NAME input|output line=LINE bias=... ..."
 *   trace_sets (the test creates it) every gpio_set() also writes "gpio-double: drive NAME
 *              LEVEL" to stderr, in the same stream as the daemon's log lines
 *   outputs.log  "NAME LEVEL" for every output at open (its initial level) and for every
 *              gpio_set() call (also when the level does not change)
 *   out/NAME   the current level of output NAME ("0\n" or "1\n"), replaced atomically
 *   events.log "NAME LEVEL lost=N" for every event gpio_dispatch() reports
 *   released   written by gpio_close()
 *   requests.log  one line per line request or release, in order: "request NAME SETTINGS" for
 *              every pin at gpio_open and for every pin gpio_reload requests again (a new
 *              pin, or one whose line or settings changed), "release NAME" for every pin
 *              gpio_reload gives up (removed, or changed). A pin whose line and settings did not
 *              change is untouched by a reload: no line here, no outputs.log line. (The double
 *              works per pin; the real gpio.c per chip, see src/gpio.h.)
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpio.h"

#define DOUBLE_ENV "GPIO2MQTT_TEST_GPIO_DIR"
#define DOUBLE_PATH_MAX 4096
#define DOUBLE_LINE_MAX 512

struct gpio_double_pin {
	char *name;
	enum config_direction direction;
	bool level;
	uint64_t seqno; /* the last edge's number on this line (lost ones counted) */
	char settings[400]; /* "input line=... bias=..." without the output's initial level */
};

struct gpio {
	char *dir;
	struct gpio_double_pin *pins;
	size_t n_pins;
	size_t n_inputs;
	int fd; /* the input FIFO, O_RDWR | O_NONBLOCK so it never reports EOF */
	char buf[DOUBLE_LINE_MAX];
	size_t buf_len;
};

static void double_err(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void double_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static int double_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* TEXT to FD in one write(2): the double's lines and files are short, and a short write to a
 * regular file is an error here (readers see whole lines appended at once). */
static int double_write(int fd, const char *text)
{
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int double_append(const char *dir, const char *file, const char *text)
{
	char path[DOUBLE_PATH_MAX];
	int fd, r;

	r = double_path(path, sizeof(path), dir, file);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = double_write(fd, text);
	close(fd);
	return r;
}

/* Writes FILE in DIR atomically: the test never sees it half written. */
static int double_replace(const char *dir, const char *file, const char *text)
{
	char path[DOUBLE_PATH_MAX], tmp[DOUBLE_PATH_MAX + 8];
	int fd, r;

	r = double_path(path, sizeof(path), dir, file);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = double_write(fd, text);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* Calls FN for each line of FILE in DIR (without its newline; blank lines and lines starting
 * with '#' skipped). A missing file is no line at all. Stops early when FN returns non-zero and
 * returns that value. */
static int double_each_line(const char *dir, const char *file, int (*fn)(void *, char *), void *data)
{
	char path[DOUBLE_PATH_MAX], line[DOUBLE_LINE_MAX];
	FILE *f;
	int r = 0;

	if (double_path(path, sizeof(path), dir, file) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		r = fn(data, s);
	}
	fclose(f);
	return r;
}

static const char *double_line_desc(const struct config_line *line, char *buf, size_t size)
{
	if (line->chip)
		snprintf(buf, size, "%s:%u", line->chip, line->offset);
	else
		snprintf(buf, size, "%s", line->name ? line->name : "?");
	return buf;
}

struct double_match {
	const char *name;
	bool found;
};

static int double_match_line(void *data, char *line)
{
	struct double_match *m = data;

	if (strcmp(line, m->name) == 0) {
		m->found = true;
		return 1;
	}
	return 0;
}

static bool double_listed(const char *dir, const char *file, const char *name)
{
	struct double_match m = { .name = name, .found = false };

	double_each_line(dir, file, double_match_line, &m);
	return m.found;
}

static struct gpio_double_pin *double_find(struct gpio *gpio, const char *name)
{
	for (size_t i = 0; i < gpio->n_pins; i++)
		if (strcmp(gpio->pins[i].name, name) == 0)
			return &gpio->pins[i];
	return NULL;
}

static int double_initial_line(void *data, char *line)
{
	struct gpio *gpio = data;
	char name[CONFIG_NAME_MAX + 1];
	int level;
	struct gpio_double_pin *pin;

	if (sscanf(line, "%64s %d", name, &level) != 2 || (level != 0 && level != 1)) {
		fprintf(stderr, "gpio_double: initial: bad line '%s'\n", line);
		return 0;
	}
	pin = double_find(gpio, name);
	if (!pin || pin->direction != CONFIG_DIRECTION_INPUT) {
		fprintf(stderr, "gpio_double: initial: '%s' is not an input\n", name);
		return 0;
	}
	pin->level = level;
	return 0;
}

static const char *double_bias(enum config_bias bias)
{
	switch (bias) {
	case CONFIG_BIAS_AS_IS:
		return "as-is";
	case CONFIG_BIAS_DISABLED:
		return "disabled";
	case CONFIG_BIAS_PULL_UP:
		return "pull-up";
	case CONFIG_BIAS_PULL_DOWN:
		return "pull-down";
	}
	return "?";
}

static const char *double_drive(enum config_drive drive)
{
	switch (drive) {
	case CONFIG_DRIVE_PUSH_PULL:
		return "push-pull";
	case CONFIG_DRIVE_OPEN_DRAIN:
		return "open-drain";
	case CONFIG_DRIVE_OPEN_SOURCE:
		return "open-source";
	}
	return "?";
}

static void double_settings(const struct config_pin *p, char *buf, size_t size)
{
	char desc[256];

	double_line_desc(&p->line, desc, sizeof(desc));
	if (p->direction == CONFIG_DIRECTION_INPUT)
		snprintf(buf, size, "input line=%s bias=%s active_low=%d debounce_ms=%u", desc,
			 double_bias(p->bias), p->active_low ? 1 : 0, p->debounce_ms);
	else
		snprintf(buf, size, "output line=%s bias=%s active_low=%d drive=%s", desc,
			 double_bias(p->bias), p->active_low ? 1 : 0, double_drive(p->drive));
}

static void double_log_request(struct gpio *gpio, const char *what, const char *name,
			       const char *settings, int initial)
{
	char text[640];

	if (initial >= 0)
		snprintf(text, sizeof(text), "%s %s %s initial=%d\n", what, name, settings, initial);
	else if (settings)
		snprintf(text, sizeof(text), "%s %s %s\n", what, name, settings);
	else
		snprintf(text, sizeof(text), "%s %s\n", what, name);
	double_append(gpio->dir, "requests.log", text);
}

static void double_free(struct gpio *gpio)
{
	if (!gpio)
		return;
	if (gpio->fd >= 0)
		close(gpio->fd);
	for (size_t i = 0; i < gpio->n_pins; i++)
		free(gpio->pins[i].name);
	free(gpio->pins);
	free(gpio->dir);
	free(gpio);
}

static int double_record_output(struct gpio *gpio, const struct gpio_double_pin *pin)
{
	char text[CONFIG_NAME_MAX + 16], file[CONFIG_NAME_MAX + 8];
	int r;

	snprintf(text, sizeof(text), "%s %d\n", pin->name, pin->level ? 1 : 0);
	r = double_append(gpio->dir, "outputs.log", text);
	if (r < 0)
		return r;
	snprintf(file, sizeof(file), "out/%s", pin->name);
	return double_replace(gpio->dir, file, pin->level ? "1\n" : "0\n");
}

/* --check: "missing" and "busy" name the pins whose lines do not exist or are held, as for
 * gpio_open(); without the double's directory there is no GPIO chip at all. */
int gpio_check(const struct config_pin *pins, size_t n_pins, gpio_problem_fn fn, void *userdata,
	       size_t *problems)
{
	const char *dir = getenv(DOUBLE_ENV);
	char msg[256];

	*problems = 0;
	if (!dir || !dir[0])
		return GPIO_CHECK_NO_CHIPS;
	for (size_t i = 0; i < n_pins; i++) {
		const char *line = pins[i].line.name ? pins[i].line.name : pins[i].line.chip;

		if (double_listed(dir, "missing", pins[i].name))
			snprintf(msg, sizeof(msg), "pin '%s': no line named '%s' on any GPIO chip; "
				 "closest: 'GPIO17' (gpiochip0) (gpioinfo lists them all)",
				 pins[i].name, line);
		else if (double_listed(dir, "busy", pins[i].name))
			snprintf(msg, sizeof(msg), "pin '%s': line '%s' is busy: used by 'gpioset'",
				 pins[i].name, line);
		else
			continue;
		fn(userdata, i, msg);
		(*problems)++;
	}
	return 0;
}

int gpio_open(struct gpio **out, const struct config_pin *pins, size_t n_pins,
	      const char *consumer, char *err, size_t err_size)
{
	const char *dir = getenv(DOUBLE_ENV);
	char path[DOUBLE_PATH_MAX], desc[256];
	struct gpio *gpio;
	struct stat st;
	char *report = NULL;
	size_t report_len = 0;
	FILE *rf;
	int r;

	*out = NULL;
	if (!dir || !*dir) {
		double_err(err, err_size,
			   "GPIO test double: the environment variable " DOUBLE_ENV " is not set");
		return -EINVAL;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		double_err(err, err_size, "GPIO test double: %s=%s is not a directory", DOUBLE_ENV,
			   dir);
		return -ENOTDIR;
	}

	/* Refusals first, like the real request: nothing is "requested" when one pin fails. */
	for (size_t i = 0; i < n_pins; i++) {
		double_line_desc(&pins[i].line, desc, sizeof(desc));
		if (double_listed(dir, "missing", pins[i].name)) {
			if (pins[i].line.chip)
				double_err(err, err_size, "pin '%s': no line %u on chip '%s'",
					   pins[i].name, pins[i].line.offset, pins[i].line.chip);
			else
				double_err(err, err_size, "pin '%s': no line named '%s' on any chip",
					   pins[i].name, desc);
			return -ENOENT;
		}
		if (double_listed(dir, "busy", pins[i].name)) {
			double_err(err, err_size, "pin '%s': line '%s' is busy (used by 'gpioset')",
				   pins[i].name, desc);
			return -EBUSY;
		}
	}

	gpio = calloc(1, sizeof(*gpio));
	if (!gpio)
		return -ENOMEM;
	gpio->fd = -1;
	gpio->dir = strdup(dir);
	gpio->pins = calloc(n_pins ? n_pins : 1, sizeof(*gpio->pins));
	if (!gpio->dir || !gpio->pins) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n_pins; i++) {
		gpio->pins[i].name = strdup(pins[i].name);
		if (!gpio->pins[i].name) {
			r = -ENOMEM;
			goto fail;
		}
		gpio->n_pins++;
		gpio->pins[i].direction = pins[i].direction;
		double_settings(&pins[i], gpio->pins[i].settings, sizeof(gpio->pins[i].settings));
		if (pins[i].direction == CONFIG_DIRECTION_INPUT)
			gpio->n_inputs++;
		else
			gpio->pins[i].level = pins[i].initial;
	}
	r = double_each_line(dir, "initial", double_initial_line, gpio);
	if (r < 0) {
		double_err(err, err_size, "GPIO test double: cannot read %s/initial: %s", dir,
			   strerror(-r));
		goto fail;
	}

	r = double_path(path, sizeof(path), dir, "input");
	if (r < 0)
		goto fail;
	if (mkfifo(path, 0600) < 0 && errno != EEXIST) {
		r = -errno;
		double_err(err, err_size, "GPIO test double: mkfifo %s: %s", path, strerror(errno));
		goto fail;
	}
	gpio->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (gpio->fd < 0) {
		r = -errno;
		double_err(err, err_size, "GPIO test double: open %s: %s", path, strerror(errno));
		goto fail;
	}

	r = double_path(path, sizeof(path), dir, "out");
	if (r < 0)
		goto fail;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		double_err(err, err_size, "GPIO test double: mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < gpio->n_pins; i++) {
		if (gpio->pins[i].direction != CONFIG_DIRECTION_OUTPUT)
			continue;
		r = double_record_output(gpio, &gpio->pins[i]);
		if (r < 0) {
			double_err(err, err_size, "GPIO test double: cannot record output: %s",
				   strerror(-r));
			goto fail;
		}
	}

	rf = open_memstream(&report, &report_len);
	if (!rf) {
		r = -ENOMEM;
		goto fail;
	}
	fprintf(rf, "consumer %s\n", consumer ? consumer : "(null)");
	for (size_t i = 0; i < n_pins; i++) {
		const struct config_pin *p = &pins[i];

		double_line_desc(&p->line, desc, sizeof(desc));
		if (p->direction == CONFIG_DIRECTION_INPUT)
			fprintf(rf, "%s input line=%s bias=%s active_low=%d debounce_ms=%u\n",
				p->name, desc, double_bias(p->bias), p->active_low ? 1 : 0,
				p->debounce_ms);
		else
			fprintf(rf, "%s output line=%s bias=%s active_low=%d drive=%s initial=%d\n",
				p->name, desc, double_bias(p->bias), p->active_low ? 1 : 0,
				double_drive(p->drive), p->initial ? 1 : 0);
	}
	if (fclose(rf) != 0) {
		free(report);
		r = -ENOMEM;
		goto fail;
	}
	r = double_replace(dir, "requested", report);
	free(report);
	if (r < 0) {
		double_err(err, err_size, "GPIO test double: cannot write %s/requested: %s", dir,
			   strerror(-r));
		goto fail;
	}
	for (size_t i = 0; i < gpio->n_pins; i++)
		double_log_request(gpio, "request", gpio->pins[i].name, gpio->pins[i].settings,
				   gpio->pins[i].direction == CONFIG_DIRECTION_OUTPUT ?
					   (int)gpio->pins[i].level : -1);

	*out = gpio;
	return 0;

fail:
	if (err && err_size && !*err)
		double_err(err, err_size, "GPIO test double: gpio_open failed: %s", strerror(-r));
	double_free(gpio);
	return r;
}

/* The pin of the old set with the same line and settings, or NULL. */
static struct gpio_double_pin *double_same(struct gpio *gpio, const char *settings)
{
	for (size_t i = 0; i < gpio->n_pins; i++)
		if (strcmp(gpio->pins[i].settings, settings) == 0)
			return &gpio->pins[i];
	return NULL;
}

int gpio_reload(struct gpio *gpio, const struct config_pin *pins, size_t n_pins,
		const char *consumer, char *err, size_t err_size)
{
	struct gpio_double_pin *next;
	bool *kept, *fresh;
	size_t n_inputs = 0;
	char settings[400], desc[256];

	(void)consumer;
	if (err && err_size)
		err[0] = '\0';
	/* Refusals first: a failed reload changes nothing. */
	for (size_t i = 0; i < n_pins; i++) {
		double_settings(&pins[i], settings, sizeof(settings));
		if (double_same(gpio, settings))
			continue;
		double_line_desc(&pins[i].line, desc, sizeof(desc));
		if (double_listed(gpio->dir, "missing", pins[i].name)) {
			double_err(err, err_size, "pin '%s': no line named '%s' on any chip",
				   pins[i].name, desc);
			return -ENOENT;
		}
		if (double_listed(gpio->dir, "busy", pins[i].name)) {
			double_err(err, err_size, "pin '%s': line '%s' is busy (used by 'gpioset')",
				   pins[i].name, desc);
			return -EBUSY;
		}
	}
	next = calloc(n_pins ? n_pins : 1, sizeof(*next));
	kept = calloc(gpio->n_pins ? gpio->n_pins : 1, sizeof(*kept));
	fresh = calloc(n_pins ? n_pins : 1, sizeof(*fresh));
	if (!next || !kept || !fresh) {
		free(next);
		free(kept);
		free(fresh);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_pins; i++) {
		struct gpio_double_pin *old;

		double_settings(&pins[i], next[i].settings, sizeof(next[i].settings));
		old = double_same(gpio, next[i].settings);
		next[i].direction = pins[i].direction;
		next[i].name = strdup(pins[i].name);
		if (!next[i].name) {
			for (size_t j = 0; j < i; j++)
				free(next[j].name);
			free(next);
			free(kept);
			free(fresh);
			return -ENOMEM;
		}
		n_inputs += pins[i].direction == CONFIG_DIRECTION_INPUT;
		if (old) {
			next[i].level = old->level; /* untouched */
			kept[old - gpio->pins] = true;
		} else {
			next[i].level = pins[i].direction == CONFIG_DIRECTION_OUTPUT && pins[i].initial;
			fresh[i] = true;
		}
	}
	for (size_t i = 0; i < gpio->n_pins; i++) {
		if (!kept[i])
			double_log_request(gpio, "release", gpio->pins[i].name, NULL, -1);
		free(gpio->pins[i].name);
	}
	free(gpio->pins);
	free(kept);
	gpio->pins = next;
	gpio->n_pins = n_pins;
	gpio->n_inputs = n_inputs;
	for (size_t i = 0; i < n_pins; i++) {
		if (!fresh[i])
			continue;
		double_log_request(gpio, "request", next[i].name, next[i].settings,
				   next[i].direction == CONFIG_DIRECTION_OUTPUT ? (int)next[i].level
										: -1);
		if (next[i].direction == CONFIG_DIRECTION_OUTPUT)
			double_record_output(gpio, &next[i]);
	}
	free(fresh);
	return 0;
}

void gpio_close(struct gpio *gpio)
{
	if (!gpio)
		return;
	double_append(gpio->dir, "released", "released\n");
	double_free(gpio);
}

size_t gpio_fd_count(const struct gpio *gpio)
{
	return gpio->n_inputs > 0 ? 1 : 0;
}

int gpio_fd(const struct gpio *gpio, size_t index)
{
	if (index != 0 || gpio->n_inputs == 0)
		return -EINVAL;
	return gpio->fd;
}

static uint64_t double_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* An edge (SEQNO: its number on the line, counting the lost ones, as the kernel's line_seqno),
 * or with SEQNO 0 the level read after a loss, as gpio.c reports them. */
static void double_report(struct gpio *gpio, size_t pin, bool active, uint64_t lost,
			  uint64_t seqno, gpio_event_fn fn, void *userdata)
{
	struct gpio_event ev = {
		.pin = pin,
		.active = active,
		.timestamp_ns = double_now_ns(),
		.lost = lost,
		.seqno = seqno,
	};
	char text[CONFIG_NAME_MAX + 48];

	snprintf(text, sizeof(text), "%s %d lost=%" PRIu64 "\n", gpio->pins[pin].name,
		 active ? 1 : 0, lost);
	double_append(gpio->dir, "events.log", text);
	fn(userdata, &ev);
}

/* One line written by the test; returns the number of events reported. */
static int double_handle_line(struct gpio *gpio, char *line, gpio_event_fn fn, void *userdata)
{
	char name[CONFIG_NAME_MAX + 1], *tok, *save = NULL;
	int level = -1, now = -1;
	uint64_t lost = 0;
	size_t pin;
	int n = 0;

	tok = strtok_r(line, " \t\r", &save);
	if (!tok)
		return 0;
	snprintf(name, sizeof(name), "%s", tok);
	while ((tok = strtok_r(NULL, " \t\r", &save))) {
		if (strcmp(tok, "0") == 0 || strcmp(tok, "1") == 0)
			level = tok[0] - '0';
		else if (strncmp(tok, "lost=", 5) == 0)
			lost = strtoull(tok + 5, NULL, 10);
		else if (strcmp(tok, "now=0") == 0 || strcmp(tok, "now=1") == 0)
			now = tok[4] - '0';
		else
			level = -2;
	}
	for (pin = 0; pin < gpio->n_pins; pin++)
		if (strcmp(gpio->pins[pin].name, name) == 0)
			break;
	if (level < 0 || pin == gpio->n_pins ||
	    gpio->pins[pin].direction != CONFIG_DIRECTION_INPUT) {
		fprintf(stderr, "gpio_double: ignoring bad input line for '%s'\n", name);
		return 0;
	}
	gpio->pins[pin].level = level;
	gpio->pins[pin].seqno += lost + 1;
	double_report(gpio, pin, level, lost, gpio->pins[pin].seqno, fn, userdata);
	n++;
	if (now >= 0) {
		gpio->pins[pin].level = now;
		/* What gpio.c promises after a loss: read the line, report its level if it
		 * differs from the last event's. */
		if (now != level) {
			double_report(gpio, pin, now, 0, 0, fn, userdata);
			n++;
		}
	}
	return n;
}

int gpio_dispatch(struct gpio *gpio, int fd, gpio_event_fn fn, void *userdata)
{
	int count = 0;

	if (fd != gpio->fd)
		return -EINVAL;
	for (;;) {
		ssize_t n = read(fd, gpio->buf + gpio->buf_len, sizeof(gpio->buf) - gpio->buf_len);
		char *start, *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return count > 0 ? count : -errno;
		}
		if (n == 0)
			break;
		gpio->buf_len += (size_t)n;
		start = gpio->buf;
		while ((nl = memchr(start, '\n', gpio->buf_len - (size_t)(start - gpio->buf)))) {
			*nl = '\0';
			count += double_handle_line(gpio, start, fn, userdata);
			start = nl + 1;
		}
		gpio->buf_len -= (size_t)(start - gpio->buf);
		memmove(gpio->buf, start, gpio->buf_len);
		if (gpio->buf_len == sizeof(gpio->buf)) {
			fprintf(stderr, "gpio_double: input line too long, dropped\n");
			gpio->buf_len = 0;
		}
	}
	return count;
}

int gpio_get(struct gpio *gpio, size_t pin, bool *active)
{
	if (pin >= gpio->n_pins)
		return -EINVAL;
	*active = gpio->pins[pin].level;
	return 0;
}

/* The test's way to hold up the main loop: when the file "stall_ms" exists, the next gpio_set()
 * takes it away and sleeps that many milliseconds first (as a slow line or a busy machine
 * would), while the network thread goes on receiving. */
static void double_stall(struct gpio *gpio)
{
	char path[DOUBLE_PATH_MAX];
	long ms = 0;
	FILE *f;

	if (double_path(path, sizeof(path), gpio->dir, "stall_ms") < 0)
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%ld", &ms) != 1)
		ms = 0;
	fclose(f);
	unlink(path);
	if (ms > 0)
		nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L },
			  NULL);
}

/* When the file "trace_sets" exists, every gpio_set() also writes "gpio-double: drive NAME
 * LEVEL" to the daemon's stderr, where its own log lines go, so a test sees in one stream
 * whether a log line came before or after the line was driven. */
static void double_trace_set(const struct gpio *gpio, const struct gpio_double_pin *pin)
{
	char path[DOUBLE_PATH_MAX], text[CONFIG_NAME_MAX + 32];
	int len;

	if (double_path(path, sizeof(path), gpio->dir, "trace_sets") < 0 || access(path, F_OK) < 0)
		return;
	len = snprintf(text, sizeof(text), "gpio-double: drive %s %d\n", pin->name,
		       pin->level ? 1 : 0);
	if (len > 0 && (size_t)len < sizeof(text))
		(void)!write(STDERR_FILENO, text, (size_t)len);
}

int gpio_set(struct gpio *gpio, size_t pin, bool active)
{
	if (pin >= gpio->n_pins)
		return -EINVAL;
	if (gpio->pins[pin].direction != CONFIG_DIRECTION_OUTPUT)
		return -EPERM;
	double_stall(gpio);
	gpio->pins[pin].level = active;
	double_trace_set(gpio, &gpio->pins[pin]);
	return double_record_output(gpio, &gpio->pins[pin]);
}
