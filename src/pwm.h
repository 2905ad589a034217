/* SPDX-License-Identifier: MIT */
#pragma once

/* The kernel's PWM through its sysfs interface (/sys/class/pwm/pwmchipN: export, period,
 * duty_cycle, polarity, enable; unexport on release). No library: a handful of small files.
 *
 * A chip is found by a stable name, never by its number (pwmchipN is not stable: the Pi kernel
 * renumbered its chips between 6.6 and 6.12): the device name its `device` link points at
 * (`fe20c000.pwm` on a Pi 4, `1f00098000.pwm` on a Pi 5) or, when only one chip has it, the
 * name of its driver (`pwm-bcm2835`). sysfs PWM chips have no label attribute.
 *
 * The sysfs root is injectable (struct pwm_sysfs), so that the unit tests run against a tree
 * of plain files in a temporary directory, with a write function of their own that plays the
 * kernel (export creates the channel's directory, a duty above the period is refused, ...).
 *
 * Every function returns 0 or a negative errno and logs its failure once, naming the pin, the
 * chip and the values the kernel refused. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pwm_sysfs {
	const char *root; /* what stands for /sys; NULL: "/sys" */
	/* Writes TEXT to PATH (a sysfs attribute). Returns 0 or a negative errno. NULL: the file
	 * itself, written in one write() as sysfs needs. */
	int (*write)(void *ctx, const char *path, const char *text);
	void *ctx;
};

/* The real /sys, or the directory in $GPIO2MQTT_SYSFS (a test hook, as GPIO2MQTT_HOSTNAME). */
void pwm_sysfs_default(struct pwm_sysfs *sys);

/* What a channel does (the kernel's struct pwm_state as sysfs shows it). */
struct pwm_state {
	uint64_t period_ns;
	uint64_t duty_ns;
	bool inversed; /* polarity "inversed" */
	bool enabled;
};

/* The largest period accepted (1 s: 1 Hz; the sysfs values are nanoseconds). */
#define PWM_PERIOD_MAX_NS 1000000000ULL

struct pwm;

/* Outcomes of pwm_open() besides 0. */
enum pwm_open_outcome {
	PWM_OPEN_TAKEN_OVER = 1, /* the channel was exported already (an earlier run killed before
				  * its unexport, or another program): used as it is */
};

/* The directory of the chip called CHIP (a device name or a unique driver name) under
 * SYS->root/class/pwm, into DIR. Returns 0; -ENOENT when there is none (logged with the chips
 * there are and the hint that a Pi needs a PWM overlay), -EINVAL for a chip number or an
 * ambiguous driver name (logged). PIN names the pin in messages. */
int pwm_chip_find(const struct pwm_sysfs *sys, const char *pin, const char *chip, char *dir,
		  size_t size);

/* gpio2mqtt --check on the target: whether CHIP and its CHANNEL exist, without exporting
 * anything. Returns 0; PWM_CHECK_NO_CHIPS when this machine has no PWM chip at all (a file
 * checked for another machine: nothing to say); -ENOENT, -ERANGE or -EINVAL with the message
 * (the same as pwm_open() would log) in MSG. Logs nothing. */
enum pwm_check_outcome {
	PWM_CHECK_NO_CHIPS = 1,
};
int pwm_check(const struct pwm_sysfs *sys, const char *pin, const char *chip,
	      unsigned int channel, char *msg, size_t msg_size);

/* Exports CHANNEL of CHIP for pin PIN and reads its state. Returns 0 or PWM_OPEN_TAKEN_OVER and
 * sets *OUT; -ENOENT (no such chip), -ERANGE (no such channel: npwm is smaller), -EBUSY (a
 * kernel driver holds the channel), -EACCES (no permission: the udev rule), other negative
 * errnos; each logged. */
int pwm_open(const struct pwm_sysfs *sys, const char *pin, const char *chip, unsigned int channel,
	     struct pwm **out);

/* The channel's state as last read or applied. */
const struct pwm_state *pwm_state(const struct pwm *p);
/* The sysfs directory of the channel (".../pwmchipN/pwmM"). */
const char *pwm_path(const struct pwm *p);

/* Makes the channel do WANT, writing only what differs, in an order the kernel accepts from
 * any state (duty never above the period, polarity changed while disabled). Returns 0 or a
 * negative errno (the kernel refused a value: logged with the values); the state then is what
 * the kernel took before the refusal. */
int pwm_apply(struct pwm *p, const struct pwm_state *want);

/* Unexports the channel (which does not stop its output: the kernel keeps the last state) and
 * frees P. NULL is fine. */
void pwm_close(struct pwm *p);
