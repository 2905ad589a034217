/* SPDX-License-Identifier: MIT */
/* The kernel's PWM through sysfs (see pwm.h). */
#include "pwm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PWM_PATH_MAX 512
/* After an export, udev may still be giving the new attributes to the gpio group: wait for
 * them this long, in steps of PWM_EXPORT_STEP_NS. */
#define PWM_EXPORT_WAIT_STEPS 50
#define PWM_EXPORT_STEP_NS 10000000L

struct pwm {
	struct pwm_sysfs sys;
	char *pin;
	char *chip;
	unsigned int channel;
	char chip_dir[PWM_PATH_MAX];
	char dir[PWM_PATH_MAX];
	struct pwm_state state;
	int duty_fd; /* duty_cycle kept open on sysfs (pwm_duty_write()), else -1 */
};

/* snprintf for paths and names, which sysfs keeps short: a longer one is cut (and then not
 * found), never overrun. */
static void pwm_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pwm_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

void pwm_sysfs_default(struct pwm_sysfs *sys)
{
	*sys = (struct pwm_sysfs){ .root = getenv("GPIO2MQTT_SYSFS") }; /* NULL: /sys */
}

static const char *pwm_root(const struct pwm_sysfs *sys)
{
	return sys->root ? sys->root : "/sys";
}

static int pwm_file_write(const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC); /* O_TRUNC: as a shell's > does */
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

static int pwm_write(const struct pwm_sysfs *sys, const char *path, const char *text)
{
	return sys->write ? sys->write(sys->ctx, path, text) : pwm_file_write(path, text);
}

/* Reads the attribute PATH (one short line) into BUF without its newline. */
static int pwm_read(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

static int pwm_read_u64(const char *path, uint64_t *value)
{
	unsigned long long v;
	char buf[32], *end;
	int r = pwm_read(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -EIO;
	*value = v;
	return 0;
}

/* The last component of the link PATH points at, into BUF; "" when it is no link. */
static void pwm_link_name(const char *path, char *buf, size_t size)
{
	char target[PWM_PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *slash;

	buf[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	pwm_fmt(buf, size, "%s", slash ? slash + 1 : target);
}

/* Whether NAME is "pwmchip" followed by digits only. */
static bool pwm_is_chip_number(const char *name)
{
	if (strncmp(name, "pwmchip", 7) != 0 || !name[7])
		return false;
	for (const char *p = name + 7; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

/* pwm_chip_find() without the log: the message into MSG; *N_CHIPS counts the chips there are. */
static int pwm_chip_lookup(const struct pwm_sysfs *sys, const char *pin, const char *chip,
			   char *dir, size_t size, char *msg, size_t msg_size, size_t *n_chips)
{
	char class_dir[PWM_PATH_MAX], path[PWM_PATH_MAX + 300], device[256], driver[256];
	char listing[1024] = "", number_device[256] = "";
	size_t used = 0, by_device = 0, by_driver = 0;
	char found_device[PWM_PATH_MAX] = "", found_driver[PWM_PATH_MAX] = "";
	struct dirent *e;
	DIR *d;

	pwm_fmt(class_dir, sizeof(class_dir), "%s/class/pwm", pwm_root(sys));
	d = opendir(class_dir);
	if (!d && errno != ENOENT) {
		int r = -errno;

		pwm_fmt(msg, msg_size, "light '%s': cannot read %s: %s", pin, class_dir,
			strerror(-r));
		return r;
	}
	while (d && (e = readdir(d))) {
		if (!pwm_is_chip_number(e->d_name))
			continue;
		(*n_chips)++;
		pwm_fmt(path, sizeof(path), "%s/%s/device", class_dir, e->d_name);
		pwm_link_name(path, device, sizeof(device));
		pwm_fmt(path, sizeof(path), "%s/%s/device/driver", class_dir, e->d_name);
		pwm_link_name(path, driver, sizeof(driver));
		if (used < sizeof(listing)) {
			int n = snprintf(listing + used, sizeof(listing) - used, "%s%s (%s%s%s)",
					 used ? ", " : "", device[0] ? device : "?", e->d_name,
					 driver[0] ? ", driver " : "", driver);

			used += n > 0 ? (size_t)n : 0;
		}
		if (strcmp(e->d_name, chip) == 0)
			pwm_fmt(number_device, sizeof(number_device), "%s", device);
		if (device[0] && strcmp(device, chip) == 0) {
			by_device++;
			pwm_fmt(found_device, sizeof(found_device), "%s/%s", class_dir, e->d_name);
		}
		if (driver[0] && strcmp(driver, chip) == 0) {
			by_driver++;
			pwm_fmt(found_driver, sizeof(found_driver), "%s/%s", class_dir, e->d_name);
		}
	}
	if (d)
		closedir(d);

	if (by_device == 1 || (by_device == 0 && by_driver == 1)) {
		pwm_fmt(dir, size, "%s", by_device ? found_device : found_driver);
		return 0;
	}
	if (by_driver > 1) {
		pwm_fmt(msg, msg_size, "light '%s': %zu PWM chips have the driver '%s'; name one "
			"by its device name: %s", pin, by_driver, chip, listing);
		return -EINVAL;
	}
	if (pwm_is_chip_number(chip)) {
		pwm_fmt(msg, msg_size, "light '%s': PWM chip '%s': chip numbers change between "
			"kernels; name the chip by its device name%s%s%s", pin, chip,
			number_device[0] ? " ('" : "", number_device,
			number_device[0] ? "' here)" : "");
		return -EINVAL;
	}
	pwm_fmt(msg, msg_size, "light '%s': no PWM chip '%s' (%s%s); on a Raspberry Pi the PWM pins "
		"need an overlay in config.txt, e.g. dtoverlay=pwm-2chan", pin, chip,
		used ? "chips here: " : "this machine has no PWM chip", listing);
	return -ENOENT;
}

int pwm_chip_find(const struct pwm_sysfs *sys, const char *pin, const char *chip, char *dir,
		  size_t size)
{
	char msg[1400];
	size_t n_chips = 0;
	int r = pwm_chip_lookup(sys, pin, chip, dir, size, msg, sizeof(msg), &n_chips);

	if (r < 0)
		log_error("%s", msg);
	return r;
}

int pwm_check(const struct pwm_sysfs *sys, const char *pin, const char *chip,
	      unsigned int channel, char *msg, size_t msg_size)
{
	char dir[PWM_PATH_MAX], path[PWM_PATH_MAX + 16];
	size_t n_chips = 0;
	uint64_t npwm;
	int r;

	msg[0] = '\0';
	r = pwm_chip_lookup(sys, pin, chip, dir, sizeof(dir), msg, msg_size, &n_chips);
	if (r == -ENOENT && n_chips == 0)
		return PWM_CHECK_NO_CHIPS;
	if (r < 0)
		return r;
	pwm_fmt(path, sizeof(path), "%s/npwm", dir);
	if (pwm_read_u64(path, &npwm) == 0 && channel >= npwm) {
		pwm_fmt(msg, msg_size, "light '%s': PWM chip '%s' has %" PRIu64 " channel%s (0..%" PRIu64
			"), not %u", pin, chip, npwm, npwm == 1 ? "" : "s", npwm ? npwm - 1 : 0,
			channel);
		return -ERANGE;
	}
	return 0;
}

/* Reads the channel's state from sysfs. */
static int pwm_state_read(struct pwm *p)
{
	char path[PWM_PATH_MAX + 32], polarity[32];
	uint64_t enable;
	int r;

	pwm_fmt(path, sizeof(path), "%s/period", p->dir);
	r = pwm_read_u64(path, &p->state.period_ns);
	if (r == 0) {
		pwm_fmt(path, sizeof(path), "%s/duty_cycle", p->dir);
		r = pwm_read_u64(path, &p->state.duty_ns);
	}
	if (r == 0) {
		pwm_fmt(path, sizeof(path), "%s/enable", p->dir);
		r = pwm_read_u64(path, &enable);
		p->state.enabled = enable != 0;
	}
	if (r == 0) {
		pwm_fmt(path, sizeof(path), "%s/polarity", p->dir);
		r = pwm_read(path, polarity, sizeof(polarity));
		p->state.inversed = r == 0 && strcmp(polarity, "inversed") == 0;
	}
	if (r < 0)
		log_error("light '%s': cannot read %s: %s", p->pin, path, strerror(-r));
	return r;
}

static const char *pwm_access_hint(int r)
{
	if (r == -EROFS)
		return " (/sys is read-only here: under systemd, ProtectKernelTunables=)";
	return r == -EACCES || r == -EPERM
		       ? " (the daemon's user needs write access to the PWM attributes: the udev "
			 "rule that gives them to the gpio group, and the unit's ReadWritePaths)"
		       : "";
}

/* Waits until the new channel's attributes can be written (udev may still be changing their
 * group and mode right after the export). */
static void pwm_export_settle(const struct pwm *p)
{
	char path[PWM_PATH_MAX + 32];
	struct timespec step = { .tv_nsec = PWM_EXPORT_STEP_NS };

	pwm_fmt(path, sizeof(path), "%s/enable", p->dir);
	for (int i = 0; i < PWM_EXPORT_WAIT_STEPS && access(path, W_OK) != 0; i++)
		nanosleep(&step, NULL);
}

int pwm_open(const struct pwm_sysfs *sys, const char *pin, const char *chip, unsigned int channel,
	     struct pwm **out)
{
	char path[PWM_PATH_MAX + 32], text[16];
	struct pwm *p = calloc(1, sizeof(*p));
	bool taken_over = false;
	uint64_t npwm;
	int r;

	if (!p || !(p->pin = strdup(pin)) || !(p->chip = strdup(chip))) {
		r = -ENOMEM;
		log_error("light '%s': %s", pin, strerror(-r));
		goto free_pwm;
	}
	p->sys = *sys;
	p->duty_fd = -1;
	p->channel = channel;
	r = pwm_chip_find(sys, pin, chip, p->chip_dir, sizeof(p->chip_dir));
	if (r < 0)
		goto free_pwm;
	pwm_fmt(path, sizeof(path), "%s/npwm", p->chip_dir);
	r = pwm_read_u64(path, &npwm);
	if (r < 0) {
		log_error("light '%s': cannot read %s: %s", pin, path, strerror(-r));
		goto free_pwm;
	}
	if (channel >= npwm) {
		r = -ERANGE; /* as a GPIO offset past the chip's end: the file's mistake */
		log_error("light '%s': PWM chip '%s' has %" PRIu64 " channel%s (0..%" PRIu64
			  "), not %u", pin, chip, npwm, npwm == 1 ? "" : "s",
			  npwm ? npwm - 1 : 0, channel);
		goto free_pwm;
	}
	pwm_fmt(p->dir, sizeof(p->dir), "%s/pwm%u", p->chip_dir, channel);
	if (access(p->dir, F_OK) == 0) {
		taken_over = true;
	} else {
		pwm_fmt(path, sizeof(path), "%s/export", p->chip_dir);
		pwm_fmt(text, sizeof(text), "%u", channel);
		r = pwm_write(sys, path, text);
		if (r == -EBUSY) {
			log_error("light '%s': PWM chip '%s' channel %u is busy: a kernel driver uses "
				  "it (a pwm-leds, pwm-fan or backlight node in the device tree?)",
				  pin, chip, channel);
			goto free_pwm;
		}
		if (r < 0) {
			log_error("light '%s': cannot export PWM chip '%s' channel %u (%s): %s%s", pin,
				  chip, channel, path, strerror(-r), pwm_access_hint(r));
			goto free_pwm;
		}
		if (access(p->dir, F_OK) != 0) {
			r = -ENOENT;
			log_error("light '%s': PWM chip '%s' channel %u: exported, but %s did not "
				  "appear", pin, chip, channel, p->dir);
			goto free_pwm;
		}
		pwm_export_settle(p);
	}
	r = pwm_state_read(p);
	if (r < 0)
		goto unexport;
	if (taken_over)
		log_notice("light '%s': PWM chip '%s' channel %u was exported already (by an earlier "
			   "run that could not release it, or by another program); taking it over "
			   "as it is", pin, chip, channel);
	*out = p;
	return taken_over ? PWM_OPEN_TAKEN_OVER : 0;

unexport:
	if (!taken_over) {
		pwm_fmt(path, sizeof(path), "%s/unexport", p->chip_dir);
		pwm_fmt(text, sizeof(text), "%u", channel);
		pwm_write(sys, path, text);
	}
free_pwm:
	if (p) {
		free(p->pin);
		free(p->chip);
	}
	free(p);
	return r;
}

const struct pwm_state *pwm_state(const struct pwm *p)
{
	return &p->state;
}

const char *pwm_path(const struct pwm *p)
{
	return p->dir;
}

/* duty_cycle changes with every step of a fade: on sysfs its file stays open, so a change is one
 * write() instead of open, write and close (the fixed cost the benchmark's floor does not pay).
 * Anywhere else (a test's tree of plain files, where a shorter value must replace a longer one)
 * it is written like every other attribute. */
static int pwm_duty_write(struct pwm *p, const char *path, const char *text)
{
	size_t len = strlen(text);
	struct statfs fs;
	ssize_t n;

	if (p->duty_fd < 0) {
		int fd = open(path, O_WRONLY | O_CLOEXEC);

		if (fd < 0)
			return -errno;
		if (fstatfs(fd, &fs) < 0 || fs.f_type != SYSFS_MAGIC) {
			close(fd);
			return pwm_write(&p->sys, path, text);
		}
		p->duty_fd = fd;
	}
	n = pwrite(p->duty_fd, text, len, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Writes one attribute; on failure logs it with the whole state asked for. */
static int pwm_attr_write(struct pwm *p, const char *attr, const char *text,
			  const struct pwm_state *want)
{
	char path[PWM_PATH_MAX + 32];
	int r;

	pwm_fmt(path, sizeof(path), "%s/%s", p->dir, attr);
	if (!p->sys.write && strcmp(attr, "duty_cycle") == 0)
		r = pwm_duty_write(p, path, text);
	else
		r = pwm_write(&p->sys, path, text);
	if (r == -EACCES || r == -EPERM || r == -EROFS)
		/* Not the chip: the file. */
		log_error("light '%s': PWM chip '%s' channel %u: cannot write %s = %s: %s%s", p->pin,
			  p->chip, p->channel, path, text, strerror(-r), pwm_access_hint(r));
	else if (r < 0)
		log_error("light '%s': PWM chip '%s' channel %u refused %s = %s (asked for period "
			  "%" PRIu64 " ns, duty %" PRIu64 " ns, polarity %s, %s): %s%s",
			  p->pin, p->chip, p->channel, attr, text, want->period_ns, want->duty_ns,
			  want->inversed ? "inversed" : "normal",
			  want->enabled ? "enabled" : "disabled", strerror(-r), pwm_access_hint(r));
	return r;
}

static int pwm_u64_write(struct pwm *p, const char *attr, uint64_t value, uint64_t *cached,
			 const struct pwm_state *want)
{
	char text[24];
	int r;

	if (*cached == value)
		return 0;
	pwm_fmt(text, sizeof(text), "%" PRIu64, value);
	r = pwm_attr_write(p, attr, text, want);
	if (r == 0)
		*cached = value;
	return r;
}

static int pwm_enable_write(struct pwm *p, bool enabled, const struct pwm_state *want)
{
	int r;

	if (p->state.enabled == enabled)
		return 0;
	r = pwm_attr_write(p, "enable", enabled ? "1" : "0", want);
	if (r == 0)
		p->state.enabled = enabled;
	return r;
}

int pwm_apply(struct pwm *p, const struct pwm_state *want)
{
	struct pwm_state *s = &p->state;
	int r = 0;

	if (want->duty_ns > want->period_ns || want->period_ns == 0) {
		log_error("light '%s': PWM duty %" PRIu64 " ns with period %" PRIu64 " ns is not "
			  "possible", p->pin, want->duty_ns, want->period_ns);
		return -EINVAL;
	}
	/* The polarity changes only while the output is off. */
	if (s->inversed != want->inversed)
		r = pwm_enable_write(p, false, want);
	/* The duty never above the period, neither the old one nor the new one. */
	if (r == 0 && want->period_ns >= s->period_ns) {
		r = pwm_u64_write(p, "period", want->period_ns, &s->period_ns, want);
		if (r == 0)
			r = pwm_u64_write(p, "duty_cycle", want->duty_ns, &s->duty_ns, want);
	} else if (r == 0) {
		/* A shorter period: the new duty (at most the new period) goes first. */
		r = pwm_u64_write(p, "duty_cycle", want->duty_ns, &s->duty_ns, want);
		if (r == 0)
			r = pwm_u64_write(p, "period", want->period_ns, &s->period_ns, want);
	}
	if (r == 0 && s->inversed != want->inversed) {
		r = pwm_attr_write(p, "polarity", want->inversed ? "inversed" : "normal", want);
		if (r == 0)
			s->inversed = want->inversed;
	}
	if (r == 0)
		r = pwm_enable_write(p, want->enabled, want);
	return r;
}

void pwm_close(struct pwm *p)
{
	char path[PWM_PATH_MAX + 32], text[16];
	int r;

	if (!p)
		return;
	if (p->duty_fd >= 0)
		close(p->duty_fd); /* before the unexport takes the file away */
	pwm_fmt(path, sizeof(path), "%s/unexport", p->chip_dir);
	pwm_fmt(text, sizeof(text), "%u", p->channel);
	r = pwm_write(&p->sys, path, text);
	if (r < 0)
		log_warning("light '%s': cannot unexport PWM chip '%s' channel %u: %s", p->pin,
			    p->chip, p->channel, strerror(-r));
	free(p->pin);
	free(p->chip);
	free(p);
}
