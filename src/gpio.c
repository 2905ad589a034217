/* SPDX-License-Identifier: MIT */
#include "gpio.h"

#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_text.h"

/* Events read from the kernel per read(2), and the kernel's own buffer per request (the most it
 * accepts is 16 per line of the 64 a request can hold). Every pin has a request of its own, so
 * that a reload can release, request or reconfigure one pin without touching the others. */
#define GPIO_READ_BATCH 64
#define GPIO_KERNEL_BUFFER 1024
/* Batches read per gpio_dispatch(), so a storm on one line cannot starve MQTT commands; what is
 * left keeps the fd readable and is read on the next loop iteration. */
#define GPIO_DISPATCH_BATCHES 16

struct gpio_chip {
	char *path;  /* /dev/gpiochipN */
	char *name;  /* gpiochipN */
	char *label; /* e.g. pinctrl-bcm2711 */
	unsigned int num_lines;
	struct gpiod_chip *chip; /* NULL when it could not be opened */
	int open_errno;
};

struct gpio_pin {
	size_t chip;
	unsigned int offset;
	bool is_input;
	unsigned long line_seqno; /* last kernel per-line sequence number seen */
	bool active;              /* last level reported */
	bool lost_pending;        /* edges lost in this dispatch: read the line afterwards */
	struct gpiod_line_request *request; /* this pin's line alone */
};

struct gpio {
	struct gpio_chip *chips;
	size_t n_chips;
	struct gpio_pin *pins;
	size_t n_pins;
	const struct config_pin *cfg;
	size_t *fd_pins; /* the input pin of each request fd */
	size_t n_fds;
	struct gpiod_edge_event_buffer *buffer;
};

static void gpio_err(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void gpio_err(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

static int gpio_chip_compare(const void *a, const void *b)
{
	const struct gpio_chip *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);

	/* gpiochip2 before gpiochip10 */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void gpio_chips_free(struct gpio *gpio)
{
	for (size_t i = 0; i < gpio->n_chips; i++) {
		struct gpio_chip *c = &gpio->chips[i];

		if (c->chip)
			gpiod_chip_close(c->chip);
		free(c->path);
		free(c->name);
		free(c->label);
	}
	free(gpio->chips);
	gpio->chips = NULL;
	gpio->n_chips = 0;
}

/* Every GPIO character device in /dev, opened when possible, sorted by name. */
static int gpio_chips_scan(struct gpio *gpio)
{
	DIR *dir = opendir("/dev");
	struct dirent *de;
	int r = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct gpio_chip *grown, *c;
		struct gpiod_chip_info *info;
		char path[PATH_MAX];

		if (strncmp(de->d_name, "gpiochip", 8) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		if (!gpiod_is_gpiochip_device(path))
			continue;
		grown = realloc(gpio->chips, (gpio->n_chips + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			break;
		}
		gpio->chips = grown;
		c = &gpio->chips[gpio->n_chips++];
		memset(c, 0, sizeof(*c));
		c->path = strdup(path);
		c->name = strdup(de->d_name);
		if (!c->path || !c->name) {
			r = -ENOMEM;
			break;
		}
		c->chip = gpiod_chip_open(path);
		if (!c->chip) {
			c->open_errno = errno;
			continue;
		}
		info = gpiod_chip_get_info(c->chip);
		if (!info) {
			c->open_errno = errno;
			gpiod_chip_close(c->chip);
			c->chip = NULL;
			continue;
		}
		c->label = strdup(gpiod_chip_info_get_label(info));
		c->num_lines = (unsigned int)gpiod_chip_info_get_num_lines(info);
		gpiod_chip_info_free(info);
		if (!c->label) {
			r = -ENOMEM;
			break;
		}
	}
	closedir(dir);
	if (r == 0 && gpio->n_chips > 1)
		qsort(gpio->chips, gpio->n_chips, sizeof(*gpio->chips), gpio_chip_compare);
	return r;
}

static void gpio_chips_unopened(const struct gpio *gpio, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < gpio->n_chips && n < size; i++) {
		if (gpio->chips[i].chip)
			continue;
		n += (size_t)snprintf(buf + n, size - n, "; cannot open %s: %s", gpio->chips[i].path,
				      strerror(gpio->chips[i].open_errno));
	}
}

static int gpio_pin_find_by_name(struct gpio *gpio, size_t pin, char *err, size_t err_size)
{
	const struct config_pin *p = &gpio->cfg[pin];
	size_t found = SIZE_MAX;
	char unopened[512];

	for (size_t i = 0; i < gpio->n_chips; i++) {
		int offset;

		if (!gpio->chips[i].chip)
			continue;
		offset = gpiod_chip_get_line_offset_from_name(gpio->chips[i].chip, p->line.name);
		if (offset < 0)
			continue;
		if (found != SIZE_MAX) {
			gpio_err(err, err_size,
				 "pin '%s': line name '%s' is not unique: it is on %s (%s) and %s (%s); "
				 "name the line by chip and offset instead",
				 p->name, p->line.name, gpio->chips[found].name,
				 gpio->chips[found].label, gpio->chips[i].name, gpio->chips[i].label);
			return -ENOTUNIQ;
		}
		found = i;
		gpio->pins[pin].chip = i;
		gpio->pins[pin].offset = (unsigned int)offset;
	}
	if (found == SIZE_MAX) {
		gpio_chips_unopened(gpio, unopened, sizeof(unopened));
		gpio_err(err, err_size, "pin '%s': no line named '%s' on any GPIO chip%s", p->name,
			 p->line.name, unopened);
		return -ENOENT;
	}
	return 0;
}

static bool gpio_chip_matches(const struct gpio_chip *c, const char *spec)
{
	return strcmp(spec, c->path) == 0 || strcmp(spec, c->name) == 0 ||
	       (c->label && strcmp(spec, c->label) == 0);
}

static int gpio_pin_find_by_chip(struct gpio *gpio, size_t pin, char *err, size_t err_size)
{
	const struct config_pin *p = &gpio->cfg[pin];
	size_t found = SIZE_MAX;
	char resolved[PATH_MAX];
	const char *spec = p->line.chip;
	char unopened[512];

	/* A path may be a symlink, e.g. a udev alias for the header chip. */
	if (spec[0] == '/' && realpath(spec, resolved))
		spec = resolved;
	for (size_t i = 0; i < gpio->n_chips; i++) {
		if (!gpio_chip_matches(&gpio->chips[i], spec))
			continue;
		if (found != SIZE_MAX) {
			gpio_err(err, err_size,
				 "pin '%s': chip '%s' is ambiguous: both %s and %s match; use the "
				 "chip's path",
				 p->name, p->line.chip, gpio->chips[found].path, gpio->chips[i].path);
			return -ENOTUNIQ;
		}
		found = i;
	}
	if (found == SIZE_MAX) {
		gpio_chips_unopened(gpio, unopened, sizeof(unopened));
		gpio_err(err, err_size, "pin '%s': no GPIO chip with path, name or label '%s'%s",
			 p->name, p->line.chip, unopened);
		return -ENOENT;
	}
	if (!gpio->chips[found].chip) {
		gpio_err(err, err_size, "pin '%s': cannot open %s: %s", p->name,
			 gpio->chips[found].path, strerror(gpio->chips[found].open_errno));
		return -gpio->chips[found].open_errno;
	}
	if (p->line.offset >= gpio->chips[found].num_lines) {
		gpio_err(err, err_size, "pin '%s': chip %s (%s) has lines 0..%u, not %u", p->name,
			 gpio->chips[found].name, gpio->chips[found].label,
			 gpio->chips[found].num_lines - 1, p->line.offset);
		return -ERANGE;
	}
	gpio->pins[pin].chip = found;
	gpio->pins[pin].offset = p->line.offset;
	return 0;
}

static void gpio_line_describe(const struct gpio *gpio, size_t pin, char *buf, size_t size)
{
	const struct gpio_chip *c = &gpio->chips[gpio->pins[pin].chip];

	if (gpio->cfg[pin].line.name)
		snprintf(buf, size, "line '%s' (%s offset %u)", gpio->cfg[pin].line.name, c->name,
			 gpio->pins[pin].offset);
	else
		snprintf(buf, size, "line %u of %s (%s)", gpio->pins[pin].offset, c->name,
			 c->label ? c->label : "?");
}

static enum gpiod_line_bias gpio_bias(enum config_bias bias)
{
	switch (bias) {
	case CONFIG_BIAS_DISABLED:
		return GPIOD_LINE_BIAS_DISABLED;
	case CONFIG_BIAS_PULL_UP:
		return GPIOD_LINE_BIAS_PULL_UP;
	case CONFIG_BIAS_PULL_DOWN:
		return GPIOD_LINE_BIAS_PULL_DOWN;
	case CONFIG_BIAS_AS_IS:
	default:
		return GPIOD_LINE_BIAS_AS_IS;
	}
}

static enum gpiod_line_drive gpio_drive(enum config_drive drive)
{
	switch (drive) {
	case CONFIG_DRIVE_OPEN_DRAIN:
		return GPIOD_LINE_DRIVE_OPEN_DRAIN;
	case CONFIG_DRIVE_OPEN_SOURCE:
		return GPIOD_LINE_DRIVE_OPEN_SOURCE;
	case CONFIG_DRIVE_PUSH_PULL:
	default:
		return GPIOD_LINE_DRIVE_PUSH_PULL;
	}
}

static int gpio_settings_fill(struct gpiod_line_settings *s, const struct config_pin *p)
{
	int r = 0;

	gpiod_line_settings_reset(s);
	gpiod_line_settings_set_active_low(s, p->active_low);
	r |= gpiod_line_settings_set_bias(s, gpio_bias(p->bias));
	if (p->direction == CONFIG_DIRECTION_INPUT) {
		r |= gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT);
		r |= gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH);
		gpiod_line_settings_set_debounce_period_us(s, p->debounce_ms * 1000UL);
	} else {
		r |= gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT);
		r |= gpiod_line_settings_set_drive(s, gpio_drive(p->drive));
		/* The level is part of the request: the line never shows another one. */
		r |= gpiod_line_settings_set_output_value(s, p->initial ? GPIOD_LINE_VALUE_ACTIVE :
									  GPIOD_LINE_VALUE_INACTIVE);
	}
	return r ? -EINVAL : 0;
}

/* After a failed request of PIN: whether its line is held, and by whom. */
static void gpio_request_explain(struct gpio *gpio, size_t pin, int error, char *err,
				 size_t err_size)
{
	struct gpio_chip *c = &gpio->chips[gpio->pins[pin].chip];
	struct gpiod_line_info *info = gpiod_chip_get_line_info(c->chip, gpio->pins[pin].offset);
	char line[256];

	gpio_line_describe(gpio, pin, line, sizeof(line));
	if (info && gpiod_line_info_is_used(info)) {
		const char *consumer = gpiod_line_info_get_consumer(info);

		gpio_err(err, err_size, "pin '%s': %s is busy: used by '%s'", gpio->cfg[pin].name,
			 line, consumer && consumer[0] ? consumer : "the kernel or another process");
	} else {
		gpio_err(err, err_size, "pin '%s': cannot request %s: %s", gpio->cfg[pin].name, line,
			 strerror(error));
	}
	gpiod_line_info_free(info);
}

/* PIN's settings (an output at its cfg initial level) in a new line config. */
static struct gpiod_line_config *gpio_pin_line_config(struct gpio *gpio, size_t pin, char *err,
						      size_t err_size)
{
	struct gpiod_line_settings *settings = gpiod_line_settings_new();
	struct gpiod_line_config *line_cfg = gpiod_line_config_new();
	unsigned int offset = gpio->pins[pin].offset;

	if (!settings || !line_cfg) {
		gpio_err(err, err_size, "pin '%s': %s", gpio->cfg[pin].name, strerror(ENOMEM));
		goto free_configs;
	}
	if (gpio_settings_fill(settings, &gpio->cfg[pin]) < 0) {
		gpio_err(err, err_size, "pin '%s': invalid line settings", gpio->cfg[pin].name);
		goto free_configs;
	}
	if (gpiod_line_config_add_line_settings(line_cfg, &offset, 1, settings) < 0) {
		gpio_err(err, err_size, "pin '%s': %s", gpio->cfg[pin].name, strerror(errno));
		goto free_configs;
	}
	gpiod_line_settings_free(settings);
	return line_cfg;

free_configs:
	gpiod_line_config_free(line_cfg);
	gpiod_line_settings_free(settings);
	return NULL;
}

static int gpio_pin_request(struct gpio *gpio, size_t pin, const char *consumer, char *err,
			    size_t err_size)
{
	struct gpio_chip *c = &gpio->chips[gpio->pins[pin].chip];
	struct gpiod_request_config *req_cfg = gpiod_request_config_new();
	struct gpiod_line_config *line_cfg = gpio_pin_line_config(gpio, pin, err, err_size);
	int r = -ENOMEM;

	if (!req_cfg || !line_cfg)
		goto free_configs;
	gpiod_request_config_set_consumer(req_cfg, consumer);
	gpiod_request_config_set_event_buffer_size(req_cfg, GPIO_KERNEL_BUFFER);
	gpio->pins[pin].request = gpiod_chip_request_lines(c->chip, req_cfg, line_cfg);
	if (!gpio->pins[pin].request) {
		r = -errno;
		gpio_request_explain(gpio, pin, errno, err, err_size);
		goto free_configs;
	}
	r = 0;

free_configs:
	gpiod_request_config_free(req_cfg);
	gpiod_line_config_free(line_cfg);
	return r;
}

static void gpio_pin_release(struct gpio_pin *p)
{
	if (p->request)
		gpiod_line_request_release(p->request);
	p->request = NULL;
}

static void gpio_fds_rebuild(struct gpio *gpio)
{
	gpio->n_fds = 0;
	for (size_t i = 0; i < gpio->n_pins; i++) {
		if (gpio->pins[i].is_input && gpio->pins[i].request)
			gpio->fd_pins[gpio->n_fds++] = i;
	}
}

/* Finds every pin's line (chip and offset); the same line twice is an error. */
static int gpio_pins_find(struct gpio *gpio, char *err, size_t err_size)
{
	int r;

	for (size_t i = 0; i < gpio->n_pins; i++) {
		gpio->pins[i].is_input = gpio->cfg[i].direction == CONFIG_DIRECTION_INPUT;
		r = gpio->cfg[i].line.chip ? gpio_pin_find_by_chip(gpio, i, err, err_size) :
					     gpio_pin_find_by_name(gpio, i, err, err_size);
		if (r < 0)
			return r;
		/* The same line under two spellings (name and chip + offset) is caught here. */
		for (size_t j = 0; j < i; j++) {
			if (gpio->pins[j].chip == gpio->pins[i].chip &&
			    gpio->pins[j].offset == gpio->pins[i].offset) {
				char line[256];

				gpio_line_describe(gpio, i, line, sizeof(line));
				gpio_err(err, err_size, "pins '%s' and '%s' are the same %s",
					 gpio->cfg[j].name, gpio->cfg[i].name, line);
				return -EEXIST;
			}
		}
	}
	return 0;
}

/* ---- --check: the lines of a configuration on this machine ------------------------------- */

/* Up to MAX line names of the opened chips closest to NAME (config_key_closeness() <= 2),
 * "'GPIO17' (gpiochip0), ..." into BUF; empty when none is close. */
static void gpio_check_names_near(const struct gpio *gpio, const char *name, char *buf,
				  size_t size)
{
	size_t n = 0, found = 0;

	buf[0] = '\0';
	for (size_t best = 0; best <= 2 && found < 4; best++) {
		for (size_t i = 0; i < gpio->n_chips && found < 4; i++) {
			const struct gpio_chip *c = &gpio->chips[i];

			for (unsigned int o = 0; c->chip && o < c->num_lines && found < 4; o++) {
				struct gpiod_line_info *info = gpiod_chip_get_line_info(c->chip, o);
				const char *line = info ? gpiod_line_info_get_name(info) : NULL;

				if (line && config_key_closeness(name, line) == best && n < size) {
					n += (size_t)snprintf(buf + n, size - n, "%s'%s' (%s)",
							      found ? ", " : "", line, c->name);
					found++;
				}
				gpiod_line_info_free(info);
			}
		}
	}
}

/* "gpiochip0 [pinctrl-rp1] 54 lines, ..." into BUF. */
static void gpio_check_chips_list(const struct gpio *gpio, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < gpio->n_chips && n < size; i++) {
		const struct gpio_chip *c = &gpio->chips[i];

		if (c->chip)
			n += (size_t)snprintf(buf + n, size - n, "%s%s [%s] %u lines", i ? ", " : "",
					      c->name, c->label ? c->label : "?", c->num_lines);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s%s (cannot open: %s)",
					      i ? ", " : "", c->name, strerror(c->open_errno));
	}
}

int gpio_check(const struct config_pin *pins, size_t n_pins, gpio_problem_fn fn, void *userdata,
	       size_t *problems)
{
	struct gpio gpio = { .cfg = pins, .n_pins = n_pins };
	char err[1024], more[768];
	int r;

	*problems = 0;
	gpio.pins = calloc(n_pins ? n_pins : 1, sizeof(*gpio.pins));
	if (!gpio.pins)
		return -ENOMEM;
	r = gpio_chips_scan(&gpio);
	if (r == 0 && gpio.n_chips == 0)
		r = GPIO_CHECK_NO_CHIPS;
	for (size_t i = 0; r == 0 && i < n_pins; i++) {
		const struct config_pin *p = &pins[i];
		struct gpiod_line_info *info;
		int found;

		found = p->line.chip ? gpio_pin_find_by_chip(&gpio, i, err, sizeof(err))
				     : gpio_pin_find_by_name(&gpio, i, err, sizeof(err));
		if (found == -ENOMEM) {
			r = found;
			break;
		}
		if (found < 0) {
			/* What is there instead: the closest line names, or the chips. */
			if (found == -ENOENT && p->line.name) {
				gpio_check_names_near(&gpio, p->line.name, more, sizeof(more));
				if (more[0])
					snprintf(err + strlen(err), sizeof(err) - strlen(err),
						 "; closest: %s (gpioinfo lists them all)", more);
				else
					snprintf(err + strlen(err), sizeof(err) - strlen(err),
						 " (gpioinfo lists the lines)");
			} else if (found == -ENOENT) {
				gpio_check_chips_list(&gpio, more, sizeof(more));
				snprintf(err + strlen(err), sizeof(err) - strlen(err),
					 "; the chips here: %s", more);
			}
			fn(userdata, i, err);
			(*problems)++;
			continue;
		}
		info = gpiod_chip_get_line_info(gpio.chips[gpio.pins[i].chip].chip,
						gpio.pins[i].offset);
		if (info && gpiod_line_info_is_used(info)) {
			const char *consumer = gpiod_line_info_get_consumer(info);
			char line[256];

			gpio_line_describe(&gpio, i, line, sizeof(line));
			/* Our own running service holds its lines: that is no problem of the file. */
			if (!consumer || strcmp(consumer, "gpio2mqtt") != 0) {
				snprintf(err, sizeof(err), "pin '%s': %s is busy: used by '%s'",
					 p->name, line,
					 consumer && consumer[0] ? consumer
								 : "the kernel or another process");
				fn(userdata, i, err);
				(*problems)++;
			}
		}
		gpiod_line_info_free(info);
	}
	gpio_chips_free(&gpio);
	free(gpio.pins);
	return r;
}

int gpio_open(struct gpio **out, const struct config_pin *pins, size_t n_pins,
	      const char *consumer, char *err, size_t err_size)
{
	struct gpio *gpio;
	int r;

	err[0] = '\0';
	gpio = calloc(1, sizeof(*gpio));
	if (!gpio)
		return -ENOMEM;
	gpio->cfg = pins;
	gpio->n_pins = n_pins;
	gpio->pins = calloc(n_pins ? n_pins : 1, sizeof(*gpio->pins));
	gpio->fd_pins = calloc(n_pins ? n_pins : 1, sizeof(*gpio->fd_pins));
	gpio->buffer = gpiod_edge_event_buffer_new(GPIO_READ_BATCH);
	if (!gpio->pins || !gpio->fd_pins || !gpio->buffer) {
		r = -ENOMEM;
		goto free_gpio;
	}

	r = gpio_chips_scan(gpio);
	if (r < 0) {
		gpio_err(err, err_size, "cannot list GPIO chips in /dev: %s", strerror(-r));
		goto free_gpio;
	}
	if (gpio->n_chips == 0) {
		gpio_err(err, err_size,
			 "no GPIO chips in /dev (no /dev/gpiochip* device: is this a board with "
			 "GPIO and is its driver loaded?)");
		r = -ENODEV;
		goto free_gpio;
	}
	r = gpio_pins_find(gpio, err, err_size);
	if (r < 0)
		goto free_gpio;
	for (size_t i = 0; i < n_pins; i++) {
		r = gpio_pin_request(gpio, i, consumer, err, err_size);
		if (r < 0)
			goto free_gpio; /* releases the requests made so far */
	}
	gpio_fds_rebuild(gpio);

	for (size_t i = 0; i < n_pins; i++) {
		r = gpio_get(gpio, i, &gpio->pins[i].active);
		if (r < 0) {
			gpio_err(err, err_size, "pin '%s': cannot read the line: %s", pins[i].name,
				 strerror(-r));
			goto free_gpio;
		}
	}

	*out = gpio;
	return 0;

free_gpio:
	gpio_close(gpio);
	return r;
}

/* ---- reload ---------------------------------------------------------------------------- */

static bool gpio_settings_same(const struct config_pin *a, const struct config_pin *b)
{
	if (a->direction != b->direction || a->bias != b->bias || a->active_low != b->active_low)
		return false;
	if (a->direction == CONFIG_DIRECTION_INPUT)
		return a->debounce_ms == b->debounce_ms;
	return a->drive == b->drive;
}

static int gpio_pin_reconfigure(struct gpio *gpio, size_t pin, char *err, size_t err_size)
{
	struct gpiod_line_config *line_cfg = gpio_pin_line_config(gpio, pin, err, err_size);
	int r = 0;

	if (!line_cfg)
		return -ENOMEM;
	if (gpiod_line_request_reconfigure_lines(gpio->pins[pin].request, line_cfg) < 0) {
		r = -errno;
		gpio_err(err, err_size, "pin '%s': cannot reconfigure its line: %s",
			 gpio->cfg[pin].name, strerror(errno));
	}
	gpiod_line_config_free(line_cfg);
	return r;
}

int gpio_reload(struct gpio *gpio, const struct config_pin *pins, size_t n_pins,
		const char *consumer, char *err, size_t err_size)
{
	struct gpio_pin *old_pins = gpio->pins, *new_pins;
	const struct config_pin *old_cfg = gpio->cfg;
	size_t n_old = gpio->n_pins, *from = NULL, *fd_pins = NULL;
	bool *released = NULL;
	char scratch[256];
	int r = -ENOMEM;

	err[0] = '\0';
	new_pins = calloc(n_pins ? n_pins : 1, sizeof(*new_pins));
	fd_pins = calloc(n_pins ? n_pins : 1, sizeof(*fd_pins));
	from = calloc(n_pins ? n_pins : 1, sizeof(*from));
	released = calloc(n_old ? n_old : 1, sizeof(*released));
	if (!new_pins || !fd_pins || !from || !released)
		goto free_arrays;

	/* The new pins are found with the new arrays in place (the lookups index them). */
	gpio->pins = new_pins;
	gpio->cfg = pins;
	gpio->n_pins = n_pins;
	r = gpio_pins_find(gpio, err, err_size);
	if (r < 0)
		goto restore_pins;

	/* Which old pin holds each new pin's line; old pins whose line is no longer ours. */
	for (size_t i = 0; i < n_pins; i++) {
		from[i] = SIZE_MAX;
		for (size_t k = 0; k < n_old && from[i] == SIZE_MAX; k++) {
			if (old_pins[k].chip == new_pins[i].chip &&
			    old_pins[k].offset == new_pins[i].offset)
				from[i] = k;
		}
	}
	for (size_t k = 0; k < n_old; k++) {
		released[k] = true;
		for (size_t i = 0; i < n_pins; i++)
			released[k] = released[k] && from[i] != k;
	}

	/* 1. Lines no longer ours are released (a new pin may want one of them). */
	for (size_t k = 0; k < n_old; k++) {
		if (released[k])
			gpio_pin_release(&old_pins[k]);
	}
	/* 2. Kept lines keep their request, untouched or reconfigured in place; 3. new lines are
	 * requested. */
	for (size_t i = 0; i < n_pins; i++) {
		if (from[i] == SIZE_MAX)
			continue;
		new_pins[i].request = old_pins[from[i]].request;
		new_pins[i].line_seqno = old_pins[from[i]].line_seqno;
		new_pins[i].active = old_pins[from[i]].active;
		if (!gpio_settings_same(&old_cfg[from[i]], &pins[i])) {
			r = gpio_pin_reconfigure(gpio, i, err, err_size);
			if (r < 0)
				goto undo;
			if (new_pins[i].is_input != old_pins[from[i]].is_input)
				new_pins[i].line_seqno = 0;
			gpio_get(gpio, i, &new_pins[i].active);
		}
	}
	for (size_t i = 0; i < n_pins; i++) {
		if (from[i] != SIZE_MAX)
			continue;
		r = gpio_pin_request(gpio, i, consumer, err, err_size);
		if (r < 0)
			goto undo;
		gpio_get(gpio, i, &new_pins[i].active);
	}

	free(gpio->fd_pins);
	gpio->fd_pins = fd_pins;
	gpio_fds_rebuild(gpio);
	free(old_pins);
	free(from);
	free(released);
	return 0;

undo:
	/* New requests released, kept ones reconfigured back, released ones requested again (with
	 * the levels the caller put in the old config). */
	for (size_t i = 0; i < n_pins; i++) {
		if (from[i] == SIZE_MAX)
			gpio_pin_release(&new_pins[i]);
	}
	gpio->pins = old_pins;
	gpio->cfg = old_cfg;
	gpio->n_pins = n_old;
	for (size_t i = 0; i < n_pins; i++) {
		if (from[i] != SIZE_MAX && !gpio_settings_same(&old_cfg[from[i]], &pins[i]))
			gpio_pin_reconfigure(gpio, from[i], scratch, sizeof(scratch));
	}
	for (size_t k = 0; k < n_old; k++) {
		if (released[k])
			gpio_pin_request(gpio, k, consumer, scratch, sizeof(scratch));
	}
	gpio_fds_rebuild(gpio);
restore_pins:
	gpio->pins = old_pins;
	gpio->cfg = old_cfg;
	gpio->n_pins = n_old;
free_arrays:
	free(new_pins);
	free(fd_pins);
	free(from);
	free(released);
	return r;
}

void gpio_close(struct gpio *gpio)
{
	if (!gpio)
		return;
	for (size_t i = 0; gpio->pins && i < gpio->n_pins; i++)
		gpio_pin_release(&gpio->pins[i]);
	gpio_chips_free(gpio);
	gpiod_edge_event_buffer_free(gpio->buffer);
	free(gpio->fd_pins);
	free(gpio->pins);
	free(gpio);
}

size_t gpio_fd_count(const struct gpio *gpio)
{
	return gpio->n_fds;
}

int gpio_fd(const struct gpio *gpio, size_t index)
{
	if (index >= gpio->n_fds)
		return -EINVAL;
	return gpiod_line_request_get_fd(gpio->pins[gpio->fd_pins[index]].request);
}

int gpio_dispatch(struct gpio *gpio, int fd, gpio_event_fn fn, void *userdata)
{
	struct gpiod_line_request *request = NULL;
	struct gpio_pin *p = NULL;
	size_t pin = 0;
	int reported = 0;

	for (size_t i = 0; i < gpio->n_fds; i++) {
		pin = gpio->fd_pins[i];
		if (gpiod_line_request_get_fd(gpio->pins[pin].request) == fd) {
			p = &gpio->pins[pin];
			request = p->request;
			break;
		}
	}
	if (!request)
		return -EBADF;

	for (int batch = 0; batch < GPIO_DISPATCH_BATCHES; batch++) {
		int n = gpiod_line_request_read_edge_events(request, gpio->buffer, GPIO_READ_BATCH);

		if (n < 0)
			return -errno;
		for (int k = 0; k < n; k++) {
			struct gpiod_edge_event *e = gpiod_edge_event_buffer_get_event(gpio->buffer,
										      (unsigned long)k);
			unsigned long seqno = gpiod_edge_event_get_line_seqno(e);
			struct gpio_event ev = { .pin = pin };

			/* The kernel numbers each line's events from 1 for this request. */
			if (seqno > p->line_seqno + 1) {
				ev.lost = seqno - p->line_seqno - 1;
				p->lost_pending = true;
			}
			p->line_seqno = seqno;
			ev.seqno = seqno;
			ev.active = gpiod_edge_event_get_event_type(e) ==
				    GPIOD_EDGE_EVENT_RISING_EDGE;
			ev.timestamp_ns = gpiod_edge_event_get_timestamp_ns(e);
			p->active = ev.active;
			fn(userdata, &ev);
			reported++;
		}
		/* The request fd blocks: read again only while events are waiting. A short read took
		 * every event there was (the usual single edge: no further system call); after a
		 * full batch, ask, as exactly GPIO_READ_BATCH events may have been all there was. */
		if (n < GPIO_READ_BATCH || gpiod_line_request_wait_edge_events(request, 0) <= 0)
			break;
	}

	if (p->lost_pending) {
		struct gpio_event ev = { .pin = pin };

		p->lost_pending = false;
		if (gpio_get(gpio, pin, &ev.active) == 0 && ev.active != p->active) {
			p->active = ev.active;
			fn(userdata, &ev);
			reported++;
		}
	}
	return reported;
}

int gpio_get(struct gpio *gpio, size_t pin, bool *active)
{
	enum gpiod_line_value v;

	if (pin >= gpio->n_pins || !gpio->pins[pin].request)
		return -EINVAL;
	v = gpiod_line_request_get_value(gpio->pins[pin].request, gpio->pins[pin].offset);
	if (v == GPIOD_LINE_VALUE_ERROR)
		return -errno;
	*active = v == GPIOD_LINE_VALUE_ACTIVE;
	return 0;
}

int gpio_set(struct gpio *gpio, size_t pin, bool active)
{
	if (pin >= gpio->n_pins || gpio->pins[pin].is_input || !gpio->pins[pin].request)
		return -EINVAL;
	if (gpiod_line_request_set_value(gpio->pins[pin].request, gpio->pins[pin].offset,
					 active ? GPIOD_LINE_VALUE_ACTIVE :
						  GPIOD_LINE_VALUE_INACTIVE) < 0)
		return -errno;
	return 0;
}
