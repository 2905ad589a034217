/* SPDX-License-Identifier: MIT */
/* pwm.c against a sysfs tree of plain files in a temporary directory, with a write function
 * that plays the kernel's PWM core as measured on 6.1 and 6.12 (tests/vm has the real one):
 * export creates the channel's directory, twice is EBUSY, a channel past npwm ENODEV, a duty
 * above the period or a zero period EINVAL, a polarity change while enabled EBUSY. Every
 * write is recorded, so the order and the number of writes are checked, not only the end. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pwm.h"
#include "tap.h"

struct fake_kernel {
	char writes[4096]; /* "attr=value " per accepted or refused write */
	int busy_channel;  /* export of this channel: EBUSY (a kernel driver holds it); -1 none */
	uint64_t min_period_ns; /* the driver refuses shorter periods */
	bool deny;         /* every write: EACCES */
};

static char root[256];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(99);
	}
	fputs(text, f);
	fclose(f);
}

static uint64_t get_u64(const char *dir, const char *attr)
{
	char path[600], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "r");
	if (!f)
		return UINT64_MAX;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static void get_str(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	buf[0] = '\0';
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The kernel's side of a write to PATH. */
static int fake_write(void *ctx, const char *path, const char *text)
{
	struct fake_kernel *k = ctx;
	char dir[512], chan[600], attr[64];
	const char *slash = strrchr(path, '/');
	char *end;
	unsigned long long v = strtoull(text, &end, 0);
	size_t used = strlen(k->writes);
	int r = 0;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	snprintf(attr, sizeof(attr), "%s", slash + 1);
	snprintf(k->writes + used, sizeof(k->writes) - used, "%s=%s ", attr, text);
	if (k->deny)
		return -EACCES;
	if (strcmp(attr, "export") == 0 || strcmp(attr, "unexport") == 0) {
		snprintf(chan, sizeof(chan), "%s/pwm%llu", dir, v);
		if (strcmp(attr, "unexport") == 0) {
			if (access(chan, F_OK) != 0)
				return -EINVAL;
			rm_tree(chan);
			return 0;
		}
		if ((int)v == k->busy_channel || access(chan, F_OK) == 0)
			return -EBUSY;
		if (v >= get_u64(dir, "npwm"))
			return -ENODEV;
		mkdir(chan, 0755);
		snprintf(chan + strlen(chan), sizeof(chan) - strlen(chan), "/period");
		put(chan, "0\n");
		strcpy(strrchr(chan, '/'), "/duty_cycle");
		put(chan, "0\n");
		strcpy(strrchr(chan, '/'), "/enable");
		put(chan, "0\n");
		strcpy(strrchr(chan, '/'), "/polarity");
		put(chan, "normal\n");
		return 0;
	}
	if (strcmp(attr, "period") == 0) {
		if (v == 0 || v < get_u64(dir, "duty_cycle") || v < k->min_period_ns)
			r = -EINVAL;
	} else if (strcmp(attr, "duty_cycle") == 0) {
		if (get_u64(dir, "period") == 0 || v > get_u64(dir, "period"))
			r = -EINVAL;
	} else if (strcmp(attr, "enable") == 0) {
		if (v == 1 && get_u64(dir, "period") == 0)
			r = -EINVAL;
	} else if (strcmp(attr, "polarity") == 0) {
		if (get_u64(dir, "enable") == 1)
			r = -EBUSY;
		else if (strcmp(text, "normal") != 0 && strcmp(text, "inversed") != 0)
			r = -EINVAL;
	}
	if (r < 0) {
		k->writes[strlen(k->writes) - 1] = '!';
		strcat(k->writes, " ");
		return r;
	}
	put(path, text);
	return 0;
}

/* A chip CHIP (pwmchipN) of DEVICE with DRIVER and NPWM channels. */
static void fake_chip(const char *chip, const char *device, const char *driver, int npwm)
{
	char path[1100], target[600], dev[512];

	snprintf(dev, sizeof(dev), "%s/devices/platform/soc/%s", root, device);
	mkdir(dev, 0755);
	snprintf(path, sizeof(path), "%s/driver", dev);
	snprintf(target, sizeof(target), "../../../../bus/platform/drivers/%s", driver);
	if (symlink(target, path) != 0 && errno != EEXIST)
		perror(path);
	snprintf(path, sizeof(path), "%s/class/pwm/%s", root, chip);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/pwm/%s/device", root, chip);
	snprintf(target, sizeof(target), "../../../devices/platform/soc/%s", device);
	if (symlink(target, path) != 0)
		perror(path);
	snprintf(path, sizeof(path), "%s/class/pwm/%s/npwm", root, chip);
	snprintf(target, sizeof(target), "%d\n", npwm);
	put(path, target);
	snprintf(path, sizeof(path), "%s/class/pwm/%s/export", root, chip);
	put(path, "");
	snprintf(path, sizeof(path), "%s/class/pwm/%s/unexport", root, chip);
	put(path, "");
}

static void test_chip_find(const struct pwm_sysfs *sys)
{
	char dir[512], want[512];

	snprintf(want, sizeof(want), "%s/class/pwm/pwmchip4", root);
	tap_is_int(pwm_chip_find(sys, "strip", "1f00098000.pwm", dir, sizeof(dir)), 0,
		   "a chip by its device name");
	tap_is_str(dir, want, "the Pi 5's chip is pwmchip4 here");
	tap_is_int(pwm_chip_find(sys, "strip", "rp1-pwm", dir, sizeof(dir)), 0,
		   "a chip by its driver when only one chip has it");
	tap_is_str(dir, want, "the same chip");
	tap_is_int(pwm_chip_find(sys, "strip", "pwm-bcm2835", dir, sizeof(dir)), -EINVAL,
		   "a driver two chips have is ambiguous");
	tap_is_int(pwm_chip_find(sys, "strip", "pwmchip4", dir, sizeof(dir)), -EINVAL,
		   "a chip number is refused (numbers change between kernels)");
	tap_is_int(pwm_chip_find(sys, "strip", "fe20c000", dir, sizeof(dir)), -ENOENT,
		   "no such chip");
}

static void test_open_apply_close(const struct pwm_sysfs *sys, struct fake_kernel *k)
{
	struct pwm_state want = { .period_ns = 1000000, .duty_ns = 250000, .enabled = true };
	char chan[512], path[600], polarity[32];
	struct pwm *p = NULL, *again = NULL;

	snprintf(chan, sizeof(chan), "%s/class/pwm/pwmchip4/pwm2", root);
	k->writes[0] = '\0';
	if (!tap_is_int(pwm_open(sys, "strip", "1f00098000.pwm", 2, &p), 0, "channel 2 opens"))
		return;
	tap_is_str(k->writes, "export=2 ", "it was exported");
	tap_is_str(pwm_path(p), chan, "its directory");
	tap_ok(pwm_state(p)->period_ns == 0 && !pwm_state(p)->enabled,
	       "a fresh channel reads as period 0, disabled");

	k->writes[0] = '\0';
	tap_is_int(pwm_apply(p, &want), 0, "1 kHz at 25 %%, enabled");
	tap_is_str(k->writes, "period=1000000 duty_cycle=250000 enable=1 ",
		   "period first (6.1 refuses anything else on a fresh channel), enable last");
	tap_ok(get_u64(chan, "period") == 1000000 && get_u64(chan, "duty_cycle") == 250000 &&
		       get_u64(chan, "enable") == 1,
	       "the attributes hold the state");

	k->writes[0] = '\0';
	tap_is_int(pwm_apply(p, &want), 0, "the same state again");
	tap_is_str(k->writes, "", "writes nothing");

	want.duty_ns = 600000;
	tap_is_int(pwm_apply(p, &want), 0, "a new duty");
	tap_is_str(k->writes, "duty_cycle=600000 ", "is one write (a fade step)");

	k->writes[0] = '\0';
	want.period_ns = 500000;
	want.duty_ns = 100000;
	tap_is_int(pwm_apply(p, &want), 0, "a shorter period below the old duty");
	tap_is_str(k->writes, "duty_cycle=100000 period=500000 ",
		   "duty first, so it is never above the period");

	k->writes[0] = '\0';
	want.period_ns = 2000000;
	want.duty_ns = 1500000;
	tap_is_int(pwm_apply(p, &want), 0, "a longer period with a duty above the old period");
	tap_is_str(k->writes, "period=2000000 duty_cycle=1500000 ", "period first");

	k->writes[0] = '\0';
	want.inversed = true;
	tap_is_int(pwm_apply(p, &want), 0, "inverted polarity while enabled");
	tap_is_str(k->writes, "enable=0 polarity=inversed enable=1 ",
		   "disabled for the polarity change, then enabled again");
	get_str(chan, "polarity", polarity, sizeof(polarity));
	tap_is_str(polarity, "inversed", "the polarity attribute");

	k->writes[0] = '\0';
	want.duty_ns = 3000000;
	tap_is_int(pwm_apply(p, &want), -EINVAL, "a duty above the period is refused");
	tap_is_str(k->writes, "", "without a write");

	k->writes[0] = '\0';
	k->min_period_ns = 1000000;
	want.period_ns = 100000;
	want.duty_ns = 50000;
	tap_is_int(pwm_apply(p, &want), -EINVAL, "a period the driver refuses");
	tap_is_str(k->writes, "duty_cycle=50000 period=100000! ", "is the kernel's answer");
	tap_ok(pwm_state(p)->period_ns == 2000000 && pwm_state(p)->duty_ns == 50000,
	       "the state is what the kernel took before the refusal");
	k->min_period_ns = 0;

	k->writes[0] = '\0';
	pwm_close(p);
	tap_is_str(k->writes, "unexport=2 ", "close unexports");
	tap_ok(access(chan, F_OK) != 0, "the channel's directory is gone");

	/* A run killed before its unexport left the channel exported and running. */
	snprintf(path, sizeof(path), "%s/class/pwm/pwmchip4/export", root);
	fake_write(k, path, "2");
	snprintf(path, sizeof(path), "%s/period", chan);
	fake_write(k, path, "2000000");
	snprintf(path, sizeof(path), "%s/duty_cycle", chan);
	fake_write(k, path, "50000");
	snprintf(path, sizeof(path), "%s/polarity", chan);
	fake_write(k, path, "inversed");
	snprintf(path, sizeof(path), "%s/enable", chan);
	fake_write(k, path, "1");
	k->writes[0] = '\0';
	tap_is_int(pwm_open(sys, "strip", "1f00098000.pwm", 2, &again), PWM_OPEN_TAKEN_OVER,
		   "an exported channel is taken over");
	tap_is_str(k->writes, "", "without an export");
	tap_ok(again && pwm_state(again)->period_ns == 2000000 &&
		       pwm_state(again)->duty_ns == 50000 && pwm_state(again)->inversed &&
		       pwm_state(again)->enabled,
	       "its state read from sysfs");
	pwm_close(again);
	tap_ok(access(chan, F_OK) != 0, "and unexported on close");
}

static void test_faults(const struct pwm_sysfs *sys, struct fake_kernel *k)
{
	struct pwm *p = NULL;

	tap_is_int(pwm_open(sys, "strip", "1f00098000.pwm", 4, &p), -ERANGE,
		   "channel 4 of a 4-channel chip: ERANGE (like a GPIO offset past the end)");
	k->busy_channel = 3;
	tap_is_int(pwm_open(sys, "strip", "1f00098000.pwm", 3, &p), -EBUSY,
		   "a channel a kernel driver holds: EBUSY");
	k->busy_channel = -1;
	k->deny = true;
	tap_is_int(pwm_open(sys, "strip", "1f00098000.pwm", 1, &p), -EACCES,
		   "no write access: EACCES");
	k->deny = false;
	tap_is_int(pwm_open(sys, "strip", "gone.pwm", 1, &p), -ENOENT, "no such chip: ENOENT");
}

/* --check: the same lookups without exporting, the message returned instead of logged. */
static void test_check(const struct pwm_sysfs *sys, struct fake_kernel *k)
{
	struct pwm_sysfs empty = { .root = "/nonexistent-sysfs" };
	char msg[1400];

	k->writes[0] = '\0';
	tap_is_int(pwm_check(sys, "strip", "1f00098000.pwm", 3, msg, sizeof(msg)), 0,
		   "check: channel 3 of the Pi 5's chip is there");
	tap_is_int(pwm_check(sys, "strip", "1f00098000.pwm", 4, msg, sizeof(msg)), -ERANGE,
		   "check: channel 4 is not");
	tap_ok(strstr(msg, "has 4 channels (0..3), not 4") != NULL, "check: says why (%s)", msg);
	tap_is_int(pwm_check(sys, "strip", "fe20c000", 0, msg, sizeof(msg)), -ENOENT,
		   "check: no such chip");
	tap_ok(strstr(msg, "chips here: ") && strstr(msg, "dtoverlay="),
	       "check: lists the chips, hints at the overlay");
	tap_is_str(k->writes, "", "check: nothing exported");
	tap_is_int(pwm_check(&empty, "strip", "fe20c000.pwm", 0, msg, sizeof(msg)),
		   PWM_CHECK_NO_CHIPS, "check: a machine without PWM chips says so, no error");
}

int main(void)
{
	struct fake_kernel k = { .busy_channel = -1 };
	struct pwm_sysfs sys = { .write = fake_write, .ctx = &k };
	struct pwm_sysfs empty = { 0 };
	char path[512], dir[512];

	snprintf(root, sizeof(root), "%s/test-pwm-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
									     : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(path, sizeof(path), "%s/class", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/class/pwm", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/platform", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/platform/soc", root);
	mkdir(path, 0755);
	fake_chip("pwmchip0", "fe20c000.pwm", "pwm-bcm2835", 2);
	fake_chip("pwmchip4", "1f00098000.pwm", "rp1-pwm", 4);
	fake_chip("pwmchip8", "fe20c800.pwm", "pwm-bcm2835", 2);
	sys.root = root;

	test_chip_find(&sys);
	test_open_apply_close(&sys, &k);
	test_faults(&sys, &k);
	test_check(&sys, &k);

	snprintf(path, sizeof(path), "%s/nothing", root);
	empty.root = path;
	tap_is_int(pwm_chip_find(&empty, "strip", "1f00098000.pwm", dir, sizeof(dir)), -ENOENT,
		   "a machine without PWM: ENOENT");

	rm_tree(root);
	return tap_done();
}
